/* Unit tests of the character- and word-level baselines (tok_baseline.h), on the real
 * paraphrase-MiniLM-L6-v2 tokenizer files from the shared folder (for its normalizer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_baseline.h"
#include "zb_test.h"

static tok_tokenizer *tk;

#define S(lit) lit, sizeof(lit) - 1

static tokb_model *trained(tokb_kind kind, int max_vocab, const char *const *texts, int n)
{
    zb_err err;
    tokb_model *m = tokb_new(tk, kind, &err);
    ZT_CHECK(m != NULL);
    for (int i = 0; i < n; i++)
        ZT_CHECK_EQ_INT(tokb_add(m, texts[i], strlen(texts[i]), &err), 0);
    ZT_CHECK_EQ_INT(tokb_build(m, max_vocab, &err), 0);
    return m;
}

/* Encodes text and checks the units it became, given as a space-separated list. */
static void check_units(const tokb_model *m, const char *text, size_t len, const char *want)
{
    tokb_encoding e;
    tokb_encoding_init(&e);
    zb_err err;
    ZT_CHECK_EQ_INT(tokb_encode(m, text, len, &e, &err), 0);
    char got[1024] = "";
    size_t o = 0;
    for (int i = 0; i < e.n && o < sizeof got - 64; i++)
        o += (size_t)snprintf(got + o, sizeof got - o, "%s%s", i ? " " : "", tokb_id_to_unit(m, e.ids[i]));
    if (strcmp(got, want))
        fprintf(stderr, "  units of '%.*s': got '%s', expected '%s'\n", (int)len, text, got, want);
    ZT_CHECK(!strcmp(got, want));
    tokb_encoding_free(&e);
}

static void test_word_vocab_and_oov(void)
{
    const char *train[] = {"The cat sat.", "The cat ran!"};
    tokb_model *m = trained(TOKB_WORD, 0, train, 2);
    ZT_CHECK_EQ_INT(tokb_distinct_units(m), 6);        /* the cat sat . ran ! */
    ZT_CHECK_EQ_INT(tokb_vocab_size(m), 7);            /* + [UNK] */
    check_units(m, S("THE Cat flew."), "the cat [UNK] .");
    tokb_encoding e;
    tokb_encoding_init(&e);
    ZT_CHECK_EQ_INT(tokb_encode(m, S("the dog, the fox"), &e, NULL), 0);
    ZT_CHECK_EQ_INT(e.n, 5);
    ZT_CHECK_EQ_INT(e.n_oov, 3);                        /* dog , fox */
    ZT_CHECK_EQ_INT(e.n_words, 5);
    ZT_CHECK_EQ_INT(e.n_words_split, 0);
    ZT_CHECK_EQ_INT(tokb_encode(m, S(""), &e, NULL), 0); /* reused encoding, empty text */
    ZT_CHECK_EQ_INT(e.n, 0);
    ZT_CHECK_EQ_INT(e.n_oov, 0);
    ZT_CHECK_EQ_INT(tokb_encode(m, S(" \t \xc2\xa0 "), &e, NULL), 0);
    ZT_CHECK_EQ_INT(e.n, 0);
    tokb_encoding_free(&e);
    tokb_free(m);
}

static void test_frequency_cut_is_deterministic(void)
{
    /* the x3, cat x2, sat x2, a x1: ties break bytewise ("cat" before "sat"). */
    const char *train[] = {"sat the cat", "the cat sat", "the a"};
    tokb_model *m = trained(TOKB_WORD, 3, train, 3);
    ZT_CHECK_EQ_INT(tokb_vocab_size(m), 3);
    ZT_CHECK(!strcmp(tokb_id_to_unit(m, 0), "[UNK]"));
    ZT_CHECK(!strcmp(tokb_id_to_unit(m, 1), "the"));
    ZT_CHECK(!strcmp(tokb_id_to_unit(m, 2), "cat"));
    ZT_CHECK(tokb_id_to_unit(m, 3) == NULL);
    ZT_CHECK(tokb_id_to_unit(m, -1) == NULL);
    ZT_CHECK_EQ_INT(tokb_unit_to_id(m, S("sat")), 0);
    check_units(m, S("the sat cat"), "the [UNK] cat");
    tokb_free(m);

    m = trained(TOKB_WORD, 1, train, 3);               /* only [UNK] */
    ZT_CHECK_EQ_INT(tokb_vocab_size(m), 1);
    check_units(m, S("the cat"), "[UNK] [UNK]");
    tokb_free(m);
}

static void test_word_uses_bert_normalizer_and_pretokenizer(void)
{
    /* Accents stripped and lowercased; zero-width and control chars removed (clean_text); CJK
     * padded to one char per word; every punctuation char its own word; NBSP separates. */
    const char *train[] = {"Café au lait"};
    tokb_model *m = trained(TOKB_WORD, 0, train, 1);
    check_units(m, S("CAFE\xc2\xa0" "cafe\xcc\x81 caf\xe2\x80\x8b" "e"), "cafe cafe cafe");
    check_units(m, S("au-lait"), "au [UNK] lait");
    tokb_free(m);

    const char *train2[] = {"\xe4\xb8\xad\xe6\x96\x87" "abc", "x...y"};   /* 中文abc */
    m = trained(TOKB_WORD, 0, train2, 2);
    ZT_CHECK_EQ_INT(tokb_distinct_units(m), 6);         /* 中 文 abc x . y */
    check_units(m, S("abc\xe6\x96\x87\xe4\xb8\xad"), "abc \xe6\x96\x87 \xe4\xb8\xad");
    check_units(m, S("y.x"), "y . x");
    tokb_free(m);
}

static void test_char_level(void)
{
    const char *train[] = {"H\xc3\xa9llo w\xc3\xb6rld"};                 /* Héllo wörld */
    tokb_model *m = trained(TOKB_CHAR, 0, train, 1);
    ZT_CHECK_EQ_INT(tokb_distinct_units(m), 7);         /* h e l o w r d */
    ZT_CHECK_EQ_INT(tokb_vocab_size(m), 8);
    check_units(m, S("Hello, World"), "h e l l o [UNK] w o r l d");
    /* An emoji with a skin tone is two code points; neither was seen. */
    tokb_encoding e;
    tokb_encoding_init(&e);
    ZT_CHECK_EQ_INT(tokb_encode(m, S("\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd"), &e, NULL), 0);
    ZT_CHECK_EQ_INT(e.n, 2);
    ZT_CHECK_EQ_INT(e.n_oov, 2);
    ZT_CHECK_EQ_INT(e.n_words, 1);
    ZT_CHECK_EQ_INT(e.n_words_split, 1);
    ZT_CHECK_EQ_INT(tokb_encode(m, S("a bc, d\xc3\xa9" "f!"), &e, NULL), 0);  /* a | bc | , | def | ! */
    ZT_CHECK_EQ_INT(e.n, 8);
    ZT_CHECK_EQ_INT(e.n_words, 5);
    ZT_CHECK_EQ_INT(e.n_words_split, 2);
    tokb_encoding_free(&e);
    ZT_CHECK(!strcmp(tokb_kind_name(tokb_get_kind(m)), "character"));
    tokb_free(m);
}

static void test_invalid_utf8_names_byte(void)
{
    zb_err err;
    tokb_model *m = tokb_new(tk, TOKB_WORD, &err);
    ZT_CHECK_EQ_INT(tokb_add(m, S("abc\xff" "def"), &err), ZB_EUTF8);
    ZT_CHECK(strstr(err.msg, "byte 3") != NULL);
    ZT_CHECK_EQ_INT(tokb_add(m, S("ok"), &err), 0);   /* training goes on */
    ZT_CHECK_EQ_INT(tokb_build(m, -1, &err), ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "-1") != NULL);
    ZT_CHECK_EQ_INT(tokb_build(m, 0, &err), 0);
    tokb_encoding e;
    tokb_encoding_init(&e);
    ZT_CHECK_EQ_INT(tokb_encode(m, S("ok \xe2\x82"), &e, &err), ZB_EUTF8);
    ZT_CHECK(strstr(err.msg, "byte 3") != NULL);
    ZT_CHECK_EQ_INT(tokb_encode(m, S("ok ok"), &e, &err), 0);
    ZT_CHECK_EQ_INT(e.n, 2);
    ZT_CHECK_EQ_INT(e.n_oov, 0);
    tokb_encoding_free(&e);
    tokb_free(m);
}

static void test_long_text_bounded(void)
{
    /* One word of n letters (word level: a single OOV unit), and n chars (char level: n units). */
    size_t n = getenv("ZEMBED_VALGRIND") ? 20000 : 1000000;
    char *big = malloc(n);
    ZT_CHECK(big != NULL);
    if (!big)
        return;
    memset(big, 'q', n);
    const char *train[] = {"q"};
    tokb_model *w = trained(TOKB_WORD, 0, train, 1), *c = trained(TOKB_CHAR, 0, train, 1);
    tokb_encoding e;
    tokb_encoding_init(&e);
    ZT_CHECK_EQ_INT(tokb_encode(w, big, n, &e, NULL), 0);
    ZT_CHECK_EQ_INT(e.n, 1);
    ZT_CHECK_EQ_INT(e.n_oov, 1);
    ZT_CHECK_EQ_INT(tokb_encode(c, big, n, &e, NULL), 0);
    ZT_CHECK_EQ_INT(e.n, (long long)n);
    ZT_CHECK_EQ_INT(e.n_oov, 0);
    tokb_encoding_free(&e);
    tokb_free(w);
    tokb_free(c);
    free(big);
}

/* Snowball stems: the forms of a word are one unit; punctuation stays; units are kept on request. */
static void test_stemming_and_units(void)
{
    zb_err err;
    tokb_model *m = tokb_new(tk, TOKB_WORD, &err);
    ZT_CHECK_EQ_INT(tokb_set_stemmer(m, "english", &err), 0);
    ZT_CHECK_EQ_INT(tokb_add(m, S("Walking walked, WALKS!"), &err), 0);
    ZT_CHECK_EQ_INT(tokb_build(m, 0, &err), 0);
    ZT_CHECK_EQ_INT(tokb_vocab_size(m), 4);           /* walk , ! + [UNK] */
    check_units(m, S("walk walking runs"), "walk walk [UNK]");
    tokb_encoding e;
    tokb_encoding_init(&e);
    e.keep_units = 1;
    ZT_CHECK_EQ_INT(tokb_encode(m, S("Walked runs"), &e, &err), 0);
    ZT_CHECK_EQ_INT(e.n, 2);
    ZT_CHECK(e.n == 2 && e.unit_off[1] == 4 && e.unit_off[2] == 7 && !memcmp(e.units, "walkrun", 7));
    tokb_encoding_free(&e);
    tokb_free(m);
    m = tokb_new(tk, TOKB_WORD, &err);
    ZT_CHECK_EQ_INT(tokb_set_stemmer(m, "klingon", &err), ZB_ENOTFOUND);
    ZT_CHECK(strstr(err.msg, "klingon") && strstr(err.msg, "english"));
    tokb_free(m);
    m = tokb_new(tk, TOKB_CHAR, &err);
    ZT_CHECK_EQ_INT(tokb_set_stemmer(m, "english", &err), ZB_EINVAL);
    tokb_free(m);
}

int main(void)
{
    char dir[4096];
    zt_repo_path(dir, sizeof dir, ZT_DEMO_VOCAB_DIR);     /* bert-base-uncased's vocab.txt */
    zb_err err;
    tk = tok_load(dir, &err);
    if (!tk) {
        fprintf(stderr, "cannot load %s: %s\n", dir, err.msg);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    ZT_RUN(test_word_vocab_and_oov);
    ZT_RUN(test_frequency_cut_is_deterministic);
    ZT_RUN(test_word_uses_bert_normalizer_and_pretokenizer);
    ZT_RUN(test_char_level);
    ZT_RUN(test_invalid_utf8_names_byte);
    ZT_RUN(test_long_text_bounded);
    ZT_RUN(test_stemming_and_units);
    tok_free(tk);
    return zt_done();
}
