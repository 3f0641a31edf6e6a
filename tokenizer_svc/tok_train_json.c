/* tok_train_json: a trained model as the tokenizer.json HF tokenizers writes (serialization.rs
 * key order, BPE merges as [a, b] arrays by rank, a pair recorded twice kept at its last rank),
 * plus vocab.txt for WordPiece. The normalizer / pre-tokenizer / decoder objects for the names
 * `zembed train-tokenizer` accepts live here, once: the same objects configure the word counting
 * (tokt_pipeline_json) and end up in the written file. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_train.h"
#include "zb_file.h"

static const char *const NORMALIZERS[] = {"bert", "nfkc", "lowercase", "none", NULL};
static const char *const PRETOKS[] = {"byte-level", "bert", "whitespace", "metaspace", NULL};

static int one_of(const char *v, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(v, names[i]))
            return 1;
    return 0;
}

int tokt_check_names(const char *normalizer, const char *pretok, zb_err *err)
{
    if (!one_of(normalizer, NORMALIZERS))
        return zb_fail(err, ZB_EINVAL, "normalizer '%s': expected bert, nfkc, lowercase or none", normalizer);
    if (!one_of(pretok, PRETOKS))
        return zb_fail(err, ZB_EINVAL, "pre-tokenizer '%s': expected byte-level, bert, whitespace or metaspace",
                       pretok);
    return 0;
}

static json_t *normalizer_json(const char *name)
{
    if (!strcmp(name, "bert"))          /* HF's BertNormalizer defaults (strip_accents follows lowercase) */
        return json_pack("{s:s, s:b, s:b, s:n, s:b}", "type", "BertNormalizer", "clean_text", 1,
                         "handle_chinese_chars", 1, "strip_accents", "lowercase", 1);
    if (!strcmp(name, "nfkc"))
        return json_pack("{s:s}", "type", "NFKC");
    if (!strcmp(name, "lowercase"))
        return json_pack("{s:s}", "type", "Lowercase");
    return json_null();
}

/* GPT-2 / RoBERTa: no prefix space, the GPT-2 regex. */
static json_t *byte_level_json(void)
{
    return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1,
                     "use_regex", 1);
}

static json_t *metaspace_json(void)
{
    return json_pack("{s:s, s:s, s:s, s:b}", "type", "Metaspace", "replacement", "\xE2\x96\x81",
                     "prepend_scheme", "always", "split", 1);
}

static json_t *pretok_json(const char *name)
{
    if (!strcmp(name, "byte-level"))
        return byte_level_json();
    if (!strcmp(name, "bert"))
        return json_pack("{s:s}", "type", "BertPreTokenizer");
    if (!strcmp(name, "whitespace"))
        return json_pack("{s:s}", "type", "Whitespace");
    return metaspace_json();
}

/* The decoder that turns this model's tokens back into text. */
static json_t *decoder_json(const tokt_options *o, const char *pretok)
{
    if (!strcmp(pretok, "byte-level"))
        return byte_level_json();
    if (!strcmp(pretok, "metaspace"))
        return metaspace_json();
    if (o->type == TOKT_WORDPIECE)
        return json_pack("{s:s, s:s, s:b}", "type", "WordPiece", "prefix", o->prefix ? o->prefix : "##",
                         "cleanup", 1);
    if (o->suffix && o->type != TOKT_WORDLEVEL)
        return json_pack("{s:s, s:s}", "type", "BPEDecoder", "suffix", o->suffix);
    return json_null();
}

static int32_t id_of(const tokt_result *r, const char *s)
{
    for (int i = 0; i < r->n_ids; i++)
        if (r->tokens[i] && !strcmp(r->tokens[i], s))
            return i;
    return -1;
}

/* [CLS] A [SEP] (B [SEP]) when both are among the special tokens, as BERT's files have it. */
static json_t *post_json(const tokt_result *r)
{
    int32_t cls = id_of(r, "[CLS]"), sep = id_of(r, "[SEP]");
    if (cls < 0 || sep < 0 || cls >= r->n_special || sep >= r->n_special)
        return json_null();
    return json_pack(
        "{s:s, s:[{s:{s:s,s:i}},{s:{s:s,s:i}},{s:{s:s,s:i}}],"
        " s:[{s:{s:s,s:i}},{s:{s:s,s:i}},{s:{s:s,s:i}},{s:{s:s,s:i}},{s:{s:s,s:i}}],"
        " s:{s:{s:s,s:[i],s:[s]}, s:{s:s,s:[i],s:[s]}}}",
        "type", "TemplateProcessing",
        "single", "SpecialToken", "id", "[CLS]", "type_id", 0, "Sequence", "id", "A", "type_id", 0,
        "SpecialToken", "id", "[SEP]", "type_id", 0,
        "pair", "SpecialToken", "id", "[CLS]", "type_id", 0, "Sequence", "id", "A", "type_id", 0,
        "SpecialToken", "id", "[SEP]", "type_id", 0, "Sequence", "id", "B", "type_id", 1,
        "SpecialToken", "id", "[SEP]", "type_id", 1,
        "special_tokens", "[CLS]", "id", "[CLS]", "ids", cls, "tokens", "[CLS]",
        "[SEP]", "id", "[SEP]", "ids", sep, "tokens", "[SEP]");
}

const char *tokt_unk_token(const tokt_options *o)
{
    for (int i = 0; i < o->n_special; i++)
        if (strcasestr(o->special[i], "unk"))
            return o->special[i];
    return NULL;
}

static json_t *vocab_json(const tokt_result *r)
{
    json_t *v = json_object();
    for (int i = 0; v && i < r->n_ids; i++)
        if (r->tokens[i] && json_object_setn_new(v, r->tokens[i], r->lens[i], json_integer(i))) {
            json_decref(v);
            return NULL;
        }
    return v;
}

static const tokt_result *sort_r;   /* qsort has no context argument */

static int cmp_merge(const void *x, const void *y)
{
    int i = *(const int *)x, j = *(const int *)y;
    const int32_t *a = sort_r->merges[i], *b = sort_r->merges[j];
    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    if (a[1] != b[1])
        return a[1] < b[1] ? -1 : 1;
    return (i > j) - (i < j);
}

/* Merges by rank; a pair recorded again (a merge that rebuilt an existing string) keeps only its
 * last rank, as HF's model map does. */
static json_t *merges_json(const tokt_result *r)
{
    int n = r->n_merges;
    int *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    char *drop = calloc((size_t)(n ? n : 1), 1);
    json_t *m = idx && drop ? json_array() : NULL;
    if (m) {
        for (int i = 0; i < n; i++)
            idx[i] = i;
        sort_r = r;
        qsort(idx, (size_t)n, sizeof *idx, cmp_merge);
        for (int k = 0; k + 1 < n; k++)
            drop[idx[k]] = !memcmp(r->merges[idx[k]], r->merges[idx[k + 1]], sizeof *r->merges);
    }
    for (int i = 0; m && i < n; i++)
        if (!drop[i] && json_array_append_new(m, json_pack("[s%,s%]", r->tokens[r->merges[i][0]],
                                                           (size_t)r->lens[r->merges[i][0]], r->tokens[r->merges[i][1]],
                                                           (size_t)r->lens[r->merges[i][1]]))) {
            json_decref(m);
            m = NULL;
        }
    free(idx);
    free(drop);
    return m;
}

static json_t *model_json(const tokt_result *r, const tokt_options *o)
{
    const char *unk = tokt_unk_token(o);
    json_t *vocab = vocab_json(r);
    if (!vocab)
        return NULL;
    switch (o->type) {
    case TOKT_WORDPIECE:
        return json_pack("{s:s, s:s, s:s, s:i, s:o}", "type", "WordPiece", "unk_token", unk ? unk : "[UNK]",
                         "continuing_subword_prefix", o->prefix ? o->prefix : "##",
                         "max_input_chars_per_word", 100, "vocab", vocab);
    case TOKT_WORDLEVEL:
        return json_pack("{s:s, s:o, s:s}", "type", "WordLevel", "vocab", vocab, "unk_token",
                         unk ? unk : "<unk>");
    default: {
        json_t *merges = merges_json(r);
        if (!merges) {
            json_decref(vocab);
            return NULL;
        }
        return json_pack("{s:s, s:n, s:s?, s:s?, s:s?, s:b, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout",
                         "unk_token", unk, "continuing_subword_prefix", o->prefix, "end_of_word_suffix",
                         o->suffix, "fuse_unk", 0, "byte_fallback", 0, "ignore_merges", 0, "vocab", vocab,
                         "merges", merges);
    }
    }
}

static json_t *added_json(const tokt_result *r)
{
    json_t *a = json_array();
    for (int i = 0; a && i < r->n_special; i++)
        if (json_array_append_new(a, json_pack("{s:i, s:s, s:b, s:b, s:b, s:b, s:b}", "id", i, "content",
                                               r->tokens[i], "single_word", 0, "lstrip", 0, "rstrip", 0,
                                               "normalized", 0, "special", 1))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* The whole file, HF's key order. r NULL: the counting pipeline, without a model (only the
 * normalizer and pre-tokenizer run: tok_pretokenize). */
static json_t *tokenizer_json(const tokt_result *r, const tokt_options *o, const char *normalizer,
                              const char *pretok)
{
    json_t *model = r ? model_json(r, o) : json_null();
    if (!model)
        return NULL;
    return json_pack("{s:s, s:n, s:n, s:o, s:o, s:o, s:o, s:o, s:o}", "version", "1.0", "truncation",
                     "padding", "added_tokens", r ? added_json(r) : json_array(), "normalizer",
                     normalizer_json(normalizer), "pre_tokenizer", pretok_json(pretok), "post_processor",
                     r ? post_json(r) : json_null(), "decoder", r ? decoder_json(o, pretok) : json_null(),
                     "model", model);
}

char *tokt_pipeline_json(const char *normalizer, const char *pretok)
{
    json_t *j = tokenizer_json(NULL, NULL, normalizer, pretok);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

int tokt_write(const char *dir, const tokt_result *r, const tokt_options *o, const char *normalizer,
               const char *pretok, zb_err *err)
{
    char path[4096];
    int rc = zb_path_join(path, sizeof path, dir, "tokenizer.json", err);
    if (rc)
        return rc;
    json_t *j = tokenizer_json(r, o, normalizer, pretok);
    if (!j)
        return zb_fail(err, ZB_ENOMEM, "out of memory building %s", path);
    rc = json_dump_file(j, path, JSON_INDENT(2));
    json_decref(j);
    if (rc)
        return zb_fail(err, ZB_EIO, "%s: cannot write", path);
    if (o->type != TOKT_WORDPIECE)
        return 0;
    /* vocab.txt: one token per line in id order, what BERT loaders read without tokenizer.json */
    if ((rc = zb_path_join(path, sizeof path, dir, "vocab.txt", err)))
        return rc;
    FILE *f = fopen(path, "w");
    if (!f)
        return zb_fail(err, ZB_EIO, "%s: cannot create", path);
    for (int i = 0; i < r->n_ids; i++)
        if (fwrite(r->tokens[i], 1, r->lens[i], f) != r->lens[i] || fputc('\n', f) == EOF)
            break;
    if (fclose(f))
        return zb_fail(err, ZB_EIO, "%s: write failed", path);
    return 0;
}
