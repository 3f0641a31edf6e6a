#!/usr/bin/env node
// tok_golden.js: writes tok_golden.json, HF tokenizers' own outputs (Node binding 0.23.2,
// tests/peers) for every normalizer, pre-tokenizer and decoder of the general pipeline, checked by
// tok_golden_test.c. Run from the repository root:  node tokenizer_svc/tok_golden.js
//
// Each case is a tokenizer.json (WordLevel model, only "[UNK]") with one component under test:
//   normalizer     -> "normalized": HF's normalizeString(input); "offsets": the offsets HF gives
//                     for each normalized char (pre-tokenizer Split [\s\S] isolated, every char a
//                     word of its own, each an [UNK] token), i.e. the alignments
//   pre_tokenizer  -> "words": preTokenizeString(input) = [word, [start, end]] (code points)
//   decoder        -> "tokens" -> "text": HF's Decoder.decode(tokens)
'use strict';
const fs = require('fs');
const path = require('path');
const PEERS = process.env.ZEMBED_PEERS || path.join(__dirname, '../tests/peers/node_modules');
const { Tokenizer } = require(path.join(PEERS, 'tokenizers'));

const INPUTS = [
    '', 'a', 'Hello World', "Don't I'm it's   3.5€ x2  ", 'ÅΣσς İstanbul ǅ', 'e\u0301 a\u0308\u0323 \u1E0B\u0323',
    'ﬁ ① ｶ ㌀ ½ ²', '  tabs\tand\nnewlines\r\n ', 'x\u00a0y\u2003z\u200bw', '日本語 中文 한국어 가',
    '😀 emoji 👍🏽 ok', 'Ｆｕｌｌ ｗｉｄｔｈ', 'A\u030A\u0301 c\u3099\u0308', 'the-final--countdown-', '4½x Ⅻa a\u200db',
    '$100 + 20% = ?!', '▁already▁has ▁marks', 'hey  you', 'αβγ ΑΒΓ ß ẞ', '\u0000ctl\u0007\u001f',
];
const wl = { type: 'WordLevel', vocab: { '[UNK]': 0 }, unk_token: '[UNK]' };
const tok = (extra) => Tokenizer.fromString(JSON.stringify(Object.assign({
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null, pre_tokenizer: null,
    post_processor: null, decoder: null, model: wl }, extra)));
const EACH_CHAR = { type: 'Split', pattern: { Regex: '[\\s\\S]' }, behavior: 'Isolated', invert: false };

const NORMALIZERS = [
    { type: 'NFC' }, { type: 'NFD' }, { type: 'NFKC' }, { type: 'NFKD' }, { type: 'Lowercase' },
    { type: 'Strip', strip_left: true, strip_right: true }, { type: 'Strip', strip_left: false, strip_right: true },
    { type: 'StripAccents' }, { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }] },
    { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' },
    { type: 'Replace', pattern: { Regex: '\\s+' }, content: '_' },
    { type: 'Replace', pattern: { Regex: 'o' }, content: '' },
    { type: 'Replace', pattern: { String: 'll' }, content: 'LLL' },
    { type: 'Prepend', prepend: '\u2581' },
    { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }] },
    { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: false, strip_accents: false, lowercase: false },
    { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
];
const PRETOKENIZERS = [
    { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    { type: 'Whitespace' }, { type: 'WhitespaceSplit' }, { type: 'BertPreTokenizer' },
    { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
    { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: true },
    { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'never', split: false },
    { type: 'Digits', individual_digits: false }, { type: 'Digits', individual_digits: true },
    { type: 'Punctuation', behavior: 'Isolated' }, { type: 'Punctuation', behavior: 'MergedWithPrevious' },
    { type: 'CharDelimiterSplit', delimiter: '-' },
    ...['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'].flatMap(b => [false, true].map(inv =>
        ({ type: 'Split', pattern: { String: '-' }, behavior: b, invert: inv }))),
    { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'MergedWithNext', invert: false },
    { type: 'Split', pattern: { Regex: 'a*' }, behavior: 'Isolated', invert: false },
    { type: 'Split', pattern: { Regex: '\\p{N}{1,3}' }, behavior: 'Isolated', invert: false },
    { type: 'Split', pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
    { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Digits', individual_digits: true },
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: false }] },
];
const DECODERS = [
    [{ type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
        ['Ġhello', 'Ġw', 'Ã¶', 'rld', 'ĠðŁĺ', 'Ģ', 'Ġbad', 'Ã', 'plain text', 'Ċ']],
    [{ type: 'ByteFallback' }, ['<0xE2>', '<0x82>', '<0xAC>', 'x', '<0xE2>', '<0x82>', 'y', '<0x41>', '<0xff>', '<0x4>']],
    [{ type: 'Fuse' }, ['a', 'b ', ' c']],
    [{ type: 'Strip', content: ' ', start: 1, stop: 2 }, ['  a  ', ' b', 'c   ', 'dd']],  // a token of spaces only makes HF 0.23.2 panic (strip.rs:47),
    [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, ['\u2581hello', 'wo\u2581\u2581rld']],
    [{ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true }, ['\u2581Hey', '\u2581', '\u2581you\u2581', 'x']],
    [{ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'never', split: true }, ['\u2581Hey', '\u2581you']],
    [{ type: 'WordPiece', prefix: '##', cleanup: true }, ['hello', '##world', ',', 'do', 'not', "'", 's', 'it', '.']],
    [{ type: 'WordPiece', prefix: '##', cleanup: false }, ['hello', '##world', ',', 'do']],
    [{ type: 'BPEDecoder', suffix: '</w>' }, ['hel', 'lo</w>', 'wor', 'ld</w>']],
    [{ type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' },
        { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
        ['\u2581Hello', '<0xE2>', '<0x82>', '<0xAC>', '\u2581', '<0xC3>', 'x']],
];

const cases = [];
for (const n of NORMALIZERS) {
    const t = tok({ normalizer: n, pre_tokenizer: EACH_CHAR });
    const nz = t.getNormalizer();
    cases.push({ tokenizer: { normalizer: n, pre_tokenizer: EACH_CHAR }, inputs: INPUTS,
        normalized: INPUTS.map(s => nz.normalizeString(s)), offsets: null });
}
for (const p of PRETOKENIZERS) {
    const pt = tok({ pre_tokenizer: p }).getPreTokenizer();
    cases.push({ tokenizer: { pre_tokenizer: p }, inputs: INPUTS, words: INPUTS.map(s => pt.preTokenizeString(s)) });
}
for (const [d, tokens] of DECODERS)
    cases.push({ tokenizer: { decoder: d }, tokens, text: tok({ decoder: d }).getDecoder().decode(tokens) });

(async () => {
    // normalizer alignments: offsets of each normalized char (one [UNK] per char)
    for (const c of cases.filter(c => c.normalized)) {
        const t = tok(c.tokenizer);
        c.offsets = [];
        for (const s of c.inputs) c.offsets.push((await t.encode(s)).getOffsets());
    }
    fs.writeFileSync(path.join(__dirname, 'tok_golden.json'), JSON.stringify({
        about: 'HF tokenizers 0.23.2 (Node) outputs, written by tokenizer_svc/tok_golden.js; checked by tok_golden_test.c',
        cases }, null, 0).replace(/\},\{"tokenizer"/g, '},\n{"tokenizer"') + '\n');
})();
