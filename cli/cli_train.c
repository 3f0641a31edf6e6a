/* zembed train-tokenizer: train a BPE, WordPiece, word-level or character-level tokenizer on
 * corpus files with Hugging Face tokenizers' trainer rules (tokenizer_svc/tok_train.h) and write
 * a tokenizer.json that both zembed and HF load. parse -> load (the counting pipeline) -> run
 * (count words on all cores, train, write, report). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tok.h"
#include "tok_train.h"
#include "zb_args.h"
#include "zb_opt.h"
#include "zb_progress.h"

#define PROG "zembed train-tokenizer"

static const char *const TYPES[] = {"bpe", "wordpiece", "wordlevel", "char", NULL};

typedef struct {
    tokt_options t;
    const char  *out;
    const char  *normalizer, *pretok;   /* NULL: the type's default */
    char        *special_buf;           /* --special-tokens, split in place */
    const char **special;
    int          threads;
    int          quiet;
    const char *const *files;
    int          n_files;
} train_opts;

static const char usage_text[] =
        "usage: " PROG " --type bpe|wordpiece|wordlevel|char --out DIR [options] CORPUS...\n"
        "Trains a tokenizer on the corpus files (UTF-8, one text per line; each line is split by\n"
        "the normalizer and pre-tokenizer, its \"\\n\" included, as HF tokenizers' trainers do) and\n"
        "writes DIR/tokenizer.json (and DIR/vocab.txt for wordpiece). Same vocabulary, ids and\n"
        "merges as HF tokenizers' BpeTrainer / WordPieceTrainer / WordLevelTrainer.\n"
        "\n"
        "  --type T                    bpe, wordpiece (BPE merges, \"##\" continuation pieces, the\n"
        "                              WordPiece model), wordlevel (whole words), char (the\n"
        "                              alphabet alone, as a BPE without merges)\n"
        "  --out DIR                   folder to write (created if missing)\n"
        "  --vocab-size N              target size, specials included (default 30000)\n"
        "  --min-frequency F           no merge (bpe) or word (wordlevel) seen fewer times (default 0)\n"
        "  --special-tokens A,B,...    ids 0.. in this order, e.g. [PAD],[UNK],[CLS],[SEP],[MASK];\n"
        "                              one containing \"unk\" becomes the model's unknown token;\n"
        "                              [CLS] and [SEP] together add BERT's template\n"
        "  --limit-alphabet N          keep the N most frequent chars (ties: lower code point)\n"
        "  --initial-alphabet byte-level   all 256 byte-level chars, seen or not\n"
        "  --continuing-subword-prefix P   marks non-initial pieces (wordpiece default \"##\")\n"
        "  --end-of-word-suffix S      marks word-final pieces (e.g. \"</w>\")\n"
        "  --normalizer N              bert, nfkc, lowercase or none (default: bert for wordpiece\n"
        "                              and wordlevel, none otherwise)\n"
        "  --pre-tokenizer P           byte-level (GPT-2), bert, whitespace or metaspace (default:\n"
        "                              byte-level for bpe, bert for wordpiece and wordlevel,\n"
        "                              metaspace for char)\n"
        "  --threads N                 counting threads (default: all cores)\n"
        "  --quiet                     no progress bar (it is shown only when stderr is a terminal)\n"
        "\n"
        "Ties HF leaves to hash order are broken by a fixed rule (tokenizer_svc/tok_train.h), so\n"
        "wordpiece and --limit-alphabet runs are reproducible where HF's are not.\n"
        "Exit status: 0 written, 2 usage error or a corpus HF would refuse (invalid UTF-8: the\n"
        "file, line and byte are named).\n";

static int split_specials(train_opts *o, const char *v)
{
    free(o->special_buf);
    free(o->special);
    o->special_buf = strdup(v);
    o->special = calloc(strlen(v) + 1, sizeof *o->special);
    if (!o->special_buf || !o->special)
        return -1;
    int n = 0;
    for (char *s = o->special_buf, *tok; (tok = strsep(&s, ","));)
        o->special[n++] = tok;
    o->t.special = o->special;
    o->t.n_special = n;
    return 0;
}

/* parse: argv -> o. ZB_OPT_RUN to go on, else the exit status (--help, --version: 0). */
static int parse(int argc, char **argv, train_opts *o)
{
    enum { O_TYPE = 256, O_OUT, O_VOCAB, O_MINF, O_SPECIAL, O_LIMIT, O_INIT, O_PREFIX, O_SUFFIX, O_NORM,
           O_PRE, O_THREADS, O_QUIET };
    static const struct option longopts[] = {
        {"type", required_argument, 0, O_TYPE}, {"out", required_argument, 0, O_OUT},
        {"vocab-size", required_argument, 0, O_VOCAB}, {"min-frequency", required_argument, 0, O_MINF},
        {"special-tokens", required_argument, 0, O_SPECIAL}, {"limit-alphabet", required_argument, 0, O_LIMIT},
        {"initial-alphabet", required_argument, 0, O_INIT},
        {"continuing-subword-prefix", required_argument, 0, O_PREFIX},
        {"end-of-word-suffix", required_argument, 0, O_SUFFIX}, {"normalizer", required_argument, 0, O_NORM},
        {"pre-tokenizer", required_argument, 0, O_PRE}, {"threads", required_argument, 0, O_THREADS},
        {"quiet", no_argument, 0, O_QUIET}, ZB_OPT_STD};
    static const char *const initial[] = {"byte-level", NULL};
    const char *prefix = NULL;
    int have_prefix = 0, vocab = 30000, limit = -1, ti = -1, c, status, dummy;
    long long minf = 0;
    o->threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    zb_opt p = {.prog = PROG, .usage = usage_text, .longopts = longopts};
    while ((c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        int bad = 0;
        switch (c) {
        case O_TYPE: bad = zb_opt_choice(PROG, "--type", optarg, TYPES, &ti); break;
        case O_OUT: o->out = optarg; break;
        case O_VOCAB: bad = zb_parse_int(PROG, "--vocab-size", optarg, 1, 1 << 24, &vocab); break;
        case O_MINF: bad = zb_parse_ll(PROG, "--min-frequency", optarg, 0, LLONG_MAX, &minf); break;
        case O_SPECIAL:
            if ((bad = split_specials(o, optarg)))
                fprintf(stderr, PROG ": out of memory\n");
            break;
        case O_LIMIT: bad = zb_parse_int(PROG, "--limit-alphabet", optarg, 0, INT_MAX, &limit); break;
        case O_INIT:
            bad = zb_opt_choice(PROG, "--initial-alphabet", optarg, initial, &dummy);
            o->t.byte_level_alphabet = 1;
            break;
        case O_PREFIX: prefix = optarg; have_prefix = 1; break;
        case O_SUFFIX: o->t.suffix = optarg; break;
        case O_NORM: o->normalizer = optarg; break;
        case O_PRE: o->pretok = optarg; break;
        case O_THREADS: bad = zb_parse_int(PROG, "--threads", optarg, 1, 256, &o->threads); break;
        case O_QUIET: o->quiet = 1; break;
        default: return status;
        }
        if (bad)
            return 2;
    }
    if (ti < 0) {
        fprintf(stderr, PROG ": --type is required: bpe, wordpiece, wordlevel or char (" PROG " --help)\n");
        return 2;
    }
    if (!o->out) {
        fprintf(stderr, PROG ": --out DIR is required\n");
        return 2;
    }
    if (optind == argc) {
        fprintf(stderr, PROG ": no CORPUS file given\n");
        return 2;
    }
    int bt = o->t.byte_level_alphabet, ns = o->t.n_special;
    const char *const *sp = o->t.special;
    const char *suffix = o->t.suffix;
    tokt_options_default(&o->t, (tokt_type)ti);
    o->t.byte_level_alphabet = bt;
    o->t.special = sp;
    o->t.n_special = ns;
    o->t.suffix = suffix;
    o->t.vocab_size = vocab;
    o->t.min_frequency = minf;
    o->t.limit_alphabet = limit;
    if (have_prefix)
        o->t.prefix = prefix;
    if (!o->normalizer)
        o->normalizer = ti == TOKT_WORDPIECE || ti == TOKT_WORDLEVEL ? "bert" : "none";
    if (!o->pretok)
        o->pretok = ti == TOKT_BPE ? "byte-level" : ti == TOKT_CHAR ? "metaspace" : "bert";
    zb_err err;
    if (tokt_check_names(o->normalizer, o->pretok, &err)) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 2;
    }
    o->files = (const char *const *)argv + optind;
    o->n_files = argc - optind;
    return ZB_OPT_RUN;
}

/* The two phases' progress bars (zb_progress: drawn only on a terminal, not with --quiet). */
typedef struct {
    int          quiet;
    zb_progress *bar;
    const char  *phase;
} progress;

static void show(progress *p, const char *phase, int bytes, int64_t done, int64_t total)
{
    if (p->phase != phase) {
        zb_progress_end(&p->bar);
        p->bar = zb_progress_new(&(zb_progress_opts){.label = phase, .fd = 2, .quiet = p->quiet,
                                                      .total = (uint64_t)total, .bytes = bytes});
        p->phase = phase;
    }
    zb_progress_update(p->bar, (uint64_t)done, 0, 0);
}

static void show_counting(void *ctx, int64_t done, int64_t total) { show(ctx, "counting words", 1, done, total); }
static void show_merging(void *ctx, int64_t done, int64_t total) { show(ctx, "merging", 0, done, total); }

int cli_train_tokenizer(int argc, char **argv)
{
    train_opts o = {0};
    int status = parse(argc, argv, &o);
    if (status != ZB_OPT_RUN) {
        free(o.special_buf);
        free(o.special);
        return status;
    }
    zb_err err;
    progress pc = {.quiet = o.quiet};
    tokt_progress pg = {show_counting, show_merging, &pc};
    tokt_report rep;
    int rc = tokt_train_files(&o.t, o.normalizer, o.pretok, o.files, o.n_files, o.threads, o.out, &pg, &rep, &err);
    zb_progress_end(&pc.bar);
    if (rc) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        status = 2;
        goto out;
    }
    if (o.t.type == TOKT_WORDPIECE && !tokt_unk_token(&o.t))
        fprintf(stderr, PROG ": note: no special token names an unknown token; a word with a char "
                        "outside the vocabulary will not encode (add [UNK] to --special-tokens)\n");
    fprintf(stderr,
            PROG ": %lld lines, %lld distinct words (%lld in all); alphabet %d, special tokens %d, "
                 "merges %d, vocabulary %d; counting %.2f s, training %.2f s, total %.2f s (%d threads)\n",
            (long long)rep.lines, (long long)rep.words_distinct, (long long)rep.words_total, rep.alphabet,
            rep.specials, rep.merges, rep.vocab, rep.count_s, rep.train_s, rep.total_s, o.threads);
    printf("%s/tokenizer.json\n", o.out);
    status = 0;
out:
    free(o.special_buf);
    free(o.special);
    return status;
}
