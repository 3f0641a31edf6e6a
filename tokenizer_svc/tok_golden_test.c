/* Every normalizer, pre-tokenizer and decoder of the general pipeline against HF tokenizers'
 * own outputs (tok_golden.json, written by tok_golden.js with the Node binding 0.23.2):
 * normalized strings and their alignments, pre-tokens with their spans, decoded texts. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok.h"
#include "zb_test.h"

static json_t *cases;

static tok_tokenizer *load_case(json_t *c, json_t *vocab)
{
    json_t *j = json_pack("{s:s, s:n, s:n, s:[], s:n, s:n, s:n, s:n, s:{s:s, s:O, s:s}}", "version", "1.0",
                          "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer",
                          "post_processor", "decoder", "model", "type", "WordLevel", "vocab", vocab,
                          "unk_token", "[UNK]");
    json_object_update(j, json_object_get(c, "tokenizer"));
    char *s = json_dumps(j, 0);
    zb_err err;
    tok_tokenizer *t = tok_load_json(s, strlen(s), "golden", &err);
    if (!t)
        fprintf(stderr, "  %s: %s\n", s, err.msg);
    free(s);
    json_decref(j);
    return t;
}

static int check_words(const char *what, const char *input, const tok_words *ws, json_t *want)
{
    int ok = ws->n == (int)json_array_size(want);
    for (int i = 0; ok && i < ws->n; i++) {
        json_t *w = json_array_get(want, (size_t)i), *sp = json_array_get(w, 1);
        ok = !strcmp(ws->buf + ws->words[i].off, json_string_value(json_array_get(w, 0))) &&
             ws->words[i].span.start == json_integer_value(json_array_get(sp, 0)) &&
             ws->words[i].span.end == json_integer_value(json_array_get(sp, 1));
    }
    if (!ok) {
        fprintf(stderr, "  %s on \"%s\":\n    got ", what, input);
        for (int i = 0; i < ws->n; i++)
            fprintf(stderr, " [%s %u,%u]", ws->buf + ws->words[i].off, ws->words[i].span.start, ws->words[i].span.end);
        char *d = json_dumps(want, JSON_ENSURE_ASCII);
        fprintf(stderr, "\n    want %s\n", d);
        free(d);
    }
    return ok;
}

static void test_normalizers_and_pretokenizers(void)
{
    json_t *unk = json_pack("{s:i}", "[UNK]", 0);
    size_t i;
    json_t *c;
    int n_norm = 0, n_pre = 0;
    json_array_foreach(cases, i, c) {
        json_t *inputs = json_object_get(c, "inputs"), *norm = json_object_get(c, "normalized"),
               *offs = json_object_get(c, "offsets"), *words = json_object_get(c, "words");
        if (!inputs)
            continue;
        char *what = json_dumps(json_object_get(c, "tokenizer"), JSON_ENSURE_ASCII | JSON_COMPACT);
        tok_tokenizer *t = load_case(c, unk);
        ZT_CHECK(t != NULL);
        tok_words ws;
        tok_words_init(&ws);
        size_t k;
        json_t *in;
        json_array_foreach(inputs, k, in) {
            if (!t)
                break;
            zb_err err;
            int rc = tok_pretokenize(t, json_string_value(in), json_string_length(in), 0, &ws, &err);
            ZT_CHECK_EQ_INT(rc, 0);
            if (norm) {
                /* every normalized char is a word (Split [\s\S]): joined = the normalized text,
                 * spans = HF's alignments */
                char joined[4096] = "";
                size_t jl = 0;
                for (int w = 0; w < ws.n && jl + ws.words[w].len < sizeof joined; w++) {
                    memcpy(joined + jl, ws.buf + ws.words[w].off, ws.words[w].len);
                    jl += ws.words[w].len;
                }
                joined[jl] = '\0';
                const char *want = json_string_value(json_array_get(norm, k));
                if (strcmp(joined, want))
                    fprintf(stderr, "  %s on \"%s\": got \"%s\", want \"%s\"\n", what, json_string_value(in), joined, want);
                ZT_CHECK(!strcmp(joined, want));
                json_t *o = json_array_get(offs, k);
                int ok = ws.n == (int)json_array_size(o);
                for (int w = 0; ok && w < ws.n; w++)
                    ok = ws.words[w].span.start == json_integer_value(json_array_get(json_array_get(o, (size_t)w), 0)) &&
                         ws.words[w].span.end == json_integer_value(json_array_get(json_array_get(o, (size_t)w), 1));
                if (!ok) {
                    fprintf(stderr, "  %s alignments on \"%s\":", what, json_string_value(in));
                    for (int w = 0; w < ws.n; w++)
                        fprintf(stderr, " %u,%u", ws.words[w].span.start, ws.words[w].span.end);
                    char *d = json_dumps(o, 0);
                    fprintf(stderr, "\n    want %s\n", d);
                    free(d);
                }
                ZT_CHECK(ok);
            } else {
                ZT_CHECK(check_words(what, json_string_value(in), &ws, json_array_get(words, k)));
            }
        }
        n_norm += norm != NULL;
        n_pre += words != NULL;
        tok_words_free(&ws);
        tok_free(t);
        free(what);
    }
    ZT_CHECK(n_norm >= 15 && n_pre >= 20);
    json_decref(unk);
}

static void test_decoders(void)
{
    size_t i;
    json_t *c;
    int n = 0;
    json_array_foreach(cases, i, c) {
        json_t *tokens = json_object_get(c, "tokens");
        if (!tokens)
            continue;
        json_t *vocab = json_pack("{s:i}", "[UNK]", 0);
        int32_t ids[64];
        size_t k;
        json_t *tk;
        json_array_foreach(tokens, k, tk) {
            const char *s = json_string_value(tk);
            if (!json_object_get(vocab, s))
                json_object_set_new(vocab, s, json_integer((json_int_t)json_object_size(vocab)));
            ids[k] = (int32_t)json_integer_value(json_object_get(vocab, s));
        }
        tok_tokenizer *t = load_case(c, vocab);
        ZT_CHECK(t != NULL);
        char *out = NULL;
        zb_err err;
        if (t) {
            ZT_CHECK_EQ_INT(tok_decode(t, ids, (int)json_array_size(tokens), 0, &out, &err), 0);
            const char *want = json_string_value(json_object_get(c, "text"));
            if (out && strcmp(out, want)) {
                char *d = json_dumps(json_object_get(c, "tokenizer"), JSON_ENSURE_ASCII);
                fprintf(stderr, "  %s: got \"%s\", want \"%s\"\n", d, out, want);
                free(d);
            }
            ZT_CHECK(out && !strcmp(out, want));
        }
        free(out);
        tok_free(t);
        json_decref(vocab);
        n++;
    }
    ZT_CHECK(n >= 10);
}

int main(void)
{
    const char *root = getenv("ZEMBED_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer_svc/tok_golden.json", root ? root : ".");
    json_error_t je;
    json_t *g = json_load_file(path, JSON_ALLOW_NUL, &je);
    if (!g) {
        fprintf(stderr, "cannot read %s: %s\n0 passed, 1 failed\n", path, je.text);
        return 1;
    }
    cases = json_object_get(g, "cases");
    ZT_RUN(test_normalizers_and_pretokenizers);
    ZT_RUN(test_decoders);
    json_decref(g);
    return zt_done();
}
