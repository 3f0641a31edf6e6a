/* tok_norm: UTF-8 decoding and HF's BertNormalizer, keeping for every normalized code point the
 * index of the original code point it came from (what HF's NormalizedString alignments give once
 * offsets are counted in code points: an expansion such as NFD "é" -> "e" U+0301, a CJK char
 * padded with spaces, or "İ" -> "i" U+0307 maps every produced char to the one original char).
 *
 * Rules (HF tokenizers normalizers/bert.rs, see also docs: anchors §3.2):
 *   clean_text      drop U+0000, U+FFFD and "other" chars except \t \n \r; then map \t \n \r and
 *                   Unicode White_Space to ' '. "Other" is the unicode_categories crate's is_other():
 *                   Cc, Cf, Co only (not Cn: an unassigned code point is kept).
 *   chinese chars   ' ' c ' ' for the CJK ranges (upper block starts at U+2B920, not U+2B820)
 *   strip_accents   NFD (canonical decomposition + canonical reordering), then drop Mn only
 *   lowercase       per code point (Rust char::to_lowercase: simple mapping, plus U+0130 -> i U+0307)
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok_internal.h"

/* ---- character classes ---------------------------------------------------------------------- */

int tok_is_bert_whitespace(uint32_t c)
{
    /* Rust char::is_whitespace = Unicode White_Space (a fixed, short list). */
    if (c < 0x80)
        return c == ' ' || (c >= 0x09 && c <= 0x0D);
    switch (c) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
        return 1;
    default:
        return c >= 0x2000 && c <= 0x200A;
    }
}

int tok_is_bert_control(uint32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r')
        return 0;
    if (c < 0x80)
        return c < 0x20 || c == 0x7F;
    int o = tok_unicode_override(c);
    if (o >= 0)
        return o == TOK_U_CONTROL;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CO;
}

int tok_is_bert_punct(uint32_t c)
{
    if (c < 0x80)
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
               (c >= 123 && c <= 126);
    int o = tok_unicode_override(c);
    if (o >= 0)
        return o == TOK_U_PUNCT;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

int tok_is_chinese(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* ---- UTF-8 ---------------------------------------------------------------------------------- */

/* Length of the valid sequence at s[i], or 0 with *bad = bytes of the maximal ill-formed subpart
 * (Unicode §3.9 "U+FFFD substitution of maximal subparts", as WHATWG and Rust do). */
static int utf8_seq(const unsigned char *s, size_t n, size_t i, uint32_t *cp, int *bad)
{
    unsigned c = s[i];
    int len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else { *bad = 1; return 0; }
    uint32_t v = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (int k = 1; k < len; k++) {
        if (i + k >= n) { *bad = k; return 0; }
        unsigned b = s[i + k];
        if (b < lo || b > hi) { *bad = k; return 0; }
        lo = 0x80; hi = 0xBF;
        v = (v << 6) | (b & 0x3F);
    }
    *cp = v;
    return len;
}

int tok_utf8_check(const char *s, size_t len, size_t *bad_offset)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        if (u[i] < 0x80) { i++; continue; }
        uint32_t cp;
        int bad = 0, l = utf8_seq(u, len, i, &cp, &bad);
        if (!l) {
            if (bad_offset) *bad_offset = i;
            return ZB_EUTF8;
        }
        i += (size_t)l;
    }
    return 0;
}

int tok_utf8_decode(tok_work *w, const char *s, size_t len, int lossy, size_t *n_out, zb_err *err)
{
    if (tok_grow((void **)&w->cps, &w->cps_cap, len + 1, sizeof *w->cps))
        return zb_fail(err, ZB_ENOMEM, "cannot allocate for a text of %zu bytes", len);
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (u[i] < 0x80) { w->cps[n++] = u[i++]; continue; }
        uint32_t cp;
        int bad = 0, l = utf8_seq(u, len, i, &cp, &bad);
        if (l) { w->cps[n++] = cp; i += (size_t)l; continue; }
        if (!lossy)
            return zb_fail(err, ZB_EUTF8, "invalid UTF-8 at byte %zu", i);
        w->cps[n++] = 0xFFFD;
        i += (size_t)bad;
    }
    *n_out = n;
    return 0;
}

/* ---- normalization -------------------------------------------------------------------------- */

static int ensure_norm(tok_work *w, size_t need)
{
    if (need <= w->n_cap)
        return 0;
    size_t nc = w->n_cap ? w->n_cap : 256;
    while (nc < need) nc *= 2;
    void *a = realloc(w->ncp, nc * sizeof *w->ncp);
    if (!a) return ZB_ENOMEM;
    w->ncp = a;
    a = realloc(w->norig, nc * sizeof *w->norig);
    if (!a) return ZB_ENOMEM;
    w->norig = a;
    a = realloc(w->nccc, nc);
    if (!a) return ZB_ENOMEM;
    w->nccc = a;
    w->n_cap = nc;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

#define MN_BIT   0x80000000u /* a nonspacing mark waiting in a run, to be stripped after it */
#define CONS_BIT 0x40000000u /* first char of its original char's decomposition (HF: change 0) */

/* Canonical reordering of ncp[from..to) (all with nonzero combining class): a stable sort by
 * class, then HF's alignments. HF attaches to each decomposed char a change (0 for the first
 * char of an original char, +1 for the others) that moves with it through the sort; its
 * transform then gives a change-0 char the next original char in order, and a +1 char the
 * original char consumed last. Measured: "k" U+1B44 U+0300 U+1BAA gives the word [0,3), and
 * "Å" U+1BAA (Å -> A U+030A) keeps U+1BAA at its own place. prev_orig: the original char
 * consumed just before the run. */
static int sort_run(tok_work *w, size_t from, size_t to, uint32_t prev_orig)
{
    size_t n = to - from, i;
    for (i = from + 1; i < to && w->nccc[i - 1] <= w->nccc[i]; i++) {}
    if (i == to)
        return 0;                       /* in order: the alignments are already HF's */
    uint64_t *k = malloc(n * sizeof *k);
    uint32_t *tmp = malloc(n * sizeof *tmp), *cons = malloc(n * sizeof *cons);
    if (!k || !tmp || !cons) { free(k); free(tmp); free(cons); return ZB_ENOMEM; }
    size_t nc = 0;
    for (i = 0; i < n; i++) {
        k[i] = ((uint64_t)w->nccc[from + i] << 32) | i;   /* index breaks ties: stable */
        if (w->ncp[from + i] & CONS_BIT)
            cons[nc++] = w->norig[from + i];             /* originals, in order */
    }
    qsort(k, n, sizeof *k, cmp_u64);
    for (i = 0; i < n; i++)
        tmp[i] = w->ncp[from + (uint32_t)k[i]];
    size_t ci = 0;
    for (i = 0; i < n; i++) {
        w->ncp[from + i] = tmp[i];
        w->nccc[from + i] = (uint8_t)(k[i] >> 32);
        if ((tmp[i] & CONS_BIT) && ci < nc)
            prev_orig = cons[ci++];
        w->norig[from + i] = prev_orig;
    }
    free(k);
    free(tmp);
    free(cons);
    return 0;
}

uint32_t tok_lower1(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    return (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
}

/* End of a run of nonzero-ccc chars ncp[run..*o): reorder it, then drop the nonspacing marks
 * that accent stripping removes. A run of marks only (the usual accents) simply goes. */
static int close_run(tok_work *w, size_t run, size_t *o, int has_plain, uint32_t prev_orig)
{
    if (!has_plain) {
        *o = run;
        return 0;
    }
    if (sort_run(w, run, *o, prev_orig))
        return ZB_ENOMEM;
    size_t j = run;
    for (size_t i = run; i < *o; i++) {
        if (w->ncp[i] & MN_BIT)
            continue;
        w->ncp[j] = w->ncp[i] & ~CONS_BIT;
        w->norig[j] = w->norig[i];
        w->nccc[j++] = w->nccc[i];
    }
    *o = j;
    return 0;
}

#define END_RUN()                                                            \
    do {                                                                     \
        if (run != (size_t)-1) {                                             \
            if (close_run(w, run, &o, run_plain, run_prev)) return ZB_ENOMEM; \
            run = (size_t)-1;                                                \
        }                                                                    \
    } while (0)

static inline void put1(tok_work *w, size_t *o, uint32_t c, uint32_t orig, unsigned ccc)
{
    w->ncp[*o] = c;
    w->norig[*o] = orig;
    w->nccc[(*o)++] = (uint8_t)ccc;
}

long tok_normalize(const tok_tokenizer *t, tok_work *w, const uint32_t *cps, size_t n, uint32_t base)
{
    tok_bertnorm bn = {t->has_normalizer, t->clean_text, t->handle_chinese, t->strip_accents, t->lowercase};
    return tok_normalize_bert(&bn, w, cps, n, base);
}

long tok_normalize_bert(const tok_bertnorm *bn, tok_work *w, const uint32_t *cps, size_t n, uint32_t base)
{
    /* Worst case per input char: NFD (utf8proc gives at most 4 code points) plus the two CJK
     * spaces, or lowercase U+0130 (2); 40 per char is reserved near the end of the buffer. */
    if (ensure_norm(w, n + 64))
        return ZB_ENOMEM;
    size_t o = 0, run = (size_t)-1;  /* run: start of the current run of nonzero-ccc chars */
    int run_plain = 0;               /* the run holds a char that stays (not Mn) */
    uint32_t run_prev = 0;           /* original char consumed just before the run (HF's cursor) */
    uint32_t last_orig = base;       /* original index of the last char kept by clean_text */
    const int clean = bn->on && bn->clean_text;
    const int cjk = bn->on && bn->handle_chinese;
    const int strip = bn->on && bn->strip_accents;
    const int lower = bn->on && bn->lowercase;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i], orig = base + (uint32_t)i;
        int pad_after = 0;
        if (o + (n - i) + 40 > w->n_cap && ensure_norm(w, o + (n - i) + 40))
            return ZB_ENOMEM;
        if (c - 0x20u < 0x5Fu && run == (size_t)-1) {
            /* The common case, a run of printable ASCII: one char out per char in, nothing
             * removed (' ' stays ' '), no decomposition, combining class 0. */
            size_t j = i;
            do {
                uint32_t x = cps[j];
                w->ncp[o] = lower && x - 'A' < 26u ? x + 32 : x;
                w->norig[o] = base + (uint32_t)j;
                w->nccc[o++] = 0;
            } while (++j < n && cps[j] - 0x20u < 0x5Fu);
            last_orig = base + (uint32_t)(j - 1);
            i = j - 1;
            continue;
        }
        if (clean) {
            if (c == 0 || c == 0xFFFD || tok_is_bert_control(c))
                continue;
            if (tok_is_bert_whitespace(c))
                c = ' ';
        }
        const uint32_t before = last_orig;   /* the kept char before this one */
        last_orig = orig;
        if (c < 0x80) {                       /* ASCII: no decomposition, no CJK, ccc 0 */
            END_RUN();
            put1(w, &o, lower ? tok_lower1(c) : c, orig, 0);
            continue;
        }
        if (cjk && tok_is_chinese(c)) {
            END_RUN();
            /* ' ' c ' '; c itself still goes through NFD below: the compatibility ideographs
             * (U+F900.., U+2F800..) decompose canonically to unified ones. */
            put1(w, &o, ' ', orig, 0);
            pad_after = 1;
        }
        if (!strip) {                         /* no NFD: no reordering either */
            if (lower && c == 0x130) {        /* the one unconditional 1->2 lowercase */
                put1(w, &o, 'i', orig, 0);
                put1(w, &o, 0x307, orig, 0);
            } else {
                put1(w, &o, lower ? tok_lower1(c) : c, orig, 0);
            }
            if (pad_after)
                put1(w, &o, ' ', orig, 0);
            continue;
        }
        /* NFD, canonical reordering, then Mn removal, as HF's strip_accents; the marks of a
         * run wait in it (flagged) because reordering is positional for the alignments. */
        utf8proc_int32_t d[32];
        int last = 0;
        utf8proc_ssize_t nd = 1;
        d[0] = (utf8proc_int32_t)c;
        if (c < 0x11938 || !tok_unicode_nfd_unknown(c))  /* U+11938: the one new decomposition */
            nd = utf8proc_decompose_char((utf8proc_int32_t)c, d, 32, UTF8PROC_DECOMPOSE, &last);
        if (nd < 1 || nd > 32) { d[0] = (utf8proc_int32_t)c; nd = 1; }
        for (utf8proc_ssize_t k = 0; k < nd; k++) {
            uint32_t x = (uint32_t)d[k];
            const utf8proc_property_t *p = utf8proc_get_property(d[k]);
            unsigned ccc = p->combining_class;
            if (ccc && tok_unicode_nfd_unknown(x))
                ccc = 0;                      /* a starter to HF's older tables */
            int mn = p->category == UTF8PROC_CATEGORY_MN;
            if (x >= 0x300) {
                int ov = tok_unicode_override(x);
                if (ov >= 0)
                    mn = ov == TOK_U_MN;
            }
            if (ccc == 0) {
                END_RUN();
                if (!mn)
                    put1(w, &o, lower ? tok_lower1(x) : x, orig, 0);
                continue;
            }
            if (run == (size_t)-1) {
                run = o;
                run_plain = 0;
                run_prev = k ? orig : before;
            }
            run_plain |= !mn;
            put1(w, &o, (mn ? x | MN_BIT : lower ? tok_lower1(x) : x) | (k ? 0 : CONS_BIT), orig, ccc);
        }
        if (pad_after) {
            END_RUN();
            put1(w, &o, ' ', orig, 0);
        }
    }
    END_RUN();
    return (long)o;
}
