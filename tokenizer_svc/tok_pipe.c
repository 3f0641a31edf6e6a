/* tok_pipe: the general pipeline (everything but the BERT fast path), in HF's order of work
 * (tokenizer/mod.rs encode_single_sequence, added_vocabulary.rs extract_and_normalize):
 *   1. added tokens with normalized: false are cut out of the raw text;
 *   2. each other piece is normalized on its own, then searched for normalized added tokens;
 *   3. the pre-tokenizers run over the pieces that are not tokens;
 *   4. the model turns every pre-token into tokens.
 * Offsets: code point indices of the input (tok_comp.h). Memory: linear in the text, buffers
 * kept in tok_work between calls. */
#include <stdlib.h>
#include <string.h>

#include "tok_bpe.h"

/* ---- small helpers ---------------------------------------------------------------------------- */

int tok_pstr_reserve(tok_pstr *s, size_t more)
{
    if (s->n + more <= s->cap && s->b)
        return 0;
    size_t nc = s->cap ? s->cap : 256;
    while (nc < s->n + more)
        nc *= 2;
    char *b = realloc(s->b, nc);
    if (!b) return ZB_ENOMEM;
    s->b = b;
    uint32_t *o = realloc(s->o, nc * sizeof *o);
    if (!o) return ZB_ENOMEM;
    s->o = o;
    s->cap = nc;
    return 0;
}

void tok_pstr_free(tok_pstr *s)
{
    free(s->b);
    free(s->o);
    memset(s, 0, sizeof *s);
}

int tok_pieces_push(tok_pieces *l, uint32_t off, uint32_t len, int32_t id, uint32_t os, uint32_t oe)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        tok_piece *p = realloc(l->p, nc * sizeof *p);
        if (!p) return ZB_ENOMEM;
        l->p = p;
        l->cap = nc;
    }
    l->p[l->n++] = (tok_piece){off, len, id, os, oe};
    return 0;
}

uint32_t tok_utf8_get(const char *p, int *len)
{
    const unsigned char *u = (const unsigned char *)p;
    if (u[0] < 0x80) { *len = 1; return u[0]; }
    if (u[0] < 0xE0) { *len = 2; return ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F); }
    if (u[0] < 0xF0) {
        *len = 3;
        return ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
    }
    *len = 4;
    return ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
           ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
}

tok_pwork *tok_pwork_get(tok_work *w)
{
    if (!w->pipe)
        w->pipe = calloc(1, sizeof(tok_pwork));
    return w->pipe;
}

void tok_pwork_free(void *p)
{
    tok_pwork *pw = p;
    if (!pw)
        return;
    tok_pstr *s[] = {&pw->in, &pw->a, &pw->b, &pw->c, &pw->x};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++)
        tok_pstr_free(s[i]);
    tok_pieces *l[] = {&pw->p, &pw->q, &pw->sp, &pw->r, &pw->nr};
    for (size_t i = 0; i < sizeof l / sizeof *l; i++)
        free(l[i]->p);
    free(pw->cps);
    free(pw->cpo);
    tok_bpe_work_free(pw->bpe);
    free(pw);
}

/* ---- added tokens ----------------------------------------------------------------------------- */

static inline uint32_t edge_hash(uint64_t k)
{
    k *= 0x9E3779B97F4A7C15ULL;
    return (uint32_t)(k >> 32);
}

static int32_t trie_child(const tok_trie *tr, uint32_t node, unsigned char b)
{
    if (!tr->key)
        return -1;
    uint64_t k = (((uint64_t)node << 8) | b) + 1;
    for (uint32_t i = edge_hash(k) & tr->mask;; i = (i + 1) & tr->mask) {
        if (!tr->key[i]) return -1;
        if (tr->key[i] == k) return (int32_t)tr->child[i];
    }
}

static int trie_new_node(tok_trie *tr)
{
    if (tr->n_nodes == tr->nodes_cap) {
        uint32_t nc = tr->nodes_cap ? tr->nodes_cap * 2 : 64;
        int32_t *t = realloc(tr->term, nc * sizeof *t);
        if (!t) return -1;
        tr->term = t;
        tr->nodes_cap = nc;
    }
    tr->term[tr->n_nodes] = -1;
    return (int)tr->n_nodes++;
}

static int trie_put_edge(tok_trie *tr, uint64_t k, uint32_t child)
{
    if (!tr->key || (tr->n_edges + 1) * 2 > tr->mask + 1) {
        uint32_t ns = tr->key ? (tr->mask + 1) * 2 : 256;
        uint64_t *nk = calloc(ns, sizeof *nk);
        uint32_t *nc = malloc(ns * sizeof *nc);
        if (!nk || !nc) { free(nk); free(nc); return ZB_ENOMEM; }
        for (uint32_t i = 0; tr->key && i <= tr->mask; i++)
            if (tr->key[i]) {
                uint32_t j = edge_hash(tr->key[i]) & (ns - 1);
                while (nk[j]) j = (j + 1) & (ns - 1);
                nk[j] = tr->key[i];
                nc[j] = tr->child[i];
            }
        free(tr->key);
        free(tr->child);
        tr->key = nk;
        tr->child = nc;
        tr->mask = ns - 1;
    }
    uint32_t i = edge_hash(k) & tr->mask;
    while (tr->key[i]) i = (i + 1) & tr->mask;
    tr->key[i] = k;
    tr->child[i] = child;
    tr->n_edges++;
    return 0;
}

int tok_trie_add(tok_trie *tr, const char *s, size_t len, int32_t idx)
{
    if (!len)
        return 0;
    if (!tr->n_nodes && trie_new_node(tr) < 0)
        return ZB_ENOMEM;
    uint32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        int32_t c = trie_child(tr, node, b);
        if (c < 0) {
            if ((c = trie_new_node(tr)) < 0 || trie_put_edge(tr, (((uint64_t)node << 8) | b) + 1, (uint32_t)c))
                return ZB_ENOMEM;
        }
        node = (uint32_t)c;
    }
    if (tr->term[node] < 0)                     /* the first token with this content wins */
        tr->term[node] = idx;
    tr->first[(unsigned char)s[0]] = 1;
    return 0;
}

void tok_trie_free(tok_trie *tr)
{
    free(tr->key);
    free(tr->child);
    free(tr->term);
    memset(tr, 0, sizeof *tr);
}

static int rust_space_at(const char *s, size_t i, int *l) { return tok_is_bert_whitespace(tok_utf8_get(s + i, l)); }

/* The char ending at byte e of s (e > 0). */
static uint32_t char_before(const char *s, size_t e)
{
    size_t k = e - 1;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    int l;
    return tok_utf8_get(s + k, &l);
}

/* HF AddedVocabulary::find_matches over ps[off, off+len): leftmost-longest matches of the trie,
 * each checked for single_word, widened by lstrip / rstrip; pieces (gaps and tokens) to out.
 * Cost: each start position walks the trie at most as deep as the longest added token. */
static int split_added(const tok_tokenizer *t, const tok_trie *tr, const tok_pstr *ps, size_t off,
                       size_t len, tok_pieces *out)
{
    const char *s = ps->b + off;
    size_t start_off = 0, pos = 0;
    while (pos < len) {
        if (!tr->first[(unsigned char)s[pos]]) { pos++; continue; }
        uint32_t node = 0;
        int32_t best = -1;
        size_t best_end = 0;
        for (size_t k = pos; k < len; k++) {
            int32_t c = trie_child(tr, node, (unsigned char)s[k]);
            if (c < 0) break;
            node = (uint32_t)c;
            if (tr->term[node] >= 0) { best = tr->term[node]; best_end = k + 1; }
        }
        if (best < 0) { pos++; continue; }
        const tok_added *a = &t->added[best];
        size_t start = pos, stop = best_end;
        pos = best_end;
        if (a->single_word && ((start > 0 && tok_is_rust_word(char_before(s, start))) ||
                               (stop < len && tok_is_rust_word(tok_utf8_get(s + stop, &(int){0})))))
            continue;                           /* rejected, but its span is consumed */
        if (a->lstrip) {
            size_t ns = start;
            while (ns > 0) {
                size_t k = ns - 1;
                while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
                int l;
                if (!rust_space_at(s, k, &l)) break;
                ns = k;
            }
            start = ns > start_off ? ns : start_off;
        }
        if (a->rstrip) {
            int l;
            while (stop < len && rust_space_at(s, stop, &l))
                stop += (size_t)l;
        }
        if (start_off < start &&
            tok_pieces_push(out, (uint32_t)(off + start_off), (uint32_t)(start - start_off), -1, 0, 0))
            return ZB_ENOMEM;
        if (tok_pieces_push(out, 0, 0, a->id, ps->o[off + start], ps->o[off + stop - 1] + 1))
            return ZB_ENOMEM;
        start_off = stop;
    }
    if (start_off < len &&
        tok_pieces_push(out, (uint32_t)(off + start_off), (uint32_t)(len - start_off), -1, 0, 0))
        return ZB_ENOMEM;
    return 0;
}

int tok_gen_finalize(const tok_tokenizer *t, struct tok_gen *g, int already_normalized, const char *where,
                     zb_err *err)
{
    tok_encoding tmp;
    tok_encoding_init(&tmp);
    int rc = 0;
    tok_work *w = tmp.work = calloc(1, sizeof(tok_work));
    tok_pwork *pw = w ? tok_pwork_get(w) : NULL;
    if (!pw)
        rc = ZB_ENOMEM;
    for (int i = 0; i < t->n_added && !rc; i++) {
        const tok_added *a = &t->added[i];
        tok_pstr *raw = &pw->in;
        raw->n = 0;
        for (int k = 0; k < a->n_cps && !rc; k++) {
            char u[4];
            int l = tok_utf8_put(u, a->cps[k]);
            if (!(rc = tok_pstr_reserve(raw, 4)))
                tok_pstr_put(raw, u, (size_t)l, (uint32_t)k);
        }
        if (rc)
            break;
        if (!a->normalized || !g->n_norm || already_normalized) {
            rc = tok_trie_add(a->normalized ? &g->normed : &g->raw, raw->b, raw->n, i);
            continue;
        }
        pw->a.n = 0;
        if (!(rc = tok_normalize_all(g->norm, g->n_norm, w, raw, 0, raw->n, &pw->a)))
            rc = tok_trie_add(&g->normed, pw->a.b, pw->a.n, i);
    }
    tok_encoding_free(&tmp);
    return rc ? zb_fail(err, rc, "%s: added tokens: out of memory", where) : 0;
}

int tok_gen_for_bert(tok_tokenizer *t, const char *where, zb_err *err)
{
    struct tok_gen *g = t->words_gen = calloc(1, sizeof *g);
    if (!g || !(g->norm = calloc(1, sizeof *g->norm)) || !(g->pre = calloc(1, sizeof *g->pre)))
        return zb_fail(err, ZB_ENOMEM, "%s: out of memory", where);
    g->model = TOK_M_NONE;
    if (t->has_normalizer) {
        g->norm[0].kind = TOK_N_BERT;
        g->norm[0].bert = (tok_bertnorm){1, t->clean_text, t->handle_chinese, t->strip_accents, t->lowercase};
        g->n_norm = 1;
    }
    if (t->has_pretok) {
        g->pre[0].kind = TOK_P_BERT;
        g->n_pre = 1;
    }
    return tok_gen_finalize(t, g, 1, where, err);
}

/* ---- models: WordLevel, WordPiece (BPE: tok_bpe.c) --------------------------------------------- */

static int wordpiece(const tok_tokenizer *t, const char *s, const uint32_t *o, size_t len, tok_seq *seq)
{
    size_t nchars = 0;
    for (size_t i = 0; i < len; i += (size_t)tok_utf8_len1((unsigned char)s[i]))
        nchars++;
    int mark = seq->n;
    if (nchars <= (size_t)t->max_chars_per_word) {
        char buf[512];
        size_t pos = 0;
        while (pos < len) {
            size_t end = len;
            int32_t id = -1;
            while (end > pos) {
                size_t pl = pos ? t->prefix_len : 0;
                if (pl + end - pos <= sizeof buf) {
                    if (pl) memcpy(buf, t->prefix, pl);
                    memcpy(buf + pl, s + pos, end - pos);
                    if ((id = tok_strmap_get(&t->vocab, buf, pl + end - pos)) >= 0)
                        break;
                }
                do end--; while (end > pos && ((unsigned char)s[end] & 0xC0) == 0x80);
            }
            if (id < 0)
                break;
            if (tok_seq_push(seq, id, o[pos], o[end - 1] + 1, pos ? 0 : TOK_F_WORD))
                return ZB_ENOMEM;
            pos = end;
        }
        if (pos == len)
            return 0;
    }
    seq->n = mark;
    if (t->unk_id < 0)
        return ZB_ENOTFOUND;
    return tok_seq_push(seq, t->unk_id, o[0], o[len - 1] + 1, TOK_F_WORD);
}

int tok_model_word(const tok_tokenizer *t, tok_work *w, const char *s, const uint32_t *o, size_t len,
                   tok_seq *seq)
{
    if (!len)
        return 0;
    switch (t->gen->model) {
    case TOK_M_BPE:
        return tok_bpe_word(t->gen->bpe, w, s, o, len, seq);
    case TOK_M_WORDLEVEL: {
        int32_t id = tok_strmap_get(&t->vocab, s, len);
        if (id < 0 && (id = t->unk_id) < 0)
            return ZB_ENOTFOUND;
        return tok_seq_push(seq, id, o[0], o[len - 1] + 1, TOK_F_WORD);
    }
    case TOK_M_WORDPIECE:
        return wordpiece(t, s, o, len, seq);
    default:
        return ZB_EUNSUPPORTED;
    }
}

/* ---- post-processing: offset trimming (HF process_offsets) -------------------------------------- */

void tok_trim_offsets(const tok_tokenizer *t, tok_seq *s)
{
    for (int i = 0; i < s->n; i++) {
        const char *tok = tok_id_to_token(t, s->ids[i]);
        if (!tok)
            continue;
        size_t len = strlen(tok), a = 0, b = len;
        uint32_t lead = 0, trail = 0;
        int l;
        while (a < len) {
            uint32_t c = tok_utf8_get(tok + a, &l);
            if (c != 0x120 && !tok_is_bert_whitespace(c)) break;
            lead++;
            a += (size_t)l;
        }
        while (b > 0) {
            size_t k = b - 1;
            while (k > 0 && ((unsigned char)tok[k] & 0xC0) == 0x80) k--;
            uint32_t c = tok_utf8_get(tok + k, &l);
            if (c != 0x120 && !tok_is_bert_whitespace(c)) break;
            trail++;
            b = k;
        }
        tok_span *o = &s->off[i];
        if (lead) {
            if ((i == 0 || o->start == 0) && t->gen->trim_prefix_space && lead == 1)
                lead = 0;
            o->start = o->start + lead < o->end ? o->start + lead : o->end;
        }
        if (trail && o->end >= trail)
            o->end = o->end - trail > o->start ? o->end - trail : o->start;
    }
}

/* ---- the encoder ------------------------------------------------------------------------------- */

/* The input as a pstr: valid UTF-8 (lossy: U+FFFD per maximal ill-formed subpart), each byte
 * aligned to its code point index. */
static int load_input(tok_work *w, tok_pstr *in, const char *s, size_t len, int lossy, zb_err *err)
{
    in->n = 0;
    size_t bad;
    if (!tok_utf8_check(s, len, &bad)) {
        if (tok_pstr_reserve(in, len + 1))            /* + 1: never NULL, even for "" */
            return zb_fail(err, ZB_ENOMEM, "cannot allocate for a text of %zu bytes", len);
        memcpy(in->b, s, len);
        uint32_t cp = 0;
        for (size_t i = 0; i < len; i++) {
            in->o[i] = cp;
            cp += i + 1 == len || ((unsigned char)s[i + 1] & 0xC0) != 0x80;
        }
        in->n = len;
        return 0;
    }
    if (!lossy)
        return zb_fail(err, ZB_EUTF8, "invalid UTF-8 at byte %zu", bad);
    size_t n;
    int rc = tok_utf8_decode(w, s, len, 1, &n, err);
    if (rc)
        return rc;
    if (tok_pstr_reserve(in, n * 4))
        return zb_fail(err, ZB_ENOMEM, "cannot allocate for a text of %zu bytes", len);
    for (size_t i = 0; i < n; i++) {
        char u[4];
        tok_pstr_put(in, u, (size_t)tok_utf8_put(u, w->cps[i]), (uint32_t)i);
    }
    return 0;
}

static int model_error(const tok_tokenizer *t, int rc, zb_err *err)
{
    if (rc == ZB_ENOTFOUND)
        return zb_fail(err, ZB_EFORMAT, "model: the unknown token '%.40s' is needed but is not in the "
                       "vocabulary", t->unk_name ? t->unk_name : "");
    if (rc == ZB_EUNSUPPORTED)
        return zb_fail(err, rc, "this tokenizer has no model: it can pre-tokenize, not encode");
    return zb_fail(err, rc, "out of memory tokenizing");
}

static int push_word(tok_words *ws, const char *s, size_t len, tok_span span, int32_t added_id)
{
    if (ws->n == ws->cap) {
        int nc = ws->cap ? ws->cap * 2 : 64;
        tok_word *a = realloc(ws->words, (size_t)nc * sizeof *a);
        if (!a) return ZB_ENOMEM;
        ws->words = a;
        ws->cap = nc;
    }
    if (tok_grow((void **)&ws->buf, &ws->buf_cap, ws->buf_len + len + 1, 1))
        return ZB_ENOMEM;
    memcpy(ws->buf + ws->buf_len, s, len);
    ws->buf[ws->buf_len + len] = '\0';
    ws->words[ws->n++] = (tok_word){(uint32_t)ws->buf_len, (uint32_t)len, span, added_id};
    ws->buf_len += len + 1;
    return 0;
}

static int token_out(const tok_tokenizer *t, const tok_piece *pc, tok_seq *seq, tok_words *ws)
{
    if (!ws)
        return tok_seq_push(seq, pc->id, pc->os, pc->oe, TOK_F_WORD | TOK_F_ADDED);
    const char *c = tok_id_to_token(t, pc->id);
    return push_word(ws, c ? c : "", c ? strlen(c) : 0, (tok_span){pc->os, pc->oe}, pc->id);
}

/* Steps 2-4 for one raw piece in[off, off+len); with ws, the pre-tokens go there instead of the
 * model. */
static int encode_piece(const tok_tokenizer *t, const struct tok_gen *g, tok_work *w, tok_pwork *pw,
                        size_t off, size_t len, tok_seq *seq, tok_words *ws)
{
    tok_pstr *cur = &pw->in;
    int rc;
    if (g->n_norm) {
        pw->a.n = 0;
        if ((rc = tok_normalize_all(g->norm, g->n_norm, w, &pw->in, off, len, &pw->a)))
            return rc;
        cur = &pw->a;
        off = 0;
        len = pw->a.n;
    }
    pw->p.n = 0;
    if (g->normed.n_nodes) {
        if ((rc = split_added(t, &g->normed, cur, off, len, &pw->p)))
            return rc;
    } else if (len && tok_pieces_push(&pw->p, (uint32_t)off, (uint32_t)len, -1, 0, 0)) {
        return ZB_ENOMEM;
    }
    tok_pstr *spare = &pw->b;
    for (int k = 0; k < g->n_pre; k++) {
        if ((rc = tok_pretok_apply(&g->pre[k], pw, cur, spare)) < 0)
            return rc;
        if (rc == 1) {
            tok_pstr *old = cur;
            cur = spare;
            spare = old == &pw->in ? (cur == &pw->b ? &pw->c : &pw->b) : old;
        }
    }
    for (size_t i = 0; i < pw->p.n; i++) {
        const tok_piece *pc = &pw->p.p[i];
        if (pc->id >= 0)
            rc = token_out(t, pc, seq, ws);
        else if (ws)
            rc = push_word(ws, cur->b + pc->off, pc->len,
                           (tok_span){cur->o[pc->off], cur->o[pc->off + pc->len - 1] + 1}, -1);
        else
            rc = tok_model_word(t, w, cur->b + pc->off, cur->o + pc->off, pc->len, seq);
        if (rc)
            return rc;
    }
    return 0;
}

static int run(const tok_tokenizer *t, const struct tok_gen *g, tok_work *w, const char *s, size_t len,
               int lossy, tok_seq *seq, tok_words *ws, zb_err *err)
{
    tok_pwork *pw = tok_pwork_get(w);
    if (!pw)
        return zb_fail(err, ZB_ENOMEM, "cannot allocate tokenizer work space");
    int rc = load_input(w, &pw->in, s, len, lossy, err);
    if (rc)
        return rc;
    if (pw->in.n > UINT32_MAX / 4)
        return zb_fail(err, ZB_ETOOLONG, "text of %zu bytes is too long", pw->in.n);
    pw->r.n = 0;
    if (g->raw.n_nodes)
        rc = split_added(t, &g->raw, &pw->in, 0, pw->in.n, &pw->r);
    else if (pw->in.n)
        rc = tok_pieces_push(&pw->r, 0, (uint32_t)pw->in.n, -1, 0, 0);
    for (size_t i = 0; !rc && i < pw->r.n; i++) {
        const tok_piece pc = pw->r.p[i];
        rc = pc.id >= 0 ? token_out(t, &pc, seq, ws) : encode_piece(t, g, w, pw, pc.off, pc.len, seq, ws);
    }
    return rc ? model_error(t, rc, err) : 0;
}

int tok_pipe_encode(const tok_tokenizer *t, tok_work *w, const char *s, size_t len, int lossy,
                    tok_seq *seq, zb_err *err)
{
    seq->n = 0;
    return run(t, t->gen, w, s, len, lossy, seq, NULL, err);
}

void tok_words_init(tok_words *ws) { memset(ws, 0, sizeof *ws); }

void tok_words_free(tok_words *ws)
{
    free(ws->buf);
    free(ws->words);
    if (ws->work) {
        tok_encoding e;
        tok_encoding_init(&e);
        e.work = ws->work;
        tok_encoding_free(&e);
    }
    memset(ws, 0, sizeof *ws);
}

int tok_pretokenize(const tok_tokenizer *t, const char *text, size_t len, int lossy, tok_words *out,
                    zb_err *err)
{
    out->n = 0;
    out->buf_len = 0;
    if (!out->work && !(out->work = calloc(1, sizeof(tok_work))))
        return zb_fail(err, ZB_ENOMEM, "cannot allocate tokenizer work space");
    return run(t, t->gen ? t->gen : t->words_gen, out->work, text, len, lossy, NULL, out, err);
}
