/* bench_sgemm: OpenBLAS sgemm GFLOP/s on the GEMM shapes of one MiniLM-L6 layer, the ceiling the
 * encoder benchmark compares zembed against (bench/encoder/run.sh prints the fraction reached).
 *
 *   build/release/bench/bench_sgemm [--threads 1,2] [--tokens 512] [--hidden 384] [--ffn 1536]
 *                                   [--seconds 0.5]
 *
 * Shapes are nn.Linear's: out[T x N] = in[T x K] . W[N x K]^T, row-major, with T tokens stacked
 * (how a padding-free encoder runs its dense layers): K=H -> N=H (Q, K, V, attention output, each
 * 2TH^2 FLOP), K=H -> N=3H (Q,K,V fused), K=H -> N=F (FFN up), K=F -> N=H (FFN down).
 * "layer" is one layer's dense work (4 x HxH + HxF + FxH = 2T(4H^2 + 2HF) FLOP) timed back to back;
 * its GFLOP/s is the ceiling. Each figure is the median of 5 timed runs of at least --seconds.
 * Output lines are `key value` pairs so scripts can read them. Never part of the tests.
 */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* OpenBLAS extensions (declared in its cblas.h on Debian; repeated for other installs). */
void openblas_set_num_threads(int num_threads);
char *openblas_get_config(void);
char *openblas_get_corename(void);

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

int main(int argc, char **argv)
{
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
    printf("openblas_core %s\n", openblas_get_corename());
    printf("OPENBLAS_CORETYPE %s\n", ct && *ct ? ct : "(unset)");
    size_t big = (size_t)(F > 3 * H ? F : 3 * H);
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
    }
    free(in);
    free(w);
    free(out);
    return 0;
}
