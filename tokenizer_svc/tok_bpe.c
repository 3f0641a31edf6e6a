/* tok_bpe: HF's BPE model (models/bpe/model.rs, word.rs), byte for byte.
 *
 * A pre-token becomes initial symbols, one per char: the char (with continuing_subword_prefix
 * unless first, end_of_word_suffix if last) when that string is in the vocabulary; else its bytes
 * as <0xHH> tokens when byte_fallback and every byte has one; else the unknown token (consecutive
 * ones fused with fuse_unk); with no unk_token the char is dropped and later offsets shift left
 * (offsets are running sums of symbol lengths, as HF's). Then the merge loop: repeatedly merge the
 * adjacent pair with the lowest rank, leftmost on ties, one occurrence per step (a min-heap of
 * (rank, position) with lazy invalidation, as Word::merge_all). ignore_merges: a pre-token that is a
 * vocabulary key is one token.
 *
 * Per thread (tok_work), words under 256 bytes are cached (HF caches too; results never depend on
 * it). Cost: O(n log n) in the symbols of a word, memory linear. */
#include <stdlib.h>
#include <string.h>

#include "tok_bpe.h"

/* The per-thread word cache keeps HF's policy: the first CACHE_WORDS distinct words stay, nothing is
 * evicted (HF's BPE cache: capacity 10,000, words under 256 bytes, no insert once full). Clearing it
 * when full instead, as we did, threw away the frequent words with the rest: on text with more
 * distinct words than that (multilingual: 16k per 350 KB) the hit rate fell, 25% slower. */
#define CACHE_WORDS  10000
#define CACHE_SLOTS  32768          /* power of two, at least 2 x CACHE_WORDS: short probes */
#define CACHE_MAX_WORD 255
#define CACHE_ARENA  (1 << 20)      /* the entries' bytes; full before CACHE_WORDS only on long words */

typedef struct {
    /* word cache: slot -> entry offset + 1 in arena (0 empty) */
    uint32_t slot[CACHE_SLOTS];
    uint32_t used;
    unsigned char *arena;            /* entries: u32 hash, u16 word len, u16 n tokens, word bytes,
                                      * then n x (i32 id, u16 start, u16 end), 4-aligned */
    size_t arena_n, arena_cap;
    /* merge loop scratch */
    int32_t  *id;
    uint32_t *len, *start;
    int32_t  *prev, *next;
    uint64_t *heap;
    size_t cap, heap_cap;
} bpe_work;

void tok_bpe_work_free(void *p)
{
    bpe_work *b = p;
    if (!b)
        return;
    free(b->arena);
    free(b->id); free(b->len); free(b->start); free(b->prev); free(b->next);
    free(b->heap);
    free(b);
}

void tok_bpe_free(tok_bpe *m)
{
    if (!m)
        return;
    free(m->mkey);
    free(m->mval);
    free(m->prefix);
    free(m->suffix);
    free(m->char_id);
    free(m);
}

static inline uint32_t mix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (uint32_t)k;
}

/* rank << 32 | merged id, or UINT64_MAX when (a, b) is no merge */
static inline uint64_t merge_get(const tok_bpe *m, int32_t a, int32_t b)
{
    uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    if (!m->mkey)
        return UINT64_MAX;
    for (uint32_t i = mix64(k) & m->mmask;; i = (i + 1) & m->mmask) {
        if (m->mkey[i] == UINT64_MAX)
            return UINT64_MAX;
        if (m->mkey[i] == k)
            return m->mval[i];
    }
}

int tok_bpe_merge_put(tok_bpe *m, int32_t a, int32_t b, uint32_t rank, int32_t merged)
{
    if ((m->mn + 1) * 2 > (size_t)m->mmask + 1 || !m->mkey) {
        size_t ns = m->mkey ? ((size_t)m->mmask + 1) * 2 : 1024;
        uint64_t *nk = malloc(ns * sizeof *nk), *nv = malloc(ns * sizeof *nv);
        if (!nk || !nv) { free(nk); free(nv); return ZB_ENOMEM; }
        memset(nk, 0xFF, ns * sizeof *nk);
        uint32_t nmask = (uint32_t)(ns - 1);
        for (size_t i = 0; m->mkey && i <= m->mmask; i++)
            if (m->mkey[i] != UINT64_MAX) {
                uint32_t j = mix64(m->mkey[i]) & nmask;
                while (nk[j] != UINT64_MAX) j = (j + 1) & nmask;
                nk[j] = m->mkey[i];
                nv[j] = m->mval[i];
            }
        free(m->mkey);
        free(m->mval);
        m->mkey = nk;
        m->mval = nv;
        m->mmask = nmask;
    }
    uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t i = mix64(k) & m->mmask;
    while (m->mkey[i] != UINT64_MAX && m->mkey[i] != k)
        i = (i + 1) & m->mmask;
    if (m->mkey[i] == UINT64_MAX)
        m->mn++;
    m->mkey[i] = k;                      /* a repeated pair: the last rank wins, as HF */
    m->mval[i] = ((uint64_t)rank << 32) | (uint32_t)merged;
    return 0;
}

/* ---- heap of (rank, pos) ---------------------------------------------------------------------- */

static void heap_push(uint64_t *h, size_t *n, uint64_t v)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p] <= v) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
    uint64_t top = h[0], v = h[--*n];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c];
        i = c;
    }
    if (m) h[i] = v;
    return top;
}

static int grow_work(bpe_work *b, size_t n)
{
    if (n <= b->cap)
        return 0;
    size_t nc = n + n / 2 + 64;
    void *p;
#define GROW(f) if (!(p = realloc(b->f, nc * sizeof *b->f))) return ZB_ENOMEM; b->f = p;
    GROW(id) GROW(len) GROW(start) GROW(prev) GROW(next)
#undef GROW
    b->cap = nc;
    return 0;
}

/* ---- one word --------------------------------------------------------------------------------- */

/* Initial symbols of s[0..len) into b->id / b->len; returns the count or a negative code. */
static long initial_symbols(const tok_bpe *m, bpe_work *b, const char *s, size_t len)
{
    long n = 0;
    int pending = 0;                         /* an unk symbol waiting at index n */
    char buf[64];
    for (size_t i = 0; i < len;) {
        int l = tok_utf8_len1((unsigned char)s[i]);
        if ((size_t)l > len - i) l = (int)(len - i);
        int first = i == 0, last = i + (size_t)l == len;
        int32_t id = -1;
        const char *key = s + i;
        size_t kl = (size_t)l;
        if (m->char_id && (first || !m->prefix) && (!last || !m->suffix)) {
            uint32_t c = (unsigned char)s[i];
            if (l == 2) c = ((c & 0x1F) << 6) | ((unsigned char)s[i + 1] & 0x3F);
            id = l <= 2 && c < TOK_BPE_FAST_CHARS ? m->char_id[c] : tok_strmap_get(m->vocab, key, kl);
        } else {
            size_t pl = !first && m->prefix ? m->prefix_len : 0, sl = last && m->suffix ? m->suffix_len : 0;
            if (pl + kl + sl <= sizeof buf) {
                if (pl) memcpy(buf, m->prefix, pl);
                memcpy(buf + pl, s + i, kl);
                if (sl) memcpy(buf + pl + kl, m->suffix, sl);
                key = buf;
                kl = pl + kl + sl;
                id = tok_strmap_get(m->vocab, key, kl);
            }
        }
        if (id >= 0) {
            if (pending) { n++; pending = 0; }
            b->id[n] = id;
            b->len[n++] = (uint32_t)l;
        } else {
            int all = m->byte_fallback;
            for (size_t k = 0; all && k < kl; k++)
                all = m->byte_id[(unsigned char)key[k]] >= 0;
            if (all) {                       /* HF: a pending unk is not flushed first */
                if (pending) {               /* keep the unk after the bytes, as HF's order */
                    int32_t uid = b->id[n];
                    uint32_t ul = b->len[n];
                    for (size_t k = 0; k < kl; k++) {
                        b->id[n] = m->byte_id[(unsigned char)key[k]];
                        b->len[n++] = 1;
                    }
                    b->id[n] = uid;
                    b->len[n] = ul;
                } else {
                    for (size_t k = 0; k < kl; k++) {
                        b->id[n] = m->byte_id[(unsigned char)key[k]];
                        b->len[n++] = 1;
                    }
                }
            } else if (m->has_unk) {
                if (m->unk_id < 0)
                    return ZB_ENOTFOUND;
                if (pending && m->fuse_unk) {
                    b->len[n] += (uint32_t)l;
                } else {
                    if (pending) n++;
                    b->id[n] = m->unk_id;
                    b->len[n] = (uint32_t)l;
                    pending = 1;
                }
            }                                /* else: the char is dropped */
        }
        i += (size_t)l;
    }
    return pending ? n + 1 : n;
}

static int merge_all(const tok_bpe *m, bpe_work *b, long n)
{
    size_t need = (size_t)n * 2 + 4;
    if (need > b->heap_cap) {
        void *p = realloc(b->heap, need * sizeof *b->heap);
        if (!p) return ZB_ENOMEM;
        b->heap = p;
        b->heap_cap = need;
    }
    size_t hn = 0;
    for (long i = 0; i < n; i++) {
        b->prev[i] = (int32_t)i - 1;
        b->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    for (long i = 0; i + 1 < n; i++) {
        uint64_t v = merge_get(m, b->id[i], b->id[i + 1]);
        if (v != UINT64_MAX)
            heap_push(b->heap, &hn, (v & 0xFFFFFFFF00000000ULL) | (uint64_t)i);
    }
    while (hn) {
        uint64_t top = heap_pop(b->heap, &hn);
        uint32_t rank = (uint32_t)(top >> 32), pos = (uint32_t)top;
        int32_t nx = b->next[pos];
        if (!b->len[pos] || nx < 0)
            continue;
        uint64_t v = merge_get(m, b->id[pos], b->id[nx]);
        if (v == UINT64_MAX || (uint32_t)(v >> 32) != rank)
            continue;                        /* stale: the pair changed since it was queued */
        b->id[pos] = (int32_t)(uint32_t)v;
        b->len[pos] += b->len[nx];
        b->len[nx] = 0;
        int32_t nn = b->next[nx];
        b->next[pos] = nn;
        if (nn >= 0) b->prev[nn] = (int32_t)pos;
        /* new pairs around the merged symbol; the heap never holds more than 2n entries alive,
         * but stale ones accumulate: grow when needed */
        if (hn + 2 > b->heap_cap) {
            void *p = realloc(b->heap, (b->heap_cap * 2) * sizeof *b->heap);
            if (!p) return ZB_ENOMEM;
            b->heap = p;
            b->heap_cap *= 2;
        }
        int32_t pv = b->prev[pos];
        if (pv >= 0 && (v = merge_get(m, b->id[pv], b->id[pos])) != UINT64_MAX)
            heap_push(b->heap, &hn, (v & 0xFFFFFFFF00000000ULL) | (uint64_t)(uint32_t)pv);
        if (nn >= 0 && (v = merge_get(m, b->id[pos], b->id[nn])) != UINT64_MAX)
            heap_push(b->heap, &hn, (v & 0xFFFFFFFF00000000ULL) | (uint64_t)pos);
    }
    return 0;
}

static uint32_t hash_word(const char *s, size_t len)
{
    uint32_t h = TOK_HASH_INIT;
    for (size_t i = 0; i < len; i++)
        h = tok_hash_step(h, (unsigned char)s[i]);
    return h;
}

static int emit(tok_seq *seq, const uint32_t *o, int32_t id, uint32_t s, uint32_t e, int first)
{
    uint32_t os = o[s], oe = e > s ? o[e - 1] + 1 : o[s];
    return tok_seq_push(seq, id, os, oe, first ? TOK_F_WORD : 0);
}

/* Store the tokens seq[mark..) of word s (byte boundaries start[k], the last ends at end). */
static void cache_put(bpe_work *b, uint32_t h, uint32_t slot, const char *s, size_t len, const tok_seq *seq,
                      int mark, const uint32_t *start, uint32_t end)
{
    int nt = seq->n - mark;
    size_t esz = 8 + ((len + 3) & ~(size_t)3) + (size_t)nt * 8;
    if (b->used >= CACHE_WORDS || b->arena_n + esz > CACHE_ARENA)
        return;                          /* full: kept as it is (results never depend on the cache) */
    if (!b->arena && !(b->arena = malloc(CACHE_ARENA)))
        return;
    unsigned char *e = b->arena + b->arena_n;
    uint16_t el = (uint16_t)len, en = (uint16_t)nt;
    memcpy(e, &h, 4); memcpy(e + 4, &el, 2); memcpy(e + 6, &en, 2);
    memcpy(e + 8, s, len);
    unsigned char *t = e + 8 + ((len + 3) & ~(size_t)3);
    for (int k = 0; k < nt; k++, t += 8) {
        int32_t id = seq->ids[mark + k];
        uint16_t ts = (uint16_t)start[k], te = (uint16_t)(k + 1 < nt ? start[k + 1] : end);
        memcpy(t, &id, 4); memcpy(t + 4, &ts, 2); memcpy(t + 6, &te, 2);
    }
    b->slot[slot] = (uint32_t)b->arena_n + 1;
    b->arena_n += esz;
    b->used++;
}

int tok_bpe_word(const tok_bpe *m, tok_work *w, const char *s, const uint32_t *o, size_t len, tok_seq *seq)
{
    tok_pwork *pw = w->pipe;
    if (!len)
        return 0;
    bpe_work *b = pw->bpe;
    if (!b && !(b = pw->bpe = calloc(1, sizeof *b)))
        return ZB_ENOMEM;
    /* the thread's word cache first: it is small and hot, the vocabulary is neither */
    uint32_t h = hash_word(s, len), slot = 0;
    const int cached = len <= CACHE_MAX_WORD;
    if (cached) {
        for (slot = h & (CACHE_SLOTS - 1); b->slot[slot]; slot = (slot + 1) & (CACHE_SLOTS - 1)) {
            const unsigned char *e = b->arena + b->slot[slot] - 1;
            uint32_t eh;
            uint16_t el, en;
            memcpy(&eh, e, 4); memcpy(&el, e + 4, 2); memcpy(&en, e + 6, 2);
            if (eh != h || el != len || memcmp(e + 8, s, len))
                continue;
            const unsigned char *t = e + 8 + ((len + 3) & ~(size_t)3);
            for (int k = 0; k < en; k++, t += 8) {
                int32_t id;
                uint16_t ts, te;
                memcpy(&id, t, 4); memcpy(&ts, t + 4, 2); memcpy(&te, t + 6, 2);
                if (emit(seq, o, id, ts, te, k == 0))
                    return ZB_ENOMEM;
            }
            return 0;
        }
    }
    /* byte_fallback can turn one char into 4 symbols: at most len symbols + 1 */
    if (grow_work(b, len + 2))
        return ZB_ENOMEM;
    const int mark = seq->n;
    if (m->ignore_merges) {                /* a whole pre-token in the vocabulary: one token */
        int32_t id = tok_strmap_get_h(m->vocab, s, len, h);
        if (id >= 0) {
            if (emit(seq, o, id, 0, (uint32_t)len, 1))
                return ZB_ENOMEM;
            b->start[0] = 0;
            if (cached)
                cache_put(b, h, slot, s, len, seq, mark, b->start, (uint32_t)len);
            return 0;
        }
    }
    long n = initial_symbols(m, b, s, len);
    if (n < 0)
        return (int)n;
    if (merge_all(m, b, n))
        return ZB_ENOMEM;
    uint32_t pos = 0;
    int nt = 0;
    for (long i = 0; i < n; i = b->next[i] < 0 ? n : b->next[i]) {
        if (emit(seq, o, b->id[i], pos, pos + b->len[i], nt == 0))
            return ZB_ENOMEM;
        b->start[nt++] = pos;
        pos += b->len[i];
    }
    if (cached)
        cache_put(b, h, slot, s, len, seq, mark, b->start, pos);
    return 0;
}
