/* enc_model: a Hugging Face BERT folder -> enc_model (weights mmap'd, F32 used in place). */
#include "enc_impl.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enc_tensors.h"
#include "zb_dtype.h"
#include "zb_file.h"
#include "zb_json.h"

#define MAX_SHARDS 1024

/* Loading state: the files and, for a sharded folder, the index's weight_map. */
typedef struct {
    enc_model *m;
    const char *dir;
    json_t *weight_map;        /* NULL for a single model.safetensors */
    char index_path[4096];
    const char *prefix;        /* "" or "bert." */
} loader;

/* The tensor called name (prefix added), or NULL with *file set to the file that should hold it. */
static const st_tensor *find(loader *L, const char *name, const char **file, zb_err *err, int *rc)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", L->prefix, name);
    *rc = ZB_OK;
    if (!L->weight_map) {
        *file = st_path(L->m->files[0]);
        return st_find(L->m->files[0], full);
    }
    *file = L->index_path;
    json_t *fn = json_object_get(L->weight_map, full);
    if (!fn)
        return NULL;
    for (int i = 0; i < L->m->n_files; i++) {
        const char *p = st_path(L->m->files[i]), *slash = strrchr(p, '/');
        if (!strcmp(slash ? slash + 1 : p, json_string_value(fn))) {
            const st_tensor *t = st_find(L->m->files[i], full);
            *file = p;
            if (!t)
                *rc = zb_fail(err, ZB_ENOTFOUND, "%s: maps tensor '%s' to %s, which does not contain it",
                              L->index_path, full, p);
            return t;
        }
    }
    assert(!"open_shards opened every file of the weight_map");
    return NULL;
}

static int keep(enc_model *m, float *p)
{
    float **o = realloc(m->owned, (m->n_owned + 1) * sizeof *o);
    if (!o) {
        free(p);
        return ZB_ENOMEM;
    }
    m->owned = o;
    m->owned[m->n_owned++] = p;
    return ZB_OK;
}

/* Tensor name with shape [d0] (d1 < 0) or [d0, d1], as floats: F32 in place when aligned,
 * otherwise converted once into memory we own. Optional tensors give NULL when absent. */
static int get(loader *L, const char *name, int64_t d0, int64_t d1, int optional, const float **out,
               zb_err *err)
{
    const char *file;
    int rc;
    const st_tensor *t = find(L, name, &file, err, &rc);
    *out = NULL;
    if (rc)
        return rc;
    /* Checkpoints converted from Google's TensorFlow BERT (bert-base-uncased's model.safetensors)
     * still call the LayerNorm parameters gamma and beta. */
    size_t nl = strlen(name);
    if (!t && nl > 16 && (!strcmp(name + nl - 16, "LayerNorm.weight") || !strcmp(name + nl - 14, "LayerNorm.bias"))) {
        char alt[256];
        int w = name[nl - 1] == 't';
        snprintf(alt, sizeof alt, "%.*s%s", (int)(nl - (w ? 6 : 4)), name, w ? "gamma" : "beta");
        if ((t = find(L, alt, &file, err, &rc)) == NULL && rc)
            return rc;
    }
    if (!t)
        return optional ? ZB_OK
                        : zb_fail(err, ZB_ENOTFOUND, "%s: tensor '%s%s' is missing", file, L->prefix, name);
    int64_t want[2] = {d0, d1};
    int nd = d1 < 0 ? 1 : 2;
    if (t->ndim != nd || t->shape[0] != d0 || (nd == 2 && t->shape[1] != d1)) {
        char a[160], b[64];
        return zb_fail(err, ZB_EFORMAT, "%s: tensor '%s' has shape %s, expected %s", file, t->name,
                       st_shape_str(t->shape, t->ndim, a, sizeof a), st_shape_str(want, nd, b, sizeof b));
    }
    if (t->dtype == ST_F32 && ((uintptr_t)t->data & 3) == 0) {
        *out = (const float *)(const void *)t->data;   /* zero copy */
        return ZB_OK;
    }
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
        return zb_fail(err, ZB_EUNSUPPORTED, "%s: tensor '%s' has dtype %s (supported: F32, F16, BF16)",
                       file, t->name, st_dtype_name(t->dtype));
    size_t n = (size_t)t->numel;
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        return zb_fail(err, ZB_ENOMEM, "%s: no memory to convert tensor '%s'", file, t->name);
    if (t->dtype == ST_F32)
        memcpy(p, t->data, n * 4);
    for (size_t i = 0; t->dtype != ST_F32 && i < n; i++) {
        uint16_t h = (uint16_t)(t->data[2 * i] | t->data[2 * i + 1] << 8);   /* little endian */
        p[i] = t->dtype == ST_F16 ? zb_f16_to_f32(h) : zb_bf16_to_f32(h);
    }
    if (keep(L->m, p))
        return zb_fail(err, ZB_ENOMEM, "out of memory");
    *out = p;
    return ZB_OK;
}

static int open_file(enc_model *m, const char *path, zb_err *err)
{
    st_file *f = st_open(path, err);
    if (!f)
        return err ? err->code : ZB_EFORMAT;
    m->files[m->n_files++] = f;
    return ZB_OK;
}

/* model.safetensors.index.json: open every shard named in weight_map once. */
static int open_shards(loader *L, json_t **index, zb_err *err)
{
    int rc = zb_json_load_file(L->index_path, 64 << 20, JSON_REJECT_DUPLICATES, index, err);
    if (rc)
        return rc;
    L->weight_map = json_object_get(*index, "weight_map");
    if (!json_is_object(L->weight_map) || !json_object_size(L->weight_map))
        return zb_fail(err, ZB_EFORMAT, "%s: no \"weight_map\" object", L->index_path);
    enc_model *m = L->m;
    if (!(m->files = calloc(MAX_SHARDS, sizeof *m->files)))
        return zb_fail(err, ZB_ENOMEM, "out of memory");
    const char *key;
    json_t *v;
    json_object_foreach(L->weight_map, key, v) {
        const char *fn = json_string_value(v);
        /* A shard is a plain file name beside the index: no way out of the folder. */
        if (!fn || !*fn || strchr(fn, '/') || !strcmp(fn, ".") || !strcmp(fn, ".."))
            return zb_fail(err, ZB_EFORMAT, "%s: weight_map entry '%s' is not a file name in the folder",
                           L->index_path, key);
        int seen = 0;
        for (int i = 0; i < m->n_files && !seen; i++) {
            const char *p = st_path(m->files[i]);
            seen = !strcmp(strrchr(p, '/') + 1, fn);
        }
        if (seen)
            continue;
        if (m->n_files == MAX_SHARDS)
            return zb_fail(err, ZB_EUNSUPPORTED, "%s: more than %d shards", L->index_path, MAX_SHARDS);
        char path[4096];
        if ((rc = zb_path_join(path, sizeof path, L->dir, fn, err)) || (rc = open_file(m, path, err)))
            return rc;
    }
    return ZB_OK;
}

static int has(loader *L, const char *prefix)
{
    char full[128];
    snprintf(full, sizeof full, "%s%s", prefix, enc_emb_tensors[ENC_T_WORD].name);
    return L->weight_map ? json_object_get(L->weight_map, full) != NULL : st_find(L->m->files[0], full) != NULL;
}

static int load_weights(loader *L, zb_err *err)
{
    enc_model *m = L->m;
    const enc_config *c = &m->cfg;
    /* BertModel.save_pretrained (what sentence-transformers writes) has no prefix; checkpoints of
     * BertFor* heads put the encoder under "bert.". */
    L->prefix = has(L, "") ? "" : has(L, "bert.") ? "bert." : "";
    const int64_t size[] = {[ENC_DIM_NONE] = -1, [ENC_DIM_HIDDEN] = c->hidden,
                            [ENC_DIM_INTERMEDIATE] = c->intermediate, [ENC_DIM_VOCAB] = c->vocab_size,
                            [ENC_DIM_POSITIONS] = c->max_position, [ENC_DIM_TYPES] = c->type_vocab};
    const float **emb[ENC_N_EMB_TENSORS] = {[ENC_T_WORD] = &m->word, [ENC_T_POS] = &m->pos,
                                            [ENC_T_TYPE] = &m->type, [ENC_T_EMB_LN_W] = &m->emb_ln_g,
                                            [ENC_T_EMB_LN_B] = &m->emb_ln_b};
    int rc;
    for (int i = 0; i < ENC_N_EMB_TENSORS; i++) {
        const enc_tensor_spec *t = &enc_emb_tensors[i];
        if ((rc = get(L, t->name, size[t->d0], size[t->d1], 0, emb[i], err)))
            return rc;
    }
    if (!(m->layer = calloc(c->layers, sizeof *m->layer)))
        return zb_fail(err, ZB_ENOMEM, "out of memory");
    for (int l = 0; l < c->layers; l++) {
        enc_layer *y = &m->layer[l];
        const float **dst[ENC_N_LAYER_TENSORS] = {
            [ENC_T_Q_W] = &y->q_w,     [ENC_T_Q_B] = &y->q_b,     [ENC_T_K_W] = &y->k_w,
            [ENC_T_K_B] = &y->k_b,     [ENC_T_V_W] = &y->v_w,     [ENC_T_V_B] = &y->v_b,
            [ENC_T_O_W] = &y->o_w,     [ENC_T_O_B] = &y->o_b,     [ENC_T_LN1_W] = &y->ln1_g,
            [ENC_T_LN1_B] = &y->ln1_b, [ENC_T_I_W] = &y->i_w,     [ENC_T_I_B] = &y->i_b,
            [ENC_T_F_W] = &y->f_w,     [ENC_T_F_B] = &y->f_b,     [ENC_T_LN2_W] = &y->ln2_g,
            [ENC_T_LN2_B] = &y->ln2_b,
        };
        for (int i = 0; i < ENC_N_LAYER_TENSORS; i++) {
            char name[256];
            enc_layer_tensor_name(name, sizeof name, l, i);
            const enc_tensor_spec *t = &enc_layer_tensors[i];
            if ((rc = get(L, name, size[t->d0], size[t->d1], 0, dst[i], err)))
                return rc;
        }
    }
    return ZB_OK;
}

enc_model *enc_model_load(const char *model_dir, zb_err *err)
{
    enc_config cfg;
    if (enc_config_load(model_dir, &cfg, err))
        return NULL;
    return enc_model_load_config(model_dir, &cfg, err);
}

enc_model *enc_model_load_config(const char *model_dir, const enc_config *cfg, zb_err *err)
{
    enc_model *m = calloc(1, sizeof *m);
    if (!m) {
        zb_fail(err, ZB_ENOMEM, "out of memory");
        return NULL;
    }
    loader L = {.m = m, .dir = model_dir, .prefix = ""};
    json_t *index = NULL;
    char single[4096];
    m->cfg = *cfg;
    int rc = zb_path_join(single, sizeof single, model_dir, "model.safetensors", err);
    if (!rc)
        rc = zb_path_join(L.index_path, sizeof L.index_path, model_dir, "model.safetensors.index.json", err);
    if (!rc) {
        if (zb_is_file(single)) {
            if (!(m->files = calloc(1, sizeof *m->files)))
                rc = zb_fail(err, ZB_ENOMEM, "out of memory");
            else
                rc = open_file(m, single, err);
        } else if (zb_is_file(L.index_path)) {
            rc = open_shards(&L, &index, err);
        } else {
            rc = zb_fail(err, ZB_ENOTFOUND,
                         "%s: neither model.safetensors nor model.safetensors.index.json is there "
                         "(pytorch_model.bin is not read: convert it to safetensors)", model_dir);
        }
    }
    if (!rc)
        rc = load_weights(&L, err);
    json_decref(index);
    if (rc) {
        enc_model_free(m);
        return NULL;
    }
    return m;
}

void enc_model_free(enc_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_files; i++)
        st_close(m->files[i]);
    free(m->files);
    for (int i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    enc_model_free_prepared(m);
    free(m->layer);
    free(m);
}

const enc_config *enc_model_config(const enc_model *m)
{
    return &m->cfg;
}

int enc_input_embeddings(const enc_model *m, const int32_t *ids, int n, float *out, zb_err *err)
{
    int H = m->cfg.hidden;
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.vocab_size)
            return zb_fail(err, ZB_ERANGE, "token %d: id %d is outside the vocabulary [0, %d)", i, ids[i],
                           m->cfg.vocab_size);
    for (int i = 0; i < n; i++)
        memcpy(out + (size_t)i * H, m->word + (size_t)ids[i] * H, (size_t)H * sizeof *out);
    return ZB_OK;
}
