#!/usr/bin/env node
// make_bpe_fixtures.js OUTDIR CORPUS: tokenizer folders for the BPE parity test, made by HF
// tokenizers itself (Node binding, tests/peers) from CORPUS (gen_corpus.js single.txt):
//   OUTDIR/roberta    byte-level BPE trained by HF's BpeTrainer (Node defaults: vocab 30000),
//                     ByteLevel pre-tokenizer (add_prefix_space) and decoder, RobertaProcessing,
//                     specials <s> <pad> </s> <unk> <mask> added after training (lstrip <mask>)
//   OUTDIR/wordlevel  WordLevel over NFKC + Lowercase + Whitespace: [UNK] and the 3000 most
//                     frequent words (count desc, then byte order, as HF's WordLevelTrainer), with
//                     TemplateProcessing [CLS] $A [SEP] / [CLS] $A [SEP] $B:1 [SEP]:1
//   OUTDIR/bpe-wp     BPE with continuing_subword_prefix "##" and end_of_word_suffix "</w>",
//                     vocab and merges derived from the roberta run's merges (loaded by HF, so a
//                     valid file), Whitespace pre-tokenizer, BPEDecoder
// Deterministic: BPE training is (no prefix/suffix, no limit_alphabet), the rest is sorted.
'use strict';
const fs = require('fs');
const path = require('path');
const PEERS = process.env.ZEMBED_PEERS || path.join(__dirname, '../peers/node_modules');
const tk = require(path.join(PEERS, 'tokenizers'));

const [outdir, corpus] = process.argv.slice(2);
if (!outdir || !corpus) {
    process.stderr.write('usage: make_bpe_fixtures.js OUTDIR CORPUS\n');
    process.exit(2);
}
const write = (name, obj) => {
    fs.mkdirSync(path.join(outdir, name), { recursive: true });
    fs.writeFileSync(path.join(outdir, name, 'tokenizer.json'), typeof obj === 'string' ? obj : JSON.stringify(obj));
};

// ---- roberta: trained by HF ----
const t = new tk.Tokenizer(tk.BPE.empty());
t.setPreTokenizer(tk.byteLevelPreTokenizer(true, true));
const log = process.stdout.write;
process.stdout.write = () => true;          // the trainer prints progress newlines on stdout
t.train([corpus]);
process.stdout.write = log;
fs.mkdirSync(path.join(outdir, 'roberta'), { recursive: true });
t.save(path.join(outdir, 'roberta', 'tokenizer.json'));
const rob = JSON.parse(fs.readFileSync(path.join(outdir, 'roberta', 'tokenizer.json'), 'utf8'));
rob.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
const base = Object.keys(rob.model.vocab).length;
const specials = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'];
rob.added_tokens = specials.map((content, i) => ({
    id: base + i, content, single_word: false, lstrip: content === '<mask>', rstrip: false,
    normalized: false, special: true,
}));
rob.post_processor = {
    type: 'RobertaProcessing', sep: ['</s>', base + 2], cls: ['<s>', base], trim_offsets: true,
    add_prefix_space: true,
};
write('roberta', rob);
tk.Tokenizer.fromString(JSON.stringify(rob));   // HF must load what we wrote

// ---- wordlevel ----
const norm = tk.sequenceNormalizer([tk.nfkcNormalizer(), tk.lowercase()]);
const pre = tk.whitespacePreTokenizer();
const counts = new Map();
for (const line of fs.readFileSync(corpus, 'utf8').split('\n')) {
    for (const [w] of pre.preTokenizeString(norm.normalizeString(line)))
        counts.set(w, (counts.get(w) || 0) + 1);
}
const cmpBytes = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
// jansson (zembed's JSON reader) refuses U+0000 in object keys: keep such words out of the vocab
const words = [...counts].filter(x => !x[0].includes('\0')).sort((a, b) => b[1] - a[1] || cmpBytes(a[0], b[0])).slice(0, 3000).map(x => x[0]);
const wvocab = { '[UNK]': 0, '[CLS]': 1, '[SEP]': 2 };
for (const w of words) if (!(w in wvocab)) wvocab[w] = Object.keys(wvocab).length;
const wl = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: ['[UNK]', '[CLS]', '[SEP]'].map((content, id) => ({
        id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: '[SEP]', type_id: 0 } }],
        pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } },
            { SpecialToken: { id: '[SEP]', type_id: 1 } }],
        special_tokens: { '[CLS]': { id: '[CLS]', ids: [1], tokens: ['[CLS]'] },
            '[SEP]': { id: '[SEP]', ids: [2], tokens: ['[SEP]'] } },
    },
    decoder: null,
    model: { type: 'WordLevel', vocab: wvocab, unk_token: '[UNK]' },
};
write('wordlevel', wl);
tk.Tokenizer.fromString(JSON.stringify(wl));

// ---- bpe-wp: prefix + suffix. Each roberta merge (a, b) of plain letters becomes the merges a
// word-initial / inner, final / non-final pair would need: (a|##a, ##b|##b</w>). ----
const merges = [], vocab = { '<unk>': 0 };
const add = s => { if (!(s in vocab)) vocab[s] = Object.keys(vocab).length; };
const plain = s => [...s].every(c => /[\p{L}\p{N}]/u.test(c));
for (const m of rob.model.merges) {
    const [a, b] = Array.isArray(m) ? m : m.split(' ');
    if (!plain(a) || !plain(b)) continue;
    for (const c of [...a, ...b]) { add(c); add('##' + c); add(c + '</w>'); add('##' + c + '</w>'); }
    for (const x of [a, '##' + a])
        for (const y of ['##' + b, '##' + b + '</w>']) {
            add(x); add(y); add(x + y.slice(2));
            merges.push([x, y]);
        }
    if (merges.length >= 8000) break;
}
const wp = {
    version: '1.0', truncation: null, padding: null, added_tokens: [
        { id: 0, content: '<unk>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null, pre_tokenizer: { type: 'Whitespace' }, post_processor: null,
    decoder: { type: 'BPEDecoder', suffix: '</w>' },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: '##',
        end_of_word_suffix: '</w>', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
};
write('bpe-wp', wp);
tk.Tokenizer.fromString(JSON.stringify(wp));
