/* zembed: the command-line front of the project. Local commands run the libraries in-process;
 * remote ones talk to a running pipeline (--endpoint) and print the same JSON lines.
 *
 * One row per command in the table below (as redis's command table): its name, the handler that
 * runs it here and/or the one that asks a pipeline, its key flags and one line of help. `zembed
 * --help` is generated from it; adding a command is a row here and a handler declared in cli.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "svc.h"
#include "zb_opt.h"
#include "zb_blas.h"

typedef struct {
    const char *name;
    cli_fn local;           /* runs in this process (--model DIR ...); NULL: none */
    cli_fn remote;          /* asks a running pipeline (--endpoint E); NULL: none */
    const char *local_alt;  /* remote-only: the local command that does the same work, if any */
    cli_fn use_local;       /* both: 1 when argv asks for local; NULL: local unless --endpoint
                             * (or $ZEMBED_ENDPOINT without --model) */
    const char *args;       /* the flags that say what to work on */
    const char *help;       /* one line: what the local command does */
    const char *remote_help;/* one line: what the remote one does (NULL: as help) */
} cli_command;

static const cli_command commands[] = {
    {"tokenize", cli_tokenize, cli_remote, NULL, NULL, "--model DIR", "text lines -> ids, tokens, offsets (JSON lines)"},
    {"encode", cli_encode, NULL, NULL, NULL, "--model DIR", "text lines -> sentence or token embeddings (JSON lines or .npy)"},
    {"gen-model", cli_gen_model, NULL, NULL, NULL, "--out DIR", "write a seeded random Hugging Face model folder"},
    {"fetch-model", cli_fetch_model, NULL, NULL, NULL, "[REPO]", "download a Hugging Face model folder into the cache"},
    {"train-tokenizer", cli_train_tokenizer, NULL, NULL, NULL, "--out DIR",
     "corpus files -> a BPE/WordPiece/WordLevel/char tokenizer, as HF's trainers"},
    {"tokstats", cli_tokstats, NULL, NULL, NULL, "--corpus FILE",
     "char / word / stemmed / BPE / WordPiece tokenizers side by side"},
    {"vocab", cli_vocab, NULL, NULL, NULL, "--model DIR", "vocabulary size, token groups and a random sample"},
    {"decode", cli_decode, NULL, NULL, NULL, "--model DIR", "id lists (JSON arrays) -> text and tokens"},
    /* similarity: TEXT arguments (or --model, --level, --html ...) ask for the matrix command, local or
     * remote; plain --endpoint with "a<TAB>b" lines on stdin is the line-oriented remote one */
    {"similarity", cli_similarity, cli_remote, NULL, cli_similarity_is_matrix, "--model DIR",
     "TEXT_A TEXT_B -> cosine matrices (table, CSV, JSON, HTML)",
     "\"a<TAB>b\" lines -> cosine similarity; TEXT_A TEXT_B: the matrices"},
    {"eval", cli_eval, NULL, NULL, NULL, "sts --data F", "STS Benchmark / SICK correlations (--model DIR or --endpoint E)"},
    {"map", cli_map, NULL, NULL, NULL, "--model DIR", "t-SNE / PCA map of the vocabulary: canvas page and TSV"},
    {"keygen", cli_keygen, NULL, NULL, NULL, "NAME", "a CURVE keypair: NAME.key (secret, 0600) and NAME.pub"},
    {"embed", NULL, cli_remote, "encode", NULL, "", "text lines -> embeddings, computed by the pipeline"},
    {"info", NULL, cli_remote, NULL, NULL, "", "the pipeline's model, limits, versions and workers"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

int cli_flush_stdout(const char *cmd)
{
    /* A line longer than stdio's buffer failed inside printf, long before this flush (which then has
     * nothing to write and sets no errno): that earlier errno is kept when it names an output fault,
     * and never a stale one of something else (EAGAIN from a socket, say). */
    int earlier = errno;
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    int e = errno;
    if (!e && (earlier == ENOSPC || earlier == EDQUOT || earlier == EFBIG || earlier == EIO ||
               earlier == EPIPE || earlier == EBADF))
        e = earlier;
    fprintf(stderr, "zembed %s: writing the output failed%s%s\n", cmd, e ? ": " : "", e ? strerror(e) : "");
    return 2;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: zembed COMMAND [options] [FILE...]   (zembed COMMAND --help for its options)\n"
               "\nlocal, in this process:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        if (commands[i].local)
            fprintf(f, "  %-19s %-13s %s\n", commands[i].name, commands[i].args, commands[i].help);
    fprintf(f, "\nremote, against a running pipeline (--endpoint E; default $ZEMBED_ENDPOINT, else\n"
               "%s; `make run` or deploy/zembed-up starts one):\n", SVC_DEFAULT_ENDPOINT);
    for (int i = 0; i < N_COMMANDS; i++)
        if (commands[i].remote)
            fprintf(f, "  %-19s %-13s %s\n", commands[i].name, "--endpoint E",
                    commands[i].remote_help ? commands[i].remote_help : commands[i].help);
    fprintf(f, "\nText comes from the FILE arguments in order, else stdin. --version prints the version.\n");
}

static const cli_command *find(const char *name)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    zb_blas_check_core(argv);            /* first: it may start this program again */
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        zb_opt_print_version("zembed");
        return 0;
    }
    const cli_command *c = find(name);
    if (!c) {
        const char *names[N_COMMANDS];
        for (int i = 0; i < N_COMMANDS; i++)
            names[i] = commands[i].name;
        const char *near = zb_opt_closest(name, names, N_COMMANDS);
        fprintf(stderr, "zembed: unknown command '%s'%s%s%s (zembed --help lists them)\n", name,
                near ? "; did you mean " : "", near ? near : "", near ? "?" : "");
        return 2;
    }
    int sub_argc = argc - 1;        /* the command sees argv[0] = its own name */
    char **sub_argv = argv + 1;
    if (!c->local)
        return cli_refuse_model(c->name, c->local_alt, sub_argc, sub_argv) ? 2 : c->remote(sub_argc, sub_argv);
    if (c->remote && (c->use_local ? !c->use_local(sub_argc, sub_argv) : cli_wants_remote(sub_argc, sub_argv)))
        return c->remote(sub_argc, sub_argv);
    return c->local(sub_argc, sub_argv);
}
