/* tok_baseline: the two baselines every explanation of subword tokenization starts from, so they
 * can be compared with the model's WordPiece on one corpus (`zembed compare-tokenizers`).
 *
 *   character level  every code point of the normalized text is a token (whitespace separates and
 *                    is dropped, as in the other two strategies)
 *   word level       every word of BertPreTokenizer (whitespace removed, each punctuation char a
 *                    word of its own) is a token
 *
 * Both see the text exactly as the model's WordPiece does: the tokenizer's own BertNormalizer
 * (clean_text, CJK padding, strip_accents, lowercase) runs first, so the three strategies differ
 * only in the unit. Special tokens written in the text are ordinary text here.
 *
 * A vocabulary is learned from a training corpus: tokb_add counts units, tokb_build keeps the
 * max_vocab most frequent (ties: bytewise order, so the result is deterministic) plus [UNK] (id 0);
 * anything else encodes as [UNK] and counts as out-of-vocabulary (OOV).
 *
 * Lifecycle: tokb_new -> tokb_add* -> tokb_build -> tokb_encode* -> tokb_free. After tokb_build the
 * model is immutable and tokb_encode may run on many threads, each with its own tokb_encoding.
 */
#ifndef TOK_BASELINE_H
#define TOK_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "tok.h"
#include "zb_err.h"

typedef enum { TOKB_CHAR, TOKB_WORD } tokb_kind;

typedef struct tokb_model tokb_model;

typedef struct {
    int32_t *ids;               /* 0 = [UNK] */
    int      n;                 /* tokens of the last text */
    int      n_oov;             /* of which [UNK] */
    int      n_words;           /* words of the text (BertPreTokenizer's, as in the word level) */
    int      n_words_split;     /* words that became more than one token (char level: > 1 char) */
    int      cap;               /* internal */
    struct tokb_scratch *scratch; /* internal: decoding / normalization buffers, reused */
} tokb_encoding;

/* norm supplies the normalizer settings and must outlive the model. */
tokb_model *tokb_new(const tok_tokenizer *norm, tokb_kind kind, zb_err *err);
void        tokb_free(tokb_model *m);

/* Training: count the units of one text (strict UTF-8: ZB_EUTF8 names the byte offset). */
int tokb_add(tokb_model *m, const char *text, size_t len, zb_err *err);

/* Freeze the vocabulary: the max_vocab most frequent units (0: all of them) plus [UNK]. */
int tokb_build(tokb_model *m, int max_vocab, zb_err *err);

void tokb_encoding_init(tokb_encoding *e);
void tokb_encoding_free(tokb_encoding *e);

/* Encode one text into e (ids, n, n_oov, n_words, n_words_split). Requires tokb_build. */
int tokb_encode(const tokb_model *m, const char *text, size_t len, tokb_encoding *e, zb_err *err);

tokb_kind   tokb_get_kind(const tokb_model *m);
const char *tokb_kind_name(tokb_kind kind);                  /* "character", "word" */
int         tokb_vocab_size(const tokb_model *m);            /* incl. [UNK]; after tokb_build */
int         tokb_distinct_units(const tokb_model *m);        /* distinct units seen in training */
const char *tokb_id_to_unit(const tokb_model *m, int32_t id); /* "[UNK]" for 0; NULL out of range */
int32_t     tokb_unit_to_id(const tokb_model *m, const char *s, size_t len); /* 0 when unknown */

#endif
