/* tok_baseline: the two baselines every explanation of subword tokenization starts from, so they
 * can be compared with subword tokenizers on one corpus (`zembed tokstats`).
 *
 *   character level  every char of the pre-tokenized text is a token (whitespace the pre-tokenizer
 *                    drops is dropped: the subword model never sees it either)
 *   word level       every word of the pre-tokenizer is a token
 *
 * Both see the text exactly as a subword model behind the same tokenizer would: the tokenizer
 * given to tokb_new (any tokenizer.json pipeline; a model is not needed) normalizes and
 * pre-tokenizes it (tok_pretokenize), so the strategies differ only in the unit. With BERT's
 * normalizer and pre-tokenizer: lowercased, accents stripped, punctuation chars words of their own.
 *
 * A vocabulary is learned from a training corpus: tokb_add counts units, tokb_build keeps the
 * max_vocab most frequent (ties: bytewise order, so the result is deterministic) plus [UNK] (id 0);
 * anything else encodes as [UNK] and counts as out-of-vocabulary (OOV).
 *
 * Stemming (word level, optional): every word is replaced by its Snowball stem (libstemmer, any
 * language it ships: "english", "french", "porter" ...) before it is counted or looked up, so
 * "walked" and "walking" are one unit "walk". Punctuation stems to itself.
 *
 * Lifecycle: tokb_new -> [tokb_set_stemmer] -> tokb_add* -> tokb_build -> tokb_encode* -> tokb_free.
 * After tokb_build the model is immutable and tokb_encode may run on many threads, each with its
 * own tokb_encoding.
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
    int      n_words;           /* words of the text (the pre-tokenizer's, as in the word level) */
    int      n_words_split;     /* words that became more than one token (char level: > 1 char) */
    int      keep_units;        /* set by the caller: also fill units / unit_off */
    char    *units;             /* the units of the last text in UTF-8, back to back (keep_units) */
    uint32_t *unit_off;         /* [n + 1] byte offsets of each unit in units (keep_units) */
    size_t   units_cap, unit_off_cap; /* internal */
    int      cap;               /* internal */
    struct tokb_scratch *scratch; /* internal: decoding / normalization buffers, reused */
} tokb_encoding;

/* norm normalizes and pre-tokenizes (tok_pretokenize) and must outlive the model. */
tokb_model *tokb_new(const tok_tokenizer *norm, tokb_kind kind, zb_err *err);
void        tokb_free(tokb_model *m);

/* Stem every word with Snowball's stemmer for language (word level; before tokb_add). ZB_EINVAL
 * for a character-level model; ZB_ENOTFOUND naming the language and listing the known ones. */
int tokb_set_stemmer(tokb_model *m, const char *language, zb_err *err);

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
