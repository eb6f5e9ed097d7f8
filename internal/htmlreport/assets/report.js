// layerlint's HTML report. Every string drawn here came from an image that
// anyone may have built: it is written with textContent and createElement
// only, never parsed as HTML.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var app = document.getElementById('app');
  var tip = document.getElementById('tip');
  var uid = 0;

  // el builds an element: props sets known properties (text, className,
  // attributes through setAttribute), kids are elements or strings.
  function el(tag, props, kids) {
    var e = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'text') e.textContent = String(v);
        else if (k === 'className') e.className = v;
        else if (k === 'data') Object.keys(v).forEach(function (d) { e.dataset[d] = String(v[d]); });
        else e.setAttribute(k, v === true ? '' : String(v));
      });
    }
    (kids || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return e;
  }

  // bytes formats as analyze's text output does: decimal units, one decimal.
  function bytes(n) {
    if (n < 1000 && n > -1000) return n + ' B';
    var u = ['kB', 'MB', 'GB', 'TB', 'PB'], f = n;
    for (var i = 0; i < u.length; i++) {
      f /= 1000;
      if (f < 1000 && f > -1000) return f.toFixed(1) + ' ' + u[i];
    }
    return f.toFixed(1) + ' EB';
  }
  function pct(f) { return (f * 100).toFixed(1) + '%'; }
  function plural(n, one, many) { return n === 1 ? '1 ' + one : n + ' ' + many; }

  // Layers are coloured by hue, spread by the golden angle so neighbours
  // differ; saturation and lightness come from the colour scheme.
  function layerColor(i) {
    if (i < 0) return 'var(--hide)';
    var h = Math.round((i * 137.508 + 200) % 360);
    return 'hsl(' + h + 'deg var(--cell-s) var(--cell-l))';
  }

  // The tooltip follows the pointer or sits under the focused element.
  var tipByMouse = false;
  function showTip(target, lines, ev) {
    tipByMouse = !!ev;
    tip.replaceChildren();
    lines.forEach(function (l) { if (l) tip.appendChild(l); });
    tip.hidden = false;
    var r = target.getBoundingClientRect();
    var x = ev && ev.clientX !== undefined ? ev.clientX + 14 : r.left;
    var y = ev && ev.clientY !== undefined ? ev.clientY + 16 : r.bottom + 6;
    var tw = tip.offsetWidth, th = tip.offsetHeight;
    if (x + tw > window.innerWidth - 8) x = Math.max(8, window.innerWidth - tw - 8);
    if (y + th > window.innerHeight - 8) y = Math.max(8, (ev && ev.clientY !== undefined ? ev.clientY : r.top) - th - 10);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }
  function hideTip() { tip.hidden = true; }
  function bindTip(e, lines) {
    // The innermost cell under the pointer speaks, not its parents.
    e.addEventListener('mousemove', function (ev) { ev.stopPropagation(); showTip(e, lines(), ev); });
    e.addEventListener('mouseleave', hideTip);
    e.addEventListener('focus', function () { showTip(e, lines()); });
    e.addEventListener('blur', hideTip);
  }
  document.addEventListener('keydown', function (ev) { if (ev.key === 'Escape') hideTip(); });
  // Scrolling moves the page under a tooltip that follows the pointer; a
  // tooltip of the focused element stays (focusing scrolls it into view).
  window.addEventListener('scroll', function () { if (tipByMouse) hideTip(); }, { passive: true });

  function card(label, value, cls) {
    return el('div', { className: 'card' + (cls ? ' ' + cls : '') }, [el('b', { text: value }), el('span', { text: label })]);
  }

  // ---- header and summary ----
  function header(img) {
    var s = img.summary;
    var title = img.title + (img.name && img.title.indexOf(img.name) < 0 ? ' (' + img.name + ')' : '');
    var base = 'base: ' + plural(img.base.layers, 'layer', 'layers') + ' (' + img.base.source + (img.base.name ? ', ' + img.base.name : '') + ')';
    var out = [
      el('h1', { text: title }),
      el('div', { className: 'meta mono', text: img.manifest + (img.platform ? '  ·  ' + img.platform : '') + '  ·  ' + img.format }),
      el('div', { className: 'meta', text: base })
    ];
    var cards = [
      card('download size', bytes(s.compressedSize)),
      card('content in ' + plural(s.layers, 'layer', 'layers'), bytes(s.contentBytes)),
      card('merged view, ' + plural(s.mergedFiles, 'file', 'files'), bytes(s.mergedBytes)),
      card('wasted (' + pct(s.contentBytes ? s.wastedBytes / s.contentBytes : 0) + ')', bytes(s.wastedBytes)),
      card('wasted download (estimate)', bytes(s.wastedWireBytesExact !== undefined ? s.wastedWireBytesExact : s.wastedWireBytes)),
      card('efficiency', pct(s.efficiency))
    ];
    if (img.lint) {
      var v = img.lint.verdict;
      cards.unshift(card('verdict (--fail-on ' + img.lint.failOn + ')', v, v === 'FAIL' ? 'fail' : 'pass'));
    }
    out.push(el('div', { className: 'cards', id: 'summary-' + img._n }, cards));
    return out;
  }

  // ---- layer chart ----
  var causes = [['overwritten', 'seg-ow'], ['deleted', 'seg-del'], ['opaque', 'seg-opq'], ['replaced', 'seg-rep']];

  function chartScale(imgs) {
    var sc = { scale: 1, wscale: 1 };
    imgs.forEach(function (img) {
      img.layers.forEach(function (l) {
        sc.scale = Math.max(sc.scale, l.content + l.hides);
        sc.wscale = Math.max(sc.wscale, l.compressed);
      });
    });
    return sc;
  }

  // layerChart draws one bar per layer. opts: scale and wscale (shared by
  // the two sides of a diff), mark(layer) -> a badge or null, id.
  function layerChart(img, opts) {
    opts = opts || {};
    var sc = opts.scale ? opts : chartScale([img]);
    var scale = sc.scale, wscale = sc.wscale;
    var legend = el('div', { className: 'legend' }, [
      el('span', null, [el('i', { className: 'sw-keep' }), 'survives (colour of the layer)']),
      el('span', null, [el('i', { className: 'sw-ow' }), 'overwritten']),
      el('span', null, [el('i', { className: 'sw-del' }), 'deleted']),
      el('span', null, [el('i', { className: 'sw-opq' }), 'opaque']),
      el('span', null, [el('i', { className: 'sw-rep' }), 'replaced']),
      el('span', null, [el('i', { className: 'sw-hide' }), 'hides in lower layers']),
      el('span', null, ['right: compressed size (download)'])
    ]);
    var chart = el('div', { className: 'chart', role: 'list', 'aria-label': 'layers, bottom first' });
    img.layers.forEach(function (l) {
      var mark = opts.mark ? opts.mark(l) : null;
      var lab = el('div', { className: 'lab' }, [String(l.index), l.base ? el('span', { className: 'badge', text: 'base' }) : null,
        mark ? el('span', { className: 'badge mark-' + mark, text: mark }) : null]);
      var survive = Math.max(0, l.content - l.wastedTotal);
      var desc = 'layer ' + l.index + (l.base ? ' (base)' : '') + ': ' + bytes(l.content) + ' content, ' + bytes(survive) + ' survive, ' +
        bytes(l.wastedTotal) + ' wasted, hides ' + bytes(l.hides) + ', ' + bytes(l.compressed) + ' compressed';
      var track = el('div', {
        className: 'track', tabindex: 0, role: 'listitem', 'aria-label': desc,
        data: { layer: l.index, content: l.content, surviving: survive, wasted: l.wastedTotal, hides: l.hides, compressed: l.compressed, base: l.base ? 1 : 0 }
      });
      function seg(n, cls, color) {
        if (n <= 0) return;
        var s = el('div', { className: 'seg ' + cls, data: { bytes: n } });
        s.style.width = (100 * n / scale) + '%';
        if (color) s.style.background = color;
        track.appendChild(s);
      }
      if (l.analyzed) {
        seg(survive, 'seg-keep', layerColor(l.index));
        causes.forEach(function (c) { seg(l.wasted[c[0]], c[1]); });
        seg(l.hides, 'seg-hide');
      }
      var wbar = el('i');
      wbar.style.width = Math.max(1, Math.round(90 * l.compressed / wscale)) + 'px';
      var wire = el('div', { className: 'wire' }, [wbar, bytes(l.compressed) + (l.compression && l.compression !== 'none' ? ' ' + l.compression : '')]);
      var cap = el('div', { className: 'cap', text: l.createdBy || '(no history entry)' });
      var mid = el('div', { className: 'barcell' }, [l.analyzed ? track : el('div', { className: 'na', text: 'not analyzed: ' + l.notAnalyzed }), cap]);
      var row = el('div', { className: 'lrow' }, [lab, mid, wire]);
      bindTip(track, function () {
        var lines = [el('div', { className: 't', text: 'Layer ' + l.index + (l.base ? ' (base image)' : '') })];
        lines.push(el('div', { className: 'cb', text: l.createdBy || '(no history entry)' }));
        lines.push(el('div', { className: 'd mono', text: l.digest }));
        var w = causes.filter(function (c) { return l.wasted[c[0]] > 0; }).map(function (c) { return c[0] + ' ' + bytes(l.wasted[c[0]]); });
        lines.push(el('div', { text: 'content ' + bytes(l.content) + ', survives ' + bytes(survive) }));
        lines.push(el('div', { text: 'wasted ' + bytes(l.wastedTotal) + (w.length ? ' (' + w.join(', ') + ')' : '') }));
        lines.push(el('div', { text: 'hides ' + bytes(l.hides) + ' of lower layers' }));
        lines.push(el('div', { text: 'compressed ' + bytes(l.compressed) + (l.compression ? ' (' + l.compression + ')' : '') }));
        lines.push(el('div', { className: 'd', text: '+' + l.added + ' added  ~' + l.modified + ' modified  -' + l.deleted + ' deleted' }));
        return lines;
      });
      chart.appendChild(row);
    });
    var out = [el('div', { id: 'layers-' + (opts.id || img._n) }, [chart])];
    if (!opts.bare) out.unshift(el('h2', { text: 'Layers' }), legend);
    return out;
  }

  // ---- filesystem map ----

  // squarify lays values out in the rectangle with the aspect ratios of
  // the cells as close to square as it can (Bruls, Huizing, van Wijk).
  function squarify(values, x, y, w, h) {
    var rects = values.map(function () { return null; });
    var total = values.reduce(function (a, b) { return a + b; }, 0);
    if (total <= 0 || w <= 0 || h <= 0) return rects;
    var areas = values.map(function (v) { return v * w * h / total; });
    function worst(sum, mn, mx, side) {
      var s2 = sum * sum, w2 = side * side;
      return Math.max(w2 * mx / s2, s2 / (w2 * mn));
    }
    var i = 0;
    while (i < areas.length && areas[i] > 0) {
      var side = Math.min(w, h);
      var sum = areas[i], mn = areas[i], mx = areas[i], j = i + 1;
      var cur = worst(sum, mn, mx, side);
      while (j < areas.length && areas[j] > 0) {
        var n2 = Math.min(mn, areas[j]), x2 = Math.max(mx, areas[j]);
        var next = worst(sum + areas[j], n2, x2, side);
        if (next > cur) break;
        sum += areas[j]; mn = n2; mx = x2; cur = next; j++;
      }
      var thick = sum / side, k, pos;
      if (w >= h) {
        pos = y;
        for (k = i; k < j; k++) { rects[k] = { x: x, y: pos, w: thick, h: areas[k] / thick }; pos += areas[k] / thick; }
        x += thick; w -= thick;
      } else {
        pos = x;
        for (k = i; k < j; k++) { rects[k] = { x: pos, y: y, w: areas[k] / thick, h: thick }; pos += areas[k] / thick; }
        y += thick; h -= thick;
      }
      i = j;
    }
    return rects;
  }

  function fsMap(img) {
    var nodes = img.tree;
    var section = [el('h2', { text: 'Merged filesystem' })];
    if (!nodes || !nodes.length) {
      section.push(el('div', { className: 'empty', text: 'No map for this report.' }));
      return section;
    }
    var kids = nodes.map(function () { return []; });
    nodes.forEach(function (n, i) { if (n.p >= 0) kids[n.p].push(i); });
    function value(i) { return nodes[i].s + nodes[i].w; }
    function pathOf(i) {
      var parts = [];
      for (var j = i; j > 0; j = nodes[j].p) parts.unshift(nodes[j].n);
      return '/' + parts.join('/') + (nodes[i].k === 'd' && i > 0 ? '/' : '');
    }
    function zoomable(i) { return nodes[i].k === 'd' && kids[i].length > 0; }

    var legendItems = [];
    var seen = {};
    nodes.forEach(function (n) { if (n.l >= 0) seen[n.l] = true; });
    img.layers.forEach(function (l) {
      if (!seen[l.index]) return;
      var sw = el('i');
      sw.style.background = layerColor(l.index);
      legendItems.push(el('span', null, [sw, 'layer ' + l.index + (l.base ? ' (base)' : '')]));
    });
    legendItems.push(el('span', null, [el('i', { className: 'sw-del' }), 'hatched: wasted bytes shipped there']));
    legendItems.push(el('span', null, ['size: bytes shown plus bytes wasted; click or Enter zooms, Backspace goes up, arrows move']));
    var crumbs = el('nav', { className: 'crumbs', 'aria-label': 'directory' });
    var map = el('div', { className: 'map', id: 'map-' + img._n, role: 'group', 'aria-label': 'map of the merged filesystem' });
    var current = 0;

    function tipLines(i) {
      var n = nodes[i];
      var lines = [el('div', { className: 't', text: n.k === 'o' ? n.n + ' under ' + pathOf(n.p) : n.k === 'h' ? 'hidden versions in ' + pathOf(n.p) : pathOf(i) })];
      lines.push(el('div', { text: bytes(n.s) + ' shown' + (n.k !== 'f' ? ' in ' + plural(n.f, 'file', 'files') : '') }));
      if (n.w > 0) lines.push(el('div', { text: bytes(n.w) + ' wasted (shipped by layers, hidden from the merged view)' }));
      if (n.l >= 0) {
        var l = img.layers[n.l];
        lines.push(el('div', { text: 'mostly from layer ' + n.l + (l && l.base ? ' (base)' : '') }));
        if (l && l.createdBy) lines.push(el('div', { className: 'cb', text: l.createdBy }));
      }
      if (n.x) lines.push(el('div', { className: 'd', text: 'too many entries to draw: its contents are folded' }));
      return lines;
    }

    function cell(i, r, sub) {
      var n = nodes[i];
      var c = el('div', { className: 'cell k-' + n.k + (sub ? ' sub' : '') + (zoomable(i) ? ' zoom' : ''), data: { node: i, path: pathOf(i) } });
      c.style.left = r.x + 'px'; c.style.top = r.y + 'px';
      c.style.width = Math.max(0, r.w) + 'px'; c.style.height = Math.max(0, r.h) + 'px';
      if (n.k === 'd' || n.k === 'f') c.style.background = layerColor(n.l);
      if (n.w > 0 && n.k !== 'h') {
        var band = el('div', { className: 'waste' });
        band.style.height = (100 * n.w / (n.s + n.w)) + '%';
        c.appendChild(band);
      }
      if (r.w > 34 && r.h > 15) {
        c.appendChild(el('div', { className: 'nm' }, [n.k === 'd' ? n.n + '/' : n.n, r.w > 110 ? el('small', { text: bytes(n.s) + (n.w ? ' +' + bytes(n.w) + ' wasted' : '') }) : null]));
      }
      return c;
    }

    // nest draws the children of node k inside its cell, and theirs, down
    // to depth levels while they have room; a click on a drawn directory
    // zooms to it.
    function nest(c, k, r, depth) {
      if (depth <= 0 || !zoomable(k) || r.w < 60 || r.h < 44) return;
      var inner = kids[k].filter(function (g) { return value(g) > 0; });
      var pad = 3, top = 18;
      var sr = squarify(inner.map(value), pad, top, r.w - 2 * pad - 2, r.h - top - pad - 2);
      inner.forEach(function (g, gi) {
        var q = sr[gi];
        if (!q || q.w < 3 || q.h < 3) return;
        var sc = cell(g, q, true);
        sc.addEventListener('click', function (ev) { ev.stopPropagation(); zoomTo(zoomable(g) ? g : k); });
        bindTip(sc, function () { return tipLines(g); });
        nest(sc, g, { x: 0, y: 0, w: q.w, h: q.h }, depth - 1);
        c.appendChild(sc);
      });
    }

    function draw(focusFirst) {
      hideTip();
      map.replaceChildren();
      var W = map.clientWidth, H = map.clientHeight;
      var ks = kids[current].filter(function (k) { return value(k) > 0; });
      var rects = squarify(ks.map(value), 0, 0, W, H);
      var first = null;
      ks.forEach(function (k, idx) {
        var r = rects[idx];
        if (!r || r.w < 1 || r.h < 1) return;
        var c = cell(k, r, false);
        c.tabIndex = 0;
        if (zoomable(k)) c.setAttribute('role', 'button');
        c.setAttribute('aria-label', pathOf(k) + ', ' + bytes(nodes[k].s) + (nodes[k].w ? ', ' + bytes(nodes[k].w) + ' wasted' : ''));
        nest(c, k, r, 2);
        c.addEventListener('click', function () { if (zoomable(k)) zoomTo(k); });
        c.addEventListener('keydown', function (ev) {
          if ((ev.key === 'Enter' || ev.key === ' ') && zoomable(k)) { ev.preventDefault(); zoomTo(k, true); }
        });
        bindTip(c, function () { return tipLines(k); });
        map.appendChild(c);
        if (!first) first = c;
      });
      if (!ks.length) map.appendChild(el('div', { className: 'empty', text: 'Nothing here to draw.' }));
      drawCrumbs();
      if (focusFirst && first) first.focus();
    }

    function drawCrumbs() {
      crumbs.replaceChildren();
      var chain = [];
      for (var j = current; j >= 0; j = nodes[j].p) { chain.unshift(j); if (j === 0) break; }
      chain.forEach(function (j, idx) {
        if (idx > 0) crumbs.appendChild(el('span', { className: 'sep', text: '/', 'aria-hidden': 'true' }));
        var b = el('button', { type: 'button', text: j === 0 ? '/ (root)' : nodes[j].n, 'aria-current': j === current ? 'location' : null });
        b.addEventListener('click', function () { if (j !== current) zoomTo(j, true); });
        crumbs.appendChild(b);
      });
      var n = nodes[current];
      crumbs.appendChild(el('span', { className: 'meta', text: '  ' + bytes(n.s) + ' shown, ' + bytes(n.w) + ' wasted, ' + plural(n.f, 'file', 'files') }));
    }

    function zoomTo(i, focus) { current = i; map.dataset.current = pathOf(i); draw(focus); }

    map.addEventListener('keydown', function (ev) {
      if ((ev.key === 'Backspace' || ev.key === 'Escape') && current !== 0) { ev.preventDefault(); zoomTo(nodes[current].p, true); return; }
      // Arrows move between the cells of this level, largest first.
      var cells = [].slice.call(map.children).filter(function (c) { return c.tabIndex === 0; });
      var at = cells.indexOf(document.activeElement), to = -1;
      if (at < 0) return;
      if (ev.key === 'ArrowRight' || ev.key === 'ArrowDown') to = Math.min(cells.length - 1, at + 1);
      else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowUp') to = Math.max(0, at - 1);
      else if (ev.key === 'Home') to = 0;
      else if (ev.key === 'End') to = cells.length - 1;
      if (to >= 0) { ev.preventDefault(); cells[to].focus(); }
    });
    var pending = 0;
    window.addEventListener('resize', function () {
      clearTimeout(pending);
      pending = setTimeout(function () { draw(false); }, 120);
    });
    section.push(el('div', { className: 'legend' }, legendItems), crumbs, map);
    // Drawn once the map is in the document and has a size.
    section.draw = function () { zoomTo(0, false); };
    return section;
  }

  // ---- sortable, filterable tables ----

  // table draws rows with columns {key, label, num, cell(row) -> node or
  // string, sort(row) -> value}, filters {key, label, kind: 'select' or
  // 'text', value(row)} and optional groups {of(row), order, label(name,
  // rows)}: rows stay grouped as in the text output while sorted inside.
  function table(spec) {
    var id = 't' + (++uid);
    var state = { sort: null, dir: 1, filters: {} };
    var filterBar = el('div', { className: 'filters', role: 'search' });
    var count = el('div', { className: 'count', 'aria-live': 'polite' });
    spec.filters.forEach(function (f) {
      var ctl;
      if (f.kind === 'select') {
        var vals = [];
        spec.rows.forEach(function (r) { var v = String(f.value(r)); if (vals.indexOf(v) < 0) vals.push(v); });
        vals.sort(function (a, b) { var na = Number(a), nb = Number(b); return isNaN(na) || isNaN(nb) ? (a < b ? -1 : a > b ? 1 : 0) : na - nb; });
        ctl = el('select', { id: id + '-' + f.key, data: { filter: f.key } }, [el('option', { value: '', text: 'all' })]);
        vals.forEach(function (v) { ctl.appendChild(el('option', { value: v, text: f.show ? f.show(v) : v })); });
        ctl.addEventListener('change', function () { state.filters[f.key] = ctl.value; draw(); });
      } else {
        ctl = el('input', { id: id + '-' + f.key, type: 'search', placeholder: 'contains…', data: { filter: f.key } });
        ctl.addEventListener('input', function () { state.filters[f.key] = ctl.value.toLowerCase(); draw(); });
      }
      filterBar.appendChild(el('label', { 'for': id + '-' + f.key }, [f.label, ctl]));
    });
    filterBar.appendChild(count);
    var thead = el('thead');
    var hr = el('tr');
    var ths = spec.columns.map(function (c, ci) {
      var b = el('button', { type: 'button', text: c.label });
      var th = el('th', { className: c.num ? 'num' : '', scope: 'col' }, [b]);
      b.addEventListener('click', function () {
        if (state.sort === ci) state.dir = -state.dir; else { state.sort = ci; state.dir = c.num ? -1 : 1; }
        draw();
      });
      hr.appendChild(th);
      return th;
    });
    thead.appendChild(hr);
    var tbody = el('tbody');
    var tbl = el('table', { id: id, data: { table: spec.name } }, [thead, tbody]);

    function keep(r) {
      return spec.filters.every(function (f) {
        var want = state.filters[f.key];
        if (!want) return true;
        var v = String(f.value(r));
        return f.kind === 'select' ? v === want : v.toLowerCase().indexOf(want) >= 0;
      });
    }
    function cmp(a, b) {
      if (state.sort === null) return a._i - b._i;
      var c = spec.columns[state.sort], x = c.sort(a), y = c.sort(b);
      var d = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return d * state.dir || a._i - b._i;
    }
    function draw() {
      ths.forEach(function (th, ci) {
        if (state.sort === ci) th.setAttribute('aria-sort', state.dir > 0 ? 'ascending' : 'descending');
        else th.removeAttribute('aria-sort');
      });
      var rows = spec.rows.filter(keep).sort(cmp);
      tbody.replaceChildren();
      var groups = spec.groups ? spec.groups.order : [null];
      groups.forEach(function (g) {
        var gr = g === null ? rows : rows.filter(function (r) { return spec.groups.of(r) === g; });
        if (!gr.length) return;
        if (g !== null) {
          tbody.appendChild(el('tr', { className: 'group' }, [el('th', { colspan: spec.columns.length, scope: 'rowgroup', className: 'sev-' + g, text: spec.groups.label(g, gr) })]));
        }
        gr.forEach(function (r) {
          var tr = el('tr', { className: 'row' });
          // A row may have details (the findings of a group), shown by a
          // toggle that a cell draws with ctx.toggle.
          var ctx = {};
          var detail = null;
          if (spec.details) {
            var body = spec.details(r);
            if (body) {
              detail = el('tr', { className: 'detail', hidden: true }, [el('td', { colspan: spec.columns.length }, [body])]);
              ctx.toggle = function (label) {
                var b = el('button', { type: 'button', className: 'toggle', 'aria-expanded': 'false', text: label + ' ▸' });
                b.addEventListener('click', function () {
                  detail.hidden = !detail.hidden;
                  b.setAttribute('aria-expanded', String(!detail.hidden));
                  b.textContent = label + (detail.hidden ? ' ▸' : ' ▾');
                });
                return b;
              };
            }
          }
          spec.columns.forEach(function (c) {
            var v = c.cell(r, ctx);
            tr.appendChild(el('td', { className: (c.num ? 'num ' : '') + (c.cls || '') }, [v]));
          });
          tbody.appendChild(tr);
          if (detail) tbody.appendChild(detail);
        });
      });
      count.textContent = rows.length + ' of ' + spec.rows.length + ' shown';
    }
    spec.rows.forEach(function (r, i) { r._i = i; });
    draw();
    return spec.filters.length ? [filterBar, el('div', { className: 'scroll' }, [tbl])] : [el('div', { className: 'scroll' }, [tbl])];
  }

  // groupsTable draws the findings as the text output does: one row per
  // problem, largest saving first, the base image's apart; each row opens
  // onto its findings.
  function groupsTable(img) {
    var ld = img.lint, out = [];
    var byRule = {}, order = [];
    ld.groups.forEach(function (g) {
      var r = byRule[g.rule];
      if (!r) { r = byRule[g.rule] = { rule: g.rule, name: g.name, findings: 0, groups: 0, saves: 0, inherited: 0 }; order.push(r); }
      r.findings += g.findings; r.groups++; r.saves += g.saves;
      if (g.inherited) r.inherited += g.findings;
    });
    order.sort(function (a, b) { return b.saves - a.saves || (a.rule < b.rule ? -1 : 1); });
    out.push(el('h3', { text: 'Summary by rule' }));
    out = out.concat(table({
      name: 'rules', rows: order, filters: [],
      columns: [
        { label: 'Rule', cell: function (r) { return r.rule; }, sort: function (r) { return r.rule; } },
        { label: 'Name', cell: function (r) { return r.name; }, sort: function (r) { return r.name; } },
        { label: 'Findings', num: true, cell: function (r) { return String(r.findings); }, sort: function (r) { return r.findings; } },
        { label: 'Groups', num: true, cell: function (r) { return String(r.groups); }, sort: function (r) { return r.groups; } },
        { label: 'Saves', num: true, cell: function (r) { return r.saves ? bytes(r.saves) : ''; }, sort: function (r) { return r.saves; } },
        { label: 'Inherited', num: true, cell: function (r) { return String(r.inherited); }, sort: function (r) { return r.inherited; } }
      ]
    }));
    out.push(el('h3', { text: 'Findings, one per problem' }));
    function state(g) { return g.failing ? 'FAIL' : g.accepted ? 'accepted' : ''; }
    out = out.concat(table({
      name: 'findings',
      rows: ld.groups,
      columns: [
        { label: 'Severity', cell: function (g) { return el('span', { className: 'sev-' + g.severity, text: g.severity }); }, sort: function (g) { return g.severity; } },
        { label: 'Rule', cell: function (g) { return el('span', { title: g.name, text: g.rule }); }, sort: function (g) { return g.rule; } },
        { label: 'Layer', num: true, cell: function (g) { return g.layer < 0 ? 'image' : String(g.layer); }, sort: function (g) { return g.layer; } },
        { label: 'Bytes', num: true, cell: function (g) { return g.bytes ? bytes(g.bytes) : ''; }, sort: function (g) { return g.bytes; } },
        {
          label: 'Path and finding', cls: 'finding', sort: function (g) { return g.path; },
          cell: function (g, ctx) {
            var from = g.createdBy + (g.location ? ' (' + g.location + ')' : '');
            return el('div', null, [
              g.path ? el('div', { className: 'mono path', text: g.path }) : null,
              el('div', { className: 'sub', text: g.message }),
              g.largest && g.largest.length > 1 ? el('div', { className: 'sub', text: 'largest: ' + g.largest.join(', ') }) : null,
              g.fix ? el('div', { className: 'sub', text: 'fix: ' + g.fix }) : null,
              from.trim() ? el('div', { className: 'sub', text: 'from: ' + from.trim() }) : null,
              ctx.toggle ? ctx.toggle(plural(g.findings, 'finding', 'findings')) : null
            ]);
          }
        },
        { label: 'State', cell: function (g) { return el('span', { className: 'state-' + state(g), text: state(g) }); }, sort: state }
      ],
      filters: [
        { key: 'rule', label: 'Rule', kind: 'select', value: function (g) { return g.rule; } },
        { key: 'severity', label: 'Severity', kind: 'select', value: function (g) { return g.severity; } },
        { key: 'layer', label: 'Layer', kind: 'select', value: function (g) { return g.layer; }, show: function (v) { return v === '-1' ? 'image' : v; } },
        {
          key: 'path', label: 'Path', kind: 'text',
          value: function (g) { return [g.path].concat(g.members.map(function (m) { return ld.findings[m].path; })).join('\n'); }
        }
      ],
      groups: {
        order: ['top', 'inherited'],
        of: function (g) { return g.inherited ? 'inherited' : 'top'; },
        label: function (k, rows) {
          var n = rows.reduce(function (a, g) { return a + g.findings; }, 0);
          return k === 'top' ? 'Top findings, largest saving first (' + plural(rows.length, 'problem', 'problems') + ', ' + plural(n, 'finding', 'findings') + ')'
            : 'Inherited from the base image (' + plural(n, 'finding', 'findings') + '; fix them upstream or choose another base)';
        }
      },
      details: function (g) {
        if (g.findings < 2 || !g.members.length) return null;
        var list = el('ul', { className: 'members' });
        g.members.forEach(function (m) {
          var f = ld.findings[m];
          list.appendChild(el('li', null, [el('span', { className: 'mono', text: f.path || '(image)' }), f.bytes ? '  ' + bytes(f.bytes) : '', el('div', { className: 'sub', text: f.message })]));
        });
        if (g.members.length < g.findings) list.appendChild(el('li', { className: 'more', text: (g.findings - g.members.length) + ' more in the JSON report' }));
        return list;
      }
    }));
    return out;
  }

  function findingsTable(img) {
    var ld = img.lint;
    var out = [el('h2', { text: 'Findings' })];
    var c = ld.counts;
    out.push(el('div', { className: 'verdict ' + ld.verdict, id: 'verdict-' + img._n, text: 'Verdict ' + ld.verdict + ': ' + plural(c.failing, 'finding', 'findings') + ' at or above the failure level (--fail-on ' + ld.failOn + ')' + (ld.diveOnly ? '; only the dive rules decide' : '') }));
    out.push(el('div', { className: 'meta', text: 'Totals: ' + plural(c.errors, 'error', 'errors') + ', ' + plural(c.warnings, 'warning', 'warnings') + ', ' + c.info + ' info; ' + c.suppressed + ' suppressed, ' + c.baselined + ' baselined, ' + c.ignored + ' ignored' }));
    if (!ld.findings.length) {
      out.push(el('div', { className: 'empty', text: 'No findings.' }));
      return out;
    }
    if (ld.groups) {
      out = out.concat(groupsTable(img));
      if (ld.more) out.push(el('div', { className: 'more', text: ld.more + ' more findings are in the JSON report.' }));
      return out;
    }
    var t = table({
      name: 'findings',
      rows: ld.findings,
      columns: [
        { label: 'Rule', cell: function (f) { return el('span', { title: f.name, text: f.rule }); }, sort: function (f) { return f.rule; } },
        { label: 'Name', cell: function (f) { return f.name; }, sort: function (f) { return f.name; } },
        { label: 'Layer', num: true, cell: function (f) { return f.layer < 0 ? 'image' : String(f.layer); }, sort: function (f) { return f.layer; } },
        { label: 'Bytes', num: true, cell: function (f) { return f.bytes ? bytes(f.bytes) : ''; }, sort: function (f) { return f.bytes; } },
        {
          label: 'Path and finding', cls: 'finding', sort: function (f) { return f.path; },
          cell: function (f) {
            var from = f.createdBy + (f.location ? ' (' + f.location + ')' : '');
            return el('div', null, [
              f.path ? el('div', { className: 'mono path', text: f.path }) : null,
              el('div', { className: 'sub', text: f.message }),
              f.fix ? el('div', { className: 'sub', text: 'fix: ' + f.fix }) : null,
              from.trim() ? el('div', { className: 'sub', text: 'from: ' + from.trim() }) : null
            ]);
          }
        },
        { label: 'State', cell: function (f) { return el('span', { className: 'state-' + f.state, text: f.state }); }, sort: function (f) { return f.state; } }
      ],
      filters: [
        { key: 'rule', label: 'Rule', kind: 'select', value: function (f) { return f.rule; } },
        { key: 'severity', label: 'Severity', kind: 'select', value: function (f) { return f.severity; } },
        { key: 'layer', label: 'Layer', kind: 'select', value: function (f) { return f.layer; }, show: function (v) { return v === '-1' ? 'image' : v; } },
        { key: 'path', label: 'Path', kind: 'text', value: function (f) { return f.path; } }
      ],
      groups: {
        order: ['error', 'warning', 'info'],
        of: function (f) { return f.severity; },
        label: function (g, rows) {
          var failing = rows.filter(function (r) { return r.state === 'FAIL'; }).length;
          return g + ' (' + plural(rows.length, 'finding', 'findings') + (failing ? ', ' + plural(failing, 'fails', 'fail') + ' the gate' : '') + ')';
        }
      }
    });
    out = out.concat(t);
    if (ld.more) out.push(el('div', { className: 'more', text: ld.more + ' more findings are in the JSON report.' }));
    return out;
  }

  function wasteTable(img) {
    var out = [el('h2', { text: 'Wasted paths' })];
    if (!img.waste.length) {
      out.push(el('div', { className: 'empty', text: 'No wasted bytes.' }));
      return out;
    }
    function layers(w) { return w.layers.join(',') + '→' + w.hiddenBy; }
    out = out.concat(table({
      name: 'waste',
      rows: img.waste,
      columns: [
        { label: 'Bytes', num: true, cell: function (w) { return bytes(w.bytes); }, sort: function (w) { return w.bytes; } },
        { label: 'Files', num: true, cell: function (w) { return String(w.files); }, sort: function (w) { return w.files; } },
        { label: 'Cause', cell: function (w) { return w.cause; }, sort: function (w) { return w.cause; } },
        { label: 'Layer', cell: layers, sort: function (w) { return w.layers[0]; } },
        { label: 'Path', cls: 'path', cell: function (w) { return w.path; }, sort: function (w) { return w.path; } }
      ],
      filters: [
        { key: 'cause', label: 'Cause', kind: 'select', value: function (w) { return w.cause; } },
        { key: 'hiddenBy', label: 'Hidden by layer', kind: 'select', value: function (w) { return w.hiddenBy; } },
        { key: 'path', label: 'Path', kind: 'text', value: function (w) { return w.path; } }
      ]
    }));
    if (img.wasteMore) out.push(el('div', { className: 'more', text: img.wasteMore + ' more wasted paths are in the JSON report.' }));
    return out;
  }

  // ---- diff ----
  function signed(n) { return (n > 0 ? '+' : n < 0 ? '−' : '±') + bytes(Math.abs(n)); }

  function diffPage(d) {
    var o = d.old, n = d.new;
    o._n = 'old'; n._n = 'new';
    var out = [el('h1', { text: o.title + ' → ' + n.title })];
    if (d.verdict && d.verdict.checks.length) {
      out.push(el('div', { className: 'verdict ' + (d.verdict.result === 'fail' ? 'FAIL' : 'pass'), id: 'diff-verdict', text: 'Verdict ' + d.verdict.result + ': ' +
        d.verdict.checks.map(function (c) { return c.name + ' ' + (c.failed ? 'FAIL' : 'pass') + ' (' + c.measured + '; limit ' + c.limit + ')'; }).join('; ') }));
    }
    function delta(label, sz, id) {
      var c = card(label + ': ' + bytes(sz.old) + ' → ' + bytes(sz.new), signed(sz.delta), sz.delta > 0 ? 'grew' : sz.delta < 0 ? 'shrank' : '');
      c.dataset.delta = String(sz.delta);
      c.id = id;
      return c;
    }
    out.push(el('div', { className: 'cards', id: 'diff-summary' }, [
      delta('download size', d.total.compressed, 'delta-download'),
      delta('above the base, download', d.above.compressed, 'delta-above'),
      delta('base image, download', d.base.compressed, 'delta-base'),
      delta('merged view', d.files.merged, 'delta-merged'),
      delta('wasted', d.waste.total, 'delta-wasted'),
      card('layers shared (same diff_id)', d.sharedLayers + ' of ' + n.layers.length)
    ]));
    var baseText = 'base image unchanged' + (d.newBase ? ' (' + d.newBase + ')' : '');
    if (d.baseChanged) {
      baseText = d.oldBase && d.oldBase === d.newBase ? 'base image changed: ' + d.newBase + ' has other layers now'
        : 'base image changed: ' + (d.oldBase || 'its layers') + ' → ' + (d.newBase || 'other layers');
      baseText += '; its change is not the layers above it';
    }
    out.push(el('div', { className: 'meta', id: 'diff-base', text: baseText }));

    var oldIDs = {}, newIDs = {};
    o.layers.forEach(function (l) { oldIDs[l.diffID] = true; });
    n.layers.forEach(function (l) { newIDs[l.diffID] = true; });
    var sc = chartScale([o, n]);
    function side(img, other, word) {
      return el('div', { className: 'side', data: { side: word } }, [
        el('h2', { text: (word === 'old' ? 'Before: ' : 'After: ') + img.title }),
        el('div', { className: 'meta mono', text: img.manifest }),
        el('div', { className: 'meta', text: bytes(img.summary.compressedSize) + ' download, ' + bytes(img.summary.contentBytes) + ' content, ' + bytes(img.summary.wastedBytes) + ' wasted' })
      ].concat(layerChart(img, {
        scale: sc.scale, wscale: sc.wscale, bare: true, id: word,
        mark: function (l) { return other[l.diffID] ? 'shared' : word === 'old' ? 'gone' : 'new'; }
      })));
    }
    out.push(el('h2', { text: 'Layers' }));
    out.push(el('div', { className: 'legend' }, [
      el('span', null, [el('i', { className: 'sw-keep' }), 'survives']),
      el('span', null, [el('i', { className: 'sw-ow' }), 'overwritten']),
      el('span', null, [el('i', { className: 'sw-del' }), 'deleted']),
      el('span', null, [el('i', { className: 'sw-opq' }), 'opaque']),
      el('span', null, [el('i', { className: 'sw-hide' }), 'hides in lower layers']),
      el('span', null, ['both sides on one scale; shared: the same layer (diff_id) in both'])
    ]));
    out.push(el('div', { className: 'sides' }, [side(o, newIDs, 'old'), side(n, oldIDs, 'new')]));

    var f = d.files;
    out.push(el('h2', { text: 'What changed in the merged view' }));
    out.push(el('div', { className: 'meta', text: plural(f.added, 'file', 'files') + ' appeared (' + bytes(f.addedBytes) + '), ' + f.removed + ' vanished (' + bytes(f.removedBytes) + '), ' + f.changed + ' changed (' + signed(f.changedBytes) + ')' }));
    if (!f.dirs.length) out.push(el('div', { className: 'empty', text: 'The merged views hold the same files.' }));
    else {
      out = out.concat(table({
        name: 'changes',
        rows: f.dirs,
        columns: [
          { label: 'Change', cell: function (c) { return el('span', { className: 'd-' + c.kind, text: c.kind }); }, sort: function (c) { return c.kind; } },
          { label: 'Δ bytes', num: true, cell: function (c) { return el('span', { className: 'd-' + c.kind, text: signed(c.delta) }); }, sort: function (c) { return c.delta; } },
          { label: 'Files', num: true, cell: function (c) { return '+' + c.added + ' −' + c.removed + ' ~' + c.changed; }, sort: function (c) { return c.added + c.removed + c.changed; } },
          {
            label: 'Directory', cls: 'finding', sort: function (c) { return c.path; },
            cell: function (c, ctx) {
              return el('div', null, [el('div', { className: 'mono path', text: c.path }), ctx.toggle ? ctx.toggle('largest ' + plural(c.largest.length, 'change', 'changes')) : null]);
            }
          }
        ],
        filters: [
          { key: 'kind', label: 'Change', kind: 'select', value: function (c) { return c.kind; } },
          { key: 'path', label: 'Path', kind: 'text', value: function (c) { return [c.path].concat(c.largest.map(function (x) { return x.path; })).join('\n'); } }
        ],
        details: function (c) {
          if (!c.largest.length) return null;
          var list = el('ul', { className: 'members' });
          c.largest.forEach(function (x) {
            // A symlink has no size to show: its target is the change.
            var side = function (size, link) { return link ? 'link ' + link : bytes(size); };
            var sizes = x.kind === 'appeared' ? side(x.new, x.newLink) : x.kind === 'vanished' ? side(x.old, x.oldLink) : side(x.old, x.oldLink) + ' → ' + side(x.new, x.newLink);
            list.appendChild(el('li', null, [el('span', { className: 'd-' + x.kind, text: x.kind }), '  ', el('span', { className: 'mono', text: x.path }), '  ' + sizes]));
          });
          return list;
        }
      }));
      if (f.dirsMore) out.push(el('div', { className: 'more', text: plural(f.dirsMore, 'more directory', 'more directories') + ' changed: see the JSON diff.' }));
    }

    if (d.waste.rows.length) {
      out.push(el('h2', { text: 'Waste added and removed' }));
      out.push(el('div', { className: 'meta', text: 'wasted ' + bytes(d.waste.total.old) + ' → ' + bytes(d.waste.total.new) + ', above the base ' + bytes(d.waste.above.old) + ' → ' + bytes(d.waste.above.new) }));
      out = out.concat(table({
        name: 'diff-waste',
        rows: d.waste.rows,
        columns: [
          { label: 'Change', cell: function (w) { return el('span', { className: w.change === 'added' ? 'd-grew' : 'd-shrank', text: w.change }); }, sort: function (w) { return w.change; } },
          { label: 'Δ bytes', num: true, cell: function (w) { return signed(w.new - w.old); }, sort: function (w) { return w.new - w.old; } },
          { label: 'Before → after', num: true, cell: function (w) { return bytes(w.old) + ' → ' + bytes(w.new); }, sort: function (w) { return w.new; } },
          { label: 'Cause', cell: function (w) { return w.cause; }, sort: function (w) { return w.cause; } },
          { label: 'Path', cls: 'path', cell: function (w) { return w.path; }, sort: function (w) { return w.path; } }
        ],
        filters: [
          { key: 'change', label: 'Change', kind: 'select', value: function (w) { return w.change; } },
          { key: 'cause', label: 'Cause', kind: 'select', value: function (w) { return w.cause; } },
          { key: 'path', label: 'Path', kind: 'text', value: function (w) { return w.path; } }
        ]
      }));
    }
    if (d.findings) {
      out.push(el('h2', { text: 'Findings new and fixed' }));
      out.push(el('div', { className: 'meta', text: 'findings: ' + d.findings.oldCount + ' → ' + d.findings.newCount }));
      if (!d.findings.rows.length) out.push(el('div', { className: 'empty', text: 'No finding new or fixed.' }));
      else {
        out = out.concat(table({
          name: 'diff-findings',
          rows: d.findings.rows,
          columns: [
            { label: 'Change', cell: function (x) { return el('span', { className: x.change === 'new' ? 'd-grew' : 'd-shrank', text: x.change }); }, sort: function (x) { return x.change; } },
            { label: 'Rule', cell: function (x) { return el('span', { title: x.name, text: x.rule }); }, sort: function (x) { return x.rule; } },
            { label: 'Severity', cell: function (x) { return el('span', { className: 'sev-' + x.severity, text: x.severity }); }, sort: function (x) { return x.severity; } },
            { label: 'Bytes', num: true, cell: function (x) { return x.bytes ? bytes(x.bytes) : ''; }, sort: function (x) { return x.bytes; } },
            {
              label: 'Path and finding', cls: 'finding', sort: function (x) { return x.path; }, cell: function (x) {
                return el('div', null, [x.path ? el('div', { className: 'mono path', text: x.path }) : null, el('div', { className: 'sub', text: x.message })]);
              }
            }
          ],
          filters: [
            { key: 'change', label: 'Change', kind: 'select', value: function (x) { return x.change; } },
            { key: 'rule', label: 'Rule', kind: 'select', value: function (x) { return x.rule; } },
            { key: 'severity', label: 'Severity', kind: 'select', value: function (x) { return x.severity; } },
            { key: 'path', label: 'Path', kind: 'text', value: function (x) { return x.path; } }
          ]
        }));
      }
    }
    return el('section', { className: 'image diff', 'aria-label': 'diff' }, out);
  }

  // ---- page ----
  var draws = [];
  function imageSection(img, n) {
    img._n = n;
    var sec = el('section', { className: 'image', 'aria-label': img.title });
    function add(list) { list.forEach(function (e) { sec.appendChild(e); }); }
    add(header(img));
    add(layerChart(img));
    var m = fsMap(img);
    add(m);
    if (m.draw) draws.push(m.draw);
    add(img.lint ? findingsTable(img) : wasteTable(img));
    return sec;
  }

  if (data.diff) app.appendChild(diffPage(data.diff));
  data.images.forEach(function (img, n) { app.appendChild(imageSection(img, n)); });
  app.appendChild(el('footer', { text: 'layerlint ' + data.kind + (data.version ? ' ' + data.version : '') + ': sizes are decimal (1 kB = 1000 B). The JSON report (--format json) has every figure.' }));
  draws.forEach(function (d) { d(); });
  document.body.dataset.ready = '1';
}());
