/* tok_baseline: character- and word-level tokenizers with a frequency-cut vocabulary (see
 * tok_baseline.h). Decoding and normalization are the tokenizer library's own (tok_utf8_decode,
 * tok_normalize), and words are cut by the same character classes as BertPreTokenizer, so the
 * baselines see exactly the text WordPiece sees. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libstemmer.h>
#include <utf8proc.h>

#include "tok_baseline.h"
#include "tok_internal.h"
#include "tok_train.h"

struct tokb_model {
    const tok_tokenizer *norm;
    tokb_kind kind;
    int built;

    /* training: units with their counts (the trainers' word table) */
    tokt_words *seen;

    /* after tokb_build: unit -> id (1..n; entry i has id i + 1), [UNK] is 0 */
    tok_strmap vocab;
    int        n_distinct;

    struct tokb_scratch *train;  /* tokb_add's buffers, reused across texts */
    char      *stem_lang;        /* Snowball language, or NULL: no stemming */
};

struct tokb_scratch {
    tok_words words;            /* the text's pre-tokenizer words (tok_pretokenize) */
    int       wi;               /* unit iteration: current word */
    uint32_t  ci;               /* byte offset of the next char in it (char level) */
    char     *unit;             /* a stemmed unit */
    size_t    unit_cap;
    struct sb_stemmer *stem;    /* Snowball keeps state per stemmer: one per scratch (thread) */
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
    tokt_words_destroy(&m->seen);
    tok_strmap_free(&m->vocab);
    scratch_free(m->train);
    free(m->stem_lang);
    free(m);
}

tokb_kind tokb_get_kind(const tokb_model *m) { return m->kind; }

int tokb_set_stemmer(tokb_model *m, const char *language, zb_err *err)
{
    assert(!m->built && !m->train);
    if (m->kind != TOKB_WORD)
        return zb_fail(err, ZB_EINVAL, "stemming needs the word level");
    struct sb_stemmer *st = sb_stemmer_new(language, "UTF_8");
    if (!st) {
        char known[400] = "";
        size_t o = 0;
        for (const char **l = sb_stemmer_list(); *l && o < sizeof known - 40; l++)
            o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", o ? ", " : "", *l);
        return zb_fail(err, ZB_ENOTFOUND, "stemmer '%s': Snowball has no such language (known: %s)", language,
                       known);
    }
    sb_stemmer_delete(st);
    free(m->stem_lang);
    if (!(m->stem_lang = strdup(language)))
        return zb_fail(err, ZB_ENOMEM, "out of memory");
    return 0;
}

const char *tokb_kind_name(tokb_kind kind) { return kind == TOKB_CHAR ? "character" : "word"; }

/* ---- units ----------------------------------------------------------------------------------- */

/* Units come from the tokenizer library's own pre-tokenization (tok_pretokenize: normalizer,
 * pre-tokenizer, as the subword model sees the text): a word level unit is a word, a character
 * level unit each char of a word (whitespace never is one: pre-tokenizers drop it or keep it
 * inside words, as the subword model does). */
static int units_begin(const tokb_model *m, struct tokb_scratch *sc, const char *text, size_t len, zb_err *err)
{
    sc->wi = 0;
    sc->ci = 0;
    return tok_pretokenize(m->norm, text, len, 0, &sc->words, err);
}

/* The next unit in *u, *ulen (stemmed when the model stems): 1, 0 at the end, ZB_ENOMEM. */
static int units_next(const tokb_model *m, struct tokb_scratch *sc, const char **u, size_t *ulen)
{
    while (sc->wi < sc->words.n) {
        const tok_word *w = &sc->words.words[sc->wi];
        const char *s = sc->words.buf + w->off;
        if (m->kind == TOKB_CHAR) {
            if (sc->ci >= w->len) {
                sc->wi++;
                sc->ci = 0;
                continue;
            }
            utf8proc_int32_t cp;
            utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + sc->ci,
                                                  (utf8proc_ssize_t)(w->len - sc->ci), &cp);
            if (k < 1)
                k = 1;                          /* pre-tokenized text is valid UTF-8 */
            *u = s + sc->ci;
            *ulen = (size_t)k;
            sc->ci += (uint32_t)k;
            return 1;
        }
        sc->wi++;
        if (!m->stem_lang) {
            *u = s;
            *ulen = w->len;
            return 1;
        }
        if (!sc->stem && !(sc->stem = sb_stemmer_new(m->stem_lang, "UTF_8")))
            return ZB_ENOMEM;
        const sb_symbol *st = sb_stemmer_stem(sc->stem, (const sb_symbol *)s, (int)w->len);
        if (!st)
            return ZB_ENOMEM;
        size_t sl = (size_t)sb_stemmer_length(sc->stem);
        if (tok_grow((void **)&sc->unit, &sc->unit_cap, sl + 1, 1))
            return ZB_ENOMEM;
        memcpy(sc->unit, st, sl);
        *u = sc->unit;
        *ulen = sl;
        return 1;
    }
    return 0;
}

static void scratch_free(struct tokb_scratch *sc)
{
    if (!sc)
        return;
    tok_words_free(&sc->words);
    free(sc->unit);
    if (sc->stem)
        sb_stemmer_delete(sc->stem);
    free(sc);
}

/* ---- training -------------------------------------------------------------------------------- */

int tokb_add(tokb_model *m, const char *text, size_t len, zb_err *err)
{
    assert(!m->built);
    if (!m->train && !(m->train = calloc(1, sizeof *m->train)))
        return zb_fail(err, ZB_ENOMEM, "cannot allocate for training");
    struct tokb_scratch *sc = m->train;
    int rc = units_begin(m, sc, text, len, err);
    if (rc)
        return rc;
    const char *u;
    size_t ub;
    if (!m->seen && !(m->seen = tokt_words_new(err)))
        return ZB_ENOMEM;
    while ((rc = units_next(m, sc, &u, &ub)) == 1)
        if (tokt_words_add(m->seen, u, ub, 1)) {
            rc = ZB_ENOMEM;
            break;
        }
    if (rc == ZB_ENOMEM)
        return zb_fail(err, ZB_ENOMEM, "out of memory after %zu distinct %s units", tokt_words_count(m->seen),
                       tokb_kind_name(m->kind));
    return rc;
}

int tokb_build(tokb_model *m, int max_vocab, zb_err *err)
{
    assert(!m->built);
    if (max_vocab < 0)
        return zb_fail(err, ZB_EINVAL, "vocabulary size %d: must be >= 0 (0 = every unit seen)", max_vocab);
    size_t n = m->seen ? tokt_words_count(m->seen) : 0, *order = n ? tokt_words_by_count(m->seen) : NULL;
    if (n && !order)
        return zb_fail(err, ZB_ENOMEM, "cannot sort %zu units", n);
    /* max_vocab counts [UNK] too; ties at the cut in byte order, so the vocabulary is deterministic */
    size_t keep = max_vocab == 0 || (size_t)max_vocab - 1 >= n ? n : (size_t)max_vocab - 1;
    for (size_t r = 0; r < keep; r++) {
        size_t len;
        const char *u = tokt_words_get(m->seen, order[r], &len, NULL);
        if (tok_strmap_put(&m->vocab, u, len, (int32_t)r + 1)) {
            free(order);
            return zb_fail(err, ZB_ENOMEM, "cannot build a vocabulary of %zu units", keep);
        }
    }
    free(order);
    m->n_distinct = (int)n;
    tokt_words_destroy(&m->seen);   /* training counts are not needed any more */
    scratch_free(m->train);
    m->train = NULL;
    m->built = 1;
    return 0;
}

int tokb_vocab_size(const tokb_model *m) { assert(m->built); return (int)m->vocab.n + 1; }

int tokb_distinct_units(const tokb_model *m)
{
    return m->built ? m->n_distinct : m->seen ? (int)tokt_words_count(m->seen) : 0;
}

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
    free(e->units);
    free(e->unit_off);
    scratch_free(e->scratch);
    memset(e, 0, sizeof *e);
}

/* Append unit u as the e->n-th of e->units (before e->n is counted up). */
static int keep_unit(tokb_encoding *e, const char *u, size_t len)
{
    size_t at = e->n ? e->unit_off[e->n] : 0;
    if (tok_grow((void **)&e->unit_off, &e->unit_off_cap, (size_t)e->n + 2, sizeof *e->unit_off) ||
        tok_grow((void **)&e->units, &e->units_cap, at + len + 1, 1) || at + len > UINT32_MAX)
        return ZB_ENOMEM;
    memcpy(e->units + at, u, len);
    e->units[at + len] = '\0';
    e->unit_off[e->n] = (uint32_t)at;
    e->unit_off[e->n + 1] = (uint32_t)(at + len);
    return 0;
}

int tokb_encode(const tokb_model *m, const char *text, size_t len, tokb_encoding *out, zb_err *err)
{
    assert(m->built);
    out->n = out->n_oov = out->n_words = out->n_words_split = 0;
    if (!out->scratch && !(out->scratch = calloc(1, sizeof *out->scratch)))
        return zb_fail(err, ZB_ENOMEM, "cannot allocate encoding buffers");
    struct tokb_scratch *sc = out->scratch;
    int rc = units_begin(m, sc, text, len, err);
    if (rc)
        return rc;
    const char *u;
    size_t ub;
    while ((rc = units_next(m, sc, &u, &ub)) == 1) {
        size_t cap = (size_t)out->cap;
        if (out->n == INT32_MAX || tok_grow((void **)&out->ids, &cap, (size_t)out->n + 1, sizeof *out->ids))
            return zb_fail(err, ZB_ENOMEM, "out of memory after %d tokens", out->n);
        out->cap = cap > INT32_MAX ? INT32_MAX : (int)cap;
        int32_t id = tokb_unit_to_id(m, u, ub);
        if (out->keep_units && keep_unit(out, u, ub))
            return zb_fail(err, ZB_ENOMEM, "out of memory after %d tokens", out->n);
        out->ids[out->n++] = id;
        out->n_oov += id == 0;
    }
    if (rc)
        return zb_fail(err, ZB_ENOMEM, "out of memory after %d tokens", out->n);
    /* words: the pre-tokenizer's; at character level, those of more than one char are split */
    out->n_words = sc->words.n;
    for (int k = 0; m->kind == TOKB_CHAR && k < sc->words.n; k++) {
        const char *w = sc->words.buf + sc->words.words[k].off;
        utf8proc_ssize_t wl = (utf8proc_ssize_t)sc->words.words[k].len;
        utf8proc_int32_t cp;
        out->n_words_split += wl > 0 && utf8proc_iterate((const utf8proc_uint8_t *)w, wl, &cp) < wl;
    }
    return 0;
}
