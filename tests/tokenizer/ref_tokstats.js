#!/usr/bin/env node
// ref_tokstats.js: an independent reference for `zembed tokstats`, built on HF tokenizers' own
// normalizer, pre-tokenizer and encoder (Node binding). Prints the JSON fields zembed's
// --format json has for the tokenizers it knows (char, word, model folders) and the unseen words.
//
// usage: ref_tokstats.js --corpus FILE --holdout F --norm-model DIR [--oov N] TOKENIZER...
//   TOKENIZER: char | word | a model folder.  --norm-model: a BERT folder whose BertNormalizer /
//   BertPreTokenizer are the ones zembed's char / word levels use (HF's defaults).
//
// Definitions (as in cli/cli_tokstats.c --help):
//   held out     line i (0-based) when floor((i+1)F) > floor(iF); F = 0: evaluate on all lines
//   char / word  code points (spaces dropped) / BertPreTokenizer words of the normalized text;
//                vocabulary: every unit of the training lines + [UNK]
//   model        encode(text) without special tokens or truncation; unknown = the [UNK] id
//   p50/p95      nearest rank; vocab_used: distinct ids seen on the evaluated lines
//   unseen words words (word level) of the evaluated lines not in the training lines, count desc
//                then UTF-8 bytes asc, each with the model folders' tokens of " " + word
'use strict';
const fs = require('fs');
const path = require('path');
const PEERS = process.env.ZEMBED_PEERS || path.join(__dirname, '../peers/node_modules');
const { Tokenizer } = require(path.join(PEERS, 'tokenizers'));

function args() {
    const o = { corpus: null, holdout: 0.1, normModel: null, oov: 10, toks: [] };
    const a = process.argv.slice(2);
    for (let i = 0; i < a.length; i++) {
        if (a[i] === '--corpus') o.corpus = a[++i];
        else if (a[i] === '--holdout') o.holdout = Number(a[++i]);
        else if (a[i] === '--norm-model') o.normModel = a[++i];
        else if (a[i] === '--oov') o.oov = Number(a[++i]);
        else o.toks.push(a[i]);
    }
    return o;
}

const bcmp = (x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y));
const pct = (v, q) => (v.length ? v[Math.max(1, Math.ceil(q * v.length - 1e-9)) - 1] : 0);

function stats(name, kind, vocabSize, per, unk, used, bytes) {
    const v = per.slice().sort((a, b) => a - b), tokens = v.reduce((a, b) => a + b, 0), n = v.length;
    return {
        name, kind, vocab_size: vocabSize, tokens,
        tokens_per_line: { mean: n ? tokens / n : 0, p50: pct(v, 0.5), p95: pct(v, 0.95), max: n ? v[n - 1] : 0 },
        bytes_per_token: tokens ? bytes / tokens : 0, unk_tokens: unk, unk_rate: tokens ? unk / tokens : 0,
        vocab_used: used, vocab_used_share: vocabSize ? used / vocabSize : 0,
    };
}

async function main() {
    const o = args();
    const lines = fs.readFileSync(o.corpus, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const held = lines.map((_, i) => Math.floor((i + 1) * o.holdout) > Math.floor(i * o.holdout));
    const anyHeld = held.some((x) => x);
    const train = lines.filter((_, i) => !held[i] || !anyHeld), evalL = lines.filter((_, i) => held[i] || !anyHeld);
    const bytes = evalL.reduce((a, l) => a + Buffer.byteLength(l), 0);
    const nt = Tokenizer.fromFile(path.join(o.normModel, 'tokenizer.json'));
    const norm = nt.getNormalizer(), pre = nt.getPreTokenizer();
    const units = {
        char: (s) => Array.from(norm.normalizeString(s)).filter((c) => c !== ' '),
        word: (s) => pre.preTokenizeString(norm.normalizeString(s)).map((w) => w[0]),
    };
    const models = {};
    const out = { lines: lines.length, train_lines: train.length, eval_lines: evalL.length, eval_bytes: bytes, tokenizers: [] };
    for (const t of o.toks) {
        if (units[t]) {
            const vocab = new Set();
            for (const l of train) for (const u of units[t](l)) vocab.add(u);
            const per = [], seen = new Set();
            let unk = 0, anyUnk = 0;
            for (const l of evalL) {
                const u = units[t](l);
                per.push(u.length);
                for (const x of u) if (vocab.has(x)) seen.add(x); else { unk++; anyUnk = 1; }
            }
            out.tokenizers.push(stats(t, t, vocab.size + 1, per, unk, seen.size + anyUnk, bytes));
        } else {
            const tk = Tokenizer.fromFile(path.join(t, 'tokenizer.json'));
            tk.disableTruncation(); tk.disablePadding();
            models[t] = tk;
            const unkId = tk.tokenToId('[UNK]');
            const per = [], seen = new Set();
            let unk = 0;
            for (const l of evalL) {
                const ids = (await tk.encode(l, null, { addSpecialTokens: false })).getIds();
                per.push(ids.length);
                for (const id of ids) { seen.add(id); unk += id === unkId; }
            }
            out.tokenizers.push(stats(t, 'model', tk.getVocabSize(true), per, unk, seen.size, bytes));
        }
    }
    const trainWords = new Set();
    for (const l of train) for (const w of units.word(l)) trainWords.add(w);
    const unseen = new Map();
    let words = 0, occ = 0;
    for (const l of evalL) for (const w of units.word(l)) {
        words++;
        if (!trainWords.has(w)) { occ++; unseen.set(w, (unseen.get(w) || 0) + 1); }
    }
    out.heldout_words = words; out.unseen_words = unseen.size; out.unseen_word_occurrences = occ;
    out.oov_words = [];
    for (const [w, c] of [...unseen.entries()].sort((x, y) => y[1] - x[1] || bcmp(x[0], y[0])).slice(0, o.oov)) {
        const splits = {};
        for (const [name, tk] of Object.entries(models))
            splits[name] = (await tk.encode(' ' + w, null, { addSpecialTokens: false })).getTokens();
        out.oov_words.push({ word: w, count: c, splits });
    }
    console.log(JSON.stringify(out));
}
main().catch((e) => { process.stderr.write(`ref_tokstats.js: ${e.stack || e}\n`); process.exit(1); });
