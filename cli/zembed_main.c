/* zembed: the command-line front of the project. Local subcommands run the libraries in-process;
 * with --endpoint the same subcommands talk to a running pipeline and print the same JSON lines. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: zembed COMMAND [options]   (zembed COMMAND --help for its options)\n"
            "\n"
            "local, in this process:\n"
            "  tokenize --model DIR      text lines -> ids, tokens, offsets (JSON lines)\n"
            "  encode   --model DIR      text lines -> sentence or token embeddings (JSON lines)\n"
            "  gen-model --out DIR       write a seeded random Hugging Face model folder\n"
            "  fetch-model [REPO]        download a Hugging Face model folder into the cache\n"
            "  compare-tokenizers --model DIR   character vs word vs subword tokenization of a corpus\n"
            "  similarity (--model DIR | --endpoint E) TEXT_A TEXT_B   token or sentence cosine matrices,\n"
            "                            as a table, CSV, JSON and an HTML heatmap\n"
            "  eval sts (--model DIR | --endpoint E) --data FILE   STS Benchmark / SICK correlations\n"
            "  map --model DIR --html FILE   t-SNE / PCA map of the vocabulary, interactive page and TSV\n"
            "\n"
            "remote, against a running pipeline (--endpoint, default $ZEMBED_ENDPOINT or\n"
            "tcp://127.0.0.1:5555):\n"
            "  embed | tokenize | similarity | info --endpoint E\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;

    if (!strcmp(cmd, "tokenize"))
        return cli_wants_remote(sub_argc, sub_argv) ? cli_remote(cmd, sub_argc, sub_argv)
                                                    : cli_tokenize(sub_argc, sub_argv);
    if (!strcmp(cmd, "encode"))
        return cli_encode(sub_argc, sub_argv);
    if (!strcmp(cmd, "gen-model"))
        return cli_gen_model(sub_argc, sub_argv);
    if (!strcmp(cmd, "fetch-model"))
        return cli_fetch_model(sub_argc, sub_argv);
    if (!strcmp(cmd, "compare-tokenizers"))
        return cli_compare_tokenizers(sub_argc, sub_argv);
    if (!strcmp(cmd, "map"))
        return cli_map(sub_argc, sub_argv);
    if (!strcmp(cmd, "eval"))
        return cli_eval(sub_argc, sub_argv);
    if (!strcmp(cmd, "similarity"))
        return cli_similarity_is_matrix(sub_argc, sub_argv) ? cli_similarity(sub_argc, sub_argv)
                                                            : cli_remote(cmd, sub_argc, sub_argv);
    if (!strcmp(cmd, "embed") || !strcmp(cmd, "info"))
        return cli_remote(cmd, sub_argc, sub_argv);

    fprintf(stderr, "zembed: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
