/* bench_tokenizer: throughput of zembed's tokenizer library on a text file, one line = one text.
 *
 *   bench_tokenizer --model DIR --input FILE [--threads N] [--repeat R]
 *
 * Encodes every line with [CLS]/[SEP] and without truncation (so every character is tokenized, as
 * on the HF side of bench/tokenizer/run.sh), R times; N threads split the lines into contiguous
 * slices, each thread with its own tok_encoding (the tokenizer itself is shared and immutable).
 * Prints one JSON line: median seconds over the R runs, MB/s (input bytes incl. newlines),
 * tokens/s, the token total (a cross-check against HF: it must be the same number) and the peak
 * RSS of the process. Only the encode loop is timed; reading the file is not. Also the median CPU
 * seconds (user + sys, all threads) of a run: on a shared machine MB per CPU-second says more
 * than MB per wall-second. */
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tok.h"

typedef struct {
    const tok_tokenizer *t;
    const tok_options *opt;
    char *const *line;
    const size_t *len;
    size_t from, to;
    long long tokens;
    int failed;
} slice;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The measured loop: encode a slice of lines, reusing one encoding. */
static void *encode_slice(void *arg)
{
    slice *s = arg;
    tok_encoding e;
    tok_encoding_init(&e);
    zb_err err;
    s->tokens = 0;
    for (size_t i = s->from; i < s->to; i++) {
        if (tok_encode(s->t, s->line[i], s->len[i], NULL, 0, s->opt, &e, &err)) {
            fprintf(stderr, "bench_tokenizer: line %zu: %s\n", i + 1, err.msg);
            s->failed = 1;
            break;
        }
        s->tokens += e.n;
    }
    tok_encoding_free(&e);
    return NULL;
}

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"model", required_argument, 0, 'm'},
        {"input", required_argument, 0, 'i'}, {"threads", required_argument, 0, 't'},
        {"repeat", required_argument, 0, 'r'}, {0, 0, 0, 0}};
    const char *model = NULL, *input = NULL;
    int threads = 1, repeat = 5, o;
    while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (o) {
        case 'm': model = optarg; break;
        case 'i': input = optarg; break;
        case 't': threads = atoi(optarg); break;
        case 'r': repeat = atoi(optarg); break;
        default: return 2;
        }
    }
    if (!model || !input || threads < 1 || threads > 256 || repeat < 1 || repeat > 100) {
        fprintf(stderr, "usage: bench_tokenizer --model DIR --input FILE [--threads 1..256] [--repeat 1..100]\n");
        return 2;
    }
    zb_err err;
    tok_tokenizer *t = tok_load(model, &err);
    if (!t) {
        fprintf(stderr, "bench_tokenizer: %s\n", err.msg);
        return 2;
    }
    FILE *f = fopen(input, "r");
    if (!f) {
        fprintf(stderr, "bench_tokenizer: cannot open %s\n", input);
        tok_free(t);
        return 2;
    }
    char **line = NULL, *buf = NULL;
    size_t *len = NULL, n = 0, cap = 0, bcap = 0, bytes = 0;
    ssize_t r;
    while ((r = getline(&buf, &bcap, f)) >= 0) {
        bytes += (size_t)r;
        if (r > 0 && buf[r - 1] == '\n')
            r--;
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            line = realloc(line, cap * sizeof *line);
            len = realloc(len, cap * sizeof *len);
            if (!line || !len) { fprintf(stderr, "bench_tokenizer: out of memory\n"); return 2; }
        }
        if (!(line[n] = malloc((size_t)r + 1))) { fprintf(stderr, "bench_tokenizer: out of memory\n"); return 2; }
        memcpy(line[n], buf, (size_t)r);
        len[n++] = (size_t)r;
    }
    free(buf);
    fclose(f);

    tok_options opt;
    tok_options_default(t, &opt);
    opt.truncate = 0;
    opt.max_length = INT_MAX;

    slice *sl = calloc((size_t)threads, sizeof *sl);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    double *secs = calloc((size_t)repeat, sizeof *secs), *cpu = calloc((size_t)repeat, sizeof *cpu);
    if (!sl || !th || !secs || !cpu) { fprintf(stderr, "bench_tokenizer: out of memory\n"); return 2; }
    long long tokens = 0;
    int failed = 0;
    for (int rep = 0; rep < repeat && !failed; rep++) {
        double t0 = now(), c0 = cpu_now();
        for (int k = 0; k < threads; k++) {
            sl[k] = (slice){t, &opt, line, len, n * (size_t)k / (size_t)threads,
                            n * (size_t)(k + 1) / (size_t)threads, 0, 0};
            if (k > 0 && pthread_create(&th[k], NULL, encode_slice, &sl[k])) {
                fprintf(stderr, "bench_tokenizer: cannot start thread %d\n", k);
                return 2;
            }
        }
        encode_slice(&sl[0]);                  /* the main thread takes the first slice */
        tokens = sl[0].tokens;
        failed |= sl[0].failed;
        for (int k = 1; k < threads; k++) {
            pthread_join(th[k], NULL);
            tokens += sl[k].tokens;
            failed |= sl[k].failed;
        }
        secs[rep] = now() - t0;
        cpu[rep] = cpu_now() - c0;
    }
    if (!failed) {
        double med = median(secs, repeat), med_cpu = median(cpu, repeat);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("{\"impl\":\"zembed\",\"threads\":%d,\"lines\":%zu,\"bytes\":%zu,\"tokens\":%lld,"
               "\"median_s\":%.6f,\"min_s\":%.6f,\"mb_s\":%.3f,\"tokens_s\":%.0f,\"cpu_s\":%.6f,"
               "\"mb_per_cpu_s\":%.3f,\"peak_rss_kb\":%ld}\n",
               threads, n, bytes, tokens, med, secs[0], (double)bytes / 1e6 / med, (double)tokens / med,
               med_cpu, med_cpu > 0 ? (double)bytes / 1e6 / med_cpu : 0.0, ru.ru_maxrss);
    }
    for (size_t i = 0; i < n; i++)
        free(line[i]);
    free(line);
    free(len);
    free(sl);
    free(th);
    free(secs);
    free(cpu);
    tok_free(t);
    return failed ? 1 : 0;
}
