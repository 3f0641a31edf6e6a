// Browser checks of a `zembed tokstats --format html` page: node check_tokstats.js PAGE SHOT EXPECT.json
// EXPECT: the command's --format json output for the same run (the numbers the page must show).
"use strict";
const fs = require("fs");
const B = require("./browser");

async function main() {
  const [file, shot, expectFile] = process.argv.slice(2);
  const t = B.tests();
  const d = B.driver();
  if (d.skip) { t.skip(d.skip); return t.done(); }
  const want = JSON.parse(fs.readFileSync(expectFile, "utf8"));
  const T = want.tokenizers;
  const info = await B.withPage(file, shot, async (page) => {
    const z = await page.evaluate(() => window.zembed);
    t.check(z.rows === T.length, "one table row per tokenizer (" + T.length + ")");
    const cells = await page.evaluate(() => Array.from(document.querySelectorAll("table.stats")[0].querySelectorAll("tr"))
      .slice(1).map((r) => Array.from(r.querySelectorAll("td")).map((c) => c.textContent)));
    t.check(cells.length === T.length && cells.every((r, i) => r[0] === T[i].name && r[1] === String(T[i].vocab_size) &&
            r[2] === T[i].tokens_per_line.mean.toFixed(2)), "table: names, vocabulary sizes and tokens/line as the JSON");
    t.check(z.charts.length === 6, "six bar charts");
    const mean = z.charts.find((c) => c.title.startsWith("Tokens per line"));
    t.check(mean && mean.bars.length === T.length && mean.bars.every((b, i) => Math.abs(b.value - T[i].tokens_per_line.mean) < 1e-4),
            "tokens-per-line bars carry the JSON's means");
    const widths = await page.evaluate(() => Array.from(document.querySelectorAll(".chart")[0].querySelectorAll(".fill"))
      .map((e) => e.getBoundingClientRect().width));
    const iMax = T.reduce((m, x, i) => (x.tokens_per_line.mean > T[m].tokens_per_line.mean ? i : m), 0);
    t.check(widths.length === T.length && widths[iMax] === Math.max(...widths) && widths[iMax] > 100,
            "the longest bar is the tokenizer with the most tokens per line");
    const oov = await page.evaluate(() => document.querySelectorAll("table.stats")[1] ?
      document.querySelectorAll("table.stats")[1].querySelectorAll("tr").length - 1 : 0);
    t.check(oov === want.oov_words.length, "one row per unseen word (" + want.oov_words.length + ")");
  }, { fullPage: true });
  t.check(info.errors.length === 0, "no console errors (" + info.errors.join(" | ") + ")");
  t.check(info.requests.length === 0, "no network requests (" + info.requests.join(" ") + ")");
  await B.close();
  return t.done();
}
main().then((c) => process.exit(c), (e) => { console.error(e); console.log("0 passed, 1 failed"); process.exit(1); });
