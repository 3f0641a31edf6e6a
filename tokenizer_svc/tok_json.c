/* tok_json: reading HF's tokenizer.json (tokenizers' serialization, version 1.0) with jansson.
 * Supported: normalizer BertNormalizer (or a Sequence holding one, or null), pre_tokenizer
 * BertPreTokenizer (or a Sequence holding one, or null), model WordPiece, post_processor
 * BertProcessing / TemplateProcessing (or null), decoder WordPiece (or null), added_tokens,
 * truncation and padding. Anything else is ZB_EUNSUPPORTED naming the component. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tok_comp.h"
#include "tok_load.h"
#include "zb_json.h"

#define FAIL(code, ...) zb_fail(err, code, __VA_ARGS__)

int tok_json_bool(json_t *o, const char *key, int dflt, int *out, const char *file, const char *ctx,
                    zb_err *err)
{
    json_t *v = json_object_get(o, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return FAIL(ZB_EFORMAT, "%s: %s.%s: expected true or false", file, ctx, key);
    *out = json_is_true(v);
    return 0;
}

int tok_json_int(json_t *o, const char *key, long long lo, long long hi, long long dflt, long long *out,
                   const char *file, const char *ctx, zb_err *err)
{
    json_t *v = json_object_get(o, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return FAIL(ZB_EFORMAT, "%s: %s.%s: expected an integer in [%lld, %lld]", file, ctx, key, lo, hi);
    *out = json_integer_value(v);
    return 0;
}

const char *tok_json_type(json_t *o) { return json_string_value(json_object_get(o, "type")); }

int tok_json_is(json_t *o, const char *type)
{
    const char *t = tok_json_type(o);
    return t && !strcmp(t, type);
}

static const char *const SEQ_KEY[] = {
    [TOK_SEQ_NORMALIZERS] = "normalizers",
    [TOK_SEQ_PRETOKENIZERS] = "pretokenizers",
    [TOK_SEQ_PROCESSORS] = "processors",
    [TOK_SEQ_DECODERS] = "decoders",
};

json_t *tok_json_seq_items(json_t *o, tok_seq_kind kind)
{
    json_t *l = tok_json_is(o, "Sequence") ? json_object_get(o, SEQ_KEY[kind]) : NULL;
    return json_is_array(l) ? l : NULL;
}

int tok_json_each(json_t *seq, tok_seq_kind kind, tok_json_item_fn fn, void *ud, const char *file,
                  const char *ctx, zb_err *err)
{
    json_t *list = tok_json_seq_items(seq, kind), *it;
    if (!list)
        return FAIL(ZB_EFORMAT, "%s: %s.%s: expected an array", file, ctx, SEQ_KEY[kind]);
    size_t i;
    json_array_foreach(list, i, it) {
        char c[256];
        snprintf(c, sizeof c, "%s.%s[%zu]", ctx, SEQ_KEY[kind], i);
        int rc = fn(ud, it, file, c, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_bert_normalizer(tok_tokenizer *t, json_t *n, const char *file, const char *ctx, zb_err *err)
{
    int rc, strip = -1;
    t->has_normalizer = 1;
    if ((rc = tok_json_bool(n, "clean_text", 1, &t->clean_text, file, ctx, err)) ||
        (rc = tok_json_bool(n, "handle_chinese_chars", 1, &t->handle_chinese, file, ctx, err)) ||
        (rc = tok_json_bool(n, "lowercase", 1, &t->lowercase, file, ctx, err)) ||
        (rc = tok_json_bool(n, "strip_accents", -1, &strip, file, ctx, err)))
        return rc;
    t->strip_accents = strip < 0 ? t->lowercase : strip;   /* null follows lowercase */
    return 0;
}

/* The BERT path takes a Sequence of exactly one BertNormalizer. */
static int bert_normalizer_item(void *ud, json_t *it, const char *file, const char *ctx, zb_err *err)
{
    tok_tokenizer *t = ud;
    if (!tok_json_is(it, "BertNormalizer") || t->has_normalizer)
        return FAIL(ZB_EUNSUPPORTED, "%s: %s: type '%s' is not supported (only one BertNormalizer)", file, ctx,
                    tok_json_type(it) ? tok_json_type(it) : "?");
    return parse_bert_normalizer(t, it, file, ctx, err);
}

static int parse_normalizer(tok_tokenizer *t, json_t *n, const char *file, zb_err *err)
{
    if (!n || json_is_null(n))
        return 0;
    if (!json_is_object(n))
        return FAIL(ZB_EFORMAT, "%s: normalizer: expected an object or null", file);
    const char *ty = tok_json_type(n);
    if (ty && !strcmp(ty, "BertNormalizer"))
        return parse_bert_normalizer(t, n, file, "normalizer", err);
    if (ty && !strcmp(ty, "Sequence"))
        return tok_json_each(n, TOK_SEQ_NORMALIZERS, bert_normalizer_item, t, file, "normalizer", err);
    return FAIL(ZB_EUNSUPPORTED, "%s: normalizer type '%s' is not supported (BertNormalizer only)",
                file, ty ? ty : "?");
}

static int parse_pretok(tok_tokenizer *t, json_t *p, const char *file, zb_err *err)
{
    if (!p || json_is_null(p))
        return 0;
    const char *ty = json_is_object(p) ? tok_json_type(p) : NULL;
    if (ty && !strcmp(ty, "BertPreTokenizer")) {
        t->has_pretok = 1;
        return 0;
    }
    if (ty && !strcmp(ty, "Sequence")) {
        json_t *list = tok_json_seq_items(p, TOK_SEQ_PRETOKENIZERS);
        const char *ity = json_array_size(list) == 1 ? tok_json_type(json_array_get(list, 0)) : NULL;
        if (ity && !strcmp(ity, "BertPreTokenizer")) {
            t->has_pretok = 1;
            return 0;
        }
        if (!json_array_size(list))
            return 0;
        return FAIL(ZB_EUNSUPPORTED, "%s: pre_tokenizer Sequence of '%s' is not supported "
                    "(BertPreTokenizer only)", file, ity ? ity : tok_json_type(json_array_get(list, 0)));
    }
    return FAIL(ZB_EUNSUPPORTED, "%s: pre_tokenizer type '%s' is not supported (BertPreTokenizer only)",
                file, ty ? ty : "?");
}

static int parse_model(tok_tokenizer *t, json_t *m, const char *file, zb_err *err)
{
    if (!json_is_object(m))
        return FAIL(ZB_EFORMAT, "%s: model: expected an object", file);
    const char *ty = tok_json_type(m);
    if (!ty || strcmp(ty, "WordPiece"))
        return FAIL(ZB_EUNSUPPORTED, "%s: model type '%s' is not supported (WordPiece only)", file,
                    ty ? ty : "?");
    json_t *vocab = json_object_get(m, "vocab");
    if (!json_is_object(vocab))
        return FAIL(ZB_EFORMAT, "%s: model.vocab: expected an object of token: id", file);
    const char *key;
    json_t *v;
    json_object_foreach(vocab, key, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= TOK_MAX_IDS)
            return FAIL(ZB_EFORMAT, "%s: model.vocab[\"%.40s\"]: id must be an integer in [0, %d)",
                        file, key, TOK_MAX_IDS);
        if (tok_strmap_put(&t->vocab, key, strlen(key), (int32_t)json_integer_value(v)))
            return FAIL(ZB_ENOMEM, "%s: out of memory reading model.vocab", file);
    }
    json_t *unk = json_object_get(m, "unk_token"), *pre = json_object_get(m, "continuing_subword_prefix");
    if (unk && !json_is_string(unk))
        return FAIL(ZB_EFORMAT, "%s: model.unk_token: expected a string", file);
    if (pre && !json_is_null(pre) && !json_is_string(pre))
        return FAIL(ZB_EFORMAT, "%s: model.continuing_subword_prefix: expected a string", file);
    long long maxc;
    int rc = tok_json_int(m, "max_input_chars_per_word", 0, 1 << 30, 100, &maxc, file, "model", err);
    if (rc)
        return rc;
    t->max_chars_per_word = (int)maxc;
    return tok_set_wordpiece(t, unk ? json_string_value(unk) : "[UNK]",
                             json_is_string(pre) ? json_string_value(pre) : "##", file, err);
}

static int parse_added(tok_tokenizer *t, json_t *list, const char *file, zb_err *err)
{
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return FAIL(ZB_EFORMAT, "%s: added_tokens: expected an array", file);
    size_t i;
    json_t *a;
    /* HF (AddedVocabulary::add_tokens) ignores the file's ids: a token the model's vocabulary
     * has keeps that id; the others are numbered after the model's vocabulary size (its number
     * of entries), or after the largest added id when that is already past it. */
    const int32_t model_size = (int32_t)t->vocab.n;
    int32_t max_added = -1;
    json_array_foreach(list, i, a) {
        char ctx[48];
        snprintf(ctx, sizeof ctx, "added_tokens[%zu]", i);
        json_t *content = json_object_get(a, "content");
        long long id = -1;
        int rc, sw = 0, ls = 0, rs = 0, norm = 0, special = 0;
        if (!json_is_object(a) || !json_is_string(content))
            return FAIL(ZB_EFORMAT, "%s: %s.content: expected a string", file, ctx);
        if ((rc = tok_json_int(a, "id", 0, TOK_MAX_IDS - 1, -1, &id, file, ctx, err)))
            return rc;
        if (id < 0)
            return FAIL(ZB_EFORMAT, "%s: %s.id: missing", file, ctx);
        if ((rc = tok_json_bool(a, "special", 0, &special, file, ctx, err)) ||
            (rc = tok_json_bool(a, "single_word", 0, &sw, file, ctx, err)) ||
            (rc = tok_json_bool(a, "lstrip", 0, &ls, file, ctx, err)) ||
            (rc = tok_json_bool(a, "rstrip", 0, &rs, file, ctx, err)) ||
            (rc = tok_json_bool(a, "normalized", !special, &norm, file, ctx, err)))
            return rc;
        const char *c = json_string_value(content);
        if (!*c || tok_strmap_get(&t->names, c, strlen(c)) >= 0)
            continue;                           /* empty, or already added: HF skips it */
        int32_t vid = tok_strmap_get(&t->vocab, c, strlen(c));
        if (vid >= 0)
            id = vid;
        else
            id = max_added >= model_size ? max_added + 1 : model_size;
        if (vid < 0 && (id < 0 || id >= TOK_MAX_IDS))
            return FAIL(ZB_EFORMAT, "%s: %s: too many tokens", file, ctx);
        if (id > max_added && vid < 0)
            max_added = (int32_t)id;
        tok_added_spec s = {c, (int32_t)id, special, norm, ls, rs, sw};
        if ((rc = tok_add_token(t, &s, file, err)))
            return rc;
    }
    return 0;
}

/* One template item list ("single" or "pair") of TemplateProcessing. */
static int parse_template(json_t *list, json_t *specials, tok_template *out,
                          const char *file, const char *which, zb_err *err)
{
    if (!json_is_array(list))
        return FAIL(ZB_EFORMAT, "%s: post_processor.%s: expected an array", file, which);
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it) {
        json_t *sp = json_object_get(it, "SpecialToken"), *sq = json_object_get(it, "Sequence");
        json_t *body = sp ? sp : sq;
        const char *id = json_string_value(json_object_get(body, "id"));
        long long type_id = 0;
        char ctx[64];
        snprintf(ctx, sizeof ctx, "post_processor.%s[%zu]", which, i);
        if (!json_is_object(body) || !id)
            return FAIL(ZB_EFORMAT, "%s: %s: expected {\"SpecialToken\"|\"Sequence\": {\"id\", \"type_id\"}}",
                        file, ctx);
        int rc = tok_json_int(body, "type_id", 0, 255, 0, &type_id, file, ctx, err);
        if (rc)
            return rc;
        if (sq) {
            if (strcmp(id, "A") && strcmp(id, "B"))
                return FAIL(ZB_EFORMAT, "%s: %s.Sequence.id: expected \"A\" or \"B\"", file, ctx);
            rc = tok_tpl_add(out, id[0] == 'A' ? TOK_TPL_SEQ_A : TOK_TPL_SEQ_B, (int)type_id, NULL, 0);
        } else {
            json_t *ids = json_object_get(json_object_get(specials, id), "ids");
            if (!json_is_array(ids))
                return FAIL(ZB_EFORMAT, "%s: post_processor.special_tokens[\"%.40s\"].ids: missing "
                            "(used by %s)", file, id, ctx);
            int32_t buf[16];
            size_t n = json_array_size(ids), k;
            if (n > 16)
                return FAIL(ZB_EUNSUPPORTED, "%s: post_processor.special_tokens[\"%.40s\"]: more than 16 ids",
                            file, id);
            for (k = 0; k < n; k++) {
                json_t *x = json_array_get(ids, k);
                if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) >= TOK_MAX_IDS)
                    return FAIL(ZB_EFORMAT, "%s: post_processor.special_tokens[\"%.40s\"].ids[%zu]: "
                                "expected an id", file, id, k);
                buf[k] = (int32_t)json_integer_value(x);
            }
            rc = tok_tpl_add(out, TOK_TPL_SPECIAL, (int)type_id, buf, (int)n);
        }
        if (rc)
            return FAIL(ZB_ENOMEM, "%s: out of memory", file);
    }
    return 0;
}

/* RobertaProcessing: <s> A </s> (</s> B </s>), every type id 0, offsets trimmed. */
static int roberta_template(tok_tokenizer *t, json_t *p, const char *file, zb_err *err)
{
    int32_t ids[2] = {0, 2};                     /* HF's defaults: sep ("</s>", 2), cls ("<s>", 0) */
    const char *keys[2] = {"cls", "sep"};
    for (int k = 0; k < 2; k++) {
        json_t *v = json_object_get(p, keys[k]);
        if (!v)
            continue;
        json_t *id = json_array_get(v, 1);
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= TOK_MAX_IDS)
            return FAIL(ZB_EFORMAT, "%s: post_processor.%s: expected [token, id]", file, keys[k]);
        ids[k] = (int32_t)json_integer_value(id);
    }
    int rc;
    if ((rc = tok_json_bool(p, "trim_offsets", 1, &t->gen->trim, file, "post_processor", err)) ||
        (rc = tok_json_bool(p, "add_prefix_space", 1, &t->gen->trim_prefix_space, file, "post_processor", err)))
        return rc;
    t->has_post = 1;
    tok_template *s1 = &t->single, *s2 = &t->pair;
    return tok_tpl_add(s1, TOK_TPL_SPECIAL, 0, &ids[0], 1) || tok_tpl_add(s1, TOK_TPL_SEQ_A, 0, NULL, 0) ||
           tok_tpl_add(s1, TOK_TPL_SPECIAL, 0, &ids[1], 1) ||
           tok_tpl_add(s2, TOK_TPL_SPECIAL, 0, &ids[0], 1) || tok_tpl_add(s2, TOK_TPL_SEQ_A, 0, NULL, 0) ||
           tok_tpl_add(s2, TOK_TPL_SPECIAL, 0, &ids[1], 1) || tok_tpl_add(s2, TOK_TPL_SPECIAL, 0, &ids[1], 1) ||
           tok_tpl_add(s2, TOK_TPL_SEQ_B, 0, NULL, 0) || tok_tpl_add(s2, TOK_TPL_SPECIAL, 0, &ids[1], 1)
               ? FAIL(ZB_ENOMEM, "%s: out of memory", file) : 0;
}

static int parse_post(tok_tokenizer *t, json_t *p, const char *file, const char *ctx, zb_err *err);
static int post_item(void *ud, json_t *it, const char *file, const char *ctx, zb_err *err)
{
    return parse_post(ud, it, file, ctx, err);
}

static int parse_post(tok_tokenizer *t, json_t *p, const char *file, const char *ctx, zb_err *err)
{
    if (!p || json_is_null(p))
        return 0;
    const char *ty = json_is_object(p) ? tok_json_type(p) : NULL;
    if (ty && !strcmp(ty, "TemplateProcessing")) {
        if (t->has_post)
            return FAIL(ZB_EUNSUPPORTED, "%s: %s: a second template post-processor is not supported", file, ctx);
        t->has_post = 1;
        json_t *sp = json_object_get(p, "special_tokens");
        int rc = parse_template(json_object_get(p, "single"), sp, &t->single, file, "single", err);
        return rc ? rc : parse_template(json_object_get(p, "pair"), sp, &t->pair, file, "pair", err);
    }
    if (ty && !strcmp(ty, "BertProcessing")) {
        if (t->has_post)
            return FAIL(ZB_EUNSUPPORTED, "%s: %s: a second template post-processor is not supported", file, ctx);
        json_t *cls = json_object_get(p, "cls"), *sep = json_object_get(p, "sep");
        json_t *ci = json_array_get(cls, 1), *si = json_array_get(sep, 1);
        if (!json_is_integer(ci) || !json_is_integer(si) || json_integer_value(ci) < 0 ||
            json_integer_value(si) < 0 || json_integer_value(ci) >= TOK_MAX_IDS ||
            json_integer_value(si) >= TOK_MAX_IDS)
            return FAIL(ZB_EFORMAT, "%s: %s.cls / .sep: expected [token, id]", file, ctx);
        return tok_bert_template(t, (int32_t)json_integer_value(ci), (int32_t)json_integer_value(si))
                   ? FAIL(ZB_ENOMEM, "%s: out of memory", file) : 0;
    }
    /* the rest trims offsets, which only the general pipeline does */
    if (t->gen && ty && !strcmp(ty, "RobertaProcessing")) {
        if (t->has_post)
            return FAIL(ZB_EUNSUPPORTED, "%s: %s: a second template post-processor is not supported", file, ctx);
        return roberta_template(t, p, file, err);
    }
    if (t->gen && ty && !strcmp(ty, "ByteLevel")) {
        int rc = tok_json_bool(p, "trim_offsets", 1, &t->gen->trim, file, ctx, err);
        return rc ? rc : tok_json_bool(p, "add_prefix_space", 1, &t->gen->trim_prefix_space, file, ctx, err);
    }
    if (ty && !strcmp(ty, "Sequence"))
        return tok_json_each(p, TOK_SEQ_PROCESSORS, post_item, t, file, ctx, err);
    return FAIL(ZB_EUNSUPPORTED, "%s: %s: post-processor type '%s' is not supported (TemplateProcessing, "
                "BertProcessing, RobertaProcessing, ByteLevel, Sequence)", file, ctx, ty ? ty : "?");
}

static int parse_decoder(tok_tokenizer *t, json_t *d, const char *file, zb_err *err)
{
    if (!d || json_is_null(d)) {
        t->dec_cleanup = 0;
        return 0;
    }
    const char *ty = json_is_object(d) ? tok_json_type(d) : NULL;
    if (!ty || strcmp(ty, "WordPiece"))
        return FAIL(ZB_EUNSUPPORTED, "%s: decoder type '%s' is not supported (WordPiece only)", file,
                    ty ? ty : "?");
    json_t *pre = json_object_get(d, "prefix");
    if (pre && !json_is_string(pre))
        return FAIL(ZB_EFORMAT, "%s: decoder.prefix: expected a string", file);
    free(t->dec_prefix);
    t->dec_prefix = strdup(pre ? json_string_value(pre) : "##");
    if (!t->dec_prefix)
        return FAIL(ZB_ENOMEM, "%s: out of memory", file);
    return tok_json_bool(d, "cleanup", 1, &t->dec_cleanup, file, "decoder", err);
}

static int parse_trunc_pad(tok_tokenizer *t, json_t *root, const char *file, zb_err *err, int *json_max)
{
    json_t *tr = json_object_get(root, "truncation"), *pad = json_object_get(root, "padding");
    long long v;
    int rc;
    *json_max = 0;
    if (tr && !json_is_null(tr)) {
        if (!json_is_object(tr))
            return FAIL(ZB_EFORMAT, "%s: truncation: expected an object or null", file);
        if ((rc = tok_json_int(tr, "max_length", 0, 1 << 30, 0, &v, file, "truncation", err)))
            return rc;
        *json_max = (int)v;
        const char *s = json_string_value(json_object_get(tr, "strategy"));
        const char *d = json_string_value(json_object_get(tr, "direction"));
        if (s && !strcmp(s, "OnlyFirst")) t->strategy = TOK_ONLY_FIRST;
        else if (s && !strcmp(s, "OnlySecond")) t->strategy = TOK_ONLY_SECOND;
        else if (s && strcmp(s, "LongestFirst"))
            return FAIL(ZB_EFORMAT, "%s: truncation.strategy: '%s' is not LongestFirst, OnlyFirst or "
                        "OnlySecond", file, s);
        if (d && !strcmp(d, "Left")) t->direction = TOK_LEFT;
        else if (d && strcmp(d, "Right"))
            return FAIL(ZB_EFORMAT, "%s: truncation.direction: '%s' is not Right or Left", file, d);
    }
    if (pad && !json_is_null(pad)) {
        if (!json_is_object(pad))
            return FAIL(ZB_EFORMAT, "%s: padding: expected an object or null", file);
        if ((rc = tok_json_int(pad, "pad_id", 0, TOK_MAX_IDS - 1, -1, &v, file, "padding", err)))
            return rc;
        if (v >= 0) t->pad_id = (int32_t)v;
        if ((rc = tok_json_int(pad, "pad_type_id", 0, 255, 0, &v, file, "padding", err)))
            return rc;
        t->pad_type_id = (int32_t)v;
        if ((rc = tok_json_int(pad, "pad_to_multiple_of", 0, 1 << 20, 0, &v, file, "padding", err)))
            return rc;
        t->pad_multiple = (int)v;
        json_t *st = json_object_get(pad, "strategy");
        json_t *fixed = json_object_get(st, "Fixed");
        if (json_is_integer(fixed) && json_integer_value(fixed) > 0 && json_integer_value(fixed) <= (1 << 20))
            t->pad_fixed = (int)json_integer_value(fixed);
        else if (st && !(json_is_string(st) && !strcmp(json_string_value(st), "BatchLongest")))
            return FAIL(ZB_EFORMAT, "%s: padding.strategy: expected \"BatchLongest\" or {\"Fixed\": n}", file);
        const char *d = json_string_value(json_object_get(pad, "direction"));
        if (d && strcmp(d, "Right"))
            return FAIL(ZB_EUNSUPPORTED, "%s: padding.direction '%s' is not supported (Right only)", file, d);
        t->pad_enabled = 1;
    }
    return 0;
}

int tok_load_tokenizer_json(tok_tokenizer *t, const char *path, int *json_max, zb_err *err)
{
    json_t *root;
    int rc = zb_json_load_file(path, TOK_MAX_FILE, 0, &root, err);
    return rc ? rc : tok_json_root(t, root, path, json_max, err);
}

int tok_json_root(tok_tokenizer *t, json_t *root, const char *path, int *json_max, zb_err *err)
{
    int rc;
    if (!json_is_object(root)) {
        json_decref(root);
        return FAIL(ZB_EFORMAT, "%s: expected a JSON object", path);
    }
    /* Order matters: the normalizer first (normalized added tokens are stored normalized), the
     * model before added tokens (an added token that is in the vocabulary keeps its id). */
    if (!tok_json_is_bert(root)) {
        if (!(rc = tok_json_general(t, root, path, err)) &&
            !(rc = parse_added(t, json_object_get(root, "added_tokens"), path, err)) &&
            !(rc = parse_post(t, json_object_get(root, "post_processor"), path, "post_processor", err)))
            rc = parse_trunc_pad(t, root, path, err, json_max);
    } else if (!(rc = parse_normalizer(t, json_object_get(root, "normalizer"), path, err)) &&
        !(rc = parse_pretok(t, json_object_get(root, "pre_tokenizer"), path, err)) &&
        !(rc = parse_model(t, json_object_get(root, "model"), path, err)) &&
        !(rc = parse_added(t, json_object_get(root, "added_tokens"), path, err)) &&
        !(rc = parse_post(t, json_object_get(root, "post_processor"), path, "post_processor", err)) &&
        !(rc = parse_decoder(t, json_object_get(root, "decoder"), path, err)))
        rc = parse_trunc_pad(t, root, path, err, json_max);
    json_decref(root);
    return rc;
}
