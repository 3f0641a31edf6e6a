/* enc_embed: tokenized texts -> token states or pooled sentence vectors, the one code path of
 * `zembed encode` and the encoder service.
 *
 * Texts arrive packed end to end (ids, lens) and leave in the same order. They are cut into
 * forward passes of at most enc_runner_max_tokens(r) tokens, consecutive texts per pass, no
 * padding: a pass costs what its real tokens cost, whatever their lengths.
 */
#ifndef ENC_EMBED_H
#define ENC_EMBED_H

#include <stdint.h>
#include "enc.h"
#include "pool.h"

/* Last hidden states: out gets (sum of lens) x hidden floats, text i's rows after text i-1's.
 * type_ids may be NULL (all 0). A text longer than the runner's budget or the model's positions,
 * or with an id outside the vocabulary, is ZB_ERANGE naming the text (index in this call). */
int enc_embed_tokens(enc_runner *r, const int32_t *ids, const int32_t *type_ids, const int *lens,
                     int n, float *out, zb_err *err);

/* Sentence vectors: the forward pass, then pool_batch with pc (modes, normalization); out gets
 * n x pc->out_dim floats. pc->dim must equal the model's hidden size. */
int enc_embed_sentences(enc_runner *r, const pool_config *pc, const int32_t *ids,
                        const int32_t *type_ids, const int *lens, int n, float *out, zb_err *err);

#endif
