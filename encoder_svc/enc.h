/* enc: token ids -> contextual token embeddings, a BERT encoder on OpenBLAS (fp32) or oneDNN
 * (bf16, int8).
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

/* Precision of the dense layers (enc_model_set_precision). Measured choice (docs/PRECISION.md,
 * tests/encoder/fidelity.py): only the six Linear layers of each transformer layer (Q|K|V fused,
 * attention output, FFN in and out: ~90% of the arithmetic at sentence lengths) run in bf16 / int8;
 * the embeddings, every LayerNorm, the attention scores, softmax and context products, biases, GELU
 * and residual adds stay fp32. Scores and softmax are short per-sentence products where int8 would
 * cost accuracy (their range varies per head and row) for little time.
 * - fp32: OpenBLAS sgemm, exact (the 1e-4 goldens); the default.
 * - bf16: weights rounded to bf16 once at load, activations rounded per GEMM, fp32 accumulation.
 * - int8: weights s8 symmetric per output channel, activations u8 asymmetric per token row,
 *   int32 accumulation, dequantized in our row loop (encoder_svc/enc_mm.h has the formulas). */
typedef enum { ENC_PREC_FP32, ENC_PREC_BF16, ENC_PREC_INT8 } enc_precision;

/* "fp32", "bf16", "int8" <-> enc_precision; parse returns -1 for anything else. */
int enc_precision_parse(const char *s, enc_precision *out);
const char *enc_precision_name(enc_precision p);

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

/* Convert the dense weights once for precision p (before creating runners). ZB_EUNSUPPORTED when
 * this CPU cannot run p natively (the message names the missing instruction set: bf16 needs
 * AVX512_BF16 or AMX, int8 needs AVX512_VNNI or AVX_VNNI); nothing is changed then. Other errors
 * (out of memory) leave the model at fp32. The converted weights go through a cache file shared by
 * the encoder processes of the host (enc_model_weights_note). */
int enc_model_set_precision(enc_model *m, enc_precision p, zb_err *err);
enc_precision enc_model_precision(const enc_model *m);
/* What runs the dense layers: "OpenBLAS sgemm", "oneDNN 2.6.3 brg:avx512_core_vnni (cpu isa ...)". */
const char *enc_model_kernel(const enc_model *m);
/* Where the bf16/int8 weights live: "mmap'd from {cache}/prepared/...zbw" (shared by every encoder
 * process of the host, see enc_wcache.c), "written to and mmap'd from ...", or "in memory (why)". */
const char *enc_model_weights_note(const enc_model *m);

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
