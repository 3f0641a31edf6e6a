/* tok_pretok: HF's pre-tokenizers (pre_tokenizers/) over the pieces of a tok_pstr.
 *
 * Each pre-tokenizer turns every piece that is not an added token into match spans (a regex, or a
 * char predicate: every matching char is a span of its own, the runs between are non-match spans),
 * then applies a split behaviour (HF NormalizedString::split):
 *   Removed            match spans dropped
 *   Isolated           every span a piece
 *   MergedWithPrevious a match joins the previous piece when that span was a non-match
 *   MergedWithNext     mirror image, right to left
 *   Contiguous         consecutive spans with the same flag joined
 * and empty pieces are dropped. invert flips the flags first. ByteLevel and Metaspace rewrite the
 * text (a prefix space / replacement char, GPT-2's byte chars), each new byte aligned to the
 * original char it stands for. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok_comp.h"

void tok_pretok_free(tok_pretok *p)
{
    if (p)
        tok_regex_free(p->re);
}

/* GPT-2 bytes_to_unicode: printable Latin-1 bytes map to themselves, the 68 others to U+0100+k
 * in ascending byte order. */
#define R4(a) a, a + 1, a + 2, a + 3
#define R16(a) R4(a), R4(a + 4), R4(a + 8), R4(a + 12)
const uint16_t tok_byte_char[256] = {
    R16(0x100), R16(0x110), 0x120, /* 0x00-0x20 */
    0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F,
    R16(0x30), R16(0x40), R16(0x50), R16(0x60), 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,
    0x79, 0x7A, 0x7B, 0x7C, 0x7D, 0x7E, 0x121, /* 0x7F */
    R16(0x122), R16(0x132), 0x142,             /* 0x80-0xA0 */
    0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0x143, /* 0xAD */
    0xAE, 0xAF, R16(0xB0), R16(0xC0), R16(0xD0), R16(0xE0), R16(0xF0)};

int tok_char_byte(uint32_t c)
{
    if ((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF))
        return (int)c;
    if (c >= 0x100 && c <= 0x120) return (int)(c - 0x100);
    if (c == 0x121) return 0x7F;
    if (c >= 0x122 && c <= 0x142) return (int)(c - 0x122 + 0x80);
    if (c == 0x143) return 0xAD;
    return -1;
}

/* ---- spans -> pieces -------------------------------------------------------------------------- */

static int span_push(void *vc, size_t s, size_t e, int m)
{
    return tok_pieces_push(vc, (uint32_t)s, (uint32_t)(e - s), m, 0, 0);
}

/* Apply a behaviour to pw->sp (spans relative to base) and push the pieces to out. */
static int behave(tok_pieces *sp, int behavior, int invert, uint32_t base, tok_pieces *out)
{
    size_t n = sp->n;
    tok_piece *s = sp->p;
    if (invert)
        for (size_t i = 0; i < n; i++)
            s[i].id = !s[i].id;
    /* merge in place into s[0..k), flags: id = 1 "drop" for Removed */
    size_t k = 0;
    switch (behavior) {
    case TOK_B_REMOVED:
    case TOK_B_ISOLATED:
        k = n;
        if (behavior == TOK_B_ISOLATED)
            for (size_t i = 0; i < n; i++) s[i].id = 0;
        break;
    case TOK_B_CONTIGUOUS: {
        int prev = 0;
        for (size_t i = 0; i < n; i++) {
            int m = s[i].id;
            if (m == prev && k) s[k - 1].len = s[i].off + s[i].len - s[k - 1].off;
            else { s[k] = s[i]; s[k++].id = 0; }
            prev = m;
        }
        break;
    }
    case TOK_B_MERGED_PREV: {
        int prev = 0;
        for (size_t i = 0; i < n; i++) {
            int m = s[i].id;
            if (m && !prev && k) s[k - 1].len = s[i].off + s[i].len - s[k - 1].off;
            else { s[k] = s[i]; s[k++].id = 0; }
            prev = m;
        }
        break;
    }
    case TOK_B_MERGED_NEXT: {
        /* right to left, building from the end of the array */
        int prev = 0;
        size_t j = n;                       /* s[j..n) is the result, in order */
        for (size_t i = n; i-- > 0;) {
            int m = s[i].id;
            if (m && !prev && j < n) {
                s[j].len += s[j].off - s[i].off;
                s[j].off = s[i].off;
            } else {
                s[--j] = s[i];
                s[j].id = 0;
            }
            prev = m;
        }
        memmove(s, s + j, (n - j) * sizeof *s);
        k = n - j;
        break;
    }
    default:
        assert(0);
    }
    for (size_t i = 0; i < k; i++)
        if (!s[i].id && s[i].len && tok_pieces_push(out, base + s[i].off, s[i].len, -1, 0, 0))
            return ZB_ENOMEM;
    return 0;
}

/* ---- char predicates -------------------------------------------------------------------------- */

static int is_numeric(uint32_t c)
{
    if (c < 0x80)
        return c >= '0' && c <= '9';
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

/* Every char with pred(c) a match span of its own (HF's Pattern for Fn(char) -> bool). */
static int char_spans(const char *s, size_t n, int kind, uint32_t ch, tok_pieces *sp)
{
    size_t last = 0;
    for (size_t i = 0; i < n;) {
        int l;
        uint32_t c = tok_utf8_get(s + i, &l);
        int m;
        switch (kind) {
        case TOK_P_DIGITS: m = is_numeric(c); break;
        case TOK_P_PUNCTUATION: m = tok_is_bert_punct(c); break;
        case TOK_P_WHITESPACE_SPLIT: m = tok_is_bert_whitespace(c); break;
        default: m = c == ch; break;       /* Metaspace, CharDelimiterSplit */
        }
        if (m) {
            if (last < i && span_push(sp, last, i, 0))
                return ZB_ENOMEM;
            if (span_push(sp, i, i + (size_t)l, 1))
                return ZB_ENOMEM;
            last = i + (size_t)l;
        }
        i += (size_t)l;
    }
    if (last < n && span_push(sp, last, n, 0))
        return ZB_ENOMEM;
    return 0;
}

/* BertPreTokenizer: whitespace removed, then every punctuation char alone. Whitespace (Rust
 * regex \w+|[^\w\s]+ kept): runs of word chars, runs of other non-space chars. */
static int word_runs(const char *s, size_t n, uint32_t base, int bert, tok_pieces *out)
{
    size_t i = 0;
    while (i < n) {
        int l;
        uint32_t c = tok_utf8_get(s + i, &l);
        if (tok_is_bert_whitespace(c)) { i += (size_t)l; continue; }
        int cls = bert ? (tok_is_bert_punct(c) ? 2 : 1) : (tok_is_rust_word(c) ? 1 : 2);
        size_t j = i + (size_t)l;
        if (!(bert && cls == 2))
            while (j < n) {
                uint32_t d = tok_utf8_get(s + j, &l);
                if (tok_is_bert_whitespace(d)) break;
                int dc = bert ? (tok_is_bert_punct(d) ? 2 : 1) : (tok_is_rust_word(d) ? 1 : 2);
                if (dc != cls) break;
                j += (size_t)l;
            }
        if (tok_pieces_push(out, base + (uint32_t)i, (uint32_t)(j - i), -1, 0, 0))
            return ZB_ENOMEM;
        i = j;
    }
    return 0;
}

/* ---- rewriting pre-tokenizers ----------------------------------------------------------------- */

/* Append x[s..e) to out as GPT-2 byte chars. */
static int put_bytes(tok_pstr *out, const tok_pstr *x, size_t s, size_t e)
{
    if (tok_pstr_reserve(out, (e - s) * 2))
        return ZB_ENOMEM;
    for (size_t i = s; i < e; i++) {
        uint32_t c = tok_byte_char[(unsigned char)x->b[i]];
        if (c < 0x80) {
            out->b[out->n] = (char)c;
            out->o[out->n++] = x->o[i];
        } else {
            out->b[out->n] = (char)(0xC0 | (c >> 6));
            out->o[out->n++] = x->o[i];
            out->b[out->n] = (char)(0x80 | (c & 0x3F));
            out->o[out->n++] = x->o[i];
        }
    }
    return 0;
}

static int byte_level(const tok_pretok *p, tok_pwork *pw, const tok_pstr *cur, const tok_piece *pc,
                      tok_pstr *out, tok_pieces *res)
{
    tok_pstr *x = &pw->x;
    x->n = 0;
    const char *s = cur->b + pc->off;
    int pre = p->add_prefix_space && s[0] != ' ';
    if (tok_pstr_reserve(x, pc->len + 1))
        return ZB_ENOMEM;
    if (pre)
        tok_pstr_put(x, " ", 1, cur->o[pc->off]);
    memcpy(x->b + x->n, s, pc->len);
    memcpy(x->o + x->n, cur->o + pc->off, pc->len * sizeof *x->o);
    x->n += pc->len;
    if (!p->re) {
        size_t at = out->n;
        if (put_bytes(out, x, 0, x->n))
            return ZB_ENOMEM;
        return tok_pieces_push(res, (uint32_t)at, (uint32_t)(out->n - at), -1, 0, 0);
    }
    pw->sp.n = 0;
    int rc = tok_regex_spans(p->re, x->b, x->n, span_push, &pw->sp);
    for (size_t i = 0; !rc && i < pw->sp.n; i++) {
        const tok_piece *sp = &pw->sp.p[i];
        if (!sp->len)
            continue;
        size_t at = out->n;
        rc = put_bytes(out, x, sp->off, sp->off + sp->len) ||
             tok_pieces_push(res, (uint32_t)at, (uint32_t)(out->n - at), -1, 0, 0) ? ZB_ENOMEM : 0;
    }
    return rc;
}

static int metaspace(const tok_pretok *p, tok_pwork *pw, const tok_pstr *cur, const tok_piece *pc,
                     tok_pstr *out, tok_pieces *res)
{
    char rep[4];
    size_t rl = (size_t)tok_utf8_put(rep, p->ch);
    const char *s = cur->b + pc->off;
    const uint32_t *o = cur->o + pc->off;
    size_t at = out->n;
    if (tok_pstr_reserve(out, pc->len * rl + rl))
        return ZB_ENOMEM;
    int starts = s[0] == ' ' || (pc->len >= rl && !memcmp(s, rep, rl));
    if (!starts && (p->prepend_scheme == TOK_PREPEND_ALWAYS ||
                    (p->prepend_scheme == TOK_PREPEND_FIRST && o[0] == 0)))
        tok_pstr_put(out, rep, rl, o[0]);
    for (size_t i = 0; i < pc->len; i++) {
        if (s[i] == ' ') tok_pstr_put(out, rep, rl, o[i]);
        else tok_pstr_put(out, s + i, 1, o[i]);
    }
    if (!p->split)
        return tok_pieces_push(res, (uint32_t)at, (uint32_t)(out->n - at), -1, 0, 0);
    pw->sp.n = 0;
    return char_spans(out->b + at, out->n - at, TOK_P_METASPACE, p->ch, &pw->sp) ||
           behave(&pw->sp, TOK_B_MERGED_NEXT, 0, (uint32_t)at, res) ? ZB_ENOMEM : 0;
}

/* ---- one pre-tokenizer over all pieces --------------------------------------------------------- */

int tok_pretok_apply(const tok_pretok *p, tok_pwork *pw, const tok_pstr *cur, tok_pstr *spare)
{
    const int rewrite = p->kind == TOK_P_BYTELEVEL || p->kind == TOK_P_METASPACE;
    tok_pieces *in = &pw->p, *res = &pw->q;
    res->n = 0;
    if (rewrite)
        spare->n = 0;
    int rc = 0;
    for (size_t i = 0; i < in->n && !rc; i++) {
        const tok_piece *pc = &in->p[i];
        if (pc->id >= 0) {                         /* an added token: passes through */
            if (tok_pieces_push(res, 0, 0, pc->id, pc->os, pc->oe))
                return ZB_ENOMEM;
            continue;
        }
        const char *s = cur->b + pc->off;
        switch (p->kind) {
        case TOK_P_BYTELEVEL:
            rc = byte_level(p, pw, cur, pc, spare, res);
            break;
        case TOK_P_METASPACE:
            rc = metaspace(p, pw, cur, pc, spare, res);
            break;
        case TOK_P_BERT:
        case TOK_P_WHITESPACE:
            rc = word_runs(s, pc->len, pc->off, p->kind == TOK_P_BERT, res);
            break;
        case TOK_P_SPLIT:
            pw->sp.n = 0;
            rc = tok_regex_spans(p->re, s, pc->len, span_push, &pw->sp);
            if (!rc)
                rc = behave(&pw->sp, p->behavior, p->invert, pc->off, res);
            break;
        case TOK_P_DIGITS:
            pw->sp.n = 0;
            rc = char_spans(s, pc->len, p->kind, 0, &pw->sp) ||
                 behave(&pw->sp, p->individual_digits ? TOK_B_ISOLATED : TOK_B_CONTIGUOUS, 0, pc->off, res)
                     ? ZB_ENOMEM : 0;
            break;
        case TOK_P_PUNCTUATION:
        case TOK_P_WHITESPACE_SPLIT:
        case TOK_P_CHAR_DELIMITER:
            pw->sp.n = 0;
            rc = char_spans(s, pc->len, p->kind, p->ch, &pw->sp) ||
                 behave(&pw->sp, p->kind == TOK_P_PUNCTUATION ? p->behavior : TOK_B_REMOVED, 0, pc->off, res)
                     ? ZB_ENOMEM : 0;
            break;
        default:
            assert(0);
        }
    }
    if (rc)
        return rc;
    tok_pieces t = *in;
    *in = *res;
    *res = t;
    return rewrite;
}
