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

static void usage(FILE *f)
{
    fprintf(f,
        "usage: zembed tokenize --model DIR [options] < lines.txt\n"
        "\n"
        "Reads UTF-8 text, one input per line (a trailing \\r is dropped), and writes one JSON object\n"
        "per line:\n"
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
        "                          truncation, else tokenizer_config.json model_max_length, else 512)\n"
        "  --no-truncate           a line longer than max-length is an error (too_long) instead\n"
        "  --pairs                 each line holds two texts separated by the first TAB\n"
        "  --truncation S          longest_first (default), only_first or only_second\n"
        "                          (also spelled --truncation-strategy S)\n"
        "  --truncation-side D     right (default: cut the end) or left (cut the beginning)\n"
        "  --no-special-tokens     do not add [CLS] / [SEP]\n"
        "  --lossy                 replace invalid UTF-8 by U+FFFD (one per maximal invalid\n"
        "                          subsequence, as WHATWG / Rust from_utf8_lossy) instead of failing\n"
        "  --pad-to N              pad every output to N tokens with [PAD] (attention_mask 0)\n"
        "  -h, --help              this text\n");
}

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

static void emit_encoding(obuf *b, const tok_tokenizer *t, const tok_encoding *e)
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
    ob_lit(b, "]}\n");
}

static int parse_int(const char *flag, const char *v, int lo, int *out)
{
    return zb_parse_int("zembed tokenize", flag, v, lo, INT_MAX, out);
}

int cli_tokenize(int argc, char **argv)
{
    const char *model = NULL;
    int max_len = -1, no_trunc = 0, pairs = 0, no_special = 0, lossy = 0, pad_to = 0;
    int strategy = -1, side = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--model") && v) { model = v; i++; }
        else if (!strcmp(a, "--max-length")) { if (parse_int(a, v, 1, &max_len)) return 2; i++; }
        else if (!strcmp(a, "--pad-to")) { if (parse_int(a, v, 1, &pad_to)) return 2; i++; }
        else if (!strcmp(a, "--no-truncate")) no_trunc = 1;
        else if (!strcmp(a, "--pairs")) pairs = 1;
        else if (!strcmp(a, "--no-special-tokens")) no_special = 1;
        else if (!strcmp(a, "--lossy")) lossy = 1;
        else if ((!strcmp(a, "--truncation") || !strcmp(a, "--truncation-strategy")) && v) {
            strategy = !strcmp(v, "longest_first") ? TOK_LONGEST_FIRST : !strcmp(v, "only_first") ? TOK_ONLY_FIRST
                     : !strcmp(v, "only_second") ? TOK_ONLY_SECOND : -2;
            if (strategy == -2) {
                fprintf(stderr, "zembed tokenize: --truncation is longest_first, only_first or only_second, "
                        "not '%s'\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--truncation-side") && v) {
            side = !strcmp(v, "right") ? TOK_RIGHT : !strcmp(v, "left") ? TOK_LEFT : -2;
            if (side == -2) {
                fprintf(stderr, "zembed tokenize: --truncation-side is right or left, not '%s'\n", v);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "zembed tokenize: unknown option or missing value: '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "zembed tokenize: --model DIR is required (zembed tokenize --help)\n");
        return 2;
    }
    zb_err err;
    zb_clear(&err);
    tok_tokenizer *t = tok_load(model, &err);
    if (!t) {
        fprintf(stderr, "zembed tokenize: cannot load the model: %s\n", err.msg);
        return 2;
    }
    tok_options opt;
    tok_options_default(t, &opt);
    if (max_len > 0) opt.max_length = max_len;
    if (no_trunc) opt.truncate = 0;
    if (no_special) opt.add_special_tokens = 0;
    if (lossy) opt.lossy_utf8 = 1;
    if (strategy >= 0) opt.strategy = (tok_trunc_strategy)strategy;
    if (side >= 0) opt.direction = (tok_direction)side;

    tok_encoding enc;
    tok_encoding_init(&enc);
    obuf out = {0};
    char *line = NULL, msg[ZB_ERR_MSG_MAX + 64];
    size_t lcap = 0;
    ssize_t got;
    long lineno = 0;
    int any_failed = 0;
    while ((got = getline(&line, &lcap, stdin)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n') len--;
        if (len && line[len - 1] == '\r') len--;
        size_t bad;
        int rc;
        if (!lossy && tok_utf8_check(line, len, &bad)) {
            snprintf(msg, sizeof msg, "line %ld: invalid UTF-8 at byte %zu", lineno, bad);
            emit_error(&out, ZB_EUTF8, msg);
            any_failed = 1;
        } else {
            const char *b = NULL;
            size_t a_len = len, b_len = 0;
            if (pairs) {
                char *tab = memchr(line, '\t', len);
                if (tab) {
                    a_len = (size_t)(tab - line);
                    b = tab + 1;
                    b_len = len - a_len - 1;
                }
            }
            zb_clear(&err);
            if (pairs && !b) {
                snprintf(msg, sizeof msg, "line %ld: no TAB between the two texts of a pair", lineno);
                emit_error(&out, ZB_EINVAL, msg);
                any_failed = 1;
            } else if ((rc = tok_encode(t, line, a_len, b, b_len, &opt, &enc, &err)) ||
                       (pad_to && (rc = tok_pad(t, &enc, 1, pad_to, 0, &err)))) {
                snprintf(msg, sizeof msg, "line %ld: %s", lineno, err.msg);
                emit_error(&out, rc, msg);
                any_failed = 1;
            } else {
                emit_encoding(&out, t, &enc);
            }
        }
        if (out.n > (1 << 16)) {
            fwrite(out.p, 1, out.n, stdout);
            out.n = 0;
        }
    }
    fwrite(out.p, 1, out.n, stdout);
    int werr = fflush(stdout) != 0 || ferror(stdout);
    free(out.p);
    free(line);
    tok_encoding_free(&enc);
    tok_free(t);
    if (werr) {
        fprintf(stderr, "zembed tokenize: writing the output failed\n");
        return 2;
    }
    return any_failed ? 1 : 0;
}
