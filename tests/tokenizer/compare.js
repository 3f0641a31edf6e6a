#!/usr/bin/env node
// compare.js LABEL INPUT EXPECTED ACTUAL: line-by-line comparison of `zembed tokenize` output
// (ACTUAL) with hf_tokenize.js output (EXPECTED) for the same INPUT lines. Prints "ok LABEL ..." or
// "FAIL LABEL ..." followed by the first differing lines (input escaped, first differing field and
// position) so a developer can reproduce them; exit status 0 only when every line agrees.
//
// Agreement: identical input_ids, token_type_ids, attention_mask, offsets and tokens. Where HF
// refuses a line, zembed must refuse it too: same code for invalid_utf8 (and the message must name
// the byte offset) and too_long; any error code where HF's own truncation fails (hf_error, e.g.
// only_first on a first text too short to cut).
'use strict';
const fs = require('fs');

const MAX_SHOWN = Number(process.env.ZEMBED_PARITY_SHOW) || 6;  // more: ZEMBED_PARITY_SHOW=N
const FIELDS = ['input_ids', 'token_type_ids', 'attention_mask', 'offsets', 'tokens'];

function splitLines(buf) {
    const lines = [];
    for (let s = 0; s < buf.length;) {
        let e = buf.indexOf(0x0a, s);
        if (e < 0) e = buf.length;
        lines.push(buf.subarray(s, e));
        s = e + 1;
    }
    return lines;
}

// Printable form of an input line: ASCII printable kept, everything else as \u{XXXX} (invalid
// UTF-8 bytes as \xNN), so control, format and combining characters are visible.
function escapeInput(buf) {
    const s = buf.toString('utf8');
    const valid = Buffer.from(s, 'utf8').equals(buf);
    if (!valid) return Array.from(buf, (b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : '\\x' + b.toString(16).padStart(2, '0'))).join('');
    let out = '';
    for (const ch of s) {
        const c = ch.codePointAt(0);
        out += c >= 0x20 && c < 0x7f && c !== 0x5c ? ch : c === 0x5c ? '\\\\' : `\\u{${c.toString(16).toUpperCase()}}`;
    }
    return out;
}

function parse(line) {
    try { return JSON.parse(line.toString('utf8')); } catch (e) { return { unparsable: line.toString('utf8').slice(0, 200) }; }
}

const show = (v) => JSON.stringify(v);

// Returns null when exp and act agree, else a one-line description of the first difference.
function diff(exp, act) {
    if (act.unparsable !== undefined) return `zembed wrote a line that is not JSON: ${act.unparsable}`;
    if (exp.error) {
        if (!act.error) return `HF refuses (${exp.error.code}: ${exp.error.message}), zembed encodes: ${show(act.tokens)}`;
        if (exp.error.code === 'hf_error') return null;
        if (act.error.code !== exp.error.code) return `error code ${show(act.error.code)}, expected ${show(exp.error.code)} (${exp.error.message})`;
        const m = /byte (\d+)/.exec(exp.error.message);
        if (m && !new RegExp(`byte ${m[1]}\\b`).test(String(act.error.message)))
            return `error message ${show(act.error.message)} does not name byte offset ${m[1]}`;
        return null;
    }
    if (act.error) return `zembed error ${show(act.error)}, HF encodes: ${show(exp.tokens)}`;
    for (const f of FIELDS) {
        const e = exp[f], a = act[f];
        if (!Array.isArray(a)) return `field ${f} missing or not an array`;
        const n = Math.max(e.length, a.length);
        for (let i = 0; i < n; i++) {
            if (show(e[i]) === show(a[i])) continue;
            const lo = Math.max(0, i - 2);
            return `${f}[${i}]: zembed ${show(a.slice(lo, i + 3))}, HF ${show(e.slice(lo, i + 3))} (from index ${lo}; ` +
                `lengths ${a.length} vs ${e.length}; HF tokens ${show(exp.tokens.slice(lo, i + 3))})`;
        }
    }
    return null;
}

function main() {
    const [label, inFile, expFile, actFile] = process.argv.slice(2);
    if (!actFile) { process.stderr.write('usage: compare.js LABEL INPUT EXPECTED ACTUAL\n'); process.exit(2); }
    const input = splitLines(fs.readFileSync(inFile));
    const exp = splitLines(fs.readFileSync(expFile));
    const act = splitLines(fs.readFileSync(actFile));
    const problems = [];
    if (act.length !== input.length) problems.push(`zembed wrote ${act.length} lines for ${input.length} input lines`);
    if (exp.length !== input.length) problems.push(`HF wrote ${exp.length} lines for ${input.length} input lines`);
    let bad = 0;
    const shown = [];
    for (let i = 0; i < Math.min(input.length, exp.length, act.length); i++) {
        const d = diff(parse(exp[i]), parse(act[i]));
        if (!d) continue;
        bad++;
        if (shown.length < MAX_SHOWN) shown.push(`  line ${i + 1}: ${escapeInput(input[i]).slice(0, 300)}\n    ${d}`);
    }
    if (!bad && !problems.length) { console.log(`ok   ${label}: ${input.length} lines identical`); return; }
    console.log(`FAIL ${label}: ${bad} of ${input.length} lines differ`);
    for (const p of problems) console.log(`  ${p}`);
    for (const s of shown) console.log(s);
    process.exitCode = 1;
}
main();
