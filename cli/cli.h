/* cli: the `zembed` command's commands (the table in zembed_main.c lists them). Each handler gets
 * argv[0] = its own name and returns the process exit status: 0 success, 1 some input lines failed
 * (each reported in the output), 2 usage or setup error, 130 stopped by SIGINT.
 *
 * Every handler has the same shape (see common/zb_opt.h): an options struct; parse (zb_opt_next,
 * --help and --version included) -> load (model, files) -> run. */
#ifndef CLI_H
#define CLI_H

typedef int (*cli_fn)(int argc, char **argv);

int cli_tokenize(int argc, char **argv);   /* local: --model DIR        (cli_tokenize.c) */
int cli_encode(int argc, char **argv);     /* local: --model DIR        (cli_encode.c)   */
int cli_gen_model(int argc, char **argv);  /* write a seeded random HF model folder (cli_gen_model.c) */
int cli_train_tokenizer(int argc, char **argv); /* train BPE/WordPiece/WordLevel/char on corpora (cli_train.c) */
int cli_tokstats(int argc, char **argv);   /* tokenization strategies side by side (cli_tokstats.c) */
int cli_vocab(int argc, char **argv);      /* a vocabulary's token groups and a sample (cli_vocab.c) */
int cli_decode(int argc, char **argv);     /* id lists -> text and tokens (cli_vocab.c) */
int cli_fetch_model(int argc, char **argv); /* resolve/download a model folder into the cache (cli_fetch.c) */
int cli_similarity(int argc, char **argv); /* token/sentence cosine matrices, local or remote (cli_similarity.c) */
/* 1 when argv asks for the matrix command (TEXT arguments, --model, --level, --file, --html, ...);
 * 0 for the line-oriented remote `similarity --endpoint E < pairs.tsv`. */
int cli_similarity_is_matrix(int argc, char **argv);
int cli_eval(int argc, char **argv);       /* eval sts: STSb / SICK correlations, local or remote (cli_eval.c) */
int cli_map(int argc, char **argv);        /* 2-D map (t-SNE / PCA) of the vocabulary or a matrix (cli_map.c) */
int cli_keygen(int argc, char **argv);     /* a CURVE keypair as NAME.key + NAME.pub (cli_keygen.c) */
int cli_remote(int argc, char **argv);     /* embed|tokenize|similarity|info --endpoint E (cli_remote.c) */

/* A score matrix with its axis labels (token strings; NULL for sentence matrices). */
typedef struct {
    int rows, cols;
    float *v;                  /* rows x cols, row-major */
    char **row_labels;         /* rows strings, or NULL */
    char **col_labels;         /* cols strings, or NULL */
    int demo;                  /* 1: computed by a generated demo model (its numbers mean nothing) */
} cli_matrix;
void cli_matrix_free(cli_matrix *m);
void cli_free_strings(char **s, int n);

/* Numbers from a running pipeline for other commands (cli_remote.c). Each returns 0, or 2 after
 * saying why on stderr. cli_remote_embed: the embed op (the model's own normalization), batch texts
 * per request; *vecs (malloc'd) gets n x *dim floats. cli_remote_similarity: the similarity op,
 * texts mode (a x b cosine of sentence embeddings) or tokens mode (na = nb = 1; every token of a
 * against every token of b, on input or contextual embeddings, with the token strings). */
int cli_remote_embed(const char *endpoint, int timeout_ms, const char *const *texts, int n, int batch,
                     float **vecs, int *dim);
int cli_remote_similarity(const char *endpoint, int timeout_ms, const char *const *a, int na,
                          const char *const *b, int nb, int tokens, int input_space, cli_matrix *out);

/* Flushes stdout, the last step of every command that writes there: 0, or 2 (the exit status) after
 * "zembed CMD: writing the output failed: why" on stderr (a full disk, a closed pipe). */
int cli_flush_stdout(const char *cmd);

/* 1 if argv holds --endpoint (or ZEMBED_ENDPOINT is set and --model is absent). */
int cli_wants_remote(int argc, char **argv);

/* A remote-only command given --model: prints where local work is done (local_alt, the local
 * command doing the same, or none) and returns 1; 0 when argv has no --model. */
int cli_refuse_model(const char *cmd, const char *local_alt, int argc, char **argv);

#endif
