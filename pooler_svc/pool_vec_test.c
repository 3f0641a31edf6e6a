/* pool by hand and against naive double-precision loops: pooling modes, normalization, cosine
 * (single and matrix), Matryoshka truncation, the 8-bit/1-bit quantizers' edges (float16 itself:
 * common/zb_dtype_test.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "zb_test.h"

static float rnd(void) { return (float)((zt_rand_u32() >> 8) * (2.0 / 16777216.0) - 1.0); }

static const float H3x2[] = { 1, 2, 3, 4, 5, -6 };

static void test_modes_by_hand(void)
{
    float out[2];
    pool_sequence(POOL_MEAN, H3x2, 3, 2, out);
    ZT_CHECK_NEAR(out[0], 3.0, 0);
    ZT_CHECK_NEAR(out[1], 0.0, 0);
    pool_sequence(POOL_MEAN_SQRT_LEN, H3x2, 3, 2, out);
    ZT_CHECK_NEAR(out[0], 9.0 / sqrt(3.0), 1e-6);
    ZT_CHECK_NEAR(out[1], 0.0, 0);
    pool_sequence(POOL_CLS, H3x2, 3, 2, out);
    ZT_CHECK(out[0] == 1 && out[1] == 2);
    pool_sequence(POOL_LASTTOKEN, H3x2, 3, 2, out);
    ZT_CHECK(out[0] == 5 && out[1] == -6);
    pool_sequence(POOL_MAX, H3x2, 3, 2, out);
    ZT_CHECK(out[0] == 5 && out[1] == 4);
    /* One token: every mode but mean_sqrt_len is that token. */
    pool_sequence(POOL_MAX, H3x2 + 4, 1, 2, out);
    ZT_CHECK(out[0] == 5 && out[1] == -6);
}

static void test_empty_sequence_and_dim_1(void)
{
    float out[2] = { 7, 7 };
    for (int m = 0; m < POOL_N_MODES; m++) {
        out[0] = out[1] = 7;
        pool_sequence((pool_mode)m, H3x2, 0, 2, out);
        ZT_CHECK(out[0] == 0 && out[1] == 0);
    }
    const float col[] = { -2, 5, 1 };
    pool_sequence(POOL_MEAN, col, 3, 1, out);
    ZT_CHECK_NEAR(out[0], 4.0 / 3.0, 1e-7);
    pool_sequence(POOL_MAX, col, 3, 1, out);
    ZT_CHECK(out[0] == 5);
    pool_sequence(POOL_LASTTOKEN, col, 3, 1, out);
    ZT_CHECK(out[0] == 1);
}

static void test_max_propagates_nan(void)
{
    const float h[] = { 1, NAN, 3, 0 };
    float out[2];
    pool_sequence(POOL_MAX, h, 2, 2, out);
    ZT_CHECK(out[0] == 3);
    ZT_CHECK(isnan(out[1]));
}

/* Mean over many tokens and a dim crossing the internal column chunk, against a double loop. The
 * values make a float32 running sum drift well past 1e-6. */
static void test_mean_against_double_loop(void)
{
    int n = zt_under_valgrind() ? 300 : 3000, dim = 600;
    float *h = malloc((size_t)n * dim * sizeof *h), out[600], out2[600];
    for (size_t k = 0; k < (size_t)n * dim; k++)
        h[k] = 0.1f + rnd() * 1e-3f + (float)(k % 7);
    pool_sequence(POOL_MEAN, h, n, dim, out);
    pool_sequence(POOL_MEAN_SQRT_LEN, h, n, dim, out2);
    double worst = 0;
    for (int j = 0; j < dim; j++) {
        double s = 0;
        for (int t = 0; t < n; t++)
            s += h[(size_t)t * dim + j];
        double e1 = fabs(out[j] - s / n) / fabs(s / n), e2 = fabs(out2[j] - s / sqrt(n)) / fabs(s / sqrt(n));
        worst = fmax(worst, fmax(e1, e2));
    }
    ZT_CHECK(worst <= 6e-8);   /* one float rounding of the exact result */
    if (worst > 6e-8)
        fprintf(stderr, "    worst relative error %g\n", worst);
    free(h);
}

static void test_apply_and_batch(void)
{
    pool_config c;
    pool_config_default(2, &c);
    c.normalize = 1;
    float out[4];
    const int lens[] = { 2, 1 };
    pool_batch(&c, H3x2, lens, 2, out);      /* rows {1,2},{3,4} then {5,-6} */
    ZT_CHECK_NEAR(out[0], 2 / sqrt(13.0), 1e-7);
    ZT_CHECK_NEAR(out[1], 3 / sqrt(13.0), 1e-7);
    ZT_CHECK_NEAR(out[2], 5 / sqrt(61.0), 1e-7);
    ZT_CHECK_NEAR(out[3], -6 / sqrt(61.0), 1e-7);
}

static void test_l2_normalize(void)
{
    float v[] = { 3, 4 };
    pool_l2_normalize(v, 2);
    ZT_CHECK_NEAR(v[0], 0.6, 1e-7);
    ZT_CHECK_NEAR(v[1], 0.8, 1e-7);
    float z[] = { 0, 0, 0 };
    pool_l2_normalize(z, 3);
    ZT_CHECK(z[0] == 0 && z[1] == 0 && z[2] == 0);
    float one[] = { -2 };
    pool_l2_normalize(one, 1);
    ZT_CHECK(one[0] == -1);
    float tiny[] = { 1e-13f };                /* F.normalize divides by eps = 1e-12 */
    pool_l2_normalize(tiny, 1);
    ZT_CHECK_NEAR(tiny[0], 0.1, 1e-7);
}

static void test_cosine_by_hand(void)
{
    const float a[] = { 1, 0 }, b[] = { 1, 1 }, z[] = { 0, 0 }, p[] = { 2 }, q[] = { -3 };
    ZT_CHECK_NEAR(pool_cosine(a, b, 2), 1 / sqrt(2.0), 1e-7);
    ZT_CHECK_NEAR(pool_cosine(a, z, 2), 0, 0);
    ZT_CHECK_NEAR(pool_cosine(p, q, 1), -1, 1e-7);
    float m[2];
    ZT_CHECK_EQ_INT(pool_cosine_matrix(p, 1, (const float[]){ -3, 4 }, 2, 1, m, NULL), ZB_OK);
    ZT_CHECK_NEAR(m[0], -1, 1e-7);
    ZT_CHECK_NEAR(m[1], 1, 1e-7);
}

static void test_cosine_matrix_against_double_loop(void)
{
    enum { NA = 7, NB = 5, D = 50 };
    float a[NA * D], b[NB * D], m[NA * NB], self[NA * NA];
    for (int k = 0; k < NA * D; k++)
        a[k] = rnd() * 3;
    for (int k = 0; k < NB * D; k++)
        b[k] = rnd();
    memset(b + 2 * D, 0, D * sizeof *b);     /* a zero row: similarity 0 */
    ZT_CHECK_EQ_INT(pool_cosine_matrix(a, NA, b, NB, D, m, NULL), ZB_OK);
    for (int i = 0; i < NA; i++)
        for (int j = 0; j < NB; j++) {
            double ab = 0, aa = 0, bb = 0;
            for (int k = 0; k < D; k++) {
                ab += (double)a[i * D + k] * b[j * D + k];
                aa += (double)a[i * D + k] * a[i * D + k];
                bb += (double)b[j * D + k] * b[j * D + k];
            }
            double want = (aa == 0 || bb == 0) ? 0 : ab / sqrt(aa * bb);
            ZT_CHECK_NEAR(m[i * NB + j], want, 1e-6);
        }
    ZT_CHECK_EQ_INT(pool_cosine_matrix(a, NA, a, NA, D, self, NULL), ZB_OK);
    for (int i = 0; i < NA; i++)
        ZT_CHECK_NEAR(self[i * NA + i], 1, 1e-6);
    ZT_CHECK_EQ_INT(pool_cosine_matrix(a, 0, b, NB, D, m, NULL), ZB_OK);
}

/* The same vector anywhere in either list scores exactly 1 (input-embedding token similarity:
 * a token repeated in both texts), whatever tile of the GEMM the pair lands in. */
static void test_cosine_matrix_equal_rows_exactly_one(void)
{
    enum { NA = 19, NB = 23, D = 384 };
    static float a[NA * D], b[NB * D], m[NA * NB];
    for (int k = 0; k < NA * D; k++)
        a[k] = rnd() * 0.07f;
    for (int k = 0; k < NB * D; k++)
        b[k] = rnd() * 0.05f;
    for (int j = 0; j < NB; j += 3)     /* copies of a's rows scattered through b */
        memcpy(b + (size_t)j * D, a + (size_t)((j * 7) % NA) * D, D * sizeof *a);
    ZT_CHECK_EQ_INT(pool_cosine_matrix(a, NA, b, NB, D, m, NULL), ZB_OK);
    int exact = 0;
    for (int i = 0; i < NA; i++)
        for (int j = 0; j < NB; j++)
            if (!memcmp(a + (size_t)i * D, b + (size_t)j * D, D * sizeof *a)) {
                ZT_CHECK(m[i * NB + j] == 1.0f);
                exact++;
            }
    ZT_CHECK_EQ_INT(exact, (NB + 2) / 3);
}

static void test_truncate_dims(void)
{
    float v[] = { 3, 4, 12, 1, 0, 0 };
    ZT_CHECK_EQ_INT(pool_truncate_dims(v, 2, 3, 2, 1, NULL), ZB_OK);
    ZT_CHECK_NEAR(v[0], 0.6, 1e-7);
    ZT_CHECK_NEAR(v[1], 0.8, 1e-7);
    ZT_CHECK(v[2] == 1 && v[3] == 0);
    float w[] = { 3, 4, 12, 1, 0, 0 };
    ZT_CHECK_EQ_INT(pool_truncate_dims(w, 2, 3, 2, 0, NULL), ZB_OK);
    ZT_CHECK(w[0] == 3 && w[1] == 4 && w[2] == 1 && w[3] == 0);
    float x[] = { 3, 4, 12 };
    ZT_CHECK_EQ_INT(pool_truncate_dims(x, 1, 3, 3, 1, NULL), ZB_OK);
    ZT_CHECK_NEAR(x[2], 12.0 / 13.0, 1e-7);
    zb_err err;
    ZT_CHECK_EQ_INT(pool_truncate_dims(x, 1, 3, 0, 1, &err), ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "dimensions is 0") && strstr(err.msg, "3"));
    ZT_CHECK_EQ_INT(pool_truncate_dims(x, 1, 3, 4, 1, &err), ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "dimensions is 4") && strstr(err.msg, "3"));
}

static void test_int8_edges(void)
{
    /* Range [0, 2.55]: step 0.01. Below the range and NaN clamp to the lowest code, above to the
     * highest; a constant dimension (min == max) splits at its value. */
    const float r[] = { 0.0f, 5.0f, 2.55f, 5.0f };   /* mins {0, 5}, maxs {2.55, 5} */
    const float in[] = { -1.0f, 4.0f, 3.0f, 5.0f, NAN, 6.0f, 1.0f, 5.0f };
    signed char s[8];
    unsigned char u[8];
    ZT_CHECK_EQ_INT(pool_quantize(ZB_DT_INT8, in, 4, 2, r, s, NULL), ZB_OK);
    ZT_CHECK_EQ_INT(pool_quantize(ZB_DT_UINT8, in, 4, 2, r, u, NULL), ZB_OK);
    const signed char want_s[] = { -128, -128, 127, -128, -128, 127, -28, -128 };
    const unsigned char want_u[] = { 0, 0, 255, 0, 0, 255, 100, 0 };
    for (int k = 0; k < 8; k++) {
        ZT_CHECK_EQ_INT(s[k], want_s[k]);
        ZT_CHECK_EQ_INT(u[k], want_u[k]);
    }
    /* Default range [-1, 1]: -1 -> -128; 0 -> 1/(2/255) - 128 = -0.5 -> 0; and 1 -> 126, not 127:
     * in float32 2/(2/255) is 254.99998, truncated, exactly as numpy computes it for ST. */
    const float d[] = { -1, 1, 0 };
    ZT_CHECK_EQ_INT(pool_quantize(ZB_DT_INT8, d, 1, 3, NULL, s, NULL), ZB_OK);
    ZT_CHECK(s[0] == -128 && s[1] == 126 && s[2] == 0);
    zb_err err;
    const float bad[] = { 0, 1, 1, 0 };
    ZT_CHECK_EQ_INT(pool_quantize(ZB_DT_INT8, d, 1, 2, bad, s, &err), ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "dimension 1") != NULL);
    const float inf[] = { -INFINITY, 0, 1, 1 };
    ZT_CHECK_EQ_INT(pool_quantize(ZB_DT_UINT8, d, 1, 2, inf, u, &err), ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "dimension 0") != NULL);
}

static void test_binary_and_float_layouts(void)
{
    const float v[] = { 1, -1, 1, -1, 1, -1, 1, -1, 0.5f, 0 };
    unsigned char ub[2];
    signed char b[2];
    ZT_CHECK_EQ_INT(pool_quantize(ZB_DT_UBINARY, v, 1, 10, NULL, ub, NULL), ZB_OK);
    ZT_CHECK(ub[0] == 0xaa && ub[1] == 0x80);
    ZT_CHECK_EQ_INT(pool_quantize(ZB_DT_BINARY, v, 1, 10, NULL, b, NULL), ZB_OK);
    ZT_CHECK(b[0] == 0xaa - 128 && b[1] == 0);
    unsigned char f[4], h[2];
    ZT_CHECK_EQ_INT(pool_quantize(ZB_DT_FLOAT32, (const float[]){ 1.0f }, 1, 1, NULL, f, NULL), ZB_OK);
    ZT_CHECK(f[0] == 0 && f[1] == 0 && f[2] == 0x80 && f[3] == 0x3f);
    ZT_CHECK_EQ_INT(pool_quantize(ZB_DT_FLOAT16, (const float[]){ -2.0f }, 1, 1, NULL, h, NULL), ZB_OK);
    ZT_CHECK(h[0] == 0x00 && h[1] == 0xc0);
}

int main(void)
{
    ZT_RUN(test_modes_by_hand);
    ZT_RUN(test_empty_sequence_and_dim_1);
    ZT_RUN(test_max_propagates_nan);
    ZT_RUN(test_mean_against_double_loop);
    ZT_RUN(test_apply_and_batch);
    ZT_RUN(test_l2_normalize);
    ZT_RUN(test_cosine_by_hand);
    ZT_RUN(test_cosine_matrix_against_double_loop);
    ZT_RUN(test_cosine_matrix_equal_rows_exactly_one);
    ZT_RUN(test_truncate_dims);
    ZT_RUN(test_int8_edges);
    ZT_RUN(test_binary_and_float_layouts);
    return zt_done();
}
