/* zembed encode: UTF-8 lines on stdin -> sentence or token embeddings on stdout, in-process.
 *
 * Lines are read in windows (bounded by a line count and a token count, so memory stays bounded
 * whatever the input), tokenized with tok.h, encoded with enc_embed (the encoder service's code
 * path) and written in input order. A line that fails gives an error object and the stream goes
 * on; the exit status is then 1. */
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_npy.h"
#include "enc.h"
#include "enc_embed.h"
#include "pool.h"
#include "tok.h"
#include "zb_args.h"
#include "zb_input.h"
#include "zb_opt.h"
#include "zb_progress.h"
#include "zm.h"

#define MAX_LINE (1 << 20)        /* bytes of one input line */
#define WINDOW_LINES 4096
#define WINDOW_TOKEN_BUDGETS 4    /* a window holds up to this many forward passes of tokens */

static const char usage_text[] =
        "usage: zembed encode --model DIR [options] [FILE...]\n"
        "\n"
        "Reads UTF-8 text from the FILEs in order (\"-\" is stdin), else stdin, one input per line (a\n"
        "trailing \\r is dropped), and writes one JSON object per line, in input order:\n"
        "  --output sentence   {\"embedding\":[...]}  (pooled as the model's 1_Pooling/config.json says)\n"
        "  --output tokens     {\"tokens\":[...],\"token_embeddings\":[[...],...]}  (last hidden state)\n"
        "  --output input      the same, with the context-free input embeddings (rows of the word\n"
        "                      embedding matrix) instead of the contextual ones\n"
        "Floats are printed with 9 significant digits, so they read back as the same float32.\n"
        "A line that fails gives {\"error\":{\"code\":...,\"message\":...}} and the stream goes on;\n"
        "the exit status is then 1 (2 for a usage or model error). Ctrl-C (SIGINT) or SIGTERM stops\n"
        "cleanly: the lines done are written whole (npy: a valid array of their rows), stderr says\n"
        "how many, and the exit status is 130 (143).\n"
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
        "  --precision P        fp32 (default, exact), bf16 or int8: the dense layers in bf16 or\n"
        "                       int8 on oneDNN: faster, sentence vectors within cosine 0.9999 /\n"
        "                       0.999 of fp32 (docs/PRECISION.md); refused with a message on a\n"
        "                       CPU without the instructions (AVX512_BF16 / VNNI)\n"
        "  --batch-tokens N     tokens per forward pass (default 2048; at least max-length);\n"
        "                       bounds memory: about N x (5 x hidden + intermediate) floats\n"
        "  --format F           jsonl (default) or npy: one float32 .npy array on stdout,\n"
        "                       [lines, dim] for sentence (a failed line is a row of NaN),\n"
        "                       [total tokens, hidden] for tokens/input (the lines' rows\n"
        "                       concatenated in input order; `zembed tokenize` gives the counts;\n"
        "                       a failed line has no rows). Errors go to stderr. Into a file,\n"
        "                       rows are written as they come and the header is rewritten at\n"
        "                       the end; into a pipe they are held in memory until the end.\n"
        "  --quiet              no progress bar (it is drawn on stderr only when that is a terminal)\n"
        "  -h, --help           this text         --version   the version of zembed\n";

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
    int quiet;                          /* no progress bar */
    int demo;                           /* a generated demo model: each line says "demo_model": true */
    zb_input *in;                       /* the text lines */
    cli_npy *npy_out;                   /* --format npy: the array being written */
    long lines_done;                    /* lines whose output is written */
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
                    if (!nan || cli_npy_append(c->npy_out, nan, 1))
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
                rc |= cli_npy_append(c->npy_out, v, 1) ? 2 : 0;
            else {
                fputs("{\"embedding\":", stdout);
                put_floats(v, (int)dim);
                fputs(c->demo ? ",\"demo_model\":true}\n" : "}\n", stdout);
            }
        } else if (c->npy) {
            rc |= cli_npy_append(c->npy_out, out + t0 * dim, (size_t)w->len[i]) ? 2 : 0;
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
            fputs(c->demo ? "],\"demo_model\":true}\n" : "]}\n", stdout);
        }
        t0 += (size_t)w->len[i];
        g++;
    }
    free(lens), free(out);
    if (rc) {
        fprintf(stderr, "zembed encode: writing the npy output failed (out of memory or disk)\n");
        return 2;
    }
    c->lines_done = w->lineno[w->n - 1];
    return any_failed;
}

static void window_reset(window *w)
{
    for (int i = 0; i < w->n; i++)
        free(w->msg[i]);
    w->n = 0;
    w->n_tok = 0;
}

/* SIGINT/SIGTERM during a run: the signal's number. The run stops at the next window boundary
 * (the window being written is finished, lines read but not encoded are dropped) and a read
 * waiting for input gives up. SA_RESETHAND: a second Ctrl-C kills at once. */
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;   /* writes restart; zb_input's poll() does not */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int run(ctx *c)
{
    static window w;
    char *line;
    tok_encoding enc;
    tok_encoding_init(&enc);
    int status = 0, too_long;
    long lineno = 0;
    size_t len;
    size_t window_tokens = (size_t)enc_runner_max_tokens(c->runner) * WINDOW_TOKEN_BUDGETS;
    zb_err e;
    uint64_t tokens_done = 0;
    if (c->npy && !(c->npy_out = cli_npy_new(stdout, c->mode == OUT_SENTENCE ? (size_t)c->pc.out_dim
                                                                             : (size_t)c->hidden))) {
        fprintf(stderr, "zembed encode: cannot start the npy output: %s\n", strerror(errno));
        return 2;
    }
    zb_progress *bar = zb_progress_new(&(zb_progress_opts){.label = "zembed encode", .fd = 2,
                                                           .quiet = c->quiet,
                                                           .total = zb_input_bytes_total(c->in)});
    int out_failed = 0;                 /* stdout refused a write: said once, then stop */
    zb_input_set_stop(c->in, &stop_signal);
    catch_stop_signals();
    for (;;) {
        /* Input that would block (a person typing, a slow producer): encode and show what we
         * have first, so `zembed encode` answers line by line in a pipe. */
        int more = 1;
        if (w.n && !zb_input_ready(c->in))
            more = 0;
        else if ((more = zb_input_line(c->in, &line, &len, &too_long, &e)) < 0) {
            fprintf(stderr, "zembed encode: %s\n", e.msg);
            status = 2;
            break;
        }
        if (stop_signal)
            break;
        if (more > 0) {
            w.lineno[w.n] = ++lineno;
            add_line(c, &w, line, len, too_long, &enc);
        }
        if (w.n && (!more || w.n == WINDOW_LINES || w.n_tok >= window_tokens)) {
            int r = flush_window(c, &w);
            tokens_done += w.n_tok;
            zb_progress_update(bar, zb_input_bytes_done(c->in), (uint64_t)c->lines_done, tokens_done);
            window_reset(&w);
            if (r == 2) {
                status = 2;
                break;
            }
            status |= r;
            /* The reader of a pipe sees these lines now; a full disk or a closed pipe ends the work
             * here, with its reason, instead of encoding the rest for nobody. */
            if ((!more || ferror(stdout)) && (out_failed = cli_flush_stdout("encode"))) {
                status = 2;
                break;
            }
            continue;
        }
        if (!more)
            break;
    }
    zb_progress_end(&bar);
    if (c->npy && status != 2 && cli_npy_finish(c->npy_out))
        status = 2;
    if (!out_failed && cli_flush_stdout("encode"))
        status = 2;
    if (stop_signal) {
        fprintf(stderr, "zembed encode: interrupted: %ld line%s done, the output holds %s (%ld read)\n",
                c->lines_done, c->lines_done == 1 ? "" : "s",
                c->npy ? "a valid .npy of their rows" : "each of them complete", lineno);
        status = 128 + stop_signal;
    }
    window_reset(&w);
    free(w.ids), free(w.types);
    w.ids = w.types = NULL;
    w.cap_tok = 0;
    tok_encoding_free(&enc);
    return status;
}

typedef struct {
    const char *model;
    int pooling;                    /* a pool_mode, -1: the model's */
    int max_len, no_trunc, normalize, threads, batch_tokens, npy, quiet;
    int precision;                  /* an enc_precision */
    out_mode mode;
    char **files;                   /* input files; none: stdin */
    int n_files;
} encode_opts;

enum { O_MODEL = 0x100, O_OUTPUT, O_POOLING, O_FORMAT, O_NORMALIZE, O_NO_TRUNC, O_MAXLEN, O_THREADS,
       O_BATCH_TOKENS, O_QUIET, O_PRECISION };

/* parse: argv -> o. ZB_OPT_RUN to go on, else the exit status (--help, --version: 0). */
static int parse(int argc, char **argv, encode_opts *o)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, O_MODEL}, {"output", required_argument, NULL, O_OUTPUT},
        {"pooling", required_argument, NULL, O_POOLING}, {"format", required_argument, NULL, O_FORMAT},
        {"normalize", no_argument, NULL, O_NORMALIZE}, {"no-truncate", no_argument, NULL, O_NO_TRUNC},
        {"max-length", required_argument, NULL, O_MAXLEN}, {"threads", required_argument, NULL, O_THREADS},
        {"batch-tokens", required_argument, NULL, O_BATCH_TOKENS}, {"quiet", no_argument, NULL, O_QUIET},
        {"precision", required_argument, NULL, O_PRECISION}, ZB_OPT_STD};
    static const char *const precisions[] = {"fp32", "bf16", "int8", NULL};   /* enc_precision order */
    static const char *const outputs[] = {"sentence", "tokens", "input", NULL};
    static const char *const formats[] = {"jsonl", "npy", NULL};
    const char *poolings[POOL_N_MODES + 1] = {NULL};
    for (int m = 0; m < POOL_N_MODES; m++)
        poolings[m] = pool_mode_name((pool_mode)m);
    zb_opt p = {.prog = "zembed encode", .usage = usage_text, .longopts = longopts};
    int c, status, mode = OUT_SENTENCE;
    while ((c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        int bad = 0;
        switch (c) {
        case O_MODEL: o->model = optarg; break;
        case O_OUTPUT: bad = zb_opt_choice(p.prog, "--output", optarg, outputs, &mode); break;
        case O_POOLING: bad = zb_opt_choice(p.prog, "--pooling", optarg, poolings, &o->pooling); break;
        case O_FORMAT: bad = zb_opt_choice(p.prog, "--format", optarg, formats, &o->npy); break;
        case O_NORMALIZE: o->normalize = 1; break;
        case O_NO_TRUNC: o->no_trunc = 1; break;
        case O_MAXLEN: bad = zb_parse_int(p.prog, "--max-length", optarg, 1, 1 << 20, &o->max_len); break;
        case O_THREADS: bad = zb_parse_int(p.prog, "--threads", optarg, 1, 256, &o->threads); break;
        case O_BATCH_TOKENS:
            bad = zb_parse_int(p.prog, "--batch-tokens", optarg, 1, 1 << 20, &o->batch_tokens);
            break;
        case O_QUIET: o->quiet = 1; break;
        case O_PRECISION: bad = zb_opt_choice(p.prog, "--precision", optarg, precisions, &o->precision); break;
        default: return status;
        }
        if (bad)
            return 2;
    }
    o->mode = (out_mode)mode;
    o->files = argv + optind;
    o->n_files = argc - optind;
    if (!o->model) {
        fprintf(stderr, "zembed encode: --model DIR is required (zembed encode --help)\n");
        return 2;
    }
    if (zb_opt_require_dir("zembed encode", "--model", o->model))
        return 2;
    return ZB_OPT_RUN;
}

/* load: the model, tokenizer, pooling and runner o asks for, into c. 0 or 2 (said why). */
static int load(const encode_opts *o, ctx *c)
{
    zb_err e;
    zb_clear(&e);
    c->mode = o->mode;
    c->npy = o->npy;
    c->quiet = o->quiet;
    enc_set_threads(o->threads);
    zm_open_opts zo;
    zm_open_opts_default(&zo);
    zo.max_length = o->max_len;
    zo.no_truncate = o->no_trunc;
    zo.batch_tokens = o->batch_tokens;
    zo.pooling = o->pooling;
    zo.normalize = o->normalize ? 1 : -1;
    zo.precision = o->precision;
    if (!(c->zm = zm_open(o->model, &zo, &e))) {
        fprintf(stderr, "zembed encode: cannot load the model: %s\n", e.msg);
        return 2;
    }
    c->tok = zm_tokenizer(c->zm);
    c->model = zm_weights(c->zm);
    c->runner = zm_runner(c->zm);
    c->pc = *zm_pooling(c->zm);
    c->hidden = zm_info_get(c->zm)->hidden;
    zm_tok_options(c->zm, &c->topt);
    if ((c->demo = zm_info_get(c->zm)->demo))
        fprintf(stderr, "zembed encode: %s is a generated demo model (random weights): its vectors mean "
                "nothing%s\n", o->model, o->npy ? "" : "; each line says \"demo_model\": true");
    if (!(c->in = zb_input_open(o->files, o->n_files, MAX_LINE, &e))) {
        fprintf(stderr, "zembed encode: %s\n", e.msg);
        return 2;
    }
    return 0;
}

int cli_encode(int argc, char **argv)
{
    encode_opts o = {.batch_tokens = 2048, .pooling = -1};
    int status = parse(argc, argv, &o);
    if (status != ZB_OPT_RUN)
        return status;
    ctx c = {0};
    status = load(&o, &c);
    if (!status)
        status = run(&c);
    zb_input_destroy(&c.in);
    cli_npy_free(&c.npy_out);
    zm_close(&c.zm);
    return status;
}
