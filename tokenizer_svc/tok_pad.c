/* tok_pad: batch padding and decoding (HF's WordPiece decoder). */
#include <stdlib.h>
#include <string.h>

#include "tok_comp.h"

int tok_padding_default(const tok_tokenizer *t, int *fixed_length, int *pad_to_multiple_of)
{
    *fixed_length = t->pad_enabled ? t->pad_fixed : 0;
    *pad_to_multiple_of = t->pad_enabled ? t->pad_multiple : 0;
    return t->pad_enabled;
}

int tok_pad(const tok_tokenizer *t, tok_encoding *encs, int n_encs, int fixed_length,
            int pad_to_multiple_of, zb_err *err)
{
    if (fixed_length < 0 || pad_to_multiple_of < 0)
        return zb_fail(err, ZB_EINVAL, "padding: length %d and multiple %d must not be negative",
                       fixed_length, pad_to_multiple_of);
    if (t->pad_id < 0)
        return zb_fail(err, ZB_ENOTFOUND, "padding: the tokenizer has no [PAD] token");
    long target = fixed_length;
    if (!fixed_length)
        for (int i = 0; i < n_encs; i++)
            if (encs[i].n > target) target = encs[i].n;
    if (pad_to_multiple_of > 0 && target % pad_to_multiple_of)
        target += pad_to_multiple_of - target % pad_to_multiple_of;
    if (target > (1 << 28))
        return zb_fail(err, ZB_EINVAL, "padding: length %ld is too large", target);
    const tok_span none = {0, 0};
    for (int i = 0; i < n_encs; i++) {
        tok_encoding *e = &encs[i];
        if (e->n >= target)                 /* longer ones stay as they are, as in HF */
            continue;
        if (tok_encoding_reserve(e, (int)target))
            return zb_fail(err, ZB_ENOMEM, "padding: cannot allocate %ld tokens", target);
        for (int k = e->n; k < target; k++) {
            e->ids[k] = t->pad_id;
            e->type_ids[k] = t->pad_type_id;
            e->attention_mask[k] = 0;
            e->special[k] = 1;
            e->offsets[k] = none;
        }
        e->n = (int)target;
    }
    return 0;
}

typedef struct {
    char *p;
    size_t n, cap;
} sbuf;

static int sb_add(sbuf *b, const char *s, size_t len)
{
    if (b->n + len + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->n + len + 1) nc *= 2;
        char *q = realloc(b->p, nc);
        if (!q) return ZB_ENOMEM;
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
    return 0;
}

/* HF decoders/wordpiece.rs cleanup(): applied to each token (with its joining space), in order. */
static const char *const cleanup_from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " do not",
                                           " 's", " 've", " 're"};
static const char *const cleanup_to[] = {".", "?", "!", ",", "'", "n't", "'m", " don't", "'s", "'ve", "'re"};

static int replace_all(sbuf *io, sbuf *tmp, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    if (!io->n || !strstr(io->p, from))
        return 0;
    tmp->n = 0;
    const char *s = io->p, *hit;
    while ((hit = strstr(s, from))) {
        if (sb_add(tmp, s, (size_t)(hit - s)) || sb_add(tmp, to, tl))
            return ZB_ENOMEM;
        s = hit + fl;
    }
    if (sb_add(tmp, s, strlen(s)))
        return ZB_ENOMEM;
    sbuf x = *io;
    *io = *tmp;
    *tmp = x;
    return 0;
}

int tok_decode(const tok_tokenizer *t, const int32_t *ids, int n, int skip_special, char **out, zb_err *err)
{
    if (t->gen)
        return tok_decode_gen(t, ids, n, skip_special, out, err);
    sbuf res = {0}, tokb = {0}, tmp = {0};
    int rc = sb_add(&res, "", 0), first = 1;
    for (int i = 0; i < n && !rc; i++) {
        const char *tok = tok_id_to_token(t, ids[i]);
        if (!tok) {
            free(res.p); free(tokb.p); free(tmp.p);
            return zb_fail(err, ZB_ERANGE, "decode: ids[%d] = %d is not a token id (vocabulary size %d)",
                           i, ids[i], t->n_ids);
        }
        if (skip_special && t->id_special[ids[i]])
            continue;
        tokb.n = 0;
        if (!t->dec_prefix) {               /* no decoder: tokens joined by spaces */
            rc = sb_add(&tokb, first ? "" : " ", first ? 0 : 1) || sb_add(&tokb, tok, strlen(tok));
        } else {
            size_t pl = strlen(t->dec_prefix);
            if (!first && !strncmp(tok, t->dec_prefix, pl))
                rc = sb_add(&tokb, tok + pl, strlen(tok) - pl);
            else
                rc = (!first && sb_add(&tokb, " ", 1)) || sb_add(&tokb, tok, strlen(tok));
            if (!rc && !tokb.n)
                rc = sb_add(&tokb, "", 0);
            for (size_t k = 0; !rc && t->dec_cleanup && k < sizeof cleanup_from / sizeof *cleanup_from; k++)
                rc = replace_all(&tokb, &tmp, cleanup_from[k], cleanup_to[k]);
        }
        if (!rc)
            rc = sb_add(&res, tokb.p, tokb.n);
        first = 0;
    }
    free(tokb.p);
    free(tmp.p);
    if (rc) {
        free(res.p);
        return zb_fail(err, ZB_ENOMEM, "decode: out of memory");
    }
    *out = res.p;
    return 0;
}
