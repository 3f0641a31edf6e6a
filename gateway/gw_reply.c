/* gw_reply: every reply of the gateway leaves through gw_send_reply (see gw.h).
 *
 * Replies to ROUTER clients go out at once (ZMQ_ROUTER_MANDATORY: a reply ZeroMQ cannot take is
 * counted as undeliverable, never silently lost). Replies to ingested requests go through a queue
 * in front of the results socket: nothing is dropped when consumers are slow or absent; instead
 * the gateway stops reading the ingest socket while max_ingest replies are pending, which slows the
 * producers down (their PUSH blocks). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"
#include "svc.h"

static void free_buf(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* sb's bytes as a frame, without a copy (sb is left empty). */
static int sbuf_msg(msgpack_sbuffer *sb, zmq_msg_t *m)
{
    size_t size = sb->size;
    char *data = msgpack_sbuffer_release(sb);
    if (!data)
        return zmq_msg_init(m);
    if (zmq_msg_init_data(m, data, size, free_buf, NULL)) {
        free(data);
        return -1;
    }
    return 0;
}

static void count_answer(gw *g)
{
    g->c.answered++;
    g->rate_count++;
    int64_t now = gw_now_ms();
    if (now - g->rate_ms >= 500) {          /* answers per ms over the last half second, smoothed */
        double r = (double)g->rate_count / (double)(now - g->rate_ms);
        g->rate_per_ms = g->rate_ms ? 0.5 * g->rate_per_ms + 0.5 * r : r;
        g->rate_ms = now;
        g->rate_count = 0;
    }
}

void gw_flush_results(gw *g)
{
    while (g->rq_len) {
        zmq_msg_t *m = &g->rq[g->rq_head];
        if (zmq_msg_send(m, g->results, ZMQ_DONTWAIT) < 0)
            return;                         /* no consumer, or all full: on POLLOUT */
        g->rq_head = (g->rq_head + 1) % g->rq_cap;
        g->rq_len--;
        g->ingest_pending--;
    }
}

void gw_send_reply(gw *g, zmq_msg_t *env, int n_env, int from_ingest, msgpack_sbuffer *sb, zmq_msg_t *body)
{
    zmq_msg_t m;
    if (body) {
        zmq_msg_init(&m);
        zmq_msg_move(&m, body);
    } else if (sbuf_msg(sb, &m)) {
        zmq_msg_init(&m);                   /* out of memory: an empty frame still answers */
    }
    count_answer(g);
    if (from_ingest) {
        /* at most max_ingest ingested requests are accepted before their replies leave: room */
        if (g->rq_len == g->rq_cap) {
            svc_log("internal: results queue full (%d); a reply is dropped", g->rq_cap);
            g->c.undeliverable++;
            g->ingest_pending--;
            zmq_msg_close(&m);
            return;
        }
        zmq_msg_t *slot = &g->rq[(g->rq_head + g->rq_len) % g->rq_cap];
        zmq_msg_init(slot);
        zmq_msg_move(slot, &m);
        zmq_msg_close(&m);
        g->rq_len++;
        gw_flush_results(g);
        return;
    }
    int ok = 1;
    for (int k = 0; k < n_env; k++) {
        if (ok && zmq_msg_send(&env[k], g->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            ok = 0;
        if (!ok)
            zmq_msg_close(&env[k]);
    }
    if (!ok || zmq_msg_send(&m, g->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        if (g->c.undeliverable++ % 1000 == 0)
            svc_log("a reply could not be delivered: %s (client gone, or not reading its replies); "
                    "%ld so far", zmq_strerror(errno), g->c.undeliverable + 1);
    }
}

void gw_reply_error(gw *g, zmq_msg_t *env, int n_env, int from_ingest, const wire_id *id, int op,
                    int code, const char *msg)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    wire_reply_error(&sb, id, op, code, msg);
    gw_mstats_reply(&g->m, op, code);
    gw_send_reply(g, env, n_env, from_ingest, &sb, NULL);
    msgpack_sbuffer_destroy(&sb);
    g->c.failed++;
}

int gw_retry_after_ms(const gw *g)
{
    /* about when the table will have room: what is in flight at the recent answer rate */
    double ms = g->rate_per_ms > 1e-6 ? gw_table_count(g->table) / g->rate_per_ms : 1000.0;
    return ms < 10 ? 10 : ms > 10000 ? 10000 : (int)ms;
}

void gw_reply_overloaded(gw *g, zmq_msg_t *env, int n_env, int from_ingest, const wire_id *id, int op,
                         const char *msg)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    wire_map r, e;
    wire_reply_begin(&r, &pk, &sb, id, op, 0, 0);
    gw_mstats_reply(&g->m, op, ZB_EOVERLOAD);
    wire_map_key(&r, "error");
    wire_map_begin(&e, &pk, &sb);
    wire_map_str(&e, "code", zb_code_name(ZB_EOVERLOAD));
    wire_map_str(&e, "message", msg);
    wire_map_int(&e, "retry_after_ms", gw_retry_after_ms(g));
    wire_map_end(&e);
    wire_map_end(&r);
    gw_send_reply(g, env, n_env, from_ingest, &sb, NULL);
    msgpack_sbuffer_destroy(&sb);
    g->c.failed++;
    g->c.overloaded++;
}

void gw_id_str(const wire_id *id, char *out, size_t cap)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    snprintf(out, cap, "-");
    if (id->len && msgpack_unpack_next(&up, (const char *)id->raw, id->len, &off) == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *o = &up.data;
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            snprintf(out, cap, "%llu", (unsigned long long)o->via.u64);
        else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            snprintf(out, cap, "%lld", (long long)o->via.i64);
        else if (o->type == MSGPACK_OBJECT_STR)
            svc_log_quote(out, cap, o->via.str.ptr, o->via.str.size < 64 ? o->via.str.size : 64);
    }
    msgpack_unpacked_destroy(&up);
}

void gw_log_reply(const gw_slot *s, const char *outcome)
{
    char id[96];
    gw_id_str(&s->id, id, sizeof id);
    svc_event("reply", "id=%s j=%llu op=%s outcome=%s attempts=%d crashes=%d ms=%lld via=%s", id,
              (unsigned long long)s->j, wire_op_name((wire_op)s->op), outcome, s->attempts, s->crashes,
              (long long)(gw_now_ms() - s->start_ms), s->from_ingest ? "ingest" : "router");
}

void gw_fail_slot(gw *g, gw_slot *s, int code, const char *msg)
{
    gw_log_reply(s, zb_code_name(code));
    if (gw_dedup_eligible(&s->id))      /* a retry of a failed request runs again */
        gw_dedup_forget(g->dedup, &s->id, s->j);
    gw_reply_error(g, s->env, s->n_env, s->from_ingest, &s->id, s->op, code, msg);
    s->n_env = 0;       /* sent or closed */
    g->ingest_in_table -= s->from_ingest;
    gw_table_remove(g->table, s);
}

/* health: answered by the gateway itself (docs/PROTOCOL.md §2). */
void gw_reply_health(gw *g, zmq_msg_t *env, int n_env, int from_ingest, const wire_req *req)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int tok = gw_workers_alive(g->workers, WIRE_STAGE_TOKENIZER),
        enc = gw_workers_alive(g->workers, WIRE_STAGE_ENCODER),
        pool = gw_workers_alive(g->workers, WIRE_STAGE_POOLER);
    wire_map r, sub;
    wire_reply_begin(&r, &pk, &sb, &req->id, req->op, 1, 0);
    /* serving: every stage has a live worker (by its heartbeats) */
    wire_map_str(&r, "status", g->draining ? "draining" : tok && enc && pool ? "serving" : "degraded");
    wire_map_key(&r, "workers");
    wire_map_begin(&sub, &pk, &sb);
    wire_map_int(&sub, "tokenizer", tok);
    wire_map_int(&sub, "encoder", enc);
    wire_map_int(&sub, "pooler", pool);
    wire_map_end(&sub);
    wire_map_int(&r, "in_flight", gw_table_count(g->table));
    wire_map_int(&r, "waiting", gw_table_waiting(g->table));
    wire_map_int(&r, "answered", g->c.answered);
    wire_map_int(&r, "failed", g->c.failed);
    wire_map_int(&r, "redispatched", g->c.redispatched);
    wire_map_int(&r, "duplicates_dropped", g->c.duplicates);
    wire_map_int(&r, "undeliverable", g->c.undeliverable);
    wire_map_int(&r, "workers_lost", g->c.workers_lost);
    wire_map_int(&r, "retries", g->c.retries);
    wire_map_int(&r, "uptime_ms", gw_now_ms() - g->started_ms);
    wire_map_key(&r, "limits");
    wire_map_begin(&sub, &pk, &sb);
    wire_map_int(&sub, "max_texts", g->limits.max_texts);
    wire_map_int(&sub, "max_text_bytes", (long long)g->limits.max_text_bytes);
    wire_map_int(&sub, "timeout_ms", g->timeout_ms);
    wire_map_int(&sub, "max_in_flight", g->max_in_flight);
    wire_map_end(&sub);
    wire_map_end(&r);
    gw_send_reply(g, env, n_env, from_ingest, &sb, NULL);
    msgpack_sbuffer_destroy(&sb);
}
