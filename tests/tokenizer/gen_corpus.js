#!/usr/bin/env node
// gen_corpus.js OUTDIR [SHARED]: writes the tokenizer parity corpus, deterministically.
//   OUTDIR/single.txt  one text per line
//   OUTDIR/pairs.txt   two texts per line, split by one TAB (neither text holds a TAB)
// SHARED (default $ZEMBED_SHARED or ../shared) supplies STS Benchmark and SICK sentences; without it
// the corpus is still built from the synthetic parts. Same inputs -> byte-identical files: the RNG is
// seeded and nothing reads the clock, the locale or the network.
//
// Lines never contain "\n"; "\r" appears only inside a line (a trailing one could be read as CRLF).
'use strict';
const fs = require('fs');
const path = require('path');

// ---- seeded RNG (mulberry32): the corpus must not change between runs ----
let seed = 0x7a656d62;
function rnd() {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rnd() * n);
const pick = (a) => a[ri(a.length)];
const cp = (c) => String.fromCodePoint(c);
const randIn = (lo, hi) => cp(lo + ri(hi - lo + 1));
// A single text may hold TABs (whitespace); a text of a pair may not (TAB splits the pair).
const clean = (s) => s.replace(/\n/g, ' ').replace(/\r$/, '');
const cleanPart = (s) => clean(s.replace(/\t/g, ' '));

// ---- fixed material per script ----
const SCRIPTS = {
    latin: ['Café crème brûlée à la carte', 'Ærøskøbing på Ærø', 'Straße Maß groß ẞ', 'İstanbul ığdır Şişli',
        'naïve coöperate résumé façade', 'Ångström ĳssel ǅemal ǈubljana', 'ﬁnancial ﬂow ﬀ ﬃ', 'Ωmega µ micro ° ª º',
        'Đakovo Łódź Żółć Źdźbło', 'Nguyễn Thị Minh Khai, Hà Nội', 'ÀÁÂÃÄÅ àáâãäå ÈÉÊË ÌÍÎÏ ÒÓÔÕÖ ÙÚÛÜ Ýÿ'],
    greek: ['Καλημέρα κόσμε', 'ΣΊΣΥΦΟΣ σίσυφος ς', 'Ἀθῆναι ᾅδης ῷ', 'ΐ ΰ ϊ ϋ ό ύ ώ'],
    cyrillic: ['Привет, мир!', 'Ёлка и ёжик', 'Україна: ї, є, ґ', 'Съешь же ещё этих мягких французских булок', 'ЙЦУКЕН й'],
    arabic: ['مرحبا بالعالم', 'اَلْعَرَبِيَّةُ', 'السلام عليكم ورحمة الله', 'لا إله ؟ ، ؛', '٠١٢٣٤٥٦٧٨٩'],
    hebrew: ['שלום עולם', 'בְּרֵאשִׁית בָּרָא', 'ירושלים׃ ״ציטוט״'],
    devanagari: ['नमस्ते दुनिया', 'हिन्दी भाषा क्षत्रिय', 'संस्कृतम् ॐ ।', '०१२३४५६७८९'],
    thai: ['สวัสดีชาวโลก', 'ภาษาไทย ๑๒๓', 'กรุงเทพมหานคร อมรรัตนโกสินทร์'],
    hangul: ['안녕하세요 세계', '한국어 문장입니다.', 'ᄀᄁᄂ ㄱㄴㄷ ㅏㅑ', '훈민정음'],
    kana: ['こんにちは世界', 'カタカナ ひらがな ｶﾀｶﾅ', 'ありがとうございます。', 'ー〜・「」『』'],
    cjk: ['中文测试句子', '你好，世界！', '東京都渋谷区', '漢字かな交じり文', '繁體中文與簡體中文', '㐀㐁㐂 龥龦 鿿'],
};
const CJK_RANGES = [[0x4e00, 0x9fff], [0x3400, 0x4dbf], [0x20000, 0x2a6df], [0x2a700, 0x2b73f],
    [0x2b740, 0x2b81f], [0x2b820, 0x2b91f], [0x2b920, 0x2ceaf], [0xf900, 0xfaff], [0x2f800, 0x2fa1f]];
// Edges of the CJK blocks, including U+2B820..U+2B91F where HF and Google BERT differ.
const CJK_EDGES = [0x4dff, 0x4e00, 0x9fff, 0xa000, 0x33ff, 0x3400, 0x4dbf, 0x4dc0, 0x1ffff, 0x20000, 0x2a6df,
    0x2a6e0, 0x2a700, 0x2b73f, 0x2b740, 0x2b81f, 0x2b820, 0x2b821, 0x2b91e, 0x2b91f, 0x2b920, 0x2ceaf, 0x2ceb0,
    0xf8ff, 0xf900, 0xfaff, 0xfb00, 0x2f7ff, 0x2f800, 0x2fa1f, 0x2fa20, 0x30000, 0x3134a];
const EMOJI = ['😀', '🙂', '👍', '👍🏽', '👍🏿', '👨‍👩‍👧‍👦', '👩🏾‍💻', '🏳️‍🌈', '🇫🇷', '🇯🇵🇺🇸', '1️⃣', '#️⃣',
    '❤️', '☺', '✈️', '🧑‍🤝‍🧑', '🫠', '🐈‍⬛', '©', '®', '™', '🀄', '🃏'];
const CONTROLS = [];
for (let c = 0; c <= 0x1f; c++) if (c !== 0x0a) CONTROLS.push(c);
CONTROLS.push(0x7f, 0x80, 0x85, 0x9f, 0xad, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2028, 0x2029, 0xfeff,
    0x2060, 0x2066, 0x2069, 0x061c, 0x180e, 0xfff9, 0xfffb, 0xe000, 0xf8ff, 0xf0000, 0x0378, 0xfffe, 0xffff,
    0xe0001, 0xe0041, 0x1d173, 0xfffd);
const SPACES = [0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
    0x2009, 0x200a, 0x202f, 0x205f, 0x3000, 0x0b, 0x0c, 0x85, 0x2028, 0x2029, 0x09];
const MARKS = [0x300, 0x301, 0x302, 0x303, 0x308, 0x30a, 0x327, 0x328, 0x334, 0x336, 0x34f, 0x35c, 0x361,
    0x489, 0x20dd, 0x20e3, 0x93e, 0x94d, 0x903, 0xe31, 0xe48, 0x5b4, 0x64b, 0x651, 0x3099, 0x309a, 0xfe0f,
    0xfe00, 0x1ab0, 0x1dc0, 0xe0100];
const SPECIALS = ['[CLS]', '[SEP]', '[MASK]', '[UNK]', '[PAD]', '[cls]', '[Sep]', '[mask]', '[MaSk]', '[unk]',
    '[pad]', '[ CLS ]', '[CLS', 'CLS]', '[[SEP]]', '[CLS][SEP]', '[MASK][MASK]', '##', '##ing', '[', ']'];
const PUNCT = ['.', ',', '!', '?', '...', '!!!???', '--', '—', '–', '‐', '(', ')', '[', ']', '{', '}', '"', "'",
    '`', '~', '@', '#', '$', '%', '^', '&', '*', '_', '+', '=', '|', '\\', '/', ':', ';', '<', '>', '«', '»',
    '¿', '¡', '“', '”', '‘', '’', '„', '‹', '›', '、', '。', '，', '：', '！', '？', '·', '•', '†', '‡', '§', '¶',
    '€', '£', '¥', '±', '×', '÷', '°', '¬', '¦', '¨', '¯', '´', '¸', '‰', '′', '″', '※', '‼', '⁇', '‿', '⁀',
    '﹏', '＿', '＠', '％', '℃', '∞', '√', '≈', '≠', '≤', '★', '♪', '→', '⟨', '⟩', '〈', '〉', '【', '】'];
const WORDS = ['the', 'a', 'is', 'playing', 'guitar', 'man', 'woman', 'unbelievable', 'tokenization',
    'embedding', 'sentence', 'transformers', 'running', 'quickly', 'xylophone', 'antidisestablishmentarianism',
    'pneumonoultramicroscopicsilicovolcanoconiosis', "don't", "it's", 'e-mail', 'co-operate', 'U.S.A.',
    'https://example.com/path?q=1&r=2', 'user@example.org', 'C++', 'C#', 'node.js', '3.14159', '1,000,000',
    '$100.00', '50%', '2026-11-27', '12:30pm', '#hashtag', '@mention', 'OK', 'iPhone', 'McDonald', 'NaN',
    'ALLCAPS', 'MiXeD', 'x', 'zzzzzz', 'qwrtpsdfghjklzxcvbnm'];

function fromRanges(ranges, n) {
    let s = '';
    for (let i = 0; i < n; i++) { const r = pick(ranges); s += randIn(r[0], r[1]); }
    return s;
}
const SCRIPT_RANGES = {
    latin: [[0x41, 0x5a], [0x61, 0x7a], [0xc0, 0xff], [0x100, 0x17f], [0x180, 0x24f], [0x1e00, 0x1eff]],
    greek: [[0x391, 0x3a9], [0x3b1, 0x3c9], [0x1f00, 0x1ffe]], cyrillic: [[0x400, 0x4ff]],
    arabic: [[0x621, 0x64a], [0x660, 0x669]], hebrew: [[0x5d0, 0x5ea]], devanagari: [[0x905, 0x939], [0x93e, 0x94d]],
    thai: [[0xe01, 0xe2e], [0xe30, 0xe3a]], hangul: [[0xac00, 0xd7a3], [0x1100, 0x11ff], [0x3131, 0x318e]],
    kana: [[0x3041, 0x3096], [0x30a1, 0x30fa], [0xff66, 0xff9d]], cjk: CJK_RANGES,
};
function randWord() {
    const k = ri(10);
    if (k < 3) return pick(WORDS);
    if (k < 5) return fromRanges(SCRIPT_RANGES[pick(Object.keys(SCRIPT_RANGES))], 1 + ri(8));
    if (k < 6) return pick(EMOJI);
    if (k < 7) return pick(PUNCT);
    if (k < 8) return pick(SPECIALS);
    if (k < 9) return pick(WORDS) + cp(pick(MARKS)) + (rnd() < 0.5 ? cp(pick(CONTROLS)) : '');
    return String(ri(100000));
}
function randSep() {
    const k = ri(12);
    if (k < 8) return ' ';
    if (k < 10) return '';
    if (k < 11) return cp(pick(SPACES));
    return cp(pick(CONTROLS));
}
function randMix(nWords) {
    let s = '';
    for (let i = 0; i < nWords; i++) s += (i ? randSep() : '') + randWord();
    return s;
}
const nChars = (n, alphabet) => { let s = ''; for (let i = 0; i < n; i++) s += pick(alphabet); return s; };

// ---- shared data: STS Benchmark and SICK sentences (skipped when absent) ----
function readShared(shared) {
    const sents = [], pairs = [];
    const sts = path.join(shared, 'data/stsbenchmark');
    for (const f of ['sts-train.csv', 'sts-dev.csv', 'sts-test.csv']) {
        const p = path.join(sts, f);
        if (!fs.existsSync(p)) continue;
        for (const line of fs.readFileSync(p, 'utf8').split('\n')) {
            const c = line.split('\t');
            if (c.length >= 7) { pairs.push([c[5], c[6]]); sents.push(c[5], c[6]); }
        }
    }
    const sick = path.join(shared, 'data/SICK/SICK.txt');
    if (fs.existsSync(sick)) {
        const lines = fs.readFileSync(sick, 'utf8').split('\n').slice(1);
        for (const line of lines) {
            const c = line.split('\t');
            if (c.length >= 3) { pairs.push([c[1], c[2]]); sents.push(c[1], c[2]); }
        }
    }
    return { sents: sents.map(cleanPart), pairs: pairs.map(([a, b]) => [cleanPart(a), cleanPart(b)]) };
}

function singles(data) {
    const out = [];
    const add = (s) => out.push(clean(s));
    add(''); add(' '); add('   '); add('\u00a0'); add('\u200b'); add('\u0000'); add('[CLS]'); add('a');
    for (const [name, list] of Object.entries(SCRIPTS)) {
        for (const s of list) { add(s); add(s.toUpperCase()); add(`${s}, ${pick(WORDS)} ${s}!`); }
        for (let i = 0; i < 25; i++) add(fromRanges(SCRIPT_RANGES[name], 1 + ri(30)) + ' ' + fromRanges(SCRIPT_RANGES[name], 1 + ri(12)));
    }
    // CJK: every block, its edges, glued to Latin letters and digits (handle_chinese_chars pads them).
    for (const c of CJK_EDGES) { add(cp(c)); add(`ab${cp(c)}cd`); add(`${cp(c)}${cp(c)} x${cp(c)}1`); }
    for (let i = 0; i < 120; i++) add(pick(WORDS) + fromRanges(CJK_RANGES, 1 + ri(6)) + pick(WORDS) + ' ' + fromRanges([pick(CJK_RANGES)], 1 + ri(10)));
    for (let i = 0; i < 40; i++) add('abc' + fromRanges([[0x2b800, 0x2b940]], 1 + ri(5)) + 'def ' + randIn(0x2b820, 0x2b91f));
    // Emoji: alone, glued, with skin tones, ZWJ, flags, keycaps.
    for (const e of EMOJI) { add(e); add(`hi${e}there`); add(`${e}${e} ${e}!`); }
    for (let i = 0; i < 60; i++) add(randMix(3) + pick(EMOJI) + pick(EMOJI) + ' ' + randMix(2));
    // Control and format characters, alone, inside words, between words.
    for (const c of CONTROLS) {
        if (c === 0x0d) { add('ab\rcd'); add('ab \r cd'); continue; }
        add(cp(c)); add(`ab${cp(c)}cd`); add(`ab ${cp(c)} cd`); add(`${cp(c)}${cp(c)}x${cp(c)}`);
        add(`[CLS]${cp(c)}[SEP] caf${cp(c)}é`);
    }
    // Whitespace: NBSP and other Zs, VT, FF, NEL, line/paragraph separators.
    for (const c of SPACES) { add(`ab${cp(c)}cd`); add(`${cp(c)}x${cp(c)}${cp(c)}y${cp(c)}`); add(cp(c)); }
    // Combining marks: stacked, leading, after space/punct/CJK/emoji, zalgo.
    for (const m of MARKS) {
        add(`e${cp(m)}`); add(`${cp(m)}abc`); add(`a ${cp(m)} b`); add(`.${cp(m)}`); add(`中${cp(m)}文`);
        add(`😀${cp(m)}`); add(`e${cp(m)}${cp(m)}${cp(m)}${cp(m)}x`);
    }
    for (let i = 0; i < 40; i++) {
        let s = '';
        for (let j = 0; j < 1 + ri(12); j++) { s += randIn(0x61, 0x7a); for (let k = ri(8); k > 0; k--) s += cp(pick(MARKS)); }
        add(s + ' ' + s.toUpperCase());
    }
    add('U\u0308\u0301ber Cafe\u0301 n\u0303 A\u030a\u0301'); add('\u1100\u1161\u11a8 (conjoining jamo)');
    add('Z\u0334\u0321\u0322\u031b\u034e\u0359\u036b\u0356\u0330a\u0337\u0300\u0301\u0302l\u0336\u0327go');
    // Special tokens written in text, with and without spaces, in odd case.
    for (const s of SPECIALS) {
        add(s); add(` ${s} `); add(`hello${s}world`); add(`hello ${s} world`); add(`${s}${s}`); add(s.toLowerCase() + 'x');
    }
    add('[CLS] the cat [SEP] the dog [SEP]'); add('[MASK] is [UNK] and [PAD][PAD][PAD]'); add('[CLS]é[SEP]');
    add('x[MASK]y [Mask] [ MASK ] [MASK ]'); add('[UNK][UNK] [unk] UNK [UN K]');
    // Words around max_input_chars_per_word (100): ASCII, accented (NFD shrinks), punctuation inside.
    const lower = 'abcdefghijklmnopqrstuvwxyz'.split('');
    for (const n of [1, 2, 50, 98, 99, 100, 101, 102, 150, 200, 1000]) {
        add(nChars(n, lower)); add('x ' + nChars(n, lower) + ' y'); add('a'.repeat(n));
        add(nChars(n, ['é', 'ü', 'ñ', 'ø', 'å', 'ç'])); add(nChars(n, ['e\u0301', 'u\u0308']));
        add(nChars(n, ['中'])); add(nChars(n, ['😀', 'a'])); add(nChars(n, ['A', 'B'])); add(nChars(n, ['ı', 'İ', 'ß']));
        add(nChars(n, lower.concat(['-'])));
    }
    add('a'.repeat(99) + '\u0301'); add('a'.repeat(100) + '\u0301'); add('a'.repeat(100) + '\u0301\u0301');
    add('a'.repeat(101) + '\u0301'); add('a'.repeat(100) + '\u200b'); add('a'.repeat(100) + '\u00ad' + 'b');
    add('e\u0301'.repeat(100)); add('e\u0301'.repeat(101)); add('é'.repeat(100)); add('é'.repeat(101));
    // Numbers and punctuation runs.
    for (const p of PUNCT) { add(p); add(p.repeat(5)); add(`word${p}word`); add(`1${p}2${p}3`); }
    for (let i = 0; i < 80; i++) {
        let s = '';
        for (let j = 0; j < 1 + ri(20); j++) s += rnd() < 0.5 ? String(ri(1e6)) : pick(PUNCT);
        add(s);
    }
    add('3.14159265358979323846264338327950288419716939937510'); add('1,234,567.89 -0.5e-10 0x1F 1/2 ½ ² ³ ⅓ Ⅻ ①');
    // Real sentences, upper-cased and accented variants.
    const sents = data.sents;
    for (let i = 0; i < Math.min(sents.length, 1500); i++) {
        const s = sents[(i * 7919) % sents.length];
        add(i % 10 === 0 ? s.toUpperCase() : i % 10 === 1 ? s.normalize('NFD') : s);
    }
    // Random mixtures.
    for (let i = 0; i < 900; i++) add(randMix(1 + ri(i % 5 === 0 ? 60 : 15)));
    // Long lines that truncate (right or left) at any max_length we test.
    for (let i = 0; i < 40; i++) {
        let s = '';
        if (sents.length) for (let j = 0; j < 5 + ri(25); j++) s += pick(sents) + ' ';
        add(s + randMix(50 + ri(100)));
    }
    add(randMix(3000));
    return out;
}

function pairs(data) {
    const out = [];
    const add = (a, b) => out.push(cleanPart(a) + '\t' + cleanPart(b));
    const long = () => { let s = ''; for (let j = 0; j < 3 + ri(10); j++) s += (data.sents.length ? pick(data.sents) : randMix(12)) + ' '; return s; };
    add('', ''); add('a', ''); add('', 'b'); add('[SEP]', '[CLS]'); add('中文', '😀'); add(' ', '\u0000');
    for (let i = 0; i < Math.min(data.pairs.length, 700); i++) {
        const [a, b] = data.pairs[(i * 104729) % data.pairs.length];
        add(a, b);
    }
    for (let i = 0; i < 200; i++) add(randMix(1 + ri(20)), randMix(1 + ri(20)));
    // Every length relation for longest_first / only_first / only_second, both sides.
    for (let i = 0; i < 40; i++) {
        add(long(), long()); add(long(), randMix(1 + ri(3))); add(randMix(1 + ri(3)), long());
        add(long(), ''); add('', long());
    }
    for (const n of [100, 101]) add('a'.repeat(n), 'b'.repeat(n));
    return out;
}

function main() {
    const outDir = process.argv[2];
    if (!outDir) { process.stderr.write('usage: gen_corpus.js OUTDIR [SHARED]\n'); process.exit(2); }
    const shared = process.argv[3] || process.env.ZEMBED_SHARED || path.join(__dirname, '../../../shared');
    const data = readShared(shared);
    fs.mkdirSync(outDir, { recursive: true });
    const s = singles(data);
    const p = pairs(data);
    fs.writeFileSync(path.join(outDir, 'single.txt'), s.join('\n') + '\n');
    fs.writeFileSync(path.join(outDir, 'pairs.txt'), p.join('\n') + '\n');
    process.stderr.write(`gen_corpus: ${s.length} single lines, ${p.length} pairs (${data.sents.length} shared sentences)\n`);
}
main();
