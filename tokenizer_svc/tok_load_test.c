/* Unit tests of tok_load: both folder layouts, max_length defaults, added-token options, and
 * clear errors for missing, corrupt or unsupported files. Model folders are written to a temp
 * directory from the real paraphrase-MiniLM-L6-v2 files (shared folder), edited with jansson.
 * Expected encodings were checked against HF tokenizers 0.23.2 (Node binding). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tok.h"
#include "zb_test.h"

static char src[4096];
static const char *tmp;   /* zt_tmpdir() */
static json_t *base;                                   /* the real tokenizer.json */
static json_t *small;                                  /* the same with ids < 1000 only: the
                                                        * error cases parse fast under valgrind */
/* The tests that edit the real tokenizer.json (../shared, not in a clone) skip without it. */
#define NEED_SHARED_MODEL(file) ZT_NEED_SHARED("models/paraphrase-MiniLM-L6-v2/" file)

static void path_in(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

static void copy_file(const char *name)
{
    char p[4200], q[4200];
    path_in(p, sizeof p, src, name);
    path_in(q, sizeof q, tmp, name);
    FILE *in = fopen(p, "rb"), *out = fopen(q, "wb");
    ZT_CHECK(in && out);
    char buf[65536];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    if (in) fclose(in);
    if (out) fclose(out);
}

static void clear_dir(void)
{
    static const char *const names[] = {"tokenizer.json", "vocab.txt", "tokenizer_config.json",
                                        "sentence_bert_config.json"};
    char p[4200];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        path_in(p, sizeof p, tmp, names[i]);
        unlink(p);
    }
}

/* Write from with one top-level key replaced (value is parsed JSON; the reference is stolen). */
static void write_json_from(json_t *from, const char *key, json_t *value)
{
    json_t *j = json_deep_copy(from);
    if (key)
        json_object_set_new(j, key, value);
    char p[4200];
    path_in(p, sizeof p, tmp, "tokenizer.json");
    ZT_CHECK_EQ_INT(json_dump_file(j, p, 0), 0);
    json_decref(j);
}

static void write_json_with(const char *key, json_t *value) { write_json_from(small, key, value); }

static json_t *js(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    if (!j)
        fprintf(stderr, "  bad test JSON: %s\n", e.text);
    return j;
}

/* Load tmp and expect failure with code and a message containing want. */
static void expect_fail(int code, const char *want)
{
    zb_err err;
    zb_clear(&err);
    tok_tokenizer *t = tok_load(tmp, &err);
    ZT_CHECK(t == NULL);
    tok_free(t);
    ZT_CHECK_EQ_INT(err.code, code);
    if (!strstr(err.msg, want))
        fprintf(stderr, "  message '%s' lacks '%s'\n", err.msg, want);
    ZT_CHECK(strstr(err.msg, want) != NULL);
}

static const char *tokens_of(const tok_tokenizer *t, const char *text)
{
    static char buf[2048];
    tok_encoding e;
    tok_options o;
    zb_err err;
    tok_encoding_init(&e);
    tok_options_default(t, &o);
    buf[0] = '\0';
    if (tok_encode(t, text, strlen(text), NULL, 0, &o, &e, &err)) {
        snprintf(buf, sizeof buf, "error: %s", err.msg);
    } else {
        size_t n = 0;
        for (int i = 0; i < e.n && n < sizeof buf - 64; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s[%u,%u]", i ? " " : "",
                                  tok_id_to_token(t, e.ids[i]), e.offsets[i].start, e.offsets[i].end);
    }
    tok_encoding_free(&e);
    return buf;
}

static void expect_tokens(const tok_tokenizer *t, const char *text, const char *want)
{
    const char *got = tokens_of(t, text);
    if (strcmp(got, want))
        fprintf(stderr, "  '%s':\n    got      %s\n    expected %s\n", text, got, want);
    ZT_CHECK(!strcmp(got, want));
}

static void test_missing(void)
{
    zb_err err;
    tok_tokenizer *t = tok_load("/nonexistent/zembed-model", &err);
    ZT_CHECK(t == NULL);
    ZT_CHECK_EQ_INT(err.code, ZB_ENOTFOUND);
    ZT_CHECK(strstr(err.msg, "/nonexistent/zembed-model") != NULL);
    clear_dir();
    expect_fail(ZB_ENOTFOUND, "no tokenizer.json and no vocab.txt");
}

/* HF refuses a tokenizer.json without a model ("Model missing") or with "model": null, and loads an
 * empty BPE vocabulary (it then encodes everything to nothing): so do we. The fuzzer found the first. */
static void test_model_missing_or_empty(void)
{
    clear_dir();
    zt_write("tokenizer.json", "{\"version\": \"1.0\", \"added_tokens\": [], \"normalizer\": null, "
                               "\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"mo)del\": {}}", 0644);
    expect_fail(ZB_EFORMAT, "tokenizer.json: model: missing");
    zt_write("tokenizer.json", "{\"version\": \"1.0\", \"model\": null}", 0644);
    expect_fail(ZB_EFORMAT, "model: expected an object");
    zt_write("tokenizer.json", "{\"version\": \"1.0\", \"added_tokens\": [], \"pre_tokenizer\": "
                               "{\"type\": \"Whitespace\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, "
                               "\"merges\": []}}", 0644);
    zb_err err;
    zb_clear(&err);
    tok_tokenizer *t = tok_load(tmp, &err);
    ZT_CHECK(t != NULL);
    if (t) {
        ZT_CHECK_EQ_INT(tok_vocab_size(t), 0);
        ZT_CHECK(!strcmp(tokens_of(t, "hello x"), ""));
    }
    tok_free(t);
}

static void test_corrupt_json(void)
{
    NEED_SHARED_MODEL("tokenizer.json");
    clear_dir();
    zt_write("tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0,", 0644);
    expect_fail(ZB_EFORMAT, "tokenizer.json: invalid JSON at line");
    write_json_with("model", js("{\"type\": \"WordPiece\", \"vocab\": [1, 2]}"));
    expect_fail(ZB_EFORMAT, "model.vocab");
    write_json_with("model", js("{\"type\": \"WordPiece\", \"vocab\": {\"a\": -3, \"[UNK]\": 1}}"));
    expect_fail(ZB_EFORMAT, "model.vocab[\"a\"]");
    write_json_with("model", js("{\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}"));
    expect_fail(ZB_EFORMAT, "'[UNK]' is not in the vocabulary");
    write_json_with("normalizer", js("{\"type\": \"BertNormalizer\", \"lowercase\": \"yes\"}"));
    expect_fail(ZB_EFORMAT, "normalizer.lowercase");
    write_json_with("added_tokens", js("[{\"id\": 5, \"content\": 7}]"));
    expect_fail(ZB_EFORMAT, "added_tokens[0].content");
    write_json_with("post_processor", js("{\"type\": \"TemplateProcessing\", \"single\": "
                                         "[{\"SpecialToken\": {\"id\": \"[X]\", \"type_id\": 0}}], "
                                         "\"pair\": [], \"special_tokens\": {}}"));
    expect_fail(ZB_EFORMAT, "special_tokens[\"[X]\"]");
    write_json_with("truncation", js("{\"max_length\": \"long\"}"));
    expect_fail(ZB_EFORMAT, "truncation.max_length");
    write_json_with("post_processor", js("{\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 102], "
                                         "\"cls\": [\"[CLS]\", 99999]}"));
    expect_fail(ZB_EFORMAT, "special token id 99999 is not in the vocabulary");
    write_json_with("padding", js("{\"pad_id\": 5000}"));
    expect_fail(ZB_EFORMAT, "padding.pad_id 5000");
}

static void test_unsupported(void)
{
    NEED_SHARED_MODEL("tokenizer.json");
    clear_dir();
    /* what the general pipeline (tok_comp.h) does not implement yet, each named */
    write_json_with("model", js("{\"type\": \"Unigram\", \"vocab\": []}"));
    expect_fail(ZB_EUNSUPPORTED, "model type 'Unigram'");
    write_json_with("pre_tokenizer", js("{\"type\": \"UnicodeScripts\"}"));
    expect_fail(ZB_EUNSUPPORTED, "pre_tokenizer: pre-tokenizer type 'UnicodeScripts'");
    write_json_with("normalizer", js("{\"type\": \"Precompiled\", \"precompiled_charsmap\": \"\"}"));
    expect_fail(ZB_EUNSUPPORTED, "normalizer: normalizer type 'Precompiled'");
    write_json_with("post_processor", js("{\"type\": \"Nonesuch\"}"));
    expect_fail(ZB_EUNSUPPORTED, "post_processor: post-processor type 'Nonesuch'");
    write_json_with("decoder", js("{\"type\": \"CTC\"}"));
    expect_fail(ZB_EUNSUPPORTED, "decoder: decoder type 'CTC'");
    write_json_with("model", js("{\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a a\"], "
                                "\"dropout\": 0.1}"));
    expect_fail(ZB_EUNSUPPORTED, "model.dropout");
    write_json_with("model", js("{\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}"));
    expect_fail(ZB_EFORMAT, "model.merges[0]: token 'b' is not in the vocabulary");
    write_json_with("model", js("{\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a a\"]}"));
    expect_fail(ZB_EFORMAT, "model.merges[0]: the merged token 'aa' is not in the vocabulary");
    write_json_with("model", js("{\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a a a\"]}"));
    expect_fail(ZB_EFORMAT, "model.merges[0] \"a a a\": expected two tokens");
}

static void test_vocab_txt_layout(void)
{
    NEED_SHARED_MODEL("tokenizer_config.json");
    clear_dir();
    copy_file("vocab.txt");
    copy_file("tokenizer_config.json");
    zb_err err;
    tok_tokenizer *t = tok_load(tmp, &err);
    ZT_CHECK(t != NULL);
    if (!t) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    expect_tokens(t, "Héllo [MASK]wörld 中文!",
                  "[CLS][0,0] hello[0,5] [MASK][6,12] world[12,17] 中[18,19] 文[19,20] ![20,21] [SEP][0,0]");
    ZT_CHECK_EQ_INT(tok_vocab_size(t), 30522);
    ZT_CHECK_EQ_INT(tok_max_length(t), 512);
    ZT_CHECK_EQ_INT(tok_special_id(t, "pad"), 0);
    tok_free(t);

    /* do_lower_case false: a cased tokenizer keeps accents too (strip_accents follows it) */
    zt_write("tokenizer_config.json", "{\"do_lower_case\": false, \"model_max_length\": 1e30}", 0644);
    t = tok_load(tmp, &err);
    ZT_CHECK(t != NULL);
    if (t) {
        expect_tokens(t, "Hello", "[CLS][0,0] [UNK][0,5] [SEP][0,0]");
        ZT_CHECK_EQ_INT(tok_max_length(t), 512);     /* 1e30 means "no limit": ignored */
        tok_free(t);
    }
}

static void test_max_length_sources(void)
{
    NEED_SHARED_MODEL("tokenizer.json");
    clear_dir();
    write_json_with("truncation", js("{\"max_length\": 200, \"strategy\": \"OnlyFirst\", "
                                     "\"direction\": \"Left\", \"stride\": 0}"));
    zb_err err;
    tok_tokenizer *t = tok_load(tmp, &err);
    ZT_CHECK(t != NULL);
    if (t) {
        tok_options o;
        tok_options_default(t, &o);
        ZT_CHECK_EQ_INT(tok_max_length(t), 200);
        ZT_CHECK_EQ_INT(o.strategy, TOK_ONLY_FIRST);
        ZT_CHECK_EQ_INT(o.direction, TOK_LEFT);
        tok_free(t);
    }
    int fixed = -1, multiple = -1;
    t = tok_load(tmp, &err);
    ZT_CHECK(t && tok_padding_default(t, &fixed, &multiple) == 0 && fixed == 0 && multiple == 0);
    tok_free(t);
    write_json_with("padding", js("{\"strategy\": {\"Fixed\": 128}, \"direction\": \"Right\", "
                                  "\"pad_to_multiple_of\": 8, \"pad_id\": 0, \"pad_type_id\": 0, \"pad_token\": \"[PAD]\"}"));
    t = tok_load(tmp, &err);
    ZT_CHECK(t && tok_padding_default(t, &fixed, &multiple) == 1 && fixed == 128 && multiple == 8);
    tok_free(t);
    write_json_with("padding", js("{\"strategy\": \"BatchLongest\", \"direction\": \"Left\"}"));
    expect_fail(ZB_EUNSUPPORTED, "padding.direction 'Left'");
    write_json_with(NULL, NULL);
    zt_write("sentence_bert_config.json", "{\"max_seq_length\": 128, \"do_lower_case\": false}", 0644);
    t = tok_load(tmp, &err);
    ZT_CHECK(t && tok_max_length(t) == 128);
    tok_free(t);
    zt_write("sentence_bert_config.json", "{\"max_seq_length\": -4}", 0644);
    expect_fail(ZB_EFORMAT, "sentence_bert_config.json: max_seq_length");
}

static void test_added_token_options(void)
{
    NEED_SHARED_MODEL("tokenizer.json");
    clear_dir();
    json_t *added = json_deep_copy(json_object_get(base, "added_tokens"));
    /* normalized: matched in the normalized (lowercased, accent-free) text */
    json_array_append_new(added, js("{\"id\": 30522, \"content\": \"Ünïcode\", \"single_word\": false, "
                                    "\"lstrip\": false, \"rstrip\": false, \"normalized\": true, \"special\": false}"));
    /* lstrip + rstrip swallow the spaces around it */
    json_array_append_new(added, js("{\"id\": 30523, \"content\": \"<x>\", \"single_word\": false, "
                                    "\"lstrip\": true, \"rstrip\": true, \"normalized\": false, \"special\": true}"));
    /* normalizes to nothing (a lone combining mark): we never match it. HF 0.23 puts the empty
     * pattern in its automaton, which then splits the whole text into single characters; we
     * deliberately do not copy that (a known deviation, see the report of issue 2). */
    json_array_append_new(added, js("{\"id\": 30525, \"content\": \"\\u0301\", \"single_word\": false, "
                                    "\"lstrip\": false, \"rstrip\": false, \"normalized\": true, \"special\": false}"));
    /* single_word: not inside a word */
    json_array_append_new(added, js("{\"id\": 30524, \"content\": \"zq\", \"single_word\": true, "
                                    "\"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": false}"));
    write_json_from(base, "added_tokens", added);
    zb_err err;
    tok_tokenizer *t = tok_load(tmp, &err);
    ZT_CHECK(t != NULL);
    if (!t) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    ZT_CHECK_EQ_INT(tok_vocab_size(t), 30526);
    expect_tokens(t, "an UNICODE test", "[CLS][0,0] an[0,2] Ünïcode[3,10] test[11,15] [SEP][0,0]");
    expect_tokens(t, "a  <x>  b", "[CLS][0,0] a[0,1] <x>[1,8] b[8,9] [SEP][0,0]");
    expect_tokens(t, "zq xzq zq.", "[CLS][0,0] zq[0,2] x[3,4] ##z[4,5] ##q[5,6] zq[7,9] .[9,10] [SEP][0,0]");
    int32_t ids[] = {101, 30523, 2019, 102};
    char *s = NULL;
    ZT_CHECK_EQ_INT(tok_decode(t, ids, 4, 1, &s, &err), 0);
    ZT_CHECK(s && !strcmp(s, "an"));
    free(s);
    tok_free(t);
}

int main(void)
{
    snprintf(src, sizeof src, "%s/models/paraphrase-MiniLM-L6-v2", ZT_SHARED());
    char p[4200];
    path_in(p, sizeof p, src, "tokenizer.json");
    json_error_t je;
    base = json_load_file(p, 0, &je);
    if (base) {
        small = json_deep_copy(base);
        json_t *v = json_object_get(json_object_get(small, "model"), "vocab");
        const char *k;
        json_t *id;
        void *it;
        json_object_foreach_safe(v, it, k, id) {
            if (json_integer_value(id) >= 1000)
                json_object_del(v, k);
        }
    }
    tmp = zt_tmpdir("tok_load_test");
    ZT_RUN(test_missing);
    ZT_RUN(test_corrupt_json);
    ZT_RUN(test_model_missing_or_empty);
    ZT_RUN(test_unsupported);
    ZT_RUN(test_vocab_txt_layout);
    ZT_RUN(test_max_length_sources);
    ZT_RUN(test_added_token_options);
    json_decref(base);
    json_decref(small);
    return zt_done();
}
