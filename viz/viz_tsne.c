/* viz_tsne: Barnes-Hut t-SNE following scikit-learn 1.2 (see viz_tsne.h for the recipe). */
#include <assert.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "viz_tsne.h"

#define LEAF_POINTS 4        /* points per quadtree leaf, computed exactly */
#define MAX_DEPTH 40         /* deeper only for (near-)duplicates: they share a leaf */
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

/* ---- the quadtree ---------------------------------------------------------------------------- */

/* Nodes in depth-first pre-order: a node's subtree is [node, skip), so a traversal that accepts a
 * node as one summary jumps to skip and one that opens it steps to the next node: no stack, and
 * memory is read forwards. */
typedef struct {
    float cx, cy;        /* centre of mass */
    float w2;            /* (longest side)^2 of the cell */
    int count;           /* points below */
    int skip;            /* the node after this subtree */
    int first;           /* leaf: its points are tx/ty/ord[first .. first + count) */
    int leaf;
} qnode;

typedef struct {
    qnode *nodes;
    int n_nodes, cap;
    int32_t *ord, *tmp;  /* point ids in tree order; scratch */
    float *tx, *ty;      /* positions in tree order */
    const float *Y;      /* n x 2 */
} qtree;

static int qt_build(qtree *t, int lo, int hi, float x0, float y0, float x1, float y1, int depth)
{
    if (t->n_nodes == t->cap) {
        int nc = t->cap * 2;
        qnode *nn = realloc(t->nodes, (size_t)nc * sizeof *nn);
        if (!nn)
            return -1;
        t->nodes = nn, t->cap = nc;
    }
    int me = t->n_nodes++;
    double sx = 0, sy = 0;
    for (int i = lo; i < hi; i++)
        sx += t->Y[2 * t->ord[i]], sy += t->Y[2 * t->ord[i] + 1];
    float w = x1 - x0 > y1 - y0 ? x1 - x0 : y1 - y0;
    qnode nd = {(float)(sx / (hi - lo)), (float)(sy / (hi - lo)), w * w, hi - lo, 0, lo, 0};
    if (hi - lo <= LEAF_POINTS || depth >= MAX_DEPTH) {
        nd.leaf = 1;
        for (int i = lo; i < hi; i++)
            t->tx[i] = t->Y[2 * t->ord[i]], t->ty[i] = t->Y[2 * t->ord[i] + 1];
    } else {
        float mx = 0.5f * (x0 + x1), my = 0.5f * (y0 + y1);
        int c[4] = {0, 0, 0, 0}, at[4];
        for (int i = lo; i < hi; i++) {
            const float *p = t->Y + 2 * t->ord[i];
            c[(p[0] >= mx) + 2 * (p[1] >= my)]++;
        }
        at[0] = lo, at[1] = lo + c[0], at[2] = at[1] + c[1], at[3] = at[2] + c[2];
        int b[4] = {at[0], at[1], at[2], at[3]};
        for (int i = lo; i < hi; i++) {
            const float *p = t->Y + 2 * t->ord[i];
            t->tmp[b[(p[0] >= mx) + 2 * (p[1] >= my)]++] = t->ord[i];
        }
        memcpy(t->ord + lo, t->tmp + lo, (size_t)(hi - lo) * sizeof *t->ord);
        for (int q = 0; q < 4; q++)
            if (c[q] && qt_build(t, at[q], at[q] + c[q], q & 1 ? mx : x0, q & 2 ? my : y0, q & 1 ? x1 : mx,
                                 q & 2 ? y1 : my, depth + 1))
                return -1;
    }
    nd.skip = t->n_nodes;
    t->nodes[me] = nd;
    return 0;
}

/* sklearn's root box: per-axis min and max, the max pushed out a little so every point is inside. */
static int qt_rebuild(qtree *t, const float *Y, int n)
{
    float lo[2] = {Y[0], Y[1]}, hi[2] = {Y[0], Y[1]};
    for (int i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) {
            float v = Y[2 * i + a];
            lo[a] = v < lo[a] ? v : lo[a];
            hi[a] = v > hi[a] ? v : hi[a];
        }
    for (int a = 0; a < 2; a++) {
        float m = hi[a] * (1 + 1e-3f * (hi[a] > 0 ? 1 : hi[a] < 0 ? -1 : 0));
        hi[a] = m > hi[a] + 1e-3f ? m : hi[a] + 1e-3f;
    }
    for (int i = 0; i < n; i++)
        t->ord[i] = i;
    t->Y = Y;
    t->n_nodes = 0;
    return qt_build(t, 0, n, lo[0], lo[1], hi[0], hi[1], 0);
}

/* ---- one iteration's gradient -------------------------------------------------------------------
 * For each point: the repulsion from the tree (negative force and its share of Z), the attraction
 * along its row of P (exaggerated by `ex`), and, when asked, its terms of the KL divergence:
 *   KL = sum p log p - sum p log q~ + (sum p) log Z      (q = q~ / Z, q~ = 1 / (1 + d^2)) */
typedef struct {
    const qtree *t;
    const csr *P;
    const float *Y;
    float ex, theta2;
    int lo, hi, want_kl;
    float *neg, *pos;        /* n x 2 each */
    double *z;               /* n: each point's sum of q~ */
    double *kl_a, *kl_p;     /* n: sum p log p - p log q~ ; sum p */
} grad_job;

/* Hot loop: Barnes-Hut repulsion on point i. */
static double repulse(const qtree *t, int i, float xi, float yi, float theta2, float *fx, float *fy)
{
    double z = 0;
    float gx = 0, gy = 0;
    const qnode *nodes = t->nodes;
    int n = 0, end = t->n_nodes;
    while (n < end) {
        const qnode *nd = &nodes[n];
        float dx = xi - nd->cx, dy = yi - nd->cy, d2 = dx * dx + dy * dy;
        if (nd->w2 < theta2 * d2) {
            float q = 1.0f / (1.0f + d2), m = (float)nd->count * q;
            z += m;
            m *= q;
            gx += m * dx, gy += m * dy;
            n = nd->skip;
        } else if (nd->leaf) {
            for (int e = nd->first; e < nd->first + nd->count; e++) {
                if (t->ord[e] == i)
                    continue;
                float ex = xi - t->tx[e], ey = yi - t->ty[e], e2 = ex * ex + ey * ey;
                float q = 1.0f / (1.0f + e2);
                z += q;
                q *= q;
                gx += q * ex, gy += q * ey;
            }
            n = nd->skip;
        } else {
            n++;
        }
    }
    *fx = gx, *fy = gy;
    return z;
}

static void *grad_worker(void *arg)
{
    grad_job *J = arg;
    const float tiny = FLT_MIN;
    for (int i = J->lo; i < J->hi; i++) {
        float xi = J->Y[2 * i], yi = J->Y[2 * i + 1];
        J->z[i] = repulse(J->t, i, xi, yi, J->theta2, &J->neg[2 * i], &J->neg[2 * i + 1]);
        float px = 0, py = 0;
        double a = 0, ps = 0;
        for (int64_t e = J->P->start[i]; e < J->P->start[i + 1]; e++) {
            int j = J->P->col[e];
            float dx = xi - J->Y[2 * j], dy = yi - J->Y[2 * j + 1];
            float q = 1.0f / (1.0f + dx * dx + dy * dy), p = J->P->val[e] * J->ex;
            px += p * q * dx, py += p * q * dy;
            if (J->want_kl) {
                a += (double)p * (log(p > tiny ? p : tiny) - log(q));
                ps += p;
            }
        }
        J->pos[2 * i] = px, J->pos[2 * i + 1] = py;
        if (J->want_kl)
            J->kl_a[i] = a, J->kl_p[i] = ps;
    }
    return NULL;
}

/* The gradient (n x 2, sklearn's: 4 (pos - neg / Z)) and, when want_kl, the KL divergence. */
static double gradient(const qtree *t, const csr *P, const float *Y, int n, float ex, float theta2, int threads,
                       int want_kl, grad_job *jobs, pthread_t *tid, float *neg, float *pos, double *z, double *kla,
                       double *klp, float *grad)
{
    for (int k = 0; k < threads; k++) {
        jobs[k] = (grad_job){t, P, Y, ex, theta2, (int)((int64_t)n * k / threads), (int)((int64_t)n * (k + 1) / threads),
                             want_kl, neg, pos, z, kla, klp};
        if (k && pthread_create(&tid[k], NULL, grad_worker, &jobs[k]))
            jobs[k].hi = -jobs[k].hi - 1;         /* not started: run below */
    }
    grad_worker(&jobs[0]);
    for (int k = 1; k < threads; k++) {
        if (jobs[k].hi < 0) {
            jobs[k].hi = -jobs[k].hi - 1;
            grad_worker(&jobs[k]);
        } else {
            pthread_join(tid[k], NULL);
        }
    }
    double Z = 0;                      /* in index order: the same sum whatever the thread count */
    for (int i = 0; i < n; i++)
        Z += z[i];
    Z = Z > DBL_EPSILON ? Z : DBL_EPSILON;
    for (int i = 0; i < 2 * n; i++)
        grad[i] = 4.0f * (pos[i] - (float)(neg[i] / Z));
    if (!want_kl)
        return NAN;
    double a = 0, ps = 0;
    for (int i = 0; i < n; i++)
        a += kla[i], ps += klp[i];
    return a + ps * log(Z);
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
    qtree t = {.cap = 1024};
    t.nodes = malloc((size_t)t.cap * sizeof *t.nodes);
    t.ord = malloc((size_t)n * sizeof *t.ord), t.tmp = malloc((size_t)n * sizeof *t.tmp);
    t.tx = malloc((size_t)n * sizeof *t.tx), t.ty = malloc((size_t)n * sizeof *t.ty);
    float *neg = malloc((size_t)n * 2 * sizeof *neg), *pos = malloc((size_t)n * 2 * sizeof *pos);
    float *grad = malloc((size_t)n * 2 * sizeof *grad), *upd = malloc((size_t)n * 2 * sizeof *upd);
    float *gains = malloc((size_t)n * 2 * sizeof *gains);
    double *z = malloc((size_t)n * sizeof *z), *kla = malloc((size_t)n * sizeof *kla), *klp = malloc((size_t)n * sizeof *klp);
    grad_job *jobs = calloc((size_t)T, sizeof *jobs);
    pthread_t *tid = calloc((size_t)T, sizeof *tid);
    int rc = ZB_OK;
    if (!idx || !dist || !cond || !t.nodes || !t.ord || !t.tmp || !t.tx || !t.ty || !neg || !pos || !grad || !upd ||
        !gains || !z || !kla || !klp || !jobs || !tid) {
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
            if (qt_rebuild(&t, Y, n)) {
                rc = zb_fail(err, ZB_ENOMEM, "t-SNE: out of memory for the quadtree");
                goto out;
            }
            double e = gradient(&t, &P, Y, n, ex, theta2, T, want_kl, jobs, tid, neg, pos, z, kla, klp, grad);
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
    free(t.nodes), free(t.ord), free(t.tmp), free(t.tx), free(t.ty);
    free(neg), free(pos), free(grad), free(upd), free(gains), free(z), free(kla), free(klp), free(jobs), free(tid);
    return rc;
}
