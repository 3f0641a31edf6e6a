/* viz_knn: exact kNN by blocked sgemm, and PCA by an eigen-decomposition of the covariance. */
#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "viz_knn.h"

#define BLOCK 256      /* query rows per sgemm: BLOCK x n floats of scores per thread */

void openblas_set_num_threads(int);     /* OpenBLAS; our threads split the work */
/* LAPACK (in Debian's OpenBLAS): symmetric eigen-decomposition, eigenvalues ascending. */
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
            const int *lwork, int *info);

int viz_threads(int threads)
{
    if (threads > 0)
        return threads;
    cpu_set_t s;
    int n = sched_getaffinity(0, sizeof s, &s) == 0 ? CPU_COUNT(&s) : 1;
    return n > 0 ? n : 1;
}

typedef struct {
    const float *X;      /* n x d: the rows, normalized for cosine */
    const float *sq;     /* n squared norms (euclidean) */
    int n, d, k, metric, threads, me;
    int32_t *idx;
    float *dist;
    int fail;
} knn_job;

/* Heap of the k best (largest score) seen so far, smallest score at the root; ties: the larger
 * index is "worse", so that equal distances keep the lower indices, deterministically. */
static int worse(float sa, int32_t ia, float sb, int32_t ib)
{
    return sa < sb || (sa == sb && ia > ib);
}

static void sift_down(float *hs, int32_t *hi, int k, int at)
{
    for (;;) {
        int l = 2 * at + 1, r = l + 1, m = at;
        if (l < k && worse(hs[l], hi[l], hs[m], hi[m])) m = l;
        if (r < k && worse(hs[r], hi[r], hs[m], hi[m])) m = r;
        if (m == at)
            return;
        float ts = hs[m]; hs[m] = hs[at]; hs[at] = ts;
        int32_t ti = hi[m]; hi[m] = hi[at]; hi[at] = ti;
        at = m;
    }
}

/* Hot loop: one query row's scores against every row -> its k best other rows, sorted. Scores are
 * "larger is nearer": cos for cosine, 2 q.x - |x|^2 for Euclidean (|q|^2 is the same for the row). */
static void select_row(const float *score, int n, int self, int k, float *hs, int32_t *hi)
{
    int filled = 0, j = 0;
    for (; j < n && filled < k; j++)
        if (j != self)
            hs[filled] = score[j], hi[filled] = j, filled++;
    for (int a = k / 2 - 1; a >= 0; a--)
        sift_down(hs, hi, k, a);
    float thr = hs[0];          /* the k-th best so far: most scores fall below it, one compare */
    for (; j < n; j++) {
        float s = score[j];
        if (s < thr || j == self || !worse(hs[0], hi[0], s, j))
            continue;
        hs[0] = s, hi[0] = j;
        sift_down(hs, hi, k, 0);
        thr = hs[0];
    }
    /* heap sort: pop the worst to the end */
    for (int m = k - 1; m > 0; m--) {
        float ts = hs[0]; hs[0] = hs[m]; hs[m] = ts;
        int32_t ti = hi[0]; hi[0] = hi[m]; hi[m] = ti;
        sift_down(hs, hi, m, 0);
    }
}

static void *knn_worker(void *arg)
{
    knn_job *J = arg;
    openblas_set_num_threads(1);
    float *S = malloc((size_t)BLOCK * J->n * sizeof *S);
    float *hs = malloc((size_t)J->k * sizeof *hs);
    int32_t *hi = malloc((size_t)J->k * sizeof *hi);
    if (!S || !hs || !hi) {
        J->fail = 1;
        free(S), free(hs), free(hi);
        return NULL;
    }
    int blocks = (J->n + BLOCK - 1) / BLOCK;
    for (int b = J->me; b < blocks; b += J->threads) {
        int r0 = b * BLOCK, m = J->n - r0 < BLOCK ? J->n - r0 : BLOCK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, J->n, J->d, 1.0f, J->X + (size_t)r0 * J->d, J->d,
                    J->X, J->d, 0.0f, S, J->n);
        for (int r = 0; r < m; r++) {
            float *row = S + (size_t)r * J->n;
            if (J->metric == VIZ_METRIC_EUCLIDEAN)
                for (int j = 0; j < J->n; j++)
                    row[j] = 2 * row[j] - J->sq[j];
            int i = r0 + r;
            select_row(row, J->n, i, J->k, hs, hi);
            for (int q = 0; q < J->k; q++) {
                float dd;
                if (J->metric == VIZ_METRIC_COSINE) {
                    dd = 1.0f - hs[q];
                    dd = dd < 0 ? 0 : dd > 2 ? 2 : dd;
                } else {
                    /* |q|^2 + |x|^2 - 2 q.x cancels for near points (a duplicate came out at 0.01):
                     * the k chosen distances are recomputed directly, in double */
                    const float *pa = J->X + (size_t)i * J->d, *pb = J->X + (size_t)hi[q] * J->d;
                    double e = 0;
                    for (int c = 0; c < J->d; c++)
                        e += ((double)pa[c] - pb[c]) * ((double)pa[c] - pb[c]);
                    dd = (float)sqrt(e);
                }
                J->idx[(size_t)i * J->k + q] = hi[q];
                J->dist[(size_t)i * J->k + q] = dd;
            }
        }
    }
    free(S), free(hs), free(hi);
    return NULL;
}

int viz_knn(const float *X, int n, int d, viz_metric metric, int k, int threads, int32_t *idx, float *dist,
            zb_err *err)
{
    assert(n > 1 && d > 0 && k >= 1 && k < n);
    float *Xn = NULL, *sq = malloc((size_t)n * sizeof *sq);
    if (!sq)
        return zb_fail(err, ZB_ENOMEM, "nearest neighbours of %d rows: out of memory", n);
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++)
            s += (double)X[(size_t)i * d + j] * X[(size_t)i * d + j];
        sq[i] = (float)s;
    }
    if (metric == VIZ_METRIC_COSINE) {
        if (!(Xn = malloc((size_t)n * d * sizeof *Xn))) {
            free(sq);
            return zb_fail(err, ZB_ENOMEM, "nearest neighbours of %d rows: out of memory", n);
        }
        for (int i = 0; i < n; i++) {
            /* a zero row stays zero: cos 0, distance 1 to everything (scikit-learn's normalize) */
            double inv = sq[i] > 0 ? 1.0 / sqrt((double)sq[i]) : 0;
            for (int j = 0; j < d; j++)
                Xn[(size_t)i * d + j] = (float)(X[(size_t)i * d + j] * inv);
        }
    }
    int T = viz_threads(threads);
    knn_job *jobs = calloc((size_t)T, sizeof *jobs);
    pthread_t *tid = calloc((size_t)T, sizeof *tid);
    int rc = ZB_OK;
    if (!jobs || !tid) {
        rc = zb_fail(err, ZB_ENOMEM, "nearest neighbours: out of memory");
        goto out;
    }
    for (int t = 0; t < T; t++) {
        jobs[t] = (knn_job){.X = Xn ? Xn : X, .sq = sq, .n = n, .d = d, .k = k, .metric = metric, .threads = T,
                            .me = t, .idx = idx, .dist = dist};
        if (t && pthread_create(&tid[t], NULL, knn_worker, &jobs[t]))
            jobs[t].fail = 2;     /* not started: run its share below */
    }
    knn_worker(&jobs[0]);
    for (int t = 1; t < T; t++) {
        if (jobs[t].fail == 2) {
            jobs[t].fail = 0;
            knn_worker(&jobs[t]);
        } else {
            pthread_join(tid[t], NULL);
        }
    }
    for (int t = 0; t < T; t++)
        if (jobs[t].fail)
            rc = zb_fail(err, ZB_ENOMEM, "nearest neighbours: out of memory for a block of %d x %d scores", BLOCK, n);
out:
    free(jobs), free(tid), free(Xn), free(sq);
    return rc;
}

int viz_pca(const float *X, int n, int d, int comps, float *Y, zb_err *err)
{
    assert(n > 0 && d > 0 && comps >= 1 && comps <= d);
    double *mean = calloc((size_t)d, sizeof *mean), *C = calloc((size_t)d * d, sizeof *C);
    double *Xc = malloc((size_t)n * d * sizeof *Xc), *w = malloc((size_t)d * sizeof *w);
    int rc = ZB_OK;
    if (!mean || !C || !Xc || !w) {
        rc = zb_fail(err, ZB_ENOMEM, "PCA of %d x %d: out of memory", n, d);
        goto out;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            mean[j] += X[(size_t)i * d + j];
    for (int j = 0; j < d; j++)
        mean[j] /= n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            Xc[(size_t)i * d + j] = X[(size_t)i * d + j] - mean[j];
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, n, 1.0, Xc, d, 0.0, C, d);
    /* row-major upper = column-major lower */
    int info = 0, lwork = -1;
    double q;
    dsyev_("V", "L", &d, C, &d, w, &q, &lwork, &info);
    lwork = info == 0 ? (int)q : 3 * d;
    double *work = malloc((size_t)lwork * sizeof *work);
    if (!work) {
        rc = zb_fail(err, ZB_ENOMEM, "PCA: out of memory");
        goto out;
    }
    dsyev_("V", "L", &d, C, &d, w, work, &lwork, &info);
    free(work);
    if (info) {
        rc = zb_fail(err, ZB_EINTERNAL, "PCA: the eigen-decomposition did not converge (LAPACK info %d)", info);
        goto out;
    }
    /* column-major eigenvectors: vector e is C[e*d .. e*d+d-1]; the largest eigenvalue is last */
    for (int c = 0; c < comps; c++) {
        const double *v = C + (size_t)(d - 1 - c) * d;
        double best = 0;
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < d; j++)
                s += Xc[(size_t)i * d + j] * v[j];
            Y[(size_t)i * comps + c] = (float)s;
            if (fabs(s) > fabs(best))
                best = s;
        }
        if (best < 0)     /* svd_flip(u_based_decision=True): the largest |u| positive */
            for (int i = 0; i < n; i++)
                Y[(size_t)i * comps + c] = -Y[(size_t)i * comps + c];
    }
out:
    free(mean), free(C), free(Xc), free(w);
    return rc;
}
