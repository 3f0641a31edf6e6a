/* Tests of the seeded test-model generator: the folder has every file sentence-transformers
 * writes, safetensors headers parse and describe the bytes exactly, the numbers are the documented
 * ones, and the same seed gives the same bytes (pinned by a sha256, so another machine or compiler
 * that drifts is caught here rather than as a golden-test mismatch). */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "enc_genmodel.h"
#include "enc_tensors.h"
#include "zb_file.h"
#include "zb_test.h"

static char tmp[256];
static char vocab[300];

/* A small vocabulary keeps the tiny model at ~30k parameters, fast under valgrind. */
static void make_vocab(void)
{
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", tmp);
    FILE *f = fopen(vocab, "w");
    const char *specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < 5; i++)
        fprintf(f, "%s\n", specials[i]);
    for (int i = 5; i < 200; i++)
        fprintf(f, "tok%d\n", i);
    fclose(f);
}

static int rm_one(const char *p, const struct stat *s, int flag, struct FTW *ftw)
{
    (void)s, (void)flag, (void)ftw;
    return remove(p);
}

static void path(char *buf, const char *dir, const char *name)
{
    snprintf(buf, 512, "%s/%s/%s", tmp, dir, name);
}

static void tiny(enc_genmodel_opts *o)
{
    zb_err err;
    ZT_CHECK(enc_genmodel_preset("tiny", o, &err) == ZB_OK);
}

static int gen(const char *dir, const enc_genmodel_opts *o, zb_err *err)
{
    char out[512];
    snprintf(out, sizeof out, "%s/%s", tmp, dir);
    return enc_genmodel_write(out, vocab, o, err);
}

static json_t *load_json(const char *dir, const char *name)
{
    char p[512];
    path(p, dir, name);
    json_error_t je;
    json_t *j = json_load_file(p, 0, &je);
    if (!j)
        fprintf(stderr, "  %s: %s\n", p, je.text);
    return j;
}

static long long jint(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* Parse one safetensors file; checks the layout rules and returns its header (caller decrefs). */
static json_t *check_safetensors(const char *dir, const char *name, size_t *data_bytes)
{
    char p[512];
    path(p, dir, name);
    char *buf = NULL;
    size_t len = 0;
    zb_err err;
    ZT_CHECK(zb_read_file(p, 64u << 20, &buf, &len, &err) == ZB_OK);
    if (!buf || len < 8)
        return free(buf), NULL;
    uint64_t n = 0;
    for (int b = 7; b >= 0; b--)
        n = n << 8 | (unsigned char)buf[b];
    ZT_CHECK(n % 8 == 0 && 8 + n <= len);
    json_error_t je;
    json_t *h = json_loadb(buf + 8, n, 0, &je);
    ZT_CHECK(h != NULL);
    size_t sum = 0;
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v) {
        if (!strcmp(k, "__metadata__"))
            continue;
        json_t *off = json_object_get(v, "data_offsets");
        size_t a = json_integer_value(json_array_get(off, 0));
        size_t e = json_integer_value(json_array_get(off, 1));
        size_t elems = 1;
        for (size_t d = 0; d < json_array_size(json_object_get(v, "shape")); d++)
            elems *= json_integer_value(json_array_get(json_object_get(v, "shape"), d));
        const char *dt = json_string_value(json_object_get(v, "dtype"));
        ZT_CHECK(e - a == elems * (!strcmp(dt, "F32") ? 4 : 2));
        sum += e - a;
    }
    ZT_CHECK_EQ_INT(8 + n + sum, len); /* contiguous, nothing missing, nothing trailing */
    *data_bytes = sum;
    free(buf);
    return h;
}

static void sha256_file(const char *dir, const char *name, char hex[65])
{
    char p[512];
    path(p, dir, name);
    char *buf = NULL;
    size_t len = 0;
    zb_err err;
    hex[0] = 0;
    if (zb_read_file(p, 64u << 20, &buf, &len, &err))
        return;
    unsigned char md[32];
    SHA256((unsigned char *)buf, len, md);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    free(buf);
}

static void test_folder_layout(void)
{
    enc_genmodel_opts o;
    tiny(&o);
    zb_err err;
    ZT_CHECK(gen("base", &o, &err) == ZB_OK);
    const char *files[] = {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json",
                           "special_tokens_map.json", "modules.json", "sentence_bert_config.json",
                           "1_Pooling/config.json", "config_sentence_transformers.json",
                           "README.md"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[512];
        path(p, "base", files[i]);
        ZT_CHECK(zb_is_file(p));
    }
    json_t *c = load_json("base", "config.json");
    ZT_CHECK(c && !strcmp(json_string_value(json_object_get(c, "model_type")), "bert"));
    ZT_CHECK_EQ_INT(jint(c, "hidden_size"), 32);
    ZT_CHECK_EQ_INT(jint(c, "num_hidden_layers"), 2);
    ZT_CHECK_EQ_INT(jint(c, "num_attention_heads"), 4);
    ZT_CHECK_EQ_INT(jint(c, "intermediate_size"), 64);
    ZT_CHECK_EQ_INT(jint(c, "vocab_size"), 200); /* the vocab file's line count */
    ZT_CHECK(json_is_true(json_object_get(c, "zembed_random_weights")));
    ZT_CHECK(json_real_value(json_object_get(c, "layer_norm_eps")) == 1e-12);
    json_decref(c);
    json_t *m = load_json("base", "modules.json");
    ZT_CHECK_EQ_INT(json_array_size(m), 2);
    json_decref(m);
    json_t *p = load_json("base", "1_Pooling/config.json");
    ZT_CHECK(json_is_true(json_object_get(p, "pooling_mode_mean_tokens")));
    ZT_CHECK(json_is_false(json_object_get(p, "pooling_mode_cls_token")));
    json_decref(p);
    json_t *s = load_json("base", "sentence_bert_config.json");
    ZT_CHECK_EQ_INT(jint(s, "max_seq_length"), 128);
    json_decref(s);
}

static void test_safetensors_header(void)
{
    size_t bytes = 0;
    json_t *h = check_safetensors("base", "model.safetensors", &bytes);
    /* the embedding tensors + those of 2 layers + the pooler's + __metadata__ */
    ZT_CHECK_EQ_INT(json_object_size(h), ENC_N_EMB_TENSORS + 2 * ENC_N_LAYER_TENSORS + ENC_N_POOLER_TENSORS + 1);
    size_t params = 200 * 32 + 128 * 32 + 2 * 32 + 2 * 32 +
                    2 * (3 * (32 * 32 + 32) + 32 * 32 + 32 + 2 * 32 + 64 * 32 + 64 + 32 * 64 + 32 +
                         2 * 32) + 32 * 32 + 32;
    ZT_CHECK_EQ_INT(bytes, params * 4);
    char name[96];
    enc_layer_tensor_name(name, sizeof name, 1, ENC_T_I_W);
    json_t *q = json_object_get(h, name);
    ZT_CHECK_EQ_INT(json_integer_value(json_array_get(json_object_get(q, "shape"), 0)), 64);
    ZT_CHECK_EQ_INT(json_integer_value(json_array_get(json_object_get(q, "shape"), 1)), 32);
    ZT_CHECK(json_object_get(h, enc_emb_tensors[ENC_T_WORD].name) != NULL);
    ZT_CHECK(json_object_get(h, enc_pooler_tensors[ENC_T_POOLER_B].name) != NULL);
    json_decref(h);
}

/* The stored numbers are enc_genmodel_value's, with the documented spreads. */
static void test_values(void)
{
    char p[512];
    path(p, "base", "model.safetensors");
    zb_map map;
    zb_err err;
    if (zb_map_file(p, &map, &err) != ZB_OK) {
        ZT_CHECK(0);
        return;
    }
    uint64_t n = 0;
    for (int b = 7; b >= 0; b--)
        n = n << 8 | map.data[b];
    json_t *h = json_loadb((const char *)map.data + 8, n, 0, NULL);
    /* word embeddings N(0, 0.02), a gamma 1 + N(0, 0.1), a Linear weight N(0, 1/fan_in) */
    char names[3][96];
    snprintf(names[0], sizeof names[0], "%s", enc_emb_tensors[ENC_T_WORD].name);
    enc_layer_tensor_name(names[1], sizeof names[1], 0, ENC_T_LN2_W);
    enc_layer_tensor_name(names[2], sizeof names[2], 1, ENC_T_I_W);
    const int cols[] = {32, 0, 32};
    const double want_mean[] = {0, 1, 0}, want_sd[] = {0.02, 0.1, 0.17678}, tol_sd[] = {0.001, 0.04, 0.01};
    for (int t = 0; t < 3; t++) {
        json_t *off = json_object_get(json_object_get(h, names[t]), "data_offsets");
        size_t a = json_integer_value(json_array_get(off, 0));
        size_t e = json_integer_value(json_array_get(off, 1));
        const float *x = (const float *)(map.data + 8 + n + a);
        size_t cnt = (e - a) / 4;
        double s = 0, s2 = 0;
        int same = 1;
        for (size_t i = 0; i < cnt; i++) {
            s += x[i], s2 += (double)x[i] * x[i];
            same &= x[i] == enc_genmodel_value(42, names[t], cols[t], i);
        }
        double mean = s / cnt, sd = sqrt(s2 / cnt - mean * mean);
        ZT_CHECK(same);
        ZT_CHECK_NEAR(mean, want_mean[t], 3 * want_sd[t] / sqrt((double)cnt) + 1e-6);
        ZT_CHECK_NEAR(sd, want_sd[t], tol_sd[t]);
    }
    json_decref(h);
    zb_unmap(&map);
}

/* Pinned bytes: the same seed must give these bytes on every machine and compiler. */
static void test_deterministic(void)
{
    enc_genmodel_opts o;
    tiny(&o);
    zb_err err;
    ZT_CHECK(gen("again", &o, &err) == ZB_OK);
    o.seed = 43;
    ZT_CHECK(gen("seed43", &o, &err) == ZB_OK);
    char a[65], b[65], c[65];
    sha256_file("base", "model.safetensors", a);
    sha256_file("again", "model.safetensors", b);
    sha256_file("seed43", "model.safetensors", c);
    ZT_CHECK(!strcmp(a, b));
    ZT_CHECK(strcmp(a, c) != 0);
    const char *pinned = "68f11d990c70c629e2c33b2230e3ad34872e2c6770bd857004ed000f90edd3c1";
    if (strcmp(a, pinned))
        fprintf(stderr, "  tiny seed 42 model.safetensors sha256 %s, pinned %s\n", a, pinned);
    ZT_CHECK(!strcmp(a, pinned));
}

static void check_same_numbers(const char *dir, const char *dtype)
{
    /* every tensor of dir decodes to the base model's value rounded to dtype */
    char p[512];
    path(p, dir, "model.safetensors");
    zb_map map;
    zb_err err;
    if (zb_map_file(p, &map, &err) != ZB_OK) {
        ZT_CHECK(0);
        return;
    }
    uint64_t n = 0;
    for (int b = 7; b >= 0; b--)
        n = n << 8 | map.data[b];
    json_t *h = json_loadb((const char *)map.data + 8, n, 0, NULL);
    char name[96];
    enc_layer_tensor_name(name, sizeof name, 1, ENC_T_LN1_W);
    json_t *e = json_object_get(h, name);
    ZT_CHECK(!strcmp(json_string_value(json_object_get(e, "dtype")), dtype));
    size_t a = json_integer_value(json_array_get(json_object_get(e, "data_offsets"), 0));
    const uint16_t *x = (const uint16_t *)(map.data + 8 + n + a);
    for (int i = 0; i < 32; i++) {
        float want = enc_genmodel_value(42, name, 0, i);
        float got;
        if (!strcmp(dtype, "BF16")) {
            uint32_t u = (uint32_t)x[i] << 16;
            memcpy(&got, &u, 4);
            ZT_CHECK(fabsf(got - want) <= fabsf(want) * (1.0f / 256));
        } else {
            uint16_t hv = x[i]; /* values near 1: normal halves */
            int ex = (hv >> 10) & 31;
            got = ldexpf(1.0f + (hv & 1023) / 1024.0f, ex - 15);
            ZT_CHECK(fabsf(got - want) <= fabsf(want) * (1.0f / 2048));
        }
    }
    json_decref(h);
    zb_unmap(&map);
}

static void test_dtypes(void)
{
    enc_genmodel_opts o;
    tiny(&o);
    zb_err err;
    ZT_CHECK(enc_genmodel_parse_dtype("bf16", &o.dtype, &err) == ZB_OK);
    ZT_CHECK(gen("bf16", &o, &err) == ZB_OK);
    check_same_numbers("bf16", "BF16");
    ZT_CHECK(enc_genmodel_parse_dtype("F16", &o.dtype, &err) == ZB_OK);
    ZT_CHECK(gen("f16", &o, &err) == ZB_OK);
    check_same_numbers("f16", "F16");
    size_t bytes;
    json_decref(check_safetensors("f16", "model.safetensors", &bytes));
    ZT_CHECK(enc_genmodel_parse_dtype("f64", &o.dtype, &err) == ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "f64") != NULL);
}

/* Prefixed and sharded: every tensor once, in the file the index names, same bytes as unsharded. */
static void test_sharded_prefixed(void)
{
    enc_genmodel_opts o;
    tiny(&o);
    o.prefix_bert = 1, o.shards = 3, o.normalize = 1, o.pooling = "cls";
    zb_err err;
    ZT_CHECK(gen("sharded", &o, &err) == ZB_OK);
    json_t *idx = load_json("sharded", "model.safetensors.index.json");
    json_t *map = json_object_get(idx, "weight_map");
    ZT_CHECK_EQ_INT(json_object_size(map), 5 + 2 * 16 + 2);
    size_t total = 0;
    for (int s = 1; s <= 3; s++) {
        char name[64];
        snprintf(name, sizeof name, "model-%05d-of-00003.safetensors", s);
        size_t bytes = 0;
        json_t *h = check_safetensors("sharded", name, &bytes);
        total += bytes;
        const char *k;
        json_t *v;
        json_object_foreach(h, k, v) {
            if (!strcmp(k, "__metadata__"))
                continue;
            ZT_CHECK(!strncmp(k, "bert.", 5));
            ZT_CHECK(!strcmp(json_string_value(json_object_get(map, k)), name));
        }
        ZT_CHECK(json_object_size(h) >= 2); /* no empty shard */
        json_decref(h);
    }
    ZT_CHECK_EQ_INT(total, json_integer_value(json_object_get(json_object_get(idx, "metadata"),
                                                              "total_size")));
    json_decref(idx);
    char p[512];
    path(p, "sharded", "model.safetensors");
    ZT_CHECK(!zb_is_file(p));
    json_t *m = load_json("sharded", "modules.json");
    ZT_CHECK_EQ_INT(json_array_size(m), 3);
    ZT_CHECK(!strcmp(json_string_value(json_object_get(json_array_get(m, 2), "path")), "2_Normalize"));
    json_decref(m);
    json_t *pc = load_json("sharded", "1_Pooling/config.json");
    ZT_CHECK(json_is_true(json_object_get(pc, "pooling_mode_cls_token")));
    ZT_CHECK(json_is_false(json_object_get(pc, "pooling_mode_mean_tokens")));
    json_decref(pc);
}

static void test_refusals(void)
{
    enc_genmodel_opts o;
    tiny(&o);
    zb_err err;
    ZT_CHECK(gen("base", &o, &err) == ZB_EINVAL); /* not empty */
    ZT_CHECK(strstr(err.msg, "not empty") != NULL);
    /* --force into a sharded folder removes the old shards, so one weight layout remains */
    o.force = 1;
    ZT_CHECK(gen("sharded", &o, &err) == ZB_OK);
    char p[512];
    path(p, "sharded", "model-00001-of-00003.safetensors");
    ZT_CHECK(!zb_is_file(p));
    path(p, "sharded", "model.safetensors.index.json");
    ZT_CHECK(!zb_is_file(p));
    tiny(&o);
    o.heads = 5;
    ZT_CHECK(gen("bad1", &o, &err) == ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "num_attention_heads") != NULL);
    tiny(&o);
    o.pooling = "median";
    ZT_CHECK(gen("bad2", &o, &err) == ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "median") != NULL);
    tiny(&o);
    o.vocab_size = 10;
    ZT_CHECK(gen("bad3", &o, &err) == ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "vocab_size") != NULL);
    tiny(&o);
    o.shards = 100;
    ZT_CHECK(gen("bad4", &o, &err) == ZB_EINVAL);
    char out[512];
    snprintf(out, sizeof out, "%s/bad5", tmp);
    ZT_CHECK(enc_genmodel_write(out, "/nonexistent/vocab.txt", &o, &err) == ZB_ENOTFOUND);
    ZT_CHECK(strstr(err.msg, "/nonexistent/vocab.txt") != NULL);
    ZT_CHECK(enc_genmodel_preset("huge", &o, &err) == ZB_EINVAL);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/enc_genmodel_test.XXXXXX");
    if (!mkdtemp(tmp))
        return perror("mkdtemp"), 1;
    make_vocab();
    ZT_RUN(test_folder_layout);
    ZT_RUN(test_safetensors_header);
    ZT_RUN(test_values);
    ZT_RUN(test_deterministic);
    ZT_RUN(test_dtypes);
    ZT_RUN(test_sharded_prefixed);
    ZT_RUN(test_refusals);
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return zt_done();
}
