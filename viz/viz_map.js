// zembed map page: tens of thousands of points on one canvas (no DOM node per point). Data (JSON in
// #zembed-data): {title, subtitle, demo, method, n, x: [0..10000], y: [0..10000], tokens, ids,
// group: [index into groups], groups: [names], k, nn: [n*k row indices, nearest first]}.
// Hover shows the token (a grid index finds the nearest point), wheel zooms around the cursor, drag
// pans, the legend toggles groups, the search box highlights a token and its k nearest neighbours
// (in the original space). Publishes window.zembed = {ready, points, drawn, groups, hover,
// highlighted, toClient(i), search(q), setVisible(g, on)} for the browser tests.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("zembed-data").textContent);
  var N = D.n, X = D.x, Y = D.y, G = D.group, K = D.k || 0;
  var PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#7f7f7f", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
                 "#17becf", "#bcbd22"];
  function colorOf(g) { return g < PALETTE.length ? PALETTE[g] : "hsl(" + (g * 47) % 360 + ",60%,45%)"; }
  var html = zbHtml;      // viz_page.js
  var app = document.getElementById("app");
  html("h1", "", app, D.title || "Map");
  if (D.subtitle) html("p", "sub", app, D.subtitle);
  if (D.demo) html("div", "demo", app, "Demo model: generated random weights. The map shows no meaning; it only shows what the page looks like.");
  var bar = html("div", "bar", app);
  var search = html("input", "", bar); search.type = "search"; search.placeholder = "search a token"; search.id = "search";
  var nnOut = html("span", "", bar); nnOut.id = "nn";
  var legend = html("div", "legend", app);
  var canvas = html("canvas", "", app); canvas.id = "map";
  html("p", "sub", app, "Wheel: zoom. Drag: pan. Double-click: reset. Hover a point for its token.");
  var tip = html("div", "", document.body); tip.id = "tip";
  var ctx = canvas.getContext("2d");

  var counts = D.groups.map(function () { return 0; });
  for (var i = 0; i < N; i++) counts[G[i]]++;
  var visible = D.groups.map(function (_, g) { return counts[g] > 0; });
  var state = { ready: false, points: N, drawn: 0, groups: D.groups.slice(), counts: counts, hover: "", highlighted: [] };
  window.zembed = state;

  // view: data units (0..10000) -> CSS pixels
  var W = 0, H = 0, dpr = 1, scale = 1, ox = 0, oy = 0;
  function fit() {
    var pad = 16;
    scale = Math.min((W - 2 * pad) / 10000, (H - 2 * pad) / 10000);
    var maxX = 0, maxY = 0;
    for (var i = 0; i < N; i++) { if (X[i] > maxX) maxX = X[i]; if (Y[i] > maxY) maxY = Y[i]; }
    ox = (W - maxX * scale) / 2; oy = (H - maxY * scale) / 2;
  }
  function sx(i) { return ox + X[i] * scale; }
  function sy(i) { return H - (oy + Y[i] * scale); }     // y up
  function resize() {
    var r = canvas.getBoundingClientRect();
    dpr = window.devicePixelRatio || 1;
    var first = W === 0;
    W = r.width; H = r.height;
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    if (first) fit();
    draw();
  }

  // grid index over screen space for hover, rebuilt after each view change
  var CELL = 12, grid = null, gcols = 0, grows = 0;
  function buildGrid() {
    gcols = Math.ceil(W / CELL) + 1; grows = Math.ceil(H / CELL) + 1;
    var heads = new Int32Array(gcols * grows).fill(-1), next = new Int32Array(N).fill(-1);
    for (var i = 0; i < N; i++) {
      if (!visible[G[i]]) continue;
      var cx = Math.floor(sx(i) / CELL), cy = Math.floor(sy(i) / CELL);
      if (cx < 0 || cy < 0 || cx >= gcols || cy >= grows) continue;
      var c = cy * gcols + cx; next[i] = heads[c]; heads[c] = i;
    }
    grid = { heads: heads, next: next };
  }
  function nearest(px, py, maxd) {
    var best = -1, bd = maxd * maxd;
    var cx = Math.floor(px / CELL), cy = Math.floor(py / CELL);
    for (var yy = cy - 1; yy <= cy + 1; yy++) for (var xx = cx - 1; xx <= cx + 1; xx++) {
      if (xx < 0 || yy < 0 || xx >= gcols || yy >= grows) continue;
      for (var i = grid.heads[yy * gcols + xx]; i >= 0; i = grid.next[i]) {
        var dx = sx(i) - px, dy = sy(i) - py, d = dx * dx + dy * dy;
        if (d < bd) { bd = d; best = i; }
      }
    }
    return best;
  }

  var highlight = [], focus = -1;
  function draw() {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    var r = Math.max(1.8, Math.min(5, 2 * Math.sqrt(scale / 0.06)));   // grows as one zooms in
    var drawn = 0;
    ctx.globalAlpha = highlight.length ? 0.25 : 0.75;
    for (var g = 0; g < D.groups.length; g++) {       // one fillStyle per group: fast for 30k points
      if (!visible[g]) continue;
      ctx.fillStyle = colorOf(g);
      for (var i = 0; i < N; i++) {
        if (G[i] !== g) continue;
        var x = sx(i), y = sy(i);
        if (x < -r || y < -r || x > W + r || y > H + r) continue;
        ctx.fillRect(x - r / 2, y - r / 2, r, r);
        drawn++;
      }
    }
    ctx.globalAlpha = 1;
    if (highlight.length) {
      ctx.font = "12px ui-monospace, monospace";
      highlight.forEach(function (i, q) {
        var x = sx(i), y = sy(i);
        ctx.beginPath(); ctx.arc(x, y, q ? 4 : 6, 0, 2 * Math.PI);
        ctx.fillStyle = q ? "#ff7f0e" : "#000"; ctx.fill();
        ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.5; ctx.stroke();
        ctx.fillStyle = "#111"; ctx.fillText(D.tokens[i], x + 7, y - 6);
      });
    }
    state.drawn = drawn;
    buildGrid();
  }

  // legend: one toggle per group present
  D.groups.forEach(function (name, g) {
    if (!counts[g]) return;
    var lab = html("label", "", legend);
    var cb = html("input", "", lab); cb.type = "checkbox"; cb.checked = true; cb.setAttribute("data-group", name);
    var sw = html("span", "sw", lab); sw.style.background = colorOf(g);
    html("span", "", lab, name + " (" + counts[g] + ")");
    cb.addEventListener("change", function () { visible[g] = cb.checked; draw(); });
  });
  state.setVisible = function (g, on) {
    var cb = legend.querySelectorAll("input")[g];
    visible[g] = on; if (cb) cb.checked = on; draw();
  };

  // search: exact token first, else the first token starting with the text
  function doSearch(q) {
    highlight = []; state.highlighted = [];
    if (q) {
      var hit = D.tokens.indexOf(q);
      if (hit < 0) for (var i = 0; i < N; i++) if (D.tokens[i].indexOf(q) === 0) { hit = i; break; }
      if (hit >= 0) {
        highlight = [hit];
        for (var j = 0; j < K; j++) highlight.push(D.nn[hit * K + j]);
        state.highlighted = highlight.map(function (i) { return D.tokens[i]; });
        nnOut.textContent = D.tokens[hit] + " \u2192 " + state.highlighted.slice(1).join("  ");
      } else nnOut.textContent = "no token '" + q + "'";
    } else nnOut.textContent = "";
    draw();
    return state.highlighted;
  }
  search.addEventListener("input", function () { doSearch(search.value.trim()); });
  state.search = doSearch;

  // hover, zoom, pan
  var drag = null;
  canvas.addEventListener("mousemove", function (ev) {
    var r = canvas.getBoundingClientRect(), px = ev.clientX - r.left, py = ev.clientY - r.top;
    if (drag) {
      ox += px - drag.x; oy -= py - drag.y; drag = { x: px, y: py }; draw(); return;
    }
    var i = nearest(px, py, 8);
    if (i < 0) { tip.style.display = "none"; state.hover = ""; return; }
    state.hover = D.tokens[i];
    tip.textContent = D.tokens[i] + "\nid " + D.ids[i] + " \u00b7 " + D.groups[G[i]];
    tip.style.display = "block";
    tip.style.left = ev.clientX + 12 + "px"; tip.style.top = ev.clientY + 12 + "px";
  });
  canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; drag = null; });
  canvas.addEventListener("mousedown", function (ev) {
    var r = canvas.getBoundingClientRect(); drag = { x: ev.clientX - r.left, y: ev.clientY - r.top };
  });
  window.addEventListener("mouseup", function () { drag = null; });
  canvas.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = canvas.getBoundingClientRect(), px = ev.clientX - r.left, py = H - (ev.clientY - r.top);
    var f = Math.exp(-ev.deltaY * 0.0015);
    ox = px - (px - ox) * f; oy = py - (py - oy) * f; scale *= f;
    draw();
  }, { passive: false });
  canvas.addEventListener("dblclick", function () { fit(); draw(); });
  window.addEventListener("resize", resize);

  state.toClient = function (i) {
    var r = canvas.getBoundingClientRect();
    return { x: r.left + sx(i), y: r.top + sy(i) };
  };
  state.view = function () { return { scale: scale, ox: ox, oy: oy }; };
  resize();
  state.ready = true;
})();
