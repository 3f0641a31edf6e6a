/* pool: contextual token embeddings -> one vector per text (pooling, normalization), and the
 * arithmetic on vectors that clients ask for (cosine similarity, Matryoshka truncation, output
 * quantization). */
#ifndef POOL_H
#define POOL_H

#include <stdint.h>
#include "zb_err.h"

typedef enum {
    POOL_MEAN, POOL_CLS, POOL_MAX, POOL_MEAN_SQRT_LEN, POOL_LASTTOKEN
} pool_mode;

typedef struct {
    pool_mode mode;
    int normalize;        /* 1 when modules.json lists a Normalize module */
    int dim;              /* word_embedding_dimension */
} pool_config;

/* 1_Pooling/config.json (and modules.json for Normalize) of a sentence-transformers folder;
 * without them: mean pooling, no normalization, dim = hidden. */
int pool_config_load(const char *model_dir, int hidden, pool_config *out, zb_err *err);

int         pool_mode_parse(const char *name, pool_mode *out);   /* "mean", "cls", ... */
const char *pool_mode_name(pool_mode mode);

/* One sequence's n_tokens x dim hidden states (all real tokens: batches are padding-free). */
void pool_sequence(pool_mode mode, const float *hidden, int n_tokens, int dim, float *out);

void  pool_l2_normalize(float *v, int dim);
float pool_cosine(const float *a, const float *b, int dim);

#endif
