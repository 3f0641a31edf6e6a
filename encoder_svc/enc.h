/* enc: token ids -> contextual token embeddings, a BERT encoder on OpenBLAS.
 *
 * An enc_model is the read-only weights of a Hugging Face model folder (config.json +
 * model.safetensors, mmap'd and shared between processes). An enc_runner holds the scratch
 * buffers for one thread of inference, sized by a token budget; run one runner per thread.
 *
 * Batches are padding-free: n_seq sequences are packed end to end (lens[i] tokens each); dense
 * layers run on all tokens at once, attention runs per sequence.
 */
#ifndef ENC_H
#define ENC_H

#include <stddef.h>
#include <stdint.h>
#include "zb_err.h"

typedef enum { ENC_ACT_GELU, ENC_ACT_GELU_NEW, ENC_ACT_RELU } enc_act;

typedef struct enc_config {
    char    model_type[32];   /* "bert", ... */
    int     vocab_size;
    int     hidden;           /* hidden_size */
    int     layers;           /* num_hidden_layers */
    int     heads;            /* num_attention_heads */
    int     intermediate;     /* intermediate_size */
    int     max_position;     /* max_position_embeddings */
    int     type_vocab;       /* type_vocab_size */
    float   layer_norm_eps;
    enc_act act;
} enc_config;

typedef struct enc_model  enc_model;
typedef struct enc_runner enc_runner;

/* config.json of a model folder (enc_config_load) or its text (enc_config_parse; path is only used in
 * messages). model_type must be one that runs the BertModel graph unchanged; unsupported values
 * (model_type, hidden_act, position_embedding_type) are ZB_EUNSUPPORTED naming the value and file. */
int enc_config_load(const char *model_dir, enc_config *out, zb_err *err);
int enc_config_parse(const char *path, const char *text, size_t len, enc_config *out, zb_err *err);

/* Load config.json and model.safetensors (or a sharded index) from a folder. Every fault names the
 * file and, where there is one, the tensor. */
enc_model *enc_model_load(const char *model_dir, zb_err *err);
/* The same with config.json already parsed (model/zm.h reads it once for every part of a model). */
enc_model *enc_model_load_config(const char *model_dir, const enc_config *cfg, zb_err *err);
void enc_model_free(enc_model *m);
const enc_config *enc_model_config(const enc_model *m);

/* max_batch_tokens bounds memory: a forward pass may take at most this many tokens. */
enc_runner *enc_runner_new(const enc_model *m, int max_batch_tokens, zb_err *err);
void enc_runner_free(enc_runner *r);
int  enc_runner_max_tokens(const enc_runner *r);
const enc_model *enc_runner_model(const enc_runner *r);

/* Contextual embeddings (last hidden state) for a packed batch: hidden_out has
 * (sum of lens) x hidden floats. type_ids may be NULL (all 0). Ids outside the vocabulary and
 * sequences longer than max_position are ZB_ERANGE, not reads out of bounds. */
int enc_forward(enc_runner *r, const int32_t *ids, const int32_t *type_ids, const int *lens,
                int n_seq, float *hidden_out, zb_err *err);

/* Context-free input token embeddings: the rows of the word-embedding matrix for ids. */
int enc_input_embeddings(const enc_model *m, const int32_t *ids, int n, float *out, zb_err *err);

/* Threads used by OpenBLAS and by our own loops in this process (process-wide). 0: the CPUs this
 * process may use (sched_getaffinity, capped by the cgroup CPU quota, v1 or v2). */
void enc_set_threads(int n);

#endif
