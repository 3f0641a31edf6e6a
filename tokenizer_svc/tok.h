/* tok: text -> token ids, exactly as Hugging Face tokenizers computes them (WordPiece, BPE and
 * WordLevel tokenizers: BERT, Llama-2/3, GPT-2/RoBERTa style byte-level BPE ...).
 *
 * A tok_tokenizer is loaded once from a model folder and is then immutable: tok_encode may be
 * called from any number of threads at once, each with its own tok_encoding.
 *
 * Offsets are in Unicode code points of the original text (as HF tokenizers' Node/Python bindings
 * report them); special tokens get [0,0]. For a pair, the offsets of the second text are relative
 * to the second text. A token made from part of an expanded character (NFD, "İ" -> "i̇") gets the
 * whole original character, as HF's alignments give; removed characters (controls) are skipped.
 *
 * Parity: ids, type ids and offsets equal HF tokenizers 0.23 (tests/tokenizer/, every code point
 * of planes 0-3 and 14 checked), including its Unicode tables (tok_unicode.c) and its
 * longest_first rule for pairs (lengths taken after its early stop at max_length tokens).
 *
 * Supported tokenizer.json (HF tokenizers 0.23 semantics, see tok_comp.h for the pipeline):
 *   models          WordPiece, BPE (byte_fallback, fuse_unk, ignore_merges, prefix / suffix;
 *                   dropout only null or 0), WordLevel
 *   normalizers     Bert, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend,
 *                   Sequence
 *   pre-tokenizers  Bert, ByteLevel, Split (Oniguruma), Whitespace, WhitespaceSplit, Metaspace,
 *                   Digits, Punctuation, CharDelimiterSplit, Sequence
 *   post-processors TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence
 *   decoders        WordPiece, ByteLevel, Metaspace, BPEDecoder, ByteFallback, Fuse, Strip,
 *                   Replace, Sequence
 *   added tokens (special / single_word / lstrip / rstrip / normalized), truncation, padding.
 * Anything else is ZB_EUNSUPPORTED naming the component and where it sits in the file.
 */
#ifndef TOK_H
#define TOK_H

#include <stddef.h>
#include <stdint.h>
#include "zb_err.h"

typedef struct tok_tokenizer tok_tokenizer;

typedef enum { TOK_LONGEST_FIRST, TOK_ONLY_FIRST, TOK_ONLY_SECOND } tok_trunc_strategy;
typedef enum { TOK_RIGHT, TOK_LEFT } tok_direction;

typedef struct tok_options {
    int add_special_tokens;          /* 1: [CLS] A [SEP] (B [SEP]); default 1 */
    int truncate;                    /* 1: cut to max_length; 0: longer input is ZB_ETOOLONG */
    int max_length;                  /* total tokens incl. specials; default: the model's */
    tok_trunc_strategy strategy;     /* default TOK_LONGEST_FIRST */
    tok_direction direction;         /* side truncation cuts from; default TOK_RIGHT */
    int lossy_utf8;                  /* 1: invalid UTF-8 becomes U+FFFD instead of ZB_EUTF8: one
                                      * U+FFFD per maximal ill-formed subsequence (Unicode §3.9,
                                      * as WHATWG and Rust's from_utf8_lossy); offsets count it as
                                      * one code point; clean_text then drops it like HF does */
} tok_options;

typedef struct { uint32_t start, end; } tok_span;

typedef struct {
    int32_t  *ids;
    int32_t  *type_ids;
    uint8_t  *attention_mask;        /* 1 for real tokens, 0 for padding */
    uint8_t  *special;               /* 1 for special tokens ([CLS], [SEP], [PAD] ...) */
    tok_span *offsets;
    int n;                           /* tokens, after truncation and padding */
    int n_before_truncation;         /* tokens the input would have had untruncated (incl. specials) */
    int cap;                         /* allocated length of the arrays (internal) */
    void *work;                      /* scratch reused across tok_encode calls (internal) */
} tok_encoding;

/* Load from a model folder: tokenizer.json when present, else vocab.txt + tokenizer_config.json.
 * The default max_length is, first that applies: sentence_bert_config.json max_seq_length,
 * tokenizer.json truncation.max_length, tokenizer_config.json model_max_length when in
 * [1, 1e6] (1e30 means "none"), else 512. Errors name the file and the field. */
tok_tokenizer *tok_load(const char *model_dir, zb_err *err);
void tok_free(tok_tokenizer *t);

void tok_options_default(const tok_tokenizer *t, tok_options *opt);
int  tok_max_length(const tok_tokenizer *t);         /* the default max_length */

void tok_encoding_init(tok_encoding *e);
void tok_encoding_free(tok_encoding *e);

/* Encode one text (b == NULL) or a pair. Returns ZB_OK, or ZB_EUTF8 (message names the byte
 * offset), ZB_ETOOLONG (truncate off and too many tokens; message gives both numbers; also
 * only_first/only_second when that text is too short), ZB_EINVAL (only_second without a pair,
 * max_length below the number of special tokens), ZB_ENOMEM. Linear time in the input; `out`
 * keeps its buffers for the next call (no allocation per token once warm). */
int tok_encode(const tok_tokenizer *t, const char *a, size_t a_len, const char *b, size_t b_len,
               const tok_options *opt, tok_encoding *out, zb_err *err);

/* Pad a batch of encodings: to the longest (fixed_length 0) or to fixed_length, then up to a
 * multiple of pad_to_multiple_of (0: none). Padding is on the right with [PAD], type id 0, mask 0. */
int tok_pad(const tok_tokenizer *t, tok_encoding *encs, int n_encs, int fixed_length,
            int pad_to_multiple_of, zb_err *err);

/* The padding tokenizer.json asks for, if any (tok_encode never pads by itself): returns 1 and
 * sets *fixed_length (0: to the longest of the batch) and *pad_to_multiple_of (0: none), for
 * tok_pad; returns 0 when the file has no padding block. */
int tok_padding_default(const tok_tokenizer *t, int *fixed_length, int *pad_to_multiple_of);

/* Decode ids to text: "##" pieces joined, specials skipped when skip_special. *out is malloc'd. */
int tok_decode(const tok_tokenizer *t, const int32_t *ids, int n, int skip_special, char **out,
               zb_err *err);

/* Grow the arrays of e to hold at least n tokens (keeps the first e->n). 0 or ZB_ENOMEM. */
int tok_encoding_reserve(tok_encoding *e, int n);

/* 0 if s[0..len) is valid UTF-8, else ZB_EUTF8 with *bad_offset = byte offset of the first
 * ill-formed sequence (bad_offset may be NULL). */
int tok_utf8_check(const char *s, size_t len, size_t *bad_offset);

/* Number of ids (vocabulary plus added tokens; ids run 0 .. size-1, possibly with holes). */
int         tok_vocab_size(const tok_tokenizer *t);
const char *tok_id_to_token(const tok_tokenizer *t, int32_t id);          /* NULL if out of range */
int32_t     tok_token_to_id(const tok_tokenizer *t, const char *s, size_t len); /* -1 if absent */
int32_t     tok_special_id(const tok_tokenizer *t, const char *which); /* "cls","sep","pad","unk","mask" */
/* Listing the vocabulary: for id in [0, tok_vocab_size) tok_id_to_token (NULL for an unused id);
 * tok_is_special_id tells the added special tokens ([CLS], [PAD] ...) that decode skips. */
int         tok_is_special_id(const tok_tokenizer *t, int32_t id);

/* ---- words: normalized and pre-tokenized text, for trainers and statistics -------------------
 *
 * tok_pretokenize runs a text through the tokenizer's added-token matching, normalizers and
 * pre-tokenizers, exactly as tok_encode does before the model, and returns the pre-tokens: what
 * HF's trainers count as words (tokenizer.train feeds every split, added-token splits included).
 * Words are UTF-8 as the model sees them (for ByteLevel: GPT-2's byte chars, "Ġhello"; for
 * Metaspace: "▁hello"). Works for every tokenizer tok_load / tok_load_json accepts, also one
 * without a model. */
typedef struct {
    uint32_t off, len;               /* bytes of the word in tok_words.buf (NUL-terminated there) */
    tok_span span;                   /* original code points it covers */
    int32_t  added_id;               /* >= 0: an added token's split (its content), else -1 */
} tok_word;

typedef struct {
    char     *buf;                   /* the words, each followed by a NUL */
    size_t    buf_len, buf_cap;
    tok_word *words;
    int       n, cap;
    void     *work;                  /* scratch reused across calls (internal) */
} tok_words;

void tok_words_init(tok_words *ws);
void tok_words_free(tok_words *ws);
/* Replaces out's words with those of text. ZB_EUTF8 (not lossy), ZB_ENOMEM. Thread-safe like
 * tok_encode (one tok_words per thread). */
int tok_pretokenize(const tok_tokenizer *t, const char *text, size_t len, int lossy, tok_words *out,
                    zb_err *err);

/* A tokenizer from tokenizer.json text in memory (name: for messages). The model may be null or
 * absent ("model": null): such a tokenizer only pre-tokenizes (tok_encode says so). Defaults as
 * tok_load without the folder's other files (max_length 512 unless the JSON truncates). */
tok_tokenizer *tok_load_json(const char *json, size_t len, const char *name, zb_err *err);

#endif
