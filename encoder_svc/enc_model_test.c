/* enc_model_test: config.json parsing and the faults of a model folder, each with a message that
 * names the file and the tensor. */
#include "enc_impl.h"

#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "enc_testutil.h"
#include "zb_test.h"

static char base[] = "/tmp/enc_model_XXXXXX";
static char vocab[300];
static enc_genmodel_opts opts;

static const char *good_config =
    "{\"model_type\":\"bert\",\"vocab_size\":30522,\"hidden_size\":384,\"num_hidden_layers\":6,"
    "\"num_attention_heads\":12,\"intermediate_size\":1536,\"max_position_embeddings\":512,"
    "\"type_vocab_size\":2,\"layer_norm_eps\":1e-12,\"hidden_act\":\"gelu\","
    "\"position_embedding_type\":\"absolute\",\"architectures\":[\"BertModel\"]}";

/* good_config with key set to the JSON value (NULL: removed). */
static int parse_with(const char *key, const char *value, enc_config *c, zb_err *e)
{
    json_t *root = json_loads(good_config, 0, NULL);
    if (value)
        json_object_set_new(root, key, json_loads(value, JSON_DECODE_ANY, NULL));
    else
        json_object_del(root, key);
    char *text = json_dumps(root, 0);
    int rc = enc_config_parse("m/config.json", text, strlen(text), c, e);
    free(text);
    json_decref(root);
    return rc;
}

static void expect_config(const char *key, const char *value, int code, const char *want)
{
    enc_config c;
    zb_err e;
    zb_clear(&e);
    int rc = parse_with(key, value, &c, &e);
    ZT_CHECK_EQ_INT(rc, code);
    if (rc && (!strstr(e.msg, want) || !strstr(e.msg, "m/config.json"))) {
        fprintf(stderr, "  %s=%s: message '%s' lacks '%s' or the file\n", key, value, e.msg, want);
        ZT_CHECK(0);
    }
}

static void test_config_good(void)
{
    enc_config c;
    zb_err e;
    ZT_CHECK_EQ_INT(enc_config_parse("c", good_config, strlen(good_config), &c, &e), 0);
    ZT_CHECK(!strcmp(c.model_type, "bert"));
    ZT_CHECK(c.vocab_size == 30522 && c.hidden == 384 && c.layers == 6 && c.heads == 12);
    ZT_CHECK(c.intermediate == 1536 && c.max_position == 512 && c.type_vocab == 2);
    ZT_CHECK(c.layer_norm_eps == 1e-12f && c.act == ENC_ACT_GELU);
    ZT_CHECK_EQ_INT(parse_with("hidden_act", "\"gelu_new\"", &c, &e), 0);
    ZT_CHECK(c.act == ENC_ACT_GELU_NEW);
    ZT_CHECK_EQ_INT(parse_with("hidden_act", "\"relu\"", &c, &e), 0);
    ZT_CHECK(c.act == ENC_ACT_RELU);
    /* BertConfig defaults when optional keys are absent */
    ZT_CHECK_EQ_INT(parse_with("layer_norm_eps", NULL, &c, &e), 0);
    ZT_CHECK(c.layer_norm_eps == 1e-12f);
    ZT_CHECK_EQ_INT(parse_with("type_vocab_size", NULL, &c, &e), 0);
    ZT_CHECK_EQ_INT(c.type_vocab, 2);
}

static void test_config_errors(void)
{
    expect_config("model_type", "\"gpt2\"", ZB_EUNSUPPORTED, "model_type \"gpt2\"");
    expect_config("model_type", NULL, ZB_EFORMAT, "model_type");
    expect_config("hidden_act", "\"swish\"", ZB_EUNSUPPORTED, "hidden_act \"swish\"");
    expect_config("hidden_act", "3", ZB_EFORMAT, "hidden_act");
    expect_config("position_embedding_type", "\"relative_key\"", ZB_EUNSUPPORTED, "relative_key");
    expect_config("hidden_size", NULL, ZB_EFORMAT, "hidden_size");
    expect_config("hidden_size", "\"384\"", ZB_EFORMAT, "hidden_size");
    expect_config("hidden_size", "0", ZB_EUNSUPPORTED, "hidden_size");
    expect_config("hidden_size", "100000000000", ZB_EUNSUPPORTED, "hidden_size");
    expect_config("hidden_size", "380", ZB_EUNSUPPORTED, "not a multiple");
    expect_config("num_attention_heads", "-1", ZB_EUNSUPPORTED, "num_attention_heads");
    expect_config("layer_norm_eps", "-1", ZB_EFORMAT, "layer_norm_eps");
    enc_config c;
    zb_err e;
    ZT_CHECK_EQ_INT(enc_config_parse("m/config.json", "{\"model_type\":", 14, &c, &e), ZB_EFORMAT);
    ZT_CHECK(strstr(e.msg, "m/config.json") != NULL);
    ZT_CHECK_EQ_INT(enc_config_parse("m/config.json", "[]", 2, &c, &e), ZB_EFORMAT);
    ZT_CHECK_EQ_INT(enc_config_parse("m/config.json", "{\"a\":1,\"a\":2}", 13, &c, &e), ZB_EFORMAT);
}

/* Load dir and expect failure with code and all of the strings in the message. */
static void expect_load(const char *dir, int code, const char *w1, const char *w2)
{
    zb_err e;
    zb_clear(&e);
    enc_model *m = enc_model_load(dir, &e);
    ZT_CHECK(m == NULL);
    enc_model_free(m);
    ZT_CHECK_EQ_INT(e.code, code);
    if (!strstr(e.msg, w1) || (w2 && !strstr(e.msg, w2))) {
        fprintf(stderr, "  message '%s' lacks '%s' / '%s'\n", e.msg, w1, w2 ? w2 : "");
        ZT_CHECK(0);
    }
}

/* Change one key of dir/config.json. */
static void edit_config(const char *dir, const char *key, json_t *value)
{
    char p[400];
    snprintf(p, sizeof p, "%s/config.json", dir);
    json_t *root = json_load_file(p, 0, NULL);
    json_object_set_new(root, key, value);
    json_dump_file(root, p, JSON_INDENT(2));
    json_decref(root);
}

static void test_folder_errors(void)
{
    char dir[400], p[500];
    expect_load("/nonexistent-model", ZB_ENOTFOUND, "/nonexistent-model/config.json", NULL);

    ZT_CHECK(et_make(base, "m", vocab, &opts, dir, sizeof dir) == 0);
    zb_err e;
    enc_model *m = enc_model_load(dir, &e);
    ZT_CHECK(m != NULL);
    if (m)
        ZT_CHECK(enc_model_config(m)->hidden == 32 && enc_model_config(m)->layers == 2);
    enc_model_free(m);

    /* a layer the file does not have */
    edit_config(dir, "num_hidden_layers", json_integer(3));
    expect_load(dir, ZB_ENOTFOUND, "model.safetensors: tensor 'encoder.layer.2.attention.self.query.weight' is missing", NULL);
    edit_config(dir, "num_hidden_layers", json_integer(2));
    /* wrong shape: both shapes named */
    edit_config(dir, "intermediate_size", json_integer(50));
    expect_load(dir, ZB_EFORMAT, "tensor 'encoder.layer.0.intermediate.dense.weight' has shape [48,32], expected [50,32]",
                "model.safetensors");
    edit_config(dir, "intermediate_size", json_integer(48));
    edit_config(dir, "vocab_size", json_integer(61));
    expect_load(dir, ZB_EFORMAT, "'embeddings.word_embeddings.weight' has shape [60,32], expected [61,32]", NULL);
    edit_config(dir, "vocab_size", json_integer(60));
    edit_config(dir, "hidden_act", json_string("silu"));
    expect_load(dir, ZB_EUNSUPPORTED, "hidden_act \"silu\"", "config.json");
    edit_config(dir, "hidden_act", json_string("gelu"));

    /* corrupt safetensors: the header length field overwritten */
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    FILE *f = fopen(p, "r+b");
    fwrite("\xff\xff\xff\x00\x00\x00\x00\x00", 1, 8, f);
    fclose(f);
    expect_load(dir, ZB_EFORMAT, p, "header length");
    /* no weights at all */
    unlink(p);
    expect_load(dir, ZB_ENOTFOUND, "neither model.safetensors nor model.safetensors.index.json", NULL);
}

static void test_shard_errors(void)
{
    char dir[400], p[500];
    enc_genmodel_opts o = opts;
    o.shards = 2;
    ZT_CHECK(et_make(base, "sharded", vocab, &o, dir, sizeof dir) == 0);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    json_t *root = json_load_file(p, 0, NULL), *map = json_object_get(root, "weight_map");
    /* a tensor sent to a shard that does not hold it */
    json_t *saved = json_deep_copy(root);
    const char *own = json_string_value(json_object_get(map, "embeddings.LayerNorm.bias")), *other = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(map, key, v)
        if (strcmp(json_string_value(v), own))
            other = json_string_value(v);
    ZT_CHECK(other != NULL);
    json_object_set_new(map, "embeddings.LayerNorm.bias", json_string(other ? other : own));
    json_dump_file(root, p, 0);
    expect_load(dir, ZB_ENOTFOUND, "maps tensor 'embeddings.LayerNorm.bias' to", other ? other : "?");
    /* path escape */
    json_object_set_new(map, "embeddings.LayerNorm.bias", json_string("../x.safetensors"));
    json_dump_file(root, p, 0);
    expect_load(dir, ZB_EFORMAT, "not a file name in the folder", "index.json");
    /* missing shard file */
    json_object_set_new(map, "embeddings.LayerNorm.bias", json_string("model-9.safetensors"));
    json_dump_file(root, p, 0);
    expect_load(dir, ZB_ENOTFOUND, "model-9.safetensors", NULL);
    /* no weight_map */
    json_t *empty = json_object();
    json_dump_file(empty, p, 0);
    json_decref(empty);
    expect_load(dir, ZB_EFORMAT, "weight_map", NULL);
    json_dump_file(saved, p, 0);
    zb_err e;
    enc_model *m = enc_model_load(dir, &e);
    ZT_CHECK(m != NULL);
    enc_model_free(m);
    json_decref(saved);
    json_decref(root);
}

/* Rename tensors in dir/model.safetensors's header in place: every key containing from gets to
 * instead (to must not be longer; the header is padded back to its length with spaces, so the
 * data offsets stay valid). */
static void rename_tensors(const char *dir, const char *from, const char *to)
{
    char p[400];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    FILE *f = fopen(p, "r+b");
    unsigned char le[8];
    ZT_CHECK(fread(le, 1, 8, f) == 8);
    size_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | le[i];
    char *h = calloc(hlen + 1, 1);
    ZT_CHECK(fread(h, 1, hlen, f) == hlen);
    json_t *root = json_loadb(h, hlen, 0, NULL), *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        char nk[300];
        const char *at = strstr(key, from);
        if (at)
            snprintf(nk, sizeof nk, "%.*s%s%s", (int)(at - key), key, to, at + strlen(from));
        else
            snprintf(nk, sizeof nk, "%s", key);
        json_object_set(out, nk, v);
    }
    char *text = json_dumps(out, JSON_COMPACT);
    ZT_CHECK(strlen(text) <= hlen);
    memset(h, ' ', hlen);
    memcpy(h, text, strlen(text));
    fseek(f, 8, SEEK_SET);
    fwrite(h, 1, hlen, f);
    fclose(f);
    free(text), free(h);
    json_decref(root), json_decref(out);
}

/* bert-base-uncased's model.safetensors: "bert." prefix and TensorFlow's gamma/beta names. */
static void test_gamma_beta_names(void)
{
    char dir[400];
    enc_genmodel_opts o = opts;
    o.prefix_bert = 1;
    ZT_CHECK(et_make(base, "gamma", vocab, &o, dir, sizeof dir) == 0);
    zb_err e;
    enc_model *ref = enc_model_load(dir, &e);
    rename_tensors(dir, "LayerNorm.weight", "LayerNorm.gamma");
    rename_tensors(dir, "LayerNorm.bias", "LayerNorm.beta");
    enc_model *m = enc_model_load(dir, &e);
    ZT_CHECK(ref && m);
    if (ref && m) {
        ZT_CHECK(!memcmp(m->emb_ln_g, ref->emb_ln_g, 32 * sizeof(float)));
        ZT_CHECK(!memcmp(m->layer[1].ln2_b, ref->layer[1].ln2_b, 32 * sizeof(float)));
        ZT_CHECK(m->layer[1].ln2_b != ref->layer[1].ln2_b);   /* really the other file's bytes */
    }
    enc_model_free(m);
    enc_model_free(ref);
    /* a missing LayerNorm is reported under its modern name */
    rename_tensors(dir, "layer.1.output.LayerNorm.gamma", "layer.1.output.LayerNorm.g");
    expect_load(dir, ZB_ENOTFOUND, "tensor 'bert.encoder.layer.1.output.LayerNorm.weight' is missing", NULL);
}

int main(void)
{
    if (!mkdtemp(base))
        return 1;
    et_write_vocab(base, vocab, sizeof vocab);
    et_opts(&opts);
    ZT_RUN(test_config_good);
    ZT_RUN(test_config_errors);
    ZT_RUN(test_folder_errors);
    ZT_RUN(test_shard_errors);
    ZT_RUN(test_gamma_beta_names);
    et_rmtree(base);
    return zt_done();
}
