/* zembed gen-model: write a Hugging Face sentence-transformers folder with seeded random weights
 * (see tools/enc_genmodel.h), for tests, benchmarks and offline demos. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "enc_genmodel.h"
#include "zb_args.h"
#include "zb_opt.h"

static const char usage_text[] =
        "usage: zembed gen-model --out DIR --vocab FILE [options]\n"
        "Writes a BERT sentence-transformers model folder with seeded random weights (random\n"
        "weights, not meaningful: for tests and benchmarks). Same seed, same bytes.\n"
        "\n"
        "  --out DIR              folder to write (created; must be empty unless --force)\n"
        "  --vocab FILE           vocab.txt to copy (its line count is the vocabulary size)\n"
        "  --preset NAME          tiny (32 hidden, 2 layers, 4 heads, FFN 64; default) or\n"
        "                         minilm (paraphrase-MiniLM-L6-v2: 384/6/12/1536, 512 positions)\n"
        "  --seed N               random seed, 0 <= N < 2^53 (default 42)\n"
        "  --dtype f32|f16|bf16   weight dtype in the safetensors file(s) (default f32)\n"
        "  --prefix-bert          name tensors bert.embeddings..., as BertFor* checkpoints do\n"
        "  --shards N             N > 1: model-0000k-of-0000N.safetensors + index json\n"
        "  --pooling MODE         mean (default), cls, max, mean_sqrt_len_tokens, weightedmean,\n"
        "                         lasttoken\n"
        "  --normalize            add a Normalize module to modules.json\n"
        "  --max-seq-length N     sentence_bert_config.json max_seq_length (preset: 128)\n"
        "  --hidden-act ACT       gelu (default), gelu_new or relu\n"
        "  --hidden N, --layers N, --heads N, --intermediate N, --max-position N\n"
        "                         override the preset's dimensions\n"
        "  --tokenizer-json FILE  also copy a tokenizer.json\n"
        "  --force                write into a non-empty folder (old weight files are removed)\n"
        "  -h, --help             this text          --version   the version of zembed\n";

typedef struct {
    const char *out, *vocab, *preset;
    enc_genmodel_opts g;        /* the preset, with every other flag on top */
} gen_opts;

enum { O_OUT = 0x100, O_VOCAB, O_PRESET, O_POOLING, O_HIDDEN_ACT, O_TOKENIZER_JSON, O_DTYPE, O_FORCE,
       O_PREFIX_BERT, O_NORMALIZE, O_SEED, O_SHARDS, O_MAX_SEQ, O_HIDDEN, O_LAYERS, O_HEADS,
       O_INTERMEDIATE, O_MAX_POSITION };

static const struct option longopts[] = {
    {"out", required_argument, NULL, O_OUT}, {"vocab", required_argument, NULL, O_VOCAB},
    {"preset", required_argument, NULL, O_PRESET}, {"pooling", required_argument, NULL, O_POOLING},
    {"hidden-act", required_argument, NULL, O_HIDDEN_ACT},
    {"tokenizer-json", required_argument, NULL, O_TOKENIZER_JSON},
    {"dtype", required_argument, NULL, O_DTYPE}, {"force", no_argument, NULL, O_FORCE},
    {"prefix-bert", no_argument, NULL, O_PREFIX_BERT}, {"normalize", no_argument, NULL, O_NORMALIZE},
    {"seed", required_argument, NULL, O_SEED}, {"shards", required_argument, NULL, O_SHARDS},
    {"max-seq-length", required_argument, NULL, O_MAX_SEQ}, {"hidden", required_argument, NULL, O_HIDDEN},
    {"layers", required_argument, NULL, O_LAYERS}, {"heads", required_argument, NULL, O_HEADS},
    {"intermediate", required_argument, NULL, O_INTERMEDIATE},
    {"max-position", required_argument, NULL, O_MAX_POSITION}, ZB_OPT_STD};

/* parse: argv -> o. The preset is applied first (a first pass finds it), then every other flag
 * on top, whatever their order. ZB_OPT_RUN to go on, else the exit status. */
static int parse(int argc, char **argv, gen_opts *o)
{
    const char *prog = "zembed gen-model";
    zb_opt p = {.prog = prog, .usage = usage_text, .longopts = longopts};
    zb_err err = {0};
    int c, status;
    o->preset = "tiny";
    while ((c = zb_opt_next(&p, argc, argv, &status)) != -1)
        if (c == ZB_OPT_EXIT)
            return status;
        else if (c == O_PRESET)
            o->preset = optarg;
    if (enc_genmodel_preset(o->preset, &o->g, &err)) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return 2;
    }
    long long seed = (long long)o->g.seed, shards = 1, n;
    int seq_set = 0;
    /* Integer flags: where each goes and its allowed range. */
    struct { int opt; const char *flag; long long *ll; int *dst; long long lo, hi; } ints[] = {
        {O_SEED, "--seed", &seed, NULL, 0, (1ll << 53) - 1},
        {O_SHARDS, "--shards", &shards, NULL, 1, 99999},
        {O_MAX_SEQ, "--max-seq-length", NULL, &o->g.max_seq_length, 1, 1 << 20},
        {O_HIDDEN, "--hidden", NULL, &o->g.hidden, 1, 16384},
        {O_LAYERS, "--layers", NULL, &o->g.layers, 1, 256},
        {O_HEADS, "--heads", NULL, &o->g.heads, 1, 1024},
        {O_INTERMEDIATE, "--intermediate", NULL, &o->g.intermediate, 1, 65536},
        {O_MAX_POSITION, "--max-position", NULL, &o->g.max_position, 1, 1 << 20},
    };
    zb_opt p2 = {.prog = prog, .usage = usage_text, .longopts = longopts};
    while ((c = zb_opt_next(&p2, argc, argv, &status)) != -1) {
        size_t k = 0;
        while (k < sizeof ints / sizeof ints[0] && ints[k].opt != c)
            k++;
        if (k < sizeof ints / sizeof ints[0]) {
            if (zb_parse_ll(prog, ints[k].flag, optarg, ints[k].lo, ints[k].hi, &n))
                return 2;
            if (ints[k].ll)
                *ints[k].ll = n;
            else
                *ints[k].dst = (int)n;
            seq_set |= c == O_MAX_SEQ;
            continue;
        }
        switch (c) {
        case O_OUT: o->out = optarg; break;
        case O_VOCAB: o->vocab = optarg; break;
        case O_PRESET: break;
        case O_POOLING: o->g.pooling = optarg; break;
        case O_HIDDEN_ACT: o->g.hidden_act = optarg; break;
        case O_TOKENIZER_JSON: o->g.tokenizer_json = optarg; break;
        case O_FORCE: o->g.force = 1; break;
        case O_PREFIX_BERT: o->g.prefix_bert = 1; break;
        case O_NORMALIZE: o->g.normalize = 1; break;
        case O_DTYPE:
            if (enc_genmodel_parse_dtype(optarg, &o->g.dtype, &err)) {
                fprintf(stderr, "%s: --dtype: %s\n", prog, err.msg);
                return 2;
            }
            break;
        default: return status;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        return 2;
    }
    o->g.seed = (uint64_t)seed;
    o->g.shards = (int)shards;
    if (!o->out || !o->vocab) {
        fprintf(stderr, "%s: --out and --vocab are required (zembed gen-model --help)\n", prog);
        return 2;
    }
    /* A smaller --max-position without --max-seq-length: keep the pair consistent. */
    if (!seq_set && o->g.max_seq_length > o->g.max_position)
        o->g.max_seq_length = o->g.max_position;
    return ZB_OPT_RUN;
}

int cli_gen_model(int argc, char **argv)
{
    gen_opts o = {0};
    int status = parse(argc, argv, &o);
    if (status != ZB_OPT_RUN)
        return status;
    zb_err err = {0};
    if (enc_genmodel_write(o.out, o.vocab, &o.g, &err)) {
        fprintf(stderr, "zembed gen-model: %s\n", err.msg);
        return 2;
    }
    return 0;
}
