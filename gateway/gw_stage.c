/* gw_stage: where the gateway meets the workers (see gw.h).
 *
 * Exactly once: every request in flight has one slot holding its {j, req} job until it is answered,
 * and the stage its work is at (the gateway passes every stage frame between two worker stages, so
 * it sees each job cross). Workers list the jobs they hold in heartbeats (svc_hb.h). When a worker
 * of stage S dies (no heartbeat for dead_ms) or is stuck (holds work without progress for stuck_ms),
 * every job at stage S that no live worker of S holds (the dead one's, and any lost in its queue)
 * is dispatched again from the tokenizers under the same job number. Whichever result comes back
 * first is the answer; later ones find no slot and are dropped, as are stage frames of jobs no
 * longer in flight (which also cancels work not yet started on expired requests). A job held by
 * max_crashes workers that died is answered `poisoned` instead of being tried again. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gw.h"
#include "svc.h"

static const char *const stage_name[WIRE_STAGE_COUNT_] = {"gateway", "tokenizer", "encoder", "pooler"};

void gw_dispatch(gw *g)
{
    gw_slot *s;
    while ((s = gw_table_next_waiting(g->table))) {
        int ev = 0;
        size_t evlen = sizeof ev;
        /* copy a (possibly large) job only when a tokenizer can take it */
        if (zmq_getsockopt(g->tok, ZMQ_EVENTS, &ev, &evlen) || !(ev & ZMQ_POLLOUT))
            return;
        zmq_msg_t m;
        size_t size = s->job.size;
        if (zmq_msg_init_size(&m, size))
            return;
        memcpy(zmq_msg_data(&m), s->job.data, size);
        /* the time left, measured as it leaves: the tokenizer's deadline is never earlier than ours */
        wire_tok_job_set_ttl(zmq_msg_data(&m), size, wire_ttl_left(s->deadline_ms, gw_now_ms()));
        if (zmq_msg_send(&m, g->tok, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;         /* no tokenizer connected, or all busy: try again on POLLOUT */
        }
        gw_table_dispatched(g->table, s);
        s->stage = WIRE_STAGE_TOKENIZER;
        s->stage_ms = gw_now_ms();
    }
}

int gw_recv_multipart(void *sock, zmq_msg_t *env, int *n_env, zmq_msg_t *body)
{
    int n = 0, over = 0;
    zmq_msg_init(body);
    if (zmq_msg_recv(body, sock, ZMQ_DONTWAIT) < 0)
        return -1;
    while (zmq_msg_more(body)) {
        if (n < GW_MAX_ENV) {
            zmq_msg_init(&env[n]);
            zmq_msg_move(&env[n++], body);
        } else {
            over = 1;
        }
        zmq_msg_close(body);
        zmq_msg_init(body);
        if (zmq_msg_recv(body, sock, 0) < 0)
            break;
    }
    *n_env = n;
    if (over) {
        for (int k = 0; k < n; k++)
            zmq_msg_close(&env[k]);
        zmq_msg_close(body);
        return -2;
    }
    return 0;
}

/* The slot of a stage frame still worth passing on, or NULL (counted as dropped). */
static gw_slot *live_job(gw *g, const zmq_msg_t *m)
{
    gw_slot *s = gw_table_find(g->table, wire_peek_j(zmq_msg_data((zmq_msg_t *)m),
                                                      zmq_msg_size((zmq_msg_t *)m)));
    if (!s || !s->dispatched) {     /* answered, expired, re-queued, or never ours */
        g->c.stage_dropped++;
        return NULL;
    }
    return s;
}

void gw_stage_flush(gw *g, int b)
{
    if (!g->has_pend[b])
        return;
    if (!live_job(g, &g->pend[b])) {    /* expired while it waited: work not started is cancelled */
        zmq_msg_close(&g->pend[b]);
        g->has_pend[b] = 0;
        return;
    }
    if (zmq_msg_send(&g->pend[b], g->stage_out[b], ZMQ_DONTWAIT) >= 0)
        g->has_pend[b] = 0;         /* else: no worker can take it yet; on POLLOUT */
}

void gw_stage_in(gw *g, int b)
{
    if (g->has_pend[b])
        return;
    zmq_msg_t env[GW_MAX_ENV], body;
    int n_env;
    int rc = gw_recv_multipart(g->stage_in[b], env, &n_env, &body);
    if (rc == -1)
        zmq_msg_close(&body);
    if (rc)
        return;
    for (int k = 0; k < n_env; k++)     /* jobs are one frame: a multipart message is not ours */
        zmq_msg_close(&env[k]);
    gw_slot *s = n_env ? NULL : live_job(g, &body);
    if (!s) {
        if (n_env)
            g->c.stage_dropped++;
        zmq_msg_close(&body);
        return;
    }
    int64_t now = gw_now_ms();
    gw_hist_add(&g->m.stage_s[s->stage], gw_hist_seconds, (double)(now - s->stage_ms) / 1000);
    s->stage = b == 0 ? WIRE_STAGE_ENCODER : WIRE_STAGE_POOLER;
    s->stage_ms = now;
    zmq_msg_init(&g->pend[b]);
    zmq_msg_move(&g->pend[b], &body);
    zmq_msg_close(&body);
    g->has_pend[b] = 1;
    gw_stage_flush(g, b);
}

/* A worker's reply: 0 when ok, else its error code (for the metrics). Error replies are small (a
 * code, a message of < ZB_ERR_MSG_MAX bytes, an id of <= 256), so only small replies are decoded:
 * a large one is a result. */
static int reply_code(const void *data, size_t size)
{
    if (size > 4096)
        return 0;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int code = ZB_EINTERNAL;                /* not a reply we can read */
    if (msgpack_unpack_next(&u, data, size, &off) == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *ok = wire_map_get(&u.data, "ok"), *e = wire_map_get(&u.data, "error");
        const msgpack_object *c = e ? wire_map_get(e, "code") : NULL;
        if (ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean)
            code = 0;
        for (int k = -1; code && c && c->type == MSGPACK_OBJECT_STR && k > -GW_NCODES; k--)
            if (strlen(zb_code_name(k)) == c->via.str.size && !memcmp(zb_code_name(k), c->via.str.ptr, c->via.str.size))
                code = k;
    }
    msgpack_unpacked_destroy(&u);
    return code;
}

/* [j: 8 bytes LE][reply] from a worker: forward the reply unchanged to the request's client. */
void gw_on_sink(gw *g)
{
    zmq_msg_t env[GW_MAX_ENV], body;
    int n_env;
    int rc = gw_recv_multipart(g->sink, env, &n_env, &body);
    if (rc == -1)
        zmq_msg_close(&body);
    if (rc)
        return;
    uint64_t j = 0;
    if (n_env == 1 && zmq_msg_size(&env[0]) == 8) {
        const unsigned char *p = zmq_msg_data(&env[0]);
        for (int i = 7; i >= 0; i--)
            j = j << 8 | p[i];
    }
    for (int k = 0; k < n_env; k++)
        zmq_msg_close(&env[k]);
    gw_slot *s = gw_table_find(g->table, j);
    if (!s) {                       /* a late duplicate (answered already), timed out, or not ours */
        g->c.duplicates++;
        zmq_msg_close(&body);
        return;
    }
    int64_t now = gw_now_ms();
    gw_hist_add(&g->m.stage_s[s->stage], gw_hist_seconds, (double)(now - s->stage_ms) / 1000);
    gw_hist_add(&g->m.request_s[s->op], gw_hist_seconds, (double)(now - s->start_ms) / 1000);
    int code = reply_code(zmq_msg_data(&body), zmq_msg_size(&body));
    gw_mstats_reply(&g->m, s->op, code);
    if (g->log_requests)
        gw_log_reply(s, code ? zb_code_name(code) : "ok");   /* the worker's reply: ok or its error */
    if (gw_dedup_eligible(&s->id))     /* a retry of this id is answered from a copy */
        gw_dedup_done(g->dedup, &s->id, s->j, zmq_msg_data(&body), zmq_msg_size(&body), gw_now_ms());
    gw_send_reply(g, s->env, s->n_env, s->from_ingest, NULL, &body);
    s->n_env = 0;
    g->ingest_in_table -= s->from_ingest;
    gw_table_remove(g->table, s);
}

void gw_on_control(gw *g)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, g->control, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return;
    }
    svc_hb_msg hb;
    zb_err err;
    if (!zmq_msg_more(&m) && !svc_hb_parse(zmq_msg_data(&m), zmq_msg_size(&m), &hb, &err)) {
        gw_hist *bh = &g->m.batch_tokens;      /* encoders' forward passes since their last beat */
        for (int i = 0; i <= SVC_HB_BATCH_N; i++) {
            bh->b[i] += hb.batch[i];
            bh->count += hb.batch[i];
        }
        bh->sum += (double)hb.batch_tokens;
        if (hb.stage < WIRE_STAGE_COUNT_) {     /* jobs given up at their deadline since that beat */
            g->m.jobs_expired[hb.stage] += (long)hb.expired;
            g->m.jobs_abandoned[hb.stage] += (long)hb.abandoned;
        }
        if (gw_workers_beat(g->workers, &hb, gw_now_ms()) == 1 && hb.stage < WIRE_STAGE_COUNT_) {
            g->m.worker_joins[hb.stage]++;      /* a worker that replaces a lost one is a restart */
            if (g->m.worker_lost[hb.stage] > g->m.worker_restarts[hb.stage])
                g->m.worker_restarts[hb.stage]++;
            svc_event("worker_joined", "worker=%s stage=%s alive=%d", hb.w, stage_name[hb.stage],
                      gw_workers_alive(g->workers, hb.stage));
        }
    } else {
        svc_refused(0, "control: not a heartbeat");
        while (zmq_msg_more(&m)) {          /* drain a multipart forgery */
            zmq_msg_close(&m);
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, g->control, ZMQ_DONTWAIT) < 0)
                break;
        }
    }
    zmq_msg_close(&m);
}

/* A worker is gone: dispatch again what its stage holds that no live worker of it holds. */
static void lost(void *ud, const gw_worker *w, int stuck)
{
    gw *g = ud;
    g->c.workers_lost++;
    g->m.worker_lost[w->stage]++;
    int again = 0, poisoned = 0;
    for (int i = 0; i < gw_table_cap(g->table); i++) {
        gw_slot *s = gw_table_slot(g->table, i);
        if (!s->j || !s->dispatched || s->stage != w->stage || gw_workers_holds(g->workers, w->stage, s->j))
            continue;
        if (gw_worker_holds(w, s->j) && ++s->crashes >= g->max_crashes) {
            char msg[256];
            snprintf(msg, sizeof msg, "%d %s workers died or got stuck while working on this request; it "
                     "is not dispatched again", s->crashes, stage_name[w->stage]);
            g->c.poisoned++;
            poisoned++;
            gw_fail_slot(g, s, ZB_EPOISON, msg);
            continue;
        }
        gw_table_requeue(g->table, s);
        g->c.redispatched++;
        again++;
    }
    svc_event("worker_lost", "worker=%s stage=%s why=%s redispatched=%d poisoned=%d alive=%d", w->name,
              stage_name[w->stage], stuck ? "stuck" : "silent", again, poisoned,
              gw_workers_alive(g->workers, w->stage));
    gw_dispatch(g);
}

void gw_reap(gw *g, int64_t now)
{
    gw_workers_reap(g->workers, now, g->dead_ms, g->stuck_ms, lost, g);
}
