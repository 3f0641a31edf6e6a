/* tok_group: the one classification of vocabulary tokens into the groups the tokenization
 * walk-through colors them by. `zembed vocab` counts them, the vocabulary map (issue 9) colors by
 * them; both call this, nothing else decides what a group is.
 *
 *   special       added special tokens ([CLS], <s>, <|endoftext|> ...) and every bracketed token
 *                 "[...]" of a plain vocabulary ([PAD], [unused12]: BERT's placeholders)
 *   continuation  a piece that continues a word: it starts with the continuing-subword prefix
 *                 ("##ing" in WordPiece, or a BPE trained with --continuing-subword-prefix)
 *   word_start    a piece that starts a word in byte-level or Metaspace BPE: "Ġthe" (U+0120, the
 *                 byte-level image of a space) or "▁the" (U+2581, Metaspace's replacement)
 *   other         all the rest (whole words of WordPiece, bare letters and bytes, punctuation)
 *
 * The tests run in this order, so "[CLS]" is special even in a vocabulary whose prefix is "[", and
 * the prefix itself alone ("##") is not a continuation (it continues nothing).
 */
#ifndef TOK_GROUP_H
#define TOK_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "tok.h"

typedef enum {
    TOK_GROUP_SPECIAL,
    TOK_GROUP_CONTINUATION,
    TOK_GROUP_WORD_START,
    TOK_GROUP_OTHER,
    TOK_N_GROUPS
} tok_group;

/* The continuing-subword prefix assumed when a caller has none to give (BERT's). */
#define TOK_GROUP_DEFAULT_PREFIX "##"

/* Group of the token tok[0..len). is_special: the tokenizer marks it an added special token.
 * cont_prefix: the model's continuing-subword prefix; NULL means TOK_GROUP_DEFAULT_PREFIX, ""
 * means the model has none. */
tok_group tok_token_group(const char *tok, size_t len, int is_special, const char *cont_prefix);

/* Group of id in a loaded tokenizer (special flag and continuing-subword prefix from the
 * tokenizer: WordPiece's, a BPE's own or none); TOK_GROUP_OTHER for an id without a token. */
tok_group tok_id_group(const tok_tokenizer *t, int32_t id);

/* Stable short names, for JSON and legends: "special", "continuation", "word_start", "other". */
const char *tok_group_name(tok_group g);

#endif
