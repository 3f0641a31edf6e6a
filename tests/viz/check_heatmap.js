// Browser checks of a `zembed similarity --html` page: node check_heatmap.js PAGE SHOT EXPECT.json
// EXPECT: the command's --format json output for the same texts (labels and values to find).
"use strict";
const fs = require("fs");
const B = require("./browser");

B.main(async (t, [file, shot, expectFile]) => {
  const want = JSON.parse(fs.readFileSync(expectFile, "utf8"));
  const info = await B.withPage(file, shot, async (page) => {
    const panels = await page.evaluate(() => window.zembed.panels);
    t.check(panels.length === want.layers.length, "one panel per layer (" + want.layers.length + ")");
    for (let k = 0; k < want.layers.length; k++) {
      const L = want.layers[k], P = panels[k] || { rows: [], cols: [] };
      t.check(JSON.stringify(P.rows) === JSON.stringify(L.rows) && JSON.stringify(P.cols) === JSON.stringify(L.cols),
              L.layer + ": row and column labels as the command printed them");
      // the DOM: cells, axis labels, the values written in the cells
      const dom = await page.evaluate((k) => {
        const svg = document.querySelectorAll(".panel svg")[k];
        return {
          cells: svg.querySelectorAll("g.cell rect").length,
          rowLabels: Array.from(svg.querySelectorAll("text.lab.row")).map((e) => e.getAttribute("data-label")),
          colLabels: Array.from(svg.querySelectorAll("text.lab.col")).map((e) => e.getAttribute("data-label")),
          values: Array.from(svg.querySelectorAll("g.cell")).map((g) => +g.getAttribute("data-v")),
          texts: Array.from(svg.querySelectorAll("g.cell text")).map((e) => e.textContent),
        };
      }, k);
      const R = L.rows.length, C = L.cols.length;
      t.check(dom.cells === R * C, L.layer + ": " + R + " x " + C + " cells drawn (got " + dom.cells + ")");
      t.check(JSON.stringify(dom.rowLabels) === JSON.stringify(L.rows) && JSON.stringify(dom.colLabels) === JSON.stringify(L.cols),
              L.layer + ": labels on both axes");
      let maxd = 0;
      for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) maxd = Math.max(maxd, Math.abs(dom.values[i * C + j] - L.scores[i][j]));
      t.check(maxd < 1e-6, L.layer + ": cell values equal the JSON output (max diff " + maxd + ")");
      if (R * C <= 900)
        t.check(dom.texts.length === R * C && dom.texts[0] === (Math.abs(L.scores[0][0]) < 0.005 ? 0 : L.scores[0][0]).toFixed(2), L.layer + ": values written in the cells");
      // hover the centre of cell (R-1, C-1): the tooltip names both tokens and the value
      const box = await page.evaluate((k) => {
        const cells = document.querySelectorAll(".panel svg")[k].querySelectorAll("g.cell rect");
        const r = cells[cells.length - 1].getBoundingClientRect();
        return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
      }, k);
      await page.mouse.move(box.x, box.y);
      const tip = await page.evaluate(() => ({ text: document.getElementById("tip").textContent, shown: document.getElementById("tip").style.display }));
      const wantTip = L.rows[R - 1] + " \u00d7 " + L.cols[C - 1] + ": " + L.scores[R - 1][C - 1].toFixed(4);
      t.check(tip.shown === "block" && tip.text === wantTip, L.layer + ": hover shows '" + wantTip + "' (got '" + tip.text + "')");
    }
    const scale = await page.evaluate(() => document.querySelectorAll("svg.scale stop").length);
    t.check(scale >= 3, "a colour scale is drawn");
    const demo = await page.evaluate(() => !!document.querySelector(".demo"));
    t.check(demo === !!want.demo_model, "the demo-model warning is shown exactly when the model is a demo model");
  }, { fullPage: true });
  t.check(info.errors.length === 0, "no console errors (" + info.errors.join(" | ") + ")");
  t.check(info.requests.length === 0, "no network requests (" + info.requests.join(" ") + ")");
});
