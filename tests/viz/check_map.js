// Browser checks of a `zembed map --html` page: node check_map.js PAGE SHOT EXPECT.json
// EXPECT: {n, groups: {name: count}, search: token, neighbours: [k tokens] | null}
"use strict";
const fs = require("fs");
const B = require("./browser");

B.main(async (t, [file, shot, expectFile]) => {
  const want = JSON.parse(fs.readFileSync(expectFile, "utf8"));
  const info = await B.withPage(file, shot, async (page) => {
    const s = await page.evaluate(() => ({ points: zembed.points, drawn: zembed.drawn, groups: zembed.groups, counts: zembed.counts,
                                           canvases: document.querySelectorAll("canvas").length,
                                           nodes: document.getElementsByTagName("*").length }));
    t.check(s.points === want.n, "points in the page's data: " + s.points + " (want " + want.n + ")");
    t.check(s.drawn === want.n, "every point drawn on the canvas at the start: " + s.drawn);
    t.check(s.canvases === 1 && s.nodes < 200, "one canvas, no DOM node per point (" + s.nodes + " elements)");
    const counts = {};
    s.groups.forEach((g, i) => { if (s.counts[i]) counts[g] = s.counts[i]; });
    t.check(JSON.stringify(counts) === JSON.stringify(want.groups), "group counts " + JSON.stringify(counts) + " as the TSV says");
    const legend = await page.evaluate(() => Array.from(document.querySelectorAll(".legend input")).map((e) => e.getAttribute("data-group")));
    t.check(JSON.stringify(legend) === JSON.stringify(Object.keys(want.groups)), "a legend entry per group present: " + legend.join(", "));

    // hover the point farthest from its nearest neighbour on screen: the tooltip names it
    const target = await page.evaluate(() => {
      const D = JSON.parse(document.getElementById("zembed-data").textContent);
      const m = Math.min(D.n, 1500), P = [];
      for (let j = 0; j < D.n; j++) P.push(zembed.toClient(j));
      let best = -1, bestd = -1;
      for (let i = 0; i < m; i++) {            // candidates: the first rows; rivals: every point
        const a = P[i];
        let nd = Infinity;
        for (let j = 0; j < D.n; j++) if (j !== i) { const b = P[j]; nd = Math.min(nd, (a.x - b.x) ** 2 + (a.y - b.y) ** 2); }
        if (nd > bestd) { bestd = nd; best = i; }
      }
      return { i: best, p: zembed.toClient(best), token: D.tokens[best] };
    });
    await page.mouse.move(target.p.x, target.p.y);
    const tip = await page.evaluate(() => ({ text: document.getElementById("tip").textContent, shown: document.getElementById("tip").style.display, hover: zembed.hover }));
    t.check(tip.shown === "block" && tip.hover === target.token && tip.text.startsWith(target.token),
            "hover shows the token '" + target.token + "' (tooltip '" + tip.text.replace(/\n/g, " | ") + "')");

    // legend toggle: a group off removes exactly its points from the canvas
    const g0 = Object.keys(want.groups)[0];
    await page.click('.legend input[data-group="' + g0 + '"]');
    let drawn = await page.evaluate(() => zembed.drawn);
    t.check(drawn === want.n - want.groups[g0], "legend: '" + g0 + "' off leaves " + drawn + " points");
    await page.click('.legend input[data-group="' + g0 + '"]');
    drawn = await page.evaluate(() => zembed.drawn);
    t.check(drawn === want.n, "legend: back on, all points again");

    // zoom in around the centre, then pan; double-click resets
    const box = await page.evaluate(() => { const r = document.getElementById("map").getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; });
    const v0 = await page.evaluate(() => zembed.view());
    await page.mouse.move(box.x, box.y);
    await page.mouse.wheel(0, -600);
    await page.waitForTimeout(100);
    const v1 = await page.evaluate(() => zembed.view());
    t.check(v1.scale > v0.scale * 2, "wheel zooms in (scale " + v0.scale.toFixed(4) + " -> " + v1.scale.toFixed(4) + ")");
    await page.mouse.down(); await page.mouse.move(box.x + 80, box.y + 40, { steps: 4 }); await page.mouse.up();
    const v2 = await page.evaluate(() => zembed.view());
    t.check(Math.abs(v2.ox - v1.ox - 80) < 1 && Math.abs(v2.oy - v1.oy + 40) < 1, "drag pans by the mouse movement");
    await page.screenshot({ path: require("path").join(B.ARTIFACTS, shot + "-zoomed.png") });
    await page.mouse.dblclick(box.x, box.y);
    const v3 = await page.evaluate(() => zembed.view());
    t.check(Math.abs(v3.scale - v0.scale) < 1e-9, "double-click resets the view");

    // search: the token and its nearest neighbours are highlighted
    await page.fill("#search", want.search);
    const hl = await page.evaluate(() => zembed.highlighted);
    t.check(hl[0] === want.search && hl.length > 1, "search '" + want.search + "' highlights it and " + (hl.length - 1) + " neighbours");
    if (want.neighbours)
      t.check(JSON.stringify(hl.slice(1)) === JSON.stringify(want.neighbours), "its neighbours are the nearest in the original space: " + hl.slice(1).join(" "));
    const nnText = await page.evaluate(() => document.getElementById("nn").textContent);
    t.check(nnText.startsWith(want.search), "the neighbour list is written next to the box");
    // redraw time, reported (no threshold: shared machines)
    const ms = await page.evaluate(() => { const t0 = performance.now(); for (let r = 0; r < 5; r++) zembed.setVisible(0, true); return (performance.now() - t0) / 5; });
    console.log("redraw of " + want.n + " points: " + ms.toFixed(1) + " ms");
  });
  t.check(info.errors.length === 0, "no console errors (" + info.errors.join(" | ") + ")");
  t.check(info.requests.length === 0, "no network requests (" + info.requests.join(" ") + ")");
});
