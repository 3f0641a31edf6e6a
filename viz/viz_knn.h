/* viz_knn: exact nearest neighbours and a PCA projection of a row-major float matrix, the two
 * inputs of t-SNE (and the neighbour lists of the map page).
 *
 * Neighbours are exact: the distance matrix is computed a block of query rows at a time with one
 * cblas_sgemm per block (never held whole), and the k best of each row kept in a heap. Blocks are
 * fixed (not per thread), so results do not depend on the thread count. */
#ifndef VIZ_KNN_H
#define VIZ_KNN_H

#include <stdint.h>
#include "zb_err.h"

typedef enum { VIZ_METRIC_COSINE, VIZ_METRIC_EUCLIDEAN } viz_metric;

/* For each of the n rows of X (n x d): its k nearest OTHER rows, nearest first (ties: lower index
 * first): idx (n x k) and dist (n x k). Cosine distance is 1 - cos clipped to [0, 2] (a zero row is
 * at distance 1 from everything, as scikit-learn); Euclidean distance is the plain (not squared)
 * distance. threads <= 0: the CPUs we may use. 1 <= k < n. */
int viz_knn(const float *X, int n, int d, viz_metric metric, int k, int threads, int32_t *idx, float *dist,
            zb_err *err);

/* The first `comps` principal components of X (centred, not scaled): Y (n x comps) = Xc V, V the top
 * eigenvectors of Xc'Xc (LAPACK dsyev in double), each component's sign fixed as scikit-learn's
 * svd_flip does (its largest-magnitude entry positive). comps <= d. */
int viz_pca(const float *X, int n, int d, int comps, float *Y, zb_err *err);

/* The number of threads viz uses for threads <= 0: sched_getaffinity's count, at least 1. */
int viz_threads(int threads);

#endif
