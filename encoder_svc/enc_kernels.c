/* enc_kernels: the element-wise hot loops of the forward pass (LayerNorm, activations, biases).
 *
 * Everything here is written so that gcc -O3 -march=native vectorizes it without -ffast-math:
 * no libm calls inside loops (our own exp and erf, ~1e-7 accurate) and reductions split over
 * independent accumulators (enc_math.h).
 */
#include "enc_impl.h"

#include <math.h>
#include <string.h>

/* Without no-trapping-math, gcc keeps every loop that clamps a float (x < lo ? lo : x) scalar:
 * under the default -ftrapping-math a conditional select may not be if-converted. We never read
 * FP exception flags, so nothing observable changes. fp-contract=fast: -std=c11 turns off fusing
 * a*b+c into one FMA, which the polynomials here want (also a little more accurate). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "fp-contract=fast")
#endif

#include "enc_math.h"

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
