/* zembed tokenize: UTF-8 lines on stdin -> one JSON object per line on stdout.
 * The JSON is written by hand (numbers and a tested string escaper) because this is a
 * throughput path; every string goes through json_str(), which escapes quotes, backslashes,
 * control characters and U+2028/U+2029 (valid JSON and safe to embed in JavaScript). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tok.h"
#include "zb_args.h"
#include "zb_input.h"
#include "zb_opt.h"
#include "zm.h"

static const char usage_text[] =
        "usage: zembed tokenize --model DIR [options] [FILE...]\n"
        "\n"
        "Reads UTF-8 text from the FILEs in order (\"-\" is stdin), else stdin, one input per line (a\n"
        "trailing \\r is dropped), and writes one JSON object per line:\n"
        "  {\"input_ids\":[...],\"token_type_ids\":[...],\"attention_mask\":[...],\"tokens\":[...],\n"
        "   \"offsets\":[[start,end],...]}\n"
        "Offsets are Unicode code point indices into the line (into the second text for its tokens);\n"
        "special tokens added around the text get [0,0]. A line that fails gives\n"
        "  {\"error\":{\"code\":\"invalid_utf8\",\"message\":\"line 7: invalid UTF-8 at byte 12\"}}\n"
        "and the stream goes on; the exit status is then 1 (2 for a usage or model error).\n"
        "\n"
        "options:\n"
        "  --model DIR             model folder: tokenizer.json, or vocab.txt + tokenizer_config.json\n"
        "  --max-length N          at most N tokens, special tokens included (default: the model's:\n"
        "                          sentence_bert_config.json max_seq_length, else tokenizer.json's\n"
        "                          truncation, else tokenizer_config.json model_max_length, else 512;\n"
        "                          at most config.json's max_position_embeddings, as the pipeline)\n"
        "  --no-truncate           a line longer than max-length is an error (too_long) instead\n"
        "  --pairs                 each line holds two texts separated by the first TAB\n"
        "  --truncation S          longest_first (default), only_first or only_second\n"
        "                          (also spelled --truncation-strategy S)\n"
        "  --truncation-side D     right (default: cut the end) or left (cut the beginning)\n"
        "  --no-special-tokens     do not add [CLS] / [SEP]\n"
        "  --lossy                 replace invalid UTF-8 by U+FFFD (one per maximal invalid\n"
        "                          subsequence, as WHATWG / Rust from_utf8_lossy) instead of failing\n"
        "  --pad-to N              pad every output to N tokens with [PAD] (attention_mask 0)\n"
        "  -h, --help              this text          --version   the version of zembed\n";

typedef struct {
    char *p;
    size_t n, cap;
} obuf;

static void ob_reserve(obuf *b, size_t more)
{
    if (b->n + more <= b->cap)
        return;
    size_t nc = b->cap ? b->cap : 1 << 16;
    while (nc < b->n + more) nc *= 2;
    char *q = realloc(b->p, nc);
    if (!q) {
        fprintf(stderr, "zembed tokenize: out of memory\n");
        exit(2);
    }
    b->p = q;
    b->cap = nc;
}

static void ob_lit(obuf *b, const char *s)
{
    size_t l = strlen(s);
    ob_reserve(b, l);
    memcpy(b->p + b->n, s, l);
    b->n += l;
}

static void ob_int(obuf *b, long long v)
{
    char tmp[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u);
    ob_reserve(b, (size_t)n + 1);
    if (v < 0) b->p[b->n++] = '-';
    while (n) b->p[b->n++] = tmp[--n];
}

/* A JSON string literal for UTF-8 s[0..len). Invalid UTF-8 never reaches here (tokens come from
 * validated files, messages from us), but bytes >= 0x80 are copied as they are. */

static void cli_json_str(obuf *b, const char *s, size_t len)
{
    ob_reserve(b, len * 6 + 2);
    char *o = b->p + b->n;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { *o++ = '\\'; *o++ = (char)c; }
        else if (c == '\n') { *o++ = '\\'; *o++ = 'n'; }
        else if (c == '\t') { *o++ = '\\'; *o++ = 't'; }
        else if (c == '\r') { *o++ = '\\'; *o++ = 'r'; }
        else if (c < 0x20 || c == 0x7F) { o += sprintf(o, "\\u%04x", c); }
        else if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
                 ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
            o += sprintf(o, "\\u%04x", (unsigned char)s[i + 2] == 0xA8 ? 0x2028 : 0x2029);
            i += 2;
        } else *o++ = (char)c;
    }
    *o++ = '"';
    b->n = (size_t)(o - b->p);
}

static void emit_error(obuf *b, int code, const char *msg)
{
    ob_lit(b, "{\"error\":{\"code\":\"");
    ob_lit(b, zb_code_name(code));
    ob_lit(b, "\",\"message\":");
    cli_json_str(b, msg, strlen(msg));
    ob_lit(b, "}}\n");
}

static void emit_encoding(obuf *b, const tok_tokenizer *t, const tok_encoding *e, int demo)
{
    ob_lit(b, "{\"input_ids\":[");
    for (int i = 0; i < e->n; i++) { if (i) ob_lit(b, ","); ob_int(b, e->ids[i]); }
    ob_lit(b, "],\"token_type_ids\":[");
    for (int i = 0; i < e->n; i++) { if (i) ob_lit(b, ","); ob_int(b, e->type_ids[i]); }
    ob_lit(b, "],\"attention_mask\":[");
    for (int i = 0; i < e->n; i++) { if (i) ob_lit(b, ","); ob_int(b, e->attention_mask[i]); }
    ob_lit(b, "],\"tokens\":[");
    for (int i = 0; i < e->n; i++) {
        const char *s = tok_id_to_token(t, e->ids[i]);
        if (i) ob_lit(b, ",");
        cli_json_str(b, s ? s : "", s ? strlen(s) : 0);
    }
    ob_lit(b, "],\"offsets\":[");
    for (int i = 0; i < e->n; i++) {
        ob_lit(b, i ? ",[" : "[");
        ob_int(b, e->offsets[i].start);
        ob_lit(b, ",");
        ob_int(b, e->offsets[i].end);
        ob_lit(b, "]");
    }
    ob_lit(b, demo ? "],\"demo_model\":true}\n" : "]}\n");   /* as the pipeline's replies say */
}

typedef struct {
    const char *model;
    int max_len, no_trunc, pairs, no_special, lossy, pad_to;
    int strategy, side;             /* a tok_trunc_strategy / tok_direction, -1: the model's */
    char **files;                   /* input files; none: stdin */
    int n_files;
} tokenize_opts;

enum { O_MODEL = 0x100, O_MAXLEN, O_PAD_TO, O_NO_TRUNC, O_PAIRS, O_NO_SPECIAL, O_LOSSY, O_STRATEGY,
       O_SIDE };

/* parse: argv -> o. ZB_OPT_RUN to go on, else the exit status (--help, --version: 0). */
static int parse(int argc, char **argv, tokenize_opts *o)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, O_MODEL}, {"max-length", required_argument, NULL, O_MAXLEN},
        {"pad-to", required_argument, NULL, O_PAD_TO}, {"no-truncate", no_argument, NULL, O_NO_TRUNC},
        {"pairs", no_argument, NULL, O_PAIRS}, {"no-special-tokens", no_argument, NULL, O_NO_SPECIAL},
        {"lossy", no_argument, NULL, O_LOSSY}, {"truncation", required_argument, NULL, O_STRATEGY},
        {"truncation-strategy", required_argument, NULL, O_STRATEGY},
        {"truncation-side", required_argument, NULL, O_SIDE}, ZB_OPT_STD};
    /* in tok_trunc_strategy / tok_direction order */
    static const char *const strategies[] = {"longest_first", "only_first", "only_second", NULL};
    static const char *const sides[] = {"right", "left", NULL};
    _Static_assert(TOK_LONGEST_FIRST == 0 && TOK_ONLY_FIRST == 1 && TOK_ONLY_SECOND == 2 &&
                   TOK_RIGHT == 0 && TOK_LEFT == 1, "strategies[] and sides[] follow tok.h's enums");
    zb_opt p = {.prog = "zembed tokenize", .usage = usage_text, .longopts = longopts};
    int c, status;
    while ((c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        int bad = 0;
        switch (c) {
        case O_MODEL: o->model = optarg; break;
        case O_MAXLEN: bad = zb_parse_int(p.prog, "--max-length", optarg, 1, INT_MAX, &o->max_len); break;
        case O_PAD_TO: bad = zb_parse_int(p.prog, "--pad-to", optarg, 1, INT_MAX, &o->pad_to); break;
        case O_NO_TRUNC: o->no_trunc = 1; break;
        case O_PAIRS: o->pairs = 1; break;
        case O_NO_SPECIAL: o->no_special = 1; break;
        case O_LOSSY: o->lossy = 1; break;
        case O_STRATEGY: bad = zb_opt_choice(p.prog, "--truncation", optarg, strategies, &o->strategy); break;
        case O_SIDE: bad = zb_opt_choice(p.prog, "--truncation-side", optarg, sides, &o->side); break;
        default: return status;
        }
        if (bad)
            return 2;
    }
    o->files = argv + optind;
    o->n_files = argc - optind;
    if (!o->model) {
        fprintf(stderr, "zembed tokenize: --model DIR is required (zembed tokenize --help)\n");
        return 2;
    }
    if (zb_opt_require_dir("zembed tokenize", "--model", o->model))
        return 2;
    return ZB_OPT_RUN;
}

int cli_tokenize(int argc, char **argv)
{
    tokenize_opts o = {.max_len = -1, .strategy = -1, .side = -1};
    int status = parse(argc, argv, &o);
    if (status != ZB_OPT_RUN)
        return status;
    /* load */
    zb_err err;
    zb_clear(&err);
    /* the tokenizer part of the model handle: the default max_length is the pipeline's (capped at
     * config.json's positions when there is one); an explicit one is taken as given */
    zm_open_opts zo;
    zm_open_opts_default(&zo);
    zo.parts = ZM_TOKENIZER;
    zm_model *zm = zm_open(o.model, &zo, &err);
    if (!zm) {
        fprintf(stderr, "zembed tokenize: cannot load the model: %s\n", err.msg);
        return 2;
    }
    const tok_tokenizer *t = zm_tokenizer(zm);
    zb_input *in = zb_input_open(o.files, o.n_files, 0, &err);
    if (!in) {
        fprintf(stderr, "zembed tokenize: %s\n", err.msg);
        zm_close(&zm);
        return 2;
    }
    tok_options opt;
    zm_tok_options(zm, &opt);
    if (o.max_len > 0) opt.max_length = o.max_len;
    if (o.no_trunc) opt.truncate = 0;
    if (o.no_special) opt.add_special_tokens = 0;
    if (o.lossy) opt.lossy_utf8 = 1;
    if (o.strategy >= 0) opt.strategy = (tok_trunc_strategy)o.strategy;
    if (o.side >= 0) opt.direction = (tok_direction)o.side;

    /* run */
    tok_encoding enc;
    tok_encoding_init(&enc);
    obuf out = {0};
    char *line, msg[ZB_ERR_MSG_MAX + 64];
    size_t len;
    long lineno = 0;
    int any_failed = 0, got;
    while ((got = zb_input_line(in, &line, &len, NULL, &err)) > 0) {
        lineno++;
        size_t bad;
        int rc;
        if (!o.lossy && tok_utf8_check(line, len, &bad)) {
            snprintf(msg, sizeof msg, "line %ld: invalid UTF-8 at byte %zu", lineno, bad);
            emit_error(&out, ZB_EUTF8, msg);
            any_failed = 1;
        } else {
            const char *b = NULL;
            size_t a_len = len, b_len = 0;
            if (o.pairs) {
                char *tab = memchr(line, '\t', len);
                if (tab) {
                    a_len = (size_t)(tab - line);
                    b = tab + 1;
                    b_len = len - a_len - 1;
                }
            }
            zb_clear(&err);
            if (o.pairs && !b) {
                snprintf(msg, sizeof msg, "line %ld: no TAB between the two texts of a pair", lineno);
                emit_error(&out, ZB_EINVAL, msg);
                any_failed = 1;
            } else if ((rc = tok_encode(t, line, a_len, b, b_len, &opt, &enc, &err)) ||
                       (o.pad_to && (rc = tok_pad(t, &enc, 1, o.pad_to, 0, &err)))) {
                snprintf(msg, sizeof msg, "line %ld: %s", lineno, err.msg);
                emit_error(&out, rc, msg);
                any_failed = 1;
            } else {
                emit_encoding(&out, t, &enc, zm_info_get(zm)->demo);
            }
        }
        if (out.n > (1 << 16)) {
            fwrite(out.p, 1, out.n, stdout);
            out.n = 0;
        }
    }
    if (got < 0) {
        fprintf(stderr, "zembed tokenize: %s\n", err.msg);
        any_failed = 2;
    }
    fwrite(out.p, 1, out.n, stdout);
    int werr = cli_flush_stdout("tokenize");
    free(out.p);
    zb_input_destroy(&in);
    tok_encoding_free(&enc);
    zm_close(&zm);
    return werr ? werr : any_failed;
}
