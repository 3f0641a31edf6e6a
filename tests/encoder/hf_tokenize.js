// Token ids and tokens from Hugging Face tokenizers (Node binding in tests/peers), truncated as
// sentence-transformers does (max_seq_length, longest_first, right side).
// stdin: {"tokenizer": "path/tokenizer.json", "max_length": 128, "texts": [...]}
// stdout: {"ids": [[...]], "tokens": [[...]]}
'use strict';
const path = require('path');
const { Tokenizer } = require(path.join(__dirname, '../peers/node_modules/tokenizers'));

async function main() {
    const chunks = [];
    for await (const c of process.stdin) chunks.push(c);
    const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const tok = Tokenizer.fromFile(req.tokenizer);
    tok.setTruncation(req.max_length);
    const ids = [], tokens = [];
    for (const t of req.texts) {
        const e = await tok.encode(t);
        ids.push(Array.from(e.getIds()));
        tokens.push(e.getTokens());
    }
    process.stdout.write(JSON.stringify({ ids, tokens }));
}
main().catch((e) => { console.error(e); process.exit(1); });
