/* zembed encode: UTF-8 lines on stdin -> sentence or token embeddings on stdout, in-process.
 *
 * Lines are read in windows (bounded by a line count and a token count, so memory stays bounded
 * whatever the input), tokenized with tok.h, encoded with enc_embed (the encoder service's code
 * path) and written in input order. A line that fails gives an error object and the stream goes
 * on; the exit status is then 1. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "enc.h"
#include "enc_embed.h"
#include "pool.h"
#include "tok.h"
#include "zb_args.h"
#include "zm.h"

#define MAX_LINE (1 << 20)        /* bytes of one input line */
#define WINDOW_LINES 4096
#define WINDOW_TOKEN_BUDGETS 4    /* a window holds up to this many forward passes of tokens */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: zembed encode --model DIR [options] < lines.txt\n"
        "\n"
        "Reads UTF-8 text, one input per line (a trailing \\r is dropped), and writes one JSON object\n"
        "per line, in input order:\n"
        "  --output sentence   {\"embedding\":[...]}  (pooled as the model's 1_Pooling/config.json says)\n"
        "  --output tokens     {\"tokens\":[...],\"token_embeddings\":[[...],...]}  (last hidden state)\n"
        "  --output input      the same, with the context-free input embeddings (rows of the word\n"
        "                      embedding matrix) instead of the contextual ones\n"
        "Floats are printed with 9 significant digits, so they read back as the same float32.\n"
        "A line that fails gives {\"error\":{\"code\":...,\"message\":...}} and the stream goes on;\n"
        "the exit status is then 1 (2 for a usage or model error).\n"
        "\n"
        "options:\n"
        "  --model DIR          Hugging Face / sentence-transformers folder: config.json,\n"
        "                       model.safetensors (or shards + index), tokenizer files\n"
        "  --output MODE        sentence (default), tokens or input\n"
        "  --pooling MODE       mean, cls, max, mean_sqrt_len_tokens or lasttoken (default: the\n"
        "                       model's 1_Pooling/config.json, else mean)\n"
        "  --normalize          L2-normalize sentence embeddings (default: when modules.json has a\n"
        "                       Normalize module)\n"
        "  --max-length N       at most N tokens per line, [CLS]/[SEP] included (default: the\n"
        "                       model's max_seq_length; at most max_position_embeddings)\n"
        "  --no-truncate        a line longer than max-length is an error (too_long) instead of cut\n"
        "  --threads N          threads for the encoder (default: the CPUs this process may use,\n"
        "                       cgroup quota and affinity included)\n"
        "  --batch-tokens N     tokens per forward pass (default 2048; at least max-length);\n"
        "                       bounds memory: about N x (5 x hidden + intermediate) floats\n"
        "  --format F           jsonl (default) or npy: one float32 .npy array on stdout,\n"
        "                       [lines, dim] for sentence (a failed line is a row of NaN),\n"
        "                       [total tokens, hidden] for tokens/input (the lines' rows\n"
        "                       concatenated in input order; `zembed tokenize` gives the counts;\n"
        "                       a failed line has no rows). Errors go to stderr. npy output is\n"
        "                       held in memory until the end, as its header needs the row count.\n"
        "  -h, --help           this text\n");
}

typedef enum { OUT_SENTENCE, OUT_TOKENS, OUT_INPUT } out_mode;

typedef struct {
    zm_model *zm;           /* the model folder, settled (max_length, pooling, normalize) */
    const tok_tokenizer *tok;
    tok_options topt;
    const enc_model *model;
    enc_runner *runner;
    pool_config pc;
    out_mode mode;
    int npy;
    int hidden;
    /* npy: everything written so far */
    float *npy_data;
    size_t npy_rows, npy_cap;
} ctx;

/* One window of lines. */
typedef struct {
    int n;
    long lineno[WINDOW_LINES];
    int code[WINDOW_LINES];             /* 0, or the error of this line */
    char *msg[WINDOW_LINES];            /* its message (malloc'd) */
    int len[WINDOW_LINES];              /* tokens of good lines */
    int32_t *ids, *types;               /* good lines' tokens, packed */
    size_t n_tok, cap_tok;
} window;

static int parse_int(const char *flag, const char *v, int lo, int hi, int *out)
{
    return zb_parse_int("zembed encode", flag, v, lo, hi, out);
}

/* Next line of stdin into buf (cap MAX_LINE + 1): 1 read, 0 EOF. *too_long when the line had
 * more than MAX_LINE bytes (the rest is skipped). */
static int read_line(char *buf, size_t *len, int *too_long)
{
    size_t n = 0;
    int c;
    *too_long = 0;
    while ((c = getchar_unlocked()) != EOF && c != '\n') {
        if (n < MAX_LINE)
            buf[n++] = (char)c;
        else
            *too_long = 1;
    }
    if (c == EOF && n == 0 && !*too_long)
        return 0;
    if (n && buf[n - 1] == '\r')
        n--;
    *len = n;
    return 1;
}

static void fail_line(window *w, int i, int code, const char *fmt_msg)
{
    char m[ZB_ERR_MSG_MAX + 64];
    snprintf(m, sizeof m, "line %ld: %s", w->lineno[i], fmt_msg);
    w->code[i] = code;
    w->msg[i] = strdup(m);
}

/* Tokenize line i of the window into the packed arrays. */
static void add_line(ctx *c, window *w, const char *text, size_t len, int too_long, tok_encoding *enc)
{
    int i = w->n++;
    w->code[i] = 0;
    w->msg[i] = NULL;
    w->len[i] = 0;
    zb_err e;
    zb_clear(&e);
    if (too_long) {
        char m[96];
        snprintf(m, sizeof m, "line longer than %d bytes", MAX_LINE);
        fail_line(w, i, ZB_ETOOLONG, m);
        return;
    }
    int rc = tok_encode(c->tok, text, len, NULL, 0, &c->topt, enc, &e);
    if (rc) {
        fail_line(w, i, rc, e.msg);
        return;
    }
    if (w->n_tok + (size_t)enc->n > w->cap_tok) {
        size_t nc = (w->cap_tok ? w->cap_tok * 2 : 1 << 14) + (size_t)enc->n;
        int32_t *a = realloc(w->ids, nc * sizeof *a), *b = a ? realloc(w->types, nc * sizeof *b) : NULL;
        if (a)
            w->ids = a;
        if (!a || !b) {
            fail_line(w, i, ZB_ENOMEM, "out of memory");
            return;
        }
        w->types = b;
        w->cap_tok = nc;
    }
    memcpy(w->ids + w->n_tok, enc->ids, (size_t)enc->n * sizeof *enc->ids);
    memcpy(w->types + w->n_tok, enc->type_ids, (size_t)enc->n * sizeof *enc->type_ids);
    w->len[i] = enc->n;
    w->n_tok += (size_t)enc->n;
}

static void put_floats(const float *v, int n)
{
    putchar_unlocked('[');
    for (int j = 0; j < n; j++)
        printf(j ? ",%.9g" : "%.9g", (double)v[j]);
    putchar_unlocked(']');
}

static void put_error(int code, const char *msg)
{
    json_t *s = json_string(msg ? msg : "error");
    if (!s)   /* a message that is not UTF-8 (it quotes the input): say so, without the text */
        s = json_string("the error message could not be encoded");
    char *m = json_dumps(s, JSON_ENCODE_ANY);
    printf("{\"error\":{\"code\":\"%s\",\"message\":%s}}\n", zb_code_name(code), m ? m : "\"\"");
    free(m);
    json_decref(s);
}

static void put_token(const tok_tokenizer *t, int32_t id)
{
    const char *s = tok_id_to_token(t, id);
    json_t *j = s ? json_string(s) : NULL;
    char *m = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    fputs(m ? m : "null", stdout);
    free(m);
    json_decref(j);
}

static int npy_append(ctx *c, const float *rows, size_t n_rows, size_t dim)
{
    if (c->npy_rows + n_rows > c->npy_cap) {
        size_t nc = c->npy_cap ? c->npy_cap * 2 : 1024;
        while (nc < c->npy_rows + n_rows)
            nc *= 2;
        float *p = realloc(c->npy_data, nc * dim * sizeof *p);
        if (!p)
            return ZB_ENOMEM;
        c->npy_data = p;
        c->npy_cap = nc;
    }
    memcpy(c->npy_data + c->npy_rows * dim, rows, n_rows * dim * sizeof *rows);
    c->npy_rows += n_rows;
    return ZB_OK;
}

/* Encode the window's good lines and write every line of it. Returns 1 if a line failed, 2 on a
 * fault that ends the run. */
static int flush_window(ctx *c, window *w)
{
    int n_good = 0, any_failed = 0, H = c->hidden;
    int *lens = malloc(((size_t)w->n + 1) * sizeof *lens);
    size_t dim = c->mode == OUT_SENTENCE ? (size_t)c->pc.out_dim : (size_t)H;
    size_t rows = c->mode == OUT_SENTENCE ? (size_t)w->n : w->n_tok;
    float *out = malloc((rows ? rows : 1) * dim * sizeof *out);
    if (!lens || !out) {
        free(lens), free(out);
        fprintf(stderr, "zembed encode: out of memory for a window of %d lines\n", w->n);
        return 2;
    }
    for (int i = 0; i < w->n; i++)
        if (!w->code[i])
            lens[n_good++] = w->len[i];
    zb_err e;
    zb_clear(&e);
    int rc;
    if (c->mode == OUT_SENTENCE)
        rc = enc_embed_sentences(c->runner, &c->pc, w->ids, w->types, lens, n_good, out, &e);
    else if (c->mode == OUT_TOKENS)
        rc = enc_embed_tokens(c->runner, w->ids, w->types, lens, n_good, out, &e);
    else
        rc = enc_input_embeddings(c->model, w->ids, (int)w->n_tok, out, &e);
    if (rc) {
        /* Inputs are checked before they get here (max-length, vocabulary size), so this is a
         * fault of the environment (memory) rather than of one line. */
        fprintf(stderr, "zembed encode: lines %ld..%ld: %s\n", w->lineno[0], w->lineno[w->n - 1], e.msg);
        free(lens), free(out);
        return 2;
    }

    size_t t0 = 0;
    int g = 0;
    for (int i = 0; i < w->n; i++) {
        if (w->code[i]) {
            any_failed = 1;
            if (c->npy) {
                fprintf(stderr, "zembed encode: %s\n", w->msg[i]);
                if (c->mode == OUT_SENTENCE) {
                    float *nan = malloc(dim * sizeof *nan);
                    for (size_t j = 0; nan && j < dim; j++)
                        nan[j] = NAN;
                    if (!nan || npy_append(c, nan, 1, dim))
                        rc = 2;
                    free(nan);
                }
            } else {
                put_error(w->code[i], w->msg[i]);
            }
            continue;
        }
        if (c->mode == OUT_SENTENCE) {
            const float *v = out + (size_t)g * dim;
            if (c->npy)
                rc |= npy_append(c, v, 1, dim) ? 2 : 0;
            else {
                fputs("{\"embedding\":", stdout);
                put_floats(v, (int)dim);
                fputs("}\n", stdout);
            }
        } else if (c->npy) {
            rc |= npy_append(c, out + t0 * dim, (size_t)w->len[i], dim) ? 2 : 0;
        } else {
            fputs("{\"tokens\":[", stdout);
            for (int k = 0; k < w->len[i]; k++) {
                if (k)
                    putchar_unlocked(',');
                put_token(c->tok, w->ids[t0 + k]);
            }
            fputs("],\"token_embeddings\":[", stdout);
            for (int k = 0; k < w->len[i]; k++) {
                if (k)
                    putchar_unlocked(',');
                put_floats(out + (t0 + k) * dim, (int)dim);
            }
            fputs("]}\n", stdout);
        }
        t0 += (size_t)w->len[i];
        g++;
    }
    free(lens), free(out);
    if (rc) {
        fprintf(stderr, "zembed encode: out of memory holding the npy output\n");
        return 2;
    }
    return any_failed;
}

static void window_reset(window *w)
{
    for (int i = 0; i < w->n; i++)
        free(w->msg[i]);
    w->n = 0;
    w->n_tok = 0;
}

/* NumPy .npy v1.0: magic, header dict padded with spaces to a multiple of 64, then the data. */
static void write_npy(const float *data, size_t rows, size_t cols)
{
    char hdr[160];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows, cols);
    int total = (10 + n + 1 + 63) / 64 * 64;
    int hlen = total - 10;
    fwrite("\x93NUMPY\x01\x00", 1, 8, stdout);
    putchar_unlocked(hlen & 0xff);
    putchar_unlocked(hlen >> 8);
    fwrite(hdr, 1, (size_t)n, stdout);
    for (int i = 10 + n; i < total - 1; i++)
        putchar_unlocked(' ');
    putchar_unlocked('\n');
    fwrite(data, sizeof *data, rows * cols, stdout);
}

static int run(ctx *c)
{
    static window w;
    char *line = malloc(MAX_LINE + 1);
    tok_encoding enc;
    tok_encoding_init(&enc);
    int status = 0, too_long;
    long lineno = 0;
    size_t len;
    size_t window_tokens = (size_t)enc_runner_max_tokens(c->runner) * WINDOW_TOKEN_BUDGETS;
    if (!line) {
        fprintf(stderr, "zembed encode: out of memory\n");
        return 2;
    }
    for (;;) {
        int more = read_line(line, &len, &too_long);
        if (more) {
            w.lineno[w.n] = ++lineno;
            add_line(c, &w, line, len, too_long, &enc);
        }
        if (w.n && (!more || w.n == WINDOW_LINES || w.n_tok >= window_tokens)) {
            int r = flush_window(c, &w);
            window_reset(&w);
            if (r == 2) {
                status = 2;
                break;
            }
            status |= r;
        }
        if (!more)
            break;
    }
    if (status != 2 && c->npy)
        write_npy(c->npy_data, c->npy_rows, c->mode == OUT_SENTENCE ? (size_t)c->pc.out_dim : (size_t)c->hidden);
    window_reset(&w);
    free(w.ids), free(w.types);
    w.ids = w.types = NULL;
    w.cap_tok = 0;
    free(line);
    tok_encoding_free(&enc);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "zembed encode: writing the output failed\n");
        return 2;
    }
    return status;
}

int cli_encode(int argc, char **argv)
{
    const char *model = NULL, *pooling = NULL;
    int max_len = 0, no_trunc = 0, normalize = 0, threads = 0, batch_tokens = 2048, npy = 0;
    out_mode mode = OUT_SENTENCE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--model") && v) {
            model = argv[++i];
        } else if (!strcmp(a, "--output") && v) {
            i++;
            if (!strcmp(v, "sentence")) mode = OUT_SENTENCE;
            else if (!strcmp(v, "tokens")) mode = OUT_TOKENS;
            else if (!strcmp(v, "input")) mode = OUT_INPUT;
            else {
                fprintf(stderr, "zembed encode: --output is sentence, tokens or input, not '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--pooling") && v) {
            pool_mode pm;
            if (pool_mode_parse(v, &pm)) {
                fprintf(stderr, "zembed encode: --pooling is mean, cls, max, mean_sqrt_len_tokens or lasttoken, not '%s'\n", v);
                return 2;
            }
            pooling = argv[++i];
        } else if (!strcmp(a, "--format") && v) {
            i++;
            if (!strcmp(v, "jsonl")) npy = 0;
            else if (!strcmp(v, "npy")) npy = 1;
            else {
                fprintf(stderr, "zembed encode: --format is jsonl or npy, not '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--normalize")) {
            normalize = 1;
        } else if (!strcmp(a, "--no-truncate")) {
            no_trunc = 1;
        } else if (!strcmp(a, "--max-length")) {
            if (parse_int(a, v, 1, 1 << 20, &max_len)) return 2;
            i++;
        } else if (!strcmp(a, "--threads")) {
            if (parse_int(a, v, 1, 256, &threads)) return 2;
            i++;
        } else if (!strcmp(a, "--batch-tokens")) {
            if (parse_int(a, v, 1, 1 << 20, &batch_tokens)) return 2;
            i++;
        } else {
            fprintf(stderr, "zembed encode: unknown option or missing value: '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "zembed encode: --model DIR is required (zembed encode --help)\n");
        return 2;
    }

    ctx c = {.mode = mode, .npy = npy};
    zb_err e;
    zb_clear(&e);
    int status = 2;
    enc_set_threads(threads);
    zm_open_opts zo;
    zm_open_opts_default(&zo);
    zo.max_length = max_len;
    zo.no_truncate = no_trunc;
    zo.batch_tokens = batch_tokens;
    zo.normalize = normalize ? 1 : -1;
    if (pooling) {
        pool_mode pm;
        pool_mode_parse(pooling, &pm);
        zo.pooling = pm;
    }
    if (!(c.zm = zm_open(model, &zo, &e))) {
        fprintf(stderr, "zembed encode: cannot load the model: %s\n", e.msg);
        goto out;
    }
    c.tok = zm_tokenizer(c.zm);
    c.model = zm_weights(c.zm);
    c.runner = zm_runner(c.zm);
    c.pc = *zm_pooling(c.zm);
    c.hidden = zm_info_get(c.zm)->hidden;
    zm_tok_options(c.zm, &c.topt);
    status = run(&c);
out:
    free(c.npy_data);
    zm_close(&c.zm);
    return status;
}
