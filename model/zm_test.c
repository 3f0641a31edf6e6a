/* zm's self-test, and its usage example: open a model folder (all of it, or only the parts a
 * service needs), read what it settled, turn texts into vectors in one call, and see the same
 * numbers as the separate tokenize -> encode -> pool steps. The model folders are generated
 * (enc_genmodel) in a temporary folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enc.h"
#include "enc_embed.h"
#include "enc_genmodel.h"
#include "pool.h"
#include "tok.h"
#include "zb_test.h"
#include "zm.h"

static const char *base;   /* zt_tmpdir() */

static const char *const words[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "man", "is",
                                    "playing", "guitar", "someone", "plays", "music", "the", "dog",
                                    "runs", ".", "##s", NULL};

/* A model folder base/name: BERT with max_position positions; sentence_bert_config.json then says
 * max_seq_length (which may exceed the positions, as real folders sometimes do). */
static const char *make_model(const char *name, int max_position, int max_seq_length,
                              const char *pooling, char *out, size_t cap)
{
    char vocab[320];
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", base);
    FILE *f = fopen(vocab, "w");
    for (int i = 0; words[i]; i++)
        fprintf(f, "%s\n", words[i]);
    fclose(f);
    enc_genmodel_opts o;
    enc_genmodel_preset("tiny", &o, NULL);
    o.max_position = max_position;
    o.max_seq_length = max_seq_length < max_position ? max_seq_length : max_position;
    o.pooling = pooling;
    snprintf(out, cap, "%s/%s", base, name);
    zb_err e;
    if (enc_genmodel_write(out, vocab, &o, &e)) {
        fprintf(stderr, "  gen-model: %s\n", e.msg);
        return NULL;
    }
    if (max_seq_length > max_position) {
        char p[400];
        snprintf(p, sizeof p, "%s/sentence_bert_config.json", out);
        f = fopen(p, "w");
        fprintf(f, "{\"max_seq_length\": %d, \"do_lower_case\": false}\n", max_seq_length);
        fclose(f);
    }
    return out;
}

/* The usage example: every part, the model's own settings, one call from texts to vectors. */
static void test_open_and_encode(void)
{
    char dir[320];
    ZT_CHECK(make_model("m", 128, 64, "mean", dir, sizeof dir));
    zb_err err;
    zm_model *m = zm_open(dir, NULL, &err);
    ZT_CHECK(m != NULL);
    if (!m)
        return;
    const zm_info *in = zm_info_get(m);
    ZT_CHECK(!strcmp(in->name, "zembed/gen-model") && in->demo == 1);
    ZT_CHECK(!strcmp(in->model_type, "bert") && in->hidden == 32 && in->layers == 2);
    ZT_CHECK_EQ_INT(in->max_position, 128);
    ZT_CHECK_EQ_INT(in->max_length, 64);            /* sentence_bert_config.json's */
    ZT_CHECK_EQ_INT(in->vocab_size, 18);
    ZT_CHECK(in->dim == 32 && in->normalize == 0 && !strcmp(in->pooling, "mean"));

    const char *texts[] = {"A man is playing a guitar.", "Someone plays music.", ""};
    float v[3 * 32];
    ZT_CHECK_EQ_INT(zm_encode(m, texts, NULL, 3, v, &err), ZB_OK);

    /* the same numbers as the separate steps every service takes */
    tok_options o;
    zm_tok_options(m, &o);
    int32_t ids[64 * 3], types[64 * 3];
    int lens[3], at = 0;
    for (int i = 0; i < 3; i++) {
        tok_encoding e;
        tok_encoding_init(&e);
        ZT_CHECK_EQ_INT(tok_encode(zm_tokenizer(m), texts[i], strlen(texts[i]), NULL, 0, &o, &e, &err), ZB_OK);
        memcpy(ids + at, e.ids, sizeof *ids * e.n);
        memcpy(types + at, e.type_ids, sizeof *types * e.n);
        lens[i] = e.n;
        at += e.n;
        tok_encoding_free(&e);
    }
    ZT_CHECK_EQ_INT(lens[0], 9);                   /* [CLS] a man is playing a guitar . [SEP] */
    float w[3 * 32];
    ZT_CHECK_EQ_INT(enc_embed_sentences(zm_runner(m), zm_pooling(m), ids, types, lens, 3, w, &err), ZB_OK);
    ZT_CHECK(!memcmp(v, w, sizeof v));
    ZT_CHECK(fabsf(v[0] - v[32]) > 1e-6f);         /* different texts, different vectors */

    /* overrides are settled at open: cls pooling, normalized */
    zm_open_opts oo;
    zm_open_opts_default(&oo);
    oo.pooling = POOL_CLS;
    oo.normalize = 1;
    zm_model *m2 = zm_open(dir, &oo, &err);
    ZT_CHECK(m2 && !strcmp(zm_info_get(m2)->pooling, "cls") && zm_info_get(m2)->normalize == 1);
    if (m2) {
        ZT_CHECK_EQ_INT(zm_encode(m2, texts, NULL, 2, w, &err), ZB_OK);
        double n2 = 0;
        for (int k = 0; k < 32; k++)
            n2 += (double)w[k] * w[k];
        ZT_CHECK_NEAR(n2, 1.0, 1e-5);
    }
    zm_close(&m2);
    zm_close(&m);
    ZT_CHECK(m == NULL);
    zm_close(&m);                                   /* closing twice is harmless */
}

/* The bug this handle fixes: a tokenizer that allows more tokens than the model has positions.
 * max_length is capped once, here, for every path; asking for more is refused by name. */
static void test_max_length_capped_by_positions(void)
{
    char dir[320];
    ZT_CHECK(make_model("short", 16, 128, "mean", dir, sizeof dir));
    zb_err err;
    zm_model *m = zm_open(dir, NULL, &err);
    ZT_CHECK(m != NULL);
    if (!m)
        return;
    ZT_CHECK_EQ_INT(zm_info_get(m)->max_position, 16);
    ZT_CHECK_EQ_INT(zm_info_get(m)->max_length, 16);
    char long_text[700] = "";
    for (int i = 0; i < 40; i++)
        strcat(long_text, "the dog runs . ");
    const char *texts[] = {long_text};
    float v[32];
    ZT_CHECK_EQ_INT(zm_encode(m, texts, NULL, 1, v, &err), ZB_OK);     /* cut to 16, not refused */
    zm_close(&m);

    /* the tokenizer alone (tokenizer_svc) settles the same max_length: config.json is read */
    zm_open_opts o;
    zm_open_opts_default(&o);
    o.parts = ZM_TOKENIZER;
    m = zm_open(dir, &o, &err);
    ZT_CHECK(m && zm_info_get(m)->max_length == 16 && !zm_weights(m) && !zm_pooling(m));
    zm_close(&m);

    o.max_length = 17;
    ZT_CHECK(zm_open(dir, &o, &err) == NULL);
    ZT_CHECK_EQ_INT(err.code, ZB_ERANGE);
    ZT_CHECK(strstr(err.msg, "max_length 17") && strstr(err.msg, "max_position_embeddings 16"));

    o.max_length = 8;
    o.no_truncate = 1;
    o.parts = ZM_ALL;
    m = zm_open(dir, &o, &err);
    ZT_CHECK(m && zm_info_get(m)->max_length == 8);
    if (m) {
        const char *two[] = {"a man", long_text};
        float w[64];
        ZT_CHECK_EQ_INT(zm_encode(m, two, NULL, 2, w, &err), ZB_ETOOLONG);
        ZT_CHECK(strstr(err.msg, "texts[1]") != NULL);
    }
    zm_close(&m);

    o.no_truncate = 0;
    o.batch_tokens = 4;                              /* a forward pass smaller than a text */
    ZT_CHECK(zm_open(dir, &o, &err) == NULL && err.code == ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "batch_tokens 4 is less than max_length 8") != NULL);
}

/* Each service opens what it needs; folders that are not models are refused by name. */
static void test_parts_and_refusals(void)
{
    char dir[320];
    ZT_CHECK(make_model("parts", 64, 32, "max", dir, sizeof dir));
    zb_err err;
    zm_open_opts o;
    zm_open_opts_default(&o);
    o.parts = ZM_POOLING;                            /* pooler_svc */
    zm_model *m = zm_open(dir, &o, &err);
    ZT_CHECK(m && !zm_tokenizer(m) && !zm_weights(m) && !zm_runner(m) && zm_config(m));
    ZT_CHECK(m && zm_info_get(m)->dim == 32 && !strcmp(zm_info_get(m)->pooling, "max"));
    ZT_CHECK(m && zm_info_get(m)->max_length == 0);  /* the tokenizer's business */
    if (m)
        ZT_CHECK_EQ_INT(zm_encode(m, (const char *const[]){"a"}, NULL, 1, NULL, &err), ZB_EINVAL);
    zm_close(&m);
    o.parts = ZM_WEIGHTS;                            /* encoder_svc */
    o.batch_tokens = 100;
    m = zm_open(dir, &o, &err);
    ZT_CHECK(m && zm_weights(m) && zm_runner(m) && !zm_tokenizer(m) && !zm_pooling(m));
    ZT_CHECK(m && enc_runner_max_tokens(zm_runner(m)) == 100);
    zm_close(&m);

    /* a tokenizer-only folder (no config.json) opens for the tokenizer, not for the rest */
    char p[400];
    snprintf(p, sizeof p, "%s/config.json", dir);
    ZT_CHECK(unlink(p) == 0);
    o.parts = ZM_TOKENIZER;
    m = zm_open(dir, &o, &err);
    ZT_CHECK(m && !strcmp(zm_info_get(m)->name, "parts") && zm_info_get(m)->max_length == 32);
    zm_close(&m);
    o.parts = ZM_POOLING;
    ZT_CHECK(zm_open(dir, &o, &err) == NULL && strstr(err.msg, "config.json") != NULL);

    /* a file, a missing folder */
    ZT_CHECK(zm_open(p + 0, NULL, &err) == NULL);
    snprintf(p, sizeof p, "%s/vocab.txt", base);
    ZT_CHECK(zm_open(p, NULL, &err) == NULL && strstr(err.msg, "a file, not a model folder"));
    snprintf(p, sizeof p, "%s/nope", base);
    ZT_CHECK(zm_open(p, NULL, &err) == NULL && err.code == ZB_ENOTFOUND);
    ZT_CHECK(zm_open(p, NULL, NULL) == NULL);        /* err may be NULL */

    /* a tokenizer with more tokens than config.json's vocabulary */
    ZT_CHECK(make_model("vocab", 64, 32, "mean", dir, sizeof dir));
    snprintf(p, sizeof p, "%s/vocab.txt", dir);
    FILE *f = fopen(p, "a");
    fputs("extra\n", f);
    fclose(f);
    ZT_CHECK(zm_open(dir, NULL, &err) == NULL);
    ZT_CHECK(strstr(err.msg, "the tokenizer has 19 tokens but config.json vocab_size is 18") != NULL);
}

int main(void)
{
    base = zt_tmpdir("zm_test");
    ZT_RUN(test_open_and_encode);
    ZT_RUN(test_max_length_capped_by_positions);
    ZT_RUN(test_parts_and_refusals);
    return zt_done();
}
