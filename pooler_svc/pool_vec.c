/* pool_vec.c: cosine similarity (one pair, or a whole matrix through one dgemm) and Matryoshka
 * truncation. */
#include "pool.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static double clamp_norm(double ss)
{
    double n = sqrt(ss);
    return n < 1e-12 ? 1e-12 : n;
}

float pool_cosine(const float *a, const float *b, int dim)
{
    double ab = 0.0, aa = 0.0, bb = 0.0;
    for (int j = 0; j < dim; j++) {
        ab += (double)a[j] * b[j];
        aa += (double)a[j] * a[j];
        bb += (double)b[j] * b[j];
    }
    return (float)(ab / (clamp_norm(aa) * clamp_norm(bb)));
}

/* n rows of src normalized in double (torch's eps 1e-12), or NULL when the allocation fails or
 * would overflow. */
static double *normalized_copy(const float *src, int n, int dim)
{
    size_t count = (size_t)n * (size_t)dim;
    if (n > 0 && count / (size_t)n != (size_t)dim)
        return NULL;
    double *dst = malloc(count ? count * sizeof *dst : 1);
    if (!dst)
        return NULL;
    for (int i = 0; i < n; i++) {
        const float *s = src + (size_t)i * dim;
        double ss = 0;
        for (int j = 0; j < dim; j++)
            ss += (double)s[j] * s[j];
        double inv = 1.0 / clamp_norm(ss);
        for (int j = 0; j < dim; j++)
            dst[(size_t)i * dim + j] = s[j] * inv;
    }
    return dst;
}

int pool_cosine_matrix(const float *a, int na, const float *b, int nb, int dim, float *out,
                       zb_err *err)
{
    assert(na >= 0 && nb >= 0 && dim > 0);
    if (na == 0 || nb == 0)
        return ZB_OK;
    /* Double all the way, rounded once at the end: the same vector met twice scores exactly 1.0f
     * wherever it stands (a float sgemm gives 0.99999994 or 1.0000001 depending on the kernel tile
     * the pair falls in), e.g. the same token twice in input-embedding similarity. The matrices are
     * small (texts of one request, tokens of two texts), so dgemm's cost does not matter. */
    double *an = normalized_copy(a, na, dim);
    /* Self-similarity (a == b) needs only one copy. */
    double *bn = (a == b && na == nb) ? an : normalized_copy(b, nb, dim);
    double *m = an && bn ? malloc((size_t)na * (size_t)nb * sizeof *m) : NULL;
    if (!m) {
        free(an);
        if (bn != an)
            free(bn);
        return zb_fail(err, ZB_ENOMEM, "cosine matrix: cannot allocate normalized copies of %d and "
                       "%d vectors of %d floats", na, nb, dim);
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, na, nb, dim, 1.0, an, dim, bn, dim, 0.0, m, nb);
    for (size_t k = 0; k < (size_t)na * (size_t)nb; k++)
        out[k] = (float)m[k];
    free(m);
    if (bn != an)
        free(bn);
    free(an);
    return ZB_OK;
}

int pool_truncate_dims(float *vecs, int n, int dim, int d, int renormalize, zb_err *err)
{
    if (d < 1 || d > dim)
        return zb_fail(err, ZB_EINVAL, "dimensions is %d; it must be between 1 and the embedding's "
                       "%d", d, dim);
    for (int i = 0; i < n; i++) {
        float *dst = vecs + (size_t)i * d;
        /* Rows move towards the front (i*d <= i*dim), so walking forward never overwrites a row
         * not yet moved; memmove handles the overlap within a row. */
        memmove(dst, vecs + (size_t)i * dim, (size_t)d * sizeof *vecs);
        if (renormalize)
            pool_l2_normalize(dst, d);
    }
    return ZB_OK;
}
