/* tok_normalizers: HF's normalizers over a tok_pstr, keeping its alignments (normalizers/,
 * tokenizer/normalizer.rs). Each normalizer reads one string and appends its result to another;
 * tok_normalize_all chains them through the work buffers. Rules (alignment = original code point):
 *
 *   BertNormalizer    tok_norm.c's, the same code as the BERT fast path
 *   NFD / NFKD        each char's decomposition, then canonical reordering (a stable sort by
 *                     combining class); every char of a decomposition aligns to the char it came
 *                     from (HF: the first keeps it, the others take the one consumed last)
 *   NFC / NFKC        the same, then canonical composition: a composite keeps its starter's
 *                     alignment, the absorbed mark's vanishes
 *   Lowercase         Rust char::to_lowercase per char (U+0130 -> "i" U+0307, both aligned to it)
 *   Strip             removes char::is_whitespace runs at the start / end
 *   StripAccents      removes combining marks (general category M)
 *   Replace           every non-overlapping Oniguruma match -> content, each content char aligned to
 *                     the match's last byte
 *   Prepend           the text before a non-empty string, aligned to its first char
 *
 * Unicode data: utf8proc's (HF uses Unicode 9.0 for NF*; chars added later differ, see
 * tok_unicode.c for the ones the BERT path corrects). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok_comp.h"

void tok_normalizer_free(tok_normalizer *n)
{
    if (!n)
        return;
    free(n->text);
    tok_regex_free(n->re);
}

/* The string as code points with their alignments, in pw->cps / pw->cpo. */
static long to_cps(tok_pwork *pw, const tok_pstr *in, size_t off, size_t len)
{
    if (tok_grow((void **)&pw->cps, &pw->cps_cap, len + 1, sizeof *pw->cps) ||
        tok_grow((void **)&pw->cpo, &pw->cpo_cap, len + 1, sizeof *pw->cpo))
        return ZB_ENOMEM;
    size_t n = 0;
    for (size_t i = off; i < off + len;) {
        int l;
        pw->cpo[n] = in->o[i];
        pw->cps[n++] = tok_utf8_get(in->b + i, &l);
        i += (size_t)l;
    }
    return (long)n;
}

static int put_cp(tok_pstr *out, uint32_t c, uint32_t orig)
{
    char u[4];
    int l = tok_utf8_put(u, c);
    if (tok_pstr_reserve(out, (size_t)l))
        return ZB_ENOMEM;
    tok_pstr_put(out, u, (size_t)l, orig);
    return 0;
}

static int is_mark(uint32_t c)
{
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME;
}

#define FIRST 0x80000000u   /* during nf(): first char of its original char's decomposition */

static unsigned ccc_of(uint32_t c) { return utf8proc_get_property((utf8proc_int32_t)c)->combining_class; }

/* NF(K)D and NF(K)C. Runs of nonzero-class chars are sorted (insertion sort: runs are short, and
 * an attacker's long run costs quadratic time only within that run; a run is capped at 64 chars
 * per sort window, past which HF would keep sorting but no real text goes). */
static int nf(int kind, tok_pwork *pw, const tok_pstr *in, size_t off, size_t len, tok_pstr *out)
{
    int compat = kind == TOK_N_NFKC || kind == TOK_N_NFKD;
    int compose = kind == TOK_N_NFC || kind == TOK_N_NFKC;
    long n = to_cps(pw, in, off, len);
    if (n < 0)
        return (int)n;
    /* decomposed: code point, alignment, class */
    size_t cap = (size_t)n * 4 + 16, m = 0;
    uint32_t *dc = malloc(cap * sizeof *dc), *da = malloc(cap * sizeof *da);
    uint8_t *dk = malloc(cap);
    int rc = 0;
    if (!dc || !da || !dk) { rc = ZB_ENOMEM; goto done; }
    for (long i = 0; i < n; i++) {
        utf8proc_int32_t d[32];
        int lbc = 0;
        utf8proc_ssize_t nd = pw->cps[i] < 0x80 ? 0 :
            utf8proc_decompose_char((utf8proc_int32_t)pw->cps[i], d, 32,
                                    UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0), &lbc);
        if (nd < 1 || nd > 32) { d[0] = (utf8proc_int32_t)pw->cps[i]; nd = 1; }
        if (m + (size_t)nd + 1 > cap) {
            cap = (m + (size_t)nd) * 2;
            void *a = realloc(dc, cap * sizeof *dc), *b = a ? realloc(da, cap * sizeof *da) : NULL,
                 *c = b ? realloc(dk, cap) : NULL;
            if (a) dc = a;
            if (b) da = b;
            if (c) dk = c;
            if (!a || !b || !c) { rc = ZB_ENOMEM; goto done; }
        }
        for (utf8proc_ssize_t k = 0; k < nd; k++) {
            uint32_t x = (uint32_t)d[k];
            unsigned cc = x < 0x300 ? 0 : ccc_of(x);
            /* insertion into the current run of nonzero classes (stable by class) */
            size_t j = m;
            if (cc)
                while (j > 0 && dk[j - 1] > cc && m - j < 64) {
                    dc[j] = dc[j - 1]; da[j] = da[j - 1]; dk[j] = dk[j - 1];
                    j--;
                }
            dc[j] = x;
            dk[j] = (uint8_t)cc;
            da[j] = pw->cpo[i] | (k == 0 ? FIRST : 0);
            m++;
        }
    }
    /* HF's alignments after reordering (its transform cursor): walking the result, a char that
     * was first of its decomposition takes the next original char in input order, any other
     * char the original consumed last. Without reordering this is each char's own. */
    for (size_t r = 0; r < m;) {
        if (!dk[r]) { da[r] &= ~FIRST; r++; continue; }
        size_t e = r;
        while (e < m && dk[e]) e++;
        uint32_t prev = r ? da[r - 1] : da[r] & ~FIRST;
        /* the originals of the first-chars, in input order = sorted by original index */
        uint32_t cons[64];
        size_t nc = 0;
        for (size_t k = r; k < e && nc < 64; k++)
            if (da[k] & FIRST) cons[nc++] = da[k] & ~FIRST;
        for (size_t a = 1; a < nc; a++)
            for (size_t b = a; b > 0 && cons[b - 1] > cons[b]; b--) {
                uint32_t x = cons[b]; cons[b] = cons[b - 1]; cons[b - 1] = x;
            }
        size_t ci = 0;
        for (size_t k = r; k < e; k++) {
            if ((da[k] & FIRST) && ci < nc) prev = cons[ci++];
            da[k] = prev;
        }
        r = e;
    }
    if (compose) {
        /* canonical composition: a char combines with the last starter unless blocked */
        size_t o = 0;
        long starter = -1;
        for (size_t i = 0; i < m; i++) {
            uint32_t c = dc[i];
            unsigned cc = dk[i];
            if (starter >= 0 && c >= 0x300) {
                int blocked = (size_t)starter + 1 < o && (dk[o - 1] >= cc || dk[o - 1] == 0);
                if (!blocked) {
                    utf8proc_int32_t pair[2] = {(utf8proc_int32_t)dc[starter], (utf8proc_int32_t)c};
                    utf8proc_ssize_t r = utf8proc_normalize_utf32(pair, 2, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
                    if (r == 1) {
                        dc[starter] = (uint32_t)pair[0];
                        continue;
                    }
                }
            }
            if (cc == 0)
                starter = (long)o;
            dc[o] = c; da[o] = da[i]; dk[o] = (uint8_t)cc;
            o++;
        }
        m = o;
    }
    for (size_t i = 0; i < m && !rc; i++)
        rc = put_cp(out, dc[i], da[i]);
done:
    free(dc);
    free(da);
    free(dk);
    return rc;
}

static int bert(const tok_normalizer *nz, tok_work *w, tok_pwork *pw, const tok_pstr *in, size_t off,
                size_t len, tok_pstr *out)
{
    long n = to_cps(pw, in, off, len);
    if (n < 0)
        return (int)n;
    long nn = tok_normalize_bert(&nz->bert, w, pw->cps, (size_t)n, 0);
    if (nn < 0)
        return (int)nn;
    for (long k = 0; k < nn; k++)
        if (put_cp(out, w->ncp[k], pw->cpo[w->norig[k]]))
            return ZB_ENOMEM;
    return 0;
}

typedef struct {
    const tok_normalizer *nz;
    const tok_pstr *in;
    size_t off;
    tok_pstr *out;
} repl_ctx;

static int on_replace(void *vc, size_t s, size_t e, int is_match)
{
    repl_ctx *c = vc;
    if (tok_pstr_reserve(c->out, is_match ? c->nz->text_len : e - s))
        return ZB_ENOMEM;
    if (!is_match) {
        memcpy(c->out->b + c->out->n, c->in->b + c->off + s, e - s);
        memcpy(c->out->o + c->out->n, c->in->o + c->off + s, (e - s) * sizeof *c->out->o);
        c->out->n += e - s;
        return 0;
    }
    /* the content aligns to the last matched byte (an empty match: to the byte before it) */
    size_t at = e > s ? c->off + e - 1 : c->off + s > 0 ? c->off + s - 1 : c->off;
    uint32_t orig = at < c->in->n ? c->in->o[at] : 0;
    tok_pstr_put(c->out, c->nz->text, c->nz->text_len, orig);
    return 0;
}

static int is_ws(uint32_t c) { return tok_is_bert_whitespace(c); }

/* One normalizer: in[off, off+len) appended to out. */
static int apply1(const tok_normalizer *nz, tok_work *w, tok_pwork *pw, const tok_pstr *in, size_t off,
                  size_t len, tok_pstr *out)
{
    const char *s = in->b + off;
    const uint32_t *o = in->o + off;
    switch (nz->kind) {
    case TOK_N_BERT:
        return bert(nz, w, pw, in, off, len, out);
    case TOK_N_NFC: case TOK_N_NFD: case TOK_N_NFKC: case TOK_N_NFKD: {
        size_t i = 0;
        while (i < len && (unsigned char)s[i] < 0x80)
            i++;
        if (i == len)                                   /* ASCII only: nothing changes */
            break;
        return nf(nz->kind, pw, in, off, len, out);
    }
    case TOK_N_LOWERCASE:
        for (size_t i = 0; i < len;) {
            int l;
            uint32_t c = tok_utf8_get(s + i, &l);
            int rc = c == 0x130 ? put_cp(out, 'i', o[i]) || put_cp(out, 0x307, o[i])
                                : put_cp(out, tok_lower1(c), o[i]);
            if (rc)
                return ZB_ENOMEM;
            i += (size_t)l;
        }
        return 0;
    case TOK_N_STRIP: {
        size_t a = 0, b = len;
        int l;
        while (nz->left && a < b && is_ws(tok_utf8_get(s + a, &l)))
            a += (size_t)l;
        while (nz->right && b > a) {
            size_t k = b - 1;
            while (k > a && ((unsigned char)s[k] & 0xC0) == 0x80)
                k--;
            if (!is_ws(tok_utf8_get(s + k, &l)))
                break;
            b = k;
        }
        off += a;
        len = b - a;
        break;
    }
    case TOK_N_STRIP_ACCENTS:
        for (size_t i = 0; i < len;) {
            int l;
            uint32_t c = tok_utf8_get(s + i, &l);
            if (!(c >= 0x300 && is_mark(c))) {
                if (tok_pstr_reserve(out, (size_t)l))
                    return ZB_ENOMEM;
                tok_pstr_put(out, s + i, (size_t)l, o[i]);
            }
            i += (size_t)l;
        }
        return 0;
    case TOK_N_REPLACE: {
        repl_ctx c = {nz, in, off, out};
        return tok_regex_spans(nz->re, s, len, on_replace, &c);
    }
    case TOK_N_PREPEND:
        if (len) {
            if (tok_pstr_reserve(out, nz->text_len))
                return ZB_ENOMEM;
            tok_pstr_put(out, nz->text, nz->text_len, o[0]);
        }
        break;
    default:
        assert(0);
    }
    /* copy the (remaining) input through */
    if (tok_pstr_reserve(out, len))
        return ZB_ENOMEM;
    memcpy(out->b + out->n, in->b + off, len);
    memcpy(out->o + out->n, in->o + off, len * sizeof *out->o);
    out->n += len;
    return 0;
}

int tok_normalize_all(const tok_normalizer *ns, int n, tok_work *w, const tok_pstr *in, size_t off,
                      size_t len, tok_pstr *out)
{
    tok_pwork *pw = w->pipe;
    if (n == 1)
        return apply1(&ns[0], w, pw, in, off, len, out);
    /* ping-pong through pw->b / pw->c, the last step appends to out */
    const tok_pstr *src = in;
    size_t soff = off, slen = len;
    tok_pstr *bufs[2] = {&pw->b, &pw->c};
    for (int k = 0; k < n; k++) {
        tok_pstr *dst = k == n - 1 ? out : bufs[k & 1];
        if (dst != out)
            dst->n = 0;
        size_t start = dst->n;
        int rc = apply1(&ns[k], w, pw, src, soff, slen, dst);
        if (rc)
            return rc;
        src = dst;
        soff = start;
        slen = dst->n - start;
    }
    return 0;
}
