/* tok_train: Hugging Face tokenizers' trainers (BpeTrainer, WordPieceTrainer, WordLevelTrainer)
 * re-implemented with their observable rules, plus a character-level "trainer" (a BPE of the
 * alphabet alone), so that `zembed train-tokenizer` writes the vocabulary and merges HF writes.
 * The rules are those of tokenizers 0.23 (models/bpe/trainer.rs, models/wordlevel/trainer.rs; see
 * ../shared/reference/hf-bpe-and-trainers.md §8); where HF is not deterministic we are, by a rule
 * written down here:
 *
 *   - limit_alphabet ties at the cut (HF: unstable sort over a hash-ordered list): among chars of
 *     equal count the higher code points go first.
 *   - ids of prefixed/suffixed symbols ("##a", "a</w>"; HF: first encounter in hash order, so
 *     WordPiece vocabularies differ from run to run): in byte order of the decorated string, after
 *     the alphabet.
 *
 * Everything else is HF's: special tokens first (ids 0.., duplicates skipped), alphabet in code
 * point order, pair counts over overlapping windows weighted by word count, merges by (count desc,
 * pair of ids asc) with HF's lazily re-checked heap (a merge that rebuilds an existing string
 * reuses its id and is still recorded), stop at vocab_size or when the best count is below 1 or
 * min_frequency.
 *
 * Input is a table of words with counts (tokt_words), as HF's trainer gets them from its
 * normalizer and pre-tokenizer: tok_train_count.c fills it from corpus files.
 */
#ifndef TOK_TRAIN_H
#define TOK_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "zb_err.h"

/* An element of `zembed train-tokenizer`'s pipeline choices, by name (tok_train_json.c holds the
 * tokenizer.json object of each):
 *   normalizer     bert (BertNormalizer, HF's defaults), nfkc, lowercase, none
 *   pre-tokenizer  byte-level (GPT-2 regex, no prefix space), bert, whitespace, metaspace (▁, always)
 */

typedef enum { TOKT_BPE, TOKT_WORDPIECE, TOKT_WORDLEVEL, TOKT_CHAR } tokt_type;

typedef struct {
    tokt_type   type;
    int         vocab_size;          /* default 30000 (HF's) */
    int64_t     min_frequency;       /* default 0 */
    const char *const *special;      /* special tokens, ids 0.. in this order */
    int         n_special;
    int         limit_alphabet;      /* -1: no limit (default) */
    int         byte_level_alphabet; /* 1: the 256 byte-level chars are always in the alphabet */
    const char *prefix;              /* continuing_subword_prefix; NULL: none (WordPiece: "##") */
    const char *suffix;              /* end_of_word_suffix; NULL: none */
} tokt_options;

/* HF's defaults for a trainer of this type (prefix "##" for WordPiece). */
void tokt_options_default(tokt_options *o, tokt_type type);

/* ---- words with counts ----------------------------------------------------------------------- */

typedef struct tokt_words tokt_words;

tokt_words *tokt_words_new(zb_err *err);
void        tokt_words_destroy(tokt_words **w);
/* Add n occurrences of the word s[0..len) (UTF-8, checked by the caller). 0 or ZB_ENOMEM. */
int         tokt_words_add(tokt_words *w, const char *s, size_t len, int64_t n);
/* Add every word of from into into. 0 or ZB_ENOMEM. */
int         tokt_words_merge(tokt_words *into, const tokt_words *from);
size_t      tokt_words_count(const tokt_words *w);             /* distinct words */
int64_t     tokt_words_total(const tokt_words *w);             /* occurrences */
/* i-th distinct word (insertion order): its bytes (NUL-terminated), length and count. */
const char *tokt_words_get(const tokt_words *w, size_t i, size_t *len, int64_t *count);
/* The distinct words' indices, most frequent first, ties in byte order (HF WordLevelTrainer's
 * order; also the baselines' and tokstats'). malloc'd, tokt_words_count entries; NULL: no memory. */
size_t     *tokt_words_by_count(const tokt_words *w);

/* ---- training -------------------------------------------------------------------------------- */

typedef struct {
    char   **tokens;     /* [n_ids] token of each id (NULL: a hole, WordLevel only); NUL-terminated,
                          * but U+0000 is a char like others: lens says the length */
    uint32_t *lens;      /* [n_ids] bytes of each token */
    int      n_ids;
    int32_t (*merges)[2];/* [n_merges] pair of ids, in rank order (BPE, WordPiece's discarded) */
    int      n_merges;
    int      n_alphabet; /* chars kept in the initial alphabet (BPE/WordPiece/char) */
    int      n_special;  /* special tokens at ids 0 .. (duplicates skipped) */
} tokt_result;

/* Train on words. Progress: if cb is set it is called now and then with the merges done so far
 * and the most that can be done. Returns 0, ZB_EINVAL (options: message names the one),
 * ZB_ENOMEM. r is filled on success and must be released with tokt_result_free. */
typedef void (*tokt_progress_fn)(void *ctx, int64_t done, int64_t total);
int  tokt_train(const tokt_words *w, const tokt_options *o, tokt_progress_fn cb, void *ctx,
                tokt_result *r, zb_err *err);
void tokt_result_free(tokt_result *r);

/* ---- counting words in corpus files (tok_train_count.c) --------------------------------------- */

struct tok_tokenizer;
/* Split every line of the files (UTF-8; each line with its "\n") with t's normalizer and
 * pre-tokenizer (tok_pretokenize) on `threads` threads and count the words into *out (a new
 * table). cb, if set, gets the bytes read so far and the total. *n_lines: lines read. Errors name
 * the file and line: ZB_EUTF8 (HF refuses such a corpus too), ZB_ENOTFOUND, ZB_EIO, ZB_ENOMEM. */
int tokt_count_files(const struct tok_tokenizer *t, const char *const *files, int n_files, int threads,
                     tokt_progress_fn cb, void *ctx, tokt_words **out, int64_t *n_lines, zb_err *err);

/* ---- a whole run: files -> folder (tok_train_run.c) ------------------------------------------- */

typedef struct {
    tokt_progress_fn counting;   /* bytes read of all bytes */
    tokt_progress_fn merging;    /* merges done of the most possible */
    void            *ctx;
} tokt_progress;

typedef struct {
    int64_t lines, words_distinct, words_total;
    int     alphabet, specials, merges, vocab;
    double  count_s, train_s, total_s;   /* total includes loading and writing */
} tokt_report;

/* The named normalizer and pre-tokenizer as a loaded tokenizer (without a model): what
 * splits a corpus into words, and what the char / word baselines of tokstats normalize with. */
struct tok_tokenizer *tokt_load_pipeline(const char *normalizer, const char *pretok, zb_err *err);

/* Count the words of the files with the named normalizer / pre-tokenizer, train with o, write
 * out_dir/tokenizer.json (created if missing). pg may be NULL. Errors as tokt_count_files,
 * tokt_train and tokt_write. */
int tokt_train_files(const tokt_options *o, const char *normalizer, const char *pretok,
                     const char *const *files, int n_files, int threads, const char *out_dir,
                     const tokt_progress *pg, tokt_report *rep, zb_err *err);

/* ---- tokenizer.json (tok_train_json.c) -------------------------------------------------------- */

/* ZB_EINVAL naming the unknown normalizer or pre-tokenizer name. */
int tokt_check_names(const char *normalizer, const char *pretok, zb_err *err);
/* A tokenizer.json (malloc'd text) with that normalizer and pre-tokenizer and no model:
 * loaded by tok_load it splits corpus lines into the words a trainer counts. NULL: no memory. */
char *tokt_pipeline_json(const char *normalizer, const char *pretok);
/* The model's unk token: the first special token containing "unk" (any case), or NULL. */
const char *tokt_unk_token(const tokt_options *o);
/* Write dir/tokenizer.json (and dir/vocab.txt for WordPiece) for a trained result: added tokens
 * (the specials), normalizer, pre-tokenizer, a [CLS]/[SEP] template when both are specials, the
 * matching decoder, and the model with o's prefix/suffix and unk token (WordPiece: "[UNK]" and
 * WordLevel: "<unk>" when no special names one, HF's defaults). */
int tokt_write(const char *dir, const tokt_result *r, const tokt_options *o, const char *normalizer,
               const char *pretok, zb_err *err);

#endif
