/* viz_stats: the correlation statistics of an STS evaluation, as scipy.stats computes them
 * (pearsonr, spearmanr) and as sentence-transformers' EmbeddingSimilarityEvaluator feeds them.
 * Everything is accumulated in double. */
#ifndef VIZ_STATS_H
#define VIZ_STATS_H

#include <stddef.h>
#include "zb_err.h"

/* scipy.stats.pearsonr(x, y)[0] over n >= 2 pairs: two-pass (centred) sums. NaN when either side
 * is constant (scipy warns and returns NaN too). */
double viz_pearson(const double *x, const double *y, size_t n);

/* Fractional ranks 1..n with ties given the average of the ranks they span
 * (scipy.stats.rankdata(method="average")). ranks has n doubles. ZB_OK or ZB_ENOMEM. */
int viz_rank_average(const double *x, size_t n, double *ranks, zb_err *err);

/* scipy.stats.spearmanr(x, y).correlation: Pearson of the average ranks. *out is NaN when a side is
 * constant. ZB_OK or ZB_ENOMEM. */
int viz_spearman(const double *x, const double *y, size_t n, double *out, zb_err *err);

/* The four pair scores of EmbeddingSimilarityEvaluator for vectors a and b of dim floats:
 * cosine similarity, dot product, and the NEGATED Euclidean and Manhattan distances (so that for
 * every score larger means more similar). */
typedef enum { VIZ_SCORE_COSINE, VIZ_SCORE_DOT, VIZ_SCORE_EUCLIDEAN, VIZ_SCORE_MANHATTAN, VIZ_N_SCORES } viz_score;

const char *viz_score_name(viz_score s);    /* "cosine", "dot", "euclidean", "manhattan" */
double      viz_pair_score(viz_score s, const float *a, const float *b, int dim);

#endif
