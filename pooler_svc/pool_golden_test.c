/* pool against PyTorch / numpy: pool_golden.h holds inputs and what sentence-transformers' own
 * formulas give for them (padded batch with a mask, cos_sim, quantize_embeddings, astype(float16));
 * pool_golden.py regenerates it. */
#include <string.h>

#include "pool.h"
#include "pool_golden.h"
#include "zb_test.h"

/* Our batches are padding-free: pack the real rows of the padded golden batch end to end. */
static int pack_hidden(float *packed)
{
    int rows = 0;
    for (int s = 0; s < G_B; s++)
        for (int t = 0; t < g_lens[s]; t++)
            memcpy(packed + (size_t)rows++ * G_DIM, g_hidden + ((size_t)s * G_T + t) * G_DIM,
                   G_DIM * sizeof(float));
    return rows;
}

static void check_close(const float *got, const float *want, int n, double tol)
{
    for (int i = 0; i < n; i++)
        ZT_CHECK_NEAR(got[i], want[i], tol);
}

static void test_each_mode_matches_st(void)
{
    static const struct { pool_mode m; const float *want; } CASES[] = {
        { POOL_MEAN, g_pool_mean }, { POOL_CLS, g_pool_cls }, { POOL_MAX, g_pool_max },
        { POOL_MEAN_SQRT_LEN, g_pool_mean_sqrt_len_tokens }, { POOL_LASTTOKEN, g_pool_lasttoken },
    };
    float packed[G_B * G_T * G_DIM], out[G_B * G_DIM];
    pack_hidden(packed);
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        pool_config c;
        pool_config_default(G_DIM, &c);
        pool_config_set_mode(&c, CASES[k].m);
        pool_batch(&c, packed, g_lens, G_B, out);
        check_close(out, CASES[k].want, G_B * G_DIM, 1e-6);
    }
}

static void test_all_modes_concatenated_and_normalized(void)
{
    float packed[G_B * G_T * G_DIM], out[G_B * 5 * G_DIM];
    pack_hidden(packed);
    pool_config c;
    pool_config_default(G_DIM, &c);
    c.n_modes = 5;   /* as pool_config_load fills it with every flag on, in ST's order */
    pool_mode order[5] = { POOL_CLS, POOL_MAX, POOL_MEAN, POOL_MEAN_SQRT_LEN, POOL_LASTTOKEN };
    memcpy(c.modes, order, sizeof order);
    c.mode = POOL_CLS;
    c.out_dim = 5 * G_DIM;
    c.normalize = 1;
    pool_batch(&c, packed, g_lens, G_B, out);
    check_close(out, g_concat_norm, G_B * 5 * G_DIM, 1e-6);
}

static void test_cosine_matrix_matches_cos_sim(void)
{
    float got[G_B * G_NB];
    ZT_CHECK_EQ_INT(pool_cosine_matrix(g_pool_mean, G_B, g_other, G_NB, G_DIM, got, NULL), ZB_OK);
    check_close(got, g_cos, G_B * G_NB, 1e-6);
    for (int i = 0; i < G_B; i++)
        for (int j = 0; j < G_NB; j++)
            ZT_CHECK_NEAR(pool_cosine(g_pool_mean + i * G_DIM, g_other + j * G_DIM, G_DIM),
                          g_cos[i * G_NB + j], 1e-6);
}

static void test_calibration_ranges(void)
{
    float r[2 * G_Q_DIM];
    pool_int8_ranges(g_emb, G_Q_N, G_Q_DIM, r);
    ZT_CHECK(memcmp(r, g_ranges, sizeof r) == 0);
}

/* Quantized outputs must be bit-identical to numpy's. */
static void check_quant(zb_dtype t, const float *ranges, const void *want)
{
    unsigned char got[G_Q_N * G_Q_DIM];
    size_t bytes = G_Q_N * zb_dtype_row_bytes(t, G_Q_DIM);
    ZT_CHECK_EQ_INT(pool_quantize(t, g_emb, G_Q_N, G_Q_DIM, ranges, got, NULL), ZB_OK);
    for (size_t k = 0; k < bytes; k++)
        if (got[k] != ((const unsigned char *)want)[k]) {
            ZT_CHECK_EQ_INT(got[k], ((const unsigned char *)want)[k]);
            fprintf(stderr, "    %s: first difference at byte %zu\n", zb_dtype_name(t), k);
            break;
        }
}

static void test_quantize_like_st(void)
{
    check_quant(ZB_DT_UINT8, g_ranges, g_q_uint8);
    check_quant(ZB_DT_INT8, g_ranges, g_q_int8);
    check_quant(ZB_DT_INT8, NULL, g_q_int8_fixed);   /* our default: ranges [-1, 1] */
    check_quant(ZB_DT_BINARY, NULL, g_q_binary);
    check_quant(ZB_DT_UBINARY, NULL, g_q_ubinary);
}

static void test_float16_like_numpy(void)
{
    unsigned char got[2 * G_F16_N];
    ZT_CHECK_EQ_INT(pool_quantize(ZB_DT_FLOAT16, g_f16_in, G_F16_N, 1, NULL, got, NULL), ZB_OK);
    for (int i = 0; i < G_F16_N; i++) {
        unsigned h = got[2 * i] | (unsigned)got[2 * i + 1] << 8;
        if (h != g_f16_out[i])
            fprintf(stderr, "    float16 of %.9g\n", (double)g_f16_in[i]);
        ZT_CHECK_EQ_INT(h, g_f16_out[i]);
    }
}

int main(void)
{
    ZT_RUN(test_each_mode_matches_st);
    ZT_RUN(test_all_modes_concatenated_and_normalized);
    ZT_RUN(test_cosine_matrix_matches_cos_sim);
    ZT_RUN(test_calibration_ranges);
    ZT_RUN(test_quantize_like_st);
    ZT_RUN(test_float16_like_numpy);
    return zt_done();
}
