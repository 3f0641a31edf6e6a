/* zembed eval sts: semantic textual similarity evaluation as sentence-transformers'
 * EmbeddingSimilarityEvaluator does it: embed both sentences of every pair (local model or a
 * pipeline), score each pair by cosine, dot, negated Euclidean and negated Manhattan distance, and
 * report Pearson and Spearman correlations of each score with the gold scores. JSON keys are the
 * evaluator's names (pearson_cosine, spearman_cosine, ...; plus pearson_max / spearman_max). */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_local.h"
#include "viz_stats.h"
#include "viz_sts.h"
#include "zb_args.h"
#include "zb_opt.h"

static const char usage_text[] =
    "usage: zembed eval sts (--model DIR | --endpoint E) --data FILE [options]\n"
    "\n"
    "Embeds both sentences of every pair and prints the Pearson and Spearman correlations (Spearman\n"
    "with average ranks for ties, as scipy) between the gold scores and four similarity scores:\n"
    "cosine, dot product, negated Euclidean and negated Manhattan distance, exactly as\n"
    "sentence-transformers' EmbeddingSimilarityEvaluator (JSON keys: pearson_cosine, spearman_cosine,\n"
    "pearson_dot, ..., pearson_max, spearman_max; values in [-1, 1], the table shows x100).\n"
    "\n"
    "FILE layouts (tab separated; split on TABs only, quotes are text):\n"
    "  STS Benchmark sts-train.csv / sts-dev.csv / sts-test.csv (no header; the file is the split),\n"
    "  sentence-transformers' stsbenchmark.tsv (header; --split train|dev|test, default test),\n"
    "  SICK.txt (header; relatedness_score; --split TRAIN|TRIAL|TEST, default TEST).\n"
    "\n"
    "options:\n"
    "  --model DIR         embed in this process\n"
    "  --endpoint E        embed with a running pipeline (the embed op)\n"
    "  --data FILE         the pairs\n"
    "  --split S           which rows of a file with a split column; \"all\" for every row\n"
    "  --format F          table (default) or json\n"
    "  --threads N         local: encoder threads\n"
    "  --batch N           remote: texts per request (default 32)\n"
    "  --timeout-ms N      remote: per request (default 30000)\n"
    "  -h, --help          this text\n"
    "Exit status: 0 ok, 2 usage, data, model or connection error.\n";

typedef struct {
    const char *model, *endpoint, *data, *split;
    int json, threads, batch, timeout_ms;
} eval_opts;

static int parse(int argc, char **argv, eval_opts *o)
{
    static const struct option longs[] = {
        {"model", required_argument, 0, 'm'}, {"endpoint", required_argument, 0, 'e'},
        {"data", required_argument, 0, 'd'}, {"split", required_argument, 0, 's'},
        {"format", required_argument, 0, 'f'}, {"threads", required_argument, 0, 't'},
        {"batch", required_argument, 0, 'b'}, {"timeout-ms", required_argument, 0, 'T'},
        ZB_OPT_STD};
    const char *who = "zembed eval sts";
    *o = (eval_opts){.batch = 32, .timeout_ms = 30000};
    int c, status;
    zb_opt p = {.prog = who, .usage = usage_text, .longopts = longs};
    while ((c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'e': o->endpoint = optarg; break;
        case 'd': o->data = optarg; break;
        case 's': o->split = optarg; break;
        case 't': if (zb_parse_int(who, "--threads", optarg, 1, 256, &o->threads)) return -1; break;
        case 'b': if (zb_parse_int(who, "--batch", optarg, 1, 1 << 16, &o->batch)) return -1; break;
        case 'T': if (zb_parse_int(who, "--timeout-ms", optarg, 1, 86400000, &o->timeout_ms)) return -1; break;
        case 'f':
            if (!strcmp(optarg, "table")) o->json = 0;
            else if (!strcmp(optarg, "json")) o->json = 1;
            else { fprintf(stderr, "%s: --format is table or json, not '%s'\n", who, optarg); return -1; }
            break;
        default: return status == 0 ? 1 : -1;      /* --help / --version done, or a usage error */
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", who, argv[optind]);
        return -1;
    }
    if (!o->model == !o->endpoint || !o->data) {
        fprintf(stderr, "%s: needs --data FILE and exactly one of --model DIR and --endpoint E\n", who);
        return -1;
    }
    return 0;
}

/* Both sides embedded: a's n vectors then b's n vectors, dim floats each. */
static int embed_pairs(const eval_opts *o, const viz_sts *s, float **vecs, int *dim, int *demo, char *name, size_t cap)
{
    const char **texts = malloc(2 * (size_t)s->n * sizeof *texts);
    if (!texts)
        return 2;
    for (int i = 0; i < s->n; i++)
        texts[i] = s->a[i], texts[s->n + i] = s->b[i];
    int rc;
    if (o->model) {
        zb_err err;
        zb_clear(&err);
        cli_local *h = cli_local_open(o->model, o->threads, &err);
        rc = !h || cli_local_embed(h, texts, 2 * s->n, vecs, dim, &err) ? 2 : 0;
        if (rc)
            fprintf(stderr, "zembed eval sts: %s: %s\n", o->model, err.msg);
        if (h) {
            *demo = cli_local_is_demo(h);
            snprintf(name, cap, "%s", cli_local_name(h));
        }
        cli_local_close(&h);
    } else {
        rc = cli_remote_embed(o->endpoint, o->timeout_ms, texts, 2 * s->n, o->batch, vecs, dim);
        snprintf(name, cap, "%s", o->endpoint);
    }
    free(texts);
    return rc;
}

static int run(const eval_opts *o)
{
    viz_sts s;
    zb_err err;
    zb_clear(&err);
    if (viz_sts_load(o->data, o->split, &s, &err)) {
        fprintf(stderr, "zembed eval sts: %s\n", err.msg);
        return 2;
    }
    float *vecs = NULL;
    int dim = 0, demo = 0, rc;
    char name[256] = "";
    double corr[2][VIZ_N_SCORES];
    double *score = malloc((size_t)s.n * sizeof *score);
    rc = score ? embed_pairs(o, &s, &vecs, &dim, &demo, name, sizeof name) : 2;
    for (int k = 0; !rc && k < VIZ_N_SCORES; k++) {
        for (int i = 0; i < s.n; i++)
            score[i] = viz_pair_score((viz_score)k, vecs + (size_t)i * dim, vecs + (size_t)(s.n + i) * dim, dim);
        corr[0][k] = viz_pearson(s.gold, score, (size_t)s.n);
        if (viz_spearman(s.gold, score, (size_t)s.n, &corr[1][k], &err)) {
            fprintf(stderr, "zembed eval sts: %s\n", err.msg);
            rc = 2;
        }
    }
    if (!rc) {
        /* the evaluator's *_max: the best of the four (NaN ones left out) */
        double best[2] = {NAN, NAN};
        for (int m = 0; m < 2; m++)
            for (int k = 0; k < VIZ_N_SCORES; k++)
                if (!isnan(corr[m][k]) && (isnan(best[m]) || corr[m][k] > best[m]))
                    best[m] = corr[m][k];
        if (o->json) {
            json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:s,s:b}", "data", o->data, "layout", s.layout, "split", s.split,
                                  "pairs", s.n, "model", name, "demo_model", demo);
            for (int k = 0; k < VIZ_N_SCORES; k++) {
                char key[40];
                for (int m = 0; m < 2; m++) {
                    snprintf(key, sizeof key, "%s_%s", m ? "spearman" : "pearson", viz_score_name((viz_score)k));
                    json_object_set_new(j, key, isnan(corr[m][k]) ? json_null() : json_real(corr[m][k]));
                }
            }
            json_object_set_new(j, "pearson_max", isnan(best[0]) ? json_null() : json_real(best[0]));
            json_object_set_new(j, "spearman_max", isnan(best[1]) ? json_null() : json_real(best[1]));
            char *t = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
            if (t)
                puts(t);
            free(t);
            json_decref(j);
        } else {
            printf("STS evaluation: %s (%s%s%s, %d pairs), model %s%s\n", o->data, s.layout, s.split[0] ? ", split " : "",
                   s.split, s.n, name, demo ? " (demo model: random weights, the figures mean nothing)" : "");
            printf("%-10s %9s %9s\n", "score", "Pearson", "Spearman");
            for (int k = 0; k < VIZ_N_SCORES; k++)
                printf("%-10s %9.2f %9.2f\n", viz_score_name((viz_score)k), 100 * corr[0][k], 100 * corr[1][k]);
            printf("%-10s %9.2f %9.2f\n", "max", 100 * best[0], 100 * best[1]);
        }
        if (cli_flush_stdout("eval sts"))
            rc = 2;
    }
    free(score);
    free(vecs);
    viz_sts_free(&s);
    return rc;
}

int cli_eval(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "sts")) {
        fprintf(stderr, "zembed eval: unknown evaluation '%s' (there is: sts)\n", argv[1]);
        return 2;
    }
    eval_opts o;
    int p = parse(argc - 1, argv + 1, &o);
    if (p)
        return p > 0 ? 0 : 2;
    return run(&o);
}
