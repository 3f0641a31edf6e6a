/* enc_embed: batching by token budget around enc_forward (see enc_embed.h). */
#include "enc_embed.h"

#include <assert.h>
#include <stdlib.h>

/* Texts [first, end) that fit one pass from first on; ZB_ERANGE if text first alone does not. */
static int next_batch(const enc_runner *r, const int *lens, int n, int first, int *end, long *tokens,
                      zb_err *err)
{
    int budget = enc_runner_max_tokens(r), maxpos = enc_model_config(enc_runner_model(r))->max_position;
    long t = 0;
    int i = first;
    for (; i < n; i++) {
        if (lens[i] < 0 || lens[i] > maxpos || lens[i] > budget)
            return zb_fail(err, ZB_ERANGE, "text %d has %d tokens; at most %d fit (max_position_embeddings %d, batch budget %d)",
                           i, lens[i], maxpos < budget ? maxpos : budget, maxpos, budget);
        if (t + lens[i] > budget)
            break;
        t += lens[i];
    }
    *end = i;
    *tokens = t;
    return ZB_OK;
}

/* Runs one pass over texts [first, end); the error names texts by their index in the call. */
static int pass(enc_runner *r, const int32_t *ids, const int32_t *type_ids, const int *lens,
                int first, int end, float *out, zb_err *err)
{
    int rc = enc_forward(r, ids, type_ids, lens + first, end - first, out, err);
    if (rc)
        zb_wrap(err, "pass over texts %d..%d (its sequence k is text %d + k): ", first, end - 1, first);
    return rc;
}

int enc_embed_tokens(enc_runner *r, const int32_t *ids, const int32_t *type_ids, const int *lens,
                     int n, float *out, zb_err *err)
{
    int H = enc_model_config(enc_runner_model(r))->hidden;
    size_t t0 = 0;
    for (int first = 0, end = 0; first < n; first = end) {
        long T = 0;
        int rc = next_batch(r, lens, n, first, &end, &T, err);
        if (!rc)
            rc = pass(r, ids + t0, type_ids ? type_ids + t0 : NULL, lens, first, end, out + t0 * H, err);
        if (rc)
            return rc;
        t0 += (size_t)T;
    }
    return ZB_OK;
}

int enc_embed_sentences(enc_runner *r, const pool_config *pc, const int32_t *ids,
                        const int32_t *type_ids, const int *lens, int n, float *out, zb_err *err)
{
    int H = enc_model_config(enc_runner_model(r))->hidden;
    assert(pc->dim == H);
    float *hidden = malloc((size_t)enc_runner_max_tokens(r) * H * sizeof *hidden);
    if (!hidden)
        return zb_fail(err, ZB_ENOMEM, "no memory for %d token states", enc_runner_max_tokens(r));
    size_t t0 = 0;
    int rc = ZB_OK;
    for (int first = 0, end = 0; first < n && !rc; first = end) {
        long T = 0;
        rc = next_batch(r, lens, n, first, &end, &T, err);
        if (!rc)
            rc = pass(r, ids + t0, type_ids ? type_ids + t0 : NULL, lens, first, end, hidden, err);
        if (!rc)
            pool_batch(pc, hidden, lens + first, end - first, out + (size_t)first * pc->out_dim);
        t0 += (size_t)T;
    }
    free(hidden);
    return rc;
}
