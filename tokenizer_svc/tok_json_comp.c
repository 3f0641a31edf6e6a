/* tok_json_comp: tokenizer.json components of the general pipeline (tok_comp.h): normalizers,
 * pre-tokenizers, the BPE / WordLevel / WordPiece models and decoders, with HF's defaults and
 * HF's load errors (serialization of tokenizers 0.23). An unknown "type" is ZB_EUNSUPPORTED naming
 * the component and where it sits in the file. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tok_bpe.h"
#include "tok_load.h"

#define FAIL(code, ...) zb_fail(err, code, __VA_ARGS__)
#define GPT2_PATTERN "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

/* {"String": s} or {"Regex": r} */
static tok_regex *pattern(json_t *o, const char *key, const char *file, const char *ctx, zb_err *err)
{
    json_t *p = json_object_get(o, key), *s = json_object_get(p, "String"), *r = json_object_get(p, "Regex");
    char where[600];
    snprintf(where, sizeof where, "%s: %s.%s", file, ctx, key);
    if (json_is_string(s))
        return tok_regex_new(json_string_value(s), json_string_length(s), 1, where, err);
    if (json_is_string(r))
        return tok_regex_new(json_string_value(r), json_string_length(r), 0, where, err);
    FAIL(ZB_EFORMAT, "%s: expected {\"String\": ...} or {\"Regex\": ...}", where);
    return NULL;
}

static int dup_str(json_t *o, const char *key, char **out, size_t *len, const char *file, const char *ctx,
                   zb_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return FAIL(ZB_EFORMAT, "%s: %s.%s: expected a string", file, ctx, key);
    *len = json_string_length(v);
    if (!(*out = malloc(*len + 1)))
        return FAIL(ZB_ENOMEM, "%s: out of memory", file);
    memcpy(*out, json_string_value(v), *len + 1);
    return 0;
}

/* one char (Metaspace replacement, CharDelimiterSplit delimiter) */
static int one_char(json_t *o, const char *key, const char *dflt, uint32_t *out, const char *file,
                    const char *ctx, zb_err *err)
{
    json_t *v = json_object_get(o, key);
    const char *s = json_is_string(v) ? json_string_value(v) : dflt;
    size_t l = s ? strlen(s) : 0;
    int cl;
    if (!s || !l || tok_utf8_check(s, l, NULL) || (size_t)tok_utf8_len1((unsigned char)s[0]) != l)
        return FAIL(ZB_EFORMAT, "%s: %s.%s: expected one character", file, ctx, key);
    *out = tok_utf8_get(s, &cl);
    return 0;
}

/* ---- normalizers ------------------------------------------------------------------------------- */

static int add_normalizer(struct tok_gen *g, json_t *n, const char *file, const char *ctx, zb_err *err);
static int norm_item(void *ud, json_t *it, const char *file, const char *ctx, zb_err *err)
{
    return add_normalizer(ud, it, file, ctx, err);
}

static int add_normalizer(struct tok_gen *g, json_t *n, const char *file, const char *ctx, zb_err *err)
{
    if (!json_is_object(n))
        return FAIL(ZB_EFORMAT, "%s: %s: expected an object", file, ctx);
    const char *ty = tok_json_type(n);
    if (ty && !strcmp(ty, "Sequence"))
        return tok_json_each(n, TOK_SEQ_NORMALIZERS, norm_item, g, file, ctx, err);
    tok_normalizer *a = realloc(g->norm, (size_t)(g->n_norm + 1) * sizeof *a);
    if (!a)
        return FAIL(ZB_ENOMEM, "%s: out of memory", file);
    g->norm = a;
    tok_normalizer *z = &a[g->n_norm];
    memset(z, 0, sizeof *z);
    int rc = 0, strip = -1;
    static const struct { const char *name; int kind; } simple[] = {
        {"NFC", TOK_N_NFC}, {"NFD", TOK_N_NFD}, {"NFKC", TOK_N_NFKC}, {"NFKD", TOK_N_NFKD},
        {"Lowercase", TOK_N_LOWERCASE}, {"StripAccents", TOK_N_STRIP_ACCENTS}};
    z->kind = -1;
    for (size_t k = 0; ty && k < sizeof simple / sizeof *simple; k++)
        if (!strcmp(ty, simple[k].name))
            z->kind = simple[k].kind;
    if (z->kind >= 0) {
    } else if (ty && !strcmp(ty, "BertNormalizer")) {
        z->kind = TOK_N_BERT;
        z->bert.on = 1;
        if (!(rc = tok_json_bool(n, "clean_text", 1, &z->bert.clean_text, file, ctx, err)) &&
            !(rc = tok_json_bool(n, "handle_chinese_chars", 1, &z->bert.handle_chinese, file, ctx, err)) &&
            !(rc = tok_json_bool(n, "lowercase", 1, &z->bert.lowercase, file, ctx, err)) &&
            !(rc = tok_json_bool(n, "strip_accents", -1, &strip, file, ctx, err)))
            z->bert.strip_accents = strip < 0 ? z->bert.lowercase : strip;
    } else if (ty && !strcmp(ty, "Strip")) {
        z->kind = TOK_N_STRIP;
        if (!(rc = tok_json_bool(n, "strip_left", 1, &z->left, file, ctx, err)))
            rc = tok_json_bool(n, "strip_right", 1, &z->right, file, ctx, err);
    } else if (ty && !strcmp(ty, "Prepend")) {
        z->kind = TOK_N_PREPEND;
        rc = dup_str(n, "prepend", &z->text, &z->text_len, file, ctx, err);
    } else if (ty && !strcmp(ty, "Replace")) {
        z->kind = TOK_N_REPLACE;
        if (!(rc = dup_str(n, "content", &z->text, &z->text_len, file, ctx, err)) &&
            !(z->re = pattern(n, "pattern", file, ctx, err)))
            rc = err ? err->code : ZB_EFORMAT;
    } else {
        return FAIL(ZB_EUNSUPPORTED, "%s: %s: normalizer type '%s' is not supported", file, ctx,
                    ty ? ty : "?");
    }
    g->n_norm++;                        /* even on error: freed with the rest */
    return rc;
}

/* ---- pre-tokenizers ---------------------------------------------------------------------------- */

static int behavior(json_t *o, int dflt, int *out, const char *file, const char *ctx, zb_err *err)
{
    static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                        "Contiguous"};
    json_t *v = json_object_get(o, "behavior");
    *out = dflt;
    if (!v && dflt >= 0)
        return 0;
    for (int k = 0; json_is_string(v) && k < 5; k++)
        if (!strcmp(json_string_value(v), names[k])) {
            *out = k;
            return 0;
        }
    return FAIL(ZB_EFORMAT, "%s: %s.behavior: expected Removed, Isolated, MergedWithPrevious, "
                "MergedWithNext or Contiguous", file, ctx);
}

static int add_pretok(struct tok_gen *g, json_t *p, const char *file, const char *ctx, zb_err *err);
static int pre_item(void *ud, json_t *it, const char *file, const char *ctx, zb_err *err)
{
    return add_pretok(ud, it, file, ctx, err);
}

static int add_pretok(struct tok_gen *g, json_t *p, const char *file, const char *ctx, zb_err *err)
{
    if (!json_is_object(p))
        return FAIL(ZB_EFORMAT, "%s: %s: expected an object", file, ctx);
    const char *ty = tok_json_type(p);
    if (ty && !strcmp(ty, "Sequence"))
        return tok_json_each(p, TOK_SEQ_PRETOKENIZERS, pre_item, g, file, ctx, err);
    tok_pretok *a = realloc(g->pre, (size_t)(g->n_pre + 1) * sizeof *a);
    if (!a)
        return FAIL(ZB_ENOMEM, "%s: out of memory", file);
    g->pre = a;
    tok_pretok *z = &a[g->n_pre];
    memset(z, 0, sizeof *z);
    int rc = 0, use_regex = 1;
    if (!ty) {
        return FAIL(ZB_EFORMAT, "%s: %s.type: missing", file, ctx);
    } else if (!strcmp(ty, "BertPreTokenizer")) {
        z->kind = TOK_P_BERT;
    } else if (!strcmp(ty, "Whitespace")) {
        z->kind = TOK_P_WHITESPACE;
    } else if (!strcmp(ty, "WhitespaceSplit")) {
        z->kind = TOK_P_WHITESPACE_SPLIT;
    } else if (!strcmp(ty, "ByteLevel")) {
        z->kind = TOK_P_BYTELEVEL;
        if (!(rc = tok_json_bool(p, "add_prefix_space", 1, &z->add_prefix_space, file, ctx, err)) &&
            !(rc = tok_json_bool(p, "use_regex", 1, &use_regex, file, ctx, err)) && use_regex &&
            !(z->re = tok_regex_new(GPT2_PATTERN, strlen(GPT2_PATTERN), 0, "ByteLevel", err)))
            rc = ZB_ENOMEM;
    } else if (!strcmp(ty, "Split")) {
        z->kind = TOK_P_SPLIT;
        if (!(rc = behavior(p, -1, &z->behavior, file, ctx, err)) &&
            !(rc = tok_json_bool(p, "invert", 0, &z->invert, file, ctx, err)) &&
            !(z->re = pattern(p, "pattern", file, ctx, err)))
            rc = err ? err->code : ZB_EFORMAT;
    } else if (!strcmp(ty, "Metaspace")) {
        z->kind = TOK_P_METASPACE;
        json_t *ps = json_object_get(p, "prepend_scheme");
        const char *sch = json_string_value(ps);
        z->prepend_scheme = !sch || !strcmp(sch, "always") ? TOK_PREPEND_ALWAYS
                          : !strcmp(sch, "first") ? TOK_PREPEND_FIRST
                          : !strcmp(sch, "never") ? TOK_PREPEND_NEVER : -1;
        int aps = 1;
        if (z->prepend_scheme < 0 || (ps && !sch))
            rc = FAIL(ZB_EFORMAT, "%s: %s.prepend_scheme: expected always, first or never", file, ctx);
        else if (!(rc = tok_json_bool(p, "add_prefix_space", 1, &aps, file, ctx, err)) && !aps &&
                 z->prepend_scheme != TOK_PREPEND_NEVER)
            rc = FAIL(ZB_EFORMAT, "%s: %s: add_prefix_space false needs prepend_scheme never", file, ctx);
        if (!rc && !(rc = tok_json_bool(p, "split", 1, &z->split, file, ctx, err)))
            rc = one_char(p, "replacement", "\xe2\x96\x81", &z->ch, file, ctx, err);
    } else if (!strcmp(ty, "Digits")) {
        z->kind = TOK_P_DIGITS;
        rc = tok_json_bool(p, "individual_digits", 0, &z->individual_digits, file, ctx, err);
    } else if (!strcmp(ty, "Punctuation")) {
        z->kind = TOK_P_PUNCTUATION;
        rc = behavior(p, TOK_B_ISOLATED, &z->behavior, file, ctx, err);
    } else if (!strcmp(ty, "CharDelimiterSplit")) {
        z->kind = TOK_P_CHAR_DELIMITER;
        rc = one_char(p, "delimiter", NULL, &z->ch, file, ctx, err);
    } else {
        return FAIL(ZB_EUNSUPPORTED, "%s: %s: pre-tokenizer type '%s' is not supported", file, ctx, ty);
    }
    g->n_pre++;
    return rc;
}

/* ---- models ------------------------------------------------------------------------------------ */

static int load_vocab(tok_tokenizer *t, json_t *m, const char *file, zb_err *err)
{
    json_t *vocab = json_object_get(m, "vocab"), *v;
    if (!json_is_object(vocab))
        return FAIL(ZB_EFORMAT, "%s: model.vocab: expected an object of token: id", file);
    const char *key;
    json_object_foreach(vocab, key, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= TOK_MAX_IDS)
            return FAIL(ZB_EFORMAT, "%s: model.vocab[\"%.40s\"]: id must be an integer in [0, %d)", file,
                        key, TOK_MAX_IDS);
        if (tok_strmap_put(&t->vocab, key, strlen(key), (int32_t)json_integer_value(v)))
            return FAIL(ZB_ENOMEM, "%s: out of memory reading model.vocab", file);
    }
    return 0;
}

static int opt_str(json_t *m, const char *key, char **out, size_t *len, const char *file, zb_err *err)
{
    json_t *v = json_object_get(m, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    return dup_str(m, key, out, len, file, "model", err);
}

static int32_t vocab_id(const tok_tokenizer *t, const char *s, size_t len)
{
    return tok_strmap_get(&t->vocab, s, len);
}

static int load_merges(tok_tokenizer *t, tok_bpe *b, json_t *merges, const char *file, zb_err *err)
{
    if (!json_is_array(merges))
        return FAIL(ZB_EFORMAT, "%s: model.merges: expected an array", file);
    size_t i;
    json_t *it;
    uint32_t rank = 0;
    char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    json_array_foreach(merges, i, it) {
        const char *a, *bb;
        size_t al, bl;
        if (json_is_string(it)) {
            const char *s = json_string_value(it);
            if (!strncmp(s, "#version", 8))
                continue;
            const char *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                rc = FAIL(ZB_EFORMAT, "%s: model.merges[%zu] \"%.40s\": expected two tokens separated by "
                          "one space", file, i, s);
                break;
            }
            a = s; al = (size_t)(sp - s); bb = sp + 1; bl = strlen(bb);
        } else if (json_is_array(it) && json_array_size(it) == 2 && json_is_string(json_array_get(it, 0)) &&
                   json_is_string(json_array_get(it, 1))) {
            a = json_string_value(json_array_get(it, 0)); al = json_string_length(json_array_get(it, 0));
            bb = json_string_value(json_array_get(it, 1)); bl = json_string_length(json_array_get(it, 1));
        } else {
            rc = FAIL(ZB_EFORMAT, "%s: model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"]", file, i);
            break;
        }
        int32_t ia = vocab_id(t, a, al), ib = vocab_id(t, bb, bl);
        /* merged = a + b without the prefix's bytes, cut blindly as HF does */
        size_t cut = b->prefix_len;
        if (ia < 0 || ib < 0 || cut > bl) {
            rc = FAIL(ZB_EFORMAT, "%s: model.merges[%zu]: token '%.40s' is not in the vocabulary", file, i,
                      ia < 0 ? a : bb);
            break;
        }
        if (al + bl - cut > cap) {
            cap = (al + bl) * 2 + 64;
            char *nb = realloc(buf, cap);
            if (!nb) { rc = FAIL(ZB_ENOMEM, "%s: out of memory", file); break; }
            buf = nb;
        }
        memcpy(buf, a, al);
        memcpy(buf + al, bb + cut, bl - cut);
        int32_t im = vocab_id(t, buf, al + bl - cut);
        if (im < 0) {
            rc = FAIL(ZB_EFORMAT, "%s: model.merges[%zu]: the merged token '%.*s' is not in the vocabulary",
                      file, i, (int)(al + bl - cut > 40 ? 40 : al + bl - cut), buf);
            break;
        }
        if (tok_bpe_merge_put(b, ia, ib, rank++, im)) {
            rc = FAIL(ZB_ENOMEM, "%s: out of memory reading model.merges", file);
            break;
        }
    }
    free(buf);
    return rc;
}

static int load_bpe(tok_tokenizer *t, json_t *m, const char *file, zb_err *err)
{
    tok_bpe *b = t->gen->bpe = calloc(1, sizeof *b);
    if (!b)
        return FAIL(ZB_ENOMEM, "%s: out of memory", file);
    b->vocab = &t->vocab;
    json_t *d = json_object_get(m, "dropout");
    if (d && !json_is_null(d) && !(json_is_number(d) && json_number_value(d) == 0))
        return FAIL(ZB_EUNSUPPORTED, "%s: model.dropout %g: BPE dropout is not supported (results would be "
                    "random); set it to null", file, json_is_number(d) ? json_number_value(d) : -1.0);
    char *unk = NULL;
    size_t ul;
    int rc;
    if ((rc = load_vocab(t, m, file, err)) ||
        (rc = opt_str(m, "unk_token", &unk, &ul, file, err)) ||
        (rc = opt_str(m, "continuing_subword_prefix", &b->prefix, &b->prefix_len, file, err)) ||
        (rc = opt_str(m, "end_of_word_suffix", &b->suffix, &b->suffix_len, file, err)) ||
        (rc = tok_json_bool(m, "fuse_unk", 0, &b->fuse_unk, file, "model", err)) ||
        (rc = tok_json_bool(m, "byte_fallback", 0, &b->byte_fallback, file, "model", err)) ||
        (rc = tok_json_bool(m, "ignore_merges", 0, &b->ignore_merges, file, "model", err))) {
        free(unk);
        return rc;
    }
    b->has_unk = unk != NULL;
    b->unk_id = unk ? vocab_id(t, unk, ul) : -1;
    free(t->unk_name);
    t->unk_name = unk;
    if ((rc = load_merges(t, b, json_object_get(m, "merges"), file, err)))
        return rc;
    for (int k = 0; k < 256; k++) {
        char h[8];
        snprintf(h, sizeof h, "<0x%02X>", k);
        b->byte_id[k] = vocab_id(t, h, 6);
    }
    if (!(b->char_id = malloc(TOK_BPE_FAST_CHARS * sizeof *b->char_id)))
        return FAIL(ZB_ENOMEM, "%s: out of memory", file);
    for (uint32_t c = 0; c < TOK_BPE_FAST_CHARS; c++) {
        char u[4];
        b->char_id[c] = vocab_id(t, u, (size_t)tok_utf8_put(u, c));
    }
    return 0;
}

static int load_model(tok_tokenizer *t, json_t *m, const char *file, zb_err *err)
{
    if (!m)                                         /* as HF: "Model missing" */
        return FAIL(ZB_EFORMAT, "%s: model: missing (a tokenizer.json needs one: BPE, WordPiece or WordLevel)", file);
    if (json_is_null(m) && t->no_model_ok) {
        t->gen->model = TOK_M_NONE;
        return 0;
    }
    if (!json_is_object(m))
        return FAIL(ZB_EFORMAT, "%s: model: expected an object", file);
    const char *ty = tok_json_type(m);
    if (!ty && json_object_get(m, "merges"))
        ty = "BPE";                                 /* older files carry no type */
    if (ty && !strcmp(ty, "BPE")) {
        t->gen->model = TOK_M_BPE;
        return load_bpe(t, m, file, err);
    }
    if (ty && (!strcmp(ty, "WordLevel") || !strcmp(ty, "WordPiece"))) {
        int wp = !strcmp(ty, "WordPiece");
        t->gen->model = wp ? TOK_M_WORDPIECE : TOK_M_WORDLEVEL;
        int rc = load_vocab(t, m, file, err);
        json_t *unk = json_object_get(m, "unk_token");
        if (!rc && unk && !json_is_string(unk))
            rc = FAIL(ZB_EFORMAT, "%s: model.unk_token: expected a string", file);
        free(t->unk_name);
        t->unk_name = strdup(json_is_string(unk) ? json_string_value(unk) : wp ? "[UNK]" : "<unk>");
        if (!rc && !t->unk_name)
            rc = FAIL(ZB_ENOMEM, "%s: out of memory", file);
        if (!rc && wp) {
            json_t *pre = json_object_get(m, "continuing_subword_prefix");
            long long maxc;
            rc = tok_json_int(m, "max_input_chars_per_word", 0, 1 << 30, 100, &maxc, file, "model", err);
            t->max_chars_per_word = (int)maxc;
            if (!rc)
                rc = tok_set_wordpiece(t, t->unk_name, json_is_string(pre) ? json_string_value(pre) : "##",
                                       file, err);
        }
        return rc;
    }
    return FAIL(ZB_EUNSUPPORTED, "%s: model type '%s' is not supported (BPE, WordPiece, WordLevel)", file,
                ty ? ty : "?");
}

/* ---- decoders ---------------------------------------------------------------------------------- */

static int add_decoder(struct tok_gen *g, json_t *d, const char *file, const char *ctx, zb_err *err);
static int dec_item(void *ud, json_t *it, const char *file, const char *ctx, zb_err *err)
{
    return add_decoder(ud, it, file, ctx, err);
}

static int add_decoder(struct tok_gen *g, json_t *d, const char *file, const char *ctx, zb_err *err)
{
    if (!json_is_object(d))
        return FAIL(ZB_EFORMAT, "%s: %s: expected an object", file, ctx);
    const char *ty = tok_json_type(d);
    if (ty && !strcmp(ty, "Sequence"))
        return tok_json_each(d, TOK_SEQ_DECODERS, dec_item, g, file, ctx, err);
    tok_decoder *a = realloc(g->dec, (size_t)(g->n_dec + 1) * sizeof *a);
    if (!a)
        return FAIL(ZB_ENOMEM, "%s: out of memory", file);
    g->dec = a;
    tok_decoder *z = &a[g->n_dec];
    memset(z, 0, sizeof *z);
    int rc = 0;
    long long v;
    if (!ty) {
        return FAIL(ZB_EFORMAT, "%s: %s.type: missing", file, ctx);
    } else if (!strcmp(ty, "ByteLevel")) {
        z->kind = TOK_D_BYTELEVEL;
    } else if (!strcmp(ty, "ByteFallback")) {
        z->kind = TOK_D_BYTEFALLBACK;
    } else if (!strcmp(ty, "Fuse")) {
        z->kind = TOK_D_FUSE;
    } else if (!strcmp(ty, "WordPiece")) {
        z->kind = TOK_D_WORDPIECE;
        json_t *p = json_object_get(d, "prefix");
        rc = p ? dup_str(d, "prefix", &z->a, &z->a_len, file, ctx, err)
               : ((z->a = strdup("##")) ? (z->a_len = 2, 0) : ZB_ENOMEM);
        if (!rc)
            rc = tok_json_bool(d, "cleanup", 1, &z->cleanup, file, ctx, err);
    } else if (!strcmp(ty, "BPEDecoder")) {
        z->kind = TOK_D_BPE;
        json_t *p = json_object_get(d, "suffix");
        rc = p ? dup_str(d, "suffix", &z->a, &z->a_len, file, ctx, err)
               : ((z->a = strdup("</w>")) ? (z->a_len = 4, 0) : ZB_ENOMEM);
    } else if (!strcmp(ty, "Metaspace")) {
        z->kind = TOK_D_METASPACE;
        const char *sch = json_string_value(json_object_get(d, "prepend_scheme"));
        z->prepend_scheme = !sch || !strcmp(sch, "always") ? TOK_PREPEND_ALWAYS
                          : !strcmp(sch, "first") ? TOK_PREPEND_FIRST : TOK_PREPEND_NEVER;
        rc = one_char(d, "replacement", "\xe2\x96\x81", &z->ch, file, ctx, err);
    } else if (!strcmp(ty, "Strip")) {
        z->kind = TOK_D_STRIP;
        if (!(rc = dup_str(d, "content", &z->a, &z->a_len, file, ctx, err)) &&
            !(rc = tok_json_int(d, "start", 0, 1 << 20, 0, &v, file, ctx, err)))
            z->start = (int)v;
        if (!rc && !(rc = tok_json_int(d, "stop", 0, 1 << 20, 0, &v, file, ctx, err)))
            z->stop = (int)v;
    } else if (!strcmp(ty, "Replace")) {
        z->kind = TOK_D_REPLACE;
        if (!(rc = dup_str(d, "content", &z->a, &z->a_len, file, ctx, err)) &&
            !(z->re = pattern(d, "pattern", file, ctx, err)))
            rc = err ? err->code : ZB_EFORMAT;
    } else {
        return FAIL(ZB_EUNSUPPORTED, "%s: %s: decoder type '%s' is not supported", file, ctx, ty);
    }
    g->n_dec++;
    if (rc == ZB_ENOMEM)
        return FAIL(ZB_ENOMEM, "%s: out of memory", file);
    return rc;
}

void tok_decoder_free(tok_decoder *d)
{
    if (!d)
        return;
    free(d->a);
    free(d->b);
    tok_regex_free(d->re);
}

void tok_gen_free(struct tok_gen *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_norm; i++) tok_normalizer_free(&g->norm[i]);
    for (int i = 0; i < g->n_pre; i++) tok_pretok_free(&g->pre[i]);
    for (int i = 0; i < g->n_dec; i++) tok_decoder_free(&g->dec[i]);
    free(g->norm);
    free(g->pre);
    free(g->dec);
    tok_bpe_free(g->bpe);
    tok_trie_free(&g->raw);
    tok_trie_free(&g->normed);
    free(g);
}

/* ---- which path -------------------------------------------------------------------------------- */

static int only_bert(json_t *o, const char *bert, tok_seq_kind kind)
{
    if (!o || json_is_null(o))
        return 1;
    if (tok_json_is(o, bert))
        return 1;
    if (!tok_json_is(o, "Sequence"))
        return 0;
    json_t *l = tok_json_seq_items(o, kind);
    return json_array_size(l) == 0 || (json_array_size(l) == 1 && tok_json_is(json_array_get(l, 0), bert));
}

int tok_json_is_bert(json_t *root)
{
    json_t *m = json_object_get(root, "model"), *d = json_object_get(root, "decoder"),
           *p = json_object_get(root, "post_processor");
    return tok_json_is(m, "WordPiece") && only_bert(json_object_get(root, "normalizer"), "BertNormalizer", TOK_SEQ_NORMALIZERS) &&
           only_bert(json_object_get(root, "pre_tokenizer"), "BertPreTokenizer", TOK_SEQ_PRETOKENIZERS) &&
           (!d || json_is_null(d) || tok_json_is(d, "WordPiece")) &&
           (!p || json_is_null(p) || tok_json_is(p, "BertProcessing") || tok_json_is(p, "TemplateProcessing"));
}

int tok_json_general(tok_tokenizer *t, json_t *root, const char *file, zb_err *err)
{
    if (!(t->gen = calloc(1, sizeof *t->gen)))
        return FAIL(ZB_ENOMEM, "%s: out of memory", file);
    json_t *n = json_object_get(root, "normalizer"), *p = json_object_get(root, "pre_tokenizer"),
           *d = json_object_get(root, "decoder");
    int rc = 0;
    if (n && !json_is_null(n))
        rc = add_normalizer(t->gen, n, file, "normalizer", err);
    if (!rc && p && !json_is_null(p))
        rc = add_pretok(t->gen, p, file, "pre_tokenizer", err);
    if (!rc)
        rc = load_model(t, json_object_get(root, "model"), file, err);
    if (!rc && d && !json_is_null(d))
        rc = add_decoder(t->gen, d, file, "decoder", err);
    return rc;
}
