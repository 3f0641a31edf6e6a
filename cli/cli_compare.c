/* zembed compare-tokenizers: character vs word vs subword (the model's WordPiece) tokenization of
 * one corpus, the comparison every explanation of subword tokenization makes.
 *
 * The character and word baselines (tok_baseline.h) learn their vocabulary from --train FILE, or
 * from the corpus itself; the word vocabulary is cut to the model's vocabulary size unless
 * --word-vocab says otherwise, so the word level competes at WordPiece's budget. Subword counts
 * are of the text alone: no [CLS]/[SEP], no truncation. */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tok.h"
#include "tok_baseline.h"
#include "zb_args.h"
#include "zb_opt.h"

enum { STRAT_CHAR, STRAT_WORD, STRAT_SUBWORD, N_STRAT };
static const char *const STRAT_NAME[N_STRAT] = {"character", "word", "subword"};

typedef struct {
    char  **s;
    size_t *len;
    size_t  n, cap;
} lines;

typedef struct {
    int     vocab_size;
    int    *per_line;         /* tokens of each corpus line */
    size_t  n_lines, cap;
    long long tokens, oov, lines_oov, words, words_split;
} stats;

static const char usage_text[] =
            "usage: zembed compare-tokenizers --model DIR [--train FILE] [--word-vocab N]\n"
            "                                 [--char-vocab N] [--format json|table] < corpus\n"
            "\n"
            "Tokenizes every line of the corpus (stdin, UTF-8) three ways and prints, per strategy,\n"
            "the vocabulary size, tokens per line (mean, p50, p95, max), out-of-vocabulary tokens and\n"
            "lines holding one, and the share of words split into several tokens.\n"
            "  character  code points of the normalized text (the model's BertNormalizer)\n"
            "  word       BertPreTokenizer words (punctuation chars are words of their own)\n"
            "  subword    the model's WordPiece (no [CLS]/[SEP], no truncation)\n"
            "\n"
            "  --model DIR       model folder (tokenizer.json or vocab.txt)\n"
            "  --train FILE      corpus the character and word vocabularies are learned from\n"
            "                    (default: the evaluated corpus itself)\n"
            "  --word-vocab N    keep the N most frequent words, [UNK] included (default: the\n"
            "                    model's vocabulary size; 0: every word seen)\n"
            "  --char-vocab N    the same for characters (default 0: every character seen)\n"
            "  --format F        json (default: one object per strategy per line) or table\n"
            "\n"
            "Lines that are not valid UTF-8 are skipped with a message on stderr (exit status 1).\n"
            "With --train both files are streamed; without it the corpus is held in memory (it is\n"
            "read twice: to learn the vocabularies, then to count).\n";

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->s[i]);
    free(l->s);
    free(l->len);
}

/* Read every line of f (without its "\n"). Returns 0, or -1 when out of memory. */
static int read_lines(FILE *f, lines *l)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&buf, &cap, f)) >= 0) {
        if (n > 0 && buf[n - 1] == '\n')
            n--;
        if (l->n == l->cap) {
            size_t nc = l->cap ? l->cap * 2 : 1024;
            char **s = realloc(l->s, nc * sizeof *s);
            if (!s) break;
            l->s = s;
            size_t *len = realloc(l->len, nc * sizeof *len);
            if (!len) break;
            l->len = len;
            l->cap = nc;
        }
        if (!(l->s[l->n] = malloc((size_t)n + 1))) break;
        memcpy(l->s[l->n], buf, (size_t)n);
        l->s[l->n][n] = '\0';
        l->len[l->n++] = (size_t)n;
    }
    int bad = !feof(f) || ferror(f);
    free(buf);
    return bad ? -1 : 0;
}

/* Lines one at a time, from memory (mem != NULL) or streamed from a file. */
typedef struct {
    const lines *mem;
    size_t       i;
    FILE        *f;
    char        *buf;
    size_t       cap;
} line_src;

/* 1 and the next line (without "\n") in *s, *len; 0 at the end; -1 on a read error. */
static int src_next(line_src *src, const char **s, size_t *len)
{
    if (src->mem) {
        if (src->i == src->mem->n)
            return 0;
        *s = src->mem->s[src->i];
        *len = src->mem->len[src->i++];
        return 1;
    }
    ssize_t n = getline(&src->buf, &src->cap, src->f);
    if (n < 0)
        return ferror(src->f) ? -1 : 0;
    if (n > 0 && src->buf[n - 1] == '\n')
        n--;
    *s = src->buf;
    *len = (size_t)n;
    src->i++;
    return 1;
}

static int parse_count(const char *flag, const char *v, int *out)
{
    return zb_parse_int("zembed compare-tokenizers", flag, v, 0, INT_MAX, out);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n): the ceil(q*n)-th smallest (the epsilon keeps
 * 0.95 * 3000 = 2850.0000000000005 at rank 2850). */
static int percentile(const int *v, size_t n, double q)
{
    if (!n)
        return 0;
    size_t k = (size_t)ceil(q * (double)n - 1e-9);
    return v[(k ? k : 1) - 1];
}

/* Counts of one line, whatever the strategy. 0, or -1 when out of memory. */
static int add_line(stats *st, int n, int oov, int words, int split)
{
    if (st->n_lines == st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 4096;
        int *p = realloc(st->per_line, nc * sizeof *p);
        if (!p)
            return -1;
        st->per_line = p;
        st->cap = nc;
    }
    st->per_line[st->n_lines++] = n;
    st->tokens += n;
    st->oov += oov;
    st->lines_oov += oov > 0;
    st->words += words;
    st->words_split += split;
    return 0;
}

static int subword_line(const tok_tokenizer *t, const tok_options *opt, tok_encoding *e, const char *s,
                        size_t len, int32_t unk, int *oov, int *words, int *split, zb_err *err)
{
    int rc = tok_encode(t, s, len, NULL, 0, opt, e, err);
    if (rc)
        return rc;
    *oov = *words = *split = 0;
    int prev_cont = 0;
    for (int k = 0; k < e->n; k++) {
        const char *tk = tok_id_to_token(t, e->ids[k]);
        *oov += e->ids[k] == unk;
        /* BERT WordPiece: "##" marks a continuation piece; a word cannot start with '#' (it is
         * punctuation, a word of its own), so the first piece never does. */
        int cont = tk && !strncmp(tk, "##", 2);
        *words += !cont;
        *split += cont && !prev_cont;        /* a word's first continuation piece */
        prev_cont = cont;
    }
    return 0;
}

/* Learn both baselines' vocabularies from src in one pass; lines that are not UTF-8 are reported
 * (by number) and skipped. Returns 0, or 2 after printing why. */
static int train_baselines(tokb_model *const *base, line_src *src, const char *name, int char_vocab,
                           int word_vocab)
{
    const char *s;
    size_t len, off;
    int r;
    zb_err err;
    while ((r = src_next(src, &s, &len)) > 0) {
        if (tok_utf8_check(s, len, &off)) {
            fprintf(stderr, "zembed compare-tokenizers: %s line %zu: invalid UTF-8 at byte %zu, skipped\n",
                    name, src->i, off);
            continue;
        }
        for (int k = 0; k < 2; k++)
            if (tokb_add(base[k], s, len, &err)) {
                fprintf(stderr, "zembed compare-tokenizers: %s line %zu: %s\n", name, src->i, err.msg);
                return 2;
            }
    }
    if (r < 0) {
        fprintf(stderr, "zembed compare-tokenizers: reading %s failed\n", name);
        return 2;
    }
    for (int k = 0; k < 2; k++)
        if (tokb_build(base[k], k == STRAT_CHAR ? char_vocab : word_vocab, &err)) {
            fprintf(stderr, "zembed compare-tokenizers: %s level: %s\n", STRAT_NAME[k], err.msg);
            return 2;
        }
    return 0;
}

static json_t *stats_json(const char *name, const stats *st, const char *trained_on)
{
    int *v = st->per_line;
    if (st->n_lines)               /* per_line is NULL for an empty corpus */
        qsort(v, st->n_lines, sizeof *v, cmp_int);
    double nl = st->n_lines ? (double)st->n_lines : 1.0;
    return json_pack("{s:s, s:i, s:s?, s:I, s:I, s:{s:f, s:i, s:i, s:i}, s:I, s:f, s:I, s:I, s:I, s:f}",
                     "strategy", name, "vocab_size", st->vocab_size, "trained_on", trained_on,
                     "lines", (json_int_t)st->n_lines, "tokens", (json_int_t)st->tokens,
                     "tokens_per_line", "mean", (double)st->tokens / nl, "p50", percentile(v, st->n_lines, 0.50),
                     "p95", percentile(v, st->n_lines, 0.95), "max", st->n_lines ? v[st->n_lines - 1] : 0,
                     "oov_tokens", (json_int_t)st->oov,
                     "oov_share", st->tokens ? (double)st->oov / (double)st->tokens : 0.0,
                     "lines_with_oov", (json_int_t)st->lines_oov, "words", (json_int_t)st->words,
                     "words_split", (json_int_t)st->words_split,
                     "words_split_share", st->words ? (double)st->words_split / (double)st->words : 0.0);
}

static void print_table(json_t *const *objs)
{
    printf("%-10s %8s %9s %6s %6s %7s %11s %10s %13s\n", "strategy", "vocab", "tok/line", "p50", "p95",
           "max", "OOV tokens", "OOV lines", "words split");
    for (int k = 0; k < N_STRAT; k++) {
        json_t *o = objs[k], *tpl = json_object_get(o, "tokens_per_line");
        printf("%-10s %8lld %9.2f %6lld %6lld %7lld %11lld %10lld %12.1f%%\n",
               json_string_value(json_object_get(o, "strategy")),
               json_integer_value(json_object_get(o, "vocab_size")),
               json_real_value(json_object_get(tpl, "mean")), json_integer_value(json_object_get(tpl, "p50")),
               json_integer_value(json_object_get(tpl, "p95")), json_integer_value(json_object_get(tpl, "max")),
               json_integer_value(json_object_get(o, "oov_tokens")),
               json_integer_value(json_object_get(o, "lines_with_oov")),
               100.0 * json_real_value(json_object_get(o, "words_split_share")));
    }
    printf("%lld lines\n", json_integer_value(json_object_get(objs[0], "lines")));
}

int cli_compare_tokenizers(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'}, {"train", required_argument, 0, 't'},
        {"word-vocab", required_argument, 0, 'w'}, {"char-vocab", required_argument, 0, 'c'},
        {"format", required_argument, 0, 'f'}, ZB_OPT_STD};
    const char *model = NULL, *train_file = NULL, *format = "json";
    int word_vocab = -1, char_vocab = 0, o, exit_status;
    zb_opt p = {.prog = "zembed compare-tokenizers", .usage = usage_text, .longopts = longopts};
    while ((o = zb_opt_next(&p, argc, argv, &exit_status)) != -1) {
        switch (o) {
        case 'm': model = optarg; break;
        case 't': train_file = optarg; break;
        case 'w': if (parse_count("--word-vocab", optarg, &word_vocab)) return 2; break;
        case 'c': if (parse_count("--char-vocab", optarg, &char_vocab)) return 2; break;
        case 'f': format = optarg; break;
        default: return exit_status;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "zembed compare-tokenizers: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!model) {
        fprintf(stderr, "zembed compare-tokenizers: --model DIR is required (zembed compare-tokenizers --help)\n");
        return 2;
    }
    if (zb_opt_require_dir("zembed compare-tokenizers", "--model", model))
        return 2;
    if (strcmp(format, "json") && strcmp(format, "table")) {
        fprintf(stderr, "zembed compare-tokenizers: --format '%s': expected json or table\n", format);
        return 2;
    }

    zb_err err;
    int status = 2;
    lines corpus = {0};
    line_src src = {0};
    FILE *train_f = NULL;
    stats st[N_STRAT] = {{0}};
    json_t *objs[N_STRAT] = {0};
    tokb_model *base[2] = {0};
    tok_encoding enc;
    tokb_encoding benc;
    tok_encoding_init(&enc);
    tokb_encoding_init(&benc);

    tok_tokenizer *t = tok_load(model, &err);
    if (!t) {
        fprintf(stderr, "zembed compare-tokenizers: %s\n", err.msg);
        return 2;
    }
    if (word_vocab < 0)
        word_vocab = tok_vocab_size(t);
    for (int k = 0; k < 2; k++)
        if (!(base[k] = tokb_new(t, k == STRAT_CHAR ? TOKB_CHAR : TOKB_WORD, &err))) {
            fprintf(stderr, "zembed compare-tokenizers: %s\n", err.msg);
            goto out;
        }
    /* With --train both files are streamed; without, the corpus is read twice, so it is kept. */
    if (train_file) {
        if (!(train_f = fopen(train_file, "r"))) {
            fprintf(stderr, "zembed compare-tokenizers: --train %s: cannot open\n", train_file);
            goto out;
        }
        line_src tr = {.f = train_f};
        int rc = train_baselines(base, &tr, train_file, char_vocab, word_vocab);
        free(tr.buf);
        if (rc)
            goto out;
        src.f = stdin;
    } else {
        if (read_lines(stdin, &corpus)) {
            fprintf(stderr, "zembed compare-tokenizers: reading stdin: out of memory or read error\n");
            goto out;
        }
        line_src tr = {.mem = &corpus};
        if (train_baselines(base, &tr, "stdin", char_vocab, word_vocab))
            goto out;
        src.mem = &corpus;
    }
    const char *trained_on = train_file ? train_file : "corpus";
    for (int k = 0; k < N_STRAT; k++)
        st[k].vocab_size = k == STRAT_SUBWORD ? tok_vocab_size(t) : tokb_vocab_size(base[k]);

    tok_options opt;
    tok_options_default(t, &opt);
    opt.add_special_tokens = 0;
    opt.truncate = 0;
    opt.max_length = INT_MAX;
    int32_t unk = tok_special_id(t, "unk");
    size_t n_bad = 0;
    const char *s;
    size_t len;
    int r;
    while ((r = src_next(&src, &s, &len)) > 0) {
        size_t off;
        int oov, words, split;
        if (tok_utf8_check(s, len, &off)) {
            /* already reported while learning when the corpus is the training text */
            if (train_file)
                fprintf(stderr, "zembed compare-tokenizers: stdin line %zu: invalid UTF-8 at byte %zu, skipped\n",
                        src.i, off);
            n_bad++;
            continue;
        }
        if (subword_line(t, &opt, &enc, s, len, unk, &oov, &words, &split, &err)) {
            fprintf(stderr, "zembed compare-tokenizers: stdin line %zu: %s, skipped\n", src.i, err.msg);
            n_bad++;
            continue;
        }
        if (add_line(&st[STRAT_SUBWORD], enc.n, oov, words, split))
            goto oom;
        for (int k = 0; k < 2; k++) {
            if (tokb_encode(base[k], s, len, &benc, &err)) {
                fprintf(stderr, "zembed compare-tokenizers: stdin line %zu: %s\n", src.i, err.msg);
                goto out;        /* the subword side accepted it: only out of memory gets here */
            }
            if (add_line(&st[k], benc.n, benc.n_oov, benc.n_words, benc.n_words_split))
                goto oom;
        }
    }
    if (r < 0) {
        fprintf(stderr, "zembed compare-tokenizers: reading stdin failed\n");
        goto out;
    }
    for (int k = 0; k < N_STRAT; k++) {
        if (!(objs[k] = stats_json(STRAT_NAME[k], &st[k], k == STRAT_SUBWORD ? NULL : trained_on))) {
            fprintf(stderr, "zembed compare-tokenizers: out of memory\n");
            goto out;
        }
    }
    if (!strcmp(format, "table")) {
        print_table(objs);
    } else {
        for (int k = 0; k < N_STRAT; k++) {
            char *js = json_dumps(objs[k], JSON_COMPACT | JSON_REAL_PRECISION(6));
            if (!js) { fprintf(stderr, "zembed compare-tokenizers: out of memory\n"); goto out; }
            puts(js);
            free(js);
        }
    }
    if (fflush(stdout)) {
        fprintf(stderr, "zembed compare-tokenizers: writing stdout failed\n");
        goto out;
    }
    status = n_bad ? 1 : 0;
    goto out;
oom:
    fprintf(stderr, "zembed compare-tokenizers: out of memory after %zu lines\n", src.i);
out:
    for (int k = 0; k < N_STRAT; k++) {
        free(st[k].per_line);
        json_decref(objs[k]);
    }
    tokb_free(base[0]);
    tokb_free(base[1]);
    tokb_encoding_free(&benc);
    tok_encoding_free(&enc);
    lines_free(&corpus);
    free(src.buf);
    if (train_f)
        fclose(train_f);
    tok_free(t);
    return status;
}
