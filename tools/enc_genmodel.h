/* enc_genmodel: write a Hugging Face sentence-transformers model folder with seeded random weights.
 *
 * Real pretrained weights cannot be downloaded everywhere (tests, offline demos), so this writes a
 * folder laid out exactly as sentence-transformers saves a BERT model: config.json,
 * model.safetensors (or shards + model.safetensors.index.json), vocab.txt, tokenizer_config.json,
 * special_tokens_map.json, modules.json, sentence_bert_config.json, 1_Pooling/config.json,
 * config_sentence_transformers.json and a README.md saying the weights are random. config.json also
 * carries "zembed_random_weights": true so the pipeline can flag such a model.
 *
 * The weights depend only on the seed and the tensor's name (never on dtype, prefix or sharding):
 * the same seed gives the same bytes on every machine, and F32 / `bert.`-prefixed / sharded
 * variants hold identical numbers (F16/BF16 are those numbers rounded to nearest even).
 * Linear weights ~ N(0, 1/fan_in) (unit-scale activations, so attention, GELU and every sublayer
 * visibly shape the output even in a tiny model); embeddings and biases ~ N(0, 0.02) as BERT's
 * initializer; LayerNorm gammas ~ 1 + N(0, 0.1).
 */
#ifndef ENC_GENMODEL_H
#define ENC_GENMODEL_H

#include <stdint.h>
#include "zb_err.h"

typedef enum { ENC_GENMODEL_F32, ENC_GENMODEL_F16, ENC_GENMODEL_BF16 } enc_genmodel_dtype;

typedef struct {
    int hidden, layers, heads, intermediate, max_position, type_vocab;
    int vocab_size;            /* 0: the number of lines of the vocab file (must not be fewer) */
    int max_seq_length;        /* sentence_bert_config.json; <= max_position */
    double layer_norm_eps;
    const char *hidden_act;    /* "gelu", "gelu_new" or "relu" */
    uint64_t seed;
    enc_genmodel_dtype dtype;
    int prefix_bert;           /* 1: tensor names start with "bert." (as BertFor* checkpoints) */
    int shards;                /* 0 or 1: one model.safetensors; N > 1: N shards + index */
    const char *pooling;       /* mean, cls, max, mean_sqrt_len_tokens, weightedmean, lasttoken */
    int normalize;             /* 1: modules.json gets a 2_Normalize module */
    int force;                 /* 1: write into a non-empty folder (our old model files removed) */
    const char *tokenizer_json;/* optional: a tokenizer.json to copy beside vocab.txt */
} enc_genmodel_opts;

/* Fill o with a preset: "tiny" (32 hidden, 2 layers, 4 heads, FFN 64, 128 positions) or "minilm"
 * (paraphrase-MiniLM-L6-v2: 384/6/12/1536, 512 positions, max_seq_length 128). Both: seed 42, F32,
 * mean pooling, no prefix, one file. ZB_EINVAL for another name. */
int enc_genmodel_preset(const char *name, enc_genmodel_opts *o, zb_err *err);

/* Write the folder out_dir (created if missing; a non-empty folder is refused unless o->force),
 * with vocab.txt copied from vocab_path. */
int enc_genmodel_write(const char *out_dir, const char *vocab_path, const enc_genmodel_opts *o,
                       zb_err *err);

/* Parse "f32" / "f16" / "bf16" (also upper case). */
int enc_genmodel_parse_dtype(const char *s, enc_genmodel_dtype *out, zb_err *err);

/* The value the generator gives element i (row-major) of the tensor named name (without "bert.")
 * whose second dimension is cols (0 for a vector), before any dtype rounding: exposed so tests can
 * check files against it. */
float enc_genmodel_value(uint64_t seed, const char *name, int64_t cols, uint64_t i);

#endif
