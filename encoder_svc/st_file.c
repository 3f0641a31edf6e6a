/* st_file: safetensors parsing and validation (see st.h for the rules). */
#include "st.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zb_file.h"

struct st_file {
    char *path;
    zb_map map;
    st_tensor *t;      /* sorted by name */
    int n;
};

static const struct { const char *name; size_t size; } dtypes[ST_DTYPE_COUNT] = {
    [ST_BOOL] = {"BOOL", 1}, [ST_U8] = {"U8", 1},     [ST_I8] = {"I8", 1},
    [ST_F8_E5M2] = {"F8_E5M2", 1}, [ST_F8_E4M3] = {"F8_E4M3", 1},
    [ST_I16] = {"I16", 2},   [ST_U16] = {"U16", 2},   [ST_F16] = {"F16", 2},
    [ST_BF16] = {"BF16", 2}, [ST_I32] = {"I32", 4},   [ST_U32] = {"U32", 4},
    [ST_F32] = {"F32", 4},   [ST_F64] = {"F64", 8},   [ST_I64] = {"I64", 8},
    [ST_U64] = {"U64", 8},
};

const char *st_dtype_name(st_dtype t)
{
    return (unsigned)t < ST_DTYPE_COUNT ? dtypes[t].name : "?";
}

size_t st_dtype_size(st_dtype t)
{
    return (unsigned)t < ST_DTYPE_COUNT ? dtypes[t].size : 0;
}

const char *st_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap)
{
    size_t k = 0;
    int w = snprintf(buf, cap, "[");
    k = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < ndim && k < cap; i++) {
        w = snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)shape[i]);
        k += w > 0 ? (size_t)w : 0;
    }
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
    return buf;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

static int cmp_begin(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    return x->data < y->data ? -1 : x->data > y->data ? 1 : (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}

/* One header entry -> *t (name already set). data_size is the size of the data buffer. */
static int parse_entry(const char *path, const char *name, json_t *v, const unsigned char *data,
                       uint64_t data_size, st_tensor *t, zb_err *err)
{
    if (!json_is_object(v))
        return zb_fail(err, ZB_EFORMAT, "%s: tensor '%s': header entry is not an object", path, name);
    json_t *dt = json_object_get(v, "dtype"), *sh = json_object_get(v, "shape"),
           *off = json_object_get(v, "data_offsets");
    if (!json_is_string(dt) || !json_is_array(sh) || !json_is_array(off))
        return zb_fail(err, ZB_EFORMAT,
                       "%s: tensor '%s': needs \"dtype\" (string), \"shape\" and \"data_offsets\" (arrays)",
                       path, name);
    const char *dname = json_string_value(dt);
    int d = -1;
    for (int i = 0; i < ST_DTYPE_COUNT; i++)
        if (!strcmp(dname, dtypes[i].name))
            d = i;
    if (d < 0)
        return zb_fail(err, ZB_EUNSUPPORTED, "%s: tensor '%s': unknown dtype '%s'", path, name, dname);
    t->dtype = (st_dtype)d;

    size_t nd = json_array_size(sh);
    if (nd > ST_MAX_DIMS)
        return zb_fail(err, ZB_EUNSUPPORTED, "%s: tensor '%s': %zu dimensions, at most %d supported",
                       path, name, nd, ST_MAX_DIMS);
    t->ndim = (int)nd;
    /* numel * dtype size must fit in the file, so any product above 2^62 is already wrong; checking
     * against that bound before each multiplication rules out overflow. */
    uint64_t numel = 1;
    for (size_t i = 0; i < nd; i++) {
        json_t *e = json_array_get(sh, i);
        if (!json_is_integer(e) || json_integer_value(e) < 0)
            return zb_fail(err, ZB_EFORMAT, "%s: tensor '%s': shape[%zu] is not a non-negative integer",
                           path, name, i);
        uint64_t s = (uint64_t)json_integer_value(e);
        t->shape[i] = (int64_t)s;
        if (s && numel > (UINT64_C(1) << 62) / s)
            return zb_fail(err, ZB_EFORMAT, "%s: tensor '%s': shape is too large (overflows)", path, name);
        numel *= s;
    }
    json_t *b = json_array_get(off, 0), *e = json_array_get(off, 1);
    if (json_array_size(off) != 2 || !json_is_integer(b) || !json_is_integer(e) ||
        json_integer_value(b) < 0 || json_integer_value(e) < json_integer_value(b))
        return zb_fail(err, ZB_EFORMAT, "%s: tensor '%s': data_offsets must be [begin, end] with 0 <= begin <= end",
                       path, name);
    uint64_t begin = (uint64_t)json_integer_value(b), end = (uint64_t)json_integer_value(e);
    if (end > data_size)
        return zb_fail(err, ZB_EFORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu] run past the data buffer (%llu bytes; file truncated?)",
                       path, name, (unsigned long long)begin, (unsigned long long)end,
                       (unsigned long long)data_size);
    uint64_t want = numel * dtypes[d].size;   /* numel <= 2^62 / 1 and size <= 8: checked below */
    if (numel > (UINT64_C(1) << 60) || want != end - begin) {
        char sbuf[160];
        return zb_fail(err, ZB_EFORMAT,
                       "%s: tensor '%s': %s %s needs %llu bytes but data_offsets [%llu, %llu] hold %llu",
                       path, name, dtypes[d].name, st_shape_str(t->shape, t->ndim, sbuf, sizeof sbuf),
                       (unsigned long long)want, (unsigned long long)begin, (unsigned long long)end,
                       (unsigned long long)(end - begin));
    }
    t->numel = (int64_t)numel;
    t->data = data + begin;
    t->nbytes = (size_t)(end - begin);
    return ZB_OK;
}

static int parse_header(st_file *f, zb_err *err)
{
    const char *path = f->path;
    const unsigned char *p = f->map.data;
    size_t size = f->map.size;
    if (size < 8)
        return zb_fail(err, ZB_EFORMAT, "%s: %zu bytes, too short for a safetensors header", path, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | p[i];
    if (hlen > ST_MAX_HEADER)
        return zb_fail(err, ZB_EFORMAT, "%s: header length %llu is over the %u-byte limit (not a safetensors file?)",
                       path, (unsigned long long)hlen, ST_MAX_HEADER);
    if (hlen < 2 || hlen > size - 8)
        return zb_fail(err, ZB_EFORMAT, "%s: header length %llu does not fit in the file (%zu bytes; truncated?)",
                       path, (unsigned long long)hlen, size);
    if (p[8] != '{')
        return zb_fail(err, ZB_EFORMAT, "%s: header does not start with '{'", path);

    json_error_t je;
    json_t *root = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return zb_fail(err, ZB_EFORMAT, "%s: header JSON: %s (at byte %d of the header)", path, je.text,
                       je.position);
    int rc = ZB_OK;
    if (!json_is_object(root)) {
        rc = zb_fail(err, ZB_EFORMAT, "%s: header is not a JSON object", path);
        goto out;
    }
    const unsigned char *data = p + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;
    size_t cap = json_object_size(root);
    f->t = calloc(cap ? cap : 1, sizeof *f->t);
    if (!f->t) {
        rc = zb_fail(err, ZB_ENOMEM, "%s: no memory for %zu tensor entries", path, cap);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            /* The format says: a map of strings to strings. */
            const char *mk;
            json_t *mv;
            if (!json_is_object(v)) {
                rc = zb_fail(err, ZB_EFORMAT, "%s: __metadata__ is not an object", path);
                goto out;
            }
            json_object_foreach(v, mk, mv) {
                if (!json_is_string(mv)) {
                    rc = zb_fail(err, ZB_EFORMAT, "%s: __metadata__ value '%s' is not a string", path, mk);
                    goto out;
                }
            }
            continue;
        }
        st_tensor *t = &f->t[f->n];
        if (!(t->name = strdup(key))) {
            rc = zb_fail(err, ZB_ENOMEM, "%s: out of memory", path);
            goto out;
        }
        f->n++;
        if ((rc = parse_entry(path, key, v, data, data_size, t, err)) != ZB_OK)
            goto out;
    }

    /* Contiguous, ordered, no overlap, no hole: sort by begin and walk the buffer. */
    const st_tensor **by = malloc((f->n ? f->n : 1) * sizeof *by);
    if (!by) {
        rc = zb_fail(err, ZB_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < f->n; i++)
        by[i] = &f->t[i];
    qsort(by, f->n, sizeof *by, cmp_begin);
    const unsigned char *at = data;
    for (int i = 0; i < f->n && rc == ZB_OK; i++) {
        if (by[i]->data < at)
            rc = zb_fail(err, ZB_EFORMAT, "%s: tensor '%s' (bytes %td..%td) overlaps tensor '%s'", path,
                         by[i]->name, by[i]->data - data, by[i]->data - data + (ptrdiff_t)by[i]->nbytes,
                         by[i - 1]->name);
        else if (by[i]->data > at)
            rc = zb_fail(err, ZB_EFORMAT, "%s: %td unindexed bytes before tensor '%s' (hole in the data buffer)",
                         path, by[i]->data - at, by[i]->name);
        at = by[i]->data + by[i]->nbytes;
    }
    if (rc == ZB_OK && at != data + data_size)
        rc = zb_fail(err, ZB_EFORMAT, "%s: %td trailing bytes after the last tensor", path,
                     (data + data_size) - at);
    free(by);
    if (rc == ZB_OK)
        qsort(f->t, f->n, sizeof *f->t, cmp_name);
out:
    json_decref(root);
    return rc;
}

st_file *st_open(const char *path, zb_err *err)
{
    st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        zb_fail(err, ZB_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (zb_map_file(path, &f->map, err) != ZB_OK || parse_header(f, err) != ZB_OK) {
        st_close(f);
        return NULL;
    }
    return f;
}

void st_close(st_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        free((char *)f->t[i].name);
    free(f->t);
    zb_unmap(&f->map);
    free(f->path);
    free(f);
}

const char *st_path(const st_file *f) { return f->path; }
int st_count(const st_file *f) { return f->n; }

const st_tensor *st_tensor_at(const st_file *f, int i)
{
    return i >= 0 && i < f->n ? &f->t[i] : NULL;
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    st_tensor key = {.name = name};
    return bsearch(&key, f->t, f->n, sizeof *f->t, cmp_name);
}
