/* wire: client requests and replies of protocol v1 (docs/PROTOCOL.md). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static const char *const op_names[WIRE_OP_COUNT_] = {
    "embed", "tokenize", "token_embeddings", "input_embeddings", "similarity", "info", "health",
};

const char *wire_op_name(wire_op op)
{
    return (unsigned)op < WIRE_OP_COUNT_ ? op_names[op] : "unknown";
}

const char *wire_out_dtype_name(wire_out_dtype d)
{
    static const char *const n[WIRE_DT_COUNT_] = {"float32", "float16", "int8", "uint8", "binary",
                                                  "ubinary"};
    return (unsigned)d < WIRE_DT_COUNT_ ? n[d] : "unknown";
}

static const char *type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "int";
    case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64: return "float";
    case MSGPACK_OBJECT_STR: return "str";
    case MSGPACK_OBJECT_BIN: return "bin";
    case MSGPACK_OBJECT_ARRAY: return "array";
    case MSGPACK_OBJECT_MAP: return "map";
    default: return "ext";
    }
}

static int str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && !memcmp(o->via.str.ptr, s, n);
}

const msgpack_object *wire_map_get(const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (str_is(&map->via.map.ptr[i].key, key))
            return &map->via.map.ptr[i].val;
    return NULL;
}

int wire_id_set(wire_id *id, const msgpack_object *o, zb_err *err)
{
    id->len = 0;
    if (o->type == MSGPACK_OBJECT_NIL)
        return ZB_OK;
    if (!(o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
          (o->type == MSGPACK_OBJECT_STR && o->via.str.size <= 256)))
        return zb_fail(err, ZB_EINVAL, "id: expected str (at most 256 bytes) or int, got %s%s",
                       type_name(o), o->type == MSGPACK_OBJECT_STR ? " longer than 256 bytes" : "");
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *o);
    if (!sb.data || sb.size > WIRE_ID_MAX) {
        msgpack_sbuffer_destroy(&sb);
        return zb_fail(err, ZB_ENOMEM, "id: cannot copy");
    }
    memcpy(id->raw, sb.data, sb.size);
    id->len = sb.size;
    msgpack_sbuffer_destroy(&sb);
    return ZB_OK;
}

/* ---- requests ------------------------------------------------------------------------------ */

static int get_bool(const msgpack_object *v, const char *key, int *out, zb_err *err)
{
    if (v->type != MSGPACK_OBJECT_BOOLEAN)
        return zb_fail(err, ZB_EINVAL, "%s: expected bool, got %s", key, type_name(v));
    *out = v->via.boolean;
    return ZB_OK;
}

static int get_int(const msgpack_object *v, const char *key, long long lo, long long hi, int code,
                   int *out, zb_err *err)
{
    long long x;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        x = v->via.u64 > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)v->via.u64;
    else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        x = v->via.i64;
    else
        return zb_fail(err, ZB_EINVAL, "%s: expected int, got %s", key, type_name(v));
    if (x < lo || x > hi)
        return zb_fail(err, code, "%s: %lld is outside %lld..%lld", key, x, lo, hi);
    *out = (int)x;
    return ZB_OK;
}

/* Picks one of names[] (NULL-terminated); the message lists them. */
static int get_enum(const msgpack_object *v, const char *key, const char *const *names, int *out,
                    zb_err *err)
{
    char list[160] = "";
    for (int i = 0; names[i]; i++) {
        if (str_is(v, names[i])) {
            *out = i;
            return ZB_OK;
        }
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s\"%s\"", i ? ", " : "", names[i]);
    }
    if (v->type != MSGPACK_OBJECT_STR)
        return zb_fail(err, ZB_EINVAL, "%s: expected str, got %s", key, type_name(v));
    return zb_fail(err, ZB_EINVAL, "%s: \"%.*s\" is not one of %s", key,
                   (int)(v->via.str.size > 40 ? 40 : v->via.str.size), v->via.str.ptr, list);
}

/* Appends the str items of array v (named key) to req->texts. */
static int add_texts(wire_req *req, const msgpack_object *v, const char *key, int cap,
                     const wire_limits *lim, zb_err *err)
{
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return zb_fail(err, ZB_EINVAL, "%s: expected array of str, got %s", key, type_name(v));
    uint32_t n = v->via.array.size;
    if (n == 0)
        return zb_fail(err, ZB_EINVAL, "%s: empty; at least one text is required", key);
    if (lim && (long long)req->n + n > lim->max_texts)
        return zb_fail(err, ZB_ETOOLONG, "%s has %u texts%s; max_texts is %d", key, n,
                       req->n ? " (with a)" : "", lim->max_texts);
    if ((long long)req->n + n > cap)
        return zb_fail(err, ZB_EINVAL, "%s: too many texts", key);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *t = &v->via.array.ptr[i];
        if (t->type != MSGPACK_OBJECT_STR)
            return zb_fail(err, ZB_EINVAL, "%s[%u]: expected str, got %s", key, i, type_name(t));
        if (lim && t->via.str.size > lim->max_text_bytes)
            return zb_fail(err, ZB_ETOOLONG, "%s[%u] has %u bytes; max_text_bytes is %zu", key, i,
                           t->via.str.size, lim->max_text_bytes);
        req->texts[req->n] = t->via.str.ptr;
        req->text_lens[req->n] = t->via.str.size;
        req->n++;
    }
    return ZB_OK;
}

/* Which argument keys each op takes, besides v, id, op, timeout_ms. */
static const char *const op_keys[WIRE_OP_COUNT_] = {
    [WIRE_OP_EMBED] = " texts truncate truncation_direction max_length normalize dimensions dtype ",
    [WIRE_OP_TOKENIZE] = " texts truncate truncation_direction max_length add_special_tokens count_only ",
    [WIRE_OP_TOKEN_EMBEDDINGS] = " texts truncate truncation_direction max_length ",
    [WIRE_OP_INPUT_EMBEDDINGS] = " texts truncate truncation_direction max_length ",
    [WIRE_OP_SIMILARITY] = " a b mode space truncate truncation_direction max_length ",
    [WIRE_OP_INFO] = " ",
    [WIRE_OP_HEALTH] = " ",
};

static int key_allowed(wire_op op, const msgpack_object *k)
{
    char buf[40];
    if (k->type != MSGPACK_OBJECT_STR || k->via.str.size + 3 > sizeof buf)
        return 0;
    snprintf(buf, sizeof buf, " %.*s ", (int)k->via.str.size, k->via.str.ptr);
    return strstr(op_keys[op], buf) != NULL;
}

static int parse_args(const msgpack_object *o, const wire_limits *lim, wire_req *req, zb_err *err)
{
    static const char *const dirs[] = {"right", "left", NULL};
    static const char *const dtypes[] = {"float32", "float16", "int8", "uint8", "binary", "ubinary", NULL};
    static const char *const modes[] = {"texts", "tokens", NULL};
    static const char *const spaces[] = {"output", "input", NULL};
    wire_opts *opt = &req->opt;
    const msgpack_object *texts = NULL, *a = NULL, *b = NULL;
    int rc = ZB_OK, truncate = -1;
    for (uint32_t i = 0; i < o->via.map.size && rc == ZB_OK; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        if (str_is(k, "v") || str_is(k, "id") || str_is(k, "op"))
            continue;
        if (str_is(k, "timeout_ms")) {
            rc = get_int(v, "timeout_ms", 1, lim ? lim->max_timeout_ms : INT_MAX, ZB_EINVAL,
                         &req->timeout_ms, err);
        } else if (!key_allowed(req->op, k)) {
            if (k->type != MSGPACK_OBJECT_STR)
                rc = zb_fail(err, ZB_EINVAL, "request keys must be str, got %s", type_name(k));
            else
                rc = zb_fail(err, ZB_EINVAL, "%.*s: not an argument of op \"%s\"",
                             (int)(k->via.str.size > 40 ? 40 : k->via.str.size), k->via.str.ptr,
                             wire_op_name(req->op));
        } else if (str_is(k, "texts")) texts = v;
        else if (str_is(k, "a")) a = v;
        else if (str_is(k, "b")) b = v;
        else if (str_is(k, "truncate")) rc = get_bool(v, "truncate", &truncate, err);
        else if (str_is(k, "truncation_direction")) rc = get_enum(v, "truncation_direction", dirs, &opt->left, err);
        else if (str_is(k, "normalize")) rc = get_bool(v, "normalize", &opt->normalize, err);
        else if (str_is(k, "dimensions")) rc = get_int(v, "dimensions", 1, INT_MAX, ZB_ERANGE, &opt->dimensions, err);
        else if (str_is(k, "max_length")) rc = get_int(v, "max_length", 1, 1 << 20, ZB_ERANGE, &opt->max_length, err);
        else if (str_is(k, "dtype")) rc = get_enum(v, "dtype", dtypes, &opt->dtype, err);
        else if (str_is(k, "add_special_tokens")) rc = get_bool(v, "add_special_tokens", &opt->add_special, err);
        else if (str_is(k, "count_only")) rc = get_bool(v, "count_only", &opt->count_only, err);
        else if (str_is(k, "mode")) rc = get_enum(v, "mode", modes, &opt->tokens_mode, err);
        else if (str_is(k, "space")) rc = get_enum(v, "space", spaces, &opt->input_space, err);
    }
    if (rc)
        return rc;
    opt->truncate = truncate >= 0 ? truncate : req->op != WIRE_OP_TOKENIZE;
    if (opt->input_space && !opt->tokens_mode)
        return zb_fail(err, ZB_EINVAL, "space: \"input\" needs mode \"tokens\"");
    if (req->op == WIRE_OP_INFO || req->op == WIRE_OP_HEALTH)
        return ZB_OK;
    int cap;
    if (req->op == WIRE_OP_SIMILARITY) {
        if (!a || !b)
            return zb_fail(err, ZB_EINVAL, "%s: missing (array of str)", a ? "b" : "a");
        if (a->type != MSGPACK_OBJECT_ARRAY || b->type != MSGPACK_OBJECT_ARRAY)
            return zb_fail(err, ZB_EINVAL, "%s: expected array of str, got %s",
                           a->type != MSGPACK_OBJECT_ARRAY ? "a" : "b",
                           type_name(a->type != MSGPACK_OBJECT_ARRAY ? a : b));
        if (opt->tokens_mode && (a->via.array.size != 1 || b->via.array.size != 1))
            return zb_fail(err, ZB_EINVAL, "%s: mode \"tokens\" takes exactly one text in a and one "
                           "in b, got %u", a->via.array.size != 1 ? "a" : "b",
                           a->via.array.size != 1 ? a->via.array.size : b->via.array.size);
        cap = (int)((uint64_t)a->via.array.size + b->via.array.size > INT_MAX
                        ? INT_MAX : a->via.array.size + b->via.array.size);
    } else {
        if (!texts)
            return zb_fail(err, ZB_EINVAL, "texts: missing (array of str)");
        cap = texts->type == MSGPACK_OBJECT_ARRAY ? (int)texts->via.array.size : 0;
    }
    if (cap > 0) {
        req->texts = malloc(sizeof *req->texts * cap);
        req->text_lens = malloc(sizeof *req->text_lens * cap);
        if (!req->texts || !req->text_lens)
            return zb_fail(err, ZB_ENOMEM, "texts: out of memory for %d texts", cap);
    }
    if (req->op == WIRE_OP_SIMILARITY) {
        if ((rc = add_texts(req, a, "a", cap, lim, err)))
            return rc;
        req->na = req->n;
        return add_texts(req, b, "b", cap, lim, err);
    }
    return add_texts(req, texts, "texts", cap, lim, err);
}

int wire_req_from_object(const msgpack_object *o, const wire_limits *lim, wire_req *req,
                         int *op_known, zb_err *err)
{
    *op_known = 0;
    memset(&req->opt, 0, sizeof req->opt);
    req->opt.normalize = -1;
    req->opt.add_special = 1;
    req->id.len = 0;
    req->timeout_ms = req->n = req->na = 0;
    if (o->type != MSGPACK_OBJECT_MAP)
        return zb_fail(err, ZB_EFORMAT, "request: expected a msgpack map, got %s", type_name(o));
    const msgpack_object *v = wire_map_get(o, "v"), *id = wire_map_get(o, "id"),
                         *op = wire_map_get(o, "op");
    int rc;
    if (id && (rc = wire_id_set(&req->id, id, err)))
        return rc;
    if (op && op->type == MSGPACK_OBJECT_STR)
        for (int i = 0; i < WIRE_OP_COUNT_; i++)
            if (str_is(op, op_names[i])) {
                req->op = i;
                *op_known = 1;
            }
    if (!v)
        return zb_fail(err, ZB_EINVAL, "v: missing (the protocol version, 1)");
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != WIRE_VERSION)
        return zb_fail(err, ZB_EUNSUPPORTED, "v: protocol version %s%llu is not supported; this "
                       "server speaks version %d", v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? "" : "(not an int) ",
                       v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (unsigned long long)v->via.u64 : 0ull,
                       WIRE_VERSION);
    if (!op)
        return zb_fail(err, ZB_EINVAL, "op: missing");
    if (op->type != MSGPACK_OBJECT_STR)
        return zb_fail(err, ZB_EINVAL, "op: expected str, got %s", type_name(op));
    if (!*op_known)
        return zb_fail(err, ZB_EUNSUPPORTED, "op: \"%.*s\" is not an operation (embed, tokenize, "
                       "token_embeddings, input_embeddings, similarity, info, health)",
                       (int)(op->via.str.size > 40 ? 40 : op->via.str.size), op->via.str.ptr);
    return parse_args(o, lim, req, err);
}

int wire_req_parse(const void *buf, size_t len, const wire_limits *lim, wire_req *req,
                   int *op_known, zb_err *err)
{
    memset(req, 0, sizeof *req);
    *op_known = 0;
    int rc = wire_unpack_checked(buf, len, &req->up_, "request", err);
    if (rc)
        return rc;
    return wire_req_from_object(&req->up_.data, lim, req, op_known, err);
}

void wire_req_free(wire_req *req)
{
    free(req->texts);
    free(req->text_lens);
    req->texts = NULL;
    req->text_lens = NULL;
    msgpack_unpacked_destroy(&req->up_);
}

/* ---- replies ------------------------------------------------------------------------------- */

void wire_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void wire_reply_head(msgpack_packer *pk, const wire_id *id, int op, int ok, int demo, int n_fields)
{
    msgpack_pack_map(pk, 4 + (demo ? 1 : 0) + n_fields);
    wire_pack_str(pk, "v");
    msgpack_pack_int(pk, WIRE_VERSION);
    wire_pack_str(pk, "id");
    if (id && id->len)
        pk->callback(pk->data, (const char *)id->raw, id->len);
    else
        msgpack_pack_nil(pk);
    wire_pack_str(pk, "op");
    if (op >= 0 && op < WIRE_OP_COUNT_)
        wire_pack_str(pk, op_names[op]);
    else
        msgpack_pack_nil(pk);
    wire_pack_str(pk, "ok");
    ok ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    if (demo) {
        wire_pack_str(pk, "demo_model");
        msgpack_pack_true(pk);
    }
}

void wire_reply_error(msgpack_sbuffer *sb, const wire_id *id, int op, int code, const char *msg)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    wire_reply_head(&pk, id, op, 0, 0, 1);
    wire_pack_str(&pk, "error");
    msgpack_pack_map(&pk, 2);
    wire_pack_str(&pk, "code");
    wire_pack_str(&pk, zb_code_name(code));
    wire_pack_str(&pk, "message");
    wire_pack_str(&pk, msg);
}

/* ---- tensors ------------------------------------------------------------------------------- */

void wire_pack_tensor(msgpack_packer *pk, msgpack_sbuffer *sb, const char *dtype, const int *shape,
                      int ndim, const void *data, size_t bytes)
{
    msgpack_pack_map(pk, 4);
    wire_pack_str(pk, "dtype");
    wire_pack_str(pk, dtype);
    wire_pack_str(pk, "shape");
    msgpack_pack_array(pk, ndim);
    for (int i = 0; i < ndim; i++)
        msgpack_pack_int(pk, shape[i]);
    /* "pad" key (4 bytes) + fixstr of L spaces (1 + L) + "data" key (5) + bin header: choose L so
     * that the data starts at a multiple of 8 from the start of the message */
    size_t binhdr = bytes < 256 ? 2 : bytes < 65536 ? 3 : 5;
    size_t at = sb->size + 4 + 1 + 5 + binhdr;
    int pad = (int)((8 - at % 8) % 8);
    wire_pack_str(pk, "pad");
    msgpack_pack_str(pk, pad);
    msgpack_pack_str_body(pk, "        ", pad);
    wire_pack_str(pk, "data");
    msgpack_pack_bin(pk, bytes);
    msgpack_pack_bin_body(pk, data, bytes);
}

int wire_read_tensor(const msgpack_object *o, const char *want_dtype, size_t elem_size, int *shape,
                     int max_ndim, int *ndim, const void **data, size_t *bytes, const char *what,
                     zb_err *err)
{
    const msgpack_object *dt = wire_map_get(o, "dtype"), *sh = wire_map_get(o, "shape"),
                         *d = wire_map_get(o, "data");
    if (!dt || !sh || !d)
        return zb_fail(err, ZB_EFORMAT, "%s: expected a tensor {dtype, shape, data}", what);
    if (!str_is(dt, want_dtype))
        return zb_fail(err, ZB_EFORMAT, "%s: dtype is not %s", what, want_dtype);
    if (sh->type != MSGPACK_OBJECT_ARRAY || (int)sh->via.array.size > max_ndim)
        return zb_fail(err, ZB_EFORMAT, "%s: shape must be an array of at most %d ints", what, max_ndim);
    if (d->type != MSGPACK_OBJECT_BIN)
        return zb_fail(err, ZB_EFORMAT, "%s: data must be bin", what);
    uint64_t count = 1;
    *ndim = (int)sh->via.array.size;
    for (int i = 0; i < *ndim; i++) {
        const msgpack_object *s = &sh->via.array.ptr[i];
        if (s->type != MSGPACK_OBJECT_POSITIVE_INTEGER || s->via.u64 > INT_MAX) {
            if (!(s->type == MSGPACK_OBJECT_POSITIVE_INTEGER))
                return zb_fail(err, ZB_EFORMAT, "%s: shape[%d] is not a non-negative int", what, i);
            return zb_fail(err, ZB_EFORMAT, "%s: shape[%d] is too large", what, i);
        }
        shape[i] = (int)s->via.u64;
        count *= s->via.u64;
        if (count > UINT32_MAX)
            return zb_fail(err, ZB_EFORMAT, "%s: shape is too large", what);
    }
    if (count * elem_size != d->via.bin.size)
        return zb_fail(err, ZB_EFORMAT, "%s: data has %u bytes; shape needs %llu", what,
                       d->via.bin.size, (unsigned long long)(count * elem_size));
    *data = d->via.bin.ptr;
    *bytes = d->via.bin.size;
    return ZB_OK;
}
