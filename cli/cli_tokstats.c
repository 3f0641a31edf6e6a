/* zembed tokstats: tokenization strategies side by side on one corpus (characters, words, stemmed
 * words, trained or given subword tokenizers): vocabulary, sequence length, bytes per token,
 * unknown tokens on held-out text, vocabulary use, and how the subword tokenizers split the words
 * the training part never saw. parse -> load (read the corpus, build or train every tokenizer on
 * the training part) -> run (evaluate on the held-out part) -> print (table, JSON or HTML; all
 * three from one JSON object, cli_tokstats_out.c). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_tokstats.h"
#include "tok.h"
#include "tok_baseline.h"
#include "tok_train.h"
#include "zb_args.h"
#include "zb_opt.h"

#define MAX_TOKENIZERS 16

typedef enum { TS_CHAR, TS_WORD, TS_DIR, TS_BPE, TS_WORDPIECE } ts_kind;

typedef struct {
    const char    *spec;        /* as given: "char", "word:stem=english", "bpe:8000", a folder */
    ts_kind        kind;
    const char    *stem;        /* word:stem=LANG */
    int            n;           /* bpe:N / wordpiece:N */
    tokb_model    *base;        /* char / word */
    tok_tokenizer *tok;         /* folder / trained */
    double         train_s;     /* -1: not trained here */
    int            vocab;
    int32_t        unk;         /* -1: none */
    int           *per_line;    /* tokens of each held-out line */
    long long      tokens, unk_tokens;
    uint8_t       *used;        /* [vocab ids] seen on the held-out part */
} ts_tok;

typedef struct {
    const char *corpus;
    double      holdout;
    int         format;         /* TS_FMT_* */
    int         oov_top;
    int         threads;
    ts_tok      t[MAX_TOKENIZERS];
    int         n_t;
} ts_opts;

static const char usage_text[] =
        "usage: zembed tokstats --corpus FILE [--holdout 0.1] --tokenizer T [--tokenizer T ...]\n"
        "                       [--format table|json|html] [--oov N]\n"
        "Tokenizes a corpus (one text per line) with each tokenizer and compares them on the\n"
        "held-out lines: vocabulary size, tokens per line (mean, p50, p95, max), bytes per token,\n"
        "unknown tokens, share of the vocabulary used, training time; then the most frequent\n"
        "held-out words never seen in training and how each subword tokenizer splits them.\n"
        "\n"
        "  --corpus FILE       UTF-8 text, one sentence per line (a bad line is named and skipped)\n"
        "  --holdout F         share of lines held out, spread evenly (line i is held out when\n"
        "                      floor((i+1)F) > floor(iF)); 0: evaluate on the training lines\n"
        "                      (default 0.1)\n"
        "  --tokenizer T       repeatable (at most 16), in the order shown:\n"
        "       char              characters of the BERT-normalized text (lowercased, no accents)\n"
        "       word              words of BERT's pre-tokenizer; vocabulary: every training word\n"
        "       word:stem=LANG    the same, each word reduced to its Snowball stem (english,\n"
        "                         french, german, porter ...: libstemmer's languages)\n"
        "       bpe:N             byte-level BPE of N tokens trained on the training lines\n"
        "       wordpiece:N       BERT WordPiece of N tokens trained on the training lines\n"
        "       DIR               a model folder (tokenizer.json or vocab.txt), as it is\n"
        "  --format F          table (default), json (one object, for tools) or html (one\n"
        "                      self-contained page with the table and bar charts)\n"
        "  --oov N             unseen words to list (default 10)\n"
        "  --threads N         threads for training (default: all cores)\n"
        "Lengths count the text's tokens only (no [CLS]/[SEP], no truncation).\n";

static int parse_spec(const char *s, ts_tok *t)
{
    memset(t, 0, sizeof *t);
    t->spec = s;
    t->train_s = -1;
    t->unk = -1;
    if (!strcmp(s, "char")) {
        t->kind = TS_CHAR;
    } else if (!strcmp(s, "word")) {
        t->kind = TS_WORD;
    } else if (!strncmp(s, "word:stem=", 10) && s[10]) {
        t->kind = TS_WORD;
        t->stem = s + 10;
    } else if (!strncmp(s, "bpe:", 4) || !strncmp(s, "wordpiece:", 10)) {
        t->kind = s[0] == 'b' ? TS_BPE : TS_WORDPIECE;
        const char *v = strchr(s, ':') + 1;
        if (zb_parse_int("zembed tokstats", s[0] == 'b' ? "--tokenizer bpe:N" : "--tokenizer wordpiece:N", v,
                         1, 1 << 22, &t->n))
            return -1;
    } else {
        struct stat st;
        if (stat(s, &st) || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "zembed tokstats: --tokenizer '%s': expected char, word, word:stem=LANG, bpe:N, "
                            "wordpiece:N or a model folder\n", s);
            return -1;
        }
        t->kind = TS_DIR;
    }
    return 0;
}

/* parse: argv -> o. ZB_OPT_RUN to go on, else the exit status (--help, --version: 0). */
static int parse(int argc, char **argv, ts_opts *o)
{
    enum { O_CORPUS = 256, O_HOLDOUT, O_TOK, O_FORMAT, O_OOV, O_THREADS };
    static const struct option longopts[] = {
        {"corpus", required_argument, 0, O_CORPUS}, {"holdout", required_argument, 0, O_HOLDOUT},
        {"tokenizer", required_argument, 0, O_TOK}, {"format", required_argument, 0, O_FORMAT},
        {"oov", required_argument, 0, O_OOV}, {"threads", required_argument, 0, O_THREADS}, ZB_OPT_STD};
    static const char *const formats[] = {"table", "json", "html", NULL};   /* TS_FMT_* order */
    *o = (ts_opts){.holdout = 0.1, .oov_top = 10, .threads = (int)sysconf(_SC_NPROCESSORS_ONLN)};
    zb_opt p = {.prog = "zembed tokstats", .usage = usage_text, .longopts = longopts};
    int c, status;
    while ((c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        char *end;
        int bad = 0;
        switch (c) {
        case O_CORPUS: o->corpus = optarg; break;
        case O_HOLDOUT:
            o->holdout = strtod(optarg, &end);
            if ((bad = end == optarg || *end || !(o->holdout >= 0 && o->holdout < 1)))
                fprintf(stderr, "zembed tokstats: --holdout '%s': needs a number in [0, 1)\n", optarg);
            break;
        case O_TOK:
            if ((bad = o->n_t == MAX_TOKENIZERS))
                fprintf(stderr, "zembed tokstats: at most %d --tokenizer\n", MAX_TOKENIZERS);
            else
                bad = parse_spec(optarg, &o->t[o->n_t++]);
            break;
        case O_FORMAT: bad = zb_opt_choice(p.prog, "--format", optarg, formats, &o->format); break;
        case O_OOV: bad = zb_parse_int(p.prog, "--oov", optarg, 0, 100000, &o->oov_top); break;
        case O_THREADS: bad = zb_parse_int(p.prog, "--threads", optarg, 1, 256, &o->threads); break;
        default: return status;
        }
        if (bad)
            return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "zembed tokstats: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!o->corpus || !o->n_t) {
        fprintf(stderr, "zembed tokstats: --corpus FILE and at least one --tokenizer are required\n");
        return 2;
    }
    return ZB_OPT_RUN;
}

/* ---- the corpus ------------------------------------------------------------------------------- */

typedef struct {
    char  **s;
    size_t *len;
    uint8_t *held;              /* 1: held out */
    size_t  n, n_held;
    size_t  n_bad;              /* invalid UTF-8 lines skipped */
} corpus;

static void corpus_free(corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->s[i]);
    free(c->s);
    free(c->len);
    free(c->held);
}

static int read_corpus(const char *path, double holdout, corpus *c)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "zembed tokstats: --corpus %s: cannot open\n", path);
        return -1;
    }
    char *buf = NULL;
    size_t cap = 0, line = 0, ccap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&buf, &cap, f)) >= 0) {
        line++;
        if (n > 0 && buf[n - 1] == '\n')
            n--;
        size_t bad;
        if (tok_utf8_check(buf, (size_t)n, &bad)) {
            fprintf(stderr, "zembed tokstats: %s line %zu: invalid UTF-8 at byte %zu, skipped\n", path, line, bad);
            c->n_bad++;
            continue;
        }
        if (c->n == ccap) {
            ccap = ccap ? 2 * ccap : 4096;
            char **s = realloc(c->s, ccap * sizeof *s);
            size_t *l = s ? realloc(c->len, ccap * sizeof *l) : NULL;
            uint8_t *h = l ? realloc(c->held, ccap) : NULL;
            if (s) c->s = s;
            if (l) c->len = l;
            if (h) c->held = h;
            if (!h) { rc = -1; break; }
        }
        if (!(c->s[c->n] = malloc((size_t)n + 1))) { rc = -1; break; }
        memcpy(c->s[c->n], buf, (size_t)n);        /* not strndup: a line may hold a NUL */
        c->s[c->n][n] = '\0';
        c->len[c->n] = (size_t)n;
        /* spread evenly: the k-th held-out line sits near line k / holdout */
        c->held[c->n] = floor((double)(c->n + 1) * holdout) > floor((double)c->n * holdout);
        c->n_held += c->held[c->n];
        c->n++;
    }
    if (!rc && ferror(f))
        rc = -1;
    if (rc)
        fprintf(stderr, "zembed tokstats: %s: %s after line %zu\n", path, ferror(f) ? "read error" : "out of memory", line);
    free(buf);
    fclose(f);
    return rc;
}

/* ---- building the tokenizers ------------------------------------------------------------------ */

static double since(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) + 1e-9 * (double)(b.tv_nsec - a->tv_nsec);
}

/* The training lines in a file of their own (the trainers read files). */
static int write_train_file(const corpus *c, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (size_t i = 0; i < c->n; i++)
        if (!c->held[i] || !c->n_held)
            fprintf(f, "%.*s\n", (int)c->len[i], c->s[i]);
    return fclose(f) ? -1 : 0;
}

static int train_subword(ts_tok *t, const ts_opts *o, const char *tmpdir, const char *train_file, zb_err *err)
{
    static const char *const BERT_SPECIALS[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    tokt_options to;
    tokt_options_default(&to, t->kind == TS_BPE ? TOKT_BPE : TOKT_WORDPIECE);
    to.vocab_size = t->n;
    if (t->kind == TS_BPE) {
        to.byte_level_alphabet = 1;       /* every byte encodes: no unknown token, GPT-2's way */
    } else {
        to.special = BERT_SPECIALS;
        to.n_special = 5;
    }
    char out[4200];
    snprintf(out, sizeof out, "%s/%s-%d", tmpdir, t->kind == TS_BPE ? "bpe" : "wordpiece", t->n);
    tokt_report rep;
    const char *files[] = {train_file};
    int rc = tokt_train_files(&to, t->kind == TS_BPE ? "none" : "bert", t->kind == TS_BPE ? "byte-level" : "bert",
                              files, 1, o->threads, out, NULL, &rep, err);
    if (!rc && !(t->tok = tok_load(out, err)))
        rc = err->code;
    t->train_s = rep.total_s;
    char p[4300];
    snprintf(p, sizeof p, "%s/tokenizer.json", out);
    unlink(p);
    snprintf(p, sizeof p, "%s/vocab.txt", out);
    unlink(p);
    rmdir(out);
    return rc;
}

static int build_baseline(ts_tok *t, const tok_tokenizer *norm, const corpus *c, zb_err *err)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!(t->base = tokb_new(norm, t->kind == TS_CHAR ? TOKB_CHAR : TOKB_WORD, err)))
        return err->code;
    int rc = t->stem ? tokb_set_stemmer(t->base, t->stem, err) : 0;
    for (size_t i = 0; !rc && i < c->n; i++)
        if (!c->held[i] || !c->n_held)
            rc = tokb_add(t->base, c->s[i], c->len[i], err);
    if (!rc)
        rc = tokb_build(t->base, 0, err);
    t->train_s = since(&t0);
    return rc;
}

/* ---- evaluation ------------------------------------------------------------------------------- */

static int in_eval(const corpus *c, size_t i) { return c->held[i] || !c->n_held; }

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the ceil(q*n)-th smallest of sorted v (the epsilon keeps 0.95*3000 at 2850). */
static int percentile(const int *v, size_t n, double q)
{
    if (!n)
        return 0;
    size_t k = (size_t)ceil(q * (double)n - 1e-9);
    return v[(k ? k : 1) - 1];
}

static int eval_one(ts_tok *t, const corpus *c, size_t n_eval, zb_err *err)
{
    t->vocab = t->base ? tokb_vocab_size(t->base) : tok_vocab_size(t->tok);
    if (t->tok)
        t->unk = tok_special_id(t->tok, "unk");
    else
        t->unk = 0;                         /* the baselines' [UNK] */
    t->per_line = malloc((n_eval ? n_eval : 1) * sizeof *t->per_line);
    t->used = calloc((size_t)t->vocab + 1, 1);
    if (!t->per_line || !t->used)
        return zb_fail(err, ZB_ENOMEM, "out of memory");
    tok_options opt;
    tok_encoding enc;
    tokb_encoding benc;
    tok_encoding_init(&enc);
    tokb_encoding_init(&benc);
    if (t->tok) {
        tok_options_default(t->tok, &opt);
        opt.add_special_tokens = 0;
        opt.truncate = 0;
        opt.max_length = 1 << 30;
    }
    int rc = 0;
    size_t k = 0;
    for (size_t i = 0; !rc && i < c->n; i++) {
        if (!in_eval(c, i))
            continue;
        const int32_t *ids;
        int n;
        if (t->base) {
            rc = tokb_encode(t->base, c->s[i], c->len[i], &benc, err);
            ids = benc.ids;
            n = benc.n;
        } else {
            rc = tok_encode(t->tok, c->s[i], c->len[i], NULL, 0, &opt, &enc, err);
            ids = enc.ids;
            n = enc.n;
        }
        if (rc) {
            zb_wrap(err, "%s, line %zu: ", t->spec, i + 1);
            break;
        }
        t->per_line[k++] = n;
        t->tokens += n;
        for (int j = 0; j < n; j++) {
            t->unk_tokens += ids[j] == t->unk;
            if (ids[j] >= 0 && ids[j] < t->vocab)
                t->used[ids[j]] = 1;
        }
    }
    tok_encoding_free(&enc);
    tokb_encoding_free(&benc);
    return rc;
}

static json_t *tok_json(const ts_tok *t, size_t n_eval, long long bytes)
{
    static const char *const KIND[] = {"char", "word", "model", "bpe", "wordpiece"};
    qsort(t->per_line, n_eval, sizeof *t->per_line, cmp_int);
    long long used = 0;
    for (int i = 0; i < t->vocab; i++)
        used += t->used[i];
    double ne = n_eval ? (double)n_eval : 1.0;
    json_t *j = json_pack("{s:s, s:s, s:s?, s:i, s:I, s:{s:f, s:i, s:i, s:i}, s:f, s:I, s:f, s:I, s:f}",
                          "name", t->spec, "kind", KIND[t->kind], "stem", t->stem, "vocab_size", t->vocab,
                          "tokens", (json_int_t)t->tokens, "tokens_per_line", "mean", (double)t->tokens / ne,
                          "p50", percentile(t->per_line, n_eval, 0.5), "p95", percentile(t->per_line, n_eval, 0.95),
                          "max", n_eval ? t->per_line[n_eval - 1] : 0, "bytes_per_token",
                          t->tokens ? (double)bytes / (double)t->tokens : 0.0, "unk_tokens",
                          (json_int_t)t->unk_tokens, "unk_rate",
                          t->tokens ? (double)t->unk_tokens / (double)t->tokens : 0.0, "vocab_used",
                          (json_int_t)used, "vocab_used_share", t->vocab ? (double)used / t->vocab : 0.0);
    if (j)
        json_object_set_new(j, "train_seconds", t->train_s >= 0 ? json_real(t->train_s) : json_null());
    return j;
}

/* Held-out words the training part never had (by the plain word level), the most frequent first,
 * each with its tokens under every subword tokenizer. Adds "heldout_words", "unseen_words" ... */
static int unseen_words(ts_opts *o, const tok_tokenizer *norm, const corpus *c, json_t *root, zb_err *err)
{
    ts_tok own = {.kind = TS_WORD, .spec = "word"};
    const ts_tok *wt = NULL;
    for (int i = 0; i < o->n_t && !wt; i++)
        if (o->t[i].kind == TS_WORD && !o->t[i].stem)
            wt = &o->t[i];
    if (!wt) {
        if (build_baseline(&own, norm, c, err))
            return err->code;
        wt = &own;
    }
    tokt_words *seen = tokt_words_new(err);
    tokb_encoding e;
    tokb_encoding_init(&e);
    e.keep_units = 1;
    long long words = 0, unseen = 0;
    int rc = seen ? 0 : ZB_ENOMEM;
    for (size_t i = 0; !rc && i < c->n; i++) {
        if (!in_eval(c, i))
            continue;
        if ((rc = tokb_encode(wt->base, c->s[i], c->len[i], &e, err)))
            break;
        words += e.n;
        for (int k = 0; !rc && k < e.n; k++)
            if (!e.ids[k]) {
                unseen++;
                rc = tokt_words_add(seen, e.units + e.unit_off[k], e.unit_off[k + 1] - e.unit_off[k], 1);
            }
    }
    size_t n = seen ? tokt_words_count(seen) : 0, *order = seen ? tokt_words_by_count(seen) : NULL;
    json_t *arr = json_array();
    if (!rc && (!order || !arr))
        rc = ZB_ENOMEM;
    tok_encoding enc;
    tok_encoding_init(&enc);
    char *spaced = NULL;
    size_t spaced_cap = 0;
    for (size_t i = 0; !rc && i < n && i < (size_t)o->oov_top; i++) {
        size_t wl;
        int64_t wc;
        const char *word = tokt_words_get(seen, order[i], &wl, &wc);
        /* split as in running text, after a space: byte-level BPE then shows its word-start
         * pieces ("Ġbal"); pre-tokenizers that drop spaces (BERT's) are unaffected */
        if (wl + 2 > spaced_cap) {
            char *p = realloc(spaced, wl + 2);
            if (!p) {
                rc = ZB_ENOMEM;
                break;
            }
            spaced = p;
            spaced_cap = wl + 2;
        }
        spaced[0] = ' ';
        memcpy(spaced + 1, word, wl);
        json_t *splits = json_object();
        for (int k = 0; k < o->n_t; k++) {
            ts_tok *t = &o->t[k];
            if (!t->tok)
                continue;
            tok_options opt;
            tok_options_default(t->tok, &opt);
            opt.add_special_tokens = 0;
            opt.truncate = 0;
            json_t *toks = json_array();
            if (!tok_encode(t->tok, spaced, wl + 1, NULL, 0, &opt, &enc, err))
                for (int j = 0; j < enc.n; j++) {
                    const char *s = tok_id_to_token(t->tok, enc.ids[j]);
                    json_array_append_new(toks, json_string(s ? s : "?"));
                }
            json_object_set_new(splits, t->spec, toks);
        }
        json_array_append_new(arr, json_pack("{s:s%, s:I, s:o}", "word", word, wl, "count", (json_int_t)wc,
                                             "splits", splits));
    }
    if (!rc) {
        json_object_set_new(root, "heldout_words", json_integer(words));
        json_object_set_new(root, "unseen_words", json_integer((json_int_t)n));
        json_object_set_new(root, "unseen_word_occurrences", json_integer(unseen));
        json_object_set_new(root, "unseen_word_rate", json_real(words ? (double)unseen / (double)words : 0.0));
        json_object_set(root, "oov_words", arr);
    }
    free(spaced);
    tok_encoding_free(&enc);
    tokb_encoding_free(&e);
    json_decref(arr);
    free(order);
    tokt_words_destroy(&seen);
    tokb_free(own.base);
    return rc == ZB_ENOMEM ? zb_fail(err, rc, "out of memory listing unseen words") : rc;
}

int cli_tokstats(int argc, char **argv)
{
    ts_opts o;
    int status = parse(argc, argv, &o);
    if (status != ZB_OPT_RUN)
        return status;
    status = 2;
    zb_err err;
    corpus c = {0};
    json_t *root = NULL, *list = NULL;
    tok_tokenizer *norm = NULL;
    char tmpdir[4096] = "", train_file[4200] = "";
    if (read_corpus(o.corpus, o.holdout, &c))
        goto out;
    /* char and word levels see BERT's normalization and words, as a BERT WordPiece does */
    if (!(norm = tokt_load_pipeline("bert", "bert", &err)))
        goto fail;
    for (int i = 0; i < o.n_t; i++) {
        ts_tok *t = &o.t[i];
        if (t->kind == TS_CHAR || t->kind == TS_WORD) {
            if (build_baseline(t, norm, &c, &err))
                goto fail;
        } else if (t->kind == TS_DIR) {
            if (!(t->tok = tok_load(t->spec, &err)))
                goto fail;
        } else {
            if (!*tmpdir) {
                const char *tmp = getenv("TMPDIR");
                snprintf(tmpdir, sizeof tmpdir, "%s/zembed-tokstats.XXXXXX", tmp && *tmp ? tmp : "/tmp");
                int made = mkdtemp(tmpdir) != NULL;
                snprintf(train_file, sizeof train_file, "%s/train.txt", tmpdir);
                if (!made || write_train_file(&c, train_file)) {
                    if (!made)
                        *tmpdir = *train_file = '\0';
                    fprintf(stderr, "zembed tokstats: cannot write the training lines into %s\n", tmpdir);
                    goto out;
                }
            }
            if (train_subword(t, &o, tmpdir, train_file, &err))
                goto fail;
        }
    }
    size_t n_eval = c.n_held ? c.n_held : c.n;
    long long bytes = 0;
    for (size_t i = 0; i < c.n; i++)
        bytes += in_eval(&c, i) ? (long long)c.len[i] : 0;
    if (!(root = json_object()) || !(list = json_array()))
        goto oom;
    for (int i = 0; i < o.n_t; i++) {
        if (eval_one(&o.t[i], &c, n_eval, &err))
            goto fail;
        if (json_array_append_new(list, tok_json(&o.t[i], n_eval, bytes)))
            goto oom;
    }
    json_object_set_new(root, "corpus", json_string(o.corpus));
    json_object_set_new(root, "holdout", json_real(o.holdout));
    json_object_set_new(root, "lines", json_integer((json_int_t)c.n));
    json_object_set_new(root, "train_lines", json_integer((json_int_t)(c.n_held ? c.n - c.n_held : c.n)));
    json_object_set_new(root, "eval_lines", json_integer((json_int_t)n_eval));
    json_object_set_new(root, "eval_bytes", json_integer(bytes));
    json_object_set_new(root, "skipped_lines", json_integer((json_int_t)c.n_bad));
    json_object_set(root, "tokenizers", list);
    if (unseen_words(&o, norm, &c, root, &err))
        goto fail;
    if (ts_print(root, o.format, &err))
        goto fail;
    status = c.n_bad ? 1 : 0;
    goto out;
oom:
    fprintf(stderr, "zembed tokstats: out of memory\n");
    goto out;
fail:
    fprintf(stderr, "zembed tokstats: %s\n", err.msg);
out:
    if (*train_file)
        unlink(train_file);
    if (*tmpdir)
        rmdir(tmpdir);
    for (int i = 0; i < o.n_t; i++) {
        tokb_free(o.t[i].base);
        tok_free(o.t[i].tok);
        free(o.t[i].per_line);
        free(o.t[i].used);
    }
    tok_free(norm);
    json_decref(list);
    json_decref(root);
    corpus_free(&c);
    return status;
}
