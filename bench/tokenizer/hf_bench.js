#!/usr/bin/env node
// hf_bench.js: throughput of Hugging Face tokenizers (Node binding, tests/peers) on a text file,
// one line = one text, configured like bench_tokenizer: [CLS]/[SEP] added, no truncation, no padding.
//
//   hf_bench.js --model DIR --input FILE [--api batch|encode] [--repeat R]
//
//   batch   encodeBatch over slices of 1024 lines; the Rust side spreads a batch over its rayon
//           pool, so RAYON_NUM_THREADS (set by the caller) picks single thread or all cores
//   encode  one awaited encode() per line, the way most Node code calls it
// Only the encode calls are timed. Prints one JSON line like bench_tokenizer's, including the median
// CPU seconds (process.cpuUsage: user + sys of every thread) of a run.
'use strict';
const fs = require('fs');
const path = require('path');
const PEERS = process.env.ZEMBED_PEERS || path.join(__dirname, '../../tests/peers/node_modules');
const { Tokenizer } = require(path.join(PEERS, 'tokenizers'));

async function main() {
    const a = process.argv.slice(2), o = { api: 'batch', repeat: 5 };
    for (let i = 0; i < a.length; i += 2) o[a[i].replace(/^--/, '')] = a[i + 1];
    if (!o.model || !o.input || !['batch', 'encode'].includes(o.api)) {
        process.stderr.write('usage: hf_bench.js --model DIR --input FILE [--api batch|encode] [--repeat R]\n');
        process.exit(2);
    }
    const tok = Tokenizer.fromFile(path.join(o.model, 'tokenizer.json'));
    tok.disableTruncation();
    tok.disablePadding();
    const buf = fs.readFileSync(o.input);
    const lines = buf.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const BATCH = 1024;
    const secs = [], cpus = [];
    let tokens = 0;
    for (let rep = 0; rep < Number(o.repeat); rep++) {
        let elapsed = 0n, cpu = 0;
        tokens = 0;
        const cpuSince = (c0) => { const d = process.cpuUsage(c0); return (d.user + d.system) / 1e6; };
        if (o.api === 'batch') {
            for (let i = 0; i < lines.length; i += BATCH) {
                const slice = lines.slice(i, i + BATCH);
                const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
                const encs = await tok.encodeBatch(slice);
                elapsed += process.hrtime.bigint() - t0;
                cpu += cpuSince(c0);
                for (const e of encs) tokens += e.getLength();   // not timed
            }
        } else {
            for (const l of lines) {
                const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
                const e = await tok.encode(l);
                elapsed += process.hrtime.bigint() - t0;
                cpu += cpuSince(c0);
                tokens += e.getLength();
            }
        }
        secs.push(Number(elapsed) / 1e9);
        cpus.push(cpu);
    }
    const median = (v) => { v.sort((x, y) => x - y); const n = v.length; return n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2; };
    const med = median(secs), medCpu = median(cpus);
    console.log(JSON.stringify({
        impl: `hf-${o.api}`, threads: process.env.RAYON_NUM_THREADS || 'default', lines: lines.length,
        bytes: buf.length, tokens, median_s: med, min_s: secs[0], mb_s: buf.length / 1e6 / med,
        tokens_s: Math.round(tokens / med), cpu_s: medCpu, mb_per_cpu_s: medCpu > 0 ? buf.length / 1e6 / medCpu : 0,
        peak_rss_kb: process.resourceUsage().maxRSS,
    }));
}
main().catch((e) => { process.stderr.write(`hf_bench.js: ${e.stack || e}\n`); process.exit(1); });
