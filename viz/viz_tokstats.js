// zembed tokstats page: tokenization strategies side by side. Data (JSON in #zembed-data) is the
// object `zembed tokstats --format json` prints (cli/cli_tokstats.c): {corpus, lines, eval_lines,
// tokenizers: [{name, vocab_size, tokens_per_line: {mean, p50, p95, max}, bytes_per_token,
// unk_rate, vocab_used_share, train_seconds}], oov_words: [{word, count, splits: {name: [tok]}}]}.
// Draws the table, one bar chart per measure, and the unseen words with their splits.
// Publishes window.zembed = {ready, rows, charts: [{title, bars}]} for the browser tests.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("zembed-data").textContent);
  var app = document.getElementById("app");
  var html = zbHtml;      // viz_page.js
  function fix(v, d) { return v === null || v === undefined ? "\u2013" : Number(v).toFixed(d); }
  function pct(v) { return fix(100 * v, 2) + "%"; }
  // a model folder by its last component (the table keeps the whole path)
  function short(n) { var p = n.replace(/\/+$/, "").split("/"); return p[p.length - 1] || n; }
  var T = D.tokenizers || [];
  var state = { ready: false, rows: T.length, charts: [] };

  html("h1", "", app, "Tokenizers side by side");
  html("p", "sub", app, D.corpus + ": " + D.lines + " lines, " + D.train_lines + " for training, " +
       D.eval_lines + " evaluated (" + D.eval_bytes + " bytes)");

  var cols = [
    ["tokenizer", function (t) { return t.name; }],
    ["vocabulary", function (t) { return String(t.vocab_size); }],
    ["tokens/line", function (t) { return fix(t.tokens_per_line.mean, 2); }],
    ["p50", function (t) { return String(t.tokens_per_line.p50); }],
    ["p95", function (t) { return String(t.tokens_per_line.p95); }],
    ["max", function (t) { return String(t.tokens_per_line.max); }],
    ["bytes/token", function (t) { return fix(t.bytes_per_token, 2); }],
    ["unknown", function (t) { return pct(t.unk_rate); }],
    ["vocab used", function (t) { return pct(t.vocab_used_share); }],
    ["training s", function (t) { return fix(t.train_seconds, 2); }]
  ];
  var table = html("table", "stats", app);
  var tr = html("tr", "", table);
  cols.forEach(function (c) { html("th", "", tr, c[0]); });
  T.forEach(function (t) {
    var r = html("tr", "", table);
    cols.forEach(function (c, i) { html("td", i ? "num" : "", r, c[1](t)); });
  });

  var charts = [
    ["Tokens per line (mean)", function (t) { return t.tokens_per_line.mean; }, function (v) { return fix(v, 2); }],
    ["Bytes per token", function (t) { return t.bytes_per_token; }, function (v) { return fix(v, 2); }],
    ["Unknown tokens", function (t) { return t.unk_rate; }, pct],
    ["Vocabulary size", function (t) { return t.vocab_size; }, function (v) { return String(v); }],
    ["Share of the vocabulary used", function (t) { return t.vocab_used_share; }, pct],
    ["Training time (s)", function (t) { return t.train_seconds || 0; }, function (v) { return fix(v, 2); }]
  ];
  var grid = html("div", "panels", app);
  charts.forEach(function (c) {
    var p = html("div", "panel chart", grid);
    html("h2", "", p, c[0]);
    var max = 0;
    T.forEach(function (t) { max = Math.max(max, c[1](t) || 0); });
    var bars = [];
    T.forEach(function (t) {
      var v = c[1](t) || 0, row = html("div", "hbar", p);
      html("span", "lab", row, short(t.name)).title = t.name;
      var b = html("span", "fill", row);
      b.style.width = (max > 0 ? Math.max(0.5, 240 * v / max) : 0.5) + "px";
      html("span", "val", row, c[2](v));
      bars.push({ name: t.name, value: v });
    });
    state.charts.push({ title: c[0], bars: bars });
  });

  var W = D.oov_words || [];
  html("h2", "", app, "Held-out words never seen in training (" + (D.unseen_words || 0) + " distinct, " +
       pct(D.unseen_word_rate || 0) + " of held-out words)");
  if (W.length) {
    var ot = html("table", "stats", app), h = html("tr", "", ot);
    html("th", "", h, "word");
    html("th", "", h, "count");
    var names = Object.keys(W[0].splits);
    names.forEach(function (n) { html("th", "", h, short(n)).title = n; });
    W.forEach(function (w) {
      var r = html("tr", "", ot);
      html("td", "", r, w.word);
      html("td", "num", r, String(w.count));
      names.forEach(function (n) { html("td", "toks", r, (w.splits[n] || []).join(" \u00b7 ")); });
    });
  }
  state.ready = true;
  window.zembed = state;
})();
