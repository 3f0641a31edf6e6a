/* pool.c: pooling modes and L2 normalization, as sentence-transformers computes them. */
#include "pool.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Names as ST spells them in pooling_mode strings (and as our CLI flag takes them). */
static const char *const MODE_NAMES[POOL_N_MODES] = {
    [POOL_MEAN] = "mean",
    [POOL_CLS] = "cls",
    [POOL_MAX] = "max",
    [POOL_MEAN_SQRT_LEN] = "mean_sqrt_len_tokens",
    [POOL_LASTTOKEN] = "lasttoken",
};

int pool_mode_parse(const char *name, pool_mode *out)
{
    for (int m = 0; m < POOL_N_MODES; m++) {
        if (name && strcmp(name, MODE_NAMES[m]) == 0) {
            *out = (pool_mode)m;
            return ZB_OK;
        }
    }
    return ZB_EINVAL;
}

const char *pool_mode_name(pool_mode mode)
{
    assert(mode >= 0 && mode < POOL_N_MODES);
    return MODE_NAMES[mode];
}

void pool_config_default(int hidden, pool_config *out)
{
    memset(out, 0, sizeof *out);
    out->dim = hidden;
    out->include_prompt = 1;
    pool_config_set_mode(out, POOL_MEAN);
}

void pool_config_set_mode(pool_config *c, pool_mode mode)
{
    assert(mode >= 0 && mode < POOL_N_MODES);
    c->mode = mode;
    c->modes[0] = mode;
    c->n_modes = 1;
    c->out_dim = c->dim;
}

void pool_config_describe(const pool_config *c, char *buf, size_t cap)
{
    size_t used = 0;
    if (cap == 0)
        return;
    buf[0] = '\0';
    for (int i = 0; i < c->n_modes; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i ? "+" : "", pool_mode_name(c->modes[i]));
        if (w < 0 || (size_t)w >= cap - used)
            return;     /* truncated; snprintf kept it NUL-terminated */
        used += (size_t)w;
    }
}

/* Sum of n_tokens rows of hidden, columns [j0, j0+nj), in double: float32 sums over 128+ tokens
 * drift by ~1e-6 relative, and the 1e-5 agreement we promise leaves no room for that.
 * Hot loop: rows are walked in memory order so the inner loop streams one contiguous chunk. */
#define POOL_CHUNK 256
static void sum_columns(const float *hidden, int n_tokens, int dim, int j0, int nj, double *acc)
{
    for (int j = 0; j < nj; j++)
        acc[j] = 0.0;
    for (int t = 0; t < n_tokens; t++) {
        const float *row = hidden + (size_t)t * dim + j0;
        for (int j = 0; j < nj; j++)
            acc[j] += row[j];
    }
}

static void pool_mean_like(const float *hidden, int n_tokens, int dim, double divisor, float *out)
{
    double acc[POOL_CHUNK];
    for (int j0 = 0; j0 < dim; j0 += POOL_CHUNK) {
        int nj = dim - j0 < POOL_CHUNK ? dim - j0 : POOL_CHUNK;
        sum_columns(hidden, n_tokens, dim, j0, nj, acc);
        for (int j = 0; j < nj; j++)
            out[j0 + j] = (float)(acc[j] / divisor);
    }
}

/* torch.max propagates NaN; so does this (once m is NaN no comparison replaces it). */
static void pool_max(const float *hidden, int n_tokens, int dim, float *out)
{
    memcpy(out, hidden, (size_t)dim * sizeof *out);
    for (int t = 1; t < n_tokens; t++) {
        const float *row = hidden + (size_t)t * dim;
        for (int j = 0; j < dim; j++) {
            float x = row[j];
            if (x > out[j] || x != x)
                out[j] = x;
        }
    }
}

void pool_sequence(pool_mode mode, const float *hidden, int n_tokens, int dim, float *out)
{
    assert(n_tokens >= 0 && dim > 0);
    if (n_tokens == 0) {
        memset(out, 0, (size_t)dim * sizeof *out);
        return;
    }
    switch (mode) {
    case POOL_MEAN:
        pool_mean_like(hidden, n_tokens, dim, (double)n_tokens, out);
        break;
    case POOL_MEAN_SQRT_LEN:
        pool_mean_like(hidden, n_tokens, dim, sqrt((double)n_tokens), out);
        break;
    case POOL_CLS:
        memcpy(out, hidden, (size_t)dim * sizeof *out);
        break;
    case POOL_LASTTOKEN:
        memcpy(out, hidden + (size_t)(n_tokens - 1) * dim, (size_t)dim * sizeof *out);
        break;
    case POOL_MAX:
        pool_max(hidden, n_tokens, dim, out);
        break;
    default:
        assert(!"unknown pool_mode");
    }
}

void pool_apply(const pool_config *c, const float *hidden, int n_tokens, float *out)
{
    assert(c->n_modes >= 1 && c->n_modes <= POOL_N_MODES && c->out_dim == c->n_modes * c->dim);
    for (int i = 0; i < c->n_modes; i++)
        pool_sequence(c->modes[i], hidden, n_tokens, c->dim, out + (size_t)i * c->dim);
    if (c->normalize)
        pool_l2_normalize(out, c->out_dim);
}

void pool_batch(const pool_config *c, const float *hidden, const int *lens, int n_seq, float *out)
{
    size_t row = 0;
    for (int s = 0; s < n_seq; s++) {
        pool_apply(c, hidden + row * c->dim, lens[s], out + (size_t)s * c->out_dim);
        row += (size_t)lens[s];
    }
}

void pool_l2_normalize(float *v, int dim)
{
    double ss = 0.0;
    for (int j = 0; j < dim; j++)
        ss += (double)v[j] * v[j];
    /* F.normalize divides by max(norm, eps); dividing (not multiplying by 1/norm) rounds as it does. */
    float norm = (float)sqrt(ss);
    if (norm < 1e-12f)
        norm = 1e-12f;  /* a NaN norm stays NaN, as in torch */
    for (int j = 0; j < dim; j++)
        v[j] /= norm;
}
