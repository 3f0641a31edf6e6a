/* enc_mm_test: bf16 / int8 Linear layers against a double-precision reference of the documented
 * numerics (enc_mm.h), shapes that are not multiples of the tiles, both thread splits, and whole
 * models at each precision against fp32. On a CPU (or valgrind's emulated one) without the
 * instructions, the refusal and its message are what is checked. */
#include "enc_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enc_testutil.h"
#include "zb_test.h"

static int have[3] = {1, 0, 0};
static uint64_t rng = 88172645463325252ull;

static float frand(void)   /* xorshift, uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
}

static void test_init_or_refuse(void)
{
    for (int p = ENC_PREC_BF16; p <= ENC_PREC_INT8; p++) {
        char desc[160];
        zb_err e;
        zb_clear(&e);
        int rc = enc_mm_init((enc_precision)p, desc, sizeof desc, &e);
        if (rc == ZB_OK) {
            have[p] = 1;
            ZT_CHECK(strstr(desc, "oneDNN") != NULL);
            printf("  %s: %s\n", enc_precision_name((enc_precision)p), desc);
        } else {
            ZT_CHECK_EQ_INT(rc, ZB_EUNSUPPORTED);
            ZT_CHECK(strstr(e.msg, p == ENC_PREC_INT8 ? "VNNI" : "AVX512_BF16"));
            printf("  skipped: %s runs natively only with %s: %s\n", enc_precision_name((enc_precision)p),
                   p == ENC_PREC_INT8 ? "VNNI" : "AVX512_BF16", e.msg);
        }
    }
}

/* The bf16 speed refusal, deterministically: ZEMBED_BF16_PROBE_RATIO stands in for the timing. */
static void test_bf16_speed_check(void)
{
    if (!have[ENC_PREC_BF16]) {
        printf("  skipped: this CPU has no native bf16 kernel (refused before any timing)\n");
        zt_cur_skipped = 1;
        return;
    }
    char note[96];
    zb_err e;
    unsetenv("ZEMBED_BF16_ALLOW_SLOW");
    setenv("ZEMBED_BF16_PROBE_RATIO", "0.5", 1);
    ZT_CHECK_EQ_INT(enc_mm_speed_check(ENC_PREC_BF16, note, sizeof note, &e), ZB_EUNSUPPORTED);
    ZT_CHECK(strstr(e.msg, "0.50x") && strstr(e.msg, "ZEMBED_BF16_ALLOW_SLOW=1") && strstr(e.msg, "bf16"));
    printf("  %s\n", e.msg);
    setenv("ZEMBED_BF16_ALLOW_SLOW", "1", 1);
    ZT_CHECK_EQ_INT(enc_mm_speed_check(ENC_PREC_BF16, note, sizeof note, &e), ZB_OK);
    ZT_CHECK(strstr(note, "0.50x") && strstr(note, "slower"));
    setenv("ZEMBED_BF16_ALLOW_SLOW", "yes", 1);   /* only "1" allows */
    ZT_CHECK_EQ_INT(enc_mm_speed_check(ENC_PREC_BF16, note, sizeof note, &e), ZB_EUNSUPPORTED);
    unsetenv("ZEMBED_BF16_ALLOW_SLOW");
    setenv("ZEMBED_BF16_PROBE_RATIO", "1.8", 1);
    ZT_CHECK_EQ_INT(enc_mm_speed_check(ENC_PREC_BF16, note, sizeof note, &e), ZB_OK);
    ZT_CHECK(strstr(note, "1.80x") && !strstr(note, "slower"));
    const char *bad[] = {"abc", "-1", "0", "1.5x", "nan"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("ZEMBED_BF16_PROBE_RATIO", bad[i], 1);
        ZT_CHECK_EQ_INT(enc_mm_speed_check(ENC_PREC_BF16, note, sizeof note, &e), ZB_EINVAL);
        ZT_CHECK(strstr(e.msg, "ZEMBED_BF16_PROBE_RATIO"));
    }
    ZT_CHECK_EQ_INT(enc_mm_speed_check(ENC_PREC_INT8, note, sizeof note, &e), ZB_OK);   /* bf16 only */
    ZT_CHECK(note[0] == '\0');
    /* the real measurement runs (its outcome depends on the CPU: not checked) */
    unsetenv("ZEMBED_BF16_PROBE_RATIO");
    int rc = enc_mm_speed_check(ENC_PREC_BF16, note, sizeof note, &e);
    ZT_CHECK(rc == ZB_OK || rc == ZB_EUNSUPPORTED);
    printf("  measured: %s\n", rc ? e.msg : note);
    setenv("ZEMBED_BF16_ALLOW_SLOW", "1", 1);   /* the rest test bf16's numerics on any bf16 CPU */
}

static void test_names(void)
{
    enc_precision p;
    ZT_CHECK(enc_precision_parse("int8", &p) == 0 && p == ENC_PREC_INT8);
    ZT_CHECK(enc_precision_parse("bf16", &p) == 0 && p == ENC_PREC_BF16);
    ZT_CHECK(enc_precision_parse("fp32", &p) == 0 && p == ENC_PREC_FP32);
    ZT_CHECK(enc_precision_parse("FP32", &p) < 0 && enc_precision_parse("", &p) < 0);
    ZT_CHECK(enc_precision_parse(NULL, &p) < 0);
    ZT_CHECK(!strcmp(enc_precision_name(ENC_PREC_BF16), "bf16"));
}

static void test_bf16_rounding(void)
{
    union { float f; uint32_t u; } v;
    v.u = 0x3f808000u;   /* halfway between 0x3f80 and 0x3f81: to even */
    ZT_CHECK_EQ_INT(enc_mm_bf16(v.f), 0x3f80);
    v.u = 0x3f818000u;   /* halfway, odd below: up */
    ZT_CHECK_EQ_INT(enc_mm_bf16(v.f), 0x3f82);
    v.u = 0x3f808001u;
    ZT_CHECK_EQ_INT(enc_mm_bf16(v.f), 0x3f81);
    ZT_CHECK_EQ_INT(enc_mm_bf16(1.0f), 0x3f80);
    ZT_CHECK_EQ_INT(enc_mm_bf16(-2.0f), 0xc000);
    ZT_CHECK((enc_mm_bf16(NAN) & 0x7f80) == 0x7f80 && (enc_mm_bf16(NAN) & 0x7f));
    ZT_CHECK_EQ_INT(enc_mm_bf16(INFINITY), 0x7f80);
}

static void test_quant_row(void)
{
    float x[37];
    uint8_t q[37];
    float s;
    int32_t z;
    for (int i = 0; i < 37; i++)
        x[i] = frand() * 3 + 1;   /* [-2, 4): asymmetric */
    x[5] = -2.0f, x[9] = 4.0f;
    enc_mm_quant_row(x, 37, q, &s, &z);
    ZT_CHECK_NEAR(s, 6.0 / 255, 1e-7);
    ZT_CHECK_EQ_INT(z, 85);   /* round(2 / (6/255)) */
    ZT_CHECK_EQ_INT(q[5], 0);
    ZT_CHECK_EQ_INT(q[9], 255);
    for (int i = 0; i < 37; i++)
        ZT_CHECK(fabs(s * (q[i] - z) - x[i]) <= s * 0.5 + 1e-6);
    /* all positive: the range is widened to hold 0, so 0 has an exact code */
    for (int i = 0; i < 37; i++)
        x[i] = 1 + i;
    enc_mm_quant_row(x, 37, q, &s, &z);
    ZT_CHECK_EQ_INT(z, 0);
    ZT_CHECK_EQ_INT(q[36], 255);
    memset(x, 0, sizeof x);
    enc_mm_quant_row(x, 37, q, &s, &z);
    ZT_CHECK(s == 1.0f && z == 0 && q[0] == 0 && q[36] == 0);
}

/* An epilogue that copies the finished rows out, and checks it is given each row once. */
typedef struct {
    float *out;
    int ld, N, *seen;
} copy_epi;

static void copy_rows(void *arg, float *y, int ldy, int r0, int nr, int worker)
{
    copy_epi *c = arg;
    ZT_CHECK(worker >= 0 && worker < enc_threads());
    for (int r = 0; r < nr; r++) {
        memcpy(c->out + (size_t)(r0 + r) * c->ld, y + (size_t)r * ldy, c->N * sizeof *y);
        __atomic_fetch_add(&c->seen[r0 + r], 1, __ATOMIC_RELAXED);
    }
}

/* enc_mm_run with an epilogue (whichever split it picks) and enc_mm_run_tiles on ragged tiles give
 * y's bits: where a row is computed does not change it. */
static void check_epilogues(const enc_mm_w *mw, enc_mm_act *act, const float *y, int T, int N, int ldy)
{
    float *out = malloc(sizeof *out * T * ldy), *scratch = malloc(sizeof *scratch * T * ldy);
    int *seen = calloc(T, sizeof *seen), *tiles = malloc(sizeof *tiles * 2 * T), n_tiles = 0;
    copy_epi c = {.out = out, .ld = ldy, .N = N, .seen = seen};
    zb_err e;
    for (int pass = 0; pass < 2; pass++) {
        memset(seen, 0, sizeof *seen * T);
        for (int i = 0; i < T * ldy; i++)
            out[i] = -777;
        if (pass == 0) {
            ZT_CHECK(enc_mm_run(mw, act, 0, T, scratch, ldy, copy_rows, &c, &e) == 0);
        } else {   /* tiles of 1, 64, 7, 64, ... rows */
            n_tiles = 0;
            for (int r = 0, k = 0; r < T; k++) {
                int n = k % 2 ? ENC_MM_TILE : 1 + 6 * (k % 4 == 2);
                n = n < T - r ? n : T - r;
                tiles[2 * n_tiles] = r;
                tiles[2 * n_tiles++ + 1] = n;
                r += n;
            }
            ZT_CHECK(enc_mm_run_tiles(mw, act, 0, T, tiles, n_tiles, copy_rows, &c, &e) == 0);
        }
        int once = 1, same = 1;
        for (int t = 0; t < T; t++) {
            once &= seen[t] == 1;
            same &= !memcmp(out + (size_t)t * ldy, y + (size_t)t * ldy, N * sizeof *y);
        }
        ZT_CHECK(once);
        ZT_CHECK(same);
    }
    free(out), free(scratch), free(seen), free(tiles);
}

/* y = x W^T through enc_mm_linear vs the documented numerics in double; and vs the fp32 product. */
static void check_linear(enc_precision p, int T, int N, int K, int ldy, int threads)
{
    float *w = malloc(sizeof *w * N * K), *x = malloc(sizeof *x * T * K), *y = malloc(sizeof *y * T * ldy);
    for (int i = 0; i < N * K; i++)
        w[i] = frand() / sqrtf((float)K);
    for (int i = 0; i < T * K; i++)
        x[i] = frand() * 2 + (i % K == 3 ? 5 : 0);   /* one outlier column, as LayerNorm outputs have */
    for (int i = 0; i < T * ldy; i++)
        y[i] = -777;
    enc_set_threads(threads);
    const float *parts[2] = {w, w + (size_t)(N / 3) * K};
    int rows[2] = {N / 3, N - N / 3};
    zb_err e;
    enc_mm_w *mw = enc_mm_prepare(p, parts, rows, 2, K, &e);
    enc_mm_act act;
    ZT_CHECK(mw != NULL);
    ZT_CHECK(enc_mm_act_alloc(&act, p, T, K) == 0);
    if (!mw)
        goto out;
    ZT_CHECK(enc_mm_linear(mw, x, T, y, ldy, &act, &e) == 0);
    check_epilogues(mw, &act, y, T, N, ldy);   /* slot 0 still holds x */
    double worst = 0, worst_fp = 0;
    uint8_t *qx = malloc(K);
    for (int t = 0; t < T; t++) {
        float sx;
        int32_t zx;
        enc_mm_quant_row(x + (size_t)t * K, K, qx, &sx, &zx);
        for (int n = 0; n < N; n++) {
            const float *wr = w + (size_t)n * K;
            double amax = 0, ref = 0, fp = 0;
            for (int k = 0; k < K; k++)
                amax = fmax(amax, fabs(wr[k]));
            float sw = (float)amax / 127.0f, inv = 1.0f / sw;   /* as enc_mm_prepare rounds */
            for (int k = 0; k < K; k++) {
                fp += (double)x[t * K + k] * wr[k];
                if (p == ENC_PREC_INT8)
                    ref += (double)sx * (qx[k] - zx) * sw * nearbyintf(wr[k] * inv);
                else {
                    union { uint32_t u; float f; } a = {.u = (uint32_t)enc_mm_bf16(x[t * K + k]) << 16},
                                                   b = {.u = (uint32_t)enc_mm_bf16(wr[k]) << 16};
                    ref += (double)a.f * b.f;
                }
            }
            double got = y[(size_t)t * ldy + n];
            worst = fmax(worst, fabs(got - ref) / (1 + fabs(ref)));
            worst_fp = fmax(worst_fp, fabs(got - fp) / (1 + fabs(fp)));
        }
        for (int n = N; n < ldy; n++)
            ZT_CHECK(y[(size_t)t * ldy + n] == -777);   /* untouched past N */
    }
    free(qx);
    ZT_CHECK(worst < 2e-5);
    ZT_CHECK(worst_fp < (p == ENC_PREC_INT8 ? 0.08 : 0.02));
    if (worst >= 2e-5)
        printf("  %s T=%d N=%d K=%d: %g from the reference, %g from fp32\n", enc_precision_name(p), T, N, K,
               worst, worst_fp);
out:
    enc_mm_act_free(&act);
    enc_mm_free(mw);
    free(w);
    free(x);
    free(y);
}

static void test_linear_shapes(void)
{
    if (!have[ENC_PREC_BF16] && !have[ENC_PREC_INT8]) {
        printf("  skipped: this CPU runs neither bf16 nor int8 natively (see test_init_or_refuse)\n");
        zt_cur_skipped = 1;
        return;
    }
    for (int p = ENC_PREC_BF16; p <= ENC_PREC_INT8; p++) {
        if (!have[p])
            continue;
        check_linear((enc_precision)p, 1, 100, 72, 100, 2);     /* one row: column split */
        check_linear((enc_precision)p, 70, 100, 72, 130, 2);    /* rows past a tile, ragged last block */
        check_linear((enc_precision)p, 150, 800, 64, 800, 1);   /* several column blocks, one thread */
        check_linear((enc_precision)p, 17, 20, 40, 24, 3);      /* N < 2 steps: one block */
        check_linear((enc_precision)p, 100, 100, 72, 100, 3);   /* fewer tiles than threads: column split, epilogue after */
    }
    enc_set_threads(0);
}

/* The whole model at bf16 / int8 against fp32: same shapes, close vectors, and the description. */
static void test_model_precisions(void)
{
    char base[] = "/tmp/enc_mm_XXXXXX", vocab[300], dir[300];
    ZT_CHECK(mkdtemp(base) != NULL);
    et_write_vocab(base, vocab, sizeof vocab);
    enc_genmodel_opts o;
    et_opts(&o);
    ZT_CHECK(et_make(base, "m", vocab, &o, dir, sizeof dir) == 0);
    int lens[3] = {5, 24, 11}, T = 40;
    int32_t ids[40];
    for (int i = 0; i < T; i++)
        ids[i] = 5 + (i * 7) % (ET_VOCAB - 5);
    float *ref = malloc(sizeof *ref * T * o.hidden), *got = malloc(sizeof *got * T * o.hidden);
    zb_err e;
    enc_model *m = enc_model_load(dir, &e);
    enc_runner *r = m ? enc_runner_new(m, 64, &e) : NULL;
    ZT_CHECK(r && enc_forward(r, ids, NULL, lens, 3, ref, &e) == 0);
    ZT_CHECK(!strncmp(enc_model_kernel(m), "OpenBLAS sgemm, ", 16));
    enc_runner_free(r);
    for (int p = ENC_PREC_BF16; m && p <= ENC_PREC_INT8; p++) {
        int rc = enc_model_set_precision(m, (enc_precision)p, &e);
        ZT_CHECK(rc == (have[p] ? 0 : ZB_EUNSUPPORTED));
        if (rc)
            continue;
        ZT_CHECK(enc_model_precision(m) == (enc_precision)p && strstr(enc_model_kernel(m), "oneDNN"));
        r = enc_runner_new(m, 64, &e);
        ZT_CHECK(r && enc_forward(r, ids, NULL, lens, 3, got, &e) == 0);
        double worst = 1;
        for (int t = 0; t < T; t++) {
            double d = 0, na = 0, nb = 0;
            for (int h = 0; h < o.hidden; h++) {
                d += (double)ref[t * o.hidden + h] * got[t * o.hidden + h];
                na += (double)ref[t * o.hidden + h] * ref[t * o.hidden + h];
                nb += (double)got[t * o.hidden + h] * got[t * o.hidden + h];
            }
            worst = fmin(worst, d / sqrt(na * nb));
        }
        printf("  %s: token cosine to fp32 >= %.6f\n", enc_precision_name((enc_precision)p), worst);
        ZT_CHECK(worst > (p == ENC_PREC_INT8 ? 0.995 : 0.9995));
        enc_runner_free(r);
    }
    if (m) {   /* and back */
        ZT_CHECK(enc_model_set_precision(m, ENC_PREC_FP32, &e) == 0);
        r = enc_runner_new(m, 64, &e);
        ZT_CHECK(r && enc_forward(r, ids, NULL, lens, 3, got, &e) == 0);
        ZT_CHECK(!memcmp(ref, got, sizeof *ref * T * o.hidden));
        enc_runner_free(r);
    }
    enc_model_free(m);
    free(ref);
    free(got);
    et_rmtree(base);
}

/* Forward of the 3-sequence batch used below at precision p; note gets enc_model_weights_note. */
static int run_at(const char *dir, enc_precision p, float *out, char *note, size_t cap)
{
    int lens[3] = {5, 24, 11};
    int32_t ids[40];
    for (int i = 0; i < 40; i++)
        ids[i] = 5 + (i * 7) % (ET_VOCAB - 5);
    zb_err e;
    enc_model *m = enc_model_load(dir, &e);
    int rc = m ? enc_model_set_precision(m, p, &e) : -1;
    enc_runner *r = !rc ? enc_runner_new(m, 64, &e) : NULL;
    rc = r ? enc_forward(r, ids, NULL, lens, 3, out, &e) : -1;
    snprintf(note, cap, "%s", m ? enc_model_weights_note(m) : e.msg);
    enc_runner_free(r);
    enc_model_free(m);
    return rc;
}

/* The prepared weights go through a cache file: written once, mmap'd after, and a damaged or
 * foreign file is replaced, never used; an unwritable cache leaves them in memory. */
static void test_weight_cache(void)
{
    if (!have[ENC_PREC_INT8]) {
        printf("  skipped: the cache holds int8 weights, which this CPU does not run natively\n");
        zt_cur_skipped = 1;
        return;
    }
    char base[] = "/tmp/enc_wc_XXXXXX", vocab[300], dir[300], cache[320], note[700], path[700];
    ZT_CHECK(mkdtemp(base) != NULL);
    snprintf(cache, sizeof cache, "%s/cache", base);
    setenv("ZEMBED_CACHE", cache, 1);
    et_write_vocab(base, vocab, sizeof vocab);
    enc_genmodel_opts o;
    et_opts(&o);
    ZT_CHECK(et_make(base, "m", vocab, &o, dir, sizeof dir) == 0);
    size_t n = (size_t)40 * o.hidden;
    float *a = malloc(n * 4), *b = malloc(n * 4);
    ZT_CHECK(run_at(dir, ENC_PREC_INT8, a, note, sizeof note) == 0);
    ZT_CHECK(strstr(note, "written to and mmap'd from ") == note);
    const char *at = strstr(note, cache);
    snprintf(path, sizeof path, "%s", at ? at : "?");
    ZT_CHECK(strstr(path, "-int8-") && strstr(path, ".zbw"));
    ZT_CHECK(run_at(dir, ENC_PREC_INT8, b, note, sizeof note) == 0);
    ZT_CHECK(strstr(note, "mmap'd from ") == note);
    ZT_CHECK(!memcmp(a, b, n * 4));
    /* damaged: a header byte, cut short, bytes appended */
    static const char *how[3] = {"header", "truncate", "append"};
    for (int k = 0; k < 3; k++) {
        FILE *f = fopen(path, "r+b");
        ZT_CHECK(f != NULL);
        if (!f)
            break;
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        if (k == 0) {
            fseek(f, 130, SEEK_SET);   /* inside the kernel description */
            fputc('!', f);
        } else if (k == 2) {
            fputs("tail", f);
        }
        fclose(f);
        if (k == 1 && truncate(path, len / 2) != 0)
            ZT_CHECK(0);
        memset(b, 0, n * 4);
        ZT_CHECK(run_at(dir, ENC_PREC_INT8, b, note, sizeof note) == 0);
        ZT_CHECK(strstr(note, "replaced a bad cache file") != NULL);
        if (!strstr(note, "replaced a bad cache file"))
            printf("  %s: %s\n", how[k], note);
        ZT_CHECK(!memcmp(a, b, n * 4));
    }
    setenv("ZEMBED_WEIGHT_CACHE", "0", 1);
    ZT_CHECK(run_at(dir, ENC_PREC_INT8, b, note, sizeof note) == 0 && !strcmp(note, "in memory (ZEMBED_WEIGHT_CACHE=0)"));
    ZT_CHECK(!memcmp(a, b, n * 4));
    unsetenv("ZEMBED_WEIGHT_CACHE");
    setenv("ZEMBED_CACHE", "/dev/null/cache", 1);   /* cannot be made: in memory, same numbers */
    ZT_CHECK(run_at(dir, ENC_PREC_INT8, b, note, sizeof note) == 0 && strstr(note, "in memory (cache ") == note);
    ZT_CHECK(!memcmp(a, b, n * 4));
    setenv("ZEMBED_CACHE", cache, 1);
    free(a);
    free(b);
    et_rmtree(base);
}

int main(void)
{
    /* the weight cache of every test goes to a folder of ours */
    char cache[] = "/tmp/enc_mm_cache_XXXXXX";
    if (!mkdtemp(cache))
        return 1;
    setenv("ZEMBED_CACHE", cache, 1);
    setenv("ZEMBED_BF16_ALLOW_SLOW", "1", 1);   /* bf16's numerics, whatever its speed here */
    ZT_RUN(test_names);
    ZT_RUN(test_init_or_refuse);
    ZT_RUN(test_bf16_speed_check);
    ZT_RUN(test_bf16_rounding);
    ZT_RUN(test_quant_row);
    ZT_RUN(test_linear_shapes);
    ZT_RUN(test_model_precisions);
    ZT_RUN(test_weight_cache);
    et_rmtree(cache);
    return zt_done();
}
