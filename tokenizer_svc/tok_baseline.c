/* tok_baseline: character- and word-level tokenizers with a frequency-cut vocabulary (see
 * tok_baseline.h). Decoding and normalization are the tokenizer library's own (tok_utf8_decode,
 * tok_normalize), and words are cut by the same character classes as BertPreTokenizer, so the
 * baselines see exactly the text WordPiece sees. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok_baseline.h"
#include "tok_internal.h"

struct tokb_model {
    const tok_tokenizer *norm;
    tokb_kind kind;
    int built;

    /* training: unit -> entry index (insertion order), with its count */
    tok_strmap seen;
    int64_t   *counts;
    size_t     counts_cap;

    /* after tokb_build: unit -> id (1..n; entry i has id i + 1), [UNK] is 0 */
    tok_strmap vocab;
    int        n_distinct;

    struct tokb_scratch *train;  /* tokb_add's buffers, reused across texts */
};

struct tokb_scratch {
    tok_work w;                 /* the tokenizer library's decode/normalize buffers */
    char    *unit;              /* one unit in UTF-8 */
    size_t   unit_cap;
};

static void scratch_free(struct tokb_scratch *sc);

tokb_model *tokb_new(const tok_tokenizer *norm, tokb_kind kind, zb_err *err)
{
    assert(norm && (kind == TOKB_CHAR || kind == TOKB_WORD));
    tokb_model *m = calloc(1, sizeof *m);
    if (!m) {
        zb_fail(err, ZB_ENOMEM, "cannot allocate a %s-level tokenizer", tokb_kind_name(kind));
        return NULL;
    }
    m->norm = norm;
    m->kind = kind;
    return m;
}

void tokb_free(tokb_model *m)
{
    if (!m)
        return;
    tok_strmap_free(&m->seen);
    tok_strmap_free(&m->vocab);
    free(m->counts);
    scratch_free(m->train);
    free(m);
}

tokb_kind tokb_get_kind(const tokb_model *m) { return m->kind; }

const char *tokb_kind_name(tokb_kind kind) { return kind == TOKB_CHAR ? "character" : "word"; }

/* ---- units ----------------------------------------------------------------------------------- */

/* The next unit of normalized text c[*pos..n): sets [*s, *e) and returns 1, or 0 at the end.
 * Hot loop of both baselines. Whitespace separates and is dropped; for words, every punctuation
 * char is a unit of its own (BertPreTokenizer: split on whitespace, Removed; punctuation, Isolated). */
static int next_unit(tokb_kind kind, const uint32_t *c, size_t n, size_t *pos, size_t *s, size_t *e)
{
    size_t i = *pos;
    while (i < n && tok_is_bert_whitespace(c[i]))
        i++;
    if (i == n) {
        *pos = n;
        return 0;
    }
    *s = i++;
    if (kind == TOKB_WORD && !tok_is_bert_punct(c[*s]))
        while (i < n && !tok_is_bert_whitespace(c[i]) && !tok_is_bert_punct(c[i]))
            i++;
    *e = *pos = i;
    return 1;
}

/* UTF-8 of c[s..e) into sc->unit; returns its length, or -1 when out of memory. */
static long unit_bytes(struct tokb_scratch *sc, const uint32_t *c, size_t s, size_t e)
{
    if (tok_grow((void **)&sc->unit, &sc->unit_cap, (e - s) * 4 + 1, 1))
        return -1;
    long len = 0;
    for (size_t i = s; i < e; i++)
        len += utf8proc_encode_char((utf8proc_int32_t)c[i], (utf8proc_uint8_t *)sc->unit + len);
    return len;
}

/* Decode (strict) and normalize text into sc->w.ncp; returns the normalized length or < 0. */
static long normalize(const tokb_model *m, struct tokb_scratch *sc, const char *text, size_t len,
                      zb_err *err)
{
    size_t n;
    int rc = tok_utf8_decode(&sc->w, text, len, 0, &n, err);
    if (rc)
        return rc;
    long nn = tok_normalize(m->norm, &sc->w, sc->w.cps, n, 0);
    if (nn < 0)
        return zb_fail(err, ZB_ENOMEM, "cannot normalize a text of %zu bytes", len);
    return nn;
}

static void scratch_free(struct tokb_scratch *sc)
{
    if (!sc)
        return;
    /* tok_utf8_decode and tok_normalize allocate only these fields of tok_work. */
    free(sc->w.cps);
    free(sc->w.ncp);
    free(sc->w.norig);
    free(sc->w.nccc);
    free(sc->unit);
    free(sc);
}

/* ---- training -------------------------------------------------------------------------------- */

int tokb_add(tokb_model *m, const char *text, size_t len, zb_err *err)
{
    assert(!m->built);
    if (!m->train && !(m->train = calloc(1, sizeof *m->train)))
        return zb_fail(err, ZB_ENOMEM, "cannot allocate for training");
    struct tokb_scratch *sc = m->train;
    long nn = normalize(m, sc, text, len, err);
    int rc = nn < 0 ? (int)nn : 0;
    size_t pos = 0, s, e;
    while (!rc && next_unit(m->kind, sc->w.ncp, (size_t)nn, &pos, &s, &e)) {
        long ub = unit_bytes(sc, sc->w.ncp, s, e);
        if (ub < 0) { rc = ZB_ENOMEM; break; }
        int32_t idx = tok_strmap_get(&m->seen, sc->unit, (size_t)ub);
        if (idx < 0) {
            idx = (int32_t)m->seen.n;
            if (idx == INT32_MAX || tok_grow((void **)&m->counts, &m->counts_cap, (size_t)idx + 1, sizeof *m->counts) ||
                tok_strmap_put(&m->seen, sc->unit, (size_t)ub, idx)) {
                rc = ZB_ENOMEM;
                break;
            }
            m->counts[idx] = 0;
        }
        m->counts[idx]++;
    }
    if (rc == ZB_ENOMEM)
        return zb_fail(err, ZB_ENOMEM, "out of memory after %u distinct %s units", m->seen.n,
                       tokb_kind_name(m->kind));
    return rc;
}

typedef struct {
    int64_t     count;
    const char *key;
    uint32_t    len;
} ranked;

/* Most frequent first; ties in bytewise order of the unit, so the vocabulary is deterministic. */
static int by_count(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    int c = memcmp(a->key, b->key, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

int tokb_build(tokb_model *m, int max_vocab, zb_err *err)
{
    assert(!m->built);
    if (max_vocab < 0)
        return zb_fail(err, ZB_EINVAL, "vocabulary size %d: must be >= 0 (0 = every unit seen)", max_vocab);
    uint32_t n = m->seen.n;
    ranked *order = malloc(((size_t)n + 1) * sizeof *order);
    if (!order)
        return zb_fail(err, ZB_ENOMEM, "cannot sort %u units", n);
    for (uint32_t i = 0; i < n; i++)
        order[i] = (ranked){m->counts[i], m->seen.pool + m->seen.key_off[i], m->seen.key_len[i]};
    qsort(order, n, sizeof *order, by_count);
    /* max_vocab counts [UNK] too. */
    uint32_t keep = max_vocab == 0 || (uint32_t)max_vocab - 1 >= n ? n : (uint32_t)max_vocab - 1;
    for (uint32_t r = 0; r < keep; r++) {
        if (tok_strmap_put(&m->vocab, order[r].key, order[r].len, (int32_t)r + 1)) {
            free(order);
            return zb_fail(err, ZB_ENOMEM, "cannot build a vocabulary of %u units", keep);
        }
    }
    free(order);
    m->n_distinct = (int)n;
    tok_strmap_free(&m->seen);      /* training counts are not needed any more */
    free(m->counts);
    m->counts = NULL;
    m->counts_cap = 0;
    scratch_free(m->train);
    m->train = NULL;
    m->built = 1;
    return 0;
}

int tokb_vocab_size(const tokb_model *m) { assert(m->built); return (int)m->vocab.n + 1; }

int tokb_distinct_units(const tokb_model *m) { return m->built ? m->n_distinct : (int)m->seen.n; }

const char *tokb_id_to_unit(const tokb_model *m, int32_t id)
{
    assert(m->built);
    if (id == 0)
        return "[UNK]";
    if (id < 0 || (uint32_t)id > m->vocab.n)
        return NULL;
    return m->vocab.pool + m->vocab.key_off[id - 1];
}

int32_t tokb_unit_to_id(const tokb_model *m, const char *s, size_t len)
{
    assert(m->built);
    int32_t id = tok_strmap_get(&m->vocab, s, len);
    return id < 0 ? 0 : id;
}

/* ---- encoding -------------------------------------------------------------------------------- */

void tokb_encoding_init(tokb_encoding *e) { memset(e, 0, sizeof *e); }

void tokb_encoding_free(tokb_encoding *e)
{
    free(e->ids);
    scratch_free(e->scratch);
    memset(e, 0, sizeof *e);
}

int tokb_encode(const tokb_model *m, const char *text, size_t len, tokb_encoding *out, zb_err *err)
{
    assert(m->built);
    out->n = out->n_oov = out->n_words = out->n_words_split = 0;
    if (!out->scratch && !(out->scratch = calloc(1, sizeof *out->scratch)))
        return zb_fail(err, ZB_ENOMEM, "cannot allocate encoding buffers");
    struct tokb_scratch *sc = out->scratch;
    long nn = normalize(m, sc, text, len, err);
    if (nn < 0)
        return (int)nn;
    size_t pos = 0, s, e;
    while (next_unit(m->kind, sc->w.ncp, (size_t)nn, &pos, &s, &e)) {
        long ub = unit_bytes(sc, sc->w.ncp, s, e);
        size_t cap = (size_t)out->cap;
        if (ub < 0 || out->n == INT32_MAX ||
            tok_grow((void **)&out->ids, &cap, (size_t)out->n + 1, sizeof *out->ids))
            return zb_fail(err, ZB_ENOMEM, "out of memory after %d tokens", out->n);
        out->cap = cap > INT32_MAX ? INT32_MAX : (int)cap;
        int32_t id = tokb_unit_to_id(m, sc->unit, (size_t)ub);
        out->ids[out->n++] = id;
        out->n_oov += id == 0;
    }
    /* Words: the word level's units; at character level, those of more than one char are split. */
    if (m->kind == TOKB_WORD) {
        out->n_words = out->n;
        return 0;
    }
    for (pos = 0; next_unit(TOKB_WORD, sc->w.ncp, (size_t)nn, &pos, &s, &e);) {
        out->n_words++;
        out->n_words_split += e - s > 1;
    }
    return 0;
}
