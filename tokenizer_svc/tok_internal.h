/* tok_internal: the private shapes shared by tok_*.c (loading, normalization, WordPiece, encoding,
 * padding/decoding). Nothing outside tokenizer_svc/ includes this. */
#ifndef TOK_INTERNAL_H
#define TOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tok.h"

/* ---- string -> id map (open addressing, keys in one pool) -------------------------------- */

/* FNV-1a, one byte at a time, so WordPiece can hash every prefix of a word in one forward pass. */
#define TOK_HASH_INIT 2166136261u
static inline uint32_t tok_hash_step(uint32_t h, unsigned char b) { return (h ^ b) * 16777619u; }

typedef struct {
    char     *pool;              /* all keys, back to back */
    size_t    pool_len, pool_cap;
    uint32_t *key_off;           /* per entry: offset of the key in pool */
    uint32_t *key_len;
    uint32_t *key_hash;
    int32_t  *val;
    uint32_t  n, cap;            /* entries */
    uint64_t *slots;             /* hash << 32 | (entry index + 1), 0 = empty; mask + 1 of them
                                  * (a power of two): a probe that misses never leaves this array */
    uint32_t  mask;
} tok_strmap;

int     tok_strmap_put(tok_strmap *m, const char *s, size_t len, int32_t val); /* 0 or ZB_ENOMEM */
int32_t tok_strmap_get_h(const tok_strmap *m, const char *s, size_t len, uint32_t h);
int32_t tok_strmap_get(const tok_strmap *m, const char *s, size_t len);
void    tok_strmap_free(tok_strmap *m);

/* ---- tokenizer ------------------------------------------------------------------------------- */

typedef struct {
    uint32_t *cps;               /* content as code points; for normalized tokens, normalized */
    int       n_cps;
    int32_t   id;
    uint8_t   special, normalized, lstrip, rstrip, single_word;
} tok_added;

enum { TOK_TPL_SPECIAL, TOK_TPL_SEQ_A, TOK_TPL_SEQ_B };
typedef struct {
    int      kind;               /* TOK_TPL_* */
    int      type_id;
    int32_t *ids;                /* TOK_TPL_SPECIAL: the ids it expands to */
    int      n_ids;
} tok_tpl_item;

typedef struct {
    tok_tpl_item *items;
    int n_items;
    int n_special;               /* ids added around the sequences */
} tok_template;

/* HF's BertNormalizer settings (on: 0 means no normalizer at all). */
typedef struct { int on, clean_text, handle_chinese, strip_accents, lowercase; } tok_bertnorm;

struct tok_gen;                  /* the general pipeline's components (tok_comp.h) */

struct tok_tokenizer {
    /* NULL: the BERT fast path below (BertNormalizer / BertPreTokenizer / WordPiece over code
     * points); else every stage comes from gen (tok_pipe.c) and the fields below that belong to
     * the fast path (has_normalizer, has_pretok, cont, ...) are unused. */
    struct tok_gen *gen;
    /* fast path only: the same normalizer / pre-tokenizer as components, for tok_pretokenize */
    struct tok_gen *words_gen;
    /* set by tok_load_pipeline_json before loading: "model": null is a pipeline without a model
     * (normalizer and pre-tokenizer only, as trainers count words); HF and tok_load_json refuse it */
    int no_model_ok;

    /* BertNormalizer (has_normalizer 0: text goes to the pre-tokenizer untouched) */
    int has_normalizer, clean_text, handle_chinese, strip_accents, lowercase;
    int has_pretok;              /* BertPreTokenizer */

    /* WordPiece */
    tok_strmap vocab;            /* every vocabulary token -> id */
    tok_strmap cont;             /* tokens starting with the prefix, keyed without it */
    char      *prefix;           /* continuing_subword_prefix, "##" */
    size_t     prefix_len;
    int        max_chars_per_word;
    int        max_piece_bytes;  /* longest key in vocab (bytes): bounds the greedy search */
    int        max_cont_bytes;   /* longest key in cont */
    int32_t    unk_id;
    char      *unk_name;

    /* id -> token (vocab + added tokens); NULL where no token has that id */
    const char **id_tok;
    uint8_t     *id_special;     /* 1: an added token marked special (skipped by decode) */
    int          n_ids;
    tok_strmap   names;          /* owns the strings id_tok points at */

    tok_added *added;
    int        n_added, n_added_raw, n_added_norm;
    /* first code points of the added tokens, so the scan skips most positions at once:
     * bit 0 = some raw (normalized: false) token starts with this ASCII char, bit 1 = a
     * normalized one; added_first_high: same bits for tokens starting beyond ASCII */
    uint8_t    added_first[128];
    uint8_t    added_first_high;

    int          has_post;
    tok_template single, pair;

    /* decoder (WordPiece) */
    int   dec_cleanup;
    char *dec_prefix;

    /* defaults */
    int max_length;
    tok_trunc_strategy strategy;
    tok_direction direction;
    int32_t pad_id, pad_type_id;
    int pad_enabled, pad_fixed, pad_multiple;   /* tokenizer.json "padding" (see tok_padding_default) */
    int32_t cls_id, sep_id, mask_id;
};

/* ---- per-call working memory, kept in tok_encoding between calls ---------------------------- */

enum { TOK_F_WORD = 1, TOK_F_ADDED = 2 };   /* first token of a pre-token / an added token */
typedef struct {
    int32_t  *ids;
    tok_span *off;
    uint8_t  *flags;                        /* TOK_F_*: where HF's pre-token splits begin */
    int n, cap;
} tok_seq;

typedef struct {
    uint32_t *cps;      size_t cps_cap;      /* decoded input */
    uint32_t *ncp;      uint32_t *norig;     /* normalized text; original code point of each */
    uint8_t  *nccc;     size_t n_cap;        /* canonical combining class during NFD */
    char     *wbytes;   uint32_t *wboff;     /* one word in UTF-8, byte offset of each char */
    size_t    w_cap;
    uint32_t *hs;       size_t hs_cap;       /* WordPiece prefix hashes */
    tok_seq   seq[2];
    void     *pipe;                          /* tok_pwork of the general pipeline (tok_comp.h) */
} tok_work;

int tok_seq_push(tok_seq *s, int32_t id, uint32_t start, uint32_t end, int flags);

/* Decode UTF-8 into w->cps. Strict: ZB_EUTF8 naming the byte offset of the first bad sequence.
 * Lossy: each maximal ill-formed subpart becomes one U+FFFD (as WHATWG / Rust from_utf8_lossy). */
int tok_utf8_decode(tok_work *w, const char *s, size_t len, int lossy, size_t *n_out, zb_err *err);

/* Normalize cps[0..n) (the original code point index of cps[0] is base) into w->ncp / w->norig.
 * Returns the normalized length, or ZB_ENOMEM. */
long tok_normalize(const tok_tokenizer *t, tok_work *w, const uint32_t *cps, size_t n, uint32_t base);
long tok_normalize_bert(const tok_bertnorm *bn, tok_work *w, const uint32_t *cps, size_t n, uint32_t base);
/* Rust char::to_lowercase of c, first char (U+0130 gives "i" U+0307: callers handle it). */
uint32_t tok_lower1(uint32_t c);
/* Rust regex \w (Alphabetic, marks, decimal digits, connector punctuation, joiners): the
 * word test of added tokens' single_word and of the Whitespace pre-tokenizer. */
int tok_is_rust_word(uint32_t c);

/* Pre-tokenize ncp[from..to) and run WordPiece on every word, appending to seq. */
int tok_words_to_ids(const tok_tokenizer *t, tok_work *w, size_t from, size_t to, tok_seq *seq);

/* Character classes of HF's BertNormalizer / BertPreTokenizer. */
int tok_is_bert_whitespace(uint32_t c);  /* \t \n \r or Unicode White_Space */
int tok_is_bert_control(uint32_t c);     /* removed by clean_text */
int tok_is_bert_punct(uint32_t c);
int tok_is_chinese(uint32_t c);

/* HF's class of c when it differs from utf8proc's category (tok_unicode.c), else -1. */
enum { TOK_U_PLAIN, TOK_U_CONTROL, TOK_U_MN, TOK_U_PUNCT, TOK_U_SPACE };
int tok_unicode_override(uint32_t c);
/* 1 if HF's NFD does not know c: no decomposition, combining class 0 (tok_unicode.c). */
int tok_unicode_nfd_unknown(uint32_t c);

int tok_grow(void **p, size_t *cap, size_t need, size_t elem);

/* c as UTF-8 at p; returns the bytes written, 1..4 (inline: the WordPiece hot loop uses it). */
static inline int tok_utf8_put(char *p, uint32_t c)
{
    if (c < 0x80) { p[0] = (char)c; return 1; }
    if (c < 0x800) { p[0] = (char)(0xC0 | (c >> 6)); p[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        p[0] = (char)(0xE0 | (c >> 12));
        p[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        p[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    p[0] = (char)(0xF0 | (c >> 18));
    p[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    p[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    p[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

#endif
