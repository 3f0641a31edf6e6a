/* zb_dtype: the output dtype table, and the 16-bit floats exhaustively (every half both ways),
 * against the compiler's own _Float16 on random floats, and on the boundary cases spelled out. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "zb_dtype.h"
#include "zb_test.h"

static void test_dtype_table(void)
{
    for (int d = 0; d < ZB_DT_COUNT; d++) {
        zb_dtype back;
        ZT_CHECK_EQ_INT(zb_dtype_parse(zb_dtype_name((zb_dtype)d), &back), ZB_OK);
        ZT_CHECK_EQ_INT(back, d);
        ZT_CHECK(!strcmp(zb_dtype_names[d], zb_dtypes[d].name));
        /* a reply tensor's elements hold whole components, or 8 packed bits */
        size_t eb = zb_tensor_elem_bytes(zb_dtypes[d].tensor);
        ZT_CHECK(eb == (size_t)(zb_dtypes[d].bits >= 8 ? zb_dtypes[d].bits / 8 : 1));
    }
    ZT_CHECK(zb_dtype_names[ZB_DT_COUNT] == NULL);
    zb_dtype t;
    ZT_CHECK_EQ_INT(zb_dtype_parse("ubinary", &t), ZB_OK);
    ZT_CHECK_EQ_INT(t, ZB_DT_UBINARY);
    ZT_CHECK_EQ_INT(zb_dtype_parse("float64", &t), ZB_EINVAL);
    ZT_CHECK_EQ_INT(zb_dtype_parse(NULL, &t), ZB_EINVAL);
    ZT_CHECK(!strcmp(zb_dtype_name(ZB_DT_COUNT), "unknown"));
    ZT_CHECK(!strcmp(zb_dtypes[ZB_DT_BINARY].tensor, "int8"));
    ZT_CHECK(!strcmp(zb_dtypes[ZB_DT_UBINARY].tensor, "uint8"));
    ZT_CHECK_EQ_INT(zb_tensor_elem_bytes("int32"), 0);
    ZT_CHECK_EQ_INT(zb_dtype_row_bytes(ZB_DT_FLOAT32, 384), 1536);
    ZT_CHECK_EQ_INT(zb_dtype_row_bytes(ZB_DT_FLOAT16, 384), 768);
    ZT_CHECK_EQ_INT(zb_dtype_row_bytes(ZB_DT_INT8, 384), 384);
    ZT_CHECK_EQ_INT(zb_dtype_row_bytes(ZB_DT_BINARY, 384), 48);
    ZT_CHECK_EQ_INT(zb_dtype_row_bytes(ZB_DT_UBINARY, 10), 2);
    ZT_CHECK_EQ_INT(zb_dtype_row_bytes(ZB_DT_UINT8, 0), 0);
}

/* Every half decodes to the value its fields define, and encodes back to itself. */
static void test_f16_all_halves(void)
{
    for (uint32_t h = 0; h < 0x10000; h++) {
        unsigned e = (h >> 10) & 31, m = h & 1023;
        float f = zb_f16_to_f32((uint16_t)h);
        if (e == 31 && m) {
            ZT_CHECK(isnan(f));
            ZT_CHECK(zb_f32_to_f16(f) >> 10 == (h >> 10));   /* NaN, same sign */
            continue;
        }
        double want = e == 31 ? INFINITY : e == 0 ? ldexp(m, -24) : ldexp(1024 + m, (int)e - 25);
        if (h & 0x8000)
            want = -want;
        if (f != want || zb_f32_to_f16(f) != h) {
            ZT_CHECK_EQ_INT(zb_f32_to_f16(f), h);
            ZT_CHECK_NEAR(f, want, 0);
            break;
        }
    }
}

/* Random float bit patterns against the compiler's own float -> _Float16 conversion (IEEE
 * round to nearest even), plus the boundary cases spelled out. */
static void test_f32_to_f16_rounding(void)
{
    ZT_CHECK_EQ_INT(zb_f32_to_f16(1.0f), 0x3c00);
    ZT_CHECK_EQ_INT(zb_f32_to_f16(65504.0f), 0x7bff);
    ZT_CHECK_EQ_INT(zb_f32_to_f16(65520.0f), 0x7c00);          /* tie: rounds to even = inf */
    ZT_CHECK_EQ_INT(zb_f32_to_f16(-1e9f), 0xfc00);
    ZT_CHECK_EQ_INT(zb_f32_to_f16(ldexpf(1, -24)), 0x0001);    /* smallest subnormal */
    ZT_CHECK_EQ_INT(zb_f32_to_f16(ldexpf(1, -25)), 0x0000);    /* tie to even: zero */
    ZT_CHECK_EQ_INT(zb_f32_to_f16(ldexpf(3, -26)), 0x0001);
    ZT_CHECK_EQ_INT(zb_f32_to_f16(ldexpf(1023, -24)), 0x03ff); /* largest subnormal */
    ZT_CHECK_EQ_INT(zb_f32_to_f16(-0.0f), 0x8000);
    ZT_CHECK_EQ_INT(zb_f32_to_f16(NAN) & 0x7e00, 0x7e00);
#ifdef __FLT16_MAX__
    int n = zt_under_valgrind() ? 1 << 12 : 1 << 20, bad = 0;
    for (int i = 0; i < n && bad < 5; i++) {
        uint32_t u = zt_rand_u32();
        if (i & 1)   /* half the samples in the range where halves are finite */
            u = (u & 0x80ffffffu) | ((0x60u + (u >> 24) % 0x20u) << 24 >> 1);
        float f;
        memcpy(&f, &u, sizeof f);
        if (isnan(f))
            continue;
        volatile _Float16 ref = (_Float16)f;
        uint16_t want;
        memcpy(&want, (const void *)&ref, sizeof want);
        if (zb_f32_to_f16(f) != want) {
            bad++;
            fprintf(stderr, "    %a (0x%08x): got 0x%04x want 0x%04x\n", (double)f, u,
                    zb_f32_to_f16(f), want);
        }
    }
    ZT_CHECK_EQ_INT(bad, 0);
#endif
}

static void test_half_conversions(void)
{
    ZT_CHECK(zb_f16_to_f32(0x3c00) == 1.0f);
    ZT_CHECK(zb_f16_to_f32(0xc000) == -2.0f);
    ZT_CHECK(zb_f16_to_f32(0x7bff) == 65504.0f);
    ZT_CHECK(zb_f16_to_f32(0x0400) == ldexpf(1, -14));        /* smallest normal */
    ZT_CHECK(zb_f16_to_f32(0x0001) == ldexpf(1, -24));        /* smallest subnormal */
    ZT_CHECK(zb_f16_to_f32(0x03ff) == ldexpf(1023, -24));     /* largest subnormal */
    ZT_CHECK(zb_f16_to_f32(0x8000) == 0 && signbit(zb_f16_to_f32(0x8000)));
    ZT_CHECK(isinf(zb_f16_to_f32(0x7c00)) && zb_f16_to_f32(0xfc00) < 0);
    ZT_CHECK(isnan(zb_f16_to_f32(0x7e00)));
    ZT_CHECK(zb_f16_to_f32(0x3555) == 0x155 / 1024.0f * 0.25f + 0.25f);   /* ~1/3 */
    ZT_CHECK(zb_bf16_to_f32(0x3f80) == 1.0f);
    ZT_CHECK(zb_bf16_to_f32(0xc049) == -3.140625f);
    ZT_CHECK(isinf(zb_bf16_to_f32(0x7f80)));
}

/* bfloat16: the top half of a float32, rounded to nearest even. */
static void test_bf16_rounding(void)
{
    ZT_CHECK_EQ_INT(zb_f32_to_bf16(1.0f), 0x3f80);
    ZT_CHECK_EQ_INT(zb_f32_to_bf16(-3.140625f), 0xc049);
    ZT_CHECK_EQ_INT(zb_f32_to_bf16(1.0f + ldexpf(1, -8)), 0x3f80);          /* tie: to even */
    ZT_CHECK_EQ_INT(zb_f32_to_bf16(1.0f + ldexpf(3, -8)), 0x3f82);          /* tie: to even, up */
    ZT_CHECK_EQ_INT(zb_f32_to_bf16(1.0f + ldexpf(1, -8) + ldexpf(1, -20)), 0x3f81);
    ZT_CHECK_EQ_INT(zb_f32_to_bf16(INFINITY), 0x7f80);
    ZT_CHECK_EQ_INT(zb_f32_to_bf16(3.4028235e38f), 0x7f80);                 /* FLT_MAX rounds up */
    ZT_CHECK_EQ_INT(zb_f32_to_bf16(-0.0f), 0x8000);
    ZT_CHECK(isnan(zb_bf16_to_f32(zb_f32_to_bf16(NAN))));
    for (uint32_t h = 0; h < 0x10000; h++) {                                /* every bf16 round-trips */
        float f = zb_bf16_to_f32((uint16_t)h);
        if (!isnan(f) && zb_f32_to_bf16(f) != h) {
            ZT_CHECK_EQ_INT(zb_f32_to_bf16(f), h);
            break;
        }
    }
}

int main(void)
{
    ZT_RUN(test_dtype_table);
    ZT_RUN(test_f16_all_halves);
    ZT_RUN(test_f32_to_f16_rounding);
    ZT_RUN(test_half_conversions);
    ZT_RUN(test_bf16_rounding);
    return zt_done();
}
