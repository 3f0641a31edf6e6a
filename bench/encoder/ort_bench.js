// ONNX Runtime side of the encoder benchmark: the exported MiniLM-dims model on the benchmark's
// token ids, batches of 32 sorted by length and padded to the longest (as sentence-transformers
// feeds a padded runtime), intra-op threads as asked, one inter-op thread.
// usage: node ort_bench.js MODEL.onnx IDS.json THREADS REPEATS   -> one JSON line on stdout
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, '../../tests/peers/node_modules/onnxruntime-node'));

function batches(ids, size) {
    const order = ids.map((_, i) => i).sort((a, b) => ids[b].length - ids[a].length);
    const out = [];
    for (let s = 0; s < order.length; s += size) {
        const rows = order.slice(s, s + size).map((i) => ids[i]);
        const B = rows.length, L = rows[0].length;
        const x = new BigInt64Array(B * L), m = new BigInt64Array(B * L), t = new BigInt64Array(B * L);
        rows.forEach((r, b) => r.forEach((v, i) => { x[b * L + i] = BigInt(v); m[b * L + i] = 1n; }));
        out.push({
            input_ids: new ort.Tensor('int64', x, [B, L]),
            attention_mask: new ort.Tensor('int64', m, [B, L]),
            token_type_ids: new ort.Tensor('int64', t, [B, L]),
        });
    }
    return out;
}

async function main() {
    const [model, idsPath, threads, repeats] = process.argv.slice(2);
    const ids = require(path.resolve(idsPath));
    const sess = await ort.InferenceSession.create(model, {
        intraOpNumThreads: Number(threads), interOpNumThreads: 1, executionMode: 'sequential',
        graphOptimizationLevel: 'all',
    });
    const feeds = batches(ids, 32);
    for (const f of feeds.slice(0, 2)) await sess.run(f); // warm-up
    const times = [], cpu_times = []; // wall, and CPU of the whole process (all its threads)
    for (let r = 0; r < Number(repeats); r++) {
        const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
        for (const f of feeds) await sess.run(f);
        const c = process.cpuUsage(c0);
        times.push(Number(process.hrtime.bigint() - t0) / 1e9);
        cpu_times.push((c.user + c.system) / 1e6);
    }
    process.stdout.write(JSON.stringify({ engine: 'onnxruntime', threads: Number(threads), times, cpu_times }) + '\n');
}
main().catch((e) => { console.error(e); process.exit(1); });
