/* tok_wordpiece: BertPreTokenizer + WordPiece over normalized text. This is the hot loop.
 *
 * Pre-tokenization (HF pre_tokenizers/bert.rs): split on White_Space (removed), then every
 * punctuation char is a word of its own. WordPiece (HF models/wordpiece): greedy longest match
 * first; pieces after the first are looked up with the continuing-subword prefix ("##"); a word of
 * more than max_input_chars_per_word chars, or one with a piece that matches nothing, is a single
 * [UNK] covering the whole word.
 *
 * Cost: the longest-match search never tries a piece longer than the longest vocabulary key, and
 * all candidate lengths at one position are hashed in one forward pass (FNV-1a is incremental), so
 * a word of n chars costs O(n * L) byte steps with L the longest key (a constant, ~20), and the
 * rest of the text is a single pass. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

int tok_seq_push(tok_seq *s, int32_t id, uint32_t start, uint32_t end, int flags)
{
    if (s->n == s->cap) {
        if (s->cap > (1 << 29))
            return ZB_ENOMEM;
        int nc = s->cap ? s->cap * 2 : 256;
        void *a = realloc(s->ids, (size_t)nc * sizeof *s->ids);
        if (!a) return ZB_ENOMEM;
        s->ids = a;
        a = realloc(s->off, (size_t)nc * sizeof *s->off);
        if (!a) return ZB_ENOMEM;
        s->off = a;
        a = realloc(s->flags, (size_t)nc);
        if (!a) return ZB_ENOMEM;
        s->flags = a;
        s->cap = nc;
    }
    s->ids[s->n] = id;
    s->off[s->n].start = start;
    s->off[s->n].end = end;
    s->flags[s->n] = (uint8_t)flags;
    s->n++;
    return 0;
}

/* WordPiece on ncp[s..e): the innermost loop of the tokenizer. */
static int wordpiece(const tok_tokenizer *t, tok_work *w, size_t s, size_t e, tok_seq *seq)
{
    const size_t nchars = e - s;
    const uint32_t wstart = w->norig[s], wend = w->norig[e - 1] + 1;
    if (nchars > (size_t)t->max_chars_per_word)
        return tok_seq_push(seq, t->unk_id, wstart, wend, TOK_F_WORD);

    /* The word as UTF-8, with the byte offset of every char (wboff[nchars] = total). */
    if (nchars * 4 + 4 > w->w_cap) {
        size_t nc = nchars * 4 + 64;
        void *a = realloc(w->wbytes, nc);
        if (!a) return ZB_ENOMEM;
        w->wbytes = a;
        a = realloc(w->wboff, nc * sizeof *w->wboff);
        if (!a) return ZB_ENOMEM;
        w->wboff = a;
        w->w_cap = nc;
    }
    char *b = w->wbytes;
    uint32_t *bo = w->wboff, nb = 0;
    for (size_t k = 0; k < nchars; k++) {
        bo[k] = nb;
        nb += (uint32_t)tok_utf8_put(b + nb, w->ncp[s + k]);
    }
    bo[nchars] = nb;

    const int mark = seq->n;
    size_t pos = 0;
    /* hs[k - pos] = hash of b[bo[pos] .. bo[k]) for each candidate end k */
    size_t need = (size_t)(t->max_piece_bytes > t->max_cont_bytes ? t->max_piece_bytes : t->max_cont_bytes) + 2;
    if (tok_grow((void **)&w->hs, &w->hs_cap, need, sizeof *w->hs))
        return ZB_ENOMEM;
    uint32_t *hs = w->hs;
    while (pos < nchars) {
        const tok_strmap *m = pos == 0 || !t->prefix_len ? &t->vocab : &t->cont;
        uint32_t maxb = (uint32_t)(pos == 0 || !t->prefix_len ? t->max_piece_bytes : t->max_cont_bytes);
        uint32_t h = TOK_HASH_INIT, start = bo[pos];
        size_t kmax = pos;
        for (size_t k = pos + 1; k <= nchars && bo[k] - start <= maxb; k++) {
            for (uint32_t j = bo[k - 1]; j < bo[k]; j++)
                h = tok_hash_step(h, (unsigned char)b[j]);
            hs[k - pos] = h;
            kmax = k;
        }
        int32_t id = -1;
        size_t k;
        for (k = kmax; k > pos; k--) {
            id = tok_strmap_get_h(m, b + start, bo[k] - start, hs[k - pos]);
            if (id >= 0)
                break;
        }
        if (id < 0) {                       /* no piece fits: the whole word is [UNK] */
            seq->n = mark;
            return tok_seq_push(seq, t->unk_id, wstart, wend, TOK_F_WORD);
        }
        if (tok_seq_push(seq, id, w->norig[s + pos], w->norig[s + k - 1] + 1, pos ? 0 : TOK_F_WORD))
            return ZB_ENOMEM;
        pos = k;
    }
    return 0;
}

/* Word boundaries per BertPreTokenizer; ASCII classes come from a table. */
enum { C_WORD = 0, C_SPACE = 1, C_PUNCT = 2 };
static unsigned char ascii_class[128];
static void init_ascii_class(void)
{
    for (uint32_t c = 0; c < 128; c++)
        ascii_class[c] = tok_is_bert_whitespace(c) ? C_SPACE : tok_is_bert_punct(c) ? C_PUNCT : C_WORD;
}

static inline int char_class(uint32_t c)
{
    if (c < 128)
        return ascii_class[c];
    return tok_is_bert_whitespace(c) ? C_SPACE : tok_is_bert_punct(c) ? C_PUNCT : C_WORD;
}

int tok_words_to_ids(const tok_tokenizer *t, tok_work *w, size_t from, size_t to, tok_seq *seq)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_ascii_class);
    if (!t->has_pretok)                     /* no pre-tokenizer: the whole piece is one word */
        return from < to ? wordpiece(t, w, from, to, seq) : 0;
    size_t i = from;
    while (i < to) {
        int cl = char_class(w->ncp[i]);
        if (cl == C_SPACE) { i++; continue; }
        size_t j = i + 1;
        if (cl == C_WORD)
            while (j < to && char_class(w->ncp[j]) == C_WORD)
                j++;
        int rc = wordpiece(t, w, i, j, seq);
        if (rc)
            return rc;
        i = j;
    }
    return 0;
}
