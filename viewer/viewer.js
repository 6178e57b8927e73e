// actatlas viewer: an explorable activation atlas on one canvas.
//
// Reads window.ACTATLAS (atlas.js, docs/output-format.md) and draws the grid level bound
// to the zoom, as in the article: zooming in switches to finer levels (20 -> 40 -> 80 -> ...)
// so a cell keeps about the same size on screen. Only the cells on screen are drawn, each
// from its own icon image loaded on first sight, so a 160x160 level costs what the few
// hundred visible icons cost, not 25 600. Plain DOM and canvas, no build step, no network:
// the page works from file:// (where fetch of local JSON is refused, hence atlas.js).
(function () {
  'use strict';

  const data = window.ACTATLAS;
  const scriptStartMs = performance.now();
  const $ = (id) => document.getElementById(id);
  // Non-ASCII characters are written as escapes: the files are embedded in a C++ header.
  const TIMES = '\u00d7', DOT = ' \u00b7 ';

  function showMessage(text) {
    const box = $('message');
    box.textContent = text;
    box.hidden = false;
  }

  if (!data || !Array.isArray(data.levels) || data.levels.length === 0) {
    showMessage('This folder has no usable atlas.js (window.ACTATLAS with at least one level). ' +
                'Write it with `actatlas render`, then reload.');
    return;
  }

  // ---- data: one dense index per level, so a screen position finds its cell in O(1) ----
  const classes = Array.isArray(data.classes) ? data.classes : [];
  const patchPx = data.patch_px || 48;
  const levels = data.levels.map((src) => {
    const grid = src.grid;
    const cells = src.cells || [];
    const index = new Int32Array(grid * grid).fill(-1);
    cells.forEach((c, i) => {
      if (c.ix >= 0 && c.ix < grid && c.iy >= 0 && c.iy < grid) index[c.iy * grid + c.ix] = i;
    });
    return {
      grid, cells, index,
      icons: src.icons || ('icons/' + grid),
      patches: src.patches || ('patches/' + grid),
      opacity: new Float32Array(cells.length).fill(1),
    };
  }).sort((a, b) => a.grid - b.grid);
  const coarsest = levels[0].grid;

  // Dataset comparison (compare-datasets adds it): per level, each cell's counts, ratio,
  // q-value and side, for the tint behind its icon; the listed cells for the side list.
  const comparison = data.comparison || null;
  if (comparison) {
    for (const lv of levels) {
      lv.compare = new Array(lv.cells.length).fill(null);
      for (const c of (comparison.cells || {})[String(lv.grid)] || []) {
        const i = (c.ix >= 0 && c.ix < lv.grid && c.iy >= 0 && c.iy < lv.grid) ? lv.index[c.iy * lv.grid + c.ix] : -1;
        if (i >= 0) lv.compare[i] = c;
      }
    }
  }
  // The cell's background: ColorBrewer PuOr's ends as in compare.png, full at |log2| = 2.
  function compareColour(c) {
    const t = Math.min(1, Math.abs(c.log2_ratio) / 2);
    const mix = (to, k) => 'rgb(' + to.map((v) => Math.round(255 + (v - 255) * k)).join(',') + ')';
    if (c.side > 0) return mix([230, 97, 1], Math.max(t, 1 / 3));
    if (c.side < 0) return mix([94, 60, 153], Math.max(t, 1 / 3));
    return mix([150, 150, 150], 0.35 * t);
  }
  const hasAttribution = levels.some((lv) => lv.cells.some((c) => (c.top && c.top.length) || Array.isArray(c.attr)));

  // ---- view: zoom 1 fits the whole atlas; (cx, cy) is the world point at the centre ----
  const canvas = $('atlas');
  const ctx = canvas.getContext('2d');
  const view = { zoom: 1, cx: 0.5, cy: 0.5, width: 1, height: 1, dpr: 1 };
  const minZoom = 0.5;
  const maxZoom = (levels[levels.length - 1].grid / coarsest) * 8;
  const settings = { sizing: 'sqrt', labels: true, pickedClass: -1 };
  let hovered = null;   // {level, cell}
  let selected = null;  // {level, cell}
  let mouse = null;     // last pointer position over the canvas, canvas pixels

  function fitScale() { return Math.min(view.width, view.height) * 0.96; }
  function scale() { return fitScale() * view.zoom; }

  // The article's binding of grid to zoom: the finest level whose cells are no smaller on
  // screen than the coarsest level's cells at zoom 1.
  function levelIndexFor(zoom) {
    let chosen = 0;
    for (let i = 0; i < levels.length; ++i)
      if (levels[i].grid <= coarsest * zoom * (1 + 1e-9)) chosen = i;
    return chosen;
  }
  // The level on screen. Zooming in, the coarser level stays until the finer level's
  // visible icons have loaded (or `switchWaitMs` passed), so the picture never turns into
  // empty placeholders; zooming out switches at once (those icons are few and cached).
  let shownIndex = 0;
  let waitingFor = -1, waitingSince = 0;
  const switchWaitMs = 600;
  function currentLevel() { return levels[shownIndex]; }

  function screenOrigin() {  // canvas position of world (0, 0)
    const s = scale();
    return { x: view.width / 2 - view.cx * s, y: view.height / 2 - view.cy * s, s };
  }

  function cellAt(px, py) {
    const lv = currentLevel();
    const o = screenOrigin();
    const wx = (px - o.x) / o.s, wy = (py - o.y) / o.s;
    const ix = Math.floor(wx * lv.grid), iy = Math.floor(wy * lv.grid);
    if (ix < 0 || iy < 0 || ix >= lv.grid || iy >= lv.grid) return null;
    const i = lv.index[iy * lv.grid + ix];
    return i < 0 ? null : { level: lv, cell: lv.cells[i], i };
  }

  // Icon side as a fraction of the cell: the article's sqrt(density), a log rule that keeps
  // sparse cells visible, or the full cell (the same rules as render/canvas.hpp).
  function iconFraction(density) {
    const d = Math.max(0, density || 0);
    if (settings.sizing === 'sqrt') return Math.min(1, Math.sqrt(d));
    if (settings.sizing === 'log') return Math.min(1, Math.log2(1 + d));
    return 1;
  }

  // ---- class highlight: opacity = attribution to the class / the level's largest ----
  function attributionTo(cell, c) {
    if (Array.isArray(cell.attr)) return cell.attr[c] || 0;
    // Without the full vector only the top classes are known; the rest count as zero.
    for (const [k, v] of cell.top || []) if (k === c) return v;
    return 0;
  }

  function applyClass(c) {
    settings.pickedClass = c;
    for (const lv of levels) {
      if (c < 0) { lv.opacity.fill(1); continue; }
      let max = 0;
      const values = lv.cells.map((cell) => attributionTo(cell, c));
      for (const v of values) max = Math.max(max, v);
      // Cells that contribute little, nothing or negatively become fully transparent.
      values.forEach((v, i) => { lv.opacity[i] = max > 0 ? Math.min(1, Math.max(0, v / max)) : 0; });
    }
  }

  // ---- icons: loaded lazily when first on screen, kept in a bounded cache ----
  const iconCache = new Map();  // url -> {img, state: 'loading'|'ok'|'failed', used}
  const cacheLimit = 3000;
  let frame = 0;
  let failures = 0;
  let requested = 0;

  function icon(lv, cell) {
    const url = lv.icons + '/' + cell.ix + '_' + cell.iy + '.png';
    let entry = iconCache.get(url);
    if (!entry) {
      const img = new Image();
      entry = { img, state: 'loading', used: frame };
      img.decoding = 'async';
      img.onload = () => { entry.state = 'ok'; scheduleDraw(); };
      img.onerror = () => { entry.state = 'failed'; ++failures; scheduleDraw(); };
      img.src = url;
      iconCache.set(url, entry);
      ++requested;
    }
    entry.used = frame;
    return entry;
  }

  function trimCache() {
    if (iconCache.size <= cacheLimit) return;
    for (const [url, entry] of iconCache) {
      if (iconCache.size <= cacheLimit * 0.8) break;
      if (entry.used < frame && entry.state !== 'loading') iconCache.delete(url);
    }
  }

  // ---- drawing ----
  const stats = {
    scriptStartMs, firstDrawMs: null, firstCompleteMs: null,
    lastDrawMs: 0, drawnIcons: 0, pendingIcons: 0, frames: 0, failedIcons: 0, requestedIcons: 0,
  };
  let drawScheduled = false;
  const settleWaiters = [];

  function scheduleDraw() {
    if (drawScheduled) return;
    drawScheduled = true;
    requestAnimationFrame(() => { drawScheduled = false; draw(); });
  }

  function shortName(name) {
    const comma = name.indexOf(',');
    return comma >= 0 ? name.slice(0, comma) : name;
  }
  function className(c) { return classes[c] !== undefined ? String(classes[c]) : 'class ' + c; }
  function cellLabel(cell) {
    return cell.top && cell.top.length ? className(cell.top[0][0]) : 'cell ' + cell.ix + ',' + cell.iy;
  }

  function fitText(text, maxWidth) {
    if (ctx.measureText(text).width <= maxWidth) return text;
    let t = text;
    while (t.length > 1 && ctx.measureText(t + '.').width > maxWidth) t = t.slice(0, -1);
    return t + '.';
  }

  // The cells of `lv` inside the canvas.
  function visibleRange(lv, o) {
    const cellPx = o.s / lv.grid;
    return {
      ix0: Math.max(0, Math.floor(-o.x / cellPx)), ix1: Math.min(lv.grid - 1, Math.floor((view.width - o.x) / cellPx)),
      iy0: Math.max(0, Math.floor(-o.y / cellPx)), iy1: Math.min(lv.grid - 1, Math.floor((view.height - o.y) / cellPx)),
    };
  }

  // Starts loading the visible icons of `lv`; returns how many are not loaded yet.
  function requestVisible(lv, o) {
    const r = visibleRange(lv, o);
    let missing = 0;
    for (let iy = r.iy0; iy <= r.iy1; ++iy)
      for (let ix = r.ix0; ix <= r.ix1; ++ix) {
        const i = lv.index[iy * lv.grid + ix];
        if (i >= 0 && lv.opacity[i] >= 0.01 && icon(lv, lv.cells[i]).state === 'loading') ++missing;
      }
    return missing;
  }

  function chooseLevel(o, now) {
    const target = levelIndexFor(view.zoom);
    if (target <= shownIndex) { shownIndex = target; waitingFor = -1; return 0; }
    if (waitingFor !== target) { waitingFor = target; waitingSince = now; }
    const missing = requestVisible(levels[target], o);
    if (missing === 0 || now - waitingSince >= switchWaitMs) { shownIndex = target; waitingFor = -1; return 0; }
    if (!timerSet) {  // no image may arrive before the wait ends: look again then
      timerSet = true;
      setTimeout(() => { timerSet = false; scheduleDraw(); }, switchWaitMs - (now - waitingSince) + 5);
    }
    return missing;
  }
  let timerSet = false;

  function draw() {
    const t0 = performance.now();
    ++frame;
    const o = screenOrigin();
    const before = shownIndex;
    const waiting = chooseLevel(o, t0);
    if (shownIndex !== before && mouse) queueMicrotask(updateHover);
    const lv = currentLevel();
    const cellPx = o.s / lv.grid;
    ctx.setTransform(view.dpr, 0, 0, view.dpr, 0, 0);
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, view.width, view.height);
    ctx.strokeStyle = '#e4e4e4';
    ctx.lineWidth = 1;
    ctx.strokeRect(o.x - 0.5, o.y - 0.5, o.s + 1, o.s + 1);

    // Only the cells inside the canvas.
    const { ix0, ix1, iy0, iy1 } = visibleRange(lv, o);
    const showLabels = settings.labels && hasAttribution && cellPx >= 72;
    const labelled = [];
    let drawn = 0, pending = 0;
    ctx.imageSmoothingQuality = 'high';
    for (let iy = iy0; iy <= iy1; ++iy) {
      for (let ix = ix0; ix <= ix1; ++ix) {
        const i = lv.index[iy * lv.grid + ix];
        if (i < 0) continue;
        const alpha = lv.opacity[i];
        if (alpha < 0.01) continue;
        const cell = lv.cells[i];
        const side = cellPx * iconFraction(cell.density);
        const x = o.x + (ix + 0.5) * cellPx - side / 2, y = o.y + (iy + 0.5) * cellPx - side / 2;
        const entry = icon(lv, cell);
        ctx.globalAlpha = alpha;
        const cmp = lv.compare ? lv.compare[i] : null;
        if (cmp) {
          ctx.fillStyle = compareColour(cmp);
          ctx.fillRect(o.x + ix * cellPx, o.y + iy * cellPx, cellPx, cellPx);
        }
        if (entry.state === 'ok') {
          ctx.drawImage(entry.img, x, y, side, side);
          ++drawn;
        } else {
          if (entry.state === 'loading') ++pending;
          ctx.fillStyle = entry.state === 'failed' ? '#f3d6d6' : '#eeeeee';
          ctx.fillRect(x, y, side, side);
        }
        if (cmp && cmp.side !== 0) {  // a significant cell: framed in its side's colour, as in compare.png
          const w = Math.max(2, cellPx / 20);
          ctx.strokeStyle = cmp.side > 0 ? 'rgb(230,97,1)' : 'rgb(94,60,153)';
          ctx.lineWidth = w;
          ctx.strokeRect(o.x + ix * cellPx + w / 2, o.y + iy * cellPx + w / 2, cellPx - w, cellPx - w);
        }
        if (showLabels && cell.top && cell.top.length) labelled.push([cell, ix, iy, alpha]);
      }
    }
    if (labelled.length) {
      ctx.font = '11px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'bottom';
      ctx.lineWidth = 3;
      ctx.lineJoin = 'round';
      ctx.strokeStyle = 'rgba(255,255,255,0.9)';
      ctx.fillStyle = '#111';
      for (const [cell, ix, iy, alpha] of labelled) {
        ctx.globalAlpha = alpha;
        const text = fitText(shortName(cellLabel(cell)), cellPx - 6);
        const x = o.x + (ix + 0.5) * cellPx, y = o.y + (iy + 1) * cellPx - 2;
        ctx.strokeText(text, x, y);
        ctx.fillText(text, x, y);
      }
    }
    ctx.globalAlpha = 1;
    outline(selected, '#1f5fd1', 2.5, lv, o, cellPx);
    outline(hovered, '#222', 1.5, lv, o, cellPx);

    trimCache();
    const t1 = performance.now();
    stats.lastDrawMs = t1 - t0;
    stats.drawnIcons = drawn;
    pending += waiting;
    stats.pendingIcons = pending;
    stats.failedIcons = failures;
    stats.requestedIcons = requested;
    ++stats.frames;
    if (stats.firstDrawMs === null) stats.firstDrawMs = t1;
    if (pending === 0) {
      if (stats.firstCompleteMs === null) stats.firstCompleteMs = t1;
      if (!drawScheduled) settleWaiters.splice(0).forEach((resolve) => resolve(snapshot()));
    }
    $('level').textContent = 'grid ' + lv.grid + TIMES + lv.grid;
  }

  function outline(target, colour, width, lv, o, cellPx) {
    if (!target || target.level !== lv) return;
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.strokeRect(o.x + target.cell.ix * cellPx + 0.5, o.y + target.cell.iy * cellPx + 0.5, cellPx - 1, cellPx - 1);
  }

  // ---- hover card ----
  const tooltip = $('tooltip');

  function fmt(v) {
    if (v === 0) return '0';
    const a = Math.abs(v);
    return a >= 100 ? v.toFixed(0) : a >= 0.01 ? v.toFixed(3) : v.toExponential(1);
  }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[ch]));
  }

  function tooltipHtml(lv, cell) {
    const top = (cell.top || []).slice(0, 5);
    const biggest = Math.max(1e-12, ...top.map(([, v]) => Math.abs(v)));
    let rows = top.map(([c, v]) =>
      '<tr' + (c === settings.pickedClass ? ' class="picked"' : '') + '><td>' + esc(shortName(className(c))) +
      '</td><td class="value">' + fmt(v) + '</td><td class="bar"><div class="' + (v < 0 ? 'negative' : '') +
      '" style="width:' + Math.round(60 * Math.abs(v) / biggest) + 'px"></div></td></tr>').join('');
    const c = settings.pickedClass;
    if (c >= 0 && !top.some(([k]) => k === c)) {
      const known = Array.isArray(cell.attr) || (cell.top || []).some(([k]) => k === c);
      rows += '<tr class="picked"><td>' + esc(shortName(className(c))) + '</td><td class="value">' +
              (known ? fmt(attributionTo(cell, c)) : 'not in top ' + (cell.top || []).length) + '</td><td></td></tr>';
    }
    return '<div class="label">' + esc(cellLabel(cell)) + '</div>' +
           '<div class="meta">' + cell.count + ' samples' + DOT + 'density ' + fmt(cell.density) + '<br>cell (' +
           cell.ix + ', ' + cell.iy + ') of ' + lv.grid + TIMES + lv.grid + '</div>' +
           (rows ? '<table>' + rows + '</table>' : '');
  }

  function updateHover() {
    const hit = mouse && !dragging ? cellAt(mouse.x, mouse.y) : null;
    const same = hit && hovered && hit.cell === hovered.cell;
    if (!same) {
      hovered = hit ? { level: hit.level, cell: hit.cell } : null;
      scheduleDraw();
    }
    if (!hovered) { tooltip.hidden = true; return; }
    if (!same || tooltip.hidden || tooltip.dataset.pick !== String(settings.pickedClass)) {
      tooltip.innerHTML = tooltipHtml(hovered.level, hovered.cell);
      tooltip.dataset.pick = String(settings.pickedClass);
    }
    tooltip.hidden = false;
    const pad = 14;
    // The card stays clear of the patch panel when it is open.
    const right = panel.hidden ? view.width : Math.min(view.width, panel.offsetLeft);
    let x = mouse.x + pad, y = mouse.y + pad;
    if (x + tooltip.offsetWidth > right) x = mouse.x - pad - tooltip.offsetWidth;
    if (y + tooltip.offsetHeight > view.height) y = mouse.y - pad - tooltip.offsetHeight;
    tooltip.style.left = Math.max(0, x) + 'px';
    tooltip.style.top = Math.max(0, y) + 'px';
  }

  // ---- patch panel ----
  const panel = $('panel');
  function openPanel(lv, cell) {
    selected = { level: lv, cell };
    $('panel-title').textContent = cellLabel(cell);
    $('panel-info').textContent = 'grid ' + lv.grid + TIMES + lv.grid + ', cell (' + cell.ix + ', ' + cell.iy + '): ' +
                                  cell.count + ' samples, density ' + fmt(cell.density);
    const img = $('panel-patches-img');
    const n = cell.patches || 0;
    if (n > 0) {
      img.hidden = false;
      img.style.width = (n * patchPx * 2) + 'px';
      img.style.maxWidth = '100%';
      img.src = lv.patches + '/' + cell.ix + '_' + cell.iy + '.png';
      $('panel-patches-note').textContent = n + ' of the ' + cell.count +
        ' samples: the crop of the input image around each sampled position';
    } else {
      img.hidden = true;
      img.removeAttribute('src');
      $('panel-patches-note').textContent = 'No dataset patches were recorded for this cell.';
    }
    showComparison(lv, cell);
    $('panel-top').innerHTML = (cell.top || []).map(([c, v]) =>
      '<li>' + esc(className(c)) + ' <span>' + fmt(v) + '</span></li>').join('');
    $('panel-icon').src = lv.icons + '/' + cell.ix + '_' + cell.iy + '.png';
    panel.hidden = false;
    scheduleDraw();
  }
  // The comparison part of the panel: counts, ratio, q, and, for a listed cell, its
  // patches from each set (compare/patches/G/x_y_a.png and _b.png).
  function showComparison(lv, cell) {
    const box = $('panel-compare');
    const i = lv.compare ? lv.index[cell.iy * lv.grid + cell.ix] : -1;
    const c = i >= 0 ? lv.compare[i] : null;
    if (!c) { box.hidden = true; return; }
    box.hidden = false;
    $('panel-compare-info').textContent = comparison.a.name + ': ' + c.counts[0] + DOT + comparison.b.name + ': ' + c.counts[1] +
      DOT + 'log2 ratio ' + c.log2_ratio.toFixed(2) + DOT + 'q ' + fmt(c.q) +
      (c.side > 0 ? ' (more of A)' : c.side < 0 ? ' (more of B)' : ' (not significant)');
    const listed = (comparison.top_a || []).concat(comparison.top_b || [])
      .find((e) => e.grid === lv.grid && e.ix === cell.ix && e.iy === cell.iy);
    for (const side of ['a', 'b']) {
      const img = $('panel-patches-' + side);
      const n = Math.min(c.counts[side === 'a' ? 0 : 1], 6);
      $('panel-patches-' + side + '-title').textContent = 'Patches from ' +
        (side === 'a' ? 'A: ' + comparison.a.name : 'B: ' + comparison.b.name) + (n === 0 ? ' (none in this cell)' : '');
      if (listed && n > 0) {
        img.hidden = false;
        img.style.width = (n * patchPx * 2) + 'px';
        img.style.maxWidth = '100%';
        img.src = listed['patches_' + side];
      } else {
        img.hidden = true;
        img.removeAttribute('src');
      }
    }
    $('panel-patches-a-title').hidden = $('panel-patches-b-title').hidden = !listed;
  }
  function closePanel() { panel.hidden = true; selected = null; scheduleDraw(); }

  // ---- view changes ----
  function clampView() {
    view.zoom = Math.min(maxZoom, Math.max(minZoom, view.zoom));
    view.cx = Math.min(1, Math.max(0, view.cx));
    view.cy = Math.min(1, Math.max(0, view.cy));
  }
  function viewChanged() { clampView(); scheduleDraw(); if (mouse) updateHover(); }

  // Zoom by `factor`, keeping the world point under canvas position (px, py) in place.
  function zoomAt(factor, px, py) {
    if (px === undefined) { px = view.width / 2; py = view.height / 2; }
    const before = screenOrigin();
    const wx = (px - before.x) / before.s, wy = (py - before.y) / before.s;
    view.zoom = Math.min(maxZoom, Math.max(minZoom, view.zoom * factor));
    const s = scale();
    view.cx = wx - (px - view.width / 2) / s;
    view.cy = wy - (py - view.height / 2) / s;
    viewChanged();
  }
  function fit() { view.zoom = 1; view.cx = 0.5; view.cy = 0.5; viewChanged(); }

  function resize() {
    const rect = canvas.getBoundingClientRect();
    view.width = Math.max(1, rect.width);
    view.height = Math.max(1, rect.height);
    view.dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(view.width * view.dpr);
    canvas.height = Math.round(view.height * view.dpr);
    draw();
  }

  // ---- input ----
  let dragging = false, dragMoved = false, dragStart = null;
  function canvasPoint(e) {
    const rect = canvas.getBoundingClientRect();
    return { x: e.clientX - rect.left, y: e.clientY - rect.top };
  }

  canvas.addEventListener('wheel', (e) => {
    e.preventDefault();
    const p = canvasPoint(e);
    const unit = e.deltaMode === 1 ? 0.05 : e.deltaMode === 2 ? 1 : 0.0015;
    zoomAt(Math.exp(-e.deltaY * unit), p.x, p.y);
  }, { passive: false });

  canvas.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    canvas.setPointerCapture(e.pointerId);
    dragging = true;
    dragMoved = false;
    dragStart = { p: canvasPoint(e), cx: view.cx, cy: view.cy };
  });
  canvas.addEventListener('pointermove', (e) => {
    mouse = canvasPoint(e);
    if (dragging) {
      const dx = mouse.x - dragStart.p.x, dy = mouse.y - dragStart.p.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) dragMoved = true;
      if (dragMoved) {
        canvas.classList.add('dragging');
        tooltip.hidden = true;
        view.cx = dragStart.cx - dx / scale();
        view.cy = dragStart.cy - dy / scale();
        clampView();
        scheduleDraw();
        return;
      }
    }
    updateHover();
  });
  canvas.addEventListener('pointerup', (e) => {
    if (!dragging) return;
    dragging = false;
    canvas.classList.remove('dragging');
    mouse = canvasPoint(e);
    if (!dragMoved) {
      const hit = cellAt(mouse.x, mouse.y);
      if (hit) openPanel(hit.level, hit.cell);
    }
    updateHover();
  });
  canvas.addEventListener('pointercancel', () => { dragging = false; canvas.classList.remove('dragging'); });
  canvas.addEventListener('pointerleave', () => {
    if (dragging) return;
    mouse = null;
    hovered = null;
    tooltip.hidden = true;
    scheduleDraw();
  });

  $('zoom-in').addEventListener('click', () => zoomAt(2));
  $('zoom-out').addEventListener('click', () => zoomAt(0.5));
  $('zoom-fit').addEventListener('click', fit);
  $('panel-close').addEventListener('click', closePanel);

  document.addEventListener('keydown', (e) => {
    if (e.target instanceof HTMLSelectElement || e.target instanceof HTMLInputElement) return;
    const step = 80 / scale();
    switch (e.key) {
      case '+': case '=': zoomAt(2); break;
      case '-': case '_': zoomAt(0.5); break;
      case '0': fit(); break;
      case 'ArrowLeft': view.cx -= step; viewChanged(); break;
      case 'ArrowRight': view.cx += step; viewChanged(); break;
      case 'ArrowUp': view.cy -= step; viewChanged(); break;
      case 'ArrowDown': view.cy += step; viewChanged(); break;
      case 'Escape': closePanel(); break;
      default: return;
    }
    e.preventDefault();
  });

  // ---- controls ----
  document.title = (data.title ? data.title + DOT : '') + 'activation atlas';
  $('title').textContent = data.title || 'Activation atlas';

  const picker = $('class-picker');
  if (hasAttribution && classes.length) {
    // Alphabetical, so a name is easy to find among ImageNet's 1000.
    const order = classes.map((name, c) => [String(name), c]).sort((a, b) => a[0].localeCompare(b[0]));
    const fragment = document.createDocumentFragment();
    for (const [name, c] of order) {
      const option = document.createElement('option');
      option.value = String(c);
      option.textContent = name;
      fragment.appendChild(option);
    }
    picker.appendChild(fragment);
  } else {
    picker.disabled = true;
    picker.title = 'This atlas was rendered without attributions';
  }
  picker.addEventListener('change', () => { applyClass(Number(picker.value)); viewChanged(); });
  $('sizing').addEventListener('change', (e) => { settings.sizing = e.target.value; viewChanged(); });
  $('labels').addEventListener('change', (e) => { settings.labels = e.target.checked; viewChanged(); });

  new ResizeObserver(resize).observe(canvas);
  resize();

  // ---- dataset comparison list: the cells most over-represented each way, clickable ----
  if (comparison) {
    $('compare').hidden = false;
    $('stage').classList.add('with-compare');
    $('compare-legend').textContent = 'A (orange): ' + comparison.a.name + ', ' + comparison.a.samples + ' samples' + DOT +
      'B (purple): ' + comparison.b.name + ', ' + comparison.b.samples + ' samples' + DOT +
      'strong colour: q < ' + comparison.alpha + ' (exact binomial test, Benjamini-Hochberg)';
    $('compare-a-title').textContent = 'More of A: ' + comparison.a.name;
    $('compare-b-title').textContent = 'More of B: ' + comparison.b.name;
    for (const side of ['a', 'b']) {
      const list = $('compare-' + side);
      (comparison['top_' + side] || []).forEach((e, k) => {
        const li = document.createElement('li');
        const names = (e.top || []).map((t) => shortName(t.name)).join(', ');
        li.innerHTML = '<b>' + side.toUpperCase() + (k + 1) + '</b> ' + esc(names || 'cell (' + e.ix + ', ' + e.iy + ')') +
          ' <span' + (e.significant ? '' : ' class="ns"') + '>' + e.counts[0] + '/' + e.counts[1] + DOT + 'log2 ' +
          e.log2_ratio.toFixed(2) + DOT + 'q ' + fmt(e.q) + (e.significant ? '' : ' n.s.') + '</span>';
        li.dataset.ix = e.ix;
        li.dataset.iy = e.iy;
        li.addEventListener('click', () => selectListed(e));
        list.appendChild(li);
      });
    }
  }
  // Shows a listed cell: the whole atlas at its level, the cell selected, its panel open.
  function selectListed(e) {
    const lv = levels.find((l) => l.grid === e.grid) || levels[0];
    const i = lv.index[e.iy * lv.grid + e.ix];
    if (i < 0) return;
    view.zoom = lv.grid / coarsest;
    view.cx = (e.ix + 0.5) / lv.grid;
    view.cy = (e.iy + 0.5) / lv.grid;
    viewChanged();
    openPanel(lv, lv.cells[i]);
  }

  // ---- test hook: state the browser test (tests/browser/viewer_test.mjs) asserts ----
  function describe(target) {
    return target ? { grid: target.level.grid, ix: target.cell.ix, iy: target.cell.iy, label: cellLabel(target.cell) } : null;
  }
  function snapshot() {
    return Object.assign({ grid: currentLevel().grid, zoom: view.zoom, cacheSize: iconCache.size }, stats);
  }
  function levelOf(grid) {
    return grid === undefined ? currentLevel() : levels.find((lv) => lv.grid === grid);
  }

  window.actatlasViewer = {
    get level() { return currentLevel().grid; },          // the level drawn
    get targetLevel() { return levels[levelIndexFor(view.zoom)].grid; },  // the level the zoom asks for
    get levels() { return levels.map((lv) => lv.grid); },
    get zoom() { return view.zoom; },
    get center() { return { x: view.cx, y: view.cy }; },
    get hovered() { return describe(hovered); },
    get selected() { return describe(selected); },
    get pickedClass() { return settings.pickedClass; },
    get sizing() { return settings.sizing; },
    get stats() { return snapshot(); },
    levelForZoom: (zoom) => levels[levelIndexFor(zoom)].grid,
    // Opacity of one cell (null where the level has no such cell).
    opacity(ix, iy, grid) {
      const lv = levelOf(grid);
      const i = lv ? lv.index[iy * lv.grid + ix] : -1;
      return i >= 0 ? lv.opacity[i] : null;
    },
    opacities(grid) {
      const lv = levelOf(grid);
      return lv ? lv.cells.map((c, i) => ({ ix: c.ix, iy: c.iy, opacity: lv.opacity[i] })) : [];
    },
    // Page coordinates of a cell's centre at the current view (null when off screen).
    cellCenter(ix, iy) {
      const lv = currentLevel();
      const o = screenOrigin();
      const cellPx = o.s / lv.grid;
      const x = o.x + (ix + 0.5) * cellPx, y = o.y + (iy + 0.5) * cellPx;
      if (x < 0 || y < 0 || x >= view.width || y >= view.height) return null;
      const rect = canvas.getBoundingClientRect();
      return { x: rect.left + x, y: rect.top + y, cellPx };
    },
    zoomBy(factor) { zoomAt(factor); },
    zoomTo(zoom, cx, cy) { view.zoom = zoom; if (cx !== undefined) { view.cx = cx; view.cy = cy; } viewChanged(); },
    fit,
    setClass(c) { picker.value = String(c); applyClass(c); viewChanged(); },
    setSizing(mode) { $('sizing').value = mode; settings.sizing = mode; viewChanged(); },
    // Resolves after a frame in which every visible icon was drawn.
    whenSettled() {
      return new Promise((resolve) => { settleWaiters.push(resolve); scheduleDraw(); });
    },
    // The comparison's listed cells (null without a comparison) and a click on one.
    get comparison() {
      return comparison ? { a: (comparison.top_a || []).length, b: (comparison.top_b || []).length } : null;
    },
    selectListed(side, k) { selectListed(comparison['top_' + side][k]); },
    // Draws now and returns the draw's duration in ms (for timing without frame pacing).
    drawNow() { draw(); return stats.lastDrawMs; },
  };
})();
