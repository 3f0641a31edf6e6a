/* viz_tsne: t-SNE to 2-D as scikit-learn 1.2's TSNE(method="barnes_hut") does it, in C.
 *
 *   kNN (viz_knn, exact, k = min(n - 1, 3 * perplexity + 1)) -> squared distances -> conditional P
 *   by a per-row binary search on beta to the perplexity (natural-log entropy, tol 1e-5, <= 100
 *   steps, beta from 1) -> P = (P + P') / sum -> PCA init scaled to std(PC1) = 1e-4 -> gradient
 *   descent with gains (+0.2 / x0.8, floor 0.01), momentum 0.5 then 0.8, early exaggeration 12 for
 *   the first 250 iterations (gains and momentum reset at the switch), learning rate
 *   max(n / 12 / 4, 50), the Barnes-Hut repulsion on a quadtree rebuilt every iteration
 *   (theta 0.5), KL divergence every 50 iterations, stop on a gradient norm <= 1e-7 or 300
 *   iterations without progress.
 * The quadtree's leaves hold up to a few points, each computed exactly (sklearn's leaves hold one),
 * and self-interaction is skipped by index rather than by position.
 *
 * Determinism: the output depends on the input, the options and the seed only, not on the thread
 * count: each point's forces are computed by one thread, and the global normaliser Z is summed
 * over per-point values in index order. The seed matters for init = random only. */
#ifndef VIZ_TSNE_H
#define VIZ_TSNE_H

#include <stdint.h>
#include "viz_knn.h"
#include "zb_err.h"

typedef struct {
    double perplexity;           /* 30 */
    viz_metric metric;           /* cosine */
    int iterations;              /* 1000 in all, the exaggerated ones included */
    int exaggeration_iters;      /* 250 */
    double exaggeration;         /* 12 */
    double learning_rate;        /* <= 0: auto, max(n / exaggeration / 4, 50) */
    double theta;                /* 0.5 */
    int random_init;             /* 0: PCA (default); 1: N(0, 1e-4^2) from seed */
    uint64_t seed;
    int threads;                 /* <= 0: the CPUs we may use */
    /* called after every iteration (it = 1..iterations) with the last KL divergence computed
     * (NaN before the first); may be NULL */
    void (*progress)(void *ud, int it, int total, double kl);
    void *progress_ud;
} viz_tsne_opts;

typedef struct {
    int iterations;              /* run (sklearn's n_iter_ + 1) */
    double kl;                   /* the last KL divergence computed */
    double seconds_knn, seconds_total;
} viz_tsne_info;

void viz_tsne_defaults(viz_tsne_opts *o);

/* X: n x d floats. Y: n x 2 floats out. knn_idx: optional n x k neighbour lists (k as above) the
 * caller wants back (NULL: not kept), nearest first. Needs n >= 2 and perplexity < n
 * (ZB_EINVAL otherwise, as sklearn). */
int viz_tsne(const float *X, int n, int d, const viz_tsne_opts *o, float *Y, int32_t **knn_idx, int *knn_k,
             viz_tsne_info *info, zb_err *err);

#endif
