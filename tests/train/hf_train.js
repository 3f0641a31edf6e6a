#!/usr/bin/env node
// HF tokenizers' side of the trainer parity: trains with the Node binding exactly as the issue
// says (new Tokenizer(<Model>.empty()), normalizer and pre-tokenizer set, tokenizer.train(files):
// the binding's default trainer, vocab 30000, min_frequency 0, no special tokens) and saves the
// tokenizer.json. Flags mirror `zembed train-tokenizer` for the parts the binding can set:
//
//   node hf_train.js --type bpe|wordpiece|wordlevel --out FILE [--normalizer bert|nfkc|lowercase|none]
//                    [--pre-tokenizer byte-level|bert|whitespace|metaspace] CORPUS...
//
// The binding prints bare newlines on stdout while training (its progress bar, from Rust: callers
// send stdout to /dev/null); the time taken goes to stderr.
'use strict';
const path = require('path');
const tk = require(path.join(__dirname, '../peers/node_modules/tokenizers'));

const args = process.argv.slice(2);
const opt = { type: 'bpe', normalizer: 'none', preTokenizer: 'byte-level', out: null, files: [] };
for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--type') opt.type = args[++i];
    else if (a === '--out') opt.out = args[++i];
    else if (a === '--normalizer') opt.normalizer = args[++i];
    else if (a === '--pre-tokenizer') opt.preTokenizer = args[++i];
    else opt.files.push(a);
}
if (!opt.out || !opt.files.length) {
    console.error('usage: hf_train.js --type T --out FILE [--normalizer N] [--pre-tokenizer P] CORPUS...');
    process.exit(2);
}

const model = { bpe: tk.BPE, wordpiece: tk.WordPiece, wordlevel: tk.WordLevel }[opt.type];
if (!model) { console.error(`hf_train.js: --type ${opt.type}?`); process.exit(2); }
const t = new tk.Tokenizer(model.empty());

const norm = {
    bert: () => tk.bertNormalizer(),
    nfkc: () => tk.nfkcNormalizer(),
    lowercase: () => tk.lowercase(),
    none: () => null,
}[opt.normalizer];
const pre = {
    'byte-level': () => tk.byteLevelPreTokenizer(false, true),
    bert: () => tk.bertPreTokenizer(),
    whitespace: () => tk.whitespacePreTokenizer(),
    metaspace: () => tk.metaspacePreTokenizer(),
}[opt.preTokenizer];
if (!norm || !pre) { console.error('hf_train.js: unknown normalizer or pre-tokenizer'); process.exit(2); }
if (norm()) t.setNormalizer(norm());
t.setPreTokenizer(pre());

const start = process.hrtime.bigint();
t.train(opt.files.map((f) => path.resolve(f)));
const secs = Number(process.hrtime.bigint() - start) / 1e9;
t.save(opt.out, true);
console.error(`hf_train.js: ${opt.type} trained in ${secs.toFixed(3)} s, vocab ${t.getVocabSize(true)}`);
