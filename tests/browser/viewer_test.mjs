// The atlas viewer in a real browser: Debian's chromium, driven by playwright-core.
//
// Usage: node tests/browser/viewer_test.mjs ATLAS_DIR SCREENSHOT.png
//   ATLAS_DIR: a folder written by `actatlas render` / `actatlas demo` (index.html, atlas.js,
//   viewer/, icons/, patches/). SCREENSHOT.png (or $ACTATLAS_VIEWER_SCREENSHOT): where the
//   picture of the final state (atlas, a hovered cell's card, a clicked cell's patches) is kept.
//   $CHROMIUM overrides /usr/bin/chromium.
//
// Checks, each against the atlas's own data (window.ACTATLAS) and the viewer's state
// (window.actatlasViewer), not only pixels: no console or page error and no failed load;
// the first frame draws every cell of the coarsest level; wheel zoom switches to a finer
// level, the +/− and fit buttons and dragging move the view; hovering a cell shows its label;
// picking a class changes opacities (the cell with the highest attribution to it is the most
// opaque, cells with none are transparent) and the picture; the sizing control changes the
// picture; clicking a cell opens its patches strip (loaded, patches × patch_px wide).
// Prints the time to first paint and to one zoom step on the finest level (printed only,
// never asserted: the outcome must not depend on the machine's speed).
// Every wait is on a condition (the viewer's state, an element's), never on a clock: a slow
// machine only makes the test slower. $ACTATLAS_VIEWER_PATIENCE_MS (default 600000) bounds
// each wait, so a condition that never comes true fails its check instead of hanging;
// ctest's TIMEOUT is the outer bound.
// Exit 0: all checks passed; 1: a check failed; 77: chromium or playwright-core missing.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [atlasArg, shotArg] = process.argv.slice(2);
const shotPath = shotArg || process.env.ACTATLAS_VIEWER_SCREENSHOT;
if (!atlasArg || !shotPath) {
  console.error('usage: node viewer_test.mjs ATLAS_DIR SCREENSHOT.png');
  process.exit(2);
}
const atlasDir = path.resolve(atlasArg);
const indexHtml = path.join(atlasDir, 'index.html');
if (!fs.existsSync(indexHtml) || !fs.existsSync(path.join(atlasDir, 'atlas.js'))) {
  console.error(`viewer_test: ${atlasDir} has no index.html or atlas.js (write it with actatlas render)`);
  process.exit(1);
}

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  console.error('viewer_test: playwright-core is not installed: run `npm ci --prefix tests/browser` ' +
                '(scripts/setup.sh browser does it)');
  process.exit(77);
}
if (!fs.existsSync(executablePath)) {
  console.error(`viewer_test: no browser at ${executablePath}: apt-get install chromium (scripts/setup.sh browser)`);
  process.exit(77);
}

const failures = [];
function check(what, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ': ' + detail : ''}`);
  if (!ok) failures.push(what);
  return ok;
}
const ms = (v) => (v === null || v === undefined ? 'n/a' : v.toFixed(1) + ' ms');
const patience = Number(process.env.ACTATLAS_VIEWER_PATIENCE_MS || 600000);

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  page.setDefaultTimeout(patience);  // clicks, screenshots, evaluations: slow is not failed
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => problems.push('failed load: ' + r.url() + ' (' + (r.failure()?.errorText ?? '') + ')'));
  const viewer = (expr, arg) => page.evaluate(expr, arg);
  const settled = () => page.evaluate(() => window.actatlasViewer.whenSettled());
  // Waits until `predicate(arg)` holds in the page; false (not an exception) when it never
  // did, so the check that follows reports what was seen.
  const until = (predicate, arg) =>
    page.waitForFunction(predicate, arg, { timeout: patience, polling: 'raf' }).then(() => true, () => false);
  const hoveredIs = ([ix, iy]) => {
    const h = window.actatlasViewer.hovered;
    return h !== null && h.ix === ix && h.iy === iy && !document.getElementById('tooltip').hidden;
  };

  // ---- load and first paint ----
  await page.goto(pathToFileURL(indexHtml).href, { waitUntil: 'load' });
  await page.waitForFunction(() => window.actatlasViewer !== undefined, null, { timeout: patience });
  const first = await settled();
  const paint = await viewer(() => {
    const e = performance.getEntriesByName('first-contentful-paint')[0];
    return e ? e.startTime : null;
  });
  const atlas = await viewer(() => {
    const a = window.ACTATLAS;
    return { title: a.title, classes: a.classes || [], patch_px: a.patch_px, levels: a.levels.map((l) => ({ grid: l.grid, cells: l.cells })) };
  });
  atlas.levels.sort((a, b) => a.grid - b.grid);
  const coarse = atlas.levels[0], finest = atlas.levels[atlas.levels.length - 1];
  console.log(`atlas "${atlas.title}": levels ${atlas.levels.map((l) => `${l.grid} (${l.cells.length} cells)`).join(', ')}`);
  check('first frame shows the coarsest level', first.grid === coarse.grid, `grid ${first.grid}`);
  check('first frame draws every icon of the coarsest level', first.drawnIcons === coarse.cells.length,
        `${first.drawnIcons} of ${coarse.cells.length}`);

  // ---- zoom: wheel, buttons, drag ----
  const box = await page.locator('#atlas').boundingBox();
  const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  await page.mouse.move(centre.x, centre.y);
  let level = await viewer(() => window.actatlasViewer.level);
  for (let i = 0; i < 12 && level === coarse.grid; ++i) {
    await page.mouse.wheel(0, -240);
    await settled();  // the finer level replaces the coarser once its visible icons loaded
    level = await viewer(() => window.actatlasViewer.level);
  }
  if (atlas.levels.length > 1) {
    const zoomNow = await viewer(() => window.actatlasViewer.zoom);
    check('wheel zoom switches to a finer level', level === atlas.levels[1].grid,
          `grid ${coarse.grid} → ${level} at zoom ${zoomNow.toFixed(2)}`);
    const asked = await viewer(() => window.actatlasViewer.targetLevel);
    check('the level drawn is the one the zoom asks for', level === asked, `drawn ${level}, asked ${asked}`);
  } else {
    check('atlas has more than one level to zoom through', false, 'render with --levels 2 or more');
  }
  const z0 = await viewer(() => window.actatlasViewer.zoom);
  await page.click('#zoom-in');
  const z1 = await viewer(() => window.actatlasViewer.zoom);
  check('the + button zooms in twofold', Math.abs(z1 / z0 - 2) < 1e-6, `${z0.toFixed(2)} → ${z1.toFixed(2)}`);
  await page.click('#zoom-out');
  await page.click('#zoom-out');
  const z2 = await viewer(() => window.actatlasViewer.zoom);
  check('the − button zooms out', Math.abs(z2 - z0 / 2) < 1e-6, `${z1.toFixed(2)} → ${z2.toFixed(2)}`);
  const c0 = await viewer(() => window.actatlasViewer.center);
  await page.mouse.move(centre.x, centre.y);
  await page.mouse.down();
  await page.mouse.move(centre.x + 60, centre.y + 40, { steps: 4 });
  await page.mouse.up();
  const c1 = await viewer(() => window.actatlasViewer.center);
  check('dragging pans the view', c1.x < c0.x && c1.y < c0.y,
        `centre (${c0.x.toFixed(3)}, ${c0.y.toFixed(3)}) → (${c1.x.toFixed(3)}, ${c1.y.toFixed(3)})`);
  await page.click('#zoom-fit');
  await settled();
  check('fit returns to the coarsest level', (await viewer(() => window.actatlasViewer.level)) === coarse.grid);

  // ---- hover: a cell's label ----
  // Cells left of where the patch panel opens, so the final screenshot shows both.
  const panelLeft = 1280 - 460;
  const centres = await viewer((cells) => cells.map(([ix, iy]) => window.actatlasViewer.cellCenter(ix, iy)),
                               coarse.cells.map((c) => [c.ix, c.iy]));
  const onScreen = coarse.cells.map((cell, i) => ({ cell, p: centres[i] })).filter((o) => o.p && o.p.x < panelLeft);
  onScreen.sort((a, b) => b.cell.count - a.cell.count);
  const label = (cell) => (cell.top && cell.top.length ? String(atlas.classes[cell.top[0][0]]) : `cell ${cell.ix},${cell.iy}`);
  const target = onScreen[0];
  await page.mouse.move(target.p.x, target.p.y);
  await until(hoveredIs, [target.cell.ix, target.cell.iy]);
  const hovered = await viewer(() => window.actatlasViewer.hovered);
  const tipLabel = await page.locator('#tooltip .label').textContent().catch(() => null);
  check('hovering a cell selects it', hovered && hovered.ix === target.cell.ix && hovered.iy === target.cell.iy,
        JSON.stringify(hovered));
  check('hovering a cell shows its label', tipLabel === label(target.cell),
        `"${tipLabel}" (expected "${label(target.cell)}")`);

  // ---- class highlight ----
  const hasAttribution = coarse.cells.some((c) => (c.top && c.top.length) || Array.isArray(c.attr));
  if (check('the atlas carries attributions (needed by the class highlight)', hasAttribution && atlas.classes.length > 0)) {
    const cls = target.cell.top[0][0];
    const attribution = (cell) => (Array.isArray(cell.attr) ? cell.attr[cls] : (cell.top.find(([k]) => k === cls) || [0, 0])[1]);
    const before = await page.locator('#atlas').screenshot();
    await page.selectOption('#class-picker', String(cls));
    await until((c) => window.actatlasViewer.pickedClass === c, cls);
    await settled();  // a frame drawn with the new opacities
    const after = await page.locator('#atlas').screenshot();
    const ops = await viewer(() => window.actatlasViewer.opacities());
    const byCell = new Map(ops.map((o) => [o.ix + ',' + o.iy, o.opacity]));
    const ranked = [...coarse.cells].sort((a, b) => attribution(b) - attribution(a));
    const best = ranked[0], worst = ranked[ranked.length - 1];
    const maxOpacity = Math.max(...ops.map((o) => o.opacity));
    check(`picking class "${atlas.classes[cls]}" sets it in the viewer`, (await viewer(() => window.actatlasViewer.pickedClass)) === cls);
    check('picking a class changes opacities', ops.some((o) => o.opacity < 0.999),
          `${ops.filter((o) => o.opacity < 0.5).length} of ${ops.length} cells below 0.5`);
    check('the cell with the highest attribution is the most opaque',
          byCell.get(best.ix + ',' + best.iy) === maxOpacity && maxOpacity > 0.999,
          `cell (${best.ix}, ${best.iy}) attribution ${attribution(best).toFixed(4)} opacity ${byCell.get(best.ix + ',' + best.iy)}`);
    if (attribution(worst) <= 0)
      check('a cell with no positive attribution is transparent', byCell.get(worst.ix + ',' + worst.iy) === 0,
            `cell (${worst.ix}, ${worst.iy}) attribution ${attribution(worst).toFixed(4)}`);
    let ordered = true;
    for (let i = 1; i < ranked.length; ++i)
      if (byCell.get(ranked[i].ix + ',' + ranked[i].iy) > byCell.get(ranked[i - 1].ix + ',' + ranked[i - 1].iy) + 1e-6) ordered = false;
    check('opacity follows attribution order', ordered);
    check('the highlight changes the picture', !before.equals(after));
    await page.selectOption('#class-picker', '-1');
    await until(() => window.actatlasViewer.pickedClass === -1);
    const reset = await viewer(() => window.actatlasViewer.opacities());
    check('class "none" makes every icon opaque again', reset.every((o) => o.opacity === 1));
  }

  // ---- density scaling ----
  const sqrtShot = await page.locator('#atlas').screenshot();
  await page.selectOption('#sizing', 'full');
  await until(() => window.actatlasViewer.sizing === 'full');
  await settled();
  const fullShot = await page.locator('#atlas').screenshot();
  const sparse = coarse.cells.some((c) => c.density < 0.98);
  check('the sizing control switches to full cells', (await viewer(() => window.actatlasViewer.sizing)) === 'full');
  if (sparse) check('full-cell sizing changes the picture (some cells are sparser than average)', !sqrtShot.equals(fullShot));
  await page.selectOption('#sizing', 'sqrt');
  await until(() => window.actatlasViewer.sizing === 'sqrt');

  // ---- click: the cell's dataset patches ----
  const withPatches = onScreen.find((o) => o.cell.patches > 0);
  if (check('some cell has dataset patches', withPatches !== undefined)) {
    await page.mouse.click(withPatches.p.x, withPatches.p.y);
    // The panel opens, and its strip has either loaded or failed (complete is true then too).
    await until(() => {
      const img = document.getElementById('panel-patches-img');
      return !document.getElementById('panel').hidden && Boolean(img.getAttribute('src')) && img.complete;
    });
    const img = await viewer(() => {
      const i = document.getElementById('panel-patches-img');
      return { src: i.getAttribute('src'), w: i.naturalWidth, h: i.naturalHeight, visible: !document.getElementById('panel').hidden };
    });
    const selected = await viewer(() => window.actatlasViewer.selected);
    check('clicking a cell opens its panel', img.visible && selected && selected.ix === withPatches.cell.ix && selected.iy === withPatches.cell.iy,
          JSON.stringify(selected));
    check('the patch strip loaded', img.w > 0, `${img.src}: ${img.w}×${img.h}`);
    check('the strip holds the cell\'s patches', img.w === withPatches.cell.patches * atlas.patch_px && img.h === atlas.patch_px,
          `${withPatches.cell.patches} × ${atlas.patch_px} px expected`);
  }

  // ---- the kept screenshot: atlas, a hovered card, the open patch panel ----
  const other = onScreen.find((o) => o.cell !== (withPatches || target).cell && Math.abs(o.p.y - target.p.y) > 60) || target;
  await page.mouse.move(other.p.x, other.p.y);
  await until(hoveredIs, [other.cell.ix, other.cell.iy]);
  await settled();
  fs.mkdirSync(path.dirname(path.resolve(shotPath)), { recursive: true });
  await page.screenshot({ path: shotPath });
  console.log(`screenshot: ${path.resolve(shotPath)}`);

  // ---- timing on the finest level ----
  await page.keyboard.press('Escape');
  await page.mouse.move(2, 2);
  const zoomIn = await viewer(() => {
    const v = window.actatlasViewer;
    let z = 1;
    while (v.levelForZoom(z) !== v.levels[v.levels.length - 1]) z *= 1.25;
    return z;
  });
  // Entering the finest level: its visible icons load from disk.
  await viewer((z) => window.actatlasViewer.zoomTo(z / 1.25, 0.5, 0.5), zoomIn);
  await settled();
  const enter = await viewer(async () => {
    const v = window.actatlasViewer;
    const requested = v.stats.requestedIcons;
    const t0 = performance.now();
    v.zoomBy(1.25);
    const s = await v.whenSettled();
    return { ms: performance.now() - t0, grid: s.grid, icons: s.drawnIcons, draw: s.lastDrawMs, loaded: s.requestedIcons - requested };
  });
  check('zoom reaches the finest level', enter.grid === finest.grid, `grid ${enter.grid}`);
  // Steps within the finest level, icons partly cached: the common case while exploring.
  const steps = await viewer(async () => {
    const v = window.actatlasViewer;
    const out = [];
    for (const f of [1.25, 1.25, 0.8, 0.8, 1.25, 0.8]) {
      const t0 = performance.now();
      v.zoomBy(f);
      const s = await v.whenSettled();
      out.push({ ms: performance.now() - t0, draw: s.lastDrawMs, icons: s.drawnIcons, grid: s.grid });
    }
    return out;
  });
  const sorted = steps.map((s) => s.ms).sort((a, b) => a - b);
  const draws = steps.map((s) => s.draw).sort((a, b) => a - b);
  const shown = Math.max(...steps.map((s) => s.icons));

  const after = await viewer(() => window.actatlasViewer.stats);
  check('no icon failed to load', after.failedIcons === 0, `${after.failedIcons} failed`);
  check('no console error, page error or failed load', problems.length === 0, problems.slice(0, 5).join(' | '));

  console.log('--- timings (headless chromium, this machine) ---');
  console.log(`first contentful paint: ${ms(paint)}; atlas.js parsed, viewer started: ${ms(first.scriptStartMs)}; ` +
              `first frame drawn: ${ms(first.firstDrawMs)}; ` +
              `all ${first.drawnIcons} icons of grid ${first.grid} drawn: ${ms(first.firstCompleteMs)} (from navigation start)`);
  console.log(`zoom step into grid ${enter.grid} (${enter.icons} icons on screen, ${enter.loaded} loaded from disk): ${ms(enter.ms)} until every icon drawn; ` +
              `draw ${ms(enter.draw)}`);
  console.log(`zoom step within grid ${finest.grid} (≤${shown} icons on screen): median ${ms(sorted[sorted.length >> 1])}, ` +
              `max ${ms(sorted[sorted.length - 1])} until every icon drawn; one draw: median ${ms(draws[draws.length >> 1])}`);
} catch (e) {
  check('test ran to the end', false, e.stack || String(e));
} finally {
  await browser.close();
}

if (failures.length) {
  console.log(`viewer_test: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('viewer_test: all checks passed');
