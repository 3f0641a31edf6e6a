/* tok_bpe: the BPE model's shape, shared by its loader (tok_json_model.c) and its encoder
 * (tok_bpe.c). Internal to tokenizer_svc/. */
#ifndef TOK_BPE_H
#define TOK_BPE_H

#include "tok_comp.h"

#define TOK_BPE_FAST_CHARS 0x800   /* chars of 1-2 UTF-8 bytes: ids by table, not by hash */

struct tok_bpe {
    const tok_strmap *vocab;       /* the tokenizer's vocabulary (not owned) */
    uint64_t *mkey, *mval;         /* merges: (a << 32 | b) -> (rank << 32 | merged id); keys
                                    * UINT64_MAX = empty; mmask + 1 slots */
    uint32_t  mmask;
    size_t    mn;
    int       has_unk;             /* unk_token set (it may still be missing from the vocab) */
    int32_t   unk_id;              /* -1: unk_token not in the vocabulary (an error when needed) */
    int       fuse_unk, byte_fallback, ignore_merges;
    char     *prefix, *suffix;     /* continuing_subword_prefix / end_of_word_suffix, or NULL */
    size_t    prefix_len, suffix_len;
    int32_t   byte_id[256];        /* id of "<0xHH>", -1 if absent */
    int32_t  *char_id;             /* [TOK_BPE_FAST_CHARS]: id of the 1-char token, -1 if absent */
};

/* Record merge (a, b) -> merged with this rank; a repeated pair keeps the last rank. */
int tok_bpe_merge_put(tok_bpe *m, int32_t a, int32_t b, uint32_t rank, int32_t merged);

#endif
