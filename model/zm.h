/* zm: a model folder, opened in one place.
 *
 * What a Hugging Face / sentence-transformers folder says about its model is settled here, once:
 * config.json is read once (display name, demo flag, the encoder's config), the tokenizer's files,
 * the pooling modules, and the facts every path must agree on: max_length (the tokenizer's default
 * capped at max_position_embeddings, so no path hands the encoder more tokens than it has
 * positions), hidden size, vocabulary (the tokenizer's must fit config.json's), sentence dimension,
 * pooling and normalization. `zembed encode`, the local commands and the three services open their
 * models with zm_open; each opens only the parts it needs (the tokenizer service no weights, the
 * pooler no tokenizer and no weights).
 *
 * On top sits one call from texts to sentence vectors (zm_encode), as bert.cpp's bert_encode_batch
 * sits above its tokenize / eval API; the parts stay reachable for everything else (tok.h, enc.h,
 * enc_embed.h, pool.h).
 *
 *     zb_err err;
 *     zm_model *m = zm_open("models/minilm", NULL, &err);          // every part, the model's settings
 *     if (!m) { fprintf(stderr, "%s\n", err.msg); return 2; }
 *     const zm_info *in = zm_info_get(m);
 *     float *v = malloc(sizeof *v * 2 * in->dim);
 *     const char *texts[] = {"A man plays a guitar.", "Someone plays music."};
 *     if (zm_encode(m, texts, NULL, 2, v, &err)) ...                  // 2 x dim floats
 *     zm_close(&m);
 *
 * A zm_model is immutable once open, except the runner inside it (zm_encode, zm_runner): use one
 * zm_model per thread for those, or share the read-only parts.
 */
#ifndef ZM_H
#define ZM_H

#include <stddef.h>
#include "zb_err.h"

/* The parts' own types, declared by their headers (tok.h, enc.h, pool.h); zm.h does not include
 * them, so a service includes only the libraries it uses. */
typedef struct tok_tokenizer tok_tokenizer;
typedef struct enc_model enc_model;
typedef struct enc_runner enc_runner;
struct enc_config;
struct pool_config;
struct tok_options;

typedef struct zm_model zm_model;

enum {
    ZM_TOKENIZER = 1,       /* tokenizer.json, or vocab.txt + tokenizer_config.json */
    ZM_WEIGHTS = 2,         /* model.safetensors (or shards), mmap'd */
    ZM_POOLING = 4,         /* modules.json, 1_Pooling/config.json */
    ZM_ALL = 7,
};

typedef struct {
    unsigned parts;         /* ZM_* ored; 0: ZM_ALL */
    int max_length;         /* 0: the model's; else tokens per text incl. specials, at most
                               max_position_embeddings (more: ZB_ERANGE naming both) */
    int no_truncate;        /* 1: a text longer than max_length is ZB_ETOOLONG instead of cut */
    int pooling;            /* -1: the model's; else a pool_mode replacing its modes */
    int normalize;          /* -1: the model's; 0 / 1 overrides it */
    int batch_tokens;       /* ZM_WEIGHTS: tokens per forward pass of the handle's runner, at least
                               max_length (0: 2048, raised to max_length) */
    int precision;          /* ZM_WEIGHTS: an enc_precision (0: fp32); enc_model_set_precision's
                               errors (ZB_EUNSUPPORTED naming the missing instructions) fail the open */
} zm_open_opts;

void zm_open_opts_default(zm_open_opts *o);

/* What the folder says, settled. Fields of parts not opened are 0 / "". */
typedef struct {
    char name[96];          /* config.json _name_or_path when a hub id, else the folder's name */
    int demo;               /* config.json "zembed_random_weights": true (vectors mean nothing) */
    char model_type[32];    /* config.json */
    int hidden, layers, heads;
    int vocab_size;         /* config.json vocab_size (the tokenizer's fits in it) */
    int max_position;       /* max_position_embeddings */
    int max_length;         /* ZM_TOKENIZER: tokens per text incl. specials, the default of every
                               path (open option, else the tokenizer's default capped at
                               max_position) */
    int dim;                /* ZM_POOLING: sentence vector size (modes x hidden) */
    int normalize;          /* ZM_POOLING: sentence vectors are L2-normalized */
    char pooling[64];       /* ZM_POOLING: "mean", "cls+mean", ... */
} zm_info;

/* Open the parts of model_dir that o asks for (o NULL: every part, the model's settings).
 * config.json is required with ZM_WEIGHTS or ZM_POOLING; with the tokenizer alone it is read when
 * present (a tokenizer-only folder has none). NULL with err naming the file and the fault. */
zm_model *zm_open(const char *model_dir, const zm_open_opts *o, zb_err *err);
void zm_close(zm_model **m);                    /* nulls *m; NULL is fine */

const zm_info *zm_info_get(const zm_model *m);
const char *zm_dir(const zm_model *m);

/* The parts; NULL when not opened. */
const tok_tokenizer *zm_tokenizer(const zm_model *m);
const enc_model *zm_weights(const zm_model *m);
const struct enc_config *zm_config(const zm_model *m);      /* with ZM_WEIGHTS or ZM_POOLING */
const struct pool_config *zm_pooling(const zm_model *m);
enc_runner *zm_runner(zm_model *m);                          /* ZM_WEIGHTS: batch_tokens budget */

/* The tokenizer options every path starts from: max_length and truncation settled as above. */
void zm_tok_options(const zm_model *m, struct tok_options *out);

/* texts[i] (lens[i] bytes; lens NULL: NUL-terminated) -> out: n x dim sentence vectors, pooled
 * and normalized as settled. A text that cannot be tokenized (invalid UTF-8, too long with
 * no_truncate) fails the call, naming the text. Needs every part. */
int zm_encode(zm_model *m, const char *const *texts, const size_t *lens, int n, float *out,
              zb_err *err);

#endif
