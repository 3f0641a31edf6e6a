/* tok_encode: one text or a pair -> ids, type ids, offsets, with HF tokenizers' order of work:
 *   1. added tokens written in the raw text (normalized: false) are split out first;
 *   2. every other piece is normalized, then searched for added tokens with normalized: true;
 *   3. the remaining pieces are pre-tokenized and WordPiece'd (tok_wordpiece.c);
 *   4. truncation (HF utils/truncation.rs, with max_length minus the template's special tokens);
 *   5. the post-processor template adds [CLS]/[SEP] and sets type ids.
 * Offsets are code point indices of the (UTF-8 decoded) input; specials from the template [0,0]. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok_comp.h"

void tok_options_default(const tok_tokenizer *t, tok_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->add_special_tokens = 1;
    opt->truncate = 1;
    opt->max_length = t->max_length;
    opt->strategy = t->strategy;
    opt->direction = t->direction;
}

void tok_encoding_init(tok_encoding *e) { memset(e, 0, sizeof *e); }

void tok_encoding_free(tok_encoding *e)
{
    free(e->ids);
    free(e->type_ids);
    free(e->attention_mask);
    free(e->special);
    free(e->offsets);
    tok_work *w = e->work;
    if (w) {
        free(w->cps);
        free(w->ncp);
        free(w->norig);
        free(w->nccc);
        free(w->wbytes);
        free(w->wboff);
        free(w->hs);
        tok_pwork_free(w->pipe);
        for (int i = 0; i < 2; i++) {
            free(w->seq[i].ids);
            free(w->seq[i].off);
            free(w->seq[i].flags);
        }
        free(w);
    }
    memset(e, 0, sizeof *e);
}

int tok_encoding_reserve(tok_encoding *e, int n)
{
    if (n <= e->cap)
        return 0;
    int nc = e->cap ? e->cap : 64;
    while (nc < n) {
        if (nc > (1 << 29))
            return ZB_ENOMEM;
        nc *= 2;
    }
    void *p;
    if (!(p = realloc(e->ids, (size_t)nc * sizeof *e->ids))) return ZB_ENOMEM;
    e->ids = p;
    if (!(p = realloc(e->type_ids, (size_t)nc * sizeof *e->type_ids))) return ZB_ENOMEM;
    e->type_ids = p;
    if (!(p = realloc(e->attention_mask, (size_t)nc))) return ZB_ENOMEM;
    e->attention_mask = p;
    if (!(p = realloc(e->special, (size_t)nc))) return ZB_ENOMEM;
    e->special = p;
    if (!(p = realloc(e->offsets, (size_t)nc * sizeof *e->offsets))) return ZB_ENOMEM;
    e->offsets = p;
    e->cap = nc;
    return 0;
}

/* ---- added tokens in the text (HF AddedVocabulary::find_matches) ----------------------------- */

/* Rust regex \w: Alphabetic, marks, decimal digits, connector punctuation, joiners. */
int tok_is_rust_word(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (c == 0x200C || c == 0x200D || (c >= 0x24B6 && c <= 0x24E9))
        return 1;
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_NL) || k == UTF8PROC_CATEGORY_PC;
}

#define TOK_NORM_CHUNK 65536

typedef int (*match_fn)(void *ctx, int32_t id, size_t start, size_t end);

/* Leftmost-longest, non-overlapping matches of the added tokens with .normalized == norm in
 * x[0..n); calls fn for every text gap (id -1) and every match, in order. A single_word match
 * that touches a word char is skipped but still consumes its span (as the HF automaton does). */
static int split_added(const tok_tokenizer *t, int norm, const uint32_t *x, size_t n, match_fn fn,
                       void *ctx)
{
    size_t start_off = 0, pos = 0;
    int rc;
    const uint8_t bit = norm ? 2 : 1;
    while (pos < n) {
        uint32_t c0 = x[pos];
        if (!((c0 < 128 ? t->added_first[c0] : t->added_first_high) & bit)) {
            pos++;
            continue;
        }
        const tok_added *best = NULL;
        for (int a = 0; a < t->n_added; a++) {
            const tok_added *ad = &t->added[a];
            if (ad->normalized != norm || !ad->n_cps || ad->cps[0] != x[pos] || (size_t)ad->n_cps > n - pos)
                continue;
            if ((!best || ad->n_cps > best->n_cps) &&
                !memcmp(ad->cps, x + pos, (size_t)ad->n_cps * sizeof *x))
                best = ad;
        }
        if (!best) { pos++; continue; }
        size_t start = pos, stop = pos + (size_t)best->n_cps;
        pos = stop;
        if (best->single_word &&
            ((start > 0 && tok_is_rust_word(x[start - 1])) || (stop < n && tok_is_rust_word(x[stop]))))
            continue;
        if (best->lstrip) {
            size_t ns = start;
            while (ns > 0 && tok_is_bert_whitespace(x[ns - 1]))
                ns--;
            start = ns > start_off ? ns : start_off;
        }
        if (best->rstrip)
            while (stop < n && tok_is_bert_whitespace(x[stop]))
                stop++;
        if (start_off < start && (rc = fn(ctx, -1, start_off, start)))
            return rc;
        if ((rc = fn(ctx, best->id, start, stop)))
            return rc;
        start_off = stop;
    }
    if (start_off < n)
        return fn(ctx, -1, start_off, n);
    return 0;
}

typedef struct {
    const tok_tokenizer *t;
    tok_work *w;
    tok_seq *seq;
} enc_ctx;

static int on_norm_piece(void *vc, int32_t id, size_t s, size_t e)
{
    enc_ctx *c = vc;
    if (id >= 0)
        return tok_seq_push(c->seq, id, c->w->norig[s], c->w->norig[e - 1] + 1, TOK_F_WORD | TOK_F_ADDED);
    return tok_words_to_ids(c->t, c->w, s, e, c->seq);
}

static int on_raw_piece(void *vc, int32_t id, size_t s, size_t e)
{
    enc_ctx *c = vc;
    if (id >= 0)
        return tok_seq_push(c->seq, id, (uint32_t)s, (uint32_t)e, TOK_F_WORD | TOK_F_ADDED);
    if (c->t->n_added_norm) {
        long nn = tok_normalize(c->t, c->w, c->w->cps + s, e - s, (uint32_t)s);
        return nn < 0 ? (int)nn : split_added(c->t, 1, c->w->ncp, (size_t)nn, on_norm_piece, c);
    }
    /* Normalize in chunks cut at a space or tab (a word boundary, a starter for NFD, never
     * removed), so the normalized buffers stay small on long texts. */
    const uint32_t *x = c->w->cps;
    while (s < e) {
        size_t end = e;
        if (e - s > TOK_NORM_CHUNK && c->t->has_pretok) {
            end = s + TOK_NORM_CHUNK;
            while (end < e && x[end] != ' ' && x[end] != '\t')
                end++;
        }
        long nn = tok_normalize(c->t, c->w, x + s, end - s, (uint32_t)s);
        int rc = nn < 0 ? (int)nn : tok_words_to_ids(c->t, c->w, 0, (size_t)nn, c->seq);
        if (rc)
            return rc;
        s = end;
    }
    return 0;
}

static int encode_one(const tok_tokenizer *t, tok_work *w, const char *s, size_t len, int lossy,
                      tok_seq *seq, zb_err *err)
{
    if (t->gen)
        return tok_pipe_encode(t, w, s, len, lossy, seq, err);
    seq->n = 0;
    size_t n;
    int rc = tok_utf8_decode(w, s, len, lossy, &n, err);
    if (rc)
        return rc;
    if (n > UINT32_MAX / 4)
        return zb_fail(err, ZB_ETOOLONG, "text of %zu code points is too long", n);
    enc_ctx c = {t, w, seq};
    rc = t->n_added_raw ? split_added(t, 0, w->cps, n, on_raw_piece, &c) : on_raw_piece(&c, -1, 0, n);
    if (rc == ZB_ENOMEM)
        return zb_fail(err, ZB_ENOMEM, "out of memory tokenizing a text of %zu bytes", len);
    return rc;
}

/* ---- truncation (HF utils/truncation.rs truncate_encodings) --------------------------------- */

static void cut(tok_seq *s, int keep, tok_direction dir)
{
    if (keep >= s->n)
        return;
    if (dir == TOK_LEFT) {                  /* keep the last `keep` tokens */
        memmove(s->ids, s->ids + (s->n - keep), (size_t)keep * sizeof *s->ids);
        memmove(s->off, s->off + (s->n - keep), (size_t)keep * sizeof *s->off);
    }
    s->n = keep;
}

/* HF tokenizers (0.23) stops tokenizing a sequence, pre-token by pre-token from the kept side,
 * once it holds at least max_length tokens (the full max_length, special tokens included), and
 * the pair rule below then compares those partial lengths. Added tokens count but never stop
 * it by themselves (pre_tokenizer.rs tokenize_with_limit). For one text, and for only_first /
 * only_second, the outcome is the same as with full lengths; for longest_first pairs it is not. */
static int early_exit_len(const tok_seq *s, int full_max, tok_direction dir)
{
    int total = 0;
    if (dir == TOK_RIGHT) {
        for (int i = 0; i < s->n;) {
            int j = i + 1;
            while (j < s->n && !(s->flags[j] & TOK_F_WORD))
                j++;
            total += j - i;
            if (!(s->flags[i] & TOK_F_ADDED) && total >= full_max)
                return total;
            i = j;
        }
        return s->n;
    }
    for (int j = s->n; j > 0;) {
        int i = j - 1;
        while (i > 0 && !(s->flags[i] & TOK_F_WORD))
            i--;
        total += j - i;
        if (!(s->flags[i] & TOK_F_ADDED) && total >= full_max)
            return total;
        j = i;
    }
    return s->n;
}

static int truncate_seqs(tok_seq *a, tok_seq *b, int max_len, int full_max, const tok_options *opt,
                         zb_err *err)
{
    int total = a->n + (b ? b->n : 0);
    if (total <= max_len)
        return 0;
    int to_remove = total - max_len;
    if (opt->strategy == TOK_LONGEST_FIRST) {
        if (!b) {
            cut(a, max_len, opt->direction);
            return 0;
        }
        int n1 = early_exit_len(a, full_max, opt->direction), n2 = early_exit_len(b, full_max, opt->direction);
        int swap = 0;
        if (n1 > n2) { int x = n1; n1 = n2; n2 = x; swap = 1; }
        if (n1 > max_len)
            n2 = n1;
        else
            n2 = n1 > max_len - n1 ? n1 : max_len - n1;
        if (n1 + n2 > max_len) {
            n1 = max_len / 2;
            n2 = n1 + max_len % 2;
        }
        if (swap) { int x = n1; n1 = n2; n2 = x; }
        cut(a, n1, opt->direction);
        cut(b, n2, opt->direction);
        return 0;
    }
    tok_seq *target = opt->strategy == TOK_ONLY_FIRST ? a : b;
    const char *which = opt->strategy == TOK_ONLY_FIRST ? "first" : "second";
    if (!target)
        return zb_fail(err, ZB_EINVAL, "truncation only_second needs a pair of texts");
    if (target->n <= to_remove)
        return zb_fail(err, ZB_ETOOLONG,
                       "%d tokens, more than max_length %d, and the %s text (%d tokens) is too short "
                       "to remove %d with truncation only_%s",
                       total, max_len, which, target->n, to_remove, which);
    cut(target, target->n - to_remove, opt->direction);
    return 0;
}

/* ---- assembly -------------------------------------------------------------------------------- */

static void put(tok_encoding *out, int32_t id, int32_t type, tok_span off, int special)
{
    int i = out->n++;
    out->ids[i] = id;
    out->type_ids[i] = type;
    out->attention_mask[i] = 1;
    out->special[i] = (uint8_t)special;
    out->offsets[i] = off;
}

int tok_encode(const tok_tokenizer *t, const char *a, size_t a_len, const char *b, size_t b_len,
               const tok_options *opt, tok_encoding *out, zb_err *err)
{
    if (!out->work && !(out->work = calloc(1, sizeof(tok_work))))
        return zb_fail(err, ZB_ENOMEM, "cannot allocate tokenizer work space");
    tok_work *w = out->work;
    out->n = 0;
    out->n_before_truncation = 0;
    tok_seq *sa = &w->seq[0], *sb = b ? &w->seq[1] : NULL;
    int rc = encode_one(t, w, a, a_len, opt->lossy_utf8, sa, err);
    if (rc)
        return rc;
    if (sb && (rc = encode_one(t, w, b, b_len, opt->lossy_utf8, sb, err))) {
        if (rc == ZB_EUTF8)
            zb_wrap(err, "second text: ");
        return rc;
    }
    const tok_template *tpl = !t->has_post ? NULL : sb ? &t->pair : &t->single;
    int n_special = opt->add_special_tokens && tpl ? tpl->n_special : 0;
    long total = (long)sa->n + (sb ? sb->n : 0) + n_special;
    out->n_before_truncation = total > INT32_MAX ? INT32_MAX : (int)total;
    if (total > opt->max_length) {
        if (!opt->truncate)
            return zb_fail(err, ZB_ETOOLONG, "%ld tokens, more than max_length %d (truncation is off)",
                           total, opt->max_length);
        if (opt->max_length < n_special)
            return zb_fail(err, ZB_EINVAL, "max_length %d leaves no room for the %d special tokens",
                           opt->max_length, n_special);
        if ((rc = truncate_seqs(sa, sb, opt->max_length - n_special, opt->max_length, opt, err)))
            return rc;
    }
    if (t->gen && t->gen->trim) {                /* ByteLevel / RobertaProcessing, after truncation */
        tok_trim_offsets(t, sa);
        if (sb)
            tok_trim_offsets(t, sb);
    }
    if (tok_encoding_reserve(out, sa->n + (sb ? sb->n : 0) + n_special))
        return zb_fail(err, ZB_ENOMEM, "cannot allocate %d tokens", sa->n + (sb ? sb->n : 0) + n_special);

    const tok_span none = {0, 0};
    if (!tpl) {
        for (int i = 0; i < sa->n; i++)
            put(out, sa->ids[i], 0, sa->off[i], 0);
        for (int i = 0; sb && i < sb->n; i++)
            put(out, sb->ids[i], 1, sb->off[i], 0);
        return 0;
    }
    for (int k = 0; k < tpl->n_items; k++) {
        const tok_tpl_item *it = &tpl->items[k];
        if (it->kind == TOK_TPL_SPECIAL) {
            for (int j = 0; opt->add_special_tokens && j < it->n_ids; j++)
                put(out, it->ids[j], it->type_id, none, 1);
            continue;
        }
        const tok_seq *s = it->kind == TOK_TPL_SEQ_A ? sa : sb;
        for (int i = 0; s && i < s->n; i++)
            put(out, s->ids[i], it->type_id, s->off[i], 0);
    }
    return 0;
}
