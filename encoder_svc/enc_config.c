/* enc_config: config.json of a Hugging Face BERT folder -> enc_config. */
#include "enc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zb_file.h"

/* Model types whose checkpoints run the BertModel graph unchanged (same tensor names, absolute
 * positions starting at 0, post-LayerNorm). RoBERTa-style models are not here on purpose: their
 * positions start at pad_token_id + 1, so they would give different numbers. */
static const char *const bert_types[] = {"bert"};

/* Sizes are bounded so every product the forward pass forms fits in an int. */
#define MAX_DIM (1 << 16)

static int get_int(const char *path, json_t *root, const char *key, int required, int def, int lo,
                   int hi, int *out, zb_err *err)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        if (required)
            return zb_fail(err, ZB_EFORMAT, "%s: missing \"%s\"", path, key);
        *out = def;
        return ZB_OK;
    }
    if (!json_is_integer(v))
        return zb_fail(err, ZB_EFORMAT, "%s: \"%s\" is not an integer", path, key);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return zb_fail(err, ZB_EUNSUPPORTED, "%s: \"%s\" = %lld is outside [%d, %d]", path, key,
                       (long long)x, lo, hi);
    *out = (int)x;
    return ZB_OK;
}

int enc_config_parse(const char *path, const char *text, size_t len, enc_config *c, zb_err *err)
{
    memset(c, 0, sizeof *c);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return zb_fail(err, ZB_EFORMAT, "%s: line %d: %s", path, je.line, je.text);
    int rc = ZB_OK;
    if (!json_is_object(root)) {
        rc = zb_fail(err, ZB_EFORMAT, "%s: not a JSON object", path);
        goto out;
    }

    json_t *mt = json_object_get(root, "model_type");
    if (!json_is_string(mt)) {
        rc = zb_fail(err, ZB_EFORMAT, "%s: missing \"model_type\" (string)", path);
        goto out;
    }
    const char *type = json_string_value(mt);
    int known = 0;
    for (size_t i = 0; i < sizeof bert_types / sizeof *bert_types; i++)
        known |= !strcmp(type, bert_types[i]);
    if (!known) {
        rc = zb_fail(err, ZB_EUNSUPPORTED, "%s: model_type \"%s\" is not supported (supported: bert)", path, type);
        goto out;
    }
    snprintf(c->model_type, sizeof c->model_type, "%s", type);

    if ((rc = get_int(path, root, "vocab_size", 1, 0, 1, 1 << 24, &c->vocab_size, err)) ||
        (rc = get_int(path, root, "hidden_size", 1, 0, 1, MAX_DIM, &c->hidden, err)) ||
        (rc = get_int(path, root, "num_hidden_layers", 1, 0, 1, 1024, &c->layers, err)) ||
        (rc = get_int(path, root, "num_attention_heads", 1, 0, 1, 1024, &c->heads, err)) ||
        (rc = get_int(path, root, "intermediate_size", 1, 0, 1, 4 * MAX_DIM, &c->intermediate, err)) ||
        (rc = get_int(path, root, "max_position_embeddings", 0, 512, 1, MAX_DIM, &c->max_position, err)) ||
        (rc = get_int(path, root, "type_vocab_size", 0, 2, 1, 1024, &c->type_vocab, err)))
        goto out;
    if (c->hidden % c->heads) {
        rc = zb_fail(err, ZB_EUNSUPPORTED, "%s: hidden_size %d is not a multiple of num_attention_heads %d",
                     path, c->hidden, c->heads);
        goto out;
    }

    json_t *eps = json_object_get(root, "layer_norm_eps");
    c->layer_norm_eps = 1e-12f;   /* BertConfig's default */
    if (eps && !json_is_null(eps)) {
        if (!json_is_number(eps) || !(json_number_value(eps) > 0) || json_number_value(eps) > 1) {
            rc = zb_fail(err, ZB_EFORMAT, "%s: \"layer_norm_eps\" must be a number in (0, 1]", path);
            goto out;
        }
        c->layer_norm_eps = (float)json_number_value(eps);
    }

    json_t *act = json_object_get(root, "hidden_act");
    const char *an = act ? json_string_value(act) : "gelu";
    if (!an) {
        rc = zb_fail(err, ZB_EFORMAT, "%s: \"hidden_act\" is not a string", path);
        goto out;
    }
    if (!strcmp(an, "gelu"))
        c->act = ENC_ACT_GELU;
    else if (!strcmp(an, "gelu_new") || !strcmp(an, "gelu_pytorch_tanh"))   /* both the tanh form */
        c->act = ENC_ACT_GELU_NEW;
    else if (!strcmp(an, "relu"))
        c->act = ENC_ACT_RELU;
    else {
        rc = zb_fail(err, ZB_EUNSUPPORTED,
                     "%s: hidden_act \"%s\" is not supported (supported: gelu, gelu_new, relu)", path, an);
        goto out;
    }

    json_t *pet = json_object_get(root, "position_embedding_type");
    if (pet && !json_is_null(pet) &&
        (!json_is_string(pet) || strcmp(json_string_value(pet), "absolute"))) {
        rc = zb_fail(err, ZB_EUNSUPPORTED, "%s: position_embedding_type \"%s\" is not supported (only absolute)",
                     path, json_is_string(pet) ? json_string_value(pet) : "?");
        goto out;
    }
out:
    json_decref(root);
    return rc;
}

int enc_config_load(const char *model_dir, enc_config *c, zb_err *err)
{
    char path[4096];
    char *text;
    size_t len;
    int rc = zb_path_join(path, sizeof path, model_dir, "config.json", err);
    if (rc || (rc = zb_read_file(path, 1 << 20, &text, &len, err)))
        return rc;
    rc = enc_config_parse(path, text, len, c, err);
    free(text);
    return rc;
}
