/* enc_kernels: the element-wise and attention hot loops of the forward pass.
 *
 * Everything here is written so that gcc -O3 -march=native vectorizes it without -ffast-math:
 * no libm calls inside loops (our own exp and erf below, ~1e-7 accurate), and reductions split
 * over LANES independent accumulators (a plain `s += x[i]` loop stays scalar, because float
 * addition is not associative and the compiler must keep the order).
 */
#include "enc_impl.h"

#include <math.h>
#include <string.h>

#define LANES 16

/* exp(x) by Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, and a degree-7 Taylor polynomial
 * for e^r (truncation error < 6e-9 relative); 2^k is built in the exponent bits. Inputs are clamped
 * to [-87, 88] so 2^k stays a normal float: below -87 we return ~1.6e-38 instead of 0, which is
 * invisible after a softmax sum or an erf tail. */
static inline float exp_approx(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float k = (x * 1.44269504f + 12582912.0f) - 12582912.0f;   /* round to nearest, branch-free */
    float r = x - k * 0.693145752f;                           /* ln2 split into hi + lo */
    r = r - k * 1.42860677e-6f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { float f; int32_t i; } s = {.i = ((int32_t)k + 127) << 23};
    return p * s.f;
}

/* erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7): 1 - poly(t) e^{-x^2}, t = 1/(1 + p|x|). */
static inline float erf_approx(float x)
{
    float a = fabsf(x);
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float y = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
    float e = 1.0f - y * exp_approx(-a * a);
    return copysignf(e, x);
}

/* HF "gelu": x/2 (1 + erf(x/sqrt 2)), the exact form torch.nn.functional.gelu computes. */
static inline float gelu_erf(float x)
{
    return 0.5f * x * (1.0f + erf_approx(x * 0.70710678f));
}

/* HF "gelu_new": x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), tanh u = 1 - 2 / (e^{2u} + 1). */
static inline float gelu_tanh(float x)
{
    float u = 0.79788456f * (x + 0.044715f * x * x * x);
    float th = 1.0f - 2.0f / (exp_approx(2.0f * u) + 1.0f);
    return 0.5f * x * (1.0f + th);
}

float enc_expf(float x) { return exp_approx(x); }
float enc_gelu_erf(float x) { return gelu_erf(x); }
float enc_gelu_tanh(float x) { return gelu_tanh(x); }

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

static inline float row_sq_dev(const float *x, int n, float mean)
{
    float acc[LANES] = {0};
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) {
            float d = x[j + k] - mean;
            acc[k] += d * d;
        }
    float s = 0;
    for (; j < n; j++)
        s += (x[j] - mean) * (x[j] - mean);
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

/* Hot loop: residual add + LayerNorm, once per row per sub-layer. Two-pass mean/variance in float
 * (biased variance, as torch's layer_norm). */
void enc_add_layernorm(float *restrict x, const float *restrict add, const float *restrict bias,
                       const float *restrict g, const float *restrict b, int rows, int h, float eps)
{
    for (int r = 0; r < rows; r++) {
        float *xr = x + (size_t)r * h;
        if (add) {
            const float *ar = add + (size_t)r * h;
            for (int j = 0; j < h; j++)
                xr[j] += ar[j];
        }
        if (bias)
            for (int j = 0; j < h; j++)
                xr[j] += bias[j];
        float mean = row_sum(xr, h) / h;
        float inv = 1.0f / sqrtf(row_sq_dev(xr, h, mean) / h + eps);
        for (int j = 0; j < h; j++)
            xr[j] = (xr[j] - mean) * inv * g[j] + b[j];
    }
}

/* Hot loop: bias + activation over the FFN's intermediate (rows x I). */
void enc_bias_act(float *restrict x, const float *restrict bias, int rows, int n, enc_act act)
{
    for (int r = 0; r < rows; r++) {
        float *xr = x + (size_t)r * n;
        switch (act) {
        case ENC_ACT_GELU:
            for (int j = 0; j < n; j++)
                xr[j] = gelu_erf(xr[j] + bias[j]);
            break;
        case ENC_ACT_GELU_NEW:
            for (int j = 0; j < n; j++)
                xr[j] = gelu_tanh(xr[j] + bias[j]);
            break;
        case ENC_ACT_RELU:
            for (int j = 0; j < n; j++) {
                float v = xr[j] + bias[j];
                xr[j] = v > 0 ? v : 0;
            }
            break;
        }
    }
}

void enc_bias_add(float *restrict x, const float *restrict bias, int rows, int n, int ld)
{
    for (int r = 0; r < rows; r++) {
        float *xr = x + (size_t)r * ld;
        for (int j = 0; j < n; j++)
            xr[j] += bias[j];
    }
}

/* Queries handled together: each K^T row loaded once serves QB score rows, and each V row QB
 * context rows. */
#define QB 4

size_t enc_attention_scratch(int max_n, int dh)
{
    return (size_t)dh * max_n + (size_t)QB * max_n;
}

/* Hot loop: softmax(q k^T / sqrt(dh)) v for one sequence of n tokens, heads [h0, h1).
 * K of the head is first transposed into kt[dh][n], so both products run along contiguous rows
 * (over keys for the scores, over the head dimension for the context) and vectorize; there is no
 * mask because the sequence holds only real tokens. */
void enc_attention(const float *q, const float *k, const float *v, int ld, float *ctx, int ldc, int n,
                   int h0, int h1, int dh, float *scratch)
{
    float *kt = scratch, *s = scratch + (size_t)dh * n;
    float scale = 1.0f / sqrtf((float)dh);
    for (int h = h0; h < h1; h++) {
        int off = h * dh;
        for (int j = 0; j < n; j++)
            for (int d = 0; d < dh; d++)
                kt[(size_t)d * n + j] = k[(size_t)j * ld + off + d];
        for (int i0 = 0; i0 < n; i0 += QB) {
            int nb = n - i0 < QB ? n - i0 : QB;
            /* scores s[b][j] = q_{i0+b} . k_j * scale */
            memset(s, 0, sizeof *s * (size_t)QB * n);
            for (int d = 0; d < dh; d++) {
                const float *kr = kt + (size_t)d * n;
                for (int b = 0; b < nb; b++) {
                    float qd = q[(size_t)(i0 + b) * ld + off + d] * scale;
                    float *sb = s + (size_t)b * n;
                    for (int j = 0; j < n; j++)
                        sb[j] += qd * kr[j];
                }
            }
            for (int b = 0; b < nb; b++) {
                float *sb = s + (size_t)b * n;
                float m = row_max(sb, n);
                for (int j = 0; j < n; j++)
                    sb[j] = exp_approx(sb[j] - m);
                float inv = 1.0f / row_sum(sb, n);
                float *c = ctx + (size_t)(i0 + b) * ldc + off;
                for (int d = 0; d < dh; d++)
                    c[d] = 0;
                for (int j = 0; j < n; j++) {
                    float p = sb[j] * inv;
                    const float *vr = v + (size_t)j * ld + off;
                    for (int d = 0; d < dh; d++)
                        c[d] += p * vr[d];
                }
            }
        }
    }
}
