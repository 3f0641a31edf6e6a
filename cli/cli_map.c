/* zembed map: the word-embedding matrix (or any matrix, --input X.npy) projected to 2-D by t-SNE
 * or PCA, written as an interactive canvas page (viz_map.js) and/or a TSV of id, token, group, x, y.
 * Points are coloured by token group (tok_group.h: the one classifier of vocabulary tokens). */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_local.h"
#include "tok_group.h"
#include "viz_knn.h"
#include "viz_npy.h"
#include "viz_page.h"
#include "viz_tsne.h"
#include "zb_args.h"
#include "zb_opt.h"
#include "zb_progress.h"

#define PAGE_NEIGHBOURS 10     /* nearest neighbours per point the page's search highlights */

static const char usage_text[] =
    "usage: zembed map (--model DIR | --input X.npy [--labels FILE]) [options] (--html FILE | --tsv FILE)\n"
    "\n"
    "Projects the model's word-embedding matrix (one row per vocabulary token) to 2-D and writes an\n"
    "interactive map: every token a point coloured by its group (special [...], continuation ##...,\n"
    "other = word-initial pieces and punctuation), the token on hover, zoom (wheel) and pan (drag), a\n"
    "legend that toggles groups, a search box that highlights a token and its nearest neighbours (in\n"
    "the original space). The page is one self-contained file (canvas, no network).\n"
    "\n"
    "options:\n"
    "  --model DIR          the model folder (config.json, weights, tokenizer)\n"
    "  --input X.npy        instead: any float32 matrix (rows = points), e.g. zembed encode --format npy\n"
    "  --labels FILE        with --input: one label per line (hover text and colour group)\n"
    "  --method M           tsne (default) or pca\n"
    "  --perplexity P       t-SNE perplexity (default 30; less than the number of points)\n"
    "  --metric M           cosine (default) or euclidean: the distances t-SNE starts from\n"
    "  --iterations N       t-SNE iterations in all, the 250 exaggerated ones included (default 1000)\n"
    "  --seed S             seed (default 42; matters for --init random only: PCA init is exact)\n"
    "  --init I             pca (default) or random\n"
    "  --limit N            map N tokens only, evenly spread over the vocabulary (ids 0, V/N, 2V/N, ...)\n"
    "  --threads N          threads (default: the CPUs we may use); the result is the same for any N\n"
    "  --html FILE          write the page\n"
    "  --tsv FILE           write id, token, group, x, y (header line; \\t, \\n and \\\\ escaped)\n"
    "  --quiet              no progress line on stderr (drawn only when stderr is a terminal)\n"
    "  -h, --help           this text\n";

typedef struct {
    const char *model, *input, *labels, *html, *tsv;
    int pca, random_init, iterations, limit, threads, quiet;
    double perplexity;
    viz_metric metric;
    unsigned long long seed;
} map_opts;

typedef struct {
    int n, d;
    float *X;              /* n x d */
    int32_t *ids;          /* n */
    char **tokens;         /* n */
    int *group;            /* n: index into group_names */
    char **group_names;
    int n_groups;
    int demo;
    char name[160];
} map_data;

static int parse(int argc, char **argv, map_opts *o)
{
    static const struct option longs[] = {
        {"model", required_argument, 0, 'm'}, {"input", required_argument, 0, 'i'},
        {"labels", required_argument, 0, 'l'}, {"method", required_argument, 0, 'M'},
        {"perplexity", required_argument, 0, 'p'}, {"metric", required_argument, 0, 'D'},
        {"iterations", required_argument, 0, 'n'}, {"seed", required_argument, 0, 's'},
        {"init", required_argument, 0, 'I'}, {"limit", required_argument, 0, 'L'},
        {"threads", required_argument, 0, 't'}, {"html", required_argument, 0, 'H'},
        {"tsv", required_argument, 0, 'T'}, {"quiet", no_argument, 0, 'q'},
        ZB_OPT_STD};
    const char *who = "zembed map";
    *o = (map_opts){.iterations = 1000, .perplexity = 30, .metric = VIZ_METRIC_COSINE, .seed = 42};
    int c, status;
    long long ll;
    zb_opt p = {.prog = who, .usage = usage_text, .longopts = longs};
    while ((c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'i': o->input = optarg; break;
        case 'l': o->labels = optarg; break;
        case 'H': o->html = optarg; break;
        case 'T': o->tsv = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'n': if (zb_parse_int(who, "--iterations", optarg, 1, 1000000, &o->iterations)) return -1; break;
        case 'L': if (zb_parse_int(who, "--limit", optarg, 2, 1 << 30, &o->limit)) return -1; break;
        case 't': if (zb_parse_int(who, "--threads", optarg, 1, 256, &o->threads)) return -1; break;
        case 's': if (zb_parse_ll(who, "--seed", optarg, 0, (long long)(~0ull >> 1), &ll)) return -1; o->seed = (unsigned long long)ll; break;
        case 'p': {
            char *end;
            o->perplexity = strtod(optarg, &end);
            if (*end || !(o->perplexity > 0) || o->perplexity > 1e6) {
                fprintf(stderr, "%s: --perplexity '%s': needs a number > 0\n", who, optarg);
                return -1;
            }
            break;
        }
        case 'M':
            if (!strcmp(optarg, "tsne")) o->pca = 0;
            else if (!strcmp(optarg, "pca")) o->pca = 1;
            else { fprintf(stderr, "%s: --method is tsne or pca, not '%s'\n", who, optarg); return -1; }
            break;
        case 'D':
            if (!strcmp(optarg, "cosine")) o->metric = VIZ_METRIC_COSINE;
            else if (!strcmp(optarg, "euclidean")) o->metric = VIZ_METRIC_EUCLIDEAN;
            else { fprintf(stderr, "%s: --metric is cosine or euclidean, not '%s'\n", who, optarg); return -1; }
            break;
        case 'I':
            if (!strcmp(optarg, "pca")) o->random_init = 0;
            else if (!strcmp(optarg, "random")) o->random_init = 1;
            else { fprintf(stderr, "%s: --init is pca or random, not '%s'\n", who, optarg); return -1; }
            break;
        default: return status == 0 ? 1 : -1;      /* --help / --version done, or a usage error */
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", who, argv[optind]);
        return -1;
    }
    if (!o->model == !o->input || (o->labels && !o->input)) {
        fprintf(stderr, "%s: give --model DIR or --input X.npy (--labels goes with --input)\n", who);
        return -1;
    }
    if (!o->html && !o->tsv) {
        fprintf(stderr, "%s: nothing to write: give --html FILE and/or --tsv FILE\n", who);
        return -1;
    }
    return 0;
}

/* ---- load ------------------------------------------------------------------------------------ */

static int group_index(map_data *m, const char *name)
{
    for (int g = 0; g < m->n_groups; g++)
        if (!strcmp(m->group_names[g], name))
            return g;
    char **ng = realloc(m->group_names, ((size_t)m->n_groups + 1) * sizeof *ng);
    if (!ng)
        return -1;
    m->group_names = ng;
    if (!(ng[m->n_groups] = strdup(name)))
        return -1;
    return m->n_groups++;
}

static int load_model(const map_opts *o, map_data *m)
{
    zb_err err;
    zb_clear(&err);
    cli_local *h = cli_local_open(o->model, o->threads, &err);
    if (!h) {
        fprintf(stderr, "zembed map: cannot load the model: %s\n", err.msg);
        return 2;
    }
    const tok_tokenizer *t = cli_local_tokenizer(h);
    int V = enc_model_config(cli_local_model(h))->vocab_size, rc = 0;
    m->n = o->limit && o->limit < V ? o->limit : V;
    m->d = enc_model_config(cli_local_model(h))->hidden;
    m->demo = cli_local_is_demo(h);
    snprintf(m->name, sizeof m->name, "%s", cli_local_name(h));
    m->ids = malloc((size_t)m->n * sizeof *m->ids);
    m->tokens = calloc((size_t)m->n + 1, sizeof *m->tokens);
    m->group = malloc((size_t)m->n * sizeof *m->group);
    m->X = malloc((size_t)m->n * m->d * sizeof *m->X);
    if (!m->ids || !m->tokens || !m->group || !m->X)
        rc = 2;
    for (int g = 0; !rc && g < TOK_N_GROUPS; g++)   /* every group in the legend, in tok_group order */
        rc = group_index(m, tok_group_name((tok_group)g)) < 0 ? 2 : 0;
    for (int i = 0; !rc && i < m->n; i++) {
        int32_t id = (int32_t)((int64_t)i * V / m->n);      /* evenly spread when limited */
        const char *s = tok_id_to_token(t, id);
        m->ids[i] = id;
        m->tokens[i] = strdup(s ? s : "");
        m->group[i] = (int)tok_id_group(t, id);
        rc = m->tokens[i] ? 0 : 2;
    }
    if (rc)
        fprintf(stderr, "zembed map: out of memory for %d tokens\n", m->n);
    else if (enc_input_embeddings(cli_local_model(h), m->ids, m->n, m->X, &err)) {
        fprintf(stderr, "zembed map: %s\n", err.msg);
        rc = 2;
    }
    cli_local_close(&h);
    return rc;
}

static int load_input(const map_opts *o, map_data *m)
{
    zb_err err;
    zb_clear(&err);
    if (viz_npy_load(o->input, &m->X, &m->n, &m->d, &err)) {
        fprintf(stderr, "zembed map: --input %s\n", err.msg);
        return 2;
    }
    snprintf(m->name, sizeof m->name, "%s", o->input);
    char **labels = NULL;
    int n_labels = 0;
    if (o->labels) {
        FILE *f = fopen(o->labels, "r");
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        if (!f) {
            fprintf(stderr, "zembed map: --labels %s: cannot open\n", o->labels);
            return 2;
        }
        labels = calloc((size_t)m->n + 1, sizeof *labels);
        while (labels && n_labels <= m->n && (len = getline(&line, &cap, f)) >= 0) {
            while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                line[--len] = 0;
            if (n_labels < m->n)
                labels[n_labels] = strdup(line);
            n_labels++;
        }
        free(line);
        fclose(f);
        if (!labels || n_labels != m->n) {
            fprintf(stderr, "zembed map: --labels %s has %d lines for %d rows of %s\n", o->labels, n_labels, m->n, o->input);
            cli_free_strings(labels, m->n);
            return 2;
        }
    }
    m->ids = malloc((size_t)m->n * sizeof *m->ids);
    m->tokens = calloc((size_t)m->n + 1, sizeof *m->tokens);
    m->group = malloc((size_t)m->n * sizeof *m->group);
    int rc = !m->ids || !m->tokens || !m->group ? 2 : 0;
    for (int i = 0; !rc && i < m->n; i++) {
        char num[24];
        snprintf(num, sizeof num, "%d", i);
        m->ids[i] = i;
        m->tokens[i] = strdup(labels ? labels[i] : num);
        m->group[i] = group_index(m, labels ? labels[i] : "row");
        rc = m->tokens[i] && m->group[i] >= 0 ? 0 : 2;
    }
    cli_free_strings(labels, m->n);
    if (rc)
        fprintf(stderr, "zembed map: out of memory\n");
    return rc;
}

/* ---- run ------------------------------------------------------------------------------------- */

typedef struct {
    int quiet;
    zb_progress *bar;
} map_progress;

/* t-SNE's progress: iterations done of all, and the KL divergence as sklearn reports it (every 50
 * iterations; NaN before the first). The bar starts with the first iteration so that the kNN and
 * perplexity search before it do not skew the ETA. */
static void on_progress(void *ud, int it, int total, double kl)
{
    map_progress *mp = ud;
    if (!mp->bar && it == 1)
        mp->bar = zb_progress_new(&(zb_progress_opts){.label = "zembed map: t-SNE", .fd = 2, .quiet = mp->quiet,
                                                      .total = (uint64_t)total});
    zb_progress *bar = mp->bar;
    if (!isnan(kl))
        zb_progress_note(bar, "KL divergence %.4f", kl);
    zb_progress_update(bar, (uint64_t)it, 0, 0);
}

static int project(const map_opts *o, const map_data *m, float *Y, int32_t **nn, int *nn_k)
{
    zb_err err;
    zb_clear(&err);
    int rc;
    if (o->pca) {
        rc = viz_pca(m->X, m->n, m->d, 2, Y, &err);
        int k = PAGE_NEIGHBOURS < m->n - 1 ? PAGE_NEIGHBOURS : m->n - 1;
        float *dist = malloc((size_t)m->n * k * sizeof *dist);
        *nn = malloc((size_t)m->n * k * sizeof **nn);
        *nn_k = k;
        if (!rc && (!dist || !*nn))
            rc = zb_fail(&err, ZB_ENOMEM, "out of memory for the neighbour lists");
        if (!rc)
            rc = viz_knn(m->X, m->n, m->d, o->metric, k, o->threads, *nn, dist, &err);
        free(dist);
    } else {
        viz_tsne_opts t;
        viz_tsne_defaults(&t);
        map_progress mp = {.quiet = o->quiet};
        t.perplexity = o->perplexity;
        t.metric = o->metric;
        t.iterations = o->iterations;
        t.exaggeration_iters = o->iterations < 250 ? o->iterations : 250;
        t.seed = o->seed;
        t.random_init = o->random_init;
        t.threads = o->threads;
        t.progress = on_progress;
        t.progress_ud = &mp;
        viz_tsne_info info;
        rc = viz_tsne(m->X, m->n, m->d, &t, Y, nn, nn_k, &info, &err);
        zb_progress_end(&mp.bar);
        if (!rc && !o->quiet)
            fprintf(stderr, "zembed map: t-SNE of %d x %d: %d iterations, KL divergence %.4f, %.1f s (kNN %.1f s)\n", m->n,
                    m->d, info.iterations, info.kl, info.seconds_total, info.seconds_knn);
    }
    if (rc)
        fprintf(stderr, "zembed map: %s\n", err.msg);
    return rc ? 2 : 0;
}

static void tsv_field(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\t') fputs("\\t", f);
        else if (*s == '\n') fputs("\\n", f);
        else if (*s == '\r') fputs("\\r", f);
        else if (*s == '\\') fputs("\\\\", f);
        else fputc(*s, f);
    }
}

static int write_tsv(const char *path, const map_data *m, const float *Y)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "zembed map: --tsv %s: cannot create\n", path);
        return 2;
    }
    fputs("id\ttoken\tgroup\tx\ty\n", f);
    for (int i = 0; i < m->n; i++) {
        fprintf(f, "%d\t", m->ids[i]);
        tsv_field(f, m->tokens[i]);
        fputc('\t', f);
        tsv_field(f, m->group_names[m->group[i]]);
        fprintf(f, "\t%.7g\t%.7g\n", (double)Y[2 * i], (double)Y[2 * i + 1]);
    }
    int bad = ferror(f);
    bad |= fclose(f);
    if (bad)
        fprintf(stderr, "zembed map: --tsv %s: writing failed\n", path);
    return bad ? 2 : 0;
}

/* Coordinates go to the page as integers 0..10000 over the longer side of the bounding box (one
 * scale for both axes): 5 characters a number instead of 10, and 1e-4 of the width is below a pixel. */
static int write_html(const map_opts *o, const map_data *m, const float *Y, const int32_t *nn, int nn_k)
{
    float lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int i = 0; i < m->n; i++)
        for (int a = 0; a < 2; a++)
            lo[a] = fminf(lo[a], Y[2 * i + a]), hi[a] = fmaxf(hi[a], Y[2 * i + a]);
    double span = fmax(hi[0] - lo[0], hi[1] - lo[1]);
    span = span > 0 ? span : 1;
    json_t *xs = json_array(), *ys = json_array(), *toks = json_array(), *ids = json_array(), *grp = json_array();
    json_t *nns = json_array(), *gn = json_array();
    for (int i = 0; i < m->n; i++) {
        json_array_append_new(xs, json_integer((json_int_t)lround((Y[2 * i] - lo[0]) / span * 10000)));
        json_array_append_new(ys, json_integer((json_int_t)lround((Y[2 * i + 1] - lo[1]) / span * 10000)));
        json_t *s = json_string(m->tokens[i]);
        json_array_append_new(toks, s ? s : json_string("\xEF\xBF\xBD"));   /* not UTF-8: U+FFFD */
        json_array_append_new(ids, json_integer(m->ids[i]));
        json_array_append_new(grp, json_integer(m->group[i]));
        for (int q = 0; q < nn_k && q < PAGE_NEIGHBOURS; q++)
            json_array_append_new(nns, json_integer(nn[(size_t)i * nn_k + q]));
    }
    for (int g = 0; g < m->n_groups; g++)
        json_array_append_new(gn, json_string(m->group_names[g]));
    char sub[512];
    if (o->pca)
        snprintf(sub, sizeof sub, "%s: %d points of %d dimensions, PCA (first two components)", m->name, m->n, m->d);
    else
        snprintf(sub, sizeof sub, "%s: %d points of %d dimensions, t-SNE (perplexity %g, %s, %d iterations, seed %llu)",
                 m->name, m->n, m->d, o->perplexity, o->metric == VIZ_METRIC_COSINE ? "cosine" : "euclidean",
                 o->iterations, o->seed);
    json_t *d = json_pack("{s:s,s:s,s:b,s:s,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:i,s:o}", "title",
                          o->model ? "Vocabulary map" : "Embedding map", "subtitle", sub, "demo", m->demo, "method",
                          o->pca ? "pca" : "tsne", "n", m->n, "x", xs, "y", ys, "tokens", toks, "ids", ids, "group", grp,
                          "groups", gn, "k", nn_k < PAGE_NEIGHBOURS ? nn_k : PAGE_NEIGHBOURS, "nn", nns);
    zb_err err;
    int rc = d ? viz_page_write(o->html, VIZ_PAGE_MAP, o->model ? "zembed: vocabulary map" : "zembed: embedding map", d, &err)
               : zb_fail(&err, ZB_ENOMEM, "out of memory for the page data");
    json_decref(d);
    if (rc)
        fprintf(stderr, "zembed map: --html %s\n", err.msg);
    return rc ? 2 : 0;
}

int cli_map(int argc, char **argv)
{
    map_opts o;
    int p = parse(argc, argv, &o);
    if (p)
        return p > 0 ? 0 : 2;
    map_data m = {0};
    float *Y = NULL;
    int32_t *nn = NULL;
    int nn_k = 0;
    int rc = o.model ? load_model(&o, &m) : load_input(&o, &m);
    if (!rc && !o.pca && !(o.perplexity < m.n)) {
        fprintf(stderr, "zembed map: --perplexity %g must be less than the %d points\n", o.perplexity, m.n);
        rc = 2;
    }
    if (!rc && m.n < 2) {
        fprintf(stderr, "zembed map: %d point(s): nothing to map\n", m.n);
        rc = 2;
    }
    if (!rc && !(Y = malloc((size_t)m.n * 2 * sizeof *Y)))
        rc = 2;
    if (!rc)
        rc = project(&o, &m, Y, &nn, &nn_k);
    if (!rc && o.tsv)
        rc = write_tsv(o.tsv, &m, Y);
    if (!rc && o.html)
        rc = write_html(&o, &m, Y, nn, nn_k);
    free(Y), free(nn), free(m.X), free(m.ids), free(m.group);
    cli_free_strings(m.tokens, m.n);
    cli_free_strings(m.group_names, m.n_groups);
    return rc;
}
