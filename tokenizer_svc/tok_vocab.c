/* tok_vocab: the string -> id map behind WordPiece and the id <-> token lookups.
 *
 * Open addressing with linear probing over a power-of-two slot array that is kept at most half
 * full; each entry stores its full 32-bit hash so a probe rarely touches the key bytes of another
 * token. The hash is FNV-1a so WordPiece can hash all prefixes of a word incrementally. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

int tok_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > (SIZE_MAX / 2) / elem)
            return ZB_ENOMEM;
        nc *= 2;
    }
    void *q = realloc(*p, nc * elem);
    if (!q)
        return ZB_ENOMEM;
    *p = q;
    *cap = nc;
    return 0;
}

static uint32_t slot_of(uint32_t h, uint32_t mask)
{
    /* FNV's low bits are weak for short keys: spread them before masking. */
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    return h & mask;
}

static uint32_t hash_bytes(const char *s, size_t len)
{
    uint32_t h = TOK_HASH_INIT;
    for (size_t i = 0; i < len; i++)
        h = tok_hash_step(h, (unsigned char)s[i]);
    return h;
}

static int rehash(tok_strmap *m, uint32_t nslots)
{
    uint64_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return ZB_ENOMEM;
    for (uint32_t e = 0; e < m->n; e++) {
        uint32_t s = slot_of(m->key_hash[e], nslots - 1);
        while (slots[s])
            s = (s + 1) & (nslots - 1);
        slots[s] = (uint64_t)m->key_hash[e] << 32 | (e + 1);
    }
    free(m->slots);
    m->slots = slots;
    m->mask = nslots - 1;
    return 0;
}

/* The lookup every WordPiece candidate goes through: most candidates are misses, decided by the
 * hash stored in the slot; only a hash hit touches the key. */
int32_t tok_strmap_get_h(const tok_strmap *m, const char *s, size_t len, uint32_t h)
{
    if (!m->slots)
        return -1;
    for (uint32_t i = slot_of(h, m->mask);; i = (i + 1) & m->mask) {
        uint64_t v = m->slots[i];
        if (!v)
            return -1;
        if ((uint32_t)(v >> 32) != h)
            continue;
        uint32_t e = (uint32_t)v - 1;
        if (m->key_len[e] != len)
            continue;
        const char *k = m->pool + m->key_off[e];
        size_t j = 0;
        while (j < len && k[j] == s[j])    /* keys are short: a loop beats a memcmp call */
            j++;
        if (j == len)
            return m->val[e];
    }
}

int32_t tok_strmap_get(const tok_strmap *m, const char *s, size_t len)
{
    return tok_strmap_get_h(m, s, len, hash_bytes(s, len));
}

/* Insert or overwrite (a later duplicate wins, as in a Python dict / serde map). */
int tok_strmap_put(tok_strmap *m, const char *s, size_t len, int32_t val)
{
    if (len > UINT32_MAX / 2 || m->pool_len + len + 1 > UINT32_MAX)
        return ZB_ENOMEM;
    uint32_t h = hash_bytes(s, len);
    if (m->slots) {
        for (uint32_t i = slot_of(h, m->mask);; i = (i + 1) & m->mask) {
            uint64_t v = m->slots[i];
            if (!v)
                break;
            uint32_t e = (uint32_t)v - 1;
            if (m->key_hash[e] == h && m->key_len[e] == len && !memcmp(m->pool + m->key_off[e], s, len)) {
                m->val[e] = val;
                return 0;
            }
        }
    }
    if ((size_t)(m->n + 1) * 2 > (size_t)(m->slots ? m->mask + 1 : 0)) {
        if (rehash(m, m->slots ? (m->mask + 1) * 2 : 64))
            return ZB_ENOMEM;
    }
    if (m->n == m->cap) {
        /* Grow the four columns one by one; a failure leaves the grown ones merely roomier. */
        uint32_t nc = m->cap ? m->cap * 2 : 64;
        void *p;
        if (!(p = realloc(m->key_off, nc * sizeof *m->key_off))) return ZB_ENOMEM;
        m->key_off = p;
        if (!(p = realloc(m->key_len, nc * sizeof *m->key_len))) return ZB_ENOMEM;
        m->key_len = p;
        if (!(p = realloc(m->key_hash, nc * sizeof *m->key_hash))) return ZB_ENOMEM;
        m->key_hash = p;
        if (!(p = realloc(m->val, nc * sizeof *m->val))) return ZB_ENOMEM;
        m->val = p;
        m->cap = nc;
    }
    if (tok_grow((void **)&m->pool, &m->pool_cap, m->pool_len + len + 1, 1))
        return ZB_ENOMEM;
    memcpy(m->pool + m->pool_len, s, len);
    m->pool[m->pool_len + len] = '\0';
    uint32_t e = m->n++;
    m->key_off[e] = (uint32_t)m->pool_len;
    m->key_len[e] = (uint32_t)len;
    m->key_hash[e] = h;
    m->val[e] = val;
    m->pool_len += len + 1;
    uint32_t i = slot_of(h, m->mask);
    while (m->slots[i])
        i = (i + 1) & m->mask;
    m->slots[i] = (uint64_t)h << 32 | (e + 1);
    return 0;
}

void tok_strmap_free(tok_strmap *m)
{
    free(m->pool);
    free(m->key_off);
    free(m->key_len);
    free(m->key_hash);
    free(m->val);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- public lookups ------------------------------------------------------------------------ */

int tok_vocab_size(const tok_tokenizer *t) { return t->n_ids; }

const char *tok_id_to_token(const tok_tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_ids ? t->id_tok[id] : NULL;
}

int32_t tok_token_to_id(const tok_tokenizer *t, const char *s, size_t len)
{
    /* Added tokens first (they may carry ids outside the model's vocabulary), as HF does. */
    int32_t id = tok_strmap_get(&t->names, s, len);
    return id >= 0 ? id : tok_strmap_get(&t->vocab, s, len);
}

int32_t tok_special_id(const tok_tokenizer *t, const char *which)
{
    if (!strcmp(which, "cls")) return t->cls_id;
    if (!strcmp(which, "sep")) return t->sep_id;
    if (!strcmp(which, "pad")) return t->pad_id;
    if (!strcmp(which, "unk")) return t->unk_id;
    if (!strcmp(which, "mask")) return t->mask_id;
    return -1;
}

int tok_max_length(const tok_tokenizer *t) { return t->max_length; }

int tok_is_special_id(const tok_tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_ids && t->id_special[id];
}
