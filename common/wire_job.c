/* wire_job: the messages between stages (docs/PROTOCOL.md §5). Anything that can connect to a
 * stage port can send one, so unpacking validates every size against every other. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire.h"

#define N_OPTS 10      /* the options of wire_opts, packed as an array under "o" */
#define KEY_TTL "ttl"  /* the remaining time budget in ms (wire.h, deadlines): its one spelling */

/* What each option of "o" may hold (its order is wire_job_pack's). Anything else is refused here,
 * so no stage ever sees a dtype or a dimension count its code would assert on. The bounds are
 * those wire_req_parse admits (0 = "the model's", -1 = "the model's setting"). */
static const struct { const char *name; int lo, hi; } OPT_RANGE[N_OPTS] = {
    {"truncate", 0, 1}, {"left", 0, 1}, {"normalize", -1, 1}, {"dimensions", 0, INT32_MAX},
    {"dtype", 0, ZB_DT_COUNT - 1}, {"add_special", 0, 1}, {"count_only", 0, 1},
    {"tokens_mode", 0, 1}, {"input_space", 0, 1}, {"max_length", 0, 1 << 20},
};

int64_t wire_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wire_deadline_at(int64_t now_ms, int64_t ttl_ms)
{
    if (ttl_ms < 0)
        return 0;
    if (ttl_ms > WIRE_TTL_MAX_MS)
        ttl_ms = WIRE_TTL_MAX_MS;
    int64_t d = now_ms + ttl_ms;
    return d ? d : 1;       /* 0 means "none" */
}

int64_t wire_ttl_left(int64_t deadline_ms, int64_t now_ms)
{
    if (!deadline_ms)
        return -1;
    int64_t left = deadline_ms - now_ms;
    return left < 0 ? 0 : left > WIRE_TTL_MAX_MS ? WIRE_TTL_MAX_MS : left;
}

int wire_expired(int64_t deadline_ms, int64_t now_ms)
{
    return deadline_ms && now_ms >= deadline_ms;
}

void wire_job_init(wire_job *job)
{
    memset(job, 0, sizeof *job);
    job->opt.normalize = -1;
    job->opt.add_special = 1;
}

void wire_job_free(wire_job *job)
{
    if (job->pieces)
        for (int64_t i = 0; i < job->n_ids; i++)
            free(job->pieces[i]);
    free(job->pieces);
    free(job->lens);
    free(job->ids);
    free(job->hidden);
    wire_job_init(job);
}

static wire_info_kv *info_slot(wire_job *job, const char *key)
{
    for (int i = 0; i < job->n_info; i++)
        if (!strcmp(job->info[i].key, key))
            return &job->info[i];
    if (job->n_info == WIRE_INFO_MAX || strlen(key) >= sizeof job->info[0].key)
        return NULL;
    wire_info_kv *kv = &job->info[job->n_info++];
    memset(kv, 0, sizeof *kv);
    strcpy(kv->key, key);
    return kv;
}

int wire_job_info_int(wire_job *job, const char *key, long long v)
{
    wire_info_kv *kv = info_slot(job, key);
    if (!kv)
        return ZB_ERANGE;
    kv->is_str = 0;
    kv->i = v;
    return ZB_OK;
}

int wire_job_info_str(wire_job *job, const char *key, const char *s)
{
    wire_info_kv *kv = info_slot(job, key);
    if (!kv)
        return ZB_ERANGE;
    kv->is_str = 1;
    snprintf(kv->s, sizeof kv->s, "%s", s);
    return ZB_OK;
}

void wire_job_pack(const wire_job *job, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    wire_map m;
    wire_map_begin(&m, &pk, sb);
    wire_map_key(&m, "j");
    msgpack_pack_uint64(&pk, job->j);
    if (job->deadline_ms)   /* measured now, as late as possible: the receiver counts from receipt */
        wire_map_int(&m, KEY_TTL, wire_ttl_left(job->deadline_ms, wire_now_ms()));
    wire_map_key(&m, "id");
    if (job->id.len)
        msgpack_sbuffer_write(sb, (const char *)job->id.raw, job->id.len);
    else
        msgpack_pack_nil(&pk);
    wire_map_int(&m, "op", job->op);
    const wire_opts *o = &job->opt;
    int ov[N_OPTS] = {o->truncate, o->left, o->normalize, o->dimensions, o->dtype, o->add_special,
                      o->count_only, o->tokens_mode, o->input_space, o->max_length};
    wire_map_key(&m, "o");
    msgpack_pack_array(&pk, N_OPTS);
    for (int i = 0; i < N_OPTS; i++)
        msgpack_pack_int(&pk, ov[i]);
    wire_map_int(&m, "n", job->n);
    wire_map_int(&m, "na", job->na);
    int shape[2] = {job->n, 0};
    wire_map_key(&m, "lens");
    wire_pack_tensor(&pk, sb, "int32", shape, 1, job->lens, sizeof(int32_t) * job->n);
    shape[0] = (int)job->n_ids;
    wire_map_key(&m, "ids");
    wire_pack_tensor(&pk, sb, "int32", shape, 1, job->ids, sizeof(int32_t) * job->n_ids);
    if (job->pieces) {
        wire_map_key(&m, "pieces");
        msgpack_pack_array(&pk, job->n_ids);
        for (int64_t i = 0; i < job->n_ids; i++)
            wire_pack_str(&pk, job->pieces[i]);
    }
    if (job->hidden) {
        shape[1] = job->hidden_dim;
        wire_map_key(&m, "hidden");
        wire_pack_tensor(&pk, sb, "float32", shape, 2, job->hidden,
                         sizeof(float) * job->n_ids * job->hidden_dim);
    }
    if (job->n_info) {
        wire_map info;
        wire_map_key(&m, "info");
        wire_map_begin(&info, &pk, sb);
        for (int i = 0; i < job->n_info; i++) {
            if (job->info[i].is_str)
                wire_map_str(&info, job->info[i].key, job->info[i].s);
            else
                wire_map_int(&info, job->info[i].key, job->info[i].i);
        }
        wire_map_end(&info);
    }
    wire_map_end(&m);
}

static int get_i64(const msgpack_object *map, const char *key, long long lo, long long hi,
                   long long *out, zb_err *err)
{
    const msgpack_object *v = wire_map_get(map, key);
    if (!v || (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER && v->type != MSGPACK_OBJECT_NEGATIVE_INTEGER))
        return zb_fail(err, ZB_EFORMAT, "job: %s: missing or not an int", key);
    long long x = v->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                      ? (v->via.u64 > (uint64_t)INT64_MAX ? INT64_MAX : (long long)v->via.u64)
                      : v->via.i64;
    if (x < lo || x > hi)
        return zb_fail(err, ZB_EFORMAT, "job: %s: %lld is outside %lld..%lld", key, x, lo, hi);
    *out = x;
    return ZB_OK;
}

/* A frame's ttl (optional: none, no deadline) -> a deadline on this process's clock, counted from
 * now (its receipt). */
static int get_deadline(const msgpack_object *map, int64_t *deadline_ms, zb_err *err)
{
    long long ttl = -1;
    int rc = wire_map_get(map, KEY_TTL) ? get_i64(map, KEY_TTL, 0, WIRE_TTL_MAX_MS, &ttl, err) : ZB_OK;
    *deadline_ms = rc ? 0 : wire_deadline_at(wire_now_ms(), ttl);
    return rc;
}

static void *dup_bytes(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

/* Copies (messages are not aligned for typed loads) with every size cross-checked. */
static int unpack_body(const msgpack_object *m, wire_job *job, zb_err *err)
{
    long long x = 0;
    int rc;
    const msgpack_object *jv = wire_map_get(m, "j");
    if (!jv || jv->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return zb_fail(err, ZB_EFORMAT, "job: j: missing or not an unsigned int");
    job->j = jv->via.u64;
    if ((rc = get_deadline(m, &job->deadline_ms, err)))
        return rc;
    const msgpack_object *id = wire_map_get(m, "id");
    if (id && (rc = wire_id_set(&job->id, id, err)))
        return rc;
    if ((rc = get_i64(m, "op", 0, WIRE_OP_COUNT_ - 1, &x, err)))
        return rc;
    job->op = (wire_op)x;
    const msgpack_object *o = wire_map_get(m, "o");
    if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != N_OPTS)
        return zb_fail(err, ZB_EFORMAT, "job: o: expected an array of %d ints", N_OPTS);
    int ov[N_OPTS];
    for (int i = 0; i < N_OPTS; i++) {
        const msgpack_object *e = &o->via.array.ptr[i];
        long long v = e->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                          ? (e->via.u64 > INT32_MAX ? INT64_MAX : (long long)e->via.u64)
                          : e->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? e->via.i64 : INT64_MIN;
        if (v < OPT_RANGE[i].lo || v > OPT_RANGE[i].hi)
            return zb_fail(err, ZB_EFORMAT, "job: o[%d] (%s): not an int in %d..%d", i,
                           OPT_RANGE[i].name, OPT_RANGE[i].lo, OPT_RANGE[i].hi);
        ov[i] = (int)v;
    }
    wire_opts *op = &job->opt;
    op->truncate = ov[0]; op->left = ov[1]; op->normalize = ov[2]; op->dimensions = ov[3];
    op->dtype = ov[4]; op->add_special = ov[5];
    op->count_only = ov[6]; op->tokens_mode = ov[7]; op->input_space = ov[8];
    op->max_length = ov[9];
    if ((rc = get_i64(m, "n", 0, 1 << 24, &x, err)))
        return rc;
    job->n = (int)x;
    if ((rc = get_i64(m, "na", 0, job->n, &x, err)))
        return rc;
    job->na = (int)x;
    if (!wire_op_at(job->op, WIRE_STAGE_ENCODER) && !wire_op_at(job->op, WIRE_STAGE_POOLER))
        return zb_fail(err, ZB_EFORMAT, "job: op %s never travels between stages",
                       wire_op_name(job->op));
    if (wire_ops[job->op].texts == WIRE_TEXTS_PAIR ? job->na < 1 || job->na >= job->n ||
                                                         (op->tokens_mode && job->n != 2)
                                                   : job->na != 0)
        return zb_fail(err, ZB_EFORMAT, "job: na = %d does not fit op %s with %d texts%s", job->na,
                       wire_op_name(job->op), job->n, op->tokens_mode ? " in tokens mode" : "");

    int shape[2], nd;
    const void *data;
    size_t bytes;
    const msgpack_object *t = wire_map_get(m, "lens");
    if (!t || (rc = wire_read_tensor(t, "int32", 4, shape, 1, &nd, &data, &bytes, "job: lens", err)))
        return t ? rc : zb_fail(err, ZB_EFORMAT, "job: lens: missing");
    if (nd != 1 || shape[0] != job->n)
        return zb_fail(err, ZB_EFORMAT, "job: lens: shape is not [n]");
    if (!(job->lens = dup_bytes(data, bytes)))
        return zb_fail(err, ZB_ENOMEM, "job: lens: out of memory");
    int64_t total = 0;
    for (int i = 0; i < job->n; i++) {
        if (job->lens[i] < 0)
            return zb_fail(err, ZB_EFORMAT, "job: lens[%d] is negative", i);
        total += job->lens[i];
    }
    t = wire_map_get(m, "ids");
    if (!t || (rc = wire_read_tensor(t, "int32", 4, shape, 1, &nd, &data, &bytes, "job: ids", err)))
        return t ? rc : zb_fail(err, ZB_EFORMAT, "job: ids: missing");
    if (nd != 1 || shape[0] != total)
        return zb_fail(err, ZB_EFORMAT, "job: ids: %d ids but lens add up to %lld", nd ? shape[0] : 0,
                       (long long)total);
    job->n_ids = total;
    if (!(job->ids = dup_bytes(data, bytes)))
        return zb_fail(err, ZB_ENOMEM, "job: ids: out of memory");

    const msgpack_object *pc = wire_map_get(m, "pieces");
    if (pc) {
        if (pc->type != MSGPACK_OBJECT_ARRAY || pc->via.array.size != total)
            return zb_fail(err, ZB_EFORMAT, "job: pieces: expected %lld str", (long long)total);
        if (!(job->pieces = calloc(total ? total : 1, sizeof *job->pieces)))
            return zb_fail(err, ZB_ENOMEM, "job: pieces: out of memory");
        for (int64_t i = 0; i < total; i++) {
            const msgpack_object *s = &pc->via.array.ptr[i];
            if (s->type != MSGPACK_OBJECT_STR)
                return zb_fail(err, ZB_EFORMAT, "job: pieces[%lld]: not a str", (long long)i);
            if (!(job->pieces[i] = malloc(s->via.str.size + 1)))
                return zb_fail(err, ZB_ENOMEM, "job: pieces: out of memory");
            memcpy(job->pieces[i], s->via.str.ptr, s->via.str.size);
            job->pieces[i][s->via.str.size] = 0;
        }
    }
    t = wire_map_get(m, "hidden");
    if (t) {
        if ((rc = wire_read_tensor(t, "float32", 4, shape, 2, &nd, &data, &bytes, "job: hidden", err)))
            return rc;
        if (nd != 2 || shape[0] != total || shape[1] <= 0)
            return zb_fail(err, ZB_EFORMAT, "job: hidden: shape is not [%lld, dim]", (long long)total);
        job->hidden_dim = shape[1];
        if (!(job->hidden = dup_bytes(data, bytes)))
            return zb_fail(err, ZB_ENOMEM, "job: hidden: out of memory");
    }
    const msgpack_object *inf = wire_map_get(m, "info");
    if (inf && inf->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < inf->via.map.size; i++) {
            const msgpack_object *k = &inf->via.map.ptr[i].key, *v = &inf->via.map.ptr[i].val;
            char key[24];
            if (k->type != MSGPACK_OBJECT_STR || k->via.str.size >= sizeof key)
                return zb_fail(err, ZB_EFORMAT, "job: info: bad key");
            memcpy(key, k->via.str.ptr, k->via.str.size);
            key[k->via.str.size] = 0;
            if (v->type == MSGPACK_OBJECT_STR) {
                char s[96];
                snprintf(s, sizeof s, "%.*s", (int)v->via.str.size, v->via.str.ptr);
                rc = wire_job_info_str(job, key, s);
            } else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                       v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
                rc = wire_job_info_int(job, key, v->via.i64);
            } else {
                rc = zb_fail(err, ZB_EFORMAT, "job: info.%s: not a str or int", key);
            }
            if (rc)
                return zb_fail(err, ZB_EFORMAT, "job: info: more than %d entries", WIRE_INFO_MAX);
        }
    }
    return ZB_OK;
}

int wire_job_unpack(const void *buf, size_t len, wire_job *job, zb_err *err)
{
    wire_job_init(job);
    msgpack_unpacked up;
    int rc = wire_unpack_checked(buf, len, &up, "job", err);
    if (!rc && up.data.type != MSGPACK_OBJECT_MAP)
        rc = zb_fail(err, ZB_EFORMAT, "job: not a map");
    if (!rc)
        rc = unpack_body(&up.data, job, err);
    msgpack_unpacked_destroy(&up);
    if (rc) {
        wire_id keep = job->id;      /* so the error reply can still echo the id */
        uint64_t j = job->j ? job->j : wire_peek_j(buf, len);   /* a refused frame is answered */
        wire_job_free(job);
        job->id = keep;
        job->j = j;
    }
    return rc;
}

uint64_t wire_peek_j(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    size_t at;
    if (len >= 1 && (p[0] & 0xf0) == 0x80 && (p[0] & 0x0f))
        at = 1;                                         /* fixmap */
    else if (len >= 3 && p[0] == 0xde && (p[1] | p[2]))
        at = 3;                                         /* map16 */
    else
        return 0;
    if (len < at + 3 || p[at] != 0xa1 || p[at + 1] != 'j')
        return 0;
    at += 2;
    unsigned c = p[at++];
    if (c <= 0x7f)
        return c;
    int n = c == 0xcc ? 1 : c == 0xcd ? 2 : c == 0xce ? 4 : c == 0xcf ? 8 : 0;
    if (!n || len < at + n)
        return 0;
    uint64_t j = 0;
    for (int i = 0; i < n; i++)
        j = j << 8 | p[at + i];
    return j;
}

/* The tok job's head: map16, "j", j as uint64, KEY_TTL, ttl as uint32, all fixed-width so that
 * wire_tok_job_set_ttl finds the ttl at TOK_TTL_AT without decoding anything. */
#define TOK_TTL_AT (3 + 2 + 9 + (1 + sizeof KEY_TTL - 1) + 1)

void wire_pack_tok_job(msgpack_sbuffer *sb, uint64_t j, const void *req, size_t req_len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    wire_map m;
    assert(sb->size == 0);   /* TOK_TTL_AT counts from the frame's start */
    wire_map_begin(&m, &pk, sb);
    wire_map_key(&m, "j");
    msgpack_pack_fix_uint64(&pk, j);
    wire_map_key(&m, KEY_TTL);
    msgpack_pack_fix_uint32(&pk, 0);        /* wire_tok_job_set_ttl writes it at each dispatch */
    assert(sb->size == TOK_TTL_AT + 4);
    wire_map_key(&m, "req");
    msgpack_sbuffer_write(sb, req, req_len);   /* a msgpack object is its bytes: no re-encoding */
    wire_map_end(&m);
}

void wire_tok_job_set_ttl(void *frame, size_t len, int64_t ttl_ms)
{
    unsigned char *p = frame;
    /* our own frame (wire_pack_tok_job's): anything else is a bug here */
    assert(len > TOK_TTL_AT + 4 && p[TOK_TTL_AT - 1] == 0xce);
    uint32_t v = ttl_ms < 0 ? 0 : ttl_ms > WIRE_TTL_MAX_MS ? WIRE_TTL_MAX_MS : (uint32_t)ttl_ms;
    for (int i = 0; i < 4; i++)
        p[TOK_TTL_AT + i] = (unsigned char)(v >> (8 * (3 - i)));    /* big-endian, as msgpack */
}

int wire_unpack_tok_job(const void *buf, size_t len, uint64_t *j, int64_t *deadline_ms, wire_req *req,
                        int *op_known, zb_err *err)
{
    memset(req, 0, sizeof *req);
    *op_known = 0;
    *j = 0;
    *deadline_ms = 0;
    int rc = wire_unpack_checked(buf, len, &req->up_, "job", err);
    if (rc) {
        *j = wire_peek_j(buf, len);     /* a refused frame is still answered */
        return rc;
    }
    const msgpack_object *jv = wire_map_get(&req->up_.data, "j"),
                         *r = wire_map_get(&req->up_.data, "req");
    if (!jv || jv->type != MSGPACK_OBJECT_POSITIVE_INTEGER || !r)
        return zb_fail(err, ZB_EFORMAT, "job: expected {j, req}");
    *j = jv->via.u64;
    if ((rc = get_deadline(&req->up_.data, deadline_ms, err)))
        return rc;
    return wire_req_from_object(r, NULL, req, op_known, err);
}
