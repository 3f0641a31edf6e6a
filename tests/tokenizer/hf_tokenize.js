#!/usr/bin/env node
// hf_tokenize.js: the reference side of the parity test. Reads lines from stdin and writes, per line,
// what `zembed tokenize` writes, computed by Hugging Face tokenizers itself (Node binding):
//   {"input_ids":[...],"token_type_ids":[...],"attention_mask":[...],"tokens":[...],"offsets":[[s,e],...]}
// or {"error":{"code":...,"message":...}} for a line HF cannot encode.
//
// usage: hf_tokenize.js --model DIR [--max-length N | --no-truncate] [--truncation-side left|right]
//                       [--truncation-strategy longest_first|only_first|only_second] [--pairs]
//                       [--no-special-tokens] [--lossy] [--pad-to N]
//
// Offsets: tokenizers' Node binding (0.23.2) reports offsets in Unicode code points of the input
// string, not UTF-16 units nor bytes. Checked: "𠀀𠀁 abc" (two chars above U+FFFF) gives [0,1],[1,2],
// [3,6] (UTF-16 would give [0,2],[2,4],[5,8]); "héllo wörld" gives [0,5],[6,11] (bytes: [0,6],[7,13]).
// That is already zembed's documented unit, so they are written unchanged. For a pair, offsets of
// the second text are relative to the second text (HF's behaviour, and ours).
//
// Lines are split on "\n"; a trailing "\r" is dropped (CRLF input), as `zembed tokenize` documents.
// A line that is not valid UTF-8 gets an error object naming the byte offset of the first invalid
// byte (HF would silently see U+FFFD, zembed must refuse it); with --lossy it is decoded the WHATWG
// way instead (Node's Buffer.toString: one U+FFFD per maximal invalid subsequence), which is what
// zembed --lossy promises, and offsets count code points of that decoded line.
// --pad-to N: HF's fixed padding to N ([PAD], type id 0, mask 0, offsets [0,0]); longer stays longer.
//
// --no-truncate: HF encodes without truncation; a result longer than the default max_length becomes
// a "too_long" error, which is what zembed's --no-truncate promises (tok.h: truncate=0).
// The default max_length is the model folder's: sentence_bert_config.json max_seq_length, else
// tokenizer.json truncation.max_length, else tokenizer_config.json model_max_length, else 512.
// Padding is always off: `zembed tokenize` encodes each line on its own.
'use strict';
const fs = require('fs');
const path = require('path');
const PEERS = process.env.ZEMBED_PEERS || path.join(__dirname, '../peers/node_modules');
const { Tokenizer } = require(path.join(PEERS, 'tokenizers'));

function usage(msg) {
    process.stderr.write(`hf_tokenize.js: ${msg}\n`);
    process.exit(2);
}

function parseArgs(argv) {
    const o = { model: null, maxLength: null, truncate: true, side: 'right', strategy: 'LongestFirst', pairs: false,
        special: true, lossy: false, padTo: 0 };
    const strategies = { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i], v = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
        if (a === '--model') o.model = v();
        else if (a === '--max-length') { o.maxLength = Number(v()); if (!(o.maxLength > 0)) usage('bad --max-length'); }
        else if (a === '--no-truncate') o.truncate = false;
        else if (a === '--truncation-side') { const s = v(); if (s !== 'left' && s !== 'right') usage('bad --truncation-side'); o.side = s; } // the binding takes 'left'|'right', not 'Left'
        else if (a === '--truncation-strategy') { o.strategy = strategies[v()]; if (!o.strategy) usage('bad --truncation-strategy'); }
        else if (a === '--pairs') o.pairs = true;
        else if (a === '--no-special-tokens') o.special = false;
        else if (a === '--lossy') o.lossy = true;
        else if (a === '--pad-to') { o.padTo = Number(v()); if (!(o.padTo > 0)) usage('bad --pad-to'); }
        else usage(`unknown flag ${a}`);
    }
    if (!o.model) usage('--model DIR is required');
    return o;
}

function readJson(file) {
    try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { return null; }
}

function defaultMaxLength(dir) {
    const sb = readJson(path.join(dir, 'sentence_bert_config.json'));
    if (sb && sb.max_seq_length > 0) return sb.max_seq_length;
    const tj = readJson(path.join(dir, 'tokenizer.json'));
    if (tj && tj.truncation && tj.truncation.max_length > 0) return tj.truncation.max_length;
    const tc = readJson(path.join(dir, 'tokenizer_config.json'));
    if (tc && tc.model_max_length > 0 && tc.model_max_length < 1e6) return tc.model_max_length;
    return 512;
}

// Byte offset of the first invalid UTF-8 sequence in buf, or -1 (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF).
function firstInvalidUtf8(buf) {
    for (let i = 0; i < buf.length;) {
        const b = buf[i];
        let n, min;
        if (b < 0x80) { i++; continue; }
        else if (b >= 0xc2 && b <= 0xdf) { n = 1; min = 0x80; }
        else if (b >= 0xe0 && b <= 0xef) { n = 2; min = 0x800; }
        else if (b >= 0xf0 && b <= 0xf4) { n = 3; min = 0x10000; }
        else return i;
        let c = b & (0x3f >> n);
        for (let k = 1; k <= n; k++) {
            if (i + k >= buf.length || (buf[i + k] & 0xc0) !== 0x80) return i;
            c = (c << 6) | (buf[i + k] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return i;
        i += n + 1;
    }
    return -1;
}

function errorObj(code, message) {
    return JSON.stringify({ error: { code, message } });
}

async function encodeLine(tok, o, maxLen, buf) {
    if (buf.length && buf[buf.length - 1] === 0x0d) buf = buf.subarray(0, buf.length - 1);
    const bad = o.lossy ? -1 : firstInvalidUtf8(buf);
    if (bad >= 0) return errorObj('invalid_utf8', `invalid UTF-8 at byte ${bad}`);
    const line = buf.toString('utf8');
    let a = line, b = null;
    if (o.pairs) {
        const tab = line.indexOf('\t');
        if (tab < 0) return errorObj('invalid_argument', 'no TAB in a --pairs line');
        a = line.slice(0, tab); b = line.slice(tab + 1);
    }
    let e;
    try { e = await tok.encode(a, b, { addSpecialTokens: o.special }); } catch (err) { return errorObj('hf_error', String(err && err.message || err)); }
    if (!o.truncate && e.getLength() > maxLen)
        return errorObj('too_long', `${e.getLength()} tokens, max_length ${maxLen}`);
    return JSON.stringify({
        input_ids: e.getIds(), token_type_ids: e.getTypeIds(), attention_mask: e.getAttentionMask(),
        tokens: e.getTokens(), offsets: e.getOffsets(),
    });
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    const tok = Tokenizer.fromFile(path.join(o.model, 'tokenizer.json'));
    const maxLen = o.maxLength || defaultMaxLength(o.model);
    if (o.padTo) tok.setPadding({ maxLength: o.padTo });
    else tok.disablePadding();
    if (o.truncate) tok.setTruncation(maxLen, { strategy: o.strategy, direction: o.side });
    else tok.disableTruncation();

    const input = fs.readFileSync(0);
    const lines = [];
    for (let s = 0; s < input.length;) {
        let e = input.indexOf(0x0a, s);
        if (e < 0) e = input.length;
        lines.push(input.subarray(s, e));
        s = e + 1;
    }
    // Encode in chunks: concurrent enough to keep the binding busy, bounded in memory.
    const out = [];
    for (let i = 0; i < lines.length; i += 512) {
        const chunk = lines.slice(i, i + 512).map((l) => encodeLine(tok, o, maxLen, l));
        out.push((await Promise.all(chunk)).join('\n') + '\n');
        if (out.length >= 16) { process.stdout.write(out.join('')); out.length = 0; }
    }
    process.stdout.write(out.join(''));
}
main().catch((e) => { process.stderr.write(`hf_tokenize.js: ${e.stack || e}\n`); process.exit(1); });
