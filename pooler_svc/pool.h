/* pool: contextual token embeddings -> one vector per text (pooling, normalization), and the
 * arithmetic on vectors that clients ask for (cosine similarity, Matryoshka truncation, output
 * quantization).
 *
 * Pooling follows sentence-transformers (models/Pooling.py) exactly: with several pooling modes set
 * in 1_Pooling/config.json the results are concatenated in ST's order (cls, max, mean,
 * mean_sqrt_len_tokens, lasttoken), so the pooled vector has n_modes x dim floats. Sums are
 * accumulated in double. Batches are padding-free, so every token handed to us is a real one.
 */
#ifndef POOL_H
#define POOL_H

#include <stddef.h>
#include <stdint.h>
#include "zb_dtype.h"
#include "zb_err.h"

/* The order of this enum is not ST's concatenation order; that lives in pool_config.c. */
typedef enum {
    POOL_MEAN, POOL_CLS, POOL_MAX, POOL_MEAN_SQRT_LEN, POOL_LASTTOKEN, POOL_N_MODES
} pool_mode;

typedef struct pool_config {
    pool_mode mode;       /* the first of modes[] (what callers with one mode look at) */
    int normalize;        /* 1 when modules.json lists a Normalize module */
    int dim;              /* word_embedding_dimension (= the encoder's hidden size) */
    int n_modes;          /* 1..POOL_N_MODES */
    pool_mode modes[POOL_N_MODES];  /* in ST's concatenation order */
    int out_dim;          /* n_modes * dim: length of a pooled vector */
    int include_prompt;   /* ST's flag; zembed prepends no prompts, so it changes nothing yet */
} pool_config;

/* Mean pooling, no normalization, dim = out_dim = hidden: what ST does for a plain HF folder. */
void pool_config_default(int hidden, pool_config *out);

/* Replace the modes by one (a --pooling override); normalize and dim are kept. */
void pool_config_set_mode(pool_config *c, pool_mode mode);

/* modules.json (a sentence_transformers.models.Normalize module means normalize; Dense and other
 * modules that change the vector are ZB_EUNSUPPORTED naming the module) and the Pooling module's
 * config.json (normally 1_Pooling/config.json; word_embedding_dimension must equal hidden;
 * pooling_mode_weightedmean_tokens is ZB_EUNSUPPORTED). Without modules.json a 1_Pooling/config.json
 * is still honoured; without either: pool_config_default. Every error names the file and the field.
 * hidden <= 0: not known yet, word_embedding_dimension is not checked. */
int pool_config_load(const char *model_dir, int hidden, pool_config *out, zb_err *err);

/* "mean", "cls", "max", "mean_sqrt_len_tokens", "lasttoken". parse returns 0 or ZB_EINVAL. */
int         pool_mode_parse(const char *name, pool_mode *out);
const char *pool_mode_name(pool_mode mode);

/* "cls+mean" style description of the configured modes (as ST's get_pooling_mode_str, joined in
 * concatenation order); writes at most cap bytes, always NUL-terminated. */
void pool_config_describe(const pool_config *c, char *buf, size_t cap);

/* One sequence's n_tokens x dim hidden states -> dim floats. n_tokens == 0 gives zeros (ST gives
 * zeros for mean and lasttoken; we use zeros for every mode rather than padding garbage). */
void pool_sequence(pool_mode mode, const float *hidden, int n_tokens, int dim, float *out);

/* The configured pooling of one sequence: c->out_dim floats (modes concatenated), then L2
 * normalization when c->normalize. hidden has n_tokens x c->dim floats. */
void pool_apply(const pool_config *c, const float *hidden, int n_tokens, float *out);

/* pool_apply on a packed, padding-free batch: hidden has (sum of lens) x c->dim floats, out gets
 * n_seq x c->out_dim. */
void pool_batch(const pool_config *c, const float *hidden, const int *lens, int n_seq, float *out);

/* torch.nn.functional.normalize(p=2, eps=1e-12): v / max(||v||, 1e-12); a zero vector stays zero. */
void  pool_l2_normalize(float *v, int dim);

/* Cosine similarity as ST's cos_sim (both normalized with eps 1e-12): 0 when either is zero. */
float pool_cosine(const float *a, const float *b, int dim);

/* out[i*nb + j] = cosine(a row i, b row j) for row-major a (na x dim) and b (nb x dim), one
 * cblas_dgemm on normalized copies, rounded to float once (equal vectors score exactly 1).
 * Serves both the sentence similarity matrix and token-by-token similarity between two texts
 * (pass their token embeddings). ZB_OK, or ZB_ENOMEM. */
int pool_cosine_matrix(const float *a, int na, const float *b, int nb, int dim, float *out,
                       zb_err *err);

/* Matryoshka: keep the first d of dim components of each of n row-major vectors, in place (the
 * rows end up packed n x d), then L2-normalize each when renormalize (TEI truncates then
 * normalizes when normalize is on, its default). d of 0 or > dim is ZB_EINVAL naming both. */
int pool_truncate_dims(float *vecs, int n, int dim, int d, int renormalize, zb_err *err);

/* ---- Output quantization --------------------------------------------------------------------
 * float16: IEEE binary16, round to nearest even (as numpy astype(float16)); overflow -> inf.
 * int8/uint8: sentence-transformers' quantize_embeddings: per dimension, start = min,
 *   step = (max - min) / 255 (float32), uint8 = (uint8)((x - start) / step),
 *   int8 = (int8)((x - start) / step - 128), truncating toward zero like numpy's astype.
 *   ranges is 2 x dim floats (the dim minimums, then the dim maximums), as ST's `ranges`.
 *   Two places where ST's result is undefined are pinned down: values outside the range are
 *   clamped (numpy wraps), and a dimension with min == max maps x <= min to the lowest code and
 *   x > max to the highest (numpy divides by zero).
 *   Without calibration (ranges == NULL) the service uses the FIXED range [-1, 1] for every
 *   dimension, not ST's per-batch min/max: a text's codes then do not depend on which other texts
 *   shared its request, and [-1, 1] bounds every component of a normalized vector. Unnormalized
 *   vectors may exceed it and are clamped; clients who need finer or wider buckets send ranges
 *   computed from a calibration set (pool_int8_ranges computes them as ST does).
 * binary/ubinary: one bit per component, x > 0 -> 1, packed big-endian within each byte as
 *   numpy.packbits; ubinary is the packed bytes, binary is (byte - 128) as int8. Each vector is
 *   packed on its own and its last byte zero-padded, so dim need not be a multiple of 8 (for
 *   multiples of 8 this is exactly ST's output).
 * All multi-byte outputs are little-endian. */
/* The dtypes (names, sizes: zb_dtype_row_bytes) and the float16 conversion are common/zb_dtype.h's. */

/* ST's calibration: per-dimension min and max over n vectors -> ranges (2 x dim). n >= 1. */
void pool_int8_ranges(const float *vecs, int n, int dim, float *ranges);

/* Quantize n row-major vectors of dim floats into out (n * zb_dtype_row_bytes bytes). ranges is
 * used by int8/uint8 only (NULL: [-1, 1]); a range with a NaN/inf bound or min > max is ZB_EINVAL
 * naming the dimension. */
int pool_quantize(zb_dtype t, const float *in, int n, int dim, const float *ranges, void *out,
                  zb_err *err);

#endif
