/* tok_train: HF's BpeTrainer (also behind WordPieceTrainer and our char level) up to its merge
 * loop (special tokens, alphabet, words as symbols; the loop is tok_train_merge.c), and
 * WordLevelTrainer. The rules are in tok_train.h. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok_comp.h"          /* tok_byte_char: GPT-2's byte -> char table */
#include "tok_train_internal.h"

void tokt_options_default(tokt_options *o, tokt_type type)
{
    memset(o, 0, sizeof *o);
    o->type = type;
    o->vocab_size = 30000;
    o->limit_alphabet = -1;
    if (type == TOKT_WORDPIECE)
        o->prefix = "##";
}

void tokt_result_free(tokt_result *r)
{
    if (!r->tokens && !r->merges)
        return;
    for (int i = 0; i < r->n_ids; i++)
        free(r->tokens[i]);
    free(r->tokens);
    free(r->lens);
    free(r->merges);
    memset(r, 0, sizeof *r);
}

/* Id of s, adding it when new. Returns the id or ZB_ENOMEM. */
int32_t tokt_vocab_id(tokt_vocab *v, const char *s, size_t len)
{
    int32_t id = tok_strmap_get(&v->map, s, len);
    if (id >= 0)
        return id;
    if (v->n == INT32_MAX || len > UINT32_MAX || tok_grow((void **)&v->tok, &v->cap, (size_t)v->n + 1, sizeof *v->tok) ||
        tok_grow((void **)&v->len, &v->len_cap, (size_t)v->n + 1, sizeof *v->len))
        return ZB_ENOMEM;
    char *c = malloc(len + 1);
    if (!c)
        return ZB_ENOMEM;
    memcpy(c, s, len);
    c[len] = '\0';
    if (tok_strmap_put(&v->map, s, len, v->n)) {
        free(c);
        return ZB_ENOMEM;
    }
    v->tok[v->n] = c;
    v->len[v->n] = (uint32_t)len;
    return v->n++;
}

static void vocab_free(tokt_vocab *v)
{
    for (int i = 0; i < v->n; i++)
        free(v->tok[i]);
    free(v->tok);
    free(v->len);
    tok_strmap_free(&v->map);
}

static void wordsyms_free(tokt_wordsyms *ws)
{
    free(ws->sym);
    free(ws->off);
    free(ws->len);
    free(ws->count);
}

/* ---- alphabet and initial symbols ------------------------------------------------------------- */

typedef struct {
    uint32_t cp;
    uint64_t count;
} charcount;

/* Fewer first, and among equals the higher code point first: the chars limit_alphabet drops. */
static int cmp_drop_order(const void *x, const void *y)
{
    const charcount *a = x, *b = y;
    if (a->count != b->count)
        return a->count < b->count ? -1 : 1;
    return (a->cp < b->cp) - (a->cp > b->cp);
}

static int cmp_cp(const void *x, const void *y)
{
    const charcount *a = x, *b = y;
    return (a->cp > b->cp) - (a->cp < b->cp);
}

static int utf8_of(uint32_t cp, char *out)
{
    return (int)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)out);
}

/* Next char of valid UTF-8 s[*i..n): its code point and byte length. */
static uint32_t next_char(const char *s, size_t n, size_t *i, int *bytes)
{
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + *i, (utf8proc_ssize_t)(n - *i), &cp);
    assert(k > 0);   /* callers feed validated UTF-8 */
    *i += (size_t)k;
    *bytes = (int)k;
    return (uint32_t)cp;
}

/* HF's compute_alphabet: counts per char (the byte-level alphabet at "infinity"), the limit cut,
 * survivors into the vocabulary in code point order. Sets *n_kept. */
static int add_alphabet(tokt_vocab *v, const tokt_words *w, const tokt_options *o, int *n_kept)
{
    uint64_t *cnt = calloc(0x110000, sizeof *cnt);
    charcount *cc = NULL;
    int rc = ZB_ENOMEM;
    if (!cnt)
        goto out;
    size_t n_chars = 0;
    for (size_t k = 0; k < tokt_words_count(w); k++) {
        size_t len, i = 0;
        int64_t c;
        int nb;
        const char *s = tokt_words_get(w, k, &len, &c);
        while (i < len) {
            uint32_t cp = next_char(s, len, &i, &nb);
            /* stored as 1 + count (0 = not seen; a word counted 0 times still adds its chars) */
            n_chars += !cnt[cp];
            uint64_t v0 = cnt[cp] ? cnt[cp] : 1;
            cnt[cp] = v0 + (uint64_t)c < v0 ? UINT64_MAX : v0 + (uint64_t)c;
        }
    }
    for (unsigned b = 0; o->byte_level_alphabet && b < 256; b++) {
        uint32_t cp = tok_byte_char[b];
        n_chars += !cnt[cp];
        cnt[cp] = UINT64_MAX;
    }
    if (!(cc = malloc((n_chars ? n_chars : 1) * sizeof *cc)))
        goto out;
    size_t m = 0;
    for (uint32_t cp = 0; cp < 0x110000; cp++)
        if (cnt[cp])
            cc[m++] = (charcount){cp, cnt[cp]};
    size_t from = 0;
    if (o->limit_alphabet >= 0 && m > (size_t)o->limit_alphabet) {
        qsort(cc, m, sizeof *cc, cmp_drop_order);
        from = m - (size_t)o->limit_alphabet;
        qsort(cc + from, m - from, sizeof *cc, cmp_cp);
    }
    *n_kept = (int)(m - from);
    for (size_t k = from; k < m; k++) {
        char u[4];
        if (tokt_vocab_id(v, u, (size_t)utf8_of(cc[k].cp, u)) < 0)
            goto out;
    }
    rc = 0;
out:
    free(cnt);
    free(cc);
    return rc;
}

/* The symbol of char s[i..i+nb) of a word: bare, or with the prefix (not the word's first char)
 * and/or the suffix (its last char) around it, in buf. Returns the length, or 0 when the bare
 * char is not in the vocabulary (HF drops such chars; their neighbours become adjacent). */
static size_t decorate(const tokt_vocab *v, const tokt_options *o, const char *s, size_t i, int nb,
                       int first, int last, char *buf)
{
    if (tok_strmap_get(&v->map, s + i, (size_t)nb) < 0)
        return 0;
    size_t n = 0;
    if (!first && o->prefix) {
        memcpy(buf, o->prefix, strlen(o->prefix));
        n = strlen(o->prefix);
    }
    memcpy(buf + n, s + i, (size_t)nb);
    n += (size_t)nb;
    if (last && o->suffix) {
        memcpy(buf + n, o->suffix, strlen(o->suffix));
        n += strlen(o->suffix);
    }
    return n;
}

typedef struct {
    const char *s;
    size_t len;
} str;

static int cmp_str(const void *x, const void *y)
{
    const str *a = x, *b = y;
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* Two passes over the words: the decorated symbols not yet in the vocabulary get ids in byte
 * order (our deterministic stand-in for HF's hash order), then every word becomes symbol ids. */
static int words_to_symbols(tokt_vocab *v, const tokt_words *w, const tokt_options *o, tokt_wordsyms *ws)
{
    size_t deco = (o->prefix ? strlen(o->prefix) : 0) + (o->suffix ? strlen(o->suffix) : 0);
    char *buf = malloc(deco + 5);
    tok_strmap fresh = {0};
    str *order = NULL;
    int rc = ZB_ENOMEM;
    size_t n_words = tokt_words_count(w), n_sym = 0;
    if (!buf)
        goto out;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            if (!(order = malloc((fresh.n ? fresh.n : 1) * sizeof *order)))
                goto out;
            for (uint32_t e = 0; e < fresh.n; e++)
                order[e] = (str){fresh.pool + fresh.key_off[e], fresh.key_len[e]};
            qsort(order, fresh.n, sizeof *order, cmp_str);
            for (uint32_t e = 0; e < fresh.n; e++)
                if (tokt_vocab_id(v, order[e].s, order[e].len) < 0)
                    goto out;
            ws->n = n_words;
            ws->sym = malloc((n_sym ? n_sym : 1) * sizeof *ws->sym);
            ws->off = malloc((n_words + 1) * sizeof *ws->off);
            ws->len = malloc((n_words ? n_words : 1) * sizeof *ws->len);
            ws->count = malloc((n_words ? n_words : 1) * sizeof *ws->count);
            if (!ws->sym || !ws->off || !ws->len || !ws->count)
                goto out;
            n_sym = 0;
        }
        for (size_t k = 0; k < n_words; k++) {
            size_t len, i = 0;
            int64_t c;
            const char *s = tokt_words_get(w, k, &len, &c);
            if (pass == 1) {
                ws->off[k] = n_sym;
                ws->count[k] = c;
            }
            while (i < len) {
                size_t at = i;
                int nb;
                next_char(s, len, &i, &nb);
                size_t d = decorate(v, o, s, at, nb, at == 0, i == len, buf);
                if (!d)
                    continue;
                if (pass == 0) {
                    n_sym++;
                    if (deco && tok_strmap_get(&v->map, buf, d) < 0 && tok_strmap_get(&fresh, buf, d) < 0 &&
                        tok_strmap_put(&fresh, buf, d, 0))
                        goto out;
                } else {
                    ws->sym[n_sym++] = (uint32_t)tok_strmap_get(&v->map, buf, d);
                }
            }
            if (pass == 1)
                ws->len[k] = (uint32_t)(n_sym - ws->off[k]);
        }
        if (pass == 1)
            ws->off[n_words] = n_sym;
    }
    rc = 0;
out:
    free(buf);
    free(order);
    tok_strmap_free(&fresh);
    return rc;
}

/* ---- training --------------------------------------------------------------------------------- */

static int add_specials(tokt_vocab *v, const tokt_options *o, int *n_added)
{
    int before = v->n;
    for (int i = 0; i < o->n_special; i++)
        if (tokt_vocab_id(v, o->special[i], strlen(o->special[i])) < 0)
            return ZB_ENOMEM;
    *n_added = v->n - before;
    return 0;
}

/* HF's WordLevelTrainer: specials (not de-duplicated) then words, cut at vocab_size; a string
 * listed twice keeps its later id and leaves a hole at the earlier one. */
static int train_wordlevel(const tokt_words *w, const tokt_options *o, tokt_result *r)
{
    size_t n = tokt_words_count(w), *order = tokt_words_by_count(w);
    tok_strmap ids = {0};
    int rc = ZB_ENOMEM;
    if (!order)
        goto out;
    size_t m = 0;                             /* words kept: the first m of order */
    for (int64_t c; m < n && (tokt_words_get(w, order[m], NULL, &c), c >= o->min_frequency); m++)
        ;
    size_t total = (size_t)o->n_special + m;
    if (total > (size_t)o->vocab_size)
        total = (size_t)o->vocab_size;
    if (!(r->tokens = calloc(total ? total : 1, sizeof *r->tokens)) ||
        !(r->lens = calloc(total ? total : 1, sizeof *r->lens)))
        goto out;
    r->n_ids = (int)total;
    for (size_t id = 0; id < total; id++) {
        size_t len;
        const char *s = id < (size_t)o->n_special ? o->special[id]
                                                  : tokt_words_get(w, order[id - (size_t)o->n_special], &len, NULL);
        if (id < (size_t)o->n_special)
            len = strlen(s);
        int32_t prev = tok_strmap_get(&ids, s, len);
        if (prev >= 0) {
            free(r->tokens[prev]);
            r->tokens[prev] = NULL;
        }
        if (tok_strmap_put(&ids, s, len, (int32_t)id) || !(r->tokens[id] = malloc(len + 1)))
            goto out;
        memcpy(r->tokens[id], s, len);       /* not strndup: a word may hold U+0000 */
        r->tokens[id][len] = '\0';
        r->lens[id] = (uint32_t)len;
    }
    r->n_special = o->n_special < (int)total ? o->n_special : (int)total;
    rc = 0;
out:
    free(order);
    tok_strmap_free(&ids);
    return rc;
}

int tokt_train(const tokt_words *w, const tokt_options *o, tokt_progress_fn cb, void *ctx,
               tokt_result *r, zb_err *err)
{
    memset(r, 0, sizeof *r);
    if (o->vocab_size < 0)
        return zb_fail(err, ZB_EINVAL, "vocab_size %d: must not be negative", o->vocab_size);
    if (o->min_frequency < 0)
        return zb_fail(err, ZB_EINVAL, "min_frequency %lld: must not be negative", (long long)o->min_frequency);
    if (o->prefix && !*o->prefix)
        return zb_fail(err, ZB_EINVAL, "continuing_subword_prefix: must not be empty (leave it unset)");
    if (o->suffix && !*o->suffix)
        return zb_fail(err, ZB_EINVAL, "end_of_word_suffix: must not be empty (leave it unset)");
    for (int i = 0; i < o->n_special; i++)
        if (!*o->special[i])
            return zb_fail(err, ZB_EINVAL, "special token %d: empty", i + 1);
    if (o->type == TOKT_WORDLEVEL) {
        if (train_wordlevel(w, o, r)) {
            tokt_result_free(r);
            return zb_fail(err, ZB_ENOMEM, "out of memory building a word-level vocabulary");
        }
        return 0;
    }
    tokt_options oc = *o;
    if (o->type == TOKT_CHAR) {
        /* the alphabet alone: as many chars as fit beside the special tokens, no merges */
        int room = o->vocab_size > o->n_special ? o->vocab_size - o->n_special : 0;
        if (oc.limit_alphabet < 0 || oc.limit_alphabet > room)
            oc.limit_alphabet = room;
        oc.vocab_size = 0;
    }
    tokt_vocab v = {0};
    tokt_wordsyms ws = {0};
    int rc = add_specials(&v, &oc, &r->n_special);
    if (!rc)
        rc = add_alphabet(&v, w, &oc, &r->n_alphabet);
    if (!rc)
        rc = words_to_symbols(&v, w, &oc, &ws);
    if (!rc)
        rc = tokt_merge_loop(&v, &ws, &oc, &r->merges, &r->n_merges, cb, ctx);
    wordsyms_free(&ws);
    if (rc) {
        vocab_free(&v);
        free(r->merges);
        memset(r, 0, sizeof *r);
        return zb_fail(err, rc, "out of memory training on %zu distinct words", tokt_words_count(w));
    }
    r->tokens = v.tok;          /* ownership moves to r */
    r->lens = v.len;
    r->n_ids = v.n;
    tok_strmap_free(&v.map);
    return 0;
}
