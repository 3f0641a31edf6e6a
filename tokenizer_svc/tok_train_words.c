/* tok_train_words: the word -> count table the trainers learn from (tok_train.h). The keys live in
 * the tokenizer library's string map (tok_strmap); the value is the entry's index into counts. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "tok_train.h"

struct tokt_words {
    tok_strmap map;      /* word -> index (insertion order) */
    int64_t   *counts;   /* [map.n] */
    size_t     counts_cap;
    int64_t    total;
};

tokt_words *tokt_words_new(zb_err *err)
{
    tokt_words *w = calloc(1, sizeof *w);
    if (!w)
        zb_fail(err, ZB_ENOMEM, "cannot allocate a word table");
    return w;
}

void tokt_words_destroy(tokt_words **pw)
{
    tokt_words *w = *pw;
    if (!w)
        return;
    tok_strmap_free(&w->map);
    free(w->counts);
    free(w);
    *pw = NULL;
}

int tokt_words_add(tokt_words *w, const char *s, size_t len, int64_t n)
{
    int32_t i = tok_strmap_get(&w->map, s, len);
    if (i < 0) {
        if (w->map.n >= INT32_MAX - 1)
            return ZB_ENOMEM;
        i = (int32_t)w->map.n;
        if (tok_grow((void **)&w->counts, &w->counts_cap, (size_t)i + 1, sizeof *w->counts) ||
            tok_strmap_put(&w->map, s, len, i))
            return ZB_ENOMEM;
        w->counts[i] = 0;
    }
    w->counts[i] += n;
    w->total += n;
    return 0;
}

int tokt_words_merge(tokt_words *into, const tokt_words *from)
{
    for (uint32_t e = 0; e < from->map.n; e++)
        if (tokt_words_add(into, from->map.pool + from->map.key_off[e], from->map.key_len[e],
                           from->counts[from->map.val[e]]))
            return ZB_ENOMEM;
    return 0;
}

size_t tokt_words_count(const tokt_words *w) { return w->map.n; }

int64_t tokt_words_total(const tokt_words *w) { return w->total; }

const char *tokt_words_get(const tokt_words *w, size_t i, size_t *len, int64_t *count)
{
    if (i >= w->map.n)
        return NULL;
    if (len)
        *len = w->map.key_len[i];
    if (count)
        *count = w->counts[w->map.val[i]];
    return w->map.pool + w->map.key_off[i];
}

static const tokt_words *sort_w;    /* qsort has no context argument */

static int by_count(const void *x, const void *y)
{
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    int64_t ci = sort_w->counts[sort_w->map.val[i]], cj = sort_w->counts[sort_w->map.val[j]];
    if (ci != cj)
        return ci > cj ? -1 : 1;
    uint32_t li = sort_w->map.key_len[i], lj = sort_w->map.key_len[j];
    int c = memcmp(sort_w->map.pool + sort_w->map.key_off[i], sort_w->map.pool + sort_w->map.key_off[j],
                   li < lj ? li : lj);
    return c ? c : (li > lj) - (li < lj);
}

size_t *tokt_words_by_count(const tokt_words *w)
{
    size_t n = w->map.n, *order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return NULL;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    sort_w = w;
    qsort(order, n, sizeof *order, by_count);
    return order;
}
