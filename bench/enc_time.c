/* enc_time: the encoder's own compute time for one sentence (tokenize once, then the forward pass
 * alone, repeated), the reference for the pipeline's single-sentence latency.
 *
 *   enc_time MODEL_DIR THREADS REPEATS "sentence" [fp32|bf16|int8]  ->  "tokens N forward_ms p50 P p99 Q"
 *
 * Built by `make benches` (bench/pipeline/run.sh, bench/encoder/run.sh); never part of tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "enc.h"
#include "tok.h"
#include "zm.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    enc_precision prec = ENC_PREC_FP32;
    if ((argc != 5 && argc != 6) || (argc == 6 && enc_precision_parse(argv[5], &prec))) {
        fprintf(stderr, "usage: enc_time MODEL_DIR THREADS REPEATS SENTENCE [fp32|bf16|int8]\n");
        return 2;
    }
    const char *dir = argv[1], *text = argv[4];
    int threads = atoi(argv[2]), reps = atoi(argv[3]);
    if (reps < 1 || reps > 100000 || threads < 0) {
        fprintf(stderr, "enc_time: THREADS >= 0 and 1 <= REPEATS <= 100000\n");
        return 2;
    }
    zb_err err = {0};
    enc_set_threads(threads);
    zm_open_opts o;
    zm_open_opts_default(&o);
    o.parts = ZM_TOKENIZER | ZM_WEIGHTS;    /* the pipeline's max_length, the encoder's runner */
    o.precision = prec;
    zm_model *zm = zm_open(dir, &o, &err);
    if (!zm) {
        fprintf(stderr, "enc_time: %s\n", err.msg);
        return 2;
    }
    const tok_tokenizer *tok = zm_tokenizer(zm);
    enc_runner *r = zm_runner(zm);
    tok_options opt;
    zm_tok_options(zm, &opt);
    tok_encoding e;
    tok_encoding_init(&e);
    if (tok_encode(tok, text, strlen(text), NULL, 0, &opt, &e, &err)) {
        fprintf(stderr, "enc_time: %s\n", err.msg);
        return 2;
    }
    float *hidden = malloc(sizeof(float) * (size_t)e.n * (size_t)zm_info_get(zm)->hidden);
    double *t = malloc(sizeof(double) * (size_t)reps);
    int lens[1] = {e.n};
    for (int i = 0; i < 3; i++) /* warm the caches and the BLAS thread pool */
        enc_forward(r, e.ids, e.type_ids, lens, 1, hidden, &err);
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        if (enc_forward(r, e.ids, e.type_ids, lens, 1, hidden, &err)) {
            fprintf(stderr, "enc_time: %s\n", err.msg);
            return 2;
        }
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("tokens %d forward_ms p50 %.3f p99 %.3f\n", e.n, t[reps / 2], t[(int)(reps * 0.99)]);
    free(t);
    free(hidden);
    tok_encoding_free(&e);
    zm_close(&zm);
    return 0;
}
