/* zm: a model folder opened in one place (zm.h). */
#include <assert.h>
#include <jansson.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enc.h"
#include "enc_embed.h"
#include "pool.h"
#include "tok.h"
#include "zb_file.h"
#include "zm.h"

#define CONFIG_MAX (1 << 20)        /* bytes of config.json */
#define DEFAULT_BATCH_TOKENS 2048   /* zembed encode's default budget */

struct zm_model {
    char dir[4096];
    zm_info info;
    int have_config;        /* enc_config parsed (ZM_WEIGHTS or ZM_POOLING) */
    enc_config cfg;
    tok_tokenizer *tok;
    tok_options topt;       /* settled: max_length, truncation */
    enc_model *weights;
    enc_runner *runner;
    int have_pooling;
    pool_config pc;
};

void zm_open_opts_default(zm_open_opts *o)
{
    memset(o, 0, sizeof *o);
    o->parts = ZM_ALL;
    o->pooling = -1;
    o->normalize = -1;
}

/* The display name: _name_or_path when it is a bare name or a hub id (org/name), else the folder's
 * own name (a local path says nothing about the model). */
static void set_name(zm_model *m, json_t *root)
{
    const char *nm = root ? json_string_value(json_object_get(root, "_name_or_path")) : NULL;
    if (nm && *nm && nm[0] != '/' && nm[0] != '.') {
        snprintf(m->info.name, sizeof m->info.name, "%s", nm);
        return;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", m->dir);
    size_t l = strlen(tmp);
    while (l > 1 && tmp[l - 1] == '/')
        tmp[--l] = 0;
    const char *slash = strrchr(tmp, '/');
    snprintf(m->info.name, sizeof m->info.name, "%.95s", slash ? slash + 1 : tmp);
}

/* config.json, read once: the display name and demo flag always; the encoder's config (enc_config
 * rules) when need_cfg; otherwise only max_position_embeddings, leniently (a tokenizer-only folder
 * may have no config.json or one of a model we cannot run). */
static int read_config(zm_model *m, int need_cfg, zb_err *err)
{
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    int rc = zb_path_join(path, sizeof path, m->dir, "config.json", err);
    if (rc)
        return rc;
    if (!need_cfg && !zb_is_file(path)) {
        set_name(m, NULL);
        return ZB_OK;
    }
    if ((rc = zb_read_file(path, CONFIG_MAX, &text, &len, err)))
        return rc;
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (!root || !json_is_object(root)) {
        rc = root ? zb_fail(err, ZB_EFORMAT, "%s: not a JSON object", path)
                  : zb_fail(err, ZB_EFORMAT, "%s: line %d: %s", path, je.line, je.text);
        goto out;
    }
    set_name(m, root);
    m->info.demo = json_is_true(json_object_get(root, "zembed_random_weights"));
    if (need_cfg) {
        if ((rc = enc_config_parse(path, text, len, &m->cfg, err)))
            goto out;
        m->have_config = 1;
        snprintf(m->info.model_type, sizeof m->info.model_type, "%s", m->cfg.model_type);
        m->info.hidden = m->cfg.hidden;
        m->info.layers = m->cfg.layers;
        m->info.heads = m->cfg.heads;
        m->info.vocab_size = m->cfg.vocab_size;
        m->info.max_position = m->cfg.max_position;
    } else {
        json_t *mp = json_object_get(root, "max_position_embeddings"),
               *vs = json_object_get(root, "vocab_size");
        if (json_is_integer(mp) && json_integer_value(mp) > 0 && json_integer_value(mp) <= 1 << 20)
            m->info.max_position = (int)json_integer_value(mp);
        if (json_is_integer(vs) && json_integer_value(vs) > 0 && json_integer_value(vs) <= 1 << 24)
            m->info.vocab_size = (int)json_integer_value(vs);
        const char *mt = json_string_value(json_object_get(root, "model_type"));
        snprintf(m->info.model_type, sizeof m->info.model_type, "%s", mt ? mt : "");
    }
out:
    json_decref(root);
    free(text);
    return rc;
}

/* The tokenizer, and the max_length every path uses. */
static int open_tokenizer(zm_model *m, const zm_open_opts *o, zb_err *err)
{
    if (!(m->tok = tok_load(m->dir, err)))
        return err->code;
    if (m->info.vocab_size && tok_vocab_size(m->tok) > m->info.vocab_size)
        return zb_fail(err, ZB_EFORMAT, "%s: the tokenizer has %d tokens but config.json vocab_size "
                       "is %d", m->dir, tok_vocab_size(m->tok), m->info.vocab_size);
    tok_options_default(m->tok, &m->topt);
    int pos = m->info.max_position;
    if (o->max_length) {
        if (pos && o->max_length > pos)
            return zb_fail(err, ZB_ERANGE, "max_length %d is more than the model's "
                           "max_position_embeddings %d (%s/config.json)", o->max_length, pos, m->dir);
        m->topt.max_length = o->max_length;
    } else if (pos && m->topt.max_length > pos) {
        m->topt.max_length = pos;   /* e.g. a tokenizer saying 512 on a 256-position model */
    }
    m->topt.truncate = !o->no_truncate;
    m->info.max_length = m->topt.max_length;
    return ZB_OK;
}

static int open_pooling(zm_model *m, const zm_open_opts *o, zb_err *err)
{
    int rc = pool_config_load(m->dir, m->cfg.hidden, &m->pc, err);
    if (rc)
        return rc;
    if (o->pooling >= 0) {
        if (o->pooling >= POOL_N_MODES)
            return zb_fail(err, ZB_EINVAL, "pooling mode %d is not one of pool.h's", o->pooling);
        pool_config_set_mode(&m->pc, (pool_mode)o->pooling);
    }
    if (o->normalize >= 0)
        m->pc.normalize = o->normalize != 0;
    m->have_pooling = 1;
    m->info.dim = m->pc.out_dim;
    m->info.normalize = m->pc.normalize;
    pool_config_describe(&m->pc, m->info.pooling, sizeof m->info.pooling);
    return ZB_OK;
}

static int open_weights(zm_model *m, const zm_open_opts *o, zb_err *err)
{
    if (!(m->weights = enc_model_load_config(m->dir, &m->cfg, err)))
        return err->code;
    int budget = o->batch_tokens ? o->batch_tokens : DEFAULT_BATCH_TOKENS;
    if (budget < m->info.max_length) {
        if (o->batch_tokens)
            return zb_fail(err, ZB_EINVAL, "batch_tokens %d is less than max_length %d: a long text "
                           "would not fit", budget, m->info.max_length);
        budget = m->info.max_length;
    }
    if (o->precision && enc_model_set_precision(m->weights, (enc_precision)o->precision, err))
        return zb_wrap(err, "--precision %s: ", enc_precision_name((enc_precision)o->precision));
    if (!(m->runner = enc_runner_new(m->weights, budget, err)))
        return err->code;
    return ZB_OK;
}

zm_model *zm_open(const char *model_dir, const zm_open_opts *opts, zb_err *err)
{
    zb_err local;
    if (!err)
        err = &local;       /* the parts' loaders report through it */
    zm_open_opts def;
    zm_open_opts_default(&def);
    const zm_open_opts *o = opts ? opts : &def;
    unsigned parts = o->parts ? o->parts : ZM_ALL;
    zm_model *m = calloc(1, sizeof *m);
    if (!m) {
        zb_fail(err, ZB_ENOMEM, "opening %s: out of memory", model_dir);
        return NULL;
    }
    int rc = ZB_OK;
    struct stat st;
    if (stat(model_dir, &st) || !S_ISDIR(st.st_mode))
        rc = zb_fail(err, ZB_ENOTFOUND, "%s: %s", model_dir,
                     zb_is_file(model_dir) ? "a file, not a model folder"
                                           : "no such folder (a model folder holds config.json)");
    else if (strlen(model_dir) >= sizeof m->dir)
        rc = zb_fail(err, ZB_EINVAL, "model folder path is longer than %zu bytes", sizeof m->dir - 1);
    if (!rc) {
        snprintf(m->dir, sizeof m->dir, "%s", model_dir);
        rc = read_config(m, (parts & (ZM_WEIGHTS | ZM_POOLING)) != 0, err);
    }
    /* the tokenizer first: the runner's budget depends on max_length */
    if (!rc && (parts & ZM_TOKENIZER))
        rc = open_tokenizer(m, o, err);
    if (!rc && (parts & ZM_POOLING))
        rc = open_pooling(m, o, err);
    if (!rc && (parts & ZM_WEIGHTS))
        rc = open_weights(m, o, err);
    if (rc) {
        zm_close(&m);
        return NULL;
    }
    return m;
}

void zm_close(zm_model **mp)
{
    zm_model *m = mp ? *mp : NULL;
    if (!m)
        return;
    enc_runner_free(m->runner);
    enc_model_free(m->weights);
    tok_free(m->tok);
    free(m);
    *mp = NULL;
}

const zm_info *zm_info_get(const zm_model *m) { return &m->info; }
const char *zm_dir(const zm_model *m) { return m->dir; }
const tok_tokenizer *zm_tokenizer(const zm_model *m) { return m->tok; }
const enc_model *zm_weights(const zm_model *m) { return m->weights; }
const enc_config *zm_config(const zm_model *m) { return m->have_config ? &m->cfg : NULL; }
const pool_config *zm_pooling(const zm_model *m) { return m->have_pooling ? &m->pc : NULL; }
enc_runner *zm_runner(zm_model *m) { return m->runner; }

void zm_tok_options(const zm_model *m, tok_options *out)
{
    assert(m->tok);     /* opened with ZM_TOKENIZER */
    *out = m->topt;
}

int zm_encode(zm_model *m, const char *const *texts, const size_t *lens, int n, float *out,
              zb_err *err)
{
    if (!m->tok || !m->runner || !m->have_pooling)
        return zb_fail(err, ZB_EINVAL, "zm_encode: %s was not opened with every part", m->dir);
    if (n <= 0)
        return ZB_OK;
    int *counts = malloc(sizeof *counts * (size_t)n);
    int32_t *ids = NULL, *types = NULL;
    size_t used = 0, cap = 0;
    tok_encoding enc;
    tok_encoding_init(&enc);
    int rc = counts ? ZB_OK : zb_fail(err, ZB_ENOMEM, "out of memory for %d texts", n);
    for (int i = 0; i < n && !rc; i++) {
        size_t len = lens ? lens[i] : strlen(texts[i]);
        if ((rc = tok_encode(m->tok, texts[i], len, NULL, 0, &m->topt, &enc, err))) {
            zb_wrap(err, "texts[%d]: ", i);
            break;
        }
        if (used + (size_t)enc.n > cap) {
            size_t nc = (cap ? cap * 2 : 1024) + (size_t)enc.n;
            int32_t *a = realloc(ids, nc * sizeof *a);
            if (a)
                ids = a;
            int32_t *b = a ? realloc(types, nc * sizeof *b) : NULL;
            if (!a || !b) {
                rc = zb_fail(err, ZB_ENOMEM, "out of memory for the tokens of %d texts", n);
                break;
            }
            types = b;
            cap = nc;
        }
        memcpy(ids + used, enc.ids, sizeof *ids * (size_t)enc.n);
        memcpy(types + used, enc.type_ids, sizeof *types * (size_t)enc.n);
        used += (size_t)enc.n;
        counts[i] = enc.n;
    }
    if (!rc)
        rc = enc_embed_sentences(m->runner, &m->pc, ids, types, counts, n, out, err);
    tok_encoding_free(&enc);
    free(counts);
    free(ids);
    free(types);
    return rc;
}
