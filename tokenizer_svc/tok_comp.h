/* tok_comp: the components of a general tokenizer.json pipeline, as HF tokenizers composes them:
 *
 *   added tokens (raw) -> normalizers -> added tokens (normalized) -> pre-tokenizers -> model
 *   -> truncation -> post-processors -> (padding);   ids -> decoders -> text
 *
 * Every component is a small tagged struct built once from its tokenizer.json object (tok_json.c,
 * tok_json_comp.c) and then read-only. Text between the stages is a tok_pstr: UTF-8 bytes plus,
 * for every byte, the index of the ORIGINAL code point it stands for (HF's NormalizedString
 * alignments, counted in code points as the Node/Python bindings report offsets). A token's
 * offsets are [o[first byte], o[last byte] + 1). Stages cut a pstr into tok_pieces; a stage that
 * rewrites text (normalizers, ByteLevel, Metaspace) writes a new pstr, the others only cut.
 *
 * The BERT fast path (tok_norm.c + tok_wordpiece.c over code points) is used when a file is
 * exactly BertNormalizer/BertPreTokenizer/WordPiece; everything else goes through tok_pipe.c.
 * Nothing outside tokenizer_svc/ includes this: the public API is tok.h. */
#ifndef TOK_COMP_H
#define TOK_COMP_H

#include <stddef.h>
#include <stdint.h>

#include "tok_internal.h"

/* ---- strings with alignments ---------------------------------------------------------------- */

typedef struct {
    char     *b;                 /* UTF-8 bytes [0, n) */
    uint32_t *o;                 /* [n]: original code point index of each byte */
    size_t    n, cap;
} tok_pstr;

int  tok_pstr_reserve(tok_pstr *s, size_t more);                /* room for `more` bytes; ZB_ENOMEM */
void tok_pstr_free(tok_pstr *s);
/* Append len bytes that all align to original code point `orig`. Caller reserved. */
static inline void tok_pstr_put(tok_pstr *s, const char *b, size_t len, uint32_t orig)
{
    for (size_t i = 0; i < len; i++) {
        s->b[s->n] = b[i];
        s->o[s->n++] = orig;
    }
}

typedef struct {
    uint32_t off, len;           /* bytes of the current pstr */
    int32_t  id;                 /* >= 0: an added token (no further stage touches it) */
    uint32_t os, oe;             /* added token: its original code point span */
} tok_piece;

typedef struct {
    tok_piece *p;
    size_t n, cap;
} tok_pieces;

int tok_pieces_push(tok_pieces *l, uint32_t off, uint32_t len, int32_t id, uint32_t os, uint32_t oe);

/* UTF-8 helpers (valid input assumed: pstrs only ever hold valid UTF-8). */
static inline int tok_utf8_len1(unsigned char lead)
{
    return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}
uint32_t tok_utf8_get(const char *p, int *len);                 /* decode one char at p */

/* Per-call scratch of the general pipeline, kept in tok_work between calls (tok_pipe.c). */
typedef struct {
    tok_pstr   in;               /* the input text, alignments = its own code point indices */
    tok_pstr   a, b, c;          /* normalizer / pre-tokenizer outputs (ping-pong) */
    tok_pstr   x;                /* one piece being rewritten (ByteLevel) */
    tok_pieces p, q;             /* pieces of the current stage, and of the next */
    tok_pieces sp;               /* match spans of one piece (id = is_match) */
    tok_pieces r, nr;            /* pieces around raw / normalized added tokens */
    uint32_t  *cps, *cpo;        /* a piece as code points and their alignments (normalizers) */
    size_t     cps_cap, cpo_cap;
    void      *bpe;              /* the BPE model's word cache and merge heap (tok_bpe.c) */
} tok_pwork;

tok_pwork *tok_pwork_get(tok_work *w);                           /* NULL: out of memory */
void       tok_pwork_free(void *pw);

/* ---- regular expressions (Oniguruma, as HF compiles Split / Replace / ByteLevel; PCRE2-JIT runs
 *      the patterns it matches identically, see tok_regex.c) -------------------------------------- */

typedef struct tok_regex tok_regex;
/* literal: the pattern is a plain string (HF's {"String": s}), matched as such. */
tok_regex *tok_regex_new(const char *pat, size_t len, int literal, const char *where, zb_err *err);
void       tok_regex_free(tok_regex *re);
/* HF's find_matches: calls fn(ctx, start, end, is_match) for spans covering s[0..n) in order
 * (empty matches included as zero-width match spans). Returns fn's first nonzero, or ZB_ENOMEM. */
typedef int (*tok_span_fn)(void *ctx, size_t start, size_t end, int is_match);
int tok_regex_spans(const tok_regex *re, const char *s, size_t n, tok_span_fn fn, void *ctx);
/* Which engine tok_regex_spans runs for re (chosen once, at load), for info/debug output; and
 * tok_regex_spans on a given engine (TOK_RE_PCRE2 falls back to Oniguruma where re has none), for
 * the test that compares them. */
enum { TOK_RE_ONIG, TOK_RE_PCRE2 };
int tok_regex_engine(const tok_regex *re);
int tok_regex_spans_on(const tok_regex *re, int engine, const char *s, size_t n, tok_span_fn fn,
                       void *ctx);

/* ---- normalizers ------------------------------------------------------------------------------ */

enum { TOK_N_BERT, TOK_N_NFC, TOK_N_NFD, TOK_N_NFKC, TOK_N_NFKD, TOK_N_LOWERCASE, TOK_N_STRIP,
       TOK_N_STRIP_ACCENTS, TOK_N_REPLACE, TOK_N_PREPEND };

typedef struct {
    int        kind;             /* TOK_N_* */
    int        left, right;      /* Strip */
    char      *text;             /* Prepend: what is prepended; Replace: the replacement */
    size_t     text_len;
    tok_regex *re;               /* Replace */
    tok_bertnorm bert;           /* BertNormalizer */
} tok_normalizer;

/* Run the normalizers over in[off, off+len) into out (appended). 0 or ZB_ENOMEM. */
int tok_normalize_all(const tok_normalizer *ns, int n, tok_work *w, const tok_pstr *in, size_t off,
                      size_t len, tok_pstr *out);
void tok_normalizer_free(tok_normalizer *n);

/* ---- pre-tokenizers --------------------------------------------------------------------------- */

enum { TOK_P_BERT, TOK_P_BYTELEVEL, TOK_P_SPLIT, TOK_P_WHITESPACE, TOK_P_WHITESPACE_SPLIT,
       TOK_P_METASPACE, TOK_P_DIGITS, TOK_P_PUNCTUATION, TOK_P_CHAR_DELIMITER };
enum { TOK_B_REMOVED, TOK_B_ISOLATED, TOK_B_MERGED_PREV, TOK_B_MERGED_NEXT, TOK_B_CONTIGUOUS };
enum { TOK_PREPEND_ALWAYS, TOK_PREPEND_FIRST, TOK_PREPEND_NEVER };

typedef struct {
    int        kind;             /* TOK_P_* */
    int        behavior, invert; /* Split, Punctuation */
    tok_regex *re;               /* Split; ByteLevel with use_regex (the GPT-2 pattern) */
    int        add_prefix_space; /* ByteLevel */
    int        individual_digits;/* Digits */
    int        prepend_scheme;   /* Metaspace: TOK_PREPEND_* */
    int        split;            /* Metaspace */
    uint32_t   ch;               /* Metaspace replacement; CharDelimiterSplit delimiter */
} tok_pretok;

/* One pre-tokenizer over pw->p (pieces of cur). Returns 0 when the pieces still refer to cur, 1
 * when the stage rewrote the text into spare (the pieces now refer to spare), or ZB_ENOMEM. */
int tok_pretok_apply(const tok_pretok *p, tok_pwork *pw, const tok_pstr *cur, tok_pstr *spare);
void tok_pretok_free(tok_pretok *p);

/* GPT-2's byte -> char table (HF bytes_char) and its inverse (-1: not a byte char). */
extern const uint16_t tok_byte_char[256];
int tok_char_byte(uint32_t c);

/* ---- models ----------------------------------------------------------------------------------- */

enum { TOK_M_WORDPIECE, TOK_M_BPE, TOK_M_WORDLEVEL, TOK_M_NONE };

typedef struct tok_bpe tok_bpe;  /* tok_bpe.c */

/* Tokenize one pre-token s[0..len) (alignments o) with the model, appending to seq. */
int tok_model_word(const tok_tokenizer *t, tok_work *w, const char *s, const uint32_t *o, size_t len,
                   tok_seq *seq);
int tok_bpe_word(const tok_bpe *m, tok_work *w, const char *s, const uint32_t *o, size_t len, tok_seq *seq);
void tok_bpe_free(tok_bpe *m);
void tok_bpe_work_free(void *cache);

/* ---- post-processors -------------------------------------------------------------------------- */

/* ByteLevel / RobertaProcessing offset trimming (HF process_offsets), on one sequence. */
void tok_trim_offsets(const tok_tokenizer *t, tok_seq *s);

/* ---- decoders --------------------------------------------------------------------------------- */

enum { TOK_D_WORDPIECE, TOK_D_BYTELEVEL, TOK_D_METASPACE, TOK_D_BPE, TOK_D_BYTEFALLBACK, TOK_D_FUSE,
       TOK_D_STRIP, TOK_D_REPLACE, TOK_D_CTC };

typedef struct {
    int        kind;
    char      *a, *b;            /* WordPiece prefix; BPE suffix; Strip content; Replace content */
    size_t     a_len, b_len;
    tok_regex *re;               /* Replace */
    int        cleanup;          /* WordPiece */
    int        start, stop;      /* Strip */
    uint32_t   ch;               /* Metaspace replacement */
    int        prepend_scheme;   /* Metaspace */
} tok_decoder;

void tok_decoder_free(tok_decoder *d);
/* tok_decode for the general pipeline (tok_decoders.c). */
int tok_decode_gen(const tok_tokenizer *t, const int32_t *ids, int n, int skip_special, char **out, zb_err *err);

/* ---- added tokens: a byte trie per kind (raw / normalized), leftmost-longest ------------------ */

typedef struct {
    uint64_t *key;               /* (node << 8 | byte) + 1, 0 = empty */
    uint32_t *child;
    uint32_t  mask;              /* slots - 1 */
    uint32_t  n_edges;
    int32_t  *term;              /* [n_nodes]: index into t->added, or -1 */
    uint32_t  n_nodes, nodes_cap;
    uint8_t   first[256];        /* 1: some token starts with this byte */
} tok_trie;

/* ---- the whole general pipeline --------------------------------------------------------------- */

struct tok_gen {
    tok_normalizer *norm;  int n_norm;
    tok_pretok     *pre;   int n_pre;
    int             model;           /* TOK_M_* */
    tok_bpe        *bpe;
    int             trim;            /* ByteLevel / RobertaProcessing trim_offsets */
    int             trim_prefix_space; /* their add_prefix_space (keeps a first single space) */
    tok_decoder    *dec;   int n_dec;
    tok_trie        raw, normed;     /* added tokens by content / by normalized content */
};

int  tok_trie_add(tok_trie *tr, const char *s, size_t len, int32_t idx);   /* 0 or ZB_ENOMEM */
void tok_trie_free(tok_trie *tr);
void tok_gen_free(struct tok_gen *g);
/* After loading: g's tries of t's added tokens (normalized ones through g's normalizers unless
 * their content is already normalized, as the BERT loader stores it). */
int  tok_gen_finalize(const tok_tokenizer *t, struct tok_gen *g, int already_normalized, const char *where,
                      zb_err *err);
/* The fast path's normalizer and pre-tokenizer as components (t->words_gen). */
int  tok_gen_for_bert(tok_tokenizer *t, const char *where, zb_err *err);

/* ---- the generic encoder (tok_pipe.c) --------------------------------------------------------- */

/* Encode one text through the general pipeline into seq (no post-processing yet). */
int tok_pipe_encode(const tok_tokenizer *t, tok_work *w, const char *s, size_t len, int lossy,
                    tok_seq *seq, zb_err *err);

#endif
