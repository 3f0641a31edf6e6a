/* pool_config.c: the pooling and normalization a sentence-transformers folder asks for, read from
 * modules.json and the Pooling module's config.json (jansson; files are untrusted and bounded). */
#include "pool.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "zb_file.h"
#include "zb_json.h"

#define POOL_JSON_MAX (1u << 20)   /* these files are a few hundred bytes; refuse anything huge */
#define POOL_DIM_MAX  (1 << 20)

/* Reads dir/name as JSON. A missing file is not an error: *out stays NULL. */
static int load_json(const char *dir, const char *name, char *path, size_t cap, json_t **out,
                     zb_err *err)
{
    *out = NULL;
    int rc = zb_path_join(path, cap, dir, name, err);
    if (rc)
        return rc;
    if (!zb_is_file(path))
        return ZB_OK;
    return zb_json_load_file(path, POOL_JSON_MAX, 0, out, err);
}

/* "sentence_transformers.models.Normalize" -> "Normalize" (newer ST versions use longer module
 * paths; the class name is what matters). */
static const char *class_name(const char *type)
{
    const char *dot = strrchr(type, '.');
    return dot ? dot + 1 : type;
}

/* A module path must stay inside the model folder. */
static int safe_rel_path(const char *p)
{
    if (p[0] == '\0' || p[0] == '/')
        return 0;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return 0;
        s += n;
        if (*s == '/')
            s++;
    }
    return 1;
}

/* modules.json: finds the Pooling module's folder and whether a Normalize module follows it. */
static int read_modules(const char *path, json_t *root, char *pool_dir, size_t cap, int *normalize,
                        zb_err *err)
{
    if (!json_is_array(root))
        return zb_fail(err, ZB_EFORMAT, "%s: expected a JSON array of modules", path);
    int pooling_at = -1;
    size_t i;
    json_t *m;
    json_array_foreach(root, i, m) {
        json_t *type = json_object_get(m, "type"), *mpath = json_object_get(m, "path");
        if (!json_is_object(m) || !json_is_string(type))
            return zb_fail(err, ZB_EFORMAT, "%s: modules[%zu] has no string field 'type'", path, i);
        const char *t = json_string_value(type), *cls = class_name(t);
        if (strcmp(cls, "Transformer") == 0) {
            if (i != 0)
                return zb_fail(err, ZB_EUNSUPPORTED, "%s: modules[%zu] is a second Transformer (%s); "
                               "zembed runs one encoder followed by pooling", path, i, t);
        } else if (strcmp(cls, "Pooling") == 0) {
            if (pooling_at >= 0)
                return zb_fail(err, ZB_EUNSUPPORTED, "%s: modules[%zu] is a second Pooling module",
                               path, i);
            if (!json_is_string(mpath) || !safe_rel_path(json_string_value(mpath)))
                return zb_fail(err, ZB_EFORMAT, "%s: modules[%zu] (Pooling): field 'path' must be "
                               "a relative folder inside the model", path, i);
            if (strlen(json_string_value(mpath)) >= cap)
                return zb_fail(err, ZB_ETOOLONG, "%s: modules[%zu]: field 'path' is too long", path, i);
            strcpy(pool_dir, json_string_value(mpath));
            pooling_at = (int)i;
        } else if (strcmp(cls, "Normalize") == 0) {
            if (pooling_at < 0)
                return zb_fail(err, ZB_EUNSUPPORTED, "%s: modules[%zu] Normalize comes before the "
                               "Pooling module", path, i);
            *normalize = 1;
        } else {
            const char *what = json_is_string(mpath) ? json_string_value(mpath) : "?";
            return zb_fail(err, ZB_EUNSUPPORTED, "%s: modules[%zu] '%s' (%s) is not supported: zembed "
                           "runs Transformer, Pooling and Normalize modules only%s", path, i, what, t,
                           strcmp(cls, "Dense") == 0 ? " (a Dense projection after pooling)" : "");
        }
    }
    if (pooling_at < 0)
        return zb_fail(err, ZB_EUNSUPPORTED, "%s: lists no sentence_transformers.models.Pooling module",
                       path);
    return ZB_OK;
}

/* A pooling_mode_* flag: JSON true/false (0/1 accepted, as Python's bool() would); absent -> dflt. */
static int get_flag(const char *path, json_t *root, const char *key, int dflt, int *out, zb_err *err)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return ZB_OK;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return ZB_OK;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = (int)json_integer_value(v);
        return ZB_OK;
    }
    return zb_fail(err, ZB_EFORMAT, "%s: field '%s' must be true or false", path, key);
}

/* The Pooling module's config.json, with ST's constructor defaults (mean on, the rest off). */
static int read_pooling(const char *path, json_t *root, int hidden, pool_config *out, zb_err *err)
{
    if (!json_is_object(root))
        return zb_fail(err, ZB_EFORMAT, "%s: expected a JSON object", path);

    json_t *wd = json_object_get(root, "word_embedding_dimension");
    if (!json_is_integer(wd))
        return zb_fail(err, ZB_EFORMAT, "%s: field 'word_embedding_dimension' must be an integer",
                       path);
    json_int_t dim = json_integer_value(wd);
    if (dim < 1 || dim > POOL_DIM_MAX)
        return zb_fail(err, ZB_EFORMAT, "%s: field 'word_embedding_dimension' is %lld; it must be "
                       "between 1 and %d", path, (long long)dim, POOL_DIM_MAX);
    if (hidden > 0 && dim != hidden)
        return zb_fail(err, ZB_EFORMAT, "%s: field 'word_embedding_dimension' is %lld but the "
                       "encoder's hidden size is %d", path, (long long)dim, hidden);

    /* Flags in ST's concatenation order (Pooling.forward): cls, max, mean, mean_sqrt_len_tokens,
     * weightedmean, lasttoken. */
    static const struct { const char *key, *mode; int dflt; pool_mode m; } FLAGS[] = {
        { "pooling_mode_cls_token", "cls", 0, POOL_CLS },
        { "pooling_mode_max_tokens", "max", 0, POOL_MAX },
        { "pooling_mode_mean_tokens", "mean", 1, POOL_MEAN },
        { "pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens", 0, POOL_MEAN_SQRT_LEN },
        { "pooling_mode_weightedmean_tokens", "weightedmean", 0, POOL_N_MODES },
        { "pooling_mode_lasttoken", "lasttoken", 0, POOL_LASTTOKEN },
    };
    enum { NFLAGS = sizeof FLAGS / sizeof FLAGS[0] };
    int on[NFLAGS];

    /* A 'pooling_mode' string overrides every flag, as in ST's constructor. */
    json_t *pm = json_object_get(root, "pooling_mode");
    if (pm && !json_is_null(pm)) {
        if (!json_is_string(pm))
            return zb_fail(err, ZB_EFORMAT, "%s: field 'pooling_mode' must be a string", path);
        int found = 0;
        for (int f = 0; f < NFLAGS; f++) {
            on[f] = strcmp(json_string_value(pm), FLAGS[f].mode) == 0;
            found |= on[f];
        }
        if (!found)
            return zb_fail(err, ZB_EFORMAT, "%s: field 'pooling_mode' is '%s'; expected cls, max, mean, "
                           "mean_sqrt_len_tokens, weightedmean or lasttoken", path,
                           json_string_value(pm));
    } else {
        for (int f = 0; f < NFLAGS; f++) {
            int rc = get_flag(path, root, FLAGS[f].key, FLAGS[f].dflt, &on[f], err);
            if (rc)
                return rc;
        }
    }
    int rc = get_flag(path, root, "include_prompt", 1, &out->include_prompt, err);
    if (rc)
        return rc;

    out->dim = (int)dim;
    out->n_modes = 0;
    for (int f = 0; f < NFLAGS; f++) {
        if (!on[f])
            continue;
        if (FLAGS[f].m == POOL_N_MODES)
            return zb_fail(err, ZB_EUNSUPPORTED, "%s: field '%s' is set: weighted-mean pooling is "
                           "not supported", path, FLAGS[f].key);
        out->modes[out->n_modes++] = FLAGS[f].m;
    }
    if (out->n_modes == 0)
        return zb_fail(err, ZB_EFORMAT, "%s: no pooling mode is set (every pooling_mode_* field is "
                       "false)", path);
    out->mode = out->modes[0];
    out->out_dim = out->n_modes * out->dim;
    return ZB_OK;
}

int pool_config_load(const char *model_dir, int hidden, pool_config *out, zb_err *err)
{
    char mpath[4096], ppath[4096], pool_dir[1024] = "1_Pooling";
    json_t *modules = NULL, *pooling = NULL;
    pool_config c;
    pool_config_default(hidden, &c);

    int rc = load_json(model_dir, "modules.json", mpath, sizeof mpath, &modules, err);
    if (!rc && modules)
        rc = read_modules(mpath, modules, pool_dir, sizeof pool_dir, &c.normalize, err);
    /* Without modules.json ST would use mean pooling; a 1_Pooling/config.json left in such a
     * folder is still honoured, as its author clearly meant it. */
    char rel[sizeof pool_dir + 16];
    if (!rc) {
        snprintf(rel, sizeof rel, "%s/config.json", pool_dir);
        rc = load_json(model_dir, rel, ppath, sizeof ppath, &pooling, err);
    }
    if (!rc && modules && !pooling)
        rc = zb_fail(err, ZB_ENOTFOUND, "%s: the Pooling module's %s is missing", mpath, ppath);
    if (!rc && pooling)
        rc = read_pooling(ppath, pooling, hidden, &c, err);
    json_decref(modules);
    json_decref(pooling);
    if (rc)
        return rc;
    *out = c;
    return ZB_OK;
}
