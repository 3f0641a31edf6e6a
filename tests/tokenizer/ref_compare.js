#!/usr/bin/env node
// ref_compare.js: an independent reference for `zembed compare-tokenizers`, built on HF tokenizers'
// own normalizer, pre-tokenizer and encoder (Node binding). Prints the same JSON objects
// (one per strategy: character, word, subword).
//
// usage: ref_compare.js --model DIR --train FILE [--word-vocab N] [--char-vocab N] < corpus
//
// Definitions (as documented in cli/cli_compare.c and tokenizer_svc/tok_baseline.h):
//   character  code points of normalizeString(text), spaces dropped (clean_text maps all whitespace
//              to ' ', handle_chinese_chars pads CJK with ' ')
//   word       words of the BertPreTokenizer on the normalized text
//   vocab      the N-1 most frequent units of the training file (ties: bytewise UTF-8 order) +
//              [UNK]; N = 0 keeps every unit
//   subword    encode(text) without special tokens or truncation; a word is a token without "##"
//   p50/p95    nearest rank: the ceil(q*n)-th smallest
'use strict';
const fs = require('fs');
const path = require('path');
const PEERS = process.env.ZEMBED_PEERS || path.join(__dirname, '../peers/node_modules');
const { Tokenizer } = require(path.join(PEERS, 'tokenizers'));

function args() {
    const o = { model: null, train: null, wordVocab: null, charVocab: 0 };
    const a = process.argv.slice(2);
    for (let i = 0; i < a.length; i += 2) {
        if (a[i] === '--model') o.model = a[i + 1];
        else if (a[i] === '--train') o.train = a[i + 1];
        else if (a[i] === '--word-vocab') o.wordVocab = Number(a[i + 1]);
        else if (a[i] === '--char-vocab') o.charVocab = Number(a[i + 1]);
        else { process.stderr.write(`ref_compare.js: unknown flag ${a[i]}\n`); process.exit(2); }
    }
    return o;
}

const readLines = (buf) => { const s = buf.toString('utf8').split('\n'); if (s[s.length - 1] === '') s.pop(); return s; };

function main() {
    const o = args();
    const tok = Tokenizer.fromFile(path.join(o.model, 'tokenizer.json'));
    tok.disableTruncation();
    tok.disablePadding();
    const norm = tok.getNormalizer(), pre = tok.getPreTokenizer();
    const units = {
        character: (s) => Array.from(norm.normalizeString(s)).filter((c) => c !== ' '),
        word: (s) => pre.preTokenizeString(norm.normalizeString(s)).map((w) => w[0]),
    };
    const corpus = readLines(fs.readFileSync(0));
    const train = o.train ? readLines(fs.readFileSync(o.train)) : corpus;
    const vsize = o.wordVocab === null ? tok.getVocabSize(true) : o.wordVocab;
    const out = [];
    for (const [name, fn] of Object.entries(units)) {
        const counts = new Map();
        for (const l of train) for (const u of fn(l)) counts.set(u, (counts.get(u) || 0) + 1);
        const ranked = [...counts.entries()].sort((x, y) => y[1] - x[1] || Buffer.compare(Buffer.from(x[0]), Buffer.from(y[0])));
        const max = name === 'word' ? vsize : o.charVocab;
        const vocab = new Set(ranked.slice(0, max === 0 ? ranked.length : max - 1).map((x) => x[0]));
        const per = [];
        let oov = 0, linesOov = 0, words = 0, split = 0;
        for (const l of corpus) {
            const u = fn(l);
            const k = u.filter((x) => !vocab.has(x)).length;
            per.push(u.length); oov += k; linesOov += k > 0;
            const w = units.word(l);
            words += w.length;
            if (name === 'character') split += w.filter((x) => Array.from(x).length > 1).length;
        }
        out.push(summary(name, vocab.size + 1, o.train || 'corpus', per, oov, linesOov, words, split));
    }
    return Promise.all(corpus.map((l) => tok.encode(l, null, { addSpecialTokens: false }))).then((encs) => {
        const per = [];
        let oov = 0, linesOov = 0, words = 0, split = 0;
        for (const e of encs) {
            const t = e.getTokens();
            let k = 0, prev = false;
            for (const x of t) {
                const cont = x.startsWith('##');
                words += !cont; split += cont && !prev; prev = cont; k += x === '[UNK]';
            }
            per.push(t.length); oov += k; linesOov += k > 0;
        }
        out.push(summary('subword', tok.getVocabSize(true), null, per, oov, linesOov, words, split));
        for (const x of out) console.log(JSON.stringify(x));
    });
}

function summary(strategy, vocab, trainedOn, per, oov, linesOov, words, split) {
    const v = per.slice().sort((a, b) => a - b), n = v.length, tokens = v.reduce((a, b) => a + b, 0);
    const pct = (q) => (n ? v[Math.max(1, Math.ceil(q * n - 1e-9)) - 1] : 0);
    return {
        strategy, vocab_size: vocab, trained_on: trainedOn, lines: n, tokens,
        tokens_per_line: { mean: n ? tokens / n : 0, p50: pct(0.5), p95: pct(0.95), max: n ? v[n - 1] : 0 },
        oov_tokens: oov, oov_share: tokens ? oov / tokens : 0, lines_with_oov: linesOov, words,
        words_split: split, words_split_share: words ? split / words : 0,
    };
}
main().catch((e) => { process.stderr.write(`ref_compare.js: ${e.stack || e}\n`); process.exit(1); });
