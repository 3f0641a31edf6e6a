/* bench_sgemm: OpenBLAS sgemm GFLOP/s on the GEMM shapes of one MiniLM-L6 layer, the ceiling the
 * encoder benchmark compares zembed against (bench/encoder/run.sh prints the fraction reached);
 * and the same layer on oneDNN's matmul in f32, bf16 and int8 (u8 x s8 -> s32): the ceilings of
 * --precision (one primitive per shape over all T rows, weights pre-reordered, oneDNN on nt OpenMP
 * threads), then our enc_mm path on the same shapes (activation conversion, 64-row tiles, our
 * threads, the int8 dequantization): what is left between the two is our overhead.
 *
 *   build/release/bench/bench_sgemm [--threads 1,2] [--tokens 512] [--hidden 384] [--ffn 1536]
 *                                   [--seconds 0.5]
 *
 * Shapes are nn.Linear's: out[T x N] = in[T x K] . W[N x K]^T, row-major, with T tokens stacked
 * (how a padding-free encoder runs its dense layers): K=H -> N=H (Q, K, V, attention output, each
 * 2TH^2 FLOP), K=H -> N=3H (Q,K,V fused), K=H -> N=F (FFN up), K=F -> N=H (FFN down).
 * "layer" is one layer's dense work (4 x HxH + HxF + FxH = 2T(4H^2 + 2HF) FLOP) timed back to back;
 * its GFLOP/s is the ceiling. Each figure is the median of 5 timed runs of at least --seconds.
 * First, the instruction peak of one core per precision (isa_peak_*: what no kernel can pass).
 * Output lines are `key value` pairs so scripts can read them. Never part of the tests.
 */
#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zb_blas.h"

/* OpenBLAS extensions (declared in its cblas.h on Debian; repeated for other installs). */
void openblas_set_num_threads(int num_threads);
char *openblas_get_config(void);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *randm(size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "bench_sgemm: out of memory\n");
        exit(1);
    }
    uint64_t s = 0x9E3779B97F4A7C15ull * (n | 1);
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (float)((s >> 40) & 0xffff) / 65536.0f - 0.5f;
    }
    return p;
}

typedef struct { int n, k; const char *name; } shape;

static void linear(const float *in, const float *w, float *out, int T, int N, int K)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, N, K, 1.0f, in, K, w, K, 0.0f, out, N);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median GFLOP/s of `reps` runs, each repeating the shape list until min_s seconds have passed. */
static double measure(const shape *sh, int n_sh, int T, float *in, float *w, float *out,
                      double min_s)
{
    double flop = 0, g[5];
    for (int i = 0; i < n_sh; i++)
        flop += 2.0 * T * sh[i].n * sh[i].k;
    for (int i = 0; i < n_sh; i++) /* warm-up: threads started, pages touched */
        linear(in, w, out, T, sh[i].n, sh[i].k);
    for (int r = 0; r < 5; r++) {
        int iters = 0;
        double t0 = now(), t;
        do {
            for (int i = 0; i < n_sh; i++)
                linear(in, w, out, T, sh[i].n, sh[i].k);
            iters++;
        } while ((t = now() - t0) < min_s);
        g[r] = flop * iters / t * 1e-9;
    }
    qsort(g, 5, sizeof g[0], cmp);
    return g[2];
}

/* ---- the instruction peak of one core: what any kernel could reach at best ----
 * Ten independent accumulator chains per instruction kind (more than latency x ports on any x86
 * core we know), so the loop is bound by issue rate alone: fp32 vfmadd231ps (16 lanes x 2 FLOP),
 * bf16 vdpbf16ps (16 lanes x 2 pairs x 2 FLOP), int8 vpdpbusd (16 lanes x 4 pairs x 2 OP). This is
 * what says whether a precision can pay off on a CPU: where vdpbf16ps runs at vfmadd231ps's FLOP
 * rate (no AMX), bf16 cannot beat fp32 however good the kernel. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define PEAK_N 20000000L

/* One timing function per instruction: ten accumulators (a[] stays in registers once gcc unrolls
 * the constant loops), each step a = STEP(a); OPS operations per instruction. */
#define PEAK_FN(name, isa, T, ZERO, STEP, ADD, REDUCE, OPS)                                          \
    __attribute__((target(isa))) static double name(void)                                          \
    {                                                                                               \
        T a[10];                                                                                    \
        for (int c = 0; c < 10; c++)                                                                \
            a[c] = ZERO;                                                                            \
        double t0 = now();                                                                          \
        for (long i = 0; i < PEAK_N; i++)                                                           \
            for (int c = 0; c < 10; c++)                                                            \
                a[c] = STEP(a[c]);                                                                  \
        double dt = now() - t0;                                                                     \
        for (int c = 1; c < 10; c++)                                                                \
            a[0] = ADD(a[0], a[c]);                                                                 \
        volatile double sink = REDUCE(a[0]);   /* the sums are used: no step is dead code */        \
        (void)sink;                                                                                 \
        return PEAK_N * 10.0 * (OPS) / dt * 1e-9;                                                   \
    }

#define BF16_ONE ((__m512bh)_mm512_set1_epi16(0x3f80))   /* 1.0 in bf16 */
#define FMA_STEP(a) _mm512_fmadd_ps(_mm512_set1_ps(1.0f), _mm512_set1_ps(1e-9f), a)
#define BF16_STEP(a) _mm512_dpbf16_ps(a, BF16_ONE, BF16_ONE)
#define VNNI_STEP(a) _mm512_dpbusd_epi32(a, _mm512_set1_epi8(1), _mm512_set1_epi8(1))

/* fp32 16 lanes x 2 FLOP; bf16 16 lanes x 2 pairs x 2 FLOP; int8 16 lanes x 4 pairs x 2 OP */
PEAK_FN(peak_fma, "avx512f", __m512, _mm512_setzero_ps(), FMA_STEP, _mm512_add_ps, _mm512_reduce_add_ps, 32)
PEAK_FN(peak_bf16, "avx512f,avx512bf16", __m512, _mm512_setzero_ps(), BF16_STEP, _mm512_add_ps,
        _mm512_reduce_add_ps, 64)
PEAK_FN(peak_vnni, "avx512f,avx512vnni", __m512i, _mm512_setzero_si512(), VNNI_STEP, _mm512_add_epi32,
        _mm512_reduce_add_epi32, 128)

/* Best of 3 (a peak: the slowest runs are the machine's noise, not the core's limit). */
static void print_isa_peaks(void)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) {
        printf("isa_peak (no AVX-512 on this CPU: not measured)\n");
        return;
    }
    double f = 0, b = 0, v = 0;
    for (int r = 0; r < 3; r++) {
        double x = peak_fma();
        f = x > f ? x : f;
        if (__builtin_cpu_supports("avx512bf16") && (x = peak_bf16()) > b)
            b = x;
        if (__builtin_cpu_supports("avx512vnni") && (x = peak_vnni()) > v)
            v = x;
    }
    printf("isa_peak_gflops fp32 vfmadd231ps %.1f\n", f);
    if (b > 0)
        printf("isa_peak_gflops bf16 vdpbf16ps %.1f (%.2fx fp32)\n", b, b / f);
    if (v > 0)
        printf("isa_peak_gops int8 vpdpbusd %.1f (%.2fx fp32)\n", v, v / f);
}
#else
static void print_isa_peaks(void)
{
    printf("isa_peak (not an x86-64 build: not measured)\n");
}
#endif

#include "enc_impl.h"

/* ---- oneDNN matmul: the raw ceiling per precision ---- */
typedef struct {
    dnnl_primitive_t p;
    dnnl_memory_t src, wei, dst;
} dmm;

static dnnl_engine_t eng;
static dnnl_stream_t strm;

static void dcheck(dnnl_status_t st, const char *what)
{
    if (st != dnnl_success) {
        fprintf(stderr, "bench_sgemm: oneDNN %s: status %d\n", what, (int)st);
        exit(1);
    }
}

static dmm dmm_make(int prec, int T, int N, int K)
{
    dnnl_data_type_t st = prec == 2 ? dnnl_u8 : prec == 1 ? dnnl_bf16 : dnnl_f32;
    dnnl_data_type_t wt = prec == 2 ? dnnl_s8 : st, dt = prec == 2 ? dnnl_s32 : dnnl_f32;
    dnnl_dims_t sd = {T, K}, wd = {K, N}, dd = {T, N};
    dnnl_memory_desc_t smd, wmd, dmd, plain;
    dnnl_memory_desc_init_by_tag(&smd, 2, sd, st, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&wmd, 2, wd, wt, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dt, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&plain, 2, wd, wt, dnnl_ba);
    dnnl_matmul_desc_t md;
    dnnl_primitive_desc_t pd;
    dcheck(dnnl_matmul_desc_init(&md, &smd, &wmd, NULL, &dmd), "matmul desc");
    dcheck(dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL), "matmul pd");
    dmm m;
    const dnnl_memory_desc_t *qw = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dcheck(dnnl_memory_create(&m.src, &smd, eng, DNNL_MEMORY_ALLOCATE), "src");
    dcheck(dnnl_memory_create(&m.dst, &dmd, eng, DNNL_MEMORY_ALLOCATE), "dst");
    dcheck(dnnl_memory_create(&m.wei, qw, eng, DNNL_MEMORY_ALLOCATE), "wei");
    void *h;
    dnnl_memory_get_data_handle(m.src, &h);
    memset(h, 1, dnnl_memory_desc_get_size(&smd));
    dnnl_memory_t pw;
    dcheck(dnnl_memory_create(&pw, &plain, eng, DNNL_MEMORY_ALLOCATE), "plain");
    dnnl_memory_get_data_handle(pw, &h);
    memset(h, 1, dnnl_memory_desc_get_size(&plain));
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t r;
    dcheck(dnnl_reorder_primitive_desc_create(&rpd, &plain, eng, qw, eng, NULL), "reorder pd");
    dcheck(dnnl_primitive_create(&r, rpd), "reorder");
    dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, pw}, {DNNL_ARG_TO, m.wei}};
    dcheck(dnnl_primitive_execute(r, strm, 2, ra), "reorder run");
    dnnl_primitive_destroy(r);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(pw);
    dcheck(dnnl_primitive_create(&m.p, pd), "matmul");
    dnnl_primitive_desc_destroy(pd);
    return m;
}

static void dmm_run(const dmm *m)
{
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, m->src}, {DNNL_ARG_WEIGHTS, m->wei}, {DNNL_ARG_DST, m->dst}};
    dcheck(dnnl_primitive_execute(m->p, strm, 3, a), "matmul run");
}

static double median5(double *g)
{
    qsort(g, 5, sizeof g[0], cmp);
    return g[2];
}

/* The layer's six shapes as oneDNN matmuls (prec 0 f32, 1 bf16, 2 int8) on nt OpenMP threads. */
static double measure_dnnl(int prec, const shape *sh, int n_sh, int T, int nt, double min_s)
{
    omp_set_num_threads(nt);
    dmm m[8];
    double flop = 0, g[5];
    for (int i = 0; i < n_sh; i++) {
        m[i] = dmm_make(prec, T, sh[i].n, sh[i].k);
        flop += 2.0 * T * sh[i].n * sh[i].k;
        dmm_run(&m[i]);
    }
    for (int r = 0; r < 5; r++) {
        int iters = 0;
        double t0 = now(), t;
        do {
            for (int i = 0; i < n_sh; i++)
                dmm_run(&m[i]);
            iters++;
        } while ((t = now() - t0) < min_s);
        g[r] = flop * iters / t * 1e-9;
    }
    for (int i = 0; i < n_sh; i++) {
        dnnl_primitive_destroy(m[i].p);
        dnnl_memory_destroy(m[i].src);
        dnnl_memory_destroy(m[i].wei);
        dnnl_memory_destroy(m[i].dst);
    }
    return median5(g);
}

/* Our path: enc_mm_linear on the layer (Q|K|V fused as the encoder runs it), nt of our threads. */
static double measure_enc_mm(enc_precision p, int T, int H, int F, int nt, float *in, float *w,
                             float *out, double min_s)
{
    zb_err e;
    char desc[160];
    if (enc_mm_init(p, desc, sizeof desc, &e)) {
        printf("enc_mm %s: %s\n", enc_precision_name(p), e.msg);
        return 0;
    }
    enc_set_threads(nt);
    const float *qkv[3] = {w, w, w};
    int rh[3] = {H, H, H}, rf[1] = {F};
    enc_mm_w *mw[4] = {enc_mm_prepare(p, qkv, rh, 3, H, &e), enc_mm_prepare(p, qkv, rh, 1, H, &e),
                       enc_mm_prepare(p, qkv, rf, 1, H, &e), enc_mm_prepare(p, qkv, rh, 1, F, &e)};
    int K[4] = {H, H, H, F}, N[4] = {3 * H, H, F, H};
    enc_mm_act act;
    if (!mw[0] || !mw[1] || !mw[2] || !mw[3] || enc_mm_act_alloc(&act, p, T, F)) {
        fprintf(stderr, "bench_sgemm: enc_mm_prepare failed\n");
        exit(1);
    }
    double flop = 2.0 * T * (4.0 * H * H + 2.0 * H * F), g[5];
    for (int r = -1; r < 5; r++) {
        int iters = 0;
        double t0 = now(), t;
        do {
            for (int i = 0; i < 4; i++)
                enc_mm_linear(mw[i], in, T, out, N[i], &act, &e);
            (void)K;
            iters++;
        } while ((t = now() - t0) < min_s);
        if (r >= 0)
            g[r] = flop * iters / t * 1e-9;
    }
    for (int i = 0; i < 4; i++)
        enc_mm_free(mw[i]);
    enc_mm_act_free(&act);
    return median5(g);
}

int main(int argc, char **argv)
{
    zb_blas_check_core(argv);   /* the kernels zembed itself would run when OPENBLAS_CORETYPE is unset */
    int T = 512, H = 384, F = 1536;
    double min_s = 0.5;
    const char *threads = "1,2";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--tokens")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--hidden")) H = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--ffn")) F = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = argv[i + 1];
        else if (!strcmp(argv[i], "--seconds")) min_s = atof(argv[i + 1]);
        else {
            fprintf(stderr, "usage: bench_sgemm [--threads 1,2] [--tokens T] [--hidden H] "
                            "[--ffn F] [--seconds S]\n");
            return 2;
        }
    }
    if (T < 1 || H < 1 || F < 1 || min_s <= 0) {
        fprintf(stderr, "bench_sgemm: sizes must be positive\n");
        return 2;
    }
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("openblas_config %s\n", openblas_get_config());
    printf("openblas_core %s\n", zb_blas_core());
    printf("OPENBLAS_CORETYPE %s\n", ct && *ct ? ct : "(unset)");
    print_isa_peaks();
    size_t big = (size_t)(F > 3 * H ? F : 3 * H);
    dcheck(dnnl_engine_create(&eng, dnnl_cpu, 0), "engine");
    dcheck(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags), "stream");
    float *in = randm((size_t)T * big), *w = randm(big * big), *out = randm((size_t)T * big);

    shape single[][1] = {{{H, H, "HxH"}}, {{3 * H, H, "Hx3H"}}, {{F, H, "HxF"}}, {{H, F, "FxH"}}};
    shape layer[] = {{H, H, "q"}, {H, H, "k"}, {H, H, "v"}, {H, H, "o"}, {F, H, "up"}, {H, F, "down"}};

    char list[64];
    snprintf(list, sizeof list, "%s", threads);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int nt = atoi(tok);
        if (nt < 1)
            continue;
        openblas_set_num_threads(nt);
        for (int s = 0; s < 4; s++)
            printf("sgemm_gflops threads=%d T=%d %s(K=%d,N=%d) %.1f\n", nt, T, single[s][0].name,
                   single[s][0].k, single[s][0].n, measure(single[s], 1, T, in, w, out, min_s));
        double lg = measure(layer, 6, T, in, w, out, min_s);
        double flop_tok = 2.0 * (4.0 * H * H + 2.0 * H * F);
        printf("sgemm_layer_gflops threads=%d T=%d %.1f\n", nt, T, lg);
        printf("dense_flop_per_token_per_layer %.0f\n", flop_tok);
        fflush(stdout);
        static const char *pn[3] = {"fp32", "bf16", "int8"};
        char why[160];
        for (int p = 0; p < 3; p++) {
            if (p && enc_mm_init((enc_precision)p, why, sizeof why, NULL))   /* not native here */
                continue;
            printf("matmul_layer_gflops prec=%s threads=%d T=%d %.1f\n", pn[p], nt, T,
                   measure_dnnl(p, layer, 6, T, nt, min_s));
            fflush(stdout);
        }
        omp_set_num_threads(1);
        char note[96];
        zb_err e;
        if (nt == 1 && !enc_mm_init(ENC_PREC_BF16, why, sizeof why, NULL)) {   /* the encoder's check */
            int rc = enc_mm_speed_check(ENC_PREC_BF16, note, sizeof note, &e);
            printf("bf16_start_up_probe %s\n", rc ? e.msg : note + 2);
        }
        for (int p = ENC_PREC_BF16; p <= ENC_PREC_INT8; p++) {
            double g = measure_enc_mm((enc_precision)p, T, H, F, nt, in, w, out, min_s);
            if (g > 0)
                printf("enc_mm_layer_gflops prec=%s threads=%d T=%d %.1f\n", pn[p], nt, T, g);
            fflush(stdout);
        }
    }
    free(in);
    free(w);
    free(out);
    return 0;
}
