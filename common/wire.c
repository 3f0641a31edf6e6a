/* wire: client requests and replies of protocol v1 (docs/PROTOCOL.md). */
#include <assert.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define K(k) WIRE_KEY(WIRE_K_##k)
#define TEXT_KEYS (K(TRUNCATE) | K(TRUNCATION_DIRECTION) | K(MAX_LENGTH))
#define PIPELINE (WIRE_AT(WIRE_STAGE_TOKENIZER) | WIRE_AT(WIRE_STAGE_ENCODER) | WIRE_AT(WIRE_STAGE_POOLER))

/* The protocol's ops (docs/PROTOCOL.md §2). The gateway validates every request and passes all but
 * its own ops (health) to the tokenizers. */
const wire_op_def wire_ops[WIRE_OP_COUNT_] = {
    [WIRE_OP_EMBED] = {"embed", K(TEXTS) | TEXT_KEYS | K(NORMALIZE) | K(DIMENSIONS) | K(DTYPE),
                       WIRE_TEXTS_LIST, PIPELINE, 1, WIRE_PIECES_NEVER, WIRE_HIDDEN_OUTPUT},
    [WIRE_OP_TOKENIZE] = {"tokenize", K(TEXTS) | TEXT_KEYS | K(ADD_SPECIAL_TOKENS) | K(COUNT_ONLY),
                          WIRE_TEXTS_LIST, WIRE_AT(WIRE_STAGE_TOKENIZER), 0, WIRE_PIECES_NEVER,
                          WIRE_HIDDEN_NONE},
    [WIRE_OP_TOKEN_EMBEDDINGS] = {"token_embeddings", K(TEXTS) | TEXT_KEYS, WIRE_TEXTS_LIST, PIPELINE,
                                  1, WIRE_PIECES_ALWAYS, WIRE_HIDDEN_OUTPUT},
    [WIRE_OP_INPUT_EMBEDDINGS] = {"input_embeddings", K(TEXTS) | TEXT_KEYS, WIRE_TEXTS_LIST, PIPELINE,
                                  1, WIRE_PIECES_ALWAYS, WIRE_HIDDEN_INPUT},
    [WIRE_OP_SIMILARITY] = {"similarity", K(A) | K(B) | K(MODE) | K(SPACE) | TEXT_KEYS,
                            WIRE_TEXTS_PAIR, PIPELINE, 1, WIRE_PIECES_TOKENS_MODE,
                            WIRE_HIDDEN_BY_SPACE},
    [WIRE_OP_INFO] = {"info", 0, WIRE_TEXTS_NONE, PIPELINE, 1, WIRE_PIECES_NEVER, WIRE_HIDDEN_NONE},
    [WIRE_OP_HEALTH] = {"health", 0, WIRE_TEXTS_NONE, WIRE_AT(WIRE_STAGE_GATEWAY), 1,
                        WIRE_PIECES_NEVER, WIRE_HIDDEN_NONE},
};


/* The argument keys: how each is read and which field of wire_opts it sets. */
typedef enum { KIND_TEXTS, KIND_BOOL, KIND_INT, KIND_ENUM } key_kind;
static const struct {
    const char *name;
    key_kind kind;
    size_t field;               /* offsetof(wire_opts, ...); texts: unused */
    int lo, hi, code;           /* int: the range and the error code outside it */
    const char *const *names;   /* enum: NULL-terminated; the index is the value */
} keys[WIRE_K_COUNT_] = {
#define OPT(f) offsetof(wire_opts, f)
    [WIRE_K_TEXTS] = {"texts", KIND_TEXTS, 0, 0, 0, 0, NULL},
    [WIRE_K_A] = {"a", KIND_TEXTS, 0, 0, 0, 0, NULL},
    [WIRE_K_B] = {"b", KIND_TEXTS, 0, 0, 0, 0, NULL},
    [WIRE_K_TRUNCATE] = {"truncate", KIND_BOOL, OPT(truncate), 0, 0, 0, NULL},
    [WIRE_K_TRUNCATION_DIRECTION] = {"truncation_direction", KIND_ENUM, OPT(left), 0, 0, 0,
                                     (const char *const[]){"right", "left", NULL}},
    [WIRE_K_MAX_LENGTH] = {"max_length", KIND_INT, OPT(max_length), 1, 1 << 20, ZB_ERANGE, NULL},
    [WIRE_K_NORMALIZE] = {"normalize", KIND_BOOL, OPT(normalize), 0, 0, 0, NULL},
    [WIRE_K_DIMENSIONS] = {"dimensions", KIND_INT, OPT(dimensions), 1, INT_MAX, ZB_ERANGE, NULL},
    [WIRE_K_DTYPE] = {"dtype", KIND_ENUM, OPT(dtype), 0, 0, 0, zb_dtype_names},
    [WIRE_K_ADD_SPECIAL_TOKENS] = {"add_special_tokens", KIND_BOOL, OPT(add_special), 0, 0, 0, NULL},
    [WIRE_K_COUNT_ONLY] = {"count_only", KIND_BOOL, OPT(count_only), 0, 0, 0, NULL},
    [WIRE_K_MODE] = {"mode", KIND_ENUM, OPT(tokens_mode), 0, 0, 0,
                     (const char *const[]){"texts", "tokens", NULL}},
    [WIRE_K_SPACE] = {"space", KIND_ENUM, OPT(input_space), 0, 0, 0,
                      (const char *const[]){"output", "input", NULL}},
#undef OPT
};
#undef K

const char *wire_op_name(wire_op op)
{
    return (unsigned)op < WIRE_OP_COUNT_ ? wire_ops[op].name : "unknown";
}

const char *wire_key_name(wire_key k)
{
    return (unsigned)k < WIRE_K_COUNT_ ? keys[k].name : "unknown";
}

int wire_op_find(const char *s, size_t len)
{
    for (int i = 0; i < WIRE_OP_COUNT_; i++)
        if (strlen(wire_ops[i].name) == len && !memcmp(wire_ops[i].name, s, len))
            return i;
    return -1;
}

wire_stage wire_op_replier(wire_op op)
{
    assert((unsigned)op < WIRE_OP_COUNT_ && wire_ops[op].stages);
    wire_stage last = WIRE_STAGE_GATEWAY;
    for (int st = 0; st < WIRE_STAGE_COUNT_; st++)
        if (wire_ops[op].stages & WIRE_AT(st))
            last = st;
    return last;
}

int wire_op_at(wire_op op, wire_stage s)
{
    return (unsigned)op < WIRE_OP_COUNT_ && (wire_ops[op].stages & WIRE_AT(s)) != 0;
}

void wire_stage_check(wire_stage s, const int has[WIRE_OP_COUNT_])
{
    static const char *const stage_names[WIRE_STAGE_COUNT_] = {"gateway", "tokenizer", "encoder",
                                                              "pooler"};
    for (int op = 0; op < WIRE_OP_COUNT_; op++)
        if (!has[op] != !wire_op_at(op, s)) {
            fprintf(stderr, "wire: the %s's handlers do not match the op table: op %s %s\n",
                    stage_names[s], wire_ops[op].name,
                    has[op] ? "has a handler but the table says this stage does no work on it"
                            : "has no handler");
            assert(!"stage handlers match wire_ops");
        }
}

wire_hidden wire_op_hidden(wire_op op, const wire_opts *o)
{
    assert((unsigned)op < WIRE_OP_COUNT_);
    wire_hidden h = wire_ops[op].hidden;
    if (h == WIRE_HIDDEN_BY_SPACE)
        h = o->input_space ? WIRE_HIDDEN_INPUT : WIRE_HIDDEN_OUTPUT;
    return h;
}

int wire_op_pieces(wire_op op, const wire_opts *o)
{
    assert((unsigned)op < WIRE_OP_COUNT_);
    switch (wire_ops[op].pieces) {
    case WIRE_PIECES_ALWAYS: return 1;
    case WIRE_PIECES_TOKENS_MODE: return o->tokens_mode != 0;
    default: return 0;
    }
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

static int key_find(const msgpack_object *k)
{
    for (int i = 0; i < WIRE_K_COUNT_; i++)
        if (str_is(k, keys[i].name))
            return i;
    return -1;
}

/* One argument key k of the table with value v, into req->opt (texts: into tv[]). */
static int parse_key(int k, const msgpack_object *v, wire_req *req, const msgpack_object **tv,
                     zb_err *err)
{
    int *field = (int *)((char *)&req->opt + keys[k].field);
    switch (keys[k].kind) {
    case KIND_TEXTS: tv[k] = v; return ZB_OK;
    case KIND_BOOL: return get_bool(v, keys[k].name, field, err);
    case KIND_INT: return get_int(v, keys[k].name, keys[k].lo, keys[k].hi, keys[k].code, field, err);
    case KIND_ENUM: return get_enum(v, keys[k].name, keys[k].names, field, err);
    }
    assert(!"a key kind");
    return ZB_EINTERNAL;
}

static int parse_args(const msgpack_object *o, const wire_limits *lim, wire_req *req, zb_err *err)
{
    const wire_op_def *def = &wire_ops[req->op];
    wire_opts *opt = &req->opt;
    const msgpack_object *tv[WIRE_K_COUNT_] = {NULL};
    int rc = ZB_OK;
    opt->truncate = -1;
    for (uint32_t i = 0; i < o->via.map.size && rc == ZB_OK; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        if (str_is(k, "v") || str_is(k, "id") || str_is(k, "op"))
            continue;
        int key = key_find(k);
        if (str_is(k, "timeout_ms"))
            rc = get_int(v, "timeout_ms", 1, lim ? lim->max_timeout_ms : INT_MAX, ZB_EINVAL,
                         &req->timeout_ms, err);
        else if (k->type != MSGPACK_OBJECT_STR)
            rc = zb_fail(err, ZB_EINVAL, "request keys must be str, got %s", type_name(k));
        else if (key < 0 || !(def->keys & WIRE_KEY(key)))
            rc = zb_fail(err, ZB_EINVAL, "%.*s: not an argument of op \"%s\"",
                         (int)(k->via.str.size > 40 ? 40 : k->via.str.size), k->via.str.ptr,
                         def->name);
        else
            rc = parse_key(key, v, req, tv, err);
    }
    if (rc)
        return rc;
    if (opt->truncate < 0)
        opt->truncate = def->truncate;
    if (opt->input_space && !opt->tokens_mode)
        return zb_fail(err, ZB_EINVAL, "space: \"input\" needs mode \"tokens\"");
    const msgpack_object *texts = tv[WIRE_K_TEXTS], *a = tv[WIRE_K_A], *b = tv[WIRE_K_B];
    int cap;
    switch (def->texts) {
    case WIRE_TEXTS_NONE:
        return ZB_OK;
    case WIRE_TEXTS_PAIR:
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
        break;
    case WIRE_TEXTS_LIST:
    default:
        if (!texts)
            return zb_fail(err, ZB_EINVAL, "texts: missing (array of str)");
        cap = texts->type == MSGPACK_OBJECT_ARRAY ? (int)texts->via.array.size : 0;
        break;
    }
    if (cap > 0) {
        req->texts = malloc(sizeof *req->texts * cap);
        req->text_lens = malloc(sizeof *req->text_lens * cap);
        if (!req->texts || !req->text_lens)
            return zb_fail(err, ZB_ENOMEM, "texts: out of memory for %d texts", cap);
    }
    if (def->texts == WIRE_TEXTS_PAIR) {
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
    int found = op && op->type == MSGPACK_OBJECT_STR ? wire_op_find(op->via.str.ptr, op->via.str.size)
                                                      : -1;
    if (found >= 0) {
        req->op = found;
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
    if (!*op_known) {
        char list[200] = "";
        for (int i = 0; i < WIRE_OP_COUNT_; i++) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", wire_ops[i].name);
        }
        return zb_fail(err, ZB_EUNSUPPORTED, "op: \"%.*s\" is not an operation (%s)",
                       (int)(op->via.str.size > 40 ? 40 : op->via.str.size), op->via.str.ptr, list);
    }
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

void wire_map_begin(wire_map *m, msgpack_packer *pk, msgpack_sbuffer *sb)
{
    assert(pk->data == sb);     /* the header is patched in sb */
    m->pk = pk;
    m->sb = sb;
    m->at = sb->size;
    m->n = 0;
    static const char map16[3] = {(char)0xde, 0, 0};
    msgpack_sbuffer_write(sb, map16, sizeof map16);
}

void wire_map_key(wire_map *m, const char *key)
{
    m->n++;
    wire_pack_str(m->pk, key);
}

void wire_map_str(wire_map *m, const char *key, const char *s)
{
    wire_map_key(m, key);
    wire_pack_str(m->pk, s);
}

void wire_map_int(wire_map *m, const char *key, long long v)
{
    wire_map_key(m, key);
    msgpack_pack_long_long(m->pk, v);
}

void wire_map_bool(wire_map *m, const char *key, int v)
{
    wire_map_key(m, key);
    v ? msgpack_pack_true(m->pk) : msgpack_pack_false(m->pk);
}

void wire_map_end(wire_map *m)
{
    assert(m->n <= 0xffff && m->sb->size >= m->at + 3 && (unsigned char)m->sb->data[m->at] == 0xde);
    m->sb->data[m->at + 1] = (char)(m->n >> 8);
    m->sb->data[m->at + 2] = (char)(m->n & 0xff);
}

void wire_reply_begin(wire_map *m, msgpack_packer *pk, msgpack_sbuffer *sb, const wire_id *id,
                      int op, int ok, int demo)
{
    wire_map_begin(m, pk, sb);
    wire_map_int(m, "v", WIRE_VERSION);
    wire_map_key(m, "id");
    if (id && id->len)
        msgpack_sbuffer_write(sb, (const char *)id->raw, id->len);
    else
        msgpack_pack_nil(pk);
    wire_map_key(m, "op");
    if (op >= 0 && op < WIRE_OP_COUNT_)
        wire_pack_str(pk, wire_ops[op].name);
    else
        msgpack_pack_nil(pk);
    wire_map_bool(m, "ok", ok);
    if (demo)
        wire_map_bool(m, "demo_model", 1);
}

void wire_reply_error(msgpack_sbuffer *sb, const wire_id *id, int op, int code, const char *msg)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    wire_map r, e;
    wire_reply_begin(&r, &pk, sb, id, op, 0, 0);
    wire_map_key(&r, "error");
    wire_map_begin(&e, &pk, sb);
    wire_map_str(&e, "code", zb_code_name(code));
    wire_map_str(&e, "message", msg);
    wire_map_end(&e);
    wire_map_end(&r);
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
