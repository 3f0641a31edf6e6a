/* enc_attention: softmax(q k^T / sqrt(dh)) v for one sequence, the hot loop of attention.
 *
 * Sequences are short (a sentence is 10-40 tokens, at most a few hundred), so a GEMM call per
 * (sequence, head) would spend more on call overhead and packing than on arithmetic. Instead the
 * two products run as register tiles the compiler keeps in vector registers: QB queries x KB keys
 * of scores, QB queries x DB head dimensions of context. K of the head is transposed once into
 * kt[dh][np] (np = n rounded up to KB) so a tile row is a contiguous load. There is no attention
 * mask: a padding-free batch holds only real tokens.
 *
 * At a dozen tokens the arithmetic is the small part; what the code below avoids is what cost
 * most there (measured at int8, where attention was ~12% of a forward pass): a transpose by
 * scalar stores, horizontal sums as 16-long serial chains, shuffle masks rebuilt at every use,
 * and a vector load of a score row that scalar stores had just overwritten in part.
 */
#include "enc_impl.h"

#include <math.h>

/* see enc_kernels.c: lets gcc if-convert float clamps and fuse a*b+c into FMAs */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "fp-contract=fast")
#endif

#include "enc_math.h"

/* GCC/clang vector extensions: the tiles below are arrays of these, which the compiler keeps in
 * registers (a plain float acc[4][16] ends up on the stack, loaded and stored every step). One
 * vector is a zmm register where the build has AVX-512 (32 of them: tiles of 8 queries), else a
 * ymm (16 registers: tiles of 4 queries), or an SSE register without AVX (the sanitizer build;
 * a wider vector there would be passed to the helpers below in a different ABI, and gcc warns:
 * -Wpsabi). */
#ifdef __AVX512F__
#define VL 16   /* floats per vector */
#define QB 8    /* queries per tile: 8 x 2 context accumulators + 2 loads fit 32 registers */
#elif defined(__AVX__)
#define VL 8
#define QB 4    /* 4 x 2 accumulators + 2 loads + 1 broadcast fit 16 registers */
#else
#define VL 4
#define QB 4
#endif
#define KB 16           /* keys per score tile: np, the padded key count, is a multiple of it */
#define KV (KB / VL)    /* vectors per score-tile row */
#define DB (2 * VL)     /* head dimensions per context tile (two vectors; one for the last VL) */

typedef float vf __attribute__((vector_size(VL * 4)));
typedef float vfu __attribute__((vector_size(VL * 4), aligned(4), may_alias));   /* unaligned */
typedef int32_t vi __attribute__((vector_size(VL * 4)));

/* IDX(f, w): f(w, 0), f(w, 1), ... f(w, VL-1), constant lane indices for the shuffles below,
 * spelled out: a mask built in a loop is not folded by gcc 12, which then assembles it lane by
 * lane at every use. SHUFFLE1/2 pick lanes of one vector / of two (indices VL.. name the second),
 * in gcc's or clang's builtin (the fuzz build is clang's). */
#define IDX4(f, w) f(w, 0), f(w, 1), f(w, 2), f(w, 3)
#define IDX8(f, w) IDX4(f, w), f(w, 4), f(w, 5), f(w, 6), f(w, 7)
#define IDX16(f, w)                                                                                \
    IDX8(f, w), f(w, 8), f(w, 9), f(w, 10), f(w, 11), f(w, 12), f(w, 13), f(w, 14), f(w, 15)
#if VL == 16
#define IDX IDX16
#elif VL == 8
#define IDX IDX8
#else
#define IDX IDX4
#endif
#define LANE_(w, k) (k)
#ifdef __clang__
#define SHUFFLE1(v, f, w) __builtin_shufflevector(v, v, IDX(f, w))
#define SHUFFLE2(a, b, f, w) __builtin_shufflevector(a, b, IDX(f, w))
#else
#define SHUFFLE1(v, f, w) __builtin_shuffle(v, (vi){IDX(f, w)})
#define SHUFFLE2(a, b, f, w) __builtin_shuffle(a, b, (vi){IDX(f, w)})
#endif

#define LANE ((vi){IDX(LANE_, 0)})   /* 0, 1, ... VL-1 */
/* unaligned vector load and store */
#define loadv(p) (*(const vfu *)(p))
#define storev(p, x) (*(vfu *)(p) = (x))

/* Keeps a loaded tile row in a register: left alone, gcc folds the load into every FMA that uses
 * it (QB loads instead of one), and the loop becomes bound by loads rather than FMAs (~25% slower
 * at 128 tokens). The empty asm says "x is needed in a vector register here". */
#ifdef __AVX512F__
#define IN_REG(x) __asm__("" : "+v"(x))
#elif defined(__AVX__)
#define IN_REG(x) __asm__("" : "+x"(x))
#else
#define IN_REG(x) ((void)0)
#endif

static int round_up(int n, int m)
{
    return (n + m - 1) / m * m;
}

size_t enc_attention_scratch(int max_n, int dh)
{
    size_t np = (size_t)round_up(max_n, KB);
    return (size_t)dh * np + QB * np + QB * (size_t)dh;
}

static inline vf vmax(vf a, vf b)
{
    vi gt = a > b;
    return (vf)(((vi)a & gt) | ((vi)b & ~gt));
}

/* Lane k of ROT(v, w) is lane (k + w) mod VL of v. */
#define R_(w, k) (((k) + (w)) % VL)
#define ROT(v, w) SHUFFLE1(v, R_, w)

/* Horizontal sum and max by halving (log2 VL shuffles, not a VL-long serial chain: on a softmax
 * over a dozen keys that chain was most of the row's cost). */
static inline float hsum(vf v)
{
#if VL == 16
    v += ROT(v, 8);
#endif
#if VL >= 8
    v += ROT(v, 4);
#endif
    v += ROT(v, 2);
    v += ROT(v, 1);
    return v[0];
}

static inline float hmax(vf v)
{
#if VL == 16
    v = vmax(v, ROT(v, 8));
#endif
#if VL >= 8
    v = vmax(v, ROT(v, 4));
#endif
    v = vmax(v, ROT(v, 2));
    v = vmax(v, ROT(v, 1));
    return v[0];
}

static inline vf vmin(vf a, vf b)
{
    vi lt = a < b;
    return (vf)(((vi)a & lt) | ((vi)b & ~lt));
}

/* exp_approx (enc_math.h) on a whole vector, the same steps lane by lane: gcc did not vectorize
 * the scalar loop over a softmax row well (~7 cycles an element). */
static inline vf vexp(vf x)
{
    x = vmax(vmin(x, (vf){0} + 88.0f), (vf){0} - 87.0f);
    vf k = EXP_K(x), r = EXP_R(x, k), p = EXP_POLY(r);
    vi ki = __builtin_convertvector(vmax(k, (vf){0} - 126.0f), vi);
    return p * (vf)((ki + 127) << 23);
}

/* Softmax of QB score rows of np entries, in place; entries past n (tile padding) hold -1e30 and
 * come out as ~0, so whole rows vectorize without scalar tails. inv[b] = 1 / row sum, applied to
 * the context at the end (dh multiplies per query instead of n). */
static inline void softmax_rows(float *s, int np, int rows, float *inv)
{
    for (int b = 0; b < rows; b++) {
        float *sb = s + (size_t)b * np;
        vf mv = loadv(sb);
        for (int j = VL; j < np; j += VL)
            mv = vmax(mv, loadv(sb + j));
        float m = hmax(mv);
        vf sv = {0};
        for (int j = 0; j < np; j += VL) {
            vf e = vexp(loadv(sb + j) - m);
            storev(sb + j, e);
            sv += e;
        }
        inv[b] = 1.0f / hsum(sv);
    }
}

/* Transpose stage w of a VL x VL block held in VL vectors: rows i and i + w (i & w == 0) swap
 * their off-diagonal w-wide blocks, [[A B] [C D]] -> [[A C] [B D]]; stages w = VL/2 .. 1 make the
 * whole transpose (VL log2 VL two-source shuffles instead of VL^2 scalar stores). */
#define LO_(w, k) (((k) & (w)) ? (k) - (w) + VL : (k))
#define HI_(w, k) (((k) & (w)) ? (k) + VL : (k) + (w))
#define TRANSPOSE_STAGE(r, w)                                                                      \
    for (int i = 0; i < VL; i++)                                                                   \
        if (!(i & (w))) {                                                                          \
            vf a_ = r[i], b_ = r[i + (w)];                                                         \
            r[i] = SHUFFLE2(a_, b_, LO_, w);                                                       \
            r[i + (w)] = SHUFFLE2(a_, b_, HI_, w);                                                 \
        }

/* K of one head, plus its bias, transposed into kt[dh][np] so that a score tile row is one
 * contiguous load, a VL x VL block at a time. Keys n..np-1 (the tile padding) repeat key n-1:
 * their scores are replaced by -1e30 before the softmax anyway. Needs dh % VL == 0. */
static void transpose_k(const enc_attn_args *a, int off, int np, float *kt)
{
    for (int j0 = 0; j0 < np; j0 += VL)
        for (int d0 = 0; d0 < a->dh; d0 += VL) {
            vf r[VL], kb = loadv(a->kb + off + d0);
            for (int i = 0; i < VL; i++) {
                int j = j0 + i < a->n ? j0 + i : a->n - 1;
                r[i] = loadv(a->k + (size_t)j * a->ld + off + d0) + kb;
            }
#if VL == 16
            TRANSPOSE_STAGE(r, 8)
#endif
#if VL >= 8
            TRANSPOSE_STAGE(r, 4)
#endif
            TRANSPOSE_STAGE(r, 2)
            TRANSPOSE_STAGE(r, 1)
            for (int i = 0; i < VL; i++)
                storev(kt + (size_t)(d0 + i) * np + j0, r[i]);
        }
}

typedef struct {
    const enc_attn_args *a;
    int off, np;
    float scale;
    const float *kt;
    float *s, *qp;   /* [QB][np] scores, [QB][dh] q + bias */
} head_ctx;

#define INLINE static inline __attribute__((always_inline))

/* Context of queries i0 .. i0+qb-1 for head dimensions d0 .. d0 + nv*VL - 1 (nv = 1 or 2, a
 * constant once inlined): sum_j p_j v_j over the softmax weights in h->s, then / row sum + v's
 * bias. */
INLINE void context_tile(const head_ctx *h, int i0, const int qb, int d0, const float *inv,
                         const int nv)
{
    const enc_attn_args *a = h->a;
    const int n = a->n, np = h->np;
    const float *s = h->s, *vrows = a->v + h->off + d0, *vb = a->vb + h->off + d0;
    vf acc[QB][2] = {{{0}}};
    for (int j = 0; j < n; j++) {
        const float *vr = vrows + (size_t)j * a->ld;
        vf v[2];
        for (int u = 0; u < nv; u++) {
            v[u] = loadv(vr + u * VL);
            IN_REG(v[u]);
        }
        for (int b = 0; b < qb; b++) {
            float p = s[(size_t)b * np + j];
            for (int u = 0; u < nv; u++)
                acc[b][u] += p * v[u];
        }
    }
    for (int b = 0; b < qb && i0 + b < n; b++) {
        float *c = a->ctx + (size_t)(i0 + b) * a->ldc + h->off + d0;
        for (int u = 0; u < nv; u++)
            storev(c + u * VL, acc[b][u] * inv[b] + loadv(vb + u * VL));
    }
}

/* Queries i0 .. i0+qb-1 (qb a constant where this is inlined, so the loops over b unroll): their
 * scores against every key, softmax, and context. Past n the tile repeats the last query:
 * computed, never stored. always_inline: left to itself gcc made out-of-line clones that ran 128
 * tokens ~30% slower than the same loops inlined. */
INLINE void query_tile(const head_ctx *h, int i0, const int qb)
{
    const enc_attn_args *a = h->a;
    const int n = a->n, dh = a->dh, ld = a->ld, np = h->np, off = h->off;
    const float scale = h->scale, *kt = h->kt, *qrows = a->q, *qbias = a->qb + off;
    float *s = h->s, *qp = h->qp;
    for (int b = 0; b < qb; b++) {
        const float *qr = qrows + (size_t)(i0 + b < n ? i0 + b : n - 1) * ld + off;
        for (int d = 0; d < dh; d += VL)
            storev(qp + b * dh + d, loadv(qr + d) + loadv(qbias + d));
    }

    for (int j0 = 0; j0 < np; j0 += KB) {
        vf acc[QB][KV] = {{{0}}};
        for (int d = 0; d < dh; d++) {
            vf k[KV];
            for (int v = 0; v < KV; v++) {
                k[v] = loadv(kt + (size_t)d * np + j0 + v * VL);
                IN_REG(k[v]);
            }
            for (int b = 0; b < qb; b++) {
                float qd = qp[b * dh + d];
                for (int v = 0; v < KV; v++)
                    acc[b][v] += qd * k[v];
            }
        }
        /* keys past n (the tile padding) score -1e30, set here in the register: scalar stores
         * over the stored vector made the softmax's load of the row wait (a failed
         * store-to-load forward, ~8% of a forward pass at int8) */
        for (int v = 0; v < KV; v++) {
            vi past = LANE + (j0 + v * VL) >= n;
            for (int b = 0; b < qb; b++) {
                vf x = acc[b][v] * scale;
                x = (vf)(((vi)x & ~past) | ((vi)((vf){0} - 1e30f) & past));
                storev(s + (size_t)b * np + j0 + v * VL, x);
            }
        }
    }
    float inv[QB];
    softmax_rows(s, np, qb, inv);

    for (int d0 = 0; d0 < dh; d0 += DB) {
        if (dh - d0 >= DB)
            context_tile(h, i0, qb, d0, inv, 2);
        else
            context_tile(h, i0, qb, d0, inv, 1);
    }
}

/* The tiled path, for dh a multiple of VL (32 in MiniLM, 64 in BERT-base, 16 in the tests). The
 * projections' biases are added here rather than in a pass of their own over [T,3H]: q's once per
 * query tile, k's while transposing, v's once per context row (softmax weights sum to 1, so
 * sum_j p_j (v_j + b) = sum_j p_j v_j + b). Full tiles of QB queries; a last one of QB/2 or
 * fewer queries runs as a half tile (a sentence of 11 tokens: 8 + 4 rows, not 8 + 8). */
static void head_tiled(const enc_attn_args *a, int off, float scale, float *kt, float *s, float *qp)
{
    head_ctx h = {.a = a, .off = off, .np = round_up(a->n, KB), .scale = scale, .kt = kt,
                  .s = s, .qp = qp};
    transpose_k(a, off, h.np, kt);
    for (int i0 = 0; i0 < a->n; i0 += QB) {
        if (a->n - i0 <= QB / 2)
            query_tile(&h, i0, QB / 2);
        else
            query_tile(&h, i0, QB);
    }
}

/* Any other head size: the same computation one query at a time. */
static void head_plain(const enc_attn_args *a, int off, float scale, float *s)
{
    const int n = a->n, dh = a->dh, ld = a->ld;
    for (int i = 0; i < n; i++) {
        const float *qi = a->q + (size_t)i * ld + off;
        for (int j = 0; j < n; j++) {
            const float *kj = a->k + (size_t)j * ld + off;
            float dot = 0;
            for (int d = 0; d < dh; d++)
                dot += (qi[d] + a->qb[off + d]) * (kj[d] + a->kb[off + d]);
            s[j] = dot * scale;
        }
        float m = row_max(s, n);
        for (int j = 0; j < n; j++)
            s[j] = exp_approx(s[j] - m);
        float inv = 1.0f / row_sum(s, n);
        float *c = a->ctx + (size_t)i * a->ldc + off;
        for (int d = 0; d < dh; d++)
            c[d] = 0;
        for (int j = 0; j < n; j++) {
            const float *vj = a->v + (size_t)j * ld + off;
            for (int d = 0; d < dh; d++)
                c[d] += s[j] * vj[d];
        }
        for (int d = 0; d < dh; d++)
            c[d] = c[d] * inv + a->vb[off + d];
    }
}

void enc_attention(const enc_attn_args *a, int h0, int h1, float *scratch)
{
    if (a->n <= 0)
        return;
    float scale = 1.0f / sqrtf((float)a->dh);
    int np = round_up(a->n, KB);
    for (int h = h0; h < h1; h++) {
        if (a->dh % VL == 0)
            head_tiled(a, h * a->dh, scale, scratch, scratch + (size_t)a->dh * np,
                       scratch + (size_t)a->dh * np + QB * (size_t)np);
        else
            head_plain(a, h * a->dh, scale, scratch);
    }
}
