/* tok_load: private helpers shared by the two loaders (tokenizer.json in tok_json.c, vocab.txt +
 * tokenizer_config.json in tok_load.c). */
#ifndef TOK_LOAD_H
#define TOK_LOAD_H

#include "tok_internal.h"
#include <jansson.h>

#include "zb_file.h"

#define TOK_MAX_IDS  (1 << 24)             /* ids beyond 16M are surely a corrupt file */
#define TOK_MAX_FILE ((size_t)512 << 20)   /* tokenizer.json / vocab.txt size limit */

typedef struct {
    const char *content;
    int32_t id;                            /* -1: the vocabulary id, or a new one after it */
    int special, normalized, lstrip, rstrip, single_word;
} tok_added_spec;

/* Register an added token (matched inside texts, skipped by decode when special). */
int tok_add_token(tok_tokenizer *t, const tok_added_spec *s, const char *file, zb_err *err);
/* Set the WordPiece unk token and continuing-subword prefix (resolved once the vocab is in). */
int tok_set_wordpiece(tok_tokenizer *t, const char *unk, const char *prefix, const char *file, zb_err *err);
int tok_tpl_add(tok_template *tpl, int kind, int type_id, const int32_t *ids, int n_ids);
/* [CLS] A [SEP] and [CLS] A [SEP] B [SEP] with type ids 0 / 1, as BertProcessing. */
int tok_bert_template(tok_tokenizer *t, int32_t cls, int32_t sep);
/* Fill t from tokenizer.json; *json_max = truncation.max_length (0 if none). */
int tok_load_tokenizer_json(tok_tokenizer *t, const char *path, int *json_max, zb_err *err);
/* The same from a parsed root (consumed: decref'd). */
int tok_json_root(tok_tokenizer *t, json_t *root, const char *path, int *json_max, zb_err *err);

/* tokenizer.json field readers: absent or null gives dflt; a wrong type is ZB_EFORMAT naming
 * file, ctx and key. */
int tok_json_bool(json_t *o, const char *key, int dflt, int *out, const char *file, const char *ctx,
                  zb_err *err);
int tok_json_int(json_t *o, const char *key, long long lo, long long hi, long long dflt, long long *out,
                 const char *file, const char *ctx, zb_err *err);
const char *tok_json_type(json_t *o);          /* the "type" string, or NULL */
int tok_json_is(json_t *o, const char *type);  /* 1 when o is an object of that "type" */

/* Every component kind may be a {"type": "Sequence", KEY: [...]} of its own kind; KEY differs by kind
 * (this table is its one home). */
typedef enum { TOK_SEQ_NORMALIZERS, TOK_SEQ_PRETOKENIZERS, TOK_SEQ_PROCESSORS, TOK_SEQ_DECODERS } tok_seq_kind;
/* The Sequence's list when o is a Sequence of that kind, else NULL (a Sequence without a list too). */
json_t *tok_json_seq_items(json_t *o, tok_seq_kind kind);
/* Walks a Sequence: fn(ud, item, file, "CTX.KEY[i]", err) for each item, stopping at the first
 * non-zero return; a Sequence without its list (or with a non-array) is ZB_EFORMAT naming CTX.KEY. */
typedef int (*tok_json_item_fn)(void *ud, json_t *item, const char *file, const char *ctx, zb_err *err);
int tok_json_each(json_t *seq, tok_seq_kind kind, tok_json_item_fn fn, void *ud, const char *file,
                  const char *ctx, zb_err *err);

/* tok_load_json that also takes "model": null: a normalizer and pre-tokenizer without a model, for
 * tok_pretokenize (the trainers' word counting). HF refuses such a file, and so does tok_load_json. */
tok_tokenizer *tok_load_pipeline_json(const char *json, size_t len, const char *name, zb_err *err);

/* The general pipeline's components (tok_json_comp.c): fill t->gen from the root object. */
int tok_json_general(tok_tokenizer *t, json_t *root, const char *file, zb_err *err);
/* 1 when the file fits the BERT fast path (Bert normalizer / pre-tokenizer, WordPiece). */
int tok_json_is_bert(json_t *root);

#endif
