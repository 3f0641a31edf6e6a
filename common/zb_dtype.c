/* zb_dtype.c: see zb_dtype.h. */
#include "zb_dtype.h"

#include <assert.h>
#include <math.h>
#include <string.h>

const zb_dtype_info zb_dtypes[ZB_DT_COUNT] = {
    [ZB_DT_FLOAT32] = {"float32", "float32", 32}, [ZB_DT_FLOAT16] = {"float16", "float16", 16},
    [ZB_DT_INT8] = {"int8", "int8", 8},           [ZB_DT_UINT8] = {"uint8", "uint8", 8},
    [ZB_DT_BINARY] = {"binary", "int8", 1},       [ZB_DT_UBINARY] = {"ubinary", "uint8", 1},
};

const char *const zb_dtype_names[ZB_DT_COUNT + 1] = {
    "float32", "float16", "int8", "uint8", "binary", "ubinary", NULL,
};

int zb_dtype_parse(const char *name, zb_dtype *out)
{
    for (int d = 0; d < ZB_DT_COUNT; d++) {
        assert(!strcmp(zb_dtypes[d].name, zb_dtype_names[d]));   /* the two lists agree */
        if (name && !strcmp(name, zb_dtypes[d].name)) {
            *out = (zb_dtype)d;
            return ZB_OK;
        }
    }
    return ZB_EINVAL;
}

const char *zb_dtype_name(zb_dtype d)
{
    return (unsigned)d < ZB_DT_COUNT ? zb_dtypes[d].name : "unknown";
}

size_t zb_dtype_row_bytes(zb_dtype d, int dim)
{
    assert((unsigned)d < ZB_DT_COUNT && dim >= 0);
    return ((size_t)dim * (size_t)zb_dtypes[d].bits + 7) / 8;
}

size_t zb_tensor_elem_bytes(const char *tensor)
{
    for (int d = 0; d < ZB_DT_COUNT; d++)
        if (tensor && zb_dtypes[d].bits >= 8 && !strcmp(tensor, zb_dtypes[d].name))
            return (size_t)zb_dtypes[d].bits / 8;
    return 0;
}

/* Round to nearest, ties to even, on the bits: h is the truncated result, rem the bits dropped and
 * half the weight of the first dropped bit. A carry out of the mantissa correctly bumps the
 * exponent (up to infinity). */
static uint32_t round_even(uint32_t h, uint32_t rem, uint32_t half)
{
    return h + (rem > half || (rem == half && (h & 1u)));
}

uint16_t zb_f32_to_f16(float x)
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

float zb_f16_to_f32(uint16_t h)
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

uint16_t zb_f32_to_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);        /* NaN stays NaN (quiet) */
    return (uint16_t)(round_even(u >> 16, u & 0xffffu, 0x8000u));
}

float zb_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;                 /* bf16 is the top half of an f32 */
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
