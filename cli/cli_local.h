/* cli_local: a model folder opened in this process for commands that need numbers from it
 * (similarity, eval sts, map): sentence vectors, token-by-token similarity, the word-embedding
 * matrix. The same library calls as `zembed encode` and the services, so local numbers equal the
 * pipeline's. */
#ifndef CLI_LOCAL_H
#define CLI_LOCAL_H

#include "cli.h"
#include "enc.h"
#include "tok.h"
#include "zb_err.h"

typedef struct cli_local cli_local;

/* Loads config, weights, tokenizer and pooling of model_dir; threads 0 = the CPUs we may use.
 * NULL with *err naming the file and the fault. */
cli_local *cli_local_open(const char *model_dir, int threads, zb_err *err);
void cli_local_close(cli_local **h);       /* nulls *h */

const tok_tokenizer *cli_local_tokenizer(const cli_local *h);
const enc_model     *cli_local_model(const cli_local *h);
int                  cli_local_is_demo(const cli_local *h);   /* config.json zembed_random_weights */
const char          *cli_local_name(const cli_local *h);      /* the model's display name */

/* n texts -> n x *dim sentence vectors (*vecs malloc'd), pooled and normalized as the model's
 * sentence-transformers config says. Texts longer than the model's max length are truncated. */
int cli_local_embed(cli_local *h, const char *const *texts, int n, float **vecs, int *dim, zb_err *err);

/* Every token of a against every token of b ([CLS]/[SEP] included), cosine of the input
 * (context-free word embeddings, input_space = 1) or the contextual token embeddings; labels are
 * the token strings. Same numbers as the pipeline's similarity op in tokens mode. */
int cli_local_token_similarity(cli_local *h, const char *a, const char *b, int input_space,
                               cli_matrix *out, zb_err *err);

/* Sentence cosine matrix: a x b of sentence vectors. */
int cli_local_similarity(cli_local *h, const char *const *a, int na, const char *const *b, int nb,
                         cli_matrix *out, zb_err *err);

#endif
