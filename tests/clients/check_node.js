"use strict";
/* The Node client against a live pipeline, checked against the local commands' output.
 * usage: node check_node.js ENDPOINT TEXTS_FILE ENCODE_JSONL ENCODE_NORM_JSONL TOKENIZE_JSONL
 * Needs NODE_PATH with zeromq and @msgpack/msgpack (tests/peers/node_modules). */
const fs = require("fs");
const path = require("path");
const { Client, ZembedError, row } = require(path.join(process.env.ZEMBED_ROOT || ".", "clients/node/zembed_client.js"));

const [endpoint, textsFile, encFile, encNormFile, tokFile] = process.argv.slice(2);
const texts = fs.readFileSync(textsFile, "utf8").split("\n").slice(0, -1);
const jsonl = (f) => fs.readFileSync(f, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l));
const ref = jsonl(encFile).map((r) => r.embedding);
const refNorm = jsonl(encNormFile).map((r) => r.embedding);
const refTok = jsonl(tokFile);
let passed = 0, failed = 0;
function check(name, cond, detail = "") {
  if (cond) { passed++; console.log(`ok   ${name}`); } else { failed++; console.log(`FAIL ${name} ${detail}`); }
}
// Float32 values equal the JSON numbers rounded to float32 (encode prints enough digits to round-trip).
function sameRows(t, rows) {
  if (t.shape[0] !== rows.length || t.shape[1] !== rows[0].length) return false;
  for (let i = 0; i < rows.length; i++) {
    const r = row(t, i);
    for (let j = 0; j < r.length; j++) if (r[j] !== Math.fround(rows[i][j])) return false;
  }
  return true;
}
async function expectError(name, code, fragment, p) {
  try { await p; check(name, false, "no error"); } catch (e) {
    check(name, e instanceof ZembedError && e.code === code && e.message.includes(fragment), `${e.code}: ${e.message}`);
  }
}

async function main() {
  const c = new Client({ endpoint, timeoutMs: 20000 });
  try {
    const e = await c.embed(texts);
    check("embed equals zembed encode bit for bit", e.data instanceof Float32Array && sameRows(e, ref));
    check("embed token counts equal zembed tokenize", JSON.stringify(e.tokens) === JSON.stringify(refTok.map((r) => r.input_ids.length)));
    check("embed data is a view into the received message (no copy)", e.data.buffer.byteLength > e.data.byteLength);
    const en = await c.embed(texts, { normalize: true });
    check("embed normalize equals zembed encode --normalize", sameRows(en, refNorm));

    // Many requests in flight on one socket, replies matched by id. The encoder batches whatever is
    // queued, and another batch composition changes BLAS's last bits: close, not identical.
    const many = await Promise.all(texts.map((t) => c.embed([t])));
    check("20 concurrent requests each get their own reply (within 1e-5)", many.every((m, i) =>
      m.shape[0] === 1 && m.data.every((v, j) => Math.abs(v - ref[i][j]) <= 1e-5)));

    const toks = await c.tokenize(texts);
    check("tokenize equals zembed tokenize", toks.every((t, i) => JSON.stringify(t.ids) === JSON.stringify(refTok[i].input_ids)
      && JSON.stringify(t.tokens) === JSON.stringify(refTok[i].tokens) && JSON.stringify(t.offsets) === JSON.stringify(refTok[i].offsets)));

    const s = await c.similarity(texts.slice(0, 2), texts.slice(2, 5));
    let ok = s.shape[0] === 2 && s.shape[1] === 3;
    for (let i = 0; ok && i < 2; i++) for (let j = 0; j < 3; j++) {
      let dot = 0;
      for (let k = 0; k < refNorm[i].length; k++) dot += refNorm[i][k] * refNorm[2 + j][k];
      ok = ok && Math.abs(s.data[i * 3 + j] - dot) < 1e-5;
    }
    check("similarity equals the cosine of the encode vectors", ok);
    const b = await c.embed(texts.slice(0, 2), { normalize: true, dtype: "ubinary" });
    let bitsOk = b.data instanceof Uint8Array && b.shape[1] === Math.ceil(ref[0].length / 8);
    for (let i = 0; bitsOk && i < 2; i++) for (let j = 0; j < ref[0].length; j++) {
      const bit = (b.data[i * b.shape[1] + (j >> 3)] >> (7 - (j & 7))) & 1;
      bitsOk = bitsOk && bit === (refNorm[i][j] > 0 ? 1 : 0);
    }
    check("ubinary embeddings are the sign bits packed MSB first, Uint8Array [n, dim/8]", bitsOk);

    const info = await c.info();
    check("info: dim and the demo_model flag", info.dim === ref[0].length && info.demo_model === true);
    await expectError("too long with truncate false", "too_long", "texts[0]", c.embed(["word ".repeat(600)], { truncate: false }));
    await expectError("unknown argument", "invalid_argument", "colour", c.request("embed", { texts: ["a"], colour: 1 }));
    await expectError("unknown op", "unsupported", "", c.request("paint", {}));
  } catch (err) {
    failed++;
    console.log(`FAIL unexpected: ${err.stack || err}`);
  } finally {
    c.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}
main();
