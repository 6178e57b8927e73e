#!/usr/bin/env python3
"""Checks that an atlas folder's files agree with each other (docs/output-format.md):
atlas.js and every cells_<G>.json name the same cells with the same counts, densities and
top class; every cell has its icon (icon_px a side) and its patch strip; each level's
picture is G·cell_px a side and its tiles cover it exactly; members are distinct sample
ids, no more of them than samples were laid out.

  check_atlas_folder.py ATLAS_DIR [--rerun CMD ARG...]

With --rerun, CMD is run afterwards (e.g. the same `actatlas render` again): it must exit 0,
report "render: reused" on stderr, and leave every file of the folder untouched.
Exits 1 with one line per disagreement."""
import json
import math
import os
import pathlib
import struct
import subprocess
import sys


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    return struct.unpack(">II", head[16:24])


def snapshot(folder):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def check(atlas):
    problems = []
    text = (atlas / "atlas.js").read_text()
    prefix = "window.ACTATLAS = "
    if not text.startswith(prefix):
        return [f"{atlas}/atlas.js: does not start with '{prefix}'"]
    data = json.loads(text[len(prefix):].rstrip().rstrip(";"))
    icon_px, cell_px = data["icon_px"], data["cell_px"]
    for level in data["levels"]:
        g = level["grid"]
        cells_path = atlas / f"cells_{g}.json"
        cells = json.loads(cells_path.read_text())
        if cells["grid"] != g:
            problems.append(f"{cells_path}: grid {cells['grid']}, atlas.js says {g}")
        by_js = {(c["ix"], c["iy"]): c for c in level["cells"]}
        by_file = {(c["ix"], c["iy"]): c for c in cells["cells"]}
        if set(by_js) != set(by_file):
            problems.append(f"level {g}: atlas.js has {len(by_js)} cells, cells_{g}.json {len(by_file)}, not the same ones")
        seen = set()
        for key, c in by_file.items():
            members = c["members"]
            if len(members) != c["count"]:
                problems.append(f"cells_{g}.json cell {key}: count {c['count']} but {len(members)} members")
            if seen & set(members):
                problems.append(f"cells_{g}.json cell {key}: a member is in two cells")
            seen |= set(members)
            j = by_js.get(key)
            if j is None:
                continue
            if j["count"] != c["count"] or abs(j["density"] - c["density"]) > 1e-6:
                problems.append(f"level {g} cell {key}: atlas.js count/density {j['count']}/{j['density']}, "
                                f"cells_{g}.json {c['count']}/{c['density']}")
            if j["top"] and c["top"] and j["top"][0][0] != c["top"][0]["class"]:
                problems.append(f"level {g} cell {key}: top class {j['top'][0][0]} in atlas.js, {c['top'][0]['class']} in cells_{g}.json")
            icon = atlas / level["icons"] / f"{key[0]}_{key[1]}.png"
            if not icon.exists():
                problems.append(f"{icon}: missing")
            elif png_size(icon) != (icon_px, icon_px):
                problems.append(f"{icon}: {png_size(icon)}, expected {icon_px}×{icon_px}")
            if not (atlas / level["patches"] / f"{key[0]}_{key[1]}.png").exists():
                problems.append(f"{atlas / level['patches']}/{key[0]}_{key[1]}.png: missing")
        if len(seen) > data["samples"]:
            problems.append(f"level {g}: {len(seen)} members but {data['samples']} samples laid out")
        picture = atlas / level["image"]
        w, h = png_size(picture)
        if (w, h) != (g * cell_px, g * cell_px):
            problems.append(f"{picture}: {w}×{h}, expected {g * cell_px}×{g * cell_px}")
        tiles = sorted((atlas / "tiles" / str(g)).glob("*.png"))
        cols, rows = math.ceil(w / 256), math.ceil(h / 256)
        if len(tiles) != cols * rows:
            problems.append(f"tiles/{g}: {len(tiles)} tiles, expected {cols}×{rows}")
        for t in tiles:
            col, row = (int(v) for v in t.stem.split("_"))
            tw, th = png_size(t)
            if (tw, th) != (min(256, w - col * 256), min(256, h - row * 256)):
                problems.append(f"{t}: {tw}×{th} does not fit a {w}×{h} picture")
    return problems


def main(argv):
    atlas = pathlib.Path(argv[1])
    problems = check(atlas)
    if "--rerun" in argv:
        cmd = argv[argv.index("--rerun") + 1:]
        before = snapshot(atlas)
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            problems.append(f"rerun exited {run.returncode}: {run.stderr.strip().splitlines()[-1:]}")
        if "render: reused" not in run.stderr:
            problems.append("rerun did not report 'render: reused'")
        after = snapshot(atlas)
        changed = [str(p) for p in after if before.get(p) != after[p]]
        if changed:
            problems.append(f"rerun rewrote {len(changed)} file(s), e.g. {changed[0]}")
    for p in problems:
        print(p)
    print(f"{atlas}: {'consistent' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
