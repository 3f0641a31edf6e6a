/* tok_decoders: ids -> text for the general pipeline, as HF's decoders (decoders/, decode_chain):
 * the tokens (specials dropped with skip_special) go through each decoder of the chain in turn,
 * each turning a list of strings into another; the result is their concatenation. No decoder:
 * tokens joined by spaces (HF's default).
 *
 *   ByteLevel    all tokens -> their GPT-2 bytes (a token with a char outside the table: its own
 *                UTF-8), then ONE lossy UTF-8 decode of everything (one U+FFFD per maximal
 *                invalid subpart)
 *   ByteFallback a run of <0xHH> tokens -> its bytes if valid UTF-8, else one U+FFFD per byte
 *   Metaspace    replacement -> ' ', except in the first token (deleted) unless prepend_scheme never
 *   WordPiece    "##" continuations glued, others get a space; cleanup of " ." etc.
 *   BPEDecoder   suffix -> ' ' (the last token: removed)
 *   Fuse         one string;  Strip: up to start/stop copies of the char at each token's ends
 *   Replace      Oniguruma matches in each token -> content */
#include <stdlib.h>
#include <string.h>

#include "tok_comp.h"

typedef struct {
    char  *s;
    size_t n, cap;
} str;

typedef struct {
    str   *v;
    size_t n, cap;
} strs;

static int str_add(str *b, const char *s, size_t len)
{
    if (tok_grow((void **)&b->s, &b->cap, b->n + len + 1, 1))
        return ZB_ENOMEM;
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = '\0';
    return 0;
}

static str *strs_new(strs *l)
{
    if (tok_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v))
        return NULL;
    str *s = &l->v[l->n++];
    memset(s, 0, sizeof *s);
    return str_add(s, "", 0) ? NULL : s;
}

static void strs_free(strs *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].s);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Lossy UTF-8 of b[0..n) appended to out (WHATWG: one U+FFFD per maximal ill-formed subpart). */
static int add_lossy(str *out, const char *b, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t bad;
        if (!tok_utf8_check(b + i, n - i, &bad))
            return str_add(out, b + i, n - i);
        if (str_add(out, b + i, bad) || str_add(out, "\xef\xbf\xbd", 3))
            return ZB_ENOMEM;
        i += bad;
        /* length of the maximal subpart: a lead byte and the continuation bytes it allows */
        unsigned char c = (unsigned char)b[i];
        size_t want = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 1;
        size_t k = 1;
        while (k < want && i + k < n) {
            unsigned char d = (unsigned char)b[i + k];
            unsigned lo = 0x80, hi = 0xBF;
            if (k == 1 && c == 0xE0) lo = 0xA0;
            if (k == 1 && c == 0xED) hi = 0x9F;
            if (k == 1 && c == 0xF0) lo = 0x90;
            if (k == 1 && c == 0xF4) hi = 0x8F;
            if (d < lo || d > hi) break;
            k++;
        }
        i += k;
    }
    return 0;
}

static int byte_of_token(const str *t)
{
    if (t->n != 6 || memcmp(t->s, "<0x", 3) || t->s[5] != '>')
        return -1;
    int v = 0;
    for (int k = 3; k < 5; k++) {
        char c = t->s[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

static int flush_bytes(strs *out, str *bytes)
{
    if (!bytes->n)
        return 0;
    if (!tok_utf8_check(bytes->s, bytes->n, NULL)) {
        str *s = strs_new(out);
        if (!s || str_add(s, bytes->s, bytes->n)) return ZB_ENOMEM;
    } else {
        for (size_t k = 0; k < bytes->n; k++) {
            str *s = strs_new(out);
            if (!s || str_add(s, "\xef\xbf\xbd", 3)) return ZB_ENOMEM;
        }
    }
    bytes->n = 0;
    return 0;
}

typedef struct {
    str *out;
    const char *tok;
    const tok_decoder *d;
} repl_ctx;

static int on_repl(void *vc, size_t s, size_t e, int m)
{
    repl_ctx *c = vc;
    return m ? str_add(c->out, c->d->a, c->d->a_len) : str_add(c->out, c->tok + s, e - s);
}

/* One decoder: in -> out. */
static int decode1(const tok_decoder *d, strs *in, strs *out)
{
    int rc = 0;
    str tmp = {0};
    switch (d->kind) {
    case TOK_D_BYTELEVEL: {
        str *s = strs_new(out);
        if (!s) return ZB_ENOMEM;
        for (size_t i = 0; i < in->n && !rc; i++) {
            const str *t = &in->v[i];
            size_t mark = tmp.n;
            int all = 1;
            for (size_t k = 0; k < t->n && all;) {
                int l, b = tok_char_byte(tok_utf8_get(t->s + k, &l));
                char c = (char)b;
                if (b < 0) all = 0;
                else if (str_add(&tmp, &c, 1)) rc = ZB_ENOMEM;
                k += (size_t)l;
            }
            if (!all) {
                tmp.n = mark;
                rc = str_add(&tmp, t->s, t->n);
            }
        }
        if (!rc)
            rc = add_lossy(s, tmp.s ? tmp.s : "", tmp.n);
        break;
    }
    case TOK_D_BYTEFALLBACK:
        for (size_t i = 0; i < in->n && !rc; i++) {
            int b = byte_of_token(&in->v[i]);
            char c = (char)b;
            if (b >= 0) {
                rc = str_add(&tmp, &c, 1);
            } else {
                str *s;
                rc = flush_bytes(out, &tmp) || !(s = strs_new(out)) || str_add(s, in->v[i].s, in->v[i].n)
                         ? ZB_ENOMEM : 0;
            }
        }
        if (!rc)
            rc = flush_bytes(out, &tmp);
        break;
    case TOK_D_FUSE: {
        str *s = strs_new(out);
        for (size_t i = 0; s && i < in->n && !rc; i++)
            rc = str_add(s, in->v[i].s, in->v[i].n);
        if (!s) rc = ZB_ENOMEM;
        break;
    }
    default:
        for (size_t i = 0; i < in->n && !rc; i++) {
            const str *t = &in->v[i];
            str *s = strs_new(out);
            if (!s) { rc = ZB_ENOMEM; break; }
            if (d->kind == TOK_D_METASPACE) {
                for (size_t k = 0; k < t->n && !rc;) {
                    int l;
                    uint32_t c = tok_utf8_get(t->s + k, &l);
                    if (c != d->ch) rc = str_add(s, t->s + k, (size_t)l);
                    else if (i || d->prepend_scheme == TOK_PREPEND_NEVER) rc = str_add(s, " ", 1);
                    k += (size_t)l;
                }
            } else if (d->kind == TOK_D_WORDPIECE) {
                static const char *const from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " do not",
                                                   " 's", " 've", " 're"};
                static const char *const to[] = {".", "?", "!", ",", "'", "n't", "'m", " don't", "'s", "'ve", "'re"};
                if (i && t->n >= d->a_len && !memcmp(t->s, d->a, d->a_len))
                    rc = str_add(s, t->s + d->a_len, t->n - d->a_len);
                else
                    rc = (i && str_add(s, " ", 1)) || str_add(s, t->s, t->n) ? ZB_ENOMEM : 0;
                for (size_t k = 0; !rc && d->cleanup && k < sizeof from / sizeof *from; k++) {
                    size_t fl = strlen(from[k]);
                    tmp.n = 0;
                    const char *p = s->s, *hit;
                    while (!rc && (hit = strstr(p, from[k]))) {
                        rc = str_add(&tmp, p, (size_t)(hit - p)) || str_add(&tmp, to[k], strlen(to[k])) ? ZB_ENOMEM : 0;
                        p = hit + fl;
                    }
                    if (!rc && p != s->s) {
                        rc = str_add(&tmp, p, strlen(p));
                        str x = *s; *s = tmp; tmp = x;
                    }
                }
            } else if (d->kind == TOK_D_BPE) {
                const char *rep = i + 1 == in->n ? "" : " ";
                for (size_t k = 0; k < t->n && !rc;) {
                    if (d->a_len && k + d->a_len <= t->n && !memcmp(t->s + k, d->a, d->a_len)) {
                        rc = str_add(s, rep, strlen(rep));
                        k += d->a_len;
                    } else {
                        rc = str_add(s, t->s + k, 1);
                        k++;
                    }
                }
            } else if (d->kind == TOK_D_STRIP) {
                int l;
                uint32_t ch = tok_utf8_get(d->a, &l);
                size_t a = 0, b = t->n;
                for (int k = 0; k < d->start && a < b; k++) {
                    int cl;
                    if (tok_utf8_get(t->s + a, &cl) != ch) break;
                    a += (size_t)cl;
                }
                for (int k = 0; k < d->stop && b > a; k++) {
                    size_t j = b - 1;
                    while (j > a && ((unsigned char)t->s[j] & 0xC0) == 0x80) j--;
                    int cl;
                    if (tok_utf8_get(t->s + j, &cl) != ch) break;
                    b = j;
                }
                rc = str_add(s, t->s + a, b - a);
            } else if (d->kind == TOK_D_REPLACE) {
                repl_ctx c = {s, t->s, d};
                rc = tok_regex_spans(d->re, t->s, t->n, on_repl, &c);
            }
        }
    }
    free(tmp.s);
    return rc;
}

int tok_decode_gen(const tok_tokenizer *t, const int32_t *ids, int n, int skip_special, char **out, zb_err *err)
{
    strs a = {0}, b = {0};
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        const char *tok = tok_id_to_token(t, ids[i]);
        if (!tok) {
            strs_free(&a);
            return zb_fail(err, ZB_ERANGE, "decode: ids[%d] = %d is not a token id (vocabulary size %d)", i,
                           ids[i], tok_vocab_size(t));
        }
        if (skip_special && tok_is_special_id(t, ids[i]))
            continue;
        str *s = strs_new(&a);
        rc = !s || str_add(s, tok, strlen(tok)) ? ZB_ENOMEM : 0;
    }
    const struct tok_gen *g = t->gen;
    for (int k = 0; !rc && k < g->n_dec; k++) {
        strs_free(&b);
        rc = decode1(&g->dec[k], &a, &b);
        strs x = a; a = b; b = x;
    }
    str res = {0};
    for (size_t i = 0; !rc && i < a.n; i++)
        rc = (!g->n_dec && i && str_add(&res, " ", 1)) || str_add(&res, a.v[i].s, a.v[i].n) ? ZB_ENOMEM : 0;
    if (!rc && !res.s)
        rc = str_add(&res, "", 0);
    strs_free(&a);
    strs_free(&b);
    if (rc) {
        free(res.s);
        return zb_fail(err, ZB_ENOMEM, "decode: out of memory");
    }
    *out = res.s;
    return 0;
}
