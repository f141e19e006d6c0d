// goscope HTML report: the theme switch, the goroutine timeline and the blocking
// flamegraph, drawn from the JSON in #goscope-data. Everything else on the page is
// plain HTML and SVG that reads without this script.
(function () {
  'use strict';

  var data = {};
  try {
    data = JSON.parse(document.getElementById('goscope-data').textContent) || {};
  } catch (e) {
    console.error('goscope: the report data does not parse: ' + e);
  }
  var redrawers = [];

  // ---- theme ----

  var darkQuery = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  function currentTheme() {
    var chosen = document.documentElement.dataset.theme;
    if (chosen === 'dark' || chosen === 'light') return chosen;
    return darkQuery && darkQuery.matches ? 'dark' : 'light';
  }
  function labelToggle() {
    var button = document.getElementById('theme-toggle');
    if (button) button.textContent = currentTheme() === 'dark' ? '\u2600 Light theme' : '\u263e Dark theme';
  }
  function redrawAll() {
    redrawers.forEach(function (draw) { draw(); });
  }
  function setupTheme() {
    var button = document.getElementById('theme-toggle');
    labelToggle();
    if (button) {
      button.addEventListener('click', function () {
        var next = currentTheme() === 'dark' ? 'light' : 'dark';
        document.documentElement.dataset.theme = next;
        try { localStorage.setItem('goscope-theme', next); } catch (e) { /* a file:// origin may refuse */ }
        labelToggle();
        redrawAll();
      });
    }
    if (darkQuery && darkQuery.addEventListener) {
      darkQuery.addEventListener('change', function () { labelToggle(); redrawAll(); });
    }
  }

  // ---- shared helpers ----

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  // Durations as the rest of goscope prints them: "850ns", "12.3µs", "1.23ms", "4.56s", "2m03s".
  function duration(ns) {
    if (ns < 0) ns = 0;
    function three(v) { return String(Number(v.toPrecision(3))); }
    if (ns < 1e3) return Math.round(ns) + 'ns';
    if (ns < 999.5e3) return three(ns / 1e3) + '\u00b5s';
    if (ns < 999.5e6) return three(ns / 1e6) + 'ms';
    if (ns < 59.995e9) return three(ns / 1e9) + 's';
    var s = Math.round(ns / 1e9);
    return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
  }
  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A toolbar with a status text and a "Zoom out" button (timeline and flamegraph).
  function zoomToolbar(labelClass) {
    var bar = { toolbar: el('div', 'toolbar'), label: el('span', labelClass), reset: el('button', '', 'Zoom out') };
    bar.reset.type = 'button';
    bar.toolbar.appendChild(bar.label);
    bar.toolbar.appendChild(bar.reset);
    return bar;
  }
  var tooltip = null;
  function showTooltip(lines, x, y) {
    if (!tooltip) {
      tooltip = el('div', 'tooltip');
      tooltip.setAttribute('role', 'tooltip');
      document.body.appendChild(tooltip);
    }
    tooltip.textContent = '';
    lines.forEach(function (line, i) {
      var row = el(i === 0 ? 'b' : 'div', '', line);
      tooltip.appendChild(row);
    });
    tooltip.style.display = 'block';
    var w = tooltip.offsetWidth, h = tooltip.offsetHeight;
    var left = x + 14, top = y + 14;
    if (left + w > window.innerWidth - 8) left = Math.max(8, x - w - 14);
    if (top + h > window.innerHeight - 8) top = Math.max(8, y - h - 14);
    tooltip.style.left = left + 'px';
    tooltip.style.top = top + 'px';
  }
  function hideTooltip() {
    if (tooltip) tooltip.style.display = 'none';
  }
  // A canvas sized for the screen's pixel density; returns its 2D context in CSS pixels.
  function fitCanvas(canvas, width, height) {
    var ratio = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(width * ratio));
    canvas.height = Math.max(1, Math.round(height * ratio));
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    var ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return ctx;
  }
  // Tick step of about `count` ticks over `span`: 1, 2 or 5 times a power of ten.
  function tickStep(span, count) {
    var raw = span / Math.max(1, count);
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= raw) return steps[i] * power;
    return 10 * power;
  }

  // ---- timeline ----

  var STATE_NAMES = ['running', 'runnable', 'blocked'];

  function setupTimeline(t) {
    var root = document.getElementById('timeline-view');
    if (!root || !t) return 0;
    var lanes = t.lanes || [];
    var note = document.getElementById('timeline-note');
    if (note) {
      var text = lanes.length + ' of ' + t.total + ' goroutines, longest blocked first, over ' + duration(t.span) + '.';
      if (t.left_out) text += ' ' + t.left_out + ' more are not drawn (see the notes).';
      note.textContent = text;
    }
    if (!lanes.length) {
      root.appendChild(el('p', 'dim', 'No goroutine was seen during the trace.'));
      return 0;
    }
    var GUTTER = 250, LANE = 18, AXIS = 22, COUNTS = 56;
    var strings = t.strings || [];
    var view = { from: 0, to: t.span };

    var bar = zoomToolbar('range');
    var toolbar = bar.toolbar, range = bar.label, reset = bar.reset;
    var top = document.createElement('canvas');
    top.className = 'counts';
    var scroller = el('div', 'lanes');
    var canvas = document.createElement('canvas');
    canvas.className = 'lane-canvas';
    scroller.appendChild(canvas);
    root.appendChild(toolbar);
    root.appendChild(top);
    root.appendChild(scroller);
    root.dataset.lanes = String(lanes.length);

    var selection = null;  // {x0, x1} while dragging

    function plotWidth() { return Math.max(100, root.clientWidth - GUTTER - 12); }
    function xOf(ns) { return GUTTER + (ns - view.from) / (view.to - view.from) * plotWidth(); }
    function timeAt(x) { return view.from + (x - GUTTER) / plotWidth() * (view.to - view.from); }

    function drawTop() {
      var width = root.clientWidth;
      var ctx = fitCanvas(top, width, COUNTS + AXIS);
      ctx.clearRect(0, 0, width, COUNTS + AXIS);
      ctx.font = '11px system-ui, sans-serif';
      var counters = t.counters || [];
      var max = 1;
      counters.forEach(function (c) { if (c[1] > max) max = c[1]; });
      ctx.fillStyle = css('--count-line');
      ctx.textBaseline = 'top';
      ctx.fillText('goroutines (max ' + max + ')', 8, 6);
      ctx.fillStyle = css('--blocked-line');
      ctx.fillText('blocked', 8, 22);
      function line(index, color) {
        if (!counters.length) return;
        ctx.strokeStyle = color;
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        var y0 = COUNTS - 4, h = COUNTS - 10;
        var prevY = null;
        counters.forEach(function (c, i) {
          var x = Math.min(Math.max(xOf(c[0]), GUTTER), GUTTER + plotWidth());
          var y = y0 - c[index] / max * h;
          if (i === 0) ctx.moveTo(x, y); else { ctx.lineTo(x, prevY); ctx.lineTo(x, y); }
          prevY = y;
        });
        ctx.lineTo(GUTTER + plotWidth(), prevY);
        ctx.stroke();
      }
      ctx.save();
      ctx.beginPath();
      ctx.rect(GUTTER, 0, plotWidth(), COUNTS);
      ctx.clip();
      line(1, css('--count-line'));
      line(2, css('--blocked-line'));
      ctx.restore();
      // The time axis.
      var span = view.to - view.from;
      var step = tickStep(span, Math.max(2, Math.floor(plotWidth() / 110)));
      ctx.strokeStyle = css('--grid');
      ctx.fillStyle = css('--muted');
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(GUTTER, COUNTS + 0.5);
      ctx.lineTo(GUTTER + plotWidth(), COUNTS + 0.5);
      ctx.stroke();
      ctx.textBaseline = 'top';
      ctx.textAlign = 'center';
      for (var tick = Math.ceil(view.from / step) * step; tick <= view.to; tick += step) {
        var x = xOf(tick);
        ctx.beginPath();
        ctx.moveTo(x + 0.5, COUNTS);
        ctx.lineTo(x + 0.5, COUNTS + 5);
        ctx.stroke();
        ctx.fillText(duration(tick), Math.min(Math.max(x, GUTTER + 20), GUTTER + plotWidth() - 20), COUNTS + 7);
      }
      ctx.textAlign = 'left';
      range.textContent = 'Showing ' + duration(view.from) + ' \u2013 ' + duration(view.to) +
        ' (' + duration(span) + ')' + (view.from > 0 || view.to < t.span ? ', zoomed' : '');
    }

    function drawLanes() {
      var width = root.clientWidth;
      var height = lanes.length * LANE + 4;
      var ctx = fitCanvas(canvas, width, height);
      ctx.clearRect(0, 0, width, height);
      var colors = [css('--running'), css('--runnable'), css('--blocked')];
      var stripe = css('--panel'), grid = css('--grid'), fg = css('--fg'), muted = css('--muted');
      var plotRight = GUTTER + plotWidth();
      ctx.font = '11.5px ui-monospace, Menlo, Consolas, monospace';
      ctx.textBaseline = 'middle';
      var step = tickStep(view.to - view.from, Math.max(2, Math.floor(plotWidth() / 110)));
      lanes.forEach(function (lane, i) {
        var y = i * LANE;
        if (i % 2 === 1) {
          ctx.fillStyle = stripe;
          ctx.fillRect(0, y, plotRight, LANE);
        }
        ctx.fillStyle = fg;
        var label = 'g' + lane.goid;
        ctx.fillText(label, 8, y + LANE / 2);
        if (lane.name) {
          ctx.fillStyle = muted;
          var nameX = 8 + ctx.measureText(label + ' ').width;
          var room = GUTTER - nameX - 10;
          var name = lane.name;
          if (ctx.measureText(name).width > room) {
            while (name.length > 1 && ctx.measureText('\u2026' + name).width > room) name = name.slice(1);
            name = '\u2026' + name;
          }
          ctx.fillText(name, nameX, y + LANE / 2);
        }
        var segs = lane.segs;
        var lastEnd = -1, lastState = -1;
        for (var k = 0; k < segs.length; k++) {
          var s = segs[k];
          if (s[1] < view.from || s[0] > view.to) continue;
          var x0 = Math.max(xOf(s[0]), GUTTER), x1 = Math.min(xOf(s[1]), plotRight);
          // Segments inside one pixel already painted in this state add nothing.
          if (x1 <= lastEnd && s[2] === lastState) continue;
          ctx.fillStyle = colors[s[2]] || muted;
          ctx.fillRect(x0, y + 3, Math.max(x1 - x0, 0.75), LANE - 6);
          lastEnd = x1;
          lastState = s[2];
        }
      });
      ctx.strokeStyle = grid;
      ctx.globalAlpha = 0.7;
      for (var tick = Math.ceil(view.from / step) * step; tick <= view.to; tick += step) {
        var x = Math.round(xOf(tick)) + 0.5;
        ctx.beginPath();
        ctx.moveTo(x, 0);
        ctx.lineTo(x, height);
        ctx.stroke();
      }
      ctx.globalAlpha = 1;
      ctx.beginPath();
      ctx.moveTo(GUTTER - 0.5, 0);
      ctx.lineTo(GUTTER - 0.5, height);
      ctx.stroke();
      if (selection) {
        ctx.fillStyle = css('--accent');
        ctx.globalAlpha = 0.18;
        var a = Math.min(selection.x0, selection.x1), b = Math.max(selection.x0, selection.x1);
        ctx.fillRect(a, 0, b - a, height);
        ctx.globalAlpha = 1;
      }
    }

    function draw() { drawTop(); drawLanes(); }

    // The segment of lane `i` at time `ns`, or one within two pixels of it.
    function segmentAt(i, ns) {
      var segs = lanes[i].segs;
      var lo = 0, hi = segs.length - 1, found = -1;
      while (lo <= hi) {
        var mid = (lo + hi) >> 1;
        if (segs[mid][0] <= ns) { found = mid; lo = mid + 1; } else hi = mid - 1;
      }
      var slack = 2 / plotWidth() * (view.to - view.from);
      if (found >= 0 && segs[found][1] + slack >= ns) return segs[found];
      if (found + 1 < segs.length && segs[found + 1][0] - slack <= ns) return segs[found + 1];
      return null;
    }

    function describeLane(lane) {
      var lines = ['goroutine ' + lane.goid + (lane.name ? ' \u2014 ' + lane.name : '')];
      lines.push('blocked ' + duration(lane.blocked) + ' in all');
      if (lane.created) lines.push('created at ' + lane.created + (lane.parent ? ' by goroutine ' + lane.parent : ''));
      if (lane.born >= 0) lines.push('started at ' + duration(lane.born));
      else lines.push('existed before the trace');
      if (lane.died >= 0) lines.push('exited at ' + duration(lane.died));
      return lines;
    }

    function describeSegment(lane, s) {
      var lines = ['goroutine ' + lane.goid + (lane.name ? ' \u2014 ' + lane.name : '')];
      lines.push(STATE_NAMES[s[2]] + ' for ' + duration(s[1] - s[0]) + '  (' + duration(s[0]) + ' \u2013 ' +
        duration(s[1]) + ')');
      if (s[3] >= 0) lines.push(strings[s[3]]);
      if (s[4] >= 0) lines.push('at ' + strings[s[4]]);
      if (s[5] > 0) lines.push('(with ' + s[5] + ' shorter segments merged at this resolution)');
      return lines;
    }

    function pointer(event) {
      var box = canvas.getBoundingClientRect();
      return { x: event.clientX - box.left, y: event.clientY - box.top };
    }

    canvas.addEventListener('mousemove', function (event) {
      var p = pointer(event);
      if (selection) {
        selection.x1 = Math.min(Math.max(p.x, GUTTER), GUTTER + plotWidth());
        drawLanes();
        hideTooltip();
        return;
      }
      var i = Math.floor(p.y / LANE);
      if (i < 0 || i >= lanes.length) return hideTooltip();
      if (p.x < GUTTER) return showTooltip(describeLane(lanes[i]), event.clientX, event.clientY);
      var s = segmentAt(i, timeAt(p.x));
      if (!s) return hideTooltip();
      showTooltip(describeSegment(lanes[i], s), event.clientX, event.clientY);
    });
    canvas.addEventListener('mouseleave', hideTooltip);
    canvas.addEventListener('mousedown', function (event) {
      var p = pointer(event);
      if (p.x < GUTTER || event.button !== 0) return;
      selection = { x0: p.x, x1: p.x };
      event.preventDefault();
    });
    window.addEventListener('mouseup', function () {
      if (!selection) return;
      var a = Math.min(selection.x0, selection.x1), b = Math.max(selection.x0, selection.x1);
      selection = null;
      if (b - a >= 4) {
        var from = timeAt(a), to = timeAt(b);
        view = { from: from, to: Math.max(to, from + 1) };
      }
      draw();
    });
    canvas.addEventListener('dblclick', function () { view = { from: 0, to: t.span }; draw(); });
    reset.addEventListener('click', function () { view = { from: 0, to: t.span }; draw(); });
    // Ctrl (or ⌘) and the wheel zoom around the pointer; the plain wheel scrolls the page.
    canvas.addEventListener('wheel', function (event) {
      if (!event.ctrlKey && !event.metaKey) return;
      event.preventDefault();
      var p = pointer(event);
      var at = timeAt(Math.max(p.x, GUTTER));
      var factor = event.deltaY > 0 ? 1.25 : 0.8;
      var from = at - (at - view.from) * factor, to = at + (view.to - at) * factor;
      view = { from: Math.max(0, from), to: Math.min(t.span, Math.max(to, from + 1)) };
      draw();
    }, { passive: false });

    redrawers.push(draw);
    draw();
    return lanes.length;
  }

  // ---- flamegraph ----

  var ROW = 20;
  var RUNTIME = /^(runtime|sync|internal\/|sync\/atomic)[./]/;

  function setupFlamegraph(f) {
    var root = document.getElementById('flame-view');
    if (!root || !f || !f.root) return 0;
    var strings = f.strings;
    // Nodes as objects with their parents, so a zoom can walk up.
    function build(raw, parent, depth) {
      var node = {
        name: strings[raw[0]], where: strings[raw[1]], delay: raw[2], count: raw[3],
        parent: parent, depth: depth, children: []
      };
      raw[4].forEach(function (c) { node.children.push(build(c, node, depth + 1)); });
      return node;
    }
    var tree = build(f.root, null, 0);
    var zoomed = tree;

    var bar = zoomToolbar('');
    var toolbar = bar.toolbar, label = bar.label, reset = bar.reset;
    var frames = el('div', 'frames');
    root.appendChild(toolbar);
    root.appendChild(frames);

    function hue(name) {
      var h = 0;
      for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
      return h;
    }
    var sat = '', light = '';
    function color(node) {
      if (node.depth === 0) return '';
      var h = hue(node.name.split('.')[0] || node.name);
      if (RUNTIME.test(node.name)) return 'hsl(' + (200 + h % 30) + ',' + '22%,' + light + ')';
      return 'hsl(' + (h % 50) + ',' + sat + ',' + light + ')';
    }

    function draw() {
      sat = css('--flame-sat');
      light = css('--flame-light');
      frames.textContent = '';
      var maxDepth = 0;
      var count = 0;
      function place(node, left, width) {
        if (width < 0.0015) return;
        var div = el('div', 'frame' + (node.depth === 0 ? ' root' : ''), node.depth === 0 ? 'all blocking: ' +
          duration(node.delay) : node.name);
        div.style.left = (left * 100) + '%';
        div.style.width = (width * 100) + '%';
        div.style.top = (node.depth * ROW) + 'px';
        var c = color(node);
        if (c) div.style.background = c;
        div._node = node;
        frames.appendChild(div);
        count++;
        if (node.depth > maxDepth) maxDepth = node.depth;
        var x = left;
        node.children.forEach(function (child) {
          var w = node.delay > 0 ? width * child.delay / node.delay : 0;
          place(child, x, w);
          x += w;
        });
      }
      // The zoomed node's ancestors span the width too, dimmed: the way back up.
      for (var a = zoomed.parent; a; a = a.parent) {
        var div = el('div', 'frame dimmed' + (a.depth === 0 ? ' root' : ''), a.depth === 0 ? 'all blocking: ' +
          duration(a.delay) : a.name);
        div.style.left = '0';
        div.style.width = '100%';
        div.style.top = (a.depth * ROW) + 'px';
        var c = color(a);
        if (c) div.style.background = c;
        div._node = a;
        frames.appendChild(div);
      }
      place(zoomed, 0, 1);
      frames.style.height = ((maxDepth + 1) * ROW + 2) + 'px';
      label.textContent = zoomed === tree ? 'Widths: time blocked. ' + tree.count + ' blocking events, ' +
        duration(tree.delay) + ' in all.' : 'Zoomed into ' + zoomed.name + ': ' + duration(zoomed.delay) + ' of ' +
        duration(tree.delay) + '.';
      root.dataset.frames = String(count);
      return count;
    }

    frames.addEventListener('click', function (event) {
      var node = event.target._node;
      if (!node) return;
      zoomed = node === zoomed && node.parent ? node.parent : node;
      draw();
    });
    frames.addEventListener('mousemove', function (event) {
      var node = event.target._node;
      if (!node) return hideTooltip();
      var share = tree.delay > 0 ? (100 * node.delay / tree.delay).toFixed(1) + '%' : '';
      var lines = [node.depth === 0 ? 'all blocking' : node.name];
      if (node.where) lines.push(node.where);
      lines.push('blocked ' + duration(node.delay) + ' (' + share + ' of all), ' + node.count + ' times');
      showTooltip(lines, event.clientX, event.clientY);
    });
    frames.addEventListener('mouseleave', hideTooltip);
    reset.addEventListener('click', function () { zoomed = tree; draw(); });
    redrawers.push(draw);
    return draw();
  }

  // ---- start ----

  function start() {
    setupTheme();
    var lanes = 0, frames = 0;
    try { lanes = setupTimeline(data.timeline); } catch (e) { console.error('goscope: timeline: ' + e); }
    try { frames = setupFlamegraph(data.flame); } catch (e) { console.error('goscope: flamegraph: ' + e); }
    var pending = false;
    window.addEventListener('resize', function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; redrawAll(); });
    });
    // For tests and scripts: the script ran, and what it drew.
    document.body.dataset.rendered = '1';
    document.body.dataset.timelineLanes = String(lanes);
    document.body.dataset.flameFrames = String(frames);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
