// The viewer's dataset-comparison panel in a real browser (Debian's chromium, playwright-core).
//
// Usage: node tests/browser/compare_test.mjs ATLAS_DIR SCREENSHOT.png
//   ATLAS_DIR: an atlas folder written by `actatlas compare-datasets` or
//   `actatlas demo-compare-datasets` (OUT/atlas), whose atlas.js has a "comparison".
//
// Checks against atlas.js's own data: no console or page error and no failed load; the
// side list shows every listed cell of each set, named after the sets; a click on the
// first cell of each side selects that cell, opens its panel with the cell's counts, and
// loads the patches of each set the cell holds samples of (each strip decoded, not
// broken); a significant cell is framed in its side's colour (the pixel at the cell's
// corner). Every wait is on a condition, never on a clock.
// Exit 0: all checks passed; 1: a check failed; 77: chromium or playwright-core missing.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';

const [atlasArg, shotArg] = process.argv.slice(2);
if (!atlasArg || !shotArg) {
  console.error('usage: node compare_test.mjs ATLAS_DIR SCREENSHOT.png');
  process.exit(2);
}
const atlasDir = path.resolve(atlasArg);
const indexHtml = path.join(atlasDir, 'index.html');
if (!fs.existsSync(indexHtml)) {
  console.error(`compare_test: ${atlasDir} has no index.html (write it with actatlas compare-datasets)`);
  process.exit(1);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  console.error('compare_test: playwright-core is not installed: run `npm ci --prefix tests/browser`');
  process.exit(77);
}
if (!fs.existsSync(executablePath)) {
  console.error(`compare_test: no browser at ${executablePath}: apt-get install chromium (scripts/setup.sh browser)`);
  process.exit(77);
}

//! The first pixel's RGB of a PNG (a 1×1 screenshot): the IDAT data inflated; whatever the
//! row's filter, the first pixel of the first row is stored as it is.
function firstPixel(png) {
  const idat = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at), type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  return [raw[1], raw[2], raw[3]];
}

const failures = [];
function check(what, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ': ' + detail : ''}`);
  if (!ok) failures.push(what);
  return ok;
}
const patience = Number(process.env.ACTATLAS_VIEWER_PATIENCE_MS || 600000);
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  page.setDefaultTimeout(patience);
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => problems.push('failed load: ' + r.url() + ' (' + (r.failure()?.errorText ?? '') + ')'));
  await page.goto(pathToFileURL(indexHtml).href, { waitUntil: 'load' });
  await page.waitForFunction(() => window.actatlasViewer !== undefined, null, { timeout: patience });
  await page.evaluate(() => window.actatlasViewer.whenSettled());
  const cmp = await page.evaluate(() => window.ACTATLAS.comparison || null);
  if (!check('atlas.js has a comparison', cmp !== null)) throw new Error('no comparison');

  check('the side list is shown', await page.locator('#compare').isVisible());
  for (const side of ['a', 'b']) {
    const items = await page.locator(`#compare-${side} li`).count();
    check(`side list ${side.toUpperCase()} has every listed cell`, items === cmp['top_' + side].length,
          `${items} of ${cmp['top_' + side].length}`);
    const title = await page.locator(`#compare-${side}-title`).textContent();
    check(`side list ${side.toUpperCase()} names its set`, title.includes(cmp[side].name), title);
  }

  for (const side of ['a', 'b']) {
    const entry = cmp['top_' + side][0];
    if (!entry) continue;
    await page.locator(`#compare-${side} li`).first().click();
    const ok = await page.waitForFunction(([ix, iy]) => {
      const s = window.actatlasViewer.selected;
      return s !== null && s.ix === ix && s.iy === iy && !document.getElementById('panel').hidden;
    }, [entry.ix, entry.iy], { timeout: patience, polling: 'raf' }).then(() => true, () => false);
    check(`clicking ${side.toUpperCase()}1 selects cell (${entry.ix}, ${entry.iy}) and opens its panel`, ok);
    const info = await page.locator('#panel-compare-info').textContent();
    check(`${side.toUpperCase()}1's panel gives its counts`, info.includes(String(entry.counts[0])) && info.includes(String(entry.counts[1])), info);
    for (const [k, s] of [[0, 'a'], [1, 'b']]) {
      const img = page.locator(`#panel-patches-${s}`);
      if (entry.counts[k] === 0) {
        check(`${side.toUpperCase()}1 shows no ${s.toUpperCase()} strip (no samples of that set)`, await img.isHidden());
        continue;
      }
      const loaded = await page.waitForFunction((id) => {
        const el = document.getElementById(id);
        return el.complete && el.naturalWidth > 0;
      }, `panel-patches-${s}`, { timeout: patience, polling: 'raf' }).then(() => true, () => false);
      const src = await img.getAttribute('src');
      check(`${side.toUpperCase()}1's patches from ${s.toUpperCase()} load`, loaded && src === entry['patches_' + s], src);
    }
  }

  // The frame of a significant cell: the pixel just inside its top-left corner has its
  // side's colour (orange: red above blue; purple: blue above green).
  await page.locator('#panel-close').click();  // the panel covers the atlas's right side
  await page.evaluate(() => window.actatlasViewer.fit());
  await page.evaluate(() => window.actatlasViewer.whenSettled());
  for (const side of ['a', 'b']) {
    const entry = cmp['top_' + side].find((e) => e.significant);
    if (!entry) continue;
    // Read from a 1×1 screenshot: a page opened from file:// may not read its own canvas back.
    const at = await page.evaluate(([ix, iy]) => {
      const c = window.actatlasViewer.cellCenter(ix, iy);
      return { x: Math.round(c.x - c.cellPx / 2 + 1), y: Math.round(c.y - c.cellPx / 2 + 1) };
    }, [entry.ix, entry.iy]);
    const rgb = firstPixel(await page.screenshot({ clip: { x: at.x, y: at.y, width: 1, height: 1 } }));
    const hue = side === 'a' ? rgb[0] > rgb[2] + 40 : rgb[2] > rgb[1] + 30;
    check(`significant cell ${side.toUpperCase()} (${entry.ix}, ${entry.iy}) is framed in its side's colour`, hue, rgb.join(','));
  }
  await page.screenshot({ path: shotArg });
  console.log(`screenshot: ${shotArg}`);
} catch (e) {
  failures.push(String(e));
  console.log('FAIL ' + e);
} finally {
  await browser.close();
}
check('no console error, page error or failed load', problems.length === 0, problems.join('; '));
process.exit(failures.length ? 1 : 0);
