/* fuzz_tok: invariants of a tok_encode result, shared by the tokenizer fuzz targets. */
#ifndef FUZZ_TOK_H
#define FUZZ_TOK_H

#include <stdlib.h>

#include "fuzz_util.h"
#include "tok.h"

/* Code points of valid UTF-8 (lead bytes); for lossy input an upper bound on what a replacement
 * can produce is the byte count. */
static inline size_t fuzz_count_cps(const char *s, size_t len, int lossy)
{
    if (lossy)
        return len;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

/* A successful encoding: lengths within max_length, every id a vocabulary id, specials flagged
 * with [0,0] offsets, offsets inside the texts. With bert_template (the known [CLS] A [SEP] B [SEP]
 * with type ids 0 / 1; a loaded template may be anything), each text's offsets lie inside that
 * text and do not decrease. */
static inline void fuzz_check_encoding(const tok_tokenizer *t, const tok_encoding *e,
                                       const tok_options *opt, const char *a, size_t a_len,
                                       const char *b, size_t b_len, int bert_template)
{
    FUZZ_ASSERT(e->n >= 0 && e->n <= e->n_before_truncation);
    if (opt->truncate)
        FUZZ_ASSERT(e->n <= opt->max_length);
    else
        FUZZ_ASSERT(e->n == e->n_before_truncation && e->n <= opt->max_length);
    if (e->n_before_truncation <= opt->max_length)
        FUZZ_ASSERT(e->n == e->n_before_truncation);
    size_t cps[2] = { fuzz_count_cps(a, a_len, opt->lossy_utf8),
                      b ? fuzz_count_cps(b, b_len, opt->lossy_utf8) : 0 };
    uint32_t last_start[2] = { 0, 0 }, last_end[2] = { 0, 0 };
    int vocab = tok_vocab_size(t);
    for (int i = 0; i < e->n; i++) {
        FUZZ_ASSERT(e->ids[i] >= 0 && e->ids[i] < vocab);
        FUZZ_ASSERT(tok_id_to_token(t, e->ids[i]) != NULL);
        FUZZ_ASSERT(e->attention_mask[i] == 1);
        FUZZ_ASSERT(e->special[i] <= 1);
        tok_span o = e->offsets[i];
        FUZZ_ASSERT(o.start <= o.end);
        if (e->special[i]) {
            FUZZ_ASSERT(o.start == 0 && o.end == 0);
            continue;
        }
        FUZZ_ASSERT(o.end <= (cps[0] > cps[1] ? cps[0] : cps[1]));
        int s = e->type_ids[i];
        if (!bert_template)
            continue;
        FUZZ_ASSERT(s == 0 || s == 1);
        if (s == 1)
            FUZZ_ASSERT(b != NULL);
        FUZZ_ASSERT(o.end <= cps[s]);
        FUZZ_ASSERT(o.start >= last_start[s] && o.end >= last_end[s]);
        last_start[s] = o.start;
        last_end[s] = o.end;
    }
    char *text = NULL;
    zb_err err;
    int rc = tok_decode(t, e->ids, e->n, e->n & 1, &text, &err);
    fuzz_check_err(rc, &err);
    free(text);
}

#endif
