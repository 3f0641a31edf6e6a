/* tok_load: a model folder -> an immutable tok_tokenizer.
 *
 *   tokenizer.json present      everything comes from it (tok_json.c)
 *   else vocab.txt              + tokenizer_config.json (optional): do_lower_case (default true),
 *                               strip_accents (null: follow do_lower_case), tokenize_chinese_chars
 *                               (default true), special tokens, added_tokens_decoder; i.e. what
 *                               transformers' BertTokenizerFast builds from the same files.
 *
 * Default max_length, first that applies:
 *   1. sentence_bert_config.json  max_seq_length        (what sentence-transformers truncates to)
 *   2. tokenizer.json             truncation.max_length
 *   3. tokenizer_config.json      model_max_length, if in [1, 1000000] (transformers writes 1e30
 *                                 for "no limit")
 *   4. 512                        (BERT's position table)
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tok_comp.h"
#include "tok_load.h"
#include "zb_json.h"

#define FAIL(code, ...) zb_fail(err, code, __VA_ARGS__)

int tok_tpl_add(tok_template *tpl, int kind, int type_id, const int32_t *ids, int n_ids)
{
    tok_tpl_item *items = realloc(tpl->items, (size_t)(tpl->n_items + 1) * sizeof *items);
    if (!items)
        return ZB_ENOMEM;
    tpl->items = items;
    tok_tpl_item *it = &items[tpl->n_items];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->type_id = type_id;
    if (n_ids) {
        if (!(it->ids = malloc((size_t)n_ids * sizeof *ids)))
            return ZB_ENOMEM;
        memcpy(it->ids, ids, (size_t)n_ids * sizeof *ids);
        it->n_ids = n_ids;
        tpl->n_special += n_ids;
    }
    tpl->n_items++;
    return 0;
}

int tok_bert_template(tok_tokenizer *t, int32_t cls, int32_t sep)
{
    t->has_post = 1;
    return tok_tpl_add(&t->single, TOK_TPL_SPECIAL, 0, &cls, 1) ||
           tok_tpl_add(&t->single, TOK_TPL_SEQ_A, 0, NULL, 0) ||
           tok_tpl_add(&t->single, TOK_TPL_SPECIAL, 0, &sep, 1) ||
           tok_tpl_add(&t->pair, TOK_TPL_SPECIAL, 0, &cls, 1) ||
           tok_tpl_add(&t->pair, TOK_TPL_SEQ_A, 0, NULL, 0) ||
           tok_tpl_add(&t->pair, TOK_TPL_SPECIAL, 0, &sep, 1) ||
           tok_tpl_add(&t->pair, TOK_TPL_SEQ_B, 1, NULL, 0) ||
           tok_tpl_add(&t->pair, TOK_TPL_SPECIAL, 1, &sep, 1) ? ZB_ENOMEM : 0;
}

int tok_set_wordpiece(tok_tokenizer *t, const char *unk, const char *prefix, const char *file, zb_err *err)
{
    char *u = strdup(unk), *p = strdup(prefix);     /* unk may be t->unk_name itself */
    free(t->unk_name);
    free(t->prefix);
    t->unk_name = u;
    t->prefix = p;
    if (!t->unk_name || !t->prefix)
        return FAIL(ZB_ENOMEM, "%s: out of memory", file);
    t->prefix_len = strlen(prefix);
    return 0;
}

static int32_t max_vocab_id(const tok_tokenizer *t)
{
    int32_t m = -1;
    for (uint32_t e = 0; e < t->vocab.n; e++)
        if (t->vocab.val[e] > m) m = t->vocab.val[e];
    for (int a = 0; a < t->n_added; a++)
        if (t->added[a].id > m) m = t->added[a].id;
    return m;
}

int tok_add_token(tok_tokenizer *t, const tok_added_spec *s, const char *file, zb_err *err)
{
    size_t len = strlen(s->content), bad;
    if (!len)
        return 0;                                     /* HF ignores empty added tokens */
    if (tok_utf8_check(s->content, len, &bad))
        return FAIL(ZB_EFORMAT, "%s: added token '%.40s': invalid UTF-8 at byte %zu", file, s->content, bad);
    if (tok_strmap_get(&t->names, s->content, len) >= 0)
        return 0;                                     /* first definition wins */
    int32_t id = s->id;
    if (id < 0) {
        id = tok_strmap_get(&t->vocab, s->content, len);
        if (id < 0)
            id = max_vocab_id(t) + 1;
    }
    tok_added *na = realloc(t->added, (size_t)(t->n_added + 1) * sizeof *na);
    if (!na)
        return FAIL(ZB_ENOMEM, "%s: out of memory", file);
    t->added = na;
    tok_added *a = &na[t->n_added];
    memset(a, 0, sizeof *a);
    a->id = id;
    a->special = (uint8_t)s->special;
    a->normalized = (uint8_t)s->normalized;
    a->lstrip = (uint8_t)s->lstrip;
    a->rstrip = (uint8_t)s->rstrip;
    a->single_word = (uint8_t)s->single_word;

    /* The pattern: the content's code points, normalized when the token says so (HF matches
     * those against the normalized text). */
    tok_encoding tmp;
    tok_encoding_init(&tmp);
    tok_work *w = tmp.work = calloc(1, sizeof(tok_work));
    size_t n;
    long nn = 0;
    int rc = w ? tok_utf8_decode(w, s->content, len, 0, &n, err) : ZB_ENOMEM;
    if (!rc && a->normalized && t->has_normalizer) {
        nn = tok_normalize(t, w, w->cps, n, 0);
        rc = nn < 0 ? (int)nn : 0;
    }
    const uint32_t *src = a->normalized && t->has_normalizer ? w->ncp : w ? w->cps : NULL;
    size_t cnt = a->normalized && t->has_normalizer ? (size_t)nn : n;
    if (!rc && cnt && !(a->cps = malloc(cnt * sizeof *a->cps)))
        rc = ZB_ENOMEM;
    if (!rc && cnt) {
        memcpy(a->cps, src, cnt * sizeof *a->cps);
        a->n_cps = (int)cnt;
    }
    tok_encoding_free(&tmp);
    if (!rc && tok_strmap_put(&t->names, s->content, len, id))
        rc = ZB_ENOMEM;
    if (rc)
        return FAIL(rc, "%s: out of memory adding token '%.40s'", file, s->content);
    if (a->n_cps) {                                   /* a token that normalizes to "" never matches */
        if (a->normalized) t->n_added_norm++;
        else t->n_added_raw++;
        uint8_t bit = a->normalized ? 2 : 1;
        if (a->cps[0] < 128) t->added_first[a->cps[0]] |= bit;
        else t->added_first_high |= bit;
    }
    t->n_added++;
    return 0;
}

/* ---- vocab.txt + tokenizer_config.json --------------------------------------------------------- */

static const char *special_name(json_t *cfg, const char *key, const char *dflt)
{
    json_t *v = json_object_get(cfg, key);
    if (json_is_object(v))
        v = json_object_get(v, "content");
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static int load_vocab_txt(tok_tokenizer *t, const char *dir, json_t *cfg, const char *cfg_path, zb_err *err)
{
    char path[4096];
    int rc = zb_path_join(path, sizeof path, dir, "vocab.txt", err);
    if (rc)
        return rc;
    char *buf;
    size_t len;
    if ((rc = zb_read_file(path, TOK_MAX_FILE, &buf, &len, err)))
        return rc;
    /* One token per line, id = line number; only "\n" ends a line (transformers' load_vocab
     * strips just that). */
    int32_t id = 0;
    for (size_t i = 0; i < len && !rc; id++) {
        char *nl = memchr(buf + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - buf) : len;
        if (id >= TOK_MAX_IDS)
            rc = FAIL(ZB_EFORMAT, "%s: more than %d lines", path, TOK_MAX_IDS);
        else if (tok_utf8_check(buf + i, e - i, NULL))
            rc = FAIL(ZB_EFORMAT, "%s: line %d is not valid UTF-8", path, id + 1);
        else if (tok_strmap_put(&t->vocab, buf + i, e - i, id))
            rc = FAIL(ZB_ENOMEM, "%s: out of memory", path);
        i = e + 1;
    }
    free(buf);
    if (rc)
        return rc;

    int lower = 1, chinese = 1, strip = -1;
    json_t *v;
    if ((v = json_object_get(cfg, "do_lower_case")) && json_is_boolean(v)) lower = json_is_true(v);
    if ((v = json_object_get(cfg, "tokenize_chinese_chars")) && json_is_boolean(v)) chinese = json_is_true(v);
    if ((v = json_object_get(cfg, "strip_accents")) && json_is_boolean(v)) strip = json_is_true(v);
    t->has_normalizer = 1;
    t->clean_text = 1;
    t->handle_chinese = chinese;
    t->lowercase = lower;
    t->strip_accents = strip < 0 ? lower : strip;
    t->has_pretok = 1;
    t->max_chars_per_word = 100;
    const char *unk = special_name(cfg, "unk_token", "[UNK]");
    if ((rc = tok_set_wordpiece(t, unk, "##", path, err)))
        return rc;
    if (!(t->dec_prefix = strdup("##")))
        return FAIL(ZB_ENOMEM, "out of memory");
    t->dec_cleanup = 1;

    /* added_tokens_decoder first (explicit ids and flags), then the named special tokens. */
    json_t *atd = json_object_get(cfg, "added_tokens_decoder");
    const char *key;
    json_object_foreach(atd, key, v) {
        char *end;
        long idv = strtol(key, &end, 10);
        const char *content = json_string_value(json_object_get(v, "content"));
        if (*end || idv < 0 || idv >= TOK_MAX_IDS || !content)
            return FAIL(ZB_EFORMAT, "%s: added_tokens_decoder[\"%.20s\"]: expected an id and a content",
                        cfg_path, key);
        int special = json_is_true(json_object_get(v, "special"));
        json_t *nz = json_object_get(v, "normalized");
        tok_added_spec s = {content, (int32_t)idv, special, json_is_boolean(nz) ? json_is_true(nz) : !special,
                            json_is_true(json_object_get(v, "lstrip")),
                            json_is_true(json_object_get(v, "rstrip")),
                            json_is_true(json_object_get(v, "single_word"))};
        if ((rc = tok_add_token(t, &s, cfg_path, err)))
            return rc;
    }
    static const char *const keys[] = {"unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};
    static const char *const dflt[] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};
    for (int k = 0; k < 5; k++) {
        tok_added_spec s = {special_name(cfg, keys[k], dflt[k]), -1, 1, 0, 0, 0, 0};
        if ((rc = tok_add_token(t, &s, cfg_path, err)))
            return rc;
    }
    const char *cls = special_name(cfg, "cls_token", "[CLS]"), *sep = special_name(cfg, "sep_token", "[SEP]");
    int32_t cls_id = tok_token_to_id(t, cls, strlen(cls)), sep_id = tok_token_to_id(t, sep, strlen(sep));
    return tok_bert_template(t, cls_id, sep_id) ? FAIL(ZB_ENOMEM, "out of memory") : 0;
}

/* ---- common ------------------------------------------------------------------------------------- */

static json_t *load_json_opt(const char *dir, const char *name, size_t flags, char *path, size_t cap,
                             zb_err *err, int *rc)
{
    *rc = zb_path_join(path, cap, dir, name, err);
    if (*rc || !zb_is_file(path))
        return NULL;
    json_t *j;
    if ((*rc = zb_json_load_file(path, 16 << 20, flags, &j, err)))
        return NULL;
    if (!json_is_object(j)) {
        *rc = FAIL(ZB_EFORMAT, "%s: expected a JSON object", path);
        json_decref(j);
        return NULL;
    }
    return j;
}

static int finalize(tok_tokenizer *t, const char *where, json_t *cfg, zb_err *err)
{
    int rc;
    t->unk_id = t->unk_name ? tok_strmap_get(&t->vocab, t->unk_name, strlen(t->unk_name)) : -1;
    /* BPE / WordLevel: HF loads a file whose unk token is missing and fails only when a text needs
     * it; WordPiece's fast path needs it up front. */
    if (t->unk_id < 0 && !t->gen)
        return FAIL(ZB_EFORMAT, "%s: the unknown token '%.40s' is not in the vocabulary", where, t->unk_name);
    t->n_ids = max_vocab_id(t) + 1;
    t->id_tok = calloc((size_t)t->n_ids + 1, sizeof *t->id_tok);
    t->id_special = calloc((size_t)t->n_ids + 1, 1);
    if (!t->id_tok || !t->id_special)
        return FAIL(ZB_ENOMEM, "%s: out of memory", where);
    for (uint32_t e = 0; e < t->vocab.n; e++) {
        const char *key = t->vocab.pool + t->vocab.key_off[e];
        int32_t id = t->vocab.val[e];
        if (!t->id_tok[id] && tok_strmap_get(&t->vocab, key, t->vocab.key_len[e]) == id)
            t->id_tok[id] = key;
        if ((int)t->vocab.key_len[e] > t->max_piece_bytes)
            t->max_piece_bytes = (int)t->vocab.key_len[e];
        if (t->prefix_len && t->vocab.key_len[e] >= t->prefix_len &&
            !memcmp(key, t->prefix, t->prefix_len)) {
            uint32_t kl = t->vocab.key_len[e] - (uint32_t)t->prefix_len;
            if (tok_strmap_put(&t->cont, key + t->prefix_len, kl, id))
                return FAIL(ZB_ENOMEM, "%s: out of memory", where);
            if ((int)kl > t->max_cont_bytes)
                t->max_cont_bytes = (int)kl;
        }
    }
    for (uint32_t e = 0; e < t->names.n; e++) {
        int32_t id = t->names.val[e];
        t->id_tok[id] = t->names.pool + t->names.key_off[e];
    }
    for (int a = 0; a < t->n_added; a++)
        t->id_special[t->added[a].id] |= t->added[a].special;
    /* Ids the encoder will see must name tokens: a template or padding id outside the vocabulary
     * would index past the embedding table downstream. */
    const tok_template *tpls[2] = {&t->single, &t->pair};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < tpls[k]->n_items; i++)
            for (int j = 0; j < tpls[k]->items[i].n_ids; j++) {
                int32_t id = tpls[k]->items[i].ids[j];
                if (id < 0 || id >= t->n_ids || !t->id_tok[id])
                    return FAIL(ZB_EFORMAT, "%s: post_processor: special token id %d is not in the vocabulary "
                                "(%d ids)", where, id, t->n_ids);
            }
    if ((rc = t->gen ? tok_gen_finalize(t, t->gen, 0, where, err) : tok_gen_for_bert(t, where, err)))
        return rc;
    if (t->pad_id >= t->n_ids || (t->pad_id >= 0 && !t->id_tok[t->pad_id]))
        return FAIL(ZB_EFORMAT, "%s: padding.pad_id %d is not in the vocabulary (%d ids)", where, t->pad_id,
                    t->n_ids);

    const char *n;
    n = special_name(cfg, "cls_token", "[CLS]");  t->cls_id = tok_token_to_id(t, n, strlen(n));
    n = special_name(cfg, "sep_token", "[SEP]");  t->sep_id = tok_token_to_id(t, n, strlen(n));
    n = special_name(cfg, "mask_token", "[MASK]"); t->mask_id = tok_token_to_id(t, n, strlen(n));
    if (t->pad_id < 0) {
        n = special_name(cfg, "pad_token", "[PAD]");
        t->pad_id = tok_token_to_id(t, n, strlen(n));
    }
    return 0;
}

static tok_tokenizer *new_tokenizer(zb_err *err)
{
    tok_tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        FAIL(ZB_ENOMEM, "out of memory");
        return NULL;
    }
    t->max_chars_per_word = 100;
    t->pad_id = -1;
    t->dec_cleanup = 1;
    t->strategy = TOK_LONGEST_FIRST;
    t->direction = TOK_RIGHT;
    return t;
}

static tok_tokenizer *load_json(const char *json, size_t len, const char *name, int no_model_ok, zb_err *err)
{
    tok_tokenizer *t = new_tokenizer(err);
    if (!t)
        return NULL;
    t->no_model_ok = no_model_ok;
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    int rc, json_max = 0;
    if (!root)
        rc = FAIL(ZB_EFORMAT, "%s: invalid JSON at line %d column %d: %s", name, je.line, je.column, je.text);
    else
        rc = tok_json_root(t, root, name, &json_max, err);
    if (rc || (rc = finalize(t, name, NULL, err))) {
        tok_free(t);
        return NULL;
    }
    t->max_length = json_max > 0 ? json_max : 512;
    return t;
}

tok_tokenizer *tok_load_json(const char *json, size_t len, const char *name, zb_err *err)
{
    return load_json(json, len, name, 0, err);
}

tok_tokenizer *tok_load_pipeline_json(const char *json, size_t len, const char *name, zb_err *err)
{
    return load_json(json, len, name, 1, err);
}

tok_tokenizer *tok_load(const char *dir, zb_err *err)
{
    tok_tokenizer *t = new_tokenizer(err);
    if (!t)
        return NULL;
    char path[4096], cfg_path[4096], sb_path[4096];
    int rc, json_max = 0;
    json_t *cfg = NULL, *sb = NULL;
    if ((rc = zb_path_join(path, sizeof path, dir, "tokenizer.json", err)))
        goto fail;
    /* transformers writes model_max_length 1e30 as an integer literal, beyond 64 bits: read
     * numbers as reals here (nothing in this file needs an exact integer). */
    cfg = load_json_opt(dir, "tokenizer_config.json", JSON_DECODE_INT_AS_REAL, cfg_path, sizeof cfg_path, err, &rc);
    if (rc)
        goto fail;
    if (zb_is_file(path)) {
        rc = tok_load_tokenizer_json(t, path, &json_max, err);
    } else {
        char vp[4096];
        if (!(rc = zb_path_join(vp, sizeof vp, dir, "vocab.txt", err)) && !zb_is_file(vp))
            rc = FAIL(ZB_ENOTFOUND, "%s: no tokenizer.json and no vocab.txt in this folder", dir);
        if (!rc)
            rc = load_vocab_txt(t, dir, cfg, cfg ? cfg_path : "tokenizer_config.json", err);
    }
    if (rc || (rc = finalize(t, dir, cfg, err)))
        goto fail;

    sb = load_json_opt(dir, "sentence_bert_config.json", 0, sb_path, sizeof sb_path, err, &rc);
    if (rc)
        goto fail;
    json_t *v = json_object_get(sb, "max_seq_length");
    json_t *mm = json_object_get(cfg, "model_max_length");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > (1 << 20)) {
            rc = FAIL(ZB_EFORMAT, "%s: max_seq_length: expected an integer in [1, %d]", sb_path, 1 << 20);
            goto fail;
        }
        t->max_length = (int)json_integer_value(v);
    } else if (json_max > 0) {
        t->max_length = json_max;
    } else if (json_is_number(mm) && json_number_value(mm) >= 1 && json_number_value(mm) <= 1e6) {
        t->max_length = (int)json_number_value(mm);
    } else {
        t->max_length = 512;
    }
    json_decref(cfg);
    json_decref(sb);
    return t;
fail:
    json_decref(cfg);
    json_decref(sb);
    tok_free(t);
    return NULL;
}

static void free_tpl(tok_template *tpl)
{
    for (int i = 0; i < tpl->n_items; i++)
        free(tpl->items[i].ids);
    free(tpl->items);
}

void tok_free(tok_tokenizer *t)
{
    if (!t)
        return;
    tok_gen_free(t->gen);
    tok_gen_free(t->words_gen);
    tok_strmap_free(&t->vocab);
    tok_strmap_free(&t->cont);
    tok_strmap_free(&t->names);
    free(t->prefix);
    free(t->unk_name);
    free(t->id_tok);
    free(t->id_special);
    for (int a = 0; a < t->n_added; a++)
        free(t->added[a].cps);
    free(t->added);
    free_tpl(&t->single);
    free_tpl(&t->pair);
    free(t->dec_prefix);
    free(t);
}
