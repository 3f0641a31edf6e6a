// Run an exported encoder with ONNX Runtime (onnxruntime-node from tests/peers) on one padded batch.
// stdin: {"model": "m.onnx", "ids": [[...]], "mask": [[...]]}   stdout: last_hidden_state as JSON
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, '../peers/node_modules/onnxruntime-node'));

async function main() {
    const chunks = [];
    for await (const c of process.stdin) chunks.push(c);
    const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const B = req.ids.length, L = req.ids[0].length;
    const t = (rows) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [B, L]);
    const sess = await ort.InferenceSession.create(req.model);
    const out = await sess.run({
        input_ids: t(req.ids), attention_mask: t(req.mask),
        token_type_ids: t(req.ids.map((r) => r.map(() => 0))),
    });
    const h = out.last_hidden_state, H = h.dims[2], res = [];
    for (let b = 0; b < B; b++) {
        const rows = [];
        for (let i = 0; i < L; i++) rows.push(Array.from(h.data.subarray((b * L + i) * H, (b * L + i + 1) * H)));
        res.push(rows);
    }
    process.stdout.write(JSON.stringify(res));
}
main().catch((e) => { console.error(e); process.exit(1); });
