/* zembed gen-model: write a Hugging Face sentence-transformers folder with seeded random weights
 * (see encoder_svc/enc_genmodel.h), for tests, benchmarks and offline demos. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "enc_genmodel.h"
#include "zb_args.h"

static void usage(FILE *f)
{
    fprintf(f,
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
        "  --force                write into a non-empty folder (old weight files are removed)\n");
}

/* Strict integer in [lo, hi]: the whole string must be a number. */
static int parse_ll(const char *flag, const char *s, long long lo, long long hi, long long *out)
{
    return zb_parse_ll("zembed gen-model", flag, s, lo, hi, out);
}

int cli_gen_model(int argc, char **argv)
{
    const char *out = NULL, *vocab = NULL, *preset = "tiny";
    zb_err err = {0};
    /* The preset is applied first, then every other flag on top, whatever their order. */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--preset") && i + 1 < argc)
            preset = argv[i + 1];
    }
    enc_genmodel_opts o;
    if (enc_genmodel_preset(preset, &o, &err)) {
        fprintf(stderr, "zembed gen-model: %s\n", err.msg);
        return 2;
    }
    long long seed = (long long)o.seed, shards = 1;
    int seq_set = 0;
    /* Integer flags: where each goes and its allowed range. */
    struct { const char *flag; long long *ll; int *dst; long long lo, hi; } ints[] = {
        {"--seed", &seed, NULL, 0, (1ll << 53) - 1},
        {"--shards", &shards, NULL, 1, 99999},
        {"--max-seq-length", NULL, &o.max_seq_length, 1, 1 << 20},
        {"--hidden", NULL, &o.hidden, 1, 16384},
        {"--layers", NULL, &o.layers, 1, 256},
        {"--heads", NULL, &o.heads, 1, 1024},
        {"--intermediate", NULL, &o.intermediate, 1, 65536},
        {"--max-position", NULL, &o.max_position, 1, 1 << 20},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--force")) {
            o.force = 1;
            continue;
        }
        if (!strcmp(a, "--prefix-bert")) {
            o.prefix_bert = 1;
            continue;
        }
        if (!strcmp(a, "--normalize")) {
            o.normalize = 1;
            continue;
        }
        size_t k = 0;
        while (k < sizeof ints / sizeof ints[0] && strcmp(a, ints[k].flag))
            k++;
        int known = k < sizeof ints / sizeof ints[0] || !strcmp(a, "--out") ||
                    !strcmp(a, "--vocab") || !strcmp(a, "--preset") || !strcmp(a, "--pooling") ||
                    !strcmp(a, "--hidden-act") || !strcmp(a, "--tokenizer-json") ||
                    !strcmp(a, "--dtype");
        if (!known || !v) {
            fprintf(stderr, "zembed gen-model: %s: %s\n", a, known ? "missing value" : "unknown option");
            usage(stderr);
            return 2;
        }
        i++;
        if (k < sizeof ints / sizeof ints[0]) {
            long long n;
            if (parse_ll(a, v, ints[k].lo, ints[k].hi, &n))
                return 2;
            if (ints[k].ll)
                *ints[k].ll = n;
            else
                *ints[k].dst = (int)n;
            seq_set |= ints[k].dst == &o.max_seq_length;
        } else if (!strcmp(a, "--out")) {
            out = v;
        } else if (!strcmp(a, "--vocab")) {
            vocab = v;
        } else if (!strcmp(a, "--pooling")) {
            o.pooling = v;
        } else if (!strcmp(a, "--hidden-act")) {
            o.hidden_act = v;
        } else if (!strcmp(a, "--tokenizer-json")) {
            o.tokenizer_json = v;
        } else if (!strcmp(a, "--dtype") && enc_genmodel_parse_dtype(v, &o.dtype, &err)) {
            fprintf(stderr, "zembed gen-model: --dtype: %s\n", err.msg);
            return 2;
        }
    }
    o.seed = (uint64_t)seed;
    o.shards = (int)shards;
    if (!out || !vocab) {
        fprintf(stderr, "zembed gen-model: --out and --vocab are required\n");
        usage(stderr);
        return 2;
    }
    /* A smaller --max-position without --max-seq-length: keep the pair consistent. */
    if (!seq_set && o.max_seq_length > o.max_position)
        o.max_seq_length = o.max_position;
    if (enc_genmodel_write(out, vocab, &o, &err)) {
        fprintf(stderr, "zembed gen-model: %s\n", err.msg);
        return 2;
    }
    return 0;
}
