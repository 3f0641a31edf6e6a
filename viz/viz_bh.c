/* viz_bh: quadtree and grouped Barnes-Hut repulsion (see viz_bh.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "viz_bh.h"

#define LEAF_POINTS 4        /* points per leaf */
#define MAX_DEPTH 40         /* deeper only for (near-)duplicates: they share a leaf */

typedef struct {
    float cx, cy;        /* centre of mass */
    float w2;            /* (longest side)^2 of the cell */
    float mass;          /* points below, as a float for the sums */
    int skip;            /* the node after this subtree */
    int lo, count;       /* its points: order[lo .. lo + count) */
    int leaf;
} node;

struct viz_bh {
    int n;
    node *nodes;
    int n_nodes, cap;
    int32_t *ord, *tmp;  /* point ids in tree order; scratch */
    float *tx, *ty;      /* positions in tree order */
    int *group;          /* group node indices, then n_groups */
    int n_groups;
    int *gstart;         /* n_groups + 1 */
    const float *Y;
};

struct viz_bh_scratch {
    float *cx, *cy, *m;  /* the interaction list of one group (SoA: the sum loop vectorises) */
    int cap;
};

viz_bh *viz_bh_new(int n)
{
    viz_bh *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->n = n;
    b->cap = 1024;
    b->nodes = malloc((size_t)b->cap * sizeof *b->nodes);
    b->ord = malloc((size_t)n * sizeof *b->ord), b->tmp = malloc((size_t)n * sizeof *b->tmp);
    b->tx = malloc((size_t)n * sizeof *b->tx), b->ty = malloc((size_t)n * sizeof *b->ty);
    b->group = malloc((size_t)n * sizeof *b->group), b->gstart = malloc(((size_t)n + 1) * sizeof *b->gstart);
    if (!b->nodes || !b->ord || !b->tmp || !b->tx || !b->ty || !b->group || !b->gstart)
        viz_bh_free(&b);
    return b;
}

void viz_bh_free(viz_bh **bp)
{
    viz_bh *b = *bp;
    if (!b)
        return;
    free(b->nodes), free(b->ord), free(b->tmp), free(b->tx), free(b->ty), free(b->group), free(b->gstart);
    free(b);
    *bp = NULL;
}

static int build(viz_bh *t, int lo, int hi, float x0, float y0, float x1, float y1, int depth, int in_group)
{
    if (t->n_nodes == t->cap) {
        int nc = t->cap * 2;
        node *nn = realloc(t->nodes, (size_t)nc * sizeof *nn);
        if (!nn)
            return -1;
        t->nodes = nn, t->cap = nc;
    }
    int me = t->n_nodes++;
    if (!in_group && hi - lo <= VIZ_BH_GROUP) {   /* the first node small enough starts a group */
        t->gstart[t->n_groups] = lo;
        t->group[t->n_groups++] = me;
        in_group = 1;
    }
    double sx = 0, sy = 0;
    for (int i = lo; i < hi; i++)
        sx += t->Y[2 * t->ord[i]], sy += t->Y[2 * t->ord[i] + 1];
    float w = x1 - x0 > y1 - y0 ? x1 - x0 : y1 - y0;
    node nd = {(float)(sx / (hi - lo)), (float)(sy / (hi - lo)), w * w, (float)(hi - lo), 0, lo, hi - lo, 0};
    if (hi - lo <= LEAF_POINTS || depth >= MAX_DEPTH) {
        nd.leaf = 1;
        for (int i = lo; i < hi; i++)
            t->tx[i] = t->Y[2 * t->ord[i]], t->ty[i] = t->Y[2 * t->ord[i] + 1];
        if (!in_group) {        /* a big leaf of duplicates is a group of its own */
            t->gstart[t->n_groups] = lo;
            t->group[t->n_groups++] = me;
        }
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
            if (c[q] && build(t, at[q], at[q] + c[q], q & 1 ? mx : x0, q & 2 ? my : y0, q & 1 ? x1 : mx,
                              q & 2 ? y1 : my, depth + 1, in_group))
                return -1;
    }
    nd.skip = t->n_nodes;
    t->nodes[me] = nd;
    return 0;
}

int viz_bh_build(viz_bh *t, const float *Y)
{
    int n = t->n;
    float lo[2] = {Y[0], Y[1]}, hi[2] = {Y[0], Y[1]};
    for (int i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) {
            float v = Y[2 * i + a];
            lo[a] = v < lo[a] ? v : lo[a];
            hi[a] = v > hi[a] ? v : hi[a];
        }
    for (int a = 0; a < 2; a++) {      /* sklearn's root box: the max pushed out a little */
        float m = hi[a] * (1 + 1e-3f * (hi[a] > 0 ? 1 : hi[a] < 0 ? -1 : 0));
        hi[a] = m > hi[a] + 1e-3f ? m : hi[a] + 1e-3f;
    }
    for (int i = 0; i < n; i++)
        t->ord[i] = i;
    t->Y = Y;
    t->n_nodes = 0;
    t->n_groups = 0;
    if (build(t, 0, n, lo[0], lo[1], hi[0], hi[1], 0, 0))
        return -1;
    t->gstart[t->n_groups] = n;
    return 0;
}

int viz_bh_groups(const viz_bh *b) { return b->n_groups; }
int viz_bh_group_start(const viz_bh *b, int g) { return b->gstart[g]; }
const int32_t *viz_bh_order(const viz_bh *b) { return b->ord; }

viz_bh_scratch *viz_bh_scratch_new(void)
{
    return calloc(1, sizeof(viz_bh_scratch));
}

void viz_bh_scratch_free(viz_bh_scratch **sp)
{
    viz_bh_scratch *s = *sp;
    if (!s)
        return;
    free(s->cx), free(s->cy), free(s->m);
    free(s);
    *sp = NULL;
}

static int push(viz_bh_scratch *s, int *len, float cx, float cy, float m)
{
    if (*len == s->cap) {
        int nc = s->cap ? s->cap * 2 : 4096;
        float *a = realloc(s->cx, (size_t)nc * sizeof *a);
        if (a) s->cx = a;
        float *b = a ? realloc(s->cy, (size_t)nc * sizeof *b) : NULL;
        if (b) s->cy = b;
        float *c = b ? realloc(s->m, (size_t)nc * sizeof *c) : NULL;
        if (!c)
            return -1;
        s->m = c;
        s->cap = nc;
    }
    s->cx[*len] = cx, s->cy[*len] = cy, s->m[*len] = m;
    (*len)++;
    return 0;
}

/* Hot loop: one point against the interaction list (cells and single points far from its group). */
static void sum_list(const float *restrict cx, const float *restrict cy, const float *restrict m, int len,
                     float xi, float yi, float *fx, float *fy, float *zq)
{
    float gx = 0, gy = 0, z = 0;
    for (int e = 0; e < len; e++) {
        float dx = xi - cx[e], dy = yi - cy[e];
        float q = 1.0f / (1.0f + dx * dx + dy * dy), mq = m[e] * q, mq2 = mq * q;
        z += mq;
        gx += mq2 * dx, gy += mq2 * dy;
    }
    *fx = gx, *fy = gy, *zq = z;
}

int viz_bh_repulse(const viz_bh *t, int g0, int g1, float theta2, viz_bh_scratch *s, float *neg, double *z)
{
    for (int g = g0; g < g1; g++) {
        int gn = t->group[g], lo = t->gstart[g], hi = t->gstart[g + 1];
        float bx0 = t->tx[lo], bx1 = bx0, by0 = t->ty[lo], by1 = by0;
        for (int p = lo; p < hi; p++) {
            bx0 = t->tx[p] < bx0 ? t->tx[p] : bx0, bx1 = t->tx[p] > bx1 ? t->tx[p] : bx1;
            by0 = t->ty[p] < by0 ? t->ty[p] : by0, by1 = t->ty[p] > by1 ? t->ty[p] : by1;
        }
        /* the interaction list of everything outside the group's subtree */
        int len = 0, n = 0, end = t->n_nodes;
        while (n < end) {
            const node *nd = &t->nodes[n];
            if (n == gn) {
                n = nd->skip;
                continue;
            }
            /* distance from the cell's centre of mass to the group's box (0 inside) */
            float dx = bx0 - nd->cx > nd->cx - bx1 ? bx0 - nd->cx : nd->cx - bx1;
            float dy = by0 - nd->cy > nd->cy - by1 ? by0 - nd->cy : nd->cy - by1;
            dx = dx > 0 ? dx : 0, dy = dy > 0 ? dy : 0;
            if (nd->w2 < theta2 * (dx * dx + dy * dy)) {
                if (push(s, &len, nd->cx, nd->cy, nd->mass))
                    return -1;
                n = nd->skip;
            } else if (nd->leaf) {
                for (int p = nd->lo; p < nd->lo + nd->count; p++)
                    if (push(s, &len, t->tx[p], t->ty[p], 1.0f))
                        return -1;
                n = nd->skip;
            } else {
                n++;
            }
        }
        for (int p = lo; p < hi; p++) {
            int i = t->ord[p];
            float xi = t->tx[p], yi = t->ty[p], fx, fy, zq;
            sum_list(s->cx, s->cy, s->m, len, xi, yi, &fx, &fy, &zq);
            /* the group's own points, exactly */
            for (int r = lo; r < hi; r++) {
                if (r == p)
                    continue;
                float dx = xi - t->tx[r], dy = yi - t->ty[r], q = 1.0f / (1.0f + dx * dx + dy * dy);
                zq += q;
                fx += q * q * dx, fy += q * q * dy;
            }
            neg[2 * i] = fx, neg[2 * i + 1] = fy;
            z[i] = zq;
        }
    }
    return 0;
}
