/* tok_train_merge: HF's BpeTrainer merge loop (models/bpe/trainer.rs do_train), followed step by
 * step because its tie and stale-entry behaviour decides the merges: a lazily re-checked max-heap
 * of (count, pair, words-to-visit) entries, per-word merges that emit count deltas weighted by the
 * word's count, and fresh entries for the pairs that gained. */
#include <stdlib.h>
#include <string.h>

#include "tok_train_internal.h"

/* ---- pair -> count ---------------------------------------------------------------------------- */

#define PAIR_EMPTY UINT64_MAX
typedef struct {
    uint64_t *key;       /* a << 32 | b, PAIR_EMPTY = free */
    int64_t  *cnt;
    size_t    n, mask;
} pairmap;

static size_t pair_slot(uint64_t k, size_t mask)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & mask;
}

static int pairmap_grow(pairmap *m)
{
    size_t ns = m->key ? (m->mask + 1) * 2 : 1 << 16;
    uint64_t *key = malloc(ns * sizeof *key);
    int64_t *cnt = malloc(ns * sizeof *cnt);
    if (!key || !cnt) {
        free(key);
        free(cnt);
        return ZB_ENOMEM;
    }
    memset(key, 0xff, ns * sizeof *key);
    for (size_t i = 0; m->key && i <= m->mask; i++) {
        if (m->key[i] == PAIR_EMPTY)
            continue;
        size_t s = pair_slot(m->key[i], ns - 1);
        while (key[s] != PAIR_EMPTY)
            s = (s + 1) & (ns - 1);
        key[s] = m->key[i];
        cnt[s] = m->cnt[i];
    }
    free(m->key);
    free(m->cnt);
    m->key = key;
    m->cnt = cnt;
    m->mask = ns - 1;
    return 0;
}

/* The count cell of pair k, created at 0 when absent; NULL when out of memory. */
static int64_t *pairmap_at(pairmap *m, uint64_t k)
{
    if ((m->n + 1) * 2 > (m->key ? m->mask + 1 : 0) && pairmap_grow(m))
        return NULL;
    size_t s = pair_slot(k, m->mask);
    while (m->key[s] != k) {
        if (m->key[s] == PAIR_EMPTY) {
            m->key[s] = k;
            m->cnt[s] = 0;
            m->n++;
            break;
        }
        s = (s + 1) & m->mask;
    }
    return &m->cnt[s];
}

static int64_t pairmap_get(const pairmap *m, uint64_t k)
{
    if (!m->key)
        return 0;
    for (size_t s = pair_slot(k, m->mask); m->key[s] != PAIR_EMPTY; s = (s + 1) & m->mask)
        if (m->key[s] == k)
            return m->cnt[s];
    return 0;
}

static uint64_t pair_key(uint32_t a, uint32_t b) { return (uint64_t)a << 32 | b; }

/* ---- the merge queue -------------------------------------------------------------------------- */

typedef struct {
    int64_t   count;
    uint64_t  pair;
    uint32_t *pos;       /* words to visit (malloc'd, ascending, no repeats) */
    uint32_t  n_pos;
} entry;

typedef struct {
    entry *e;
    size_t n, cap;
} heap;

/* HF's Merge order: higher count first, then the smaller pair of ids (first id, then second). */
static int above(const entry *x, const entry *y)
{
    return x->count != y->count ? x->count > y->count : x->pair < y->pair;
}

static int heap_push(heap *h, entry e)
{
    if (tok_grow((void **)&h->e, &h->cap, h->n + 1, sizeof *h->e))
        return ZB_ENOMEM;
    size_t i = h->n++;
    while (i && above(&e, &h->e[(i - 1) / 2])) {
        h->e[i] = h->e[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->e[i] = e;
    return 0;
}

static entry heap_pop(heap *h)
{
    entry top = h->e[0], last = h->e[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && above(&h->e[c + 1], &h->e[c]))
            c++;
        if (!above(&h->e[c], &last))
            break;
        h->e[i] = h->e[c];
        i = c;
    }
    if (h->n)
        h->e[i] = last;
    return top;
}

/* (pair, word) of a pair that gained occurrences in a word: where the next entries must look. */
typedef struct {
    uint64_t pair;
    uint32_t word;
} gain;

static int cmp_gain(const void *x, const void *y)
{
    const gain *a = x, *b = y;
    if (a->pair != b->pair)
        return a->pair < b->pair ? -1 : 1;
    return (a->word > b->word) - (a->word < b->word);
}

typedef struct {
    gain  *g;
    size_t n, cap;
} gains;

static int gains_add(gains *gs, uint64_t pair, uint32_t word)
{
    if (tok_grow((void **)&gs->g, &gs->cap, gs->n + 1, sizeof *gs->g))
        return ZB_ENOMEM;
    gs->g[gs->n++] = (gain){pair, word};
    return 0;
}

/* Group gains by pair and push one entry per pair whose total count is positive (HF's
 * where_to_update.drain()). Empties gs. */
static int push_gains(heap *h, gains *gs, const pairmap *pc)
{
    if (gs->n)                      /* g is NULL before the first gain */
        qsort(gs->g, gs->n, sizeof *gs->g, cmp_gain);
    for (size_t i = 0, j; i < gs->n; i = j) {
        uint32_t distinct = 0;
        for (j = i; j < gs->n && gs->g[j].pair == gs->g[i].pair; j++)
            distinct += j == i || gs->g[j].word != gs->g[j - 1].word;
        int64_t c = pairmap_get(pc, gs->g[i].pair);
        if (c <= 0)
            continue;
        entry e = {c, gs->g[i].pair, malloc(distinct * sizeof(uint32_t)), 0};
        if (!e.pos)
            return ZB_ENOMEM;
        for (size_t k = i; k < j; k++)
            if (k == i || gs->g[k].word != gs->g[k - 1].word)
                e.pos[e.n_pos++] = gs->g[k].word;
        if (heap_push(h, e)) {
            free(e.pos);
            return ZB_ENOMEM;
        }
    }
    gs->n = 0;
    return 0;
}

/* Merge every non-overlapping (a, b) of word wi left to right into m; count deltas go to pc
 * (weighted by the word's count), pairs that gained to gs. HF's Word::merge. */
static int merge_word(tokt_wordsyms *ws, size_t wi, uint32_t a, uint32_t b, uint32_t m, pairmap *pc,
                      gains *gs)
{
    uint32_t *s = ws->sym + ws->off[wi];
    uint32_t n = ws->len[wi], w = 0;
    int64_t c = ws->count[wi];
    for (uint32_t r = 0; r < n;) {
        if (s[r] == a && r + 1 < n && s[r + 1] == b) {
            int64_t *p;
            if (w) {
                if (!(p = pairmap_at(pc, pair_key(s[w - 1], a)))) return ZB_ENOMEM;
                *p -= c;
                if (!(p = pairmap_at(pc, pair_key(s[w - 1], m)))) return ZB_ENOMEM;
                *p += c;
                if (gains_add(gs, pair_key(s[w - 1], m), (uint32_t)wi)) return ZB_ENOMEM;
            }
            if (r + 2 < n) {
                if (!(p = pairmap_at(pc, pair_key(b, s[r + 2])))) return ZB_ENOMEM;
                *p -= c;
                if (!(p = pairmap_at(pc, pair_key(m, s[r + 2])))) return ZB_ENOMEM;
                *p += c;
                if (gains_add(gs, pair_key(m, s[r + 2]), (uint32_t)wi)) return ZB_ENOMEM;
            }
            s[w++] = m;
            r += 2;
        } else {
            s[w++] = s[r++];
        }
    }
    ws->len[wi] = w;
    return 0;
}

/* HF's BpeTrainer::do_train merge loop over ws; merges appended to *mg. */
int tokt_merge_loop(tokt_vocab *v, tokt_wordsyms *ws, const tokt_options *o, int32_t (**mg)[2], int *n_mg,
                      tokt_progress_fn cb, void *ctx)
{
    pairmap pc = {0};
    heap h = {0};
    gains gs = {0};
    size_t mg_cap = 0;
    int rc = ZB_ENOMEM;
    for (size_t k = 0; k < ws->n; k++) {
        const uint32_t *s = ws->sym + ws->off[k];
        for (uint32_t i = 0; i + 1 < ws->len[k]; i++) {
            int64_t *p = pairmap_at(&pc, pair_key(s[i], s[i + 1]));
            if (!p || gains_add(&gs, pair_key(s[i], s[i + 1]), (uint32_t)k))
                goto out;
            *p += ws->count[k];
        }
    }
    if (push_gains(&h, &gs, &pc))
        goto out;
    int64_t goal = o->vocab_size > v->n ? o->vocab_size - v->n : 0, done = 0;
    while (v->n < o->vocab_size && h.n) {
        entry top = heap_pop(&h);
        int64_t now = pairmap_get(&pc, top.pair);
        if (top.count != now) {
            top.count = now;            /* HF re-pushes with the current count, even <= 0 */
            if (heap_push(&h, top)) {
                free(top.pos);
                goto out;
            }
            continue;
        }
        /* HF compares as u64: a count that went negative would look huge, never seen without
         * max_token_length, which we do not offer */
        if (top.count < 1 || top.count < o->min_frequency) {
            free(top.pos);
            break;
        }
        uint32_t a = (uint32_t)(top.pair >> 32), b = (uint32_t)top.pair;
        const char *sa = v->tok[a], *sb = v->tok[b];
        size_t la = v->len[a], lb = v->len[b];
        size_t pl = o->prefix ? strlen(o->prefix) : 0;
        if (pl && lb >= pl && !memcmp(sb, o->prefix, pl)) {
            sb += pl;
            lb -= pl;
        }
        char *joined = malloc(la + lb + 1);
        if (!joined) {
            free(top.pos);
            goto out;
        }
        memcpy(joined, sa, la);
        memcpy(joined + la, sb, lb);
        int32_t m = tokt_vocab_id(v, joined, la + lb);
        free(joined);
        if (m < 0 || tok_grow((void **)mg, &mg_cap, (size_t)*n_mg + 1, sizeof **mg)) {
            free(top.pos);
            goto out;
        }
        (*mg)[*n_mg][0] = (int32_t)a;
        (*mg)[*n_mg][1] = (int32_t)b;
        ++*n_mg;
        for (uint32_t k = 0; k < top.n_pos; k++)
            if (merge_word(ws, top.pos[k], a, b, (uint32_t)m, &pc, &gs)) {
                free(top.pos);
                goto out;
            }
        free(top.pos);
        if (push_gains(&h, &gs, &pc))
            goto out;
        if (cb && (++done & 255) == 0)
            cb(ctx, done, goal);
    }
    if (cb)
        cb(ctx, goal, goal);
    rc = 0;
out:
    for (size_t i = 0; i < h.n; i++)
        free(h.e[i].pos);
    free(h.e);
    free(gs.g);
    free(pc.key);
    free(pc.cnt);
    return rc;
}
