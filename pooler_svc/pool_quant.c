/* pool_quant.c: output dtypes for embeddings (float16, int8/uint8, binary/ubinary), bit for bit
 * what numpy / sentence-transformers' quantize_embeddings produce. See pool.h for the rules. */
#include "pool.h"

#include <assert.h>
#include <math.h>
#include <string.h>

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
    size_t row = zb_dtype_row_bytes(ZB_DT_UBINARY, dim);
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

int pool_quantize(zb_dtype t, const float *in, int n, int dim, const float *ranges, void *out,
                  zb_err *err)
{
    assert(n >= 0 && dim >= 1);
    unsigned char *o = out;
    size_t count = (size_t)n * (size_t)dim;
    switch (t) {
    case ZB_DT_FLOAT32:
        for (size_t k = 0; k < count; k++) {
            uint32_t u;
            memcpy(&u, &in[k], sizeof u);
            for (int b = 0; b < 4; b++)
                o[4 * k + b] = (unsigned char)(u >> (8 * b));
        }
        return ZB_OK;
    case ZB_DT_FLOAT16:
        for (size_t k = 0; k < count; k++) {
            uint16_t h = zb_f32_to_f16(in[k]);
            o[2 * k] = (unsigned char)h;
            o[2 * k + 1] = (unsigned char)(h >> 8);
        }
        return ZB_OK;
    case ZB_DT_INT8:
    case ZB_DT_UINT8:
        for (int j = 0; ranges && j < dim; j++) {
            float lo = ranges[j], hi = ranges[dim + j];
            if (!isfinite(lo) || !isfinite(hi) || lo > hi)
                return zb_fail(err, ZB_EINVAL, "ranges for dimension %d: min %g, max %g; both must "
                               "be finite and min <= max", j, (double)lo, (double)hi);
        }
        quantize_8bit(in, n, dim, ranges, t == ZB_DT_INT8, o);
        return ZB_OK;
    case ZB_DT_BINARY:
    case ZB_DT_UBINARY:
        pack_bits(in, n, dim, t == ZB_DT_BINARY, o);
        return ZB_OK;
    case ZB_DT_COUNT:
        break;
    }
    return zb_fail(err, ZB_EINVAL, "unknown output dtype %d", (int)t);
}
