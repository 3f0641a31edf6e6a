/* Unit tests of the general pipeline (tok_comp.h) on small in-memory tokenizer.json files. The
 * expected outputs are HF tokenizers 0.23.2's (Node binding), from the experiments recorded in
 * shared/reference/hf-bpe-and-trainers.md §10 (E3, E5, E6, E7, E15) and re-run for this file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok.h"
#include "tok_load.h"
#include "zb_test.h"

static tok_tokenizer *load(const char *json)
{
    zb_err err;
    tok_tokenizer *t = tok_load_json(json, strlen(json), "test.json", &err);
    if (!t)
        fprintf(stderr, "  load: %s\n", err.msg);
    return t;
}

/* "tok[s,e] ..." of text, or "error: ..." */
static const char *enc(const tok_tokenizer *t, const char *a, const char *b)
{
    static char buf[4096];
    tok_encoding e;
    tok_options o;
    zb_err err;
    tok_encoding_init(&e);
    tok_options_default(t, &o);
    size_t k = 0;
    buf[0] = '\0';
    if (tok_encode(t, a, strlen(a), b, b ? strlen(b) : 0, &o, &e, &err)) {
        snprintf(buf, sizeof buf, "error: %s", err.msg);
    } else {
        for (int i = 0; i < e.n && k < sizeof buf - 128; i++) {
            const char *s = tok_id_to_token(t, e.ids[i]);
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s[%u,%u]%s", i ? " " : "", s ? s : "?",
                                  e.offsets[i].start, e.offsets[i].end, e.type_ids[i] ? "'" : "");
        }
    }
    tok_encoding_free(&e);
    return buf;
}

#define EXPECT(t, a, b, want)                                                            \
    do {                                                                                 \
        const char *got_ = enc(t, a, b);                                                 \
        if (strcmp(got_, want))                                                          \
            fprintf(stderr, "  %s\n    got  %s\n    want %s\n", a, got_, want);        \
        ZT_CHECK(!strcmp(got_, want));                                                   \
    } while (0)

#define BPE_HEAD "{\"version\":\"1.0\",\"normalizer\":null,\"pre_tokenizer\":null,\"post_processor\":null," \
                 "\"decoder\":null,\"added_tokens\":[],"

/* E3: one merge per step by rank, not GPT-2's all-occurrences loop; E5: the last duplicate rank
 * wins; same-pair overlaps go left to right. */
static void test_merge_order(void)
{
    tok_tokenizer *t = load(BPE_HEAD "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"c\":2,"
                            "\"ab\":3,\"aba\":4,\"bc\":5,\"aa\":6},\"merges\":[[\"ab\",\"a\"],[\"a\",\"b\"],"
                            "\"b c\",\"a b\",\"a a\"]}}");
    ZT_CHECK(t != NULL);
    if (!t) return;
    EXPECT(t, "abab", NULL, "aba[0,3] b[3,4]");
    EXPECT(t, "abc", NULL, "a[0,1] bc[1,3]");
    EXPECT(t, "aaaaa", NULL, "aa[0,2] aa[2,4] a[4,5]");
    tok_free(t);
}

/* E6: byte_fallback bytes come before a pending unk; without unk_token a char is dropped and the
 * offsets after it shift left (running sums). */
static void test_unk_and_bytes(void)
{
    tok_tokenizer *t = load(BPE_HEAD "\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"fuse_unk\":true,"
                            "\"byte_fallback\":true,\"vocab\":{\"<unk>\":0,\"<0xC3>\":1,\"<0xA9>\":2},"
                            "\"merges\":[]}}");
    ZT_CHECK(t != NULL);
    if (!t) return;
    EXPECT(t, "x\xc3\xa9", NULL, "<0xC3>[0,1] <0xA9>[1,2] <unk>[1,2]");
    EXPECT(t, "\xc3\xa9x", NULL, "<0xC3>[0,1] <0xA9>[0,1] <unk>[1,2]");
    EXPECT(t, "x\xc3\xa9y", NULL, "<0xC3>[0,1] <0xA9>[1,2] <unk>[1,3]");
    tok_free(t);
    t = load(BPE_HEAD "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[]}}");
    ZT_CHECK(t != NULL);
    if (!t) return;
    EXPECT(t, "axyb", NULL, "a[0,1] b[1,2]");
    tok_free(t);
}

/* E15: RobertaProcessing trims the Ġ of a token's offsets but keeps the first token's single
 * genuine space; type ids all 0; pair = <s> A </s></s> B </s>. */
static void test_roberta(void)
{
    static const char json[] =
        "{\"version\":\"1.0\",\"normalizer\":null,"
        "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true},"
        "\"post_processor\":{\"type\":\"RobertaProcessing\",\"sep\":[\"</s>\",2],\"cls\":[\"<s>\",0],"
        "\"trim_offsets\":true,\"add_prefix_space\":true},"
        "\"decoder\":{\"type\":\"ByteLevel\"},"
        "\"added_tokens\":[{\"id\":0,\"content\":\"<s>\",\"special\":true},{\"id\":2,\"content\":\"</s>\",\"special\":true}],"
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"<s>\":0,\"h\":1,\"</s>\":2,\"a\":3,\"\\u0120\":4,"
        "\"\\u0120h\":5,\"\\u0120a\":6},\"merges\":[\"\\u0120 h\",\"\\u0120 a\"]}}";
    tok_tokenizer *t = load(json);
    ZT_CHECK(t != NULL);
    if (!t) return;
    EXPECT(t, " h a", NULL, "<s>[0,0] \xc4\xa0h[0,2] \xc4\xa0" "a[3,4] </s>[0,0]");
    EXPECT(t, "h", "a", "<s>[0,0] \xc4\xa0h[0,1] </s>[0,0] </s>[0,0] \xc4\xa0" "a[0,1] </s>[0,0]");
    tok_free(t);
}

/* E7: added tokens. Leftmost-longest; a single_word token touching a word char is rejected but
 * consumes its span (no "b" inside "xab"); lstrip/rstrip widen the token's offsets; a normalized
 * token matches the normalized text; ids follow HF's numbering, not the file's (a token the
 * vocabulary has keeps its id: "ab" = 2; the others count on from the vocabulary size: 4, 5 ...).
 * Ids and offsets are HF 0.23.2's (HF's token strings for "<m>" and "HeLLo" are the matched
 * text: "  <m>  ", "hello"; tok_id_to_token gives the content). */
static void test_added_tokens(void)
{
    tok_tokenizer *t = load("{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[{\"id\":10,\"content\":\"ab\",\"single_word\":true,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":false},{\"id\":11,\"content\":\"b\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":false},{\"id\":12,\"content\":\"abc\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":false},{\"id\":13,\"content\":\"<m>\",\"single_word\":false,\"lstrip\":true,\"rstrip\":true,\"normalized\":false,\"special\":true},{\"id\":14,\"content\":\"HeLLo\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":true,\"special\":false}],\"normalizer\":{\"type\":\"Lowercase\"},\"pre_tokenizer\":{\"type\":\"WhitespaceSplit\"},\"post_processor\":null,\"decoder\":null,\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"[UNK]\":0,\"x\":1,\"ab\":2,\"y\":3},\"unk_token\":\"[UNK]\"}}");
    ZT_CHECK(t != NULL);
    if (!t) return;
    ZT_CHECK_EQ_INT(tok_token_to_id(t, "ab", 2), 2);
    ZT_CHECK_EQ_INT(tok_token_to_id(t, "b", 1), 4);
    ZT_CHECK_EQ_INT(tok_token_to_id(t, "HeLLo", 5), 7);
    EXPECT(t, "xab", NULL, "[UNK][0,3]");
    EXPECT(t, "ab x", NULL, "ab[0,2] x[3,4]");
    EXPECT(t, "abc abcd", NULL, "abc[0,3] abc[4,7] [UNK][7,8]");
    EXPECT(t, "x  <m>  y", NULL, "x[0,1] <m>[1,8] y[8,9]");
    EXPECT(t, "a HELLO hello b", NULL, "[UNK][0,1] HeLLo[2,7] HeLLo[8,13] b[14,15]");
    EXPECT(t, "xb ab.", NULL, "x[0,1] b[1,2] ab[3,5] [UNK][5,6]");
    EXPECT(t, "a<m>b", NULL, "[UNK][0,1] <m>[1,4] b[4,5]");
    tok_free(t);
}

/* Words for trainers: the ByteLevel pre-tokens, with added tokens as words of their own. */
static void test_pretokenize(void)
{
    static const char json[] =
        "{\"version\":\"1.0\",\"normalizer\":{\"type\":\"Lowercase\"},"
        "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true},"
        "\"post_processor\":null,\"decoder\":null,"
        "\"added_tokens\":[{\"id\":0,\"content\":\"<m>\",\"special\":true,\"normalized\":false}],"
        "\"model\":null}";
    zb_err err;
    tok_tokenizer *t = tok_load_pipeline_json(json, sizeof json - 1, "test.json", &err);
    ZT_CHECK(t != NULL);
    ZT_CHECK(tok_load_json(json, sizeof json - 1, "test.json", &err) == NULL);   /* as HF: no model */
    if (!t) return;
    tok_words ws;
    tok_words_init(&ws);
    ZT_CHECK_EQ_INT(tok_pretokenize(t, "Hi<m>it's 3 \xc3\xa9t\xc3\xa9", 17, 0, &ws, &err), 0);
    char buf[512] = "";
    size_t k = 0;
    for (int i = 0; i < ws.n; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s[%u,%u]", i ? "|" : "", ws.buf + ws.words[i].off,
                              ws.words[i].span.start, ws.words[i].span.end);
    const char *want = "hi[0,2]|<m>[2,5]|it[5,7]|'s[7,9]|\xc4\xa0" "3[9,11]|\xc4\xa0\xc3\x83\xc2\xa9t\xc3\x83\xc2\xa9[11,15]";
    if (strcmp(buf, want))
        fprintf(stderr, "  got  %s\n  want %s\n", buf, want);
    ZT_CHECK(!strcmp(buf, want));
    tok_encoding e;
    tok_options o;
    tok_encoding_init(&e);
    tok_options_default(t, &o);
    ZT_CHECK_EQ_INT(tok_encode(t, "a", 1, NULL, 0, &o, &e, &err), ZB_EUNSUPPORTED);
    tok_encoding_free(&e);
    tok_words_free(&ws);
    tok_free(t);
}

int main(void)
{
    ZT_RUN(test_merge_order);
    ZT_RUN(test_unk_and_bytes);
    ZT_RUN(test_roberta);
    ZT_RUN(test_added_tokens);
    ZT_RUN(test_pretokenize);
    return zt_done();
}
