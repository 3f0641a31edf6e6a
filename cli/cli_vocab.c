/* zembed vocab: what a tokenizer's vocabulary is made of (the token groups of tok_group.h, the
 * ones the walk-through colors, and a random sample); zembed decode: id lists back to text and
 * tokens. Both: parse -> load (tok_load) -> run. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tok.h"
#include "tok_group.h"
#include "zb_args.h"
#include "zb_input.h"
#include "zb_opt.h"

/* ---- zembed vocab ----------------------------------------------------------------------------- */

typedef struct {
    const char *model;
    int         sample;
    long long   seed;
    int         json;
} vocab_opts;

static const char vocab_usage_text[] =
        "usage: zembed vocab --model DIR [--sample N] [--seed S] [--format table|json]\n"
        "The vocabulary of a tokenizer: its size, how many tokens fall in each group, and N\n"
        "random tokens. Groups (tokenizer_svc/tok_group.h, the walk-through's colors):\n"
        "  special       added special tokens and bracketed [...] tokens ([CLS], [unused12])\n"
        "  continuation  pieces that continue a word (\"##ing\")\n"
        "  word_start    pieces that start a word in byte-level / Metaspace BPE (\"\xC4\xA0the\", \"\xE2\x96\x81the\")\n"
        "  other         all the rest\n"
        "\n"
        "  --model DIR        model folder (tokenizer.json, or vocab.txt)\n"
        "  --sample N         random tokens to show (default 20; 0: none)\n"
        "  --seed S           seed of the sample (default 42: same seed, same sample)\n"
        "  --format F         table (default) or json\n";

/* splitmix64: a small, seedable, well-mixed generator; same seed, same sample everywhere. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* parse: argv -> o. ZB_OPT_RUN to go on, else the exit status (--help, --version: 0). */
static int vocab_parse(int argc, char **argv, vocab_opts *o)
{
    enum { O_MODEL = 256, O_SAMPLE, O_SEED, O_FORMAT };
    static const struct option longopts[] = {
        {"model", required_argument, 0, O_MODEL}, {"sample", required_argument, 0, O_SAMPLE},
        {"seed", required_argument, 0, O_SEED}, {"format", required_argument, 0, O_FORMAT}, ZB_OPT_STD};
    static const char *const formats[] = {"table", "json", NULL};
    *o = (vocab_opts){.sample = 20, .seed = 42};
    zb_opt p = {.prog = "zembed vocab", .usage = vocab_usage_text, .longopts = longopts};
    int c, status;
    while ((c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        int bad = 0;
        switch (c) {
        case O_MODEL: o->model = optarg; break;
        case O_SAMPLE: bad = zb_parse_int(p.prog, "--sample", optarg, 0, 1 << 24, &o->sample); break;
        case O_SEED: bad = zb_parse_ll(p.prog, "--seed", optarg, 0, LLONG_MAX, &o->seed); break;
        case O_FORMAT: bad = zb_opt_choice(p.prog, "--format", optarg, formats, &o->json); break;
        default: return status;
        }
        if (bad)
            return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "zembed vocab: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!o->model) {
        fprintf(stderr, "zembed vocab: --model DIR is required\n");
        return 2;
    }
    return ZB_OPT_RUN;
}

int cli_vocab(int argc, char **argv)
{
    vocab_opts o;
    int rc = vocab_parse(argc, argv, &o);
    if (rc != ZB_OPT_RUN)
        return rc;
    zb_err err;
    tok_tokenizer *t = tok_load(o.model, &err);
    if (!t) {
        fprintf(stderr, "zembed vocab: %s\n", err.msg);
        return 2;
    }
    int n_ids = tok_vocab_size(t), n_tok = 0;
    long long count[TOK_N_GROUPS] = {0};
    int32_t *ids = malloc((size_t)(n_ids ? n_ids : 1) * sizeof *ids);
    json_t *root = json_object(), *groups = json_object(), *sample = json_array();
    int status = 2;
    if (!ids || !root || !groups || !sample)
        goto oom;
    for (int32_t id = 0; id < n_ids; id++) {
        if (!tok_id_to_token(t, id))
            continue;                       /* a hole in the ids */
        ids[n_tok++] = id;
        count[tok_id_group(t, id)]++;
    }
    /* the sample: a partial Fisher-Yates shuffle of the ids that have a token */
    uint64_t state = (uint64_t)o.seed;
    int k = o.sample < n_tok ? o.sample : n_tok;
    for (int i = 0; i < k; i++) {
        int j = i + (int)(next_rand(&state) % (uint64_t)(n_tok - i));
        int32_t tmp = ids[i];
        ids[i] = ids[j];
        ids[j] = tmp;
        if (json_array_append_new(sample, json_pack("{s:i, s:s, s:s}", "id", ids[i], "token",
                                                    tok_id_to_token(t, ids[i]), "group",
                                                    tok_group_name(tok_id_group(t, ids[i])))))
            goto oom;
    }
    for (int g = 0; g < TOK_N_GROUPS; g++)
        if (json_object_set_new(groups, tok_group_name((tok_group)g), json_integer(count[g])))
            goto oom;
    if (json_object_set_new(root, "model", json_string(o.model)) ||
        json_object_set_new(root, "vocab_size", json_integer(n_tok)) ||
        json_object_set_new(root, "ids", json_integer(n_ids)) || json_object_set(root, "groups", groups) ||
        json_object_set_new(root, "seed", json_integer(o.seed)) || json_object_set(root, "sample", sample))
        goto oom;
    if (o.json) {
        if (json_dumpf(root, stdout, JSON_COMPACT) == 0)
            putchar('\n');               /* a failed write shows in ferror: cli_flush_stdout says it */
    } else {
        printf("%s: %d tokens", o.model, n_tok);
        if (n_tok != n_ids)
            printf(" (ids 0..%d, %d unused)", n_ids - 1, n_ids - n_tok);
        printf("\n\n%-14s %8s %7s\n", "group", "tokens", "share");
        for (int g = 0; g < TOK_N_GROUPS; g++)
            printf("%-14s %8lld %6.1f%%\n", tok_group_name((tok_group)g), count[g],
                   n_tok ? 100.0 * (double)count[g] / n_tok : 0.0);
        if (k) {
            printf("\n%d random tokens (seed %lld):\n%8s  %-14s %s\n", k, o.seed, "id", "group", "token");
            for (int i = 0; i < k; i++)
                printf("%8d  %-14s %s\n", ids[i], tok_group_name(tok_id_group(t, ids[i])), tok_id_to_token(t, ids[i]));
        }
    }
    status = cli_flush_stdout("vocab");
    goto out;
oom:
    fprintf(stderr, "zembed vocab: out of memory\n");
out:
    json_decref(root);
    json_decref(groups);
    json_decref(sample);
    free(ids);
    tok_free(t);
    return status;
}

/* ---- zembed decode ---------------------------------------------------------------------------- */

typedef struct {
    const char *model;
    int         keep_special;
    char      **files;      /* FILE arguments (none: stdin) */
    int         n_files;
} decode_opts;

static const char decode_usage_text[] =
        "usage: zembed decode --model DIR [--keep-special] [FILE...]\n"
        "Reads one JSON array of token ids per line (what `zembed tokenize` prints as input_ids)\n"
        "and prints one JSON object per line: the decoded text (the tokenizer's decoder, as HF's\n"
        "decode) and the tokens:\n"
        "  {\"text\":\"hello world\",\"tokens\":[\"[CLS]\",\"hello\",\"world\",\"[SEP]\"]}\n"
        "A line that is not an array of ids in the vocabulary gives\n"
        "  {\"error\":{\"code\":\"out_of_range\",\"message\":\"line 3: ...\"}}\n"
        "and the stream goes on; the exit status is then 1.\n"
        "\n"
        "  --model DIR       model folder (tokenizer.json, or vocab.txt)\n"
        "  --keep-special    keep special tokens ([CLS], <s> ...) in the text (default: skipped,\n"
        "                    as HF's decode(skip_special_tokens=True))\n";

static void print_json_line(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (s)
        puts(s);
    else
        puts("{\"error\":{\"code\":\"out_of_memory\",\"message\":\"cannot print the result\"}}");
    free(s);
}

static void decode_error(long long line, int code, const char *msg)
{
    char full[ZB_ERR_MSG_MAX + 64];
    snprintf(full, sizeof full, "line %lld: %s", line, msg);
    json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", zb_code_name(code), "message", full);
    print_json_line(j);
    json_decref(j);
}

/* One line: ids -> {"text", "tokens"}. 0, or a ZB_E* code with msg set. */
static int decode_line(const tok_tokenizer *t, const decode_opts *o, const char *line, int32_t **ids,
                       size_t *cap, zb_err *err)
{
    json_error_t je;
    json_t *arr = json_loads(line, JSON_DECODE_ANY, &je);
    if (!arr || !json_is_array(arr)) {
        json_decref(arr);
        return zb_fail(err, ZB_EFORMAT, "expected a JSON array of ids%s%s", arr ? "" : ": ", arr ? "" : je.text);
    }
    size_t n = json_array_size(arr);
    if (n > INT_MAX / 2 || (n > *cap && !(*ids = realloc(*ids, (*cap = n) * sizeof **ids)))) {
        json_decref(arr);
        *cap = 0;
        return zb_fail(err, ZB_ENOMEM, "%zu ids: out of memory", n);
    }
    json_t *tokens = json_array(), *v;
    size_t i;
    int rc = 0;
    json_array_foreach(arr, i, v) {
        json_int_t id = json_integer_value(v);
        if (!json_is_integer(v) || id < 0 || id >= tok_vocab_size(t) || !tok_id_to_token(t, (int32_t)id)) {
            rc = zb_fail(err, ZB_ERANGE, "ids[%zu] is not a token id of this vocabulary (0..%d)", i,
                         tok_vocab_size(t) - 1);
            break;
        }
        (*ids)[i] = (int32_t)id;
        json_array_append_new(tokens, json_string(tok_id_to_token(t, (int32_t)id)));
    }
    char *text = NULL;
    if (!rc)
        rc = tok_decode(t, *ids, (int)n, !o->keep_special, &text, err);
    if (!rc) {
        json_t *j = json_pack("{s:s, s:O}", "text", text, "tokens", tokens);
        print_json_line(j);
        json_decref(j);
    }
    free(text);
    json_decref(tokens);
    json_decref(arr);
    return rc;
}

/* parse: argv -> o. ZB_OPT_RUN to go on, else the exit status (--help, --version: 0). */
static int decode_parse(int argc, char **argv, decode_opts *o)
{
    enum { O_MODEL = 256, O_KEEP };
    static const struct option longopts[] = {
        {"model", required_argument, 0, O_MODEL}, {"keep-special", no_argument, 0, O_KEEP}, ZB_OPT_STD};
    zb_opt p = {.prog = "zembed decode", .usage = decode_usage_text, .longopts = longopts};
    int c, status;
    while ((c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        switch (c) {
        case O_MODEL: o->model = optarg; break;
        case O_KEEP: o->keep_special = 1; break;
        default: return status;
        }
    }
    o->files = argv + optind;
    o->n_files = argc - optind;
    if (!o->model) {
        fprintf(stderr, "zembed decode: --model DIR is required\n");
        return 2;
    }
    return ZB_OPT_RUN;
}

int cli_decode(int argc, char **argv)
{
    decode_opts o = {0};
    int status = decode_parse(argc, argv, &o);
    if (status != ZB_OPT_RUN)
        return status;
    zb_err err;
    zb_input *in = zb_input_open(o.files, o.n_files, 0, &err);
    if (!in) {
        fprintf(stderr, "zembed decode: %s\n", err.msg);
        return 2;
    }
    tok_tokenizer *t = tok_load(o.model, &err);
    if (!t) {
        fprintf(stderr, "zembed decode: %s\n", err.msg);
        zb_input_destroy(&in);
        return 2;
    }
    status = 0;
    int32_t *ids = NULL;
    size_t cap = 0, len;
    char *line;
    long long n = 0;
    int got;
    while ((got = zb_input_line(in, &line, &len, NULL, &err)) > 0) {
        n++;
        if (decode_line(t, &o, line, &ids, &cap, &err)) {
            decode_error(n, err.code, err.msg);
            status = 1;
        }
    }
    if (got < 0) {
        fprintf(stderr, "zembed decode: %s\n", err.msg);
        status = 2;
    }
    if (cli_flush_stdout("decode"))
        status = 2;
    free(ids);
    tok_free(t);
    zb_input_destroy(&in);
    return status;
}
