// Browser checks of the `make demo` folder: node check_index.js DIR SHOT
// The index shows the ids and tokens of "Walker walked a long walk", links to pages that exist and
// load without errors; each linked page is opened too (a screenshot of each).
"use strict";
const fs = require("fs");
const path = require("path");
const B = require("./browser");

B.main(async (t, [dir, shot]) => {
  let links = [];
  const info = await B.withPage(path.join(dir, "index.html"), shot, async (page) => {
    const z = await page.evaluate(() => ({ ids: zembed.ids, tokens: zembed.tokens }));
    t.check(JSON.stringify(z.ids) === "[101,5232,2939,1037,2146,3328,102]", "ids of 'Walker walked a long walk': " + z.ids.join(" "));
    t.check(JSON.stringify(z.tokens) === JSON.stringify(["[CLS]", "walker", "walked", "a", "long", "walk", "[SEP]"]), "tokens: " + z.tokens.join(" "));
    const cells = await page.evaluate(() => Array.from(document.querySelectorAll("td.id")).map((e) => e.textContent));
    t.check(cells.join(" ") === "101 5232 2939 1037 2146 3328 102", "the ids are in the page's table");
    links = await page.evaluate(() => Array.from(document.querySelectorAll("a")).map((a) => a.getAttribute("href")));
    t.check(["tokenization.html", "similarity.html", "sentences.html", "map.html"].every((l) => links.includes(l)),
            "links to the tokenization strategies, the heatmaps and the map: " + links.join(", "));
    const groups = await page.evaluate(() => Array.from(document.querySelectorAll("th")).map((e) => e.textContent));
    t.check(groups.includes("special") && groups.includes("continuation"), "vocabulary groups listed");
  }, { fullPage: true });
  t.check(info.errors.length === 0 && info.requests.length === 0, "index: no console errors, no network");
  for (const l of links) {
    const f = path.join(dir, l);
    t.check(fs.existsSync(f), l + " exists");
    if (!fs.existsSync(f)) continue;
    const i2 = await B.withPage(f, shot + "-" + l.replace(/\.html$/, ""), async () => {}, { fullPage: l !== "map.html" });
    t.check(i2.errors.length === 0 && i2.requests.length === 0, l + ": loads without console errors or network");
  }
});
