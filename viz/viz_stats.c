/* viz_stats: Pearson, Spearman with average ranks, and the evaluator's pair scores. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "viz_stats.h"

double viz_pearson(const double *x, const double *y, size_t n)
{
    assert(n >= 2);
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++)
        mx += x[i], my += y[i];
    mx /= (double)n, my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double dx = x[i] - mx, dy = y[i] - my;
        sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
    }
    if (sxx == 0 || syy == 0)
        return NAN;
    double r = sxy / sqrt(sxx * syy);
    /* rounding can push |r| a hair past 1; scipy clips too */
    return r > 1 ? 1 : r < -1 ? -1 : r;
}

static const double *g_keys;   /* qsort has no context argument; ranks are computed one at a time */

static int by_value(const void *a, const void *b)
{
    double x = g_keys[*(const size_t *)a], y = g_keys[*(const size_t *)b];
    if (x < y) return -1;
    if (x > y) return 1;
    /* equal values: keep index order so the sort is deterministic (ties get one rank anyway) */
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    return (i > j) - (i < j);
}

int viz_rank_average(const double *x, size_t n, double *ranks, zb_err *err)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return zb_fail(err, ZB_ENOMEM, "ranking %zu values: out of memory", n);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    g_keys = x;
    qsort(idx, n, sizeof *idx, by_value);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && x[idx[j]] == x[idx[i]])
            j++;
        /* positions i..j-1 (0-based) hold one value: ranks i+1..j, their average (i+1+j)/2 */
        double r = 0.5 * (double)(i + 1 + j);
        for (size_t k = i; k < j; k++)
            ranks[idx[k]] = r;
        i = j;
    }
    free(idx);
    return ZB_OK;
}

int viz_spearman(const double *x, const double *y, size_t n, double *out, zb_err *err)
{
    double *rx = malloc((n ? n : 1) * sizeof *rx), *ry = malloc((n ? n : 1) * sizeof *ry);
    int rc = !rx || !ry ? zb_fail(err, ZB_ENOMEM, "ranking %zu pairs: out of memory", n) : ZB_OK;
    if (!rc)
        rc = viz_rank_average(x, n, rx, err);
    if (!rc)
        rc = viz_rank_average(y, n, ry, err);
    if (!rc)
        *out = viz_pearson(rx, ry, n);
    free(rx), free(ry);
    return rc;
}

const char *viz_score_name(viz_score s)
{
    static const char *const names[VIZ_N_SCORES] = {"cosine", "dot", "euclidean", "manhattan"};
    assert((unsigned)s < VIZ_N_SCORES);
    return names[s];
}

double viz_pair_score(viz_score s, const float *a, const float *b, int dim)
{
    double acc = 0, na = 0, nb = 0;
    for (int k = 0; k < dim; k++) {
        double x = a[k], y = b[k];
        switch (s) {
        case VIZ_SCORE_COSINE: acc += x * y, na += x * x, nb += y * y; break;
        case VIZ_SCORE_DOT: acc += x * y; break;
        case VIZ_SCORE_EUCLIDEAN: acc += (x - y) * (x - y); break;
        case VIZ_SCORE_MANHATTAN: acc += fabs(x - y); break;
        default: assert(0);
        }
    }
    switch (s) {
    case VIZ_SCORE_COSINE:
        /* The evaluator's cosine is 1 - paired_cosine_distances = 1 - |a/|a| - b/|b||^2 / 2, where
         * sklearn's normalize leaves a zero vector zero: against a zero vector that is 0.5 (one
         * zero side) or 1 (both), not 0. */
        if (na > 0 && nb > 0)
            return acc / sqrt(na * nb);
        return 1 - 0.5 * ((na > 0) + (nb > 0));
    case VIZ_SCORE_EUCLIDEAN: return -sqrt(acc);
    case VIZ_SCORE_MANHATTAN: return -acc;
    default: return acc;
    }
}
