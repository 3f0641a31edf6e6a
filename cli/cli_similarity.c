/* zembed similarity: cosine matrices between the tokens of two texts (input or contextual
 * embeddings) or between sentences, as a table, CSV or JSON, and as a self-contained HTML heatmap.
 * Local (--model DIR) and remote (--endpoint E, the pipeline's similarity op) give the same
 * numbers: both end in pool_cosine_matrix on the same embeddings. Without TEXT arguments and with
 * --endpoint, the older line-oriented remote command runs (cli_remote.c). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_local.h"
#include "viz_page.h"
#include "zb_args.h"
#include "zb_opt.h"

static const char usage_text[] =
    "usage: zembed similarity (--model DIR | --endpoint E) [options] TEXT_A TEXT_B\n"
    "       zembed similarity (--model DIR | --endpoint E) --level sentences [options] (TEXT... | --file F)\n"
    "\n"
    "Cosine similarity matrices, labelled on both axes:\n"
    "  --level tokens      every token of TEXT_A ([CLS] and [SEP] included) against every token of\n"
    "                      TEXT_B (default)\n"
    "  --level sentences   every sentence against every sentence (TEXT arguments, or --file: one\n"
    "                      sentence per line), on the model's sentence embeddings\n"
    "  --layer L           tokens: input (the context-free word embeddings: the same token scores\n"
    "                      exactly 1 wherever it stands), output (contextual; default) or both\n"
    "\n"
    "Output on stdout: an aligned table (default), --csv (first cell the layer, then the column\n"
    "labels; one block per layer, separated by a blank line) or --format json\n"
    "({\"level\",\"model\",\"demo_model\",\"layers\":[{\"layer\",\"rows\",\"cols\",\"scores\":[[...]]}]}).\n"
    "\n"
    "options:\n"
    "  --model DIR         compute in this process from a model folder\n"
    "  --endpoint E        ask a running pipeline (bin/gateway; default $ZEMBED_ENDPOINT)\n"
    "  --timeout-ms N      remote: give up after N ms (default 30000)\n"
    "  --threads N         local: encoder threads (default: the CPUs we may use)\n"
    "  --file F            sentences: read them from F, one per line (\"-\": stdin)\n"
    "  --csv, --format F   table (default), csv or json\n"
    "  --html FILE         also write a self-contained heatmap page (values in the cells, labels on\n"
    "                      both axes, the colour scale; both layers side by side with --layer both)\n"
    "  -h, --help          this text\n"
    "Exit status: 0 ok, 2 usage, model or connection error.\n"
    "\n"
    "Without TEXT arguments, `zembed similarity --endpoint E < pairs.tsv` is the line-oriented remote\n"
    "command: \"text A<TAB>text B\" lines -> {\"similarity\":x} (zembed embed --help lists its options).\n";

enum { FMT_TABLE, FMT_CSV, FMT_JSON };
enum { LAYER_OUTPUT = 1, LAYER_INPUT = 2, LAYER_BOTH = 3 };

typedef struct {
    const char *model, *endpoint, *file, *html;
    int sentences, layers, format, threads, timeout_ms;
    char **texts;          /* positional TEXT arguments */
    int n_texts;
} sim_opts;

typedef struct {
    cli_matrix m[2];       /* tokens: [0] input, [1] output (as asked); sentences: [0] */
    const char *name[2];
    int n;
    int demo;
    char model_name[128];
} sim_result;

/* ---- parse ----------------------------------------------------------------------------------- */

static int parse(int argc, char **argv, sim_opts *o)
{
    static const struct option longs[] = {
        {"model", required_argument, 0, 'm'}, {"endpoint", required_argument, 0, 'e'},
        {"level", required_argument, 0, 'l'}, {"layer", required_argument, 0, 'L'},
        {"csv", no_argument, 0, 'c'}, {"format", required_argument, 0, 'f'},
        {"html", required_argument, 0, 'H'}, {"file", required_argument, 0, 'F'},
        {"threads", required_argument, 0, 't'}, {"timeout-ms", required_argument, 0, 'T'}, ZB_OPT_STD};
    const char *who = "zembed similarity";
    *o = (sim_opts){.layers = LAYER_OUTPUT, .timeout_ms = 30000};
    int c, layer_set = 0, status;
    zb_opt p = {.prog = who, .usage = usage_text, .longopts = longs};
    while ((c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'e': o->endpoint = optarg; break;
        case 'F': o->file = optarg; break;
        case 'H': o->html = optarg; break;
        case 'c': o->format = FMT_CSV; break;
        case 't': if (zb_parse_int(who, "--threads", optarg, 1, 256, &o->threads)) return -1; break;
        case 'T': if (zb_parse_int(who, "--timeout-ms", optarg, 1, 86400000, &o->timeout_ms)) return -1; break;
        case 'l':
            if (!strcmp(optarg, "tokens")) o->sentences = 0;
            else if (!strcmp(optarg, "sentences")) o->sentences = 1;
            else { fprintf(stderr, "%s: --level is tokens or sentences, not '%s'\n", who, optarg); return -1; }
            break;
        case 'L':
            layer_set = 1;
            if (!strcmp(optarg, "output")) o->layers = LAYER_OUTPUT;
            else if (!strcmp(optarg, "input")) o->layers = LAYER_INPUT;
            else if (!strcmp(optarg, "both")) o->layers = LAYER_BOTH;
            else { fprintf(stderr, "%s: --layer is input, output or both, not '%s'\n", who, optarg); return -1; }
            break;
        case 'f':
            if (!strcmp(optarg, "table")) o->format = FMT_TABLE;
            else if (!strcmp(optarg, "csv")) o->format = FMT_CSV;
            else if (!strcmp(optarg, "json")) o->format = FMT_JSON;
            else { fprintf(stderr, "%s: --format is table, csv or json, not '%s'\n", who, optarg); return -1; }
            break;
        default: return status == 0 ? 1 : -1;      /* --help / --version done, or a usage error */
        }
    }
    o->texts = argv + optind;
    o->n_texts = argc - optind;
    if (!o->model == !o->endpoint) {
        fprintf(stderr, "%s: give exactly one of --model DIR and --endpoint E\n", who);
        return -1;
    }
    if (o->model && zb_opt_require_dir(who, "--model", o->model))
        return -1;
    if (o->sentences) {
        if (layer_set && o->layers != LAYER_OUTPUT) {
            fprintf(stderr, "%s: --layer applies to --level tokens (sentences use the sentence embeddings)\n", who);
            return -1;
        }
        if (!o->file == !o->n_texts || (!o->file && o->n_texts < 1)) {
            fprintf(stderr, "%s: --level sentences takes TEXT arguments or --file F (not both)\n", who);
            return -1;
        }
    } else if (o->n_texts != 2 || o->file) {
        fprintf(stderr, "%s: --level tokens takes exactly two texts, TEXT_A TEXT_B (got %d)\n", who, o->n_texts);
        return -1;
    }
    return 0;
}

/* Sentences of --file: lines without their end (\n, \r\n); empty lines are skipped. */
static char **read_lines(const char *path, int *n)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "zembed similarity: --file %s: cannot open\n", path);
        return NULL;
    }
    char **v = NULL, *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int k = 0, vcap = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (!len)
            continue;
        if (memchr(line, 0, (size_t)len)) {
            fprintf(stderr, "zembed similarity: %s: line %d holds a NUL byte\n", path, k + 1);
            goto fail;
        }
        if (k == vcap) {
            vcap = vcap ? vcap * 2 : 64;
            char **nv = realloc(v, (size_t)vcap * sizeof *nv);
            if (!nv)
                goto fail;
            v = nv;
        }
        if (!(v[k] = strdup(line)))
            goto fail;
        k++;
    }
    if (f != stdin)
        fclose(f);
    free(line);
    if (!k)
        fprintf(stderr, "zembed similarity: %s: no sentences\n", path);
    *n = k;
    return k ? v : (free(v), NULL);
fail:
    cli_free_strings(v, k);
    free(line);
    if (f != stdin)
        fclose(f);
    return NULL;
}

/* ---- run ------------------------------------------------------------------------------------- */

static int compute(const sim_opts *o, const char *const *texts, int n, sim_result *r)
{
    zb_err err;
    zb_clear(&err);
    cli_local *h = NULL;
    if (o->model && !(h = cli_local_open(o->model, o->threads, &err))) {
        fprintf(stderr, "zembed similarity: cannot load the model: %s\n", err.msg);
        return 2;
    }
    if (h)
        snprintf(r->model_name, sizeof r->model_name, "%s", cli_local_name(h));
    else
        snprintf(r->model_name, sizeof r->model_name, "%s", o->endpoint);
    int rc = 0;
    if (o->sentences) {
        r->name[r->n] = "sentences";
        rc = h ? cli_local_similarity(h, texts, n, texts, n, &r->m[r->n], &err)
               : cli_remote_similarity(o->endpoint, o->timeout_ms, texts, n, texts, n, 0, 0, &r->m[r->n]);
        if (!rc) {
            /* sentence labels: the texts themselves */
            cli_matrix *m = &r->m[r->n++];
            m->row_labels = calloc((size_t)n + 1, sizeof *m->row_labels);
            m->col_labels = calloc((size_t)n + 1, sizeof *m->col_labels);
            for (int i = 0; m->row_labels && m->col_labels && i < n; i++)
                m->row_labels[i] = strdup(texts[i]), m->col_labels[i] = strdup(texts[i]);
        }
    } else {
        for (int input = 1; input >= 0 && !rc; input--) {
            if (!(o->layers & (input ? LAYER_INPUT : LAYER_OUTPUT)))
                continue;
            r->name[r->n] = input ? "input" : "output";
            rc = h ? cli_local_token_similarity(h, texts[0], texts[1], input, &r->m[r->n], &err)
                   : cli_remote_similarity(o->endpoint, o->timeout_ms, texts, 1, texts + 1, 1, 1, input, &r->m[r->n]);
            if (!rc)
                r->n++;
        }
    }
    if (rc && h)
        fprintf(stderr, "zembed similarity: %s\n", err.msg);
    for (int k = 0; k < r->n; k++)
        r->demo |= r->m[k].demo;
    cli_local_close(&h);
    return rc ? 2 : 0;
}

static void csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static json_t *matrix_json(const char *name, const cli_matrix *m)
{
    json_t *rows = json_array(), *cols = json_array(), *sc = json_array();
    for (int i = 0; i < m->rows; i++) {
        json_array_append_new(rows, json_string(m->row_labels[i]));
        json_t *row = json_array();
        for (int j = 0; j < m->cols; j++)
            json_array_append_new(row, json_real(m->v[(size_t)i * m->cols + j]));
        json_array_append_new(sc, row);
    }
    for (int j = 0; j < m->cols; j++)
        json_array_append_new(cols, json_string(m->col_labels[j]));
    return json_pack("{s:s,s:o,s:o,s:o}", "layer", name, "rows", rows, "cols", cols, "scores", sc);
}

static void print_result(const sim_opts *o, const sim_result *r)
{
    if (o->format == FMT_JSON) {
        json_t *layers = json_array();
        for (int k = 0; k < r->n; k++)
            json_array_append_new(layers, matrix_json(r->name[k], &r->m[k]));
        json_t *j = json_pack("{s:s,s:s,s:b,s:o}", "level", o->sentences ? "sentences" : "tokens", "model",
                              r->model_name, "demo_model", r->demo, "layers", layers);
        char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9));
        if (s)
            puts(s);
        free(s);
        json_decref(j);
        return;
    }
    for (int k = 0; k < r->n; k++) {
        const cli_matrix *m = &r->m[k];
        if (k)
            putchar('\n');
        if (o->format == FMT_CSV) {
            fputs(r->name[k], stdout);
            for (int j = 0; j < m->cols; j++)
                putchar(','), csv_field(m->col_labels[j]);
            putchar('\n');
            for (int i = 0; i < m->rows; i++) {
                csv_field(m->row_labels[i]);
                for (int j = 0; j < m->cols; j++)
                    printf(",%.6f", (double)m->v[(size_t)i * m->cols + j]);
                putchar('\n');
            }
            continue;
        }
        /* table: labels cut to 14 bytes (never inside a UTF-8 sequence), values 3 decimals */
        printf("%s%s\n%-14s", r->name[k], r->demo ? " (demo model: random weights)" : "", "");
        for (int j = 0; j < m->cols; j++)
            printf(" %8.8s", m->col_labels[j]);
        putchar('\n');
        for (int i = 0; i < m->rows; i++) {
            int w = 0;
            const char *s = m->row_labels[i];
            while (s[w] && w < 14)
                w++;
            while (w && s[w] && ((unsigned char)s[w] & 0xC0) == 0x80)
                w--;
            printf("%-*.*s%*s", w, w, s, 14 - w, "");
            for (int j = 0; j < m->cols; j++)
                printf(" %8.3f", (double)m->v[(size_t)i * m->cols + j]);
            putchar('\n');
        }
    }
}

static int write_html(const sim_opts *o, const sim_result *r)
{
    json_t *panels = json_array();
    for (int k = 0; k < r->n; k++) {
        json_t *p = matrix_json(r->name[k], &r->m[k]), *flat = json_array();
        const cli_matrix *m = &r->m[k];
        for (size_t q = 0; q < (size_t)m->rows * m->cols; q++)
            json_array_append_new(flat, json_real(m->v[q]));
        json_object_del(p, "scores");
        json_object_set_new(p, "v", flat);
        json_object_set_new(p, "title", json_string(!strcmp(r->name[k], "input") ? "Input layer (context-free word embeddings)"
                                                    : !strcmp(r->name[k], "output") ? "Output layer (contextual token embeddings)"
                                                    : "Sentence embeddings"));
        json_array_append_new(panels, p);
    }
    char sub[512];
    if (o->sentences)
        snprintf(sub, sizeof sub, "Cosine similarity of %d sentences, model %s", r->m[0].rows, r->model_name);
    else
        snprintf(sub, sizeof sub, "Token-by-token cosine similarity, model %s", r->model_name);
    json_t *d = json_pack("{s:s,s:s,s:b,s:o}", "title", o->sentences ? "Sentence similarity" : "Token similarity",
                          "subtitle", sub, "demo", r->demo, "panels", panels);
    zb_err err;
    int rc = viz_page_write(o->html, VIZ_PAGE_HEATMAP, o->sentences ? "zembed: sentence similarity" : "zembed: token similarity", d, &err);
    json_decref(d);
    if (rc)
        fprintf(stderr, "zembed similarity: --html %s\n", err.msg);
    return rc ? 2 : 0;
}

int cli_similarity_is_matrix(int argc, char **argv)
{
    static const char *const valued[] = {"--endpoint", "--timeout-ms", "--batch", "--space", "--max-length",
                                         "--truncation-side", "--threads", NULL};
    static const char *const ours[] = {"--model", "--level", "--layer", "--file", "--html", "--csv", "--format",
                                       "--help", "-h", NULL};
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-')
            return 1;                           /* a TEXT argument */
        for (int k = 0; ours[k]; k++)
            if (!strcmp(argv[i], ours[k]))
                return 1;
        for (int k = 0; valued[k]; k++)
            if (!strcmp(argv[i], valued[k]))
                i++;                            /* skip its value */
    }
    return 0;
}

int cli_similarity(int argc, char **argv)
{
    sim_opts o;
    int p = parse(argc, argv, &o);
    if (p)
        return p > 0 ? 0 : 2;
    char **lines = NULL;
    int n = o.n_texts;
    if (o.file && !(lines = read_lines(o.file, &n)))
        return 2;
    sim_result r = {0};
    int rc = compute(&o, lines ? (const char *const *)lines : (const char *const *)o.texts, n, &r);
    if (!rc) {
        print_result(&o, &r);
        if (o.html)
            rc = write_html(&o, &r);
        if (cli_flush_stdout("similarity"))
            rc = 2;
    }
    for (int k = 0; k < r.n; k++)
        cli_matrix_free(&r.m[k]);
    cli_free_strings(lines, n);
    return rc;
}
