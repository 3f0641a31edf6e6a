/* enc_math: vectorizable float helpers shared by the kernels (static inline so they inline into
 * the hot loops). Include after `#pragma GCC optimize("no-trapping-math")`; see enc_kernels.c. */
#ifndef ENC_MATH_H
#define ENC_MATH_H

#include <math.h>
#include <stdint.h>

/* Reductions are split over LANES accumulators: a plain `s += x[i]` loop stays scalar, because
 * float addition is not associative and the compiler must keep the order. */
#define LANES 16

/* exp(x) by Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, and a degree-7 Taylor polynomial
 * for e^r (truncation error < 6e-9 relative); 2^k is built in the exponent bits. Inputs are clamped
 * to [-87, 88] so 2^k stays a normal float: below -87 we return ~1.6e-38 instead of 0, which is
 * invisible after a softmax sum or an erf tail. */
/* The steps as expressions, for exp_approx and for the vector exp of enc_attention.c (GCC vector
 * operands work too: the float constants broadcast). k: x / ln2 rounded to nearest, branch-free;
 * r = x - k ln2, ln2 split into hi + lo; e^r by Horner. */
#define EXP_K(x) (((x) * 1.44269504f + 12582912.0f) - 12582912.0f)
#define EXP_R(x, k) (((x) - (k) * 0.693145752f) - (k) * 1.42860677e-6f)
#define EXP_POLY(r)                                                                                \
    (((((((1.0f / 5040 * (r) + 1.0f / 720) * (r) + 1.0f / 120) * (r) + 1.0f / 24) * (r) + 1.0f / 6) * \
          (r) + 0.5f) * (r) + 1.0f) * (r) + 1.0f)

static inline float exp_approx(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float k = EXP_K(x), r = EXP_R(x, k), p = EXP_POLY(r);
    /* A NaN x gives a NaN k: p is NaN already, but converting NaN to int is undefined behaviour
     * (UBSan stops there), so the exponent gets a defined stand-in; NaN still comes out. */
    int32_t ki = (int32_t)(k > -126.0f ? k : -126.0f);
    union { float f; int32_t i; } s = {.i = (ki + 127) << 23};
    return p * s.f;
}

static inline float row_sum(const float *x, int n)
{
    float acc[LANES] = {0};
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] += x[j + k];
    float s = 0;
    for (; j < n; j++)
        s += x[j];
    for (int k = 0; k < LANES; k++)
        s += acc[k];
    return s;
}

static inline float row_max(const float *x, int n)
{
    float acc[LANES];
    for (int k = 0; k < LANES; k++)
        acc[k] = -INFINITY;
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] = x[j + k] > acc[k] ? x[j + k] : acc[k];
    float m = -INFINITY;
    for (; j < n; j++)
        m = x[j] > m ? x[j] : m;
    for (int k = 0; k < LANES; k++)
        m = acc[k] > m ? acc[k] : m;
    return m;
}

static inline float row_min(const float *x, int n)
{
    float acc[LANES];
    for (int k = 0; k < LANES; k++)
        acc[k] = INFINITY;
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] = x[j + k] < acc[k] ? x[j + k] : acc[k];
    float m = INFINITY;
    for (; j < n; j++)
        m = x[j] < m ? x[j] : m;
    for (int k = 0; k < LANES; k++)
        m = acc[k] < m ? acc[k] : m;
    return m;
}

#endif
