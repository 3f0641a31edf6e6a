#!/usr/bin/env bash
# Regenerates the tables in tok_unicode.c: code points that HF tokenizers treats differently from
# the Unicode version utf8proc implements. HF's BertNormalizer / BertPreTokenizer take Mn, Cc/Cf/Co
# and P* from the unicode_categories crate, whose tables are older: characters assigned (or
# recategorised) since then are ordinary letters to HF. We measure HF itself on every code point
# of planes 0-3 and 14 (the others are unassigned or private use) with and without accent
# stripping, and list where its class differs from utf8proc's. Needs node + tests/peers, cc, libutf8proc-dev.
#
# usage: tokenizer_svc/tok_unicode_gen.sh > tables.inc   (then paste both tables into tok_unicode.c)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cat >"$W/hf.js" <<'JS'
// Classify each code point c by what HF's own BertNormalizer / BertPreTokenizer do to "x" c "y".
const path = require('path');
const tk = require(path.join(process.argv[2], 'tests/peers/node_modules/tokenizers'));
const opts = (strip) => ({ cleanText: true, handleChineseChars: false, stripAccents: strip, lowercase: false });
const strip = tk.bertNormalizer(opts(true)), keep = tk.bertNormalizer(opts(false));
const pre = tk.bertPreTokenizer();
const out = [];
const visit = (c) => {
  if (c >= 0xD800 && c <= 0xDFFF) return;
  const s = 'x' + String.fromCodePoint(c) + 'y';
  const n2 = keep.normalizeString(s), n1 = strip.normalizeString(s);
  let k = 'L';
  if (n2 === 'xy') k = 'C';                       // removed by clean_text
  else if (n1 === 'xy') k = 'M';                  // removed by accent stripping only
  else if (n2 === 'x y') k = 'S';                 // whitespace
  else if (pre.preTokenizeString(n2).length === 3) k = 'P';
  out.push(c.toString(16) + ' ' + k);
};
for (let c = 0; c < 0x32400; c++) visit(c);
for (let c = 0xE0000; c < 0xE0200; c++) visit(c);
process.stdout.write(out.join('\n') + '\n');
JS
cat >"$W/base.c" <<'C'
#include <stdio.h>
#include <utf8proc.h>
/* utf8proc's view, with the same rules (and order: removal first) as tok_norm.c before the table */
static void flush(unsigned first, unsigned last, char k) {
    const char *name = k == 'C' ? "CONTROL" : k == 'M' ? "MN" : k == 'P' ? "PUNCT" : k == 'S' ? "SPACE" : "PLAIN";
    if (k) printf("    {0x%05X, 0x%05X, TOK_U_%s},\n", first, last, name);
}
int main(void) {
    unsigned c, first = 0, last = 0; char k, lk = 0;
    while (scanf("%x %c", &c, &k) == 2) {
        utf8proc_category_t t = utf8proc_category((utf8proc_int32_t)c);
        int ws = c == ' ' || (c >= 9 && c <= 13) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
                 (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
        char m = (c == 0 || c == 0xFFFD || ((t == UTF8PROC_CATEGORY_CC || t == UTF8PROC_CATEGORY_CF || t == UTF8PROC_CATEGORY_CO) && c != 9 && c != 10 && c != 13)) ? 'C'
               : ws ? 'S'
               : (t >= UTF8PROC_CATEGORY_PC && t <= UTF8PROC_CATEGORY_PO) || (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126) ? 'P'
               : t == UTF8PROC_CATEGORY_MN ? 'M' : 'L';
        if (m == k) continue;
        if (c == last + 1 && k == lk) { last = c; continue; }
        flush(first, last, lk);
        first = last = c; lk = k;
    }
    flush(first, last, lk);
    return 0;
}
C
cc -O2 -o "$W/base" "$W/base.c" -lutf8proc
node "$W/hf.js" "$ROOT" >"$W/hf.txt"
echo "/* class table */"
"$W/base" <"$W/hf.txt"

# Second table: code points HF's NFD (unicode-normalization-alignments, also older) does not
# know: utf8proc gives them a nonzero combining class that HF does not reorder by (probe:
# "a" U+0345 X stays as is), or a decomposition that HF does not apply.
cat >"$W/nfd.c" <<'C'
#include <stdio.h>
#include <utf8proc.h>
int main(int argc, char **argv) {
    for (int c = 0; c < 0x110000; c++) {
        if (c >= 0xD800 && c <= 0xDFFF) continue;
        utf8proc_int32_t d[32]; int last = 0;
        utf8proc_ssize_t n = utf8proc_decompose_char(c, d, 32, UTF8PROC_DECOMPOSE, &last);
        int ccc = utf8proc_get_property(c)->combining_class;
        if (argc > 1 ? (ccc > 0 && ccc < 240) : (n != 1 || d[0] != c)) printf("%x\n", c);
    }
    return 0;
}
C
cc -O2 -o "$W/nfd" "$W/nfd.c" -lutf8proc
cat >"$W/nfd.js" <<'JS'
const path = require('path');
const tk = require(path.join(process.argv[2], 'tests/peers/node_modules/tokenizers'));
const nfd = tk.nfdNormalizer(), mode = process.argv[3];
const cps = require('fs').readFileSync(0, 'utf8').trim().split('\n').map((h) => parseInt(h, 16));
for (const c of cps) {
  const x = String.fromCodePoint(c);
  const unknown = mode === 'ccc' ? nfd.normalizeString('a\u0345' + x) === 'a\u0345' + x : nfd.normalizeString(x) === x;
  if (unknown) console.log(c.toString(16));
}
JS
echo "/* NFD table */"
{ "$W/nfd" ccc | node "$W/nfd.js" "$ROOT" ccc; "$W/nfd" | node "$W/nfd.js" "$ROOT" dec; } | sort -u |
    while read -r h; do printf '%d\n' "0x$h"; done | sort -n | awk '
    { if ($1 == last + 1) { last = $1; next }
      if (NR > 1) printf "    {0x%05X, 0x%05X},\n", first, last
      first = $1; last = $1 }
    END { if (NR) printf "    {0x%05X, 0x%05X},\n", first, last }'
