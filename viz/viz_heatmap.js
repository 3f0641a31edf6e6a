// zembed heatmap page: cosine matrices as SVG heatmaps, values in the cells, labels on both axes,
// one shared colour scale. Data (JSON in #zembed-data):
//   {title, subtitle, demo, panels: [{title, rows: [label], cols: [label], v: [rows*cols numbers]}]}
// Publishes window.zembed = {ready, panels: [{title, rows, cols, cells}], hover: last tooltip text}.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("zembed-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var app = document.getElementById("app");

  function el(tag, attrs, parent, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  var html = zbHtml;      // viz_page.js
  // Diverging scale on [-1, 1]: blue (-1), white (0), red (+1); cosine's full range, so pages
  // compare with each other.
  var LO = [49, 92, 168], MID = [247, 247, 247], HI = [180, 32, 48];
  function color(v) {
    if (!(v === v)) return "#999";
    var t = Math.max(-1, Math.min(1, v)), a = t < 0 ? LO : HI, f = Math.abs(t), c = [];
    for (var i = 0; i < 3; i++) c.push(Math.round(MID[i] + (a[i] - MID[i]) * f));
    return "rgb(" + c.join(",") + ")";
  }
  function short(s, n) { return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }

  html("h1", "", app, D.title || "Similarity");
  if (D.subtitle) html("p", "sub", app, D.subtitle);
  if (D.demo) html("div", "demo", app, "Demo model: generated random weights. Its similarities mean nothing; they only show what the page looks like.");
  var tip = html("div", "", document.body); tip.id = "tip";
  var state = { ready: false, panels: [], hover: "" };
  window.zembed = state;

  var panels = html("div", "panels", app);
  D.panels.forEach(function (P) {
    var R = P.rows.length, C = P.cols.length;
    var cs = R * C > 900 ? 18 : 34;               // cell size; values are shown when they fit
    var showVals = cs >= 30;
    var labLen = 24;
    var left = 8 + 7.4 * Math.min(labLen, Math.max.apply(null, P.rows.map(function (s) { return s.length; }).concat([3])));
    var top = 12 + 6.6 * Math.min(labLen, Math.max.apply(null, P.cols.map(function (s) { return s.length; }).concat([3])));
    var W = left + C * cs + 10 + 0.65 * top, H = top + R * cs + 10;   // rotated labels lean right
    var box = html("div", "panel", panels);
    html("h2", "", box, P.title);
    var svg = el("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, "data-rows": R, "data-cols": C }, box);
    var g = el("g", { transform: "translate(" + left + "," + top + ")" }, svg);
    for (var j = 0; j < C; j++)
      el("text", { "class": "lab col", x: 0, y: 0, "text-anchor": "start", "data-label": P.cols[j],
                   transform: "translate(" + (j * cs + cs / 2 + 4) + ",-6) rotate(-55)" }, g, short(P.cols[j], labLen));
    for (var i = 0; i < R; i++) {
      el("text", { "class": "lab row", "data-label": P.rows[i], x: -6, y: i * cs + cs / 2 + 4, "text-anchor": "end" }, g, short(P.rows[i], labLen));
      for (j = 0; j < C; j++) {
        var v = P.v[i * C + j];
        var cell = el("g", { "class": "cell", "data-i": i, "data-j": j, "data-v": v }, g);
        el("rect", { x: j * cs, y: i * cs, width: cs - 1, height: cs - 1, fill: color(v) }, cell);
        if (showVals)
          el("text", { x: j * cs + cs / 2 - 0.5, y: i * cs + cs / 2 + 3.5, "text-anchor": "middle",
                       fill: Math.abs(v) > 0.55 ? "#fff" : "#1d2330" }, cell, (Math.abs(v) < 0.005 ? 0 : v).toFixed(2));
      }
    }
    svg.addEventListener("mousemove", function (ev) {
      var c = ev.target.closest ? ev.target.closest("g.cell") : null;
      if (!c) { tip.style.display = "none"; return; }
      var a = +c.getAttribute("data-i"), b = +c.getAttribute("data-j");
      state.hover = P.rows[a] + " \u00d7 " + P.cols[b] + ": " + (+c.getAttribute("data-v")).toFixed(4);
      tip.textContent = state.hover;
      tip.style.display = "block";
      tip.style.left = ev.clientX + 12 + "px";
      tip.style.top = ev.clientY + 12 + "px";
    });
    svg.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    state.panels.push({ title: P.title, rows: P.rows, cols: P.cols, cells: R * C });
  });

  // colour scale
  var sc = html("div", "", app); sc.style.marginTop = "14px";
  html("div", "sub", sc, "cosine similarity");
  var svg = el("svg", { width: 340, height: 36, "class": "scale" }, sc);
  var defs = el("defs", {}, svg), lg = el("linearGradient", { id: "zg" }, defs);
  [-1, -0.5, 0, 0.5, 1].forEach(function (t) { el("stop", { offset: (t + 1) * 50 + "%", "stop-color": color(t) }, lg); });
  el("rect", { x: 10, y: 2, width: 320, height: 14, fill: "url(#zg)", stroke: "#aaa" }, svg);
  [-1, -0.5, 0, 0.5, 1].forEach(function (t) {
    el("text", { x: 10 + (t + 1) * 160, y: 30, "text-anchor": "middle", "class": "val" }, svg, String(t));
  });
  state.ready = true;
})();
