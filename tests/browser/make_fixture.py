#!/usr/bin/env python3
"""DEVELOPMENT ONLY: a synthetic atlas folder for working on the viewer.

This is not a test of actatlas and no test depends on it. The suite's browser test runs
viewer_test.mjs on a folder that `actatlas render` / `actatlas demo` really wrote. This
script exists to develop the viewer without a model, and to time it on a fully occupied
160x160 level, larger than the suite's small demo atlas.

It writes what the viewer reads, in the layout of docs/output-format.md: atlas.js,
icons/<G>/<ix>_<iy>.png (a flat colour per cell, hue by its top class, its ix and iy
written on it), patches/<G>/<ix>_<iy>.png (strips of numbered grey squares), and the
viewer's files copied from viewer/ as write_viewer would place them (index.html at the
top, the rest in viewer/). It does not write cells_<G>.json, atlas_<G>.png or tiles,
which the viewer does not read.

Usage: python3 tests/browser/make_fixture.py OUT_DIR [--grids 20,40,80,160] [--classes 16] [--top-only]
Pure standard library (zlib PNG writer), deterministic for a given --seed.
"""
import argparse
import colorsys
import json
import math
import os
import random
import shutil
import struct
import zlib

# 3x5 bitmap digits, rows top to bottom, bits left to right.
DIGITS = {
    '0': ['111', '101', '101', '101', '111'], '1': ['010', '110', '010', '010', '111'],
    '2': ['111', '001', '111', '100', '111'], '3': ['111', '001', '111', '001', '111'],
    '4': ['101', '101', '111', '001', '001'], '5': ['111', '100', '111', '001', '111'],
    '6': ['111', '100', '111', '101', '111'], '7': ['111', '001', '001', '001', '001'],
    '8': ['111', '101', '111', '101', '111'], '9': ['111', '101', '111', '001', '111'],
}


def write_png(path, width, height, rgb):
    """rgb: bytes of height rows of width*3."""
    raw = b''.join(b'\x00' + bytes(rgb[y * width * 3:(y + 1) * width * 3]) for y in range(height))

    def chunk(kind, body):
        return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff)

    png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)) +
           chunk(b'IDAT', zlib.compress(raw, 1)) + chunk(b'IEND', b''))
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(png)
    os.replace(tmp, path)


def square(side, colour, border):
    img = bytearray(bytes(border) * side * side)
    inner = bytes(colour) * (side - 4)
    for y in range(2, side - 2):
        img[(y * side + 2) * 3:(y * side + side - 2) * 3] = inner
    return img


def text(img, width, s, x0, y0, scale, colour):
    c = bytes(colour) * scale
    for k, ch in enumerate(s):
        glyph = DIGITS.get(ch)
        if not glyph:
            continue
        for gy, row in enumerate(glyph):
            for gx, bit in enumerate(row):
                if bit == '1':
                    x = x0 + (k * 4 + gx) * scale
                    for dy in range(scale):
                        y = y0 + gy * scale + dy
                        img[(y * width + x) * 3:(y * width + x + scale) * 3] = c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out')
    ap.add_argument('--grids', default='20,40,80,160')
    ap.add_argument('--classes', type=int, default=16)
    ap.add_argument('--samples', type=int, default=400000)
    ap.add_argument('--icon-px', type=int, default=64)
    ap.add_argument('--patch-px', type=int, default=48)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--top-only', action='store_true', help='attr: null, as atlas.js has for over 100 classes')
    a = ap.parse_args()
    rng = random.Random(a.seed)
    grids = [int(g) for g in a.grids.split(',')]
    names = ['class %02d' % c for c in range(a.classes)]
    centres = [(rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)) for _ in range(a.classes)]

    def density_at(x, y):  # a smooth bumpy density, nowhere zero inside the square
        bumps = sum(math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 0.01) for cx, cy in centres)
        return 0.35 + 1.2 * bumps / max(1.0, a.classes / 8)

    def attribution_at(x, y, c):
        cx, cy = centres[c]
        return math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 0.02) - 0.1

    root = a.out
    os.makedirs(root, exist_ok=True)
    levels = []
    for g in grids:
        weights = {}
        for iy in range(g):
            for ix in range(g):
                x, y = (ix + 0.5) / g, (iy + 0.5) / g
                # A ragged edge: the outer ring of the square is sparse, so some cells stay empty.
                edge = min(x, y, 1 - x, 1 - y)
                if edge < 0.04 and rng.random() < 0.6:
                    continue
                weights[(ix, iy)] = density_at(x, y) * rng.uniform(0.6, 1.4)
        total = sum(weights.values())
        icon_dir = os.path.join(root, 'icons', str(g))
        patch_dir = os.path.join(root, 'patches', str(g))
        os.makedirs(icon_dir, exist_ok=True)
        os.makedirs(patch_dir, exist_ok=True)
        cells = []
        for (ix, iy), w in sorted(weights.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            count = max(1, round(a.samples * w / total))
            x, y = (ix + 0.5) / g, (iy + 0.5) / g
            attr = [attribution_at(x, y, c) + rng.gauss(0, 0.01) for c in range(a.classes)]
            top = sorted(range(a.classes), key=lambda c: -attr[c])[:10]
            patches = min(8, count)
            cells.append({'ix': ix, 'iy': iy, 'count': count, 'density': count * g * g / a.samples,
                          'top': [[c, round(attr[c], 5)] for c in top],
                          'attr': None if a.top_only else [round(v, 5) for v in attr], 'patches': patches})
            hue = top[0] / a.classes
            r, gg, b = colorsys.hsv_to_rgb(hue, 0.45 + 0.4 * (1 - y), 0.75 + 0.2 * x)
            colour = (int(r * 255), int(gg * 255), int(b * 255))
            s = a.icon_px
            img = square(s, colour, (60, 60, 60))
            text(img, s, str(ix), 6, 6, 3, (20, 20, 20))
            text(img, s, str(iy), 6, 26, 3, (20, 20, 20))
            write_png(os.path.join(icon_dir, '%d_%d.png' % (ix, iy)), s, s, img)
            p = a.patch_px
            strip = bytearray(p * patches * p * 3)
            for k in range(patches):
                shade = 90 + 20 * k
                tile = square(p, (shade, shade, 200 - shade // 2), (30, 30, 30))
                text(tile, p, str(k + 1), 6, 6, 3, (255, 255, 255))
                for row in range(p):
                    strip[(row * p * patches + k * p) * 3:(row * p * patches + (k + 1) * p) * 3] = \
                        tile[row * p * 3:(row + 1) * p * 3]
            write_png(os.path.join(patch_dir, '%d_%d.png' % (ix, iy)), p * patches, p, strip)
        levels.append({'grid': g, 'icons': 'icons/%d' % g, 'patches': 'patches/%d' % g,
                       'image': 'atlas_%d.png' % g, 'cells': cells})
        print('level %d: %d cells' % (g, len(cells)))

    atlas = {'title': 'synthetic fixture', 'classes': names, 'icon_px': a.icon_px, 'patch_px': a.patch_px,
             'samples': a.samples, 'levels': levels}
    with open(os.path.join(root, 'atlas.js'), 'w') as f:
        f.write('window.ACTATLAS = ' + json.dumps(atlas, separators=(',', ':')) + ';\n')

    # The viewer, placed as render::write_viewer places it.
    viewer_src = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'viewer')
    os.makedirs(os.path.join(root, 'viewer'), exist_ok=True)
    shutil.copyfile(os.path.join(viewer_src, 'index.html'), os.path.join(root, 'index.html'))
    for name in ('viewer.js', 'viewer.css'):
        shutil.copyfile(os.path.join(viewer_src, name), os.path.join(root, 'viewer', name))


if __name__ == '__main__':
    main()
