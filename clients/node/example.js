#!/usr/bin/env node
"use strict";
/* Example: embed a few sentences with a running zembed pipeline and rank them by similarity.
 *   deploy/zembed-up &        # or: make run
 *   cd clients/node && npm ci && node example.js [--endpoint tcp://127.0.0.1:5555] ["query" "doc" ...]
 */
const { Client, row } = require("./zembed_client");

async function main() {
  const argv = process.argv.slice(2);
  let endpoint;
  const i = argv.indexOf("--endpoint");
  if (i >= 0) endpoint = argv.splice(i, 2)[1];
  const query = argv[0] || "A man is playing a guitar.";
  const docs = argv.length > 1 ? argv.slice(1)
    : ["Someone plays an instrument.", "A woman is slicing an onion.", "The man is playing music.", "Stocks fell sharply today."];
  const c = new Client({ endpoint, timeoutMs: 10000 });
  try {
    const info = await c.info();
    console.log(`model ${info.model}: dim ${info.dim}, max_length ${info.max_length}, pooling ${info.pooling}`);
    if (info.demo_model) console.log("note: this is the generated DEMO model (random weights): the scores mean nothing");
    const e = await c.embed([query, ...docs], { normalize: true });
    const q = row(e, 0);
    const scored = docs.map((d, k) => {
      const v = row(e, k + 1);
      let s = 0;
      for (let j = 0; j < v.length; j++) s += v[j] * q[j]; // normalized: the dot product is the cosine
      return [s, d];
    }).sort((a, b) => b[0] - a[0]);
    console.log(`query: ${JSON.stringify(query)} (${e.tokens[0]} tokens)`);
    for (const [s, d] of scored) console.log(`  ${s.toFixed(4)}  ${d}`);
  } catch (err) {
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
  } finally {
    c.close();
  }
}
main();
