/* tok_train_internal: the private shapes shared by tok_train.c (vocabulary, alphabet, words as
 * symbols, the WordLevel trainer) and tok_train_merge.c (the BPE merge loop). */
#ifndef TOK_TRAIN_INTERNAL_H
#define TOK_TRAIN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tok_internal.h"
#include "tok_train.h"

/* A vocabulary under construction. */
typedef struct {
    tok_strmap map;      /* token -> id */
    char     **tok;      /* id -> token (NUL-terminated, but a token may hold U+0000: see len) */
    uint32_t  *len;      /* id -> its length in bytes */
    size_t     cap, len_cap;
    int        n;
} tokt_vocab;

/* Id of s, adding it when new. Returns the id or ZB_ENOMEM. */
int32_t tokt_vocab_id(tokt_vocab *v, const char *s, size_t len);

/* Every distinct word as symbol ids. */
typedef struct {
    uint32_t *sym;       /* all words' symbols back to back */
    size_t   *off;       /* [n + 1] */
    uint32_t *len;       /* [n] current number of symbols (shrinks as merges happen) */
    int64_t  *count;     /* [n] */
    size_t    n;
} tokt_wordsyms;

/* HF's BpeTrainer merge loop over ws: new tokens into v, merges appended to *mg / *n_mg. 0 or
 * ZB_ENOMEM. */
int tokt_merge_loop(tokt_vocab *v, tokt_wordsyms *ws, const tokt_options *o, int32_t (**mg)[2], int *n_mg,
                    tokt_progress_fn cb, void *ctx);

#endif
