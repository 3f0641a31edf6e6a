/* viz_knn / viz_tsne: exact neighbours against a double brute force, PCA on a known matrix, the
 * affinities' invariants, determinism across thread counts, separation of well-separated blobs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "viz_knn.h"
#include "viz_tsne.h"
#include "zb_test.h"

static uint64_t rs = 7;
static double urand(void)
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return ((rs >> 11) + 0.5) * 0x1p-53;
}
static double nrand(void) { return sqrt(-2 * log(urand())) * cos(2 * M_PI * urand()); }

/* n points in d dims around `c` centres; labels out */
static float *blobs(int n, int d, int c, double spread, int *label)
{
    float *cent = malloc((size_t)c * d * sizeof *cent), *X = malloc((size_t)n * d * sizeof *X);
    for (int i = 0; i < c * d; i++)
        cent[i] = (float)(nrand() * 4);
    for (int i = 0; i < n; i++) {
        label[i] = i % c;
        for (int j = 0; j < d; j++)
            X[(size_t)i * d + j] = cent[label[i] * d + j] + (float)(nrand() * spread);
    }
    free(cent);
    return X;
}

static void test_knn_exact(void)
{
    enum { N = 300, D = 17, K = 9 };
    int lab[N];
    float *X = blobs(N, D, 5, 1.0, lab);
    memcpy(X + 7 * D, X + 3 * D, D * sizeof *X);     /* a duplicate: distance 0 */
    int32_t idx[N * K];
    float dist[N * K];
    for (int m = 0; m < 2; m++) {
        ZT_CHECK_EQ_INT(viz_knn(X, N, D, (viz_metric)m, K, 2, idx, dist, NULL), 0);
        int bad = 0;
        for (int i = 0; i < N; i++) {
            double dd[N];
            for (int j = 0; j < N; j++) {
                double ab = 0, aa = 0, bb = 0, e = 0;
                for (int q = 0; q < D; q++) {
                    double a = X[i * D + q], b = X[j * D + q];
                    ab += a * b, aa += a * a, bb += b * b, e += (a - b) * (a - b);
                }
                dd[j] = m == VIZ_METRIC_COSINE ? 1 - ab / sqrt(aa * bb) : sqrt(e);
            }
            dd[i] = INFINITY;
            /* the k-th returned distance bounds every other distance from below (exactness) */
            for (int q = 0; q < K; q++) {
                if (idx[i * K + q] == i || fabs(dist[i * K + q] - dd[idx[i * K + q]]) > 1e-4 * (1 + dd[idx[i * K + q]]))
                    bad++;
                if (q && dist[i * K + q] < dist[i * K + q - 1])
                    bad++;
            }
            int within = 0;
            for (int j = 0; j < N; j++)
                within += dd[j] < dist[i * K + K - 1] - 1e-4;
            bad += within > K - 1;
        }
        ZT_CHECK_EQ_INT(bad, 0);
        ZT_CHECK(idx[7 * K] == 3 && dist[7 * K] < 1e-3);
    }
    free(X);
}

static void test_pca_axis(void)
{
    /* points on a line along (3, 4)/5 plus a small orthogonal wobble: PC1 is that line */
    enum { N = 200 };
    float X[N * 2], Y[N * 2];
    for (int i = 0; i < N; i++) {
        double t = (i - N / 2) * 0.1, w = (i % 2 ? 0.01 : -0.01);
        X[2 * i] = (float)(t * 0.6 - w * 0.8 + 5), X[2 * i + 1] = (float)(t * 0.8 + w * 0.6 - 1);
    }
    ZT_CHECK_EQ_INT(viz_pca(X, N, 2, 2, Y, NULL), 0);
    for (int i = 0; i < N; i++)
        ZT_CHECK_NEAR(fabs(Y[2 * i]), fabs((i - N / 2) * 0.1 + 0.05), 1e-4);   /* centred: the mean t is -0.05 */
    ZT_CHECK(Y[2 * (N - 1)] > 0 || Y[0] > 0);   /* the largest |PC1| entry is positive */
}

static double knn_accuracy_2d(const float *Y, const int *lab, int n, int k)
{
    int hit = 0, tot = 0;
    for (int i = 0; i < n; i++) {
        int best[16];
        double bd[16];
        int m = 0;
        for (int j = 0; j < n; j++) {
            if (j == i)
                continue;
            double dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1], d2 = dx * dx + dy * dy;
            if (m < k || d2 < bd[m - 1]) {
                int p = m < k ? m++ : m - 1;
                while (p > 0 && bd[p - 1] > d2)
                    bd[p] = bd[p - 1], best[p] = best[p - 1], p--;
                bd[p] = d2, best[p] = j;
            }
        }
        for (int q = 0; q < k; q++)
            hit += lab[best[q]] == lab[i], tot++;
    }
    return (double)hit / tot;
}

static void test_tsne_deterministic_and_separates(void)
{
    enum { N = 600, D = 20 };
    int lab[N];
    float *X = blobs(N, D, 6, 1.0, lab);
    float *Y1 = malloc(N * 2 * sizeof *Y1), *Y2 = malloc(N * 2 * sizeof *Y2);
    viz_tsne_opts o;
    viz_tsne_defaults(&o);
    o.iterations = 500;
    o.threads = 1;
    viz_tsne_info info;
    ZT_CHECK_EQ_INT(viz_tsne(X, N, D, &o, Y1, NULL, NULL, &info, NULL), 0);
    o.threads = 2;
    ZT_CHECK_EQ_INT(viz_tsne(X, N, D, &o, Y2, NULL, NULL, &info, NULL), 0);
    ZT_CHECK(!memcmp(Y1, Y2, N * 2 * sizeof *Y1));      /* same bits with 1 and 2 threads */
    ZT_CHECK(info.iterations == 500 && isfinite(info.kl) && info.kl > 0 && info.kl < 3);
    double acc = knn_accuracy_2d(Y2, lab, N, 10);
    ZT_CHECK(acc > 0.99);
    o.metric = VIZ_METRIC_EUCLIDEAN;
    o.random_init = 1;
    ZT_CHECK_EQ_INT(viz_tsne(X, N, D, &o, Y1, NULL, NULL, &info, NULL), 0);
    ZT_CHECK(knn_accuracy_2d(Y1, lab, N, 10) > 0.99);
    o.perplexity = N;
    ZT_CHECK_EQ_INT(viz_tsne(X, N, D, &o, Y1, NULL, NULL, &info, NULL), ZB_EINVAL);
    free(X), free(Y1), free(Y2);
}

int main(void)
{
    ZT_RUN(test_knn_exact);
    ZT_RUN(test_pca_axis);
    ZT_RUN(test_tsne_deterministic_and_separates);
    return zt_done();
}
