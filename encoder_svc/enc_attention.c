/* enc_attention: softmax(q k^T / sqrt(dh)) v for one sequence, the hot loop of attention.
 *
 * Sequences are short (a sentence is 10-40 tokens, at most a few hundred), so a GEMM call per
 * (sequence, head) would spend more on call overhead and packing than on arithmetic. Instead the
 * two products run as register tiles the compiler keeps in vector registers: QB queries x KB keys
 * of scores, QB queries x DB head dimensions of context. K of the head is transposed once into
 * kt[dh][np] (np = n rounded up to KB, zero-filled) so a tile row is a contiguous load. There is
 * no mask: a padding-free batch holds only real tokens.
 */
#include "enc_impl.h"

#include <math.h>
#include <string.h>

/* see enc_kernels.c: lets gcc if-convert float clamps and fuse a*b+c into FMAs */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "fp-contract=fast")
#endif

#include "enc_math.h"

/* GCC/clang vector extensions: the tiles below are arrays of these, which the compiler keeps in
 * registers (a plain float acc[4][16] ends up on the stack, loaded and stored every step).
 * Without AVX (the sanitizer build) they lower to pairs of SSE operations. */
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));   /* unaligned access */

/* macros, not functions: a v8 argument or return value without AVX changes the ABI (-Wpsabi) */
#define load8(p) (*(const v8u *)(p))
#define store8(p, x) (*(v8u *)(p) = (x))

/* Keeps a loaded tile row in a register: left alone, gcc folds the load into every FMA that uses
 * it (QB loads instead of one), and the loop becomes bound by loads rather than FMAs (~25% slower
 * at 128 tokens). The empty asm says "x is needed in a vector register here". */
#ifdef __AVX__
#define IN_REG(x) __asm__("" : "+x"(x))
#else
#define IN_REG(x) ((void)0)
#endif
#define QB 4    /* queries per tile: 4 x 2 accumulators + 2 loads + 1 broadcast fit 16 registers */
#define KB 16   /* keys per score tile (two v8) */
#define DB 16   /* head dimensions per context tile (two v8) */

static int round_up(int n, int m)
{
    return (n + m - 1) / m * m;
}

size_t enc_attention_scratch(int max_n, int dh)
{
    size_t np = (size_t)round_up(max_n, KB);
    return (size_t)dh * np + QB * np + QB * (size_t)dh;
}

/* Softmax of QB score rows of np entries, in place; entries past n (tile padding) hold -1e30 and
 * come out as ~0, so whole rows vectorize without scalar tails. inv[b] = 1 / row sum, applied to
 * the context at the end (dh multiplies per query instead of n). */
static void softmax_rows(float *s, int np, float *inv)
{
    for (int b = 0; b < QB; b++) {
        float *sb = s + (size_t)b * np;
        float m = row_max(sb, np);
        for (int j = 0; j < np; j++)
            sb[j] = exp_approx(sb[j] - m);
        inv[b] = 1.0f / row_sum(sb, np);
    }
}

/* The tiled path, for dh a multiple of DB (32 in MiniLM, 64 in BERT-base). The projections'
 * biases are added here rather than in a pass of their own over [T,3H]: q's as the scalar is
 * broadcast, k's while transposing, v's once per context row (softmax weights sum to 1, so
 * sum_j p_j (v_j + b) = sum_j p_j v_j + b). */
static void head_tiled(const enc_attn_args *a, int off, float scale, float *kt, float *s, float *qt)
{
    const int n = a->n, dh = a->dh, ld = a->ld, np = round_up(n, KB);
    const float *kb = a->kb + off, *qbias = a->qb + off, *vb = a->vb + off;
    for (int j = 0; j < n; j++) {
        const float *kr = a->k + (size_t)j * ld + off;
        for (int d = 0; d < dh; d++)
            kt[(size_t)d * np + j] = kr[d] + kb[d];
    }
    for (int d = 0; d < dh; d++)
        for (int j = n; j < np; j++)
            kt[(size_t)d * np + j] = 0;

    for (int i0 = 0; i0 < n; i0 += QB) {
        /* Past the end the tile repeats the last query: computed, never stored. */
        const float *qr[QB];
        for (int b = 0; b < QB; b++)
            qr[b] = a->q + (size_t)(i0 + b < n ? i0 + b : n - 1) * ld + off;

        /* q + bias once per tile, interleaved [d][b]: the score loop then broadcasts each from
         * memory instead of loading, adding and broadcasting it per key tile (same sums) */
        for (int d = 0; d < dh; d++)
            for (int b = 0; b < QB; b++)
                qt[d * QB + b] = qr[b][d] + qbias[d];

        for (int j0 = 0; j0 < np; j0 += KB) {
            v8 acc[QB][2] = {{{0}}};
            for (int d = 0; d < dh; d++) {
                v8 k0 = load8(kt + (size_t)d * np + j0), k1 = load8(kt + (size_t)d * np + j0 + 8);
                IN_REG(k0);
                IN_REG(k1);
                for (int b = 0; b < QB; b++) {
                    float qd = qt[d * QB + b];
                    acc[b][0] += qd * k0;
                    acc[b][1] += qd * k1;
                }
            }
            for (int b = 0; b < QB; b++) {
                store8(s + (size_t)b * np + j0, acc[b][0] * scale);
                store8(s + (size_t)b * np + j0 + 8, acc[b][1] * scale);
            }
        }

        for (int b = 0; b < QB; b++)
            for (int j = n; j < np; j++)
                s[(size_t)b * np + j] = -1e30f;
        float inv[QB];
        softmax_rows(s, np, inv);

        for (int d0 = 0; d0 < dh; d0 += DB) {
            v8 acc[QB][2] = {{{0}}};
            for (int j = 0; j < n; j++) {
                const float *vr = a->v + (size_t)j * ld + off + d0;
                v8 v0 = load8(vr), v1 = load8(vr + 8);
                IN_REG(v0);
                IN_REG(v1);
                for (int b = 0; b < QB; b++) {
                    float p = s[(size_t)b * np + j];
                    acc[b][0] += p * v0;
                    acc[b][1] += p * v1;
                }
            }
            v8 b0 = load8(vb + d0), b1 = load8(vb + d0 + 8);
            for (int b = 0; b < QB && i0 + b < n; b++) {
                float *c = a->ctx + (size_t)(i0 + b) * a->ldc + off + d0;
                store8(c, acc[b][0] * inv[b] + b0);
                store8(c + 8, acc[b][1] * inv[b] + b1);
            }
        }
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
        if (a->dh % DB == 0)
            head_tiled(a, h * a->dh, scale, scratch, scratch + (size_t)a->dh * np,
                       scratch + (size_t)a->dh * np + QB * (size_t)np);
        else
            head_plain(a, h * a->dh, scale, scratch);
    }
}
