/* pool_quant.c: output dtypes for embeddings (float16, int8/uint8, binary/ubinary), bit for bit
 * what numpy / sentence-transformers' quantize_embeddings produce. See pool.h for the rules. */
#include "pool.h"

#include <assert.h>
#include <math.h>
#include <string.h>

static const char *const DTYPE_NAMES[] = {
    [POOL_FLOAT32] = "float32", [POOL_FLOAT16] = "float16", [POOL_INT8] = "int8",
    [POOL_UINT8] = "uint8",     [POOL_BINARY] = "binary",   [POOL_UBINARY] = "ubinary",
};
enum { N_DTYPES = sizeof DTYPE_NAMES / sizeof DTYPE_NAMES[0] };

int pool_dtype_parse(const char *name, pool_dtype *out)
{
    for (int t = 0; t < N_DTYPES; t++) {
        if (name && strcmp(name, DTYPE_NAMES[t]) == 0) {
            *out = (pool_dtype)t;
            return ZB_OK;
        }
    }
    return ZB_EINVAL;
}

const char *pool_dtype_name(pool_dtype t)
{
    assert((int)t >= 0 && (int)t < (int)N_DTYPES);
    return DTYPE_NAMES[t];
}

size_t pool_dtype_row_bytes(pool_dtype t, int dim)
{
    assert(dim >= 0);
    switch (t) {
    case POOL_FLOAT32: return (size_t)dim * 4;
    case POOL_FLOAT16: return (size_t)dim * 2;
    case POOL_INT8:
    case POOL_UINT8:   return (size_t)dim;
    case POOL_BINARY:
    case POOL_UBINARY: return ((size_t)dim + 7) / 8;
    }
    assert(!"unknown pool_dtype");
    return 0;
}

/* Round to nearest, ties to even, on the bits: h is the truncated result, rem the bits dropped and
 * half the weight of the first dropped bit. A carry out of the mantissa correctly bumps the
 * exponent (up to infinity). */
static uint32_t round_even(uint32_t h, uint32_t rem, uint32_t half)
{
    return h + (rem > half || (rem == half && (h & 1u)));
}

uint16_t pool_f32_to_f16(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) {                         /* inf, or NaN kept quiet with its top payload */
        if (a == 0x7f800000u)
            return sign | 0x7c00u;
        return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    }
    if (a >= 0x477ff000u)                           /* >= 65520 rounds to inf */
        return sign | 0x7c00u;
    if (a >= 0x38800000u) {                         /* normal half: rebias exponent 127 -> 15 */
        uint32_t v = a - 0x38000000u;
        return (uint16_t)(sign | round_even(v >> 13, v & 0x1fffu, 0x1000u));
    }
    uint32_t e = a >> 23;                           /* half subnormal: units of 2^-24 */
    if (e < 102)                                    /* below 2^-25: rounds to zero */
        return sign;
    uint32_t m = (a & 0x7fffffu) | 0x800000u, shift = 126 - e;
    return (uint16_t)(sign | round_even(m >> shift, m & ((1u << shift) - 1), 1u << (shift - 1)));
}

float pool_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, u;
    if (e == 0) {                                   /* zero or subnormal: m * 2^-24, exact */
        float f = ldexpf((float)m, -24);
        return sign ? -f : f;
    }
    if (e == 31)
        u = sign | 0x7f800000u | (m << 13);
    else
        u = sign | ((e + 112) << 23) | (m << 13);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

void pool_int8_ranges(const float *vecs, int n, int dim, float *ranges)
{
    assert(n >= 1 && dim >= 1);
    memcpy(ranges, vecs, (size_t)dim * sizeof *ranges);
    memcpy(ranges + dim, vecs, (size_t)dim * sizeof *ranges);
    for (int i = 1; i < n; i++) {
        const float *v = vecs + (size_t)i * dim;
        for (int j = 0; j < dim; j++) {
            if (v[j] < ranges[j])
                ranges[j] = v[j];
            if (v[j] > ranges[dim + j])
                ranges[dim + j] = v[j];
        }
    }
}

/* (x - start) / step in float32, as numpy computes it; a zero step (min == max) sends x <= min to
 * the lowest bucket and anything above to the highest. */
static float bucket(float x, float start, float step)
{
    if (step > 0.0f)
        return (x - start) / step;
    return x > start ? 255.0f : 0.0f;
}

static void quantize_8bit(const float *in, int n, int dim, const float *ranges, int is_signed,
                          unsigned char *out)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < dim; j++) {
            float lo = ranges ? ranges[j] : -1.0f, hi = ranges ? ranges[dim + j] : 1.0f;
            float t = bucket(in[(size_t)i * dim + j], lo, (hi - lo) / 255.0f);
            unsigned char *o = out + (size_t)i * dim + j;
            if (is_signed) {
                float v = t - 128.0f;               /* subtract before truncating, as ST does */
                v = !(v >= -128.0f) ? -128.0f : v > 127.0f ? 127.0f : v;   /* NaN -> lowest */
                *o = (unsigned char)(signed char)v;
            } else {
                t = !(t >= 0.0f) ? 0.0f : t > 255.0f ? 255.0f : t;
                *o = (unsigned char)t;
            }
        }
    }
}

static void pack_bits(const float *in, int n, int dim, int as_signed, unsigned char *out)
{
    size_t row = pool_dtype_row_bytes(POOL_UBINARY, dim);
    for (int i = 0; i < n; i++) {
        const float *v = in + (size_t)i * dim;
        for (size_t k = 0; k < row; k++) {
            unsigned byte = 0;
            for (int b = 0; b < 8; b++) {
                size_t j = k * 8 + (size_t)b;
                if (j < (size_t)dim && v[j] > 0.0f)
                    byte |= 0x80u >> b;             /* first component in the high bit */
            }
            out[(size_t)i * row + k] = (unsigned char)(as_signed ? (signed char)((int)byte - 128)
                                                                 : (signed char)byte);
        }
    }
}

int pool_quantize(pool_dtype t, const float *in, int n, int dim, const float *ranges, void *out,
                  zb_err *err)
{
    assert(n >= 0 && dim >= 1);
    unsigned char *o = out;
    size_t count = (size_t)n * (size_t)dim;
    switch (t) {
    case POOL_FLOAT32:
        for (size_t k = 0; k < count; k++) {
            uint32_t u;
            memcpy(&u, &in[k], sizeof u);
            for (int b = 0; b < 4; b++)
                o[4 * k + b] = (unsigned char)(u >> (8 * b));
        }
        return ZB_OK;
    case POOL_FLOAT16:
        for (size_t k = 0; k < count; k++) {
            uint16_t h = pool_f32_to_f16(in[k]);
            o[2 * k] = (unsigned char)h;
            o[2 * k + 1] = (unsigned char)(h >> 8);
        }
        return ZB_OK;
    case POOL_INT8:
    case POOL_UINT8:
        for (int j = 0; ranges && j < dim; j++) {
            float lo = ranges[j], hi = ranges[dim + j];
            if (!isfinite(lo) || !isfinite(hi) || lo > hi)
                return zb_fail(err, ZB_EINVAL, "ranges for dimension %d: min %g, max %g; both must "
                               "be finite and min <= max", j, (double)lo, (double)hi);
        }
        quantize_8bit(in, n, dim, ranges, t == POOL_INT8, o);
        return ZB_OK;
    case POOL_BINARY:
    case POOL_UBINARY:
        pack_bits(in, n, dim, t == POOL_BINARY, o);
        return ZB_OK;
    }
    return zb_fail(err, ZB_EINVAL, "unknown output dtype %d", (int)t);
}
