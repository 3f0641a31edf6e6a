#!/usr/bin/env node
// Compares two trained tokenizer.json files (zembed's and HF's).
//
//   cmp_trained.js exact ZEMBED.json HF.json [N]   vocabulary (token -> id) and merges identical;
//                                                  with N: ZEMBED is a run to vocab size N and must
//                                                  equal HF's first N ids and the merges among them
//   cmp_trained.js set ZEMBED.json HF1.json HF2.json ...   token sets (ids ignored): prints the
//                                                  mean symmetric differences, rounded:
//                                                  "zembed-vs-hf MEAN hf-vs-hf MEAN size N"
//
// Exit 0 when equal (exact) / always for set (the caller judges); differences on stdout.
'use strict';
const fs = require('fs');
const load = (f) => JSON.parse(fs.readFileSync(f, 'utf8')).model;
const mergeStr = (m) => (Array.isArray(m) ? m.join(' ') : m);
const [mode, ...files] = process.argv.slice(2);

if (mode === 'exact') {
    const [z, h] = [load(files[0]), load(files[1])];
    const n = files[2] ? Number(files[2]) : null;
    let hv = Object.entries(h.vocab), hm = (h.merges || []).map(mergeStr);
    if (n !== null) {
        hv = hv.filter(([, id]) => id < n);
        const keep = new Set(hv.map(([t]) => t));
        // a merge belongs to the first N ids when its result does (no prefix/suffix here)
        hm = hm.filter((m) => keep.has(m.split(' ').join('')));
    }
    const zv = Object.entries(z.vocab), zm = (z.merges || []).map(mergeStr);
    const diffs = [];
    const zmap = new Map(zv);
    if (zv.length !== hv.length) diffs.push(`vocab size: zembed ${zv.length}, HF ${hv.length}`);
    for (const [t, id] of hv) if (zmap.get(t) !== id) diffs.push(`token ${JSON.stringify(t)}: zembed id ${zmap.get(t)}, HF id ${id}`);
    if (zm.length !== hm.length) diffs.push(`merges: zembed ${zm.length}, HF ${hm.length}`);
    for (let i = 0; i < Math.min(zm.length, hm.length); i++)
        if (zm[i] !== hm[i]) { diffs.push(`merge ${i}: zembed ${JSON.stringify(zm[i])}, HF ${JSON.stringify(hm[i])}`); break; }
    if (diffs.length) { console.log(diffs.slice(0, 8).join('\n')); process.exit(1); }
    console.log(`identical: ${zv.length} tokens, ${zm.length} merges`);
} else if (mode === 'set') {
    const sets = files.map((f) => new Set(Object.keys(load(f).vocab)));
    const diff = (a, b) => { let d = 0; for (const x of a) d += !b.has(x); for (const x of b) d += !a.has(x); return d; };
    const zh = sets.slice(1).map((s) => diff(sets[0], s));
    const hh = [];
    for (let i = 1; i < sets.length; i++) for (let j = i + 1; j < sets.length; j++) hh.push(diff(sets[i], sets[j]));
    const mean = (a) => Math.round(a.reduce((x, y) => x + y, 0) / a.length);
    console.log(`zembed-vs-hf ${mean(zh)} hf-vs-hf ${mean(hh)} size ${sets[0].size}`);
} else {
    console.error('usage: cmp_trained.js exact|set FILES...');
    process.exit(2);
}
