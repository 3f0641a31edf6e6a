/* viz_tsne: Barnes-Hut t-SNE following scikit-learn 1.2 (see viz_tsne.h for the recipe). */
#include <assert.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "viz_bh.h"
#include "viz_tsne.h"

#define CHECK_EVERY 50       /* sklearn's _N_ITER_CHECK */

void viz_tsne_defaults(viz_tsne_opts *o)
{
    *o = (viz_tsne_opts){.perplexity = 30, .metric = VIZ_METRIC_COSINE, .iterations = 1000,
                         .exaggeration_iters = 250, .exaggeration = 12, .theta = 0.5, .seed = 42};
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- affinities ------------------------------------------------------------------------------ */

/* sklearn _binary_search_perplexity for one row of k squared distances -> k conditional p. */
static void row_perplexity(const float *d2, int k, double perplexity, float *p)
{
    double beta = 1, beta_min = -INFINITY, beta_max = INFINITY, target = log(perplexity);
    double pr[k];
    for (int step = 0; step < 100; step++) {
        double sum = 0, sum_dp = 0;
        for (int j = 0; j < k; j++)
            sum += pr[j] = exp(-d2[j] * beta);
        if (sum == 0)
            sum = 1e-8;
        for (int j = 0; j < k; j++) {
            pr[j] /= sum;
            sum_dp += d2[j] * pr[j];
        }
        double H = log(sum) + beta * sum_dp;
        if (fabs(H - target) <= 1e-5)
            break;
        if (H > target) {
            beta_min = beta;
            beta = beta_max == INFINITY ? beta * 2 : (beta + beta_max) / 2;
        } else {
            beta_max = beta;
            beta = beta_min == -INFINITY ? beta / 2 : (beta + beta_min) / 2;
        }
    }
    for (int j = 0; j < k; j++)
        p[j] = (float)pr[j];
}

typedef struct {
    int n;
    int64_t *start;      /* n + 1 */
    int32_t *col;
    float *val;          /* joint P, sums to 1 */
} csr;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* P = (C + C') / sum, C the conditional rows (n x k, columns idx). 0, or -1 out of memory. */
static int joint_p(int n, int k, const int32_t *idx, const float *cond, csr *P)
{
    int64_t nnz = 2 * (int64_t)n * k;
    int64_t *pos = calloc((size_t)n + 1, sizeof *pos), *fill = malloc(((size_t)n + 1) * sizeof *fill);
    int64_t *key = malloc((size_t)nnz * sizeof *key);     /* per row: col << 32 | entry, sorted */
    float *ev = malloc((size_t)nnz * sizeof *ev);
    P->start = calloc((size_t)n + 1, sizeof *P->start);
    P->col = malloc((size_t)nnz * sizeof *P->col);
    P->val = malloc((size_t)nnz * sizeof *P->val);
    int rc = -1;
    if (!pos || !fill || !key || !ev || !P->start || !P->col || !P->val)
        goto out;
    for (int i = 0; i < n; i++)
        for (int q = 0; q < k; q++)
            pos[i + 1]++, pos[idx[(size_t)i * k + q] + 1]++;
    for (int i = 0; i < n; i++)
        pos[i + 1] += pos[i];
    memcpy(fill, pos, ((size_t)n + 1) * sizeof *fill);
    for (int i = 0; i < n; i++)
        for (int q = 0; q < k; q++) {
            int64_t j = idx[(size_t)i * k + q];
            float v = cond[(size_t)i * k + q];
            int64_t e = fill[i]++;
            key[e] = j << 32 | (e - pos[i]), ev[e] = v;
            e = fill[j]++;
            key[e] = (int64_t)i << 32 | (e - pos[j]), ev[e] = v;
        }
    int64_t out = 0;
    double total = 0;
    for (int i = 0; i < n; i++) {
        int64_t a = pos[i], b = pos[i + 1];
        qsort(key + a, (size_t)(b - a), sizeof *key, cmp_i64);
        P->start[i] = out;
        for (int64_t e = a; e < b;) {
            int32_t c = (int32_t)(key[e] >> 32);
            float v = 0;
            while (e < b && (int32_t)(key[e] >> 32) == c)
                v += ev[a + (key[e] & 0xffffffff)], e++;     /* p_ij + p_ji in float32, as scipy */
            P->col[out] = c;
            P->val[out++] = v;
            total += v;
        }
    }
    P->start[n] = out;
    for (int64_t e = 0; e < out; e++)
        P->val[e] = (float)(P->val[e] / (total > DBL_MIN ? total : DBL_MIN));
    P->n = n;
    rc = 0;
out:
    free(pos), free(fill), free(key), free(ev);
    return rc;
}

/* ---- one iteration's gradient ---------------------------------------------------------------
 * Each thread takes a run of quadtree groups: the repulsion of their points (viz_bh), the
 * attraction along their rows of P (exaggerated by `ex`) and, when asked, their terms of the KL
 * divergence:  KL = sum p log p - sum p log q~ + (sum p) log Z   (q = q~ / Z, q~ = 1 / (1 + d^2)). */
typedef struct {
    const viz_bh *t;
    const csr *P;
    const float *Y;
    float ex, theta2;
    int g0, g1, want_kl, fail;
    viz_bh_scratch *scratch;
    float *neg, *pos;        /* n x 2 each */
    double *z;               /* n: each point's sum of q~ */
    double *kl_a, *kl_p;     /* n: sum p log p - p log q~ ; sum p */
} grad_job;

static void *grad_worker(void *arg)
{
    grad_job *J = arg;
    const float tiny = FLT_MIN;
    if (viz_bh_repulse(J->t, J->g0, J->g1, J->theta2, J->scratch, J->neg, J->z)) {
        J->fail = 1;
        return NULL;
    }
    const int32_t *ord = viz_bh_order(J->t);
    const float *restrict Y = J->Y, *restrict val = J->P->val;
    const int32_t *restrict col = J->P->col;
    const int64_t *start = J->P->start;
    const float ex = J->ex;
    for (int at = viz_bh_group_start(J->t, J->g0); at < viz_bh_group_start(J->t, J->g1); at++) {
        int i = ord[at];
        float xi = Y[2 * i], yi = Y[2 * i + 1], px = 0, py = 0;
        /* hot loop: attraction along row i of P */
        for (int64_t e = start[i]; e < start[i + 1]; e++) {
            int j = col[e];
            float dx = xi - Y[2 * j], dy = yi - Y[2 * j + 1];
            float pq = val[e] / (1.0f + dx * dx + dy * dy);
            px += pq * dx, py += pq * dy;
        }
        J->pos[2 * i] = ex * px, J->pos[2 * i + 1] = ex * py;
        if (!J->want_kl)
            continue;
        double a = 0, ps = 0;
        for (int64_t e = start[i]; e < start[i + 1]; e++) {
            int j = col[e];
            float dx = xi - Y[2 * j], dy = yi - Y[2 * j + 1];
            float q = 1.0f / (1.0f + dx * dx + dy * dy), p = val[e] * ex;
            a += (double)p * (log(p > tiny ? p : tiny) - log(q));
            ps += p;
        }
        J->kl_a[i] = a, J->kl_p[i] = ps;
    }
    return NULL;
}

/* The gradient (n x 2, sklearn's: 4 (pos - neg / Z)) and, when want_kl, the KL divergence into *kl.
 * -1 when a thread ran out of memory. */
static int gradient(const viz_bh *t, const csr *P, const float *Y, int n, float ex, float theta2, int threads,
                    int want_kl, grad_job *jobs, viz_bh_scratch **scratch, pthread_t *tid, float *neg, float *pos,
                    double *z, double *kla, double *klp, float *grad, double *kl)
{
    int G = viz_bh_groups(t), g = 0;
    for (int k = 0; k < threads; k++) {
        /* groups split by points: thread k's run starts at the first group at or past k n / T */
        int g0 = g;
        int64_t until = (int64_t)n * (k + 1) / threads;
        while (g < G && (k == threads - 1 || viz_bh_group_start(t, g) < until))
            g++;
        jobs[k] = (grad_job){t, P, Y, ex, theta2, g0, g, want_kl, 0, scratch[k], neg, pos, z, kla, klp};
        if (k && pthread_create(&tid[k], NULL, grad_worker, &jobs[k]))
            jobs[k].fail = 2;               /* not started: run below */
    }
    grad_worker(&jobs[0]);
    int fail = jobs[0].fail;
    for (int k = 1; k < threads; k++) {
        if (jobs[k].fail == 2) {
            jobs[k].fail = 0;
            grad_worker(&jobs[k]);
        } else {
            pthread_join(tid[k], NULL);
        }
        fail |= jobs[k].fail;
    }
    if (fail)
        return -1;
    double Z = 0;                      /* in index order: the same sum whatever the thread count */
    for (int i = 0; i < n; i++)
        Z += z[i];
    Z = Z > DBL_EPSILON ? Z : DBL_EPSILON;
    for (int i = 0; i < 2 * n; i++)
        grad[i] = 4.0f * (pos[i] - (float)(neg[i] / Z));
    if (want_kl) {
        double a = 0, ps = 0;
        for (int i = 0; i < n; i++)
            a += kla[i], ps += klp[i];
        *kl = a + ps * log(Z);
    }
    return 0;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int init_y(const float *X, int n, int d, const viz_tsne_opts *o, float *Y, zb_err *err)
{
    if (o->random_init) {
        uint64_t s = o->seed;
        for (int i = 0; i < 2 * n; i += 2) {       /* Box-Muller pairs */
            double u = ((splitmix(&s) >> 11) + 0.5) * 0x1p-53, v = (splitmix(&s) >> 11) * 0x1p-53;
            double r = sqrt(-2 * log(u)) * 1e-4;
            Y[i] = (float)(r * cos(2 * M_PI * v));
            Y[i + 1] = (float)(r * sin(2 * M_PI * v));
        }
        return ZB_OK;
    }
    int rc = viz_pca(X, n, d, 2, Y, err);
    if (rc)
        return rc;
    double m = 0, v = 0;
    for (int i = 0; i < n; i++)
        m += Y[2 * i];
    m /= n;
    for (int i = 0; i < n; i++)
        v += (Y[2 * i] - m) * (Y[2 * i] - m);
    double sd = sqrt(v / n);
    for (int i = 0; i < 2 * n; i++)      /* sklearn: pca / std(pca[:, 0]) * 1e-4, aspect kept */
        Y[i] = sd > 0 ? (float)(Y[i] / sd * 1e-4) : 0;
    return ZB_OK;
}

int viz_tsne(const float *X, int n, int d, const viz_tsne_opts *o, float *Y, int32_t **knn_idx, int *knn_k,
             viz_tsne_info *info, zb_err *err)
{
    double t0 = now();
    if (n < 2 || !(o->perplexity > 0) || o->perplexity >= n)
        return zb_fail(err, ZB_EINVAL, "t-SNE: perplexity %g must be positive and less than the %d points",
                       o->perplexity, n);
    int k = (int)(3 * o->perplexity + 1);
    k = k < n - 1 ? k : n - 1;
    int T = viz_threads(o->threads);
    int32_t *idx = malloc((size_t)n * k * sizeof *idx);
    float *dist = malloc((size_t)n * k * sizeof *dist);
    float *cond = malloc((size_t)n * k * sizeof *cond);
    csr P = {0};
    viz_bh *t = viz_bh_new(n);
    float *neg = malloc((size_t)n * 2 * sizeof *neg), *pos = malloc((size_t)n * 2 * sizeof *pos);
    float *grad = malloc((size_t)n * 2 * sizeof *grad), *upd = malloc((size_t)n * 2 * sizeof *upd);
    float *gains = malloc((size_t)n * 2 * sizeof *gains);
    double *z = malloc((size_t)n * sizeof *z), *kla = malloc((size_t)n * sizeof *kla), *klp = malloc((size_t)n * sizeof *klp);
    grad_job *jobs = calloc((size_t)T, sizeof *jobs);
    viz_bh_scratch **scratch = calloc((size_t)T, sizeof *scratch);
    pthread_t *tid = calloc((size_t)T, sizeof *tid);
    int rc = ZB_OK, no_mem = !scratch;
    for (int th = 0; scratch && th < T; th++)
        no_mem |= !(scratch[th] = viz_bh_scratch_new());
    if (no_mem || !idx || !dist || !cond || !t || !neg || !pos || !grad || !upd || !gains || !z || !kla || !klp ||
        !jobs || !tid) {
        rc = zb_fail(err, ZB_ENOMEM, "t-SNE of %d points: out of memory", n);
        goto out;
    }
    if ((rc = viz_knn(X, n, d, o->metric, k, T, idx, dist, err)))
        goto out;
    if (info)
        info->seconds_knn = now() - t0;
    for (size_t e = 0; e < (size_t)n * k; e++)
        dist[e] *= dist[e];                  /* sklearn squares the kNN distances, whatever the metric */
    for (int i = 0; i < n; i++)
        row_perplexity(dist + (size_t)i * k, k, o->perplexity, cond + (size_t)i * k);
    if (joint_p(n, k, idx, cond, &P)) {
        rc = zb_fail(err, ZB_ENOMEM, "t-SNE: out of memory for the affinities");
        goto out;
    }
    if ((rc = init_y(X, n, d, o, Y, err)))
        goto out;

    double lr = o->learning_rate > 0 ? o->learning_rate : fmax(n / o->exaggeration / 4, 50);
    float theta2 = (float)(o->theta * o->theta);
    double kl = NAN;
    int it = 0, total = o->iterations;
    /* sklearn runs _gradient_descent twice: the exaggerated stage, then the rest; each starts with
     * update = 0, gains = 1 and its own best error */
    for (int stage = 0; stage < 2 && it < total; stage++) {
        int end = stage ? total : (o->exaggeration_iters < total ? o->exaggeration_iters : total);
        int patience = stage ? 300 : o->exaggeration_iters;
        float ex = stage ? 1.0f : (float)o->exaggeration, mom = stage ? 0.8f : 0.5f;
        double best = INFINITY;
        int best_it = it;
        for (int i = 0; i < 2 * n; i++)
            upd[i] = 0, gains[i] = 1;
        for (; it < end; it++) {
            int check = (it + 1) % CHECK_EVERY == 0, want_kl = check || it == total - 1;
            double e = NAN;
            if (viz_bh_build(t, Y) ||
                gradient(t, &P, Y, n, ex, theta2, T, want_kl, jobs, scratch, tid, neg, pos, z, kla, klp, grad, &e)) {
                rc = zb_fail(err, ZB_ENOMEM, "t-SNE: out of memory for the quadtree");
                goto out;
            }
            if (want_kl)
                kl = e;
            double gn = 0;
            for (int i = 0; i < 2 * n; i++) {
                float g = grad[i];
                gains[i] = upd[i] * g < 0 ? gains[i] + 0.2f : gains[i] * 0.8f;
                gains[i] = gains[i] < 0.01f ? 0.01f : gains[i];
                g *= gains[i];
                gn += (double)g * g;
                upd[i] = mom * upd[i] - (float)lr * g;
                Y[i] += upd[i];
            }
            if (o->progress)
                o->progress(o->progress_ud, it + 1, total, kl);
            if (check) {
                if (e < best) {
                    best = e, best_it = it;
                } else if (it - best_it > patience) {
                    it++;
                    break;
                }
                if (sqrt(gn) <= 1e-7) {
                    it++;
                    break;
                }
            }
        }
        /* a stage that stopped early still hands over to the next one, as in sklearn's _tsne */
    }
    if (info) {
        info->iterations = it;
        info->kl = kl;
        info->seconds_total = now() - t0;
    }
    if (knn_idx) {
        *knn_idx = idx;
        *knn_k = k;
        idx = NULL;
    }
out:
    free(idx), free(dist), free(cond), free(P.start), free(P.col), free(P.val);
    viz_bh_free(&t);
    for (int th = 0; scratch && th < T; th++)
        viz_bh_scratch_free(&scratch[th]);
    free(scratch);
    free(neg), free(pos), free(grad), free(upd), free(gains), free(z), free(kla), free(klp), free(jobs), free(tid);
    return rc;
}
