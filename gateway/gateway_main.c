/* gateway: the front door. Binds every endpoint of the pipeline (docs/PROTOCOL.md §1): clients
 * (ROUTER), streaming ingestion (PULL in, PUSH out), the stage boundaries workers connect to (two
 * streamer threads where worker stages meet) and the result sink. It validates requests, keeps the
 * table of requests in flight with deadlines, and routes each worker's reply back to its client.
 * It needs no model: workers have it. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "gw.h"
#include "svc.h"
#include "wire.h"
#include "zb_args.h"

static const char usage[] =
    "usage: gateway [--endpoint tcp://127.0.0.1:5555] [--ingest E] [--results E] [--tok E]\n"
    "               [--enc-in E] [--enc E] [--pool-in E] [--pool E] [--sink E] [--stage-host ADDR]\n"
    "               [--timeout-ms 30000] [--max-in-flight 1024] [--max-texts 256]\n"
    "               [--max-text-bytes 65536] [--max-msg-bytes 16777216] [--max-stage-bytes 268435456]\n"
    "  --endpoint E        clients (ROUTER: REQ and DEALER both work); env ZEMBED_ENDPOINT.\n"
    "                      The other endpoints default to its host and port + offset:\n"
    "  --ingest E          +1  PULL: producers push requests     --results E  +2  PUSH: their replies\n"
    "  --tok E             +5  PUSH: jobs to tokenizer_svc       --enc-in E   +6  PULL: from tokenizers\n"
    "  --enc E             +7  PUSH: jobs to encoder_svc         --pool-in E  +8  PULL: from encoders\n"
    "  --pool E            +9  PUSH: jobs to pooler_svc          --sink E     +10 PULL: replies from workers\n"
    "  --stage-host ADDR   bind the stage endpoints (+5..+10) on ADDR (e.g. 0.0.0.0 for workers on\n"
    "                      other hosts) instead of the client endpoint's host\n"
    "  --timeout-ms N      a request not answered in N ms gets a timeout error (default 30000)\n"
    "  --max-in-flight N   more requests in flight get an overloaded error (default 1024)\n"
    "  --max-texts N       texts per request (default 256)\n"
    "  --max-text-bytes N  bytes per text (default 65536)\n"
    "  --max-msg-bytes N   bytes per request frame; larger frames are dropped by ZeroMQ (default 16 MiB)\n"
    "  --max-stage-bytes N bytes per frame from a worker (stage jobs, replies; default 256 MiB)\n"
    "Protocol: docs/PROTOCOL.md. SIGINT/SIGTERM stop it.\n";

typedef struct {
    const char *ep[9];          /* by SVC_OFF_* order below */
    char buf[9][256];
    const char *stage_host;
    int timeout_ms, max_in_flight, max_texts, max_text_bytes, max_msg_bytes, max_stage_bytes;
} gw_args;

/* endpoint flags, their port offsets and the socket the gateway binds there */
static const struct { const char *flag; int off; } eps[9] = {
    {"--endpoint", SVC_OFF_CLIENT}, {"--ingest", SVC_OFF_INGEST}, {"--results", SVC_OFF_RESULTS},
    {"--tok", SVC_OFF_TOK}, {"--enc-in", SVC_OFF_ENC_IN}, {"--enc", SVC_OFF_ENC},
    {"--pool-in", SVC_OFF_POOL_IN}, {"--pool", SVC_OFF_POOL}, {"--sink", SVC_OFF_SINK},
};
enum { E_CLIENT, E_INGEST, E_RESULTS, E_TOK, E_ENC_IN, E_ENC, E_POOL_IN, E_POOL, E_SINK };

typedef struct {
    void *ctx, *router, *ingest, *results, *tok, *sink;
    gw_table *table;
    wire_limits limits;
    int timeout_ms, max_in_flight;
    int64_t started_ms;
    long answered, failed, dropped;
    long n_timeout, n_unavailable;      /* not yet logged */
    int64_t last_log_ms;
} gw;

typedef struct {
    void *front, *back;
} streamer;

static void *run_streamer(void *arg)
{
    streamer *st = arg;
    zmq_proxy(st->front, st->back, NULL);       /* returns when the context shuts down */
    zmq_close(st->front);
    zmq_close(st->back);
    return NULL;
}

/* ---- replies ------------------------------------------------------------------------------- */

/* Send a reply to where slot-less request came from (env frames, or ingest when env == NULL). */
static void send_reply(gw *g, zmq_msg_t *env, int n_env, int from_ingest, msgpack_sbuffer *sb,
                       zmq_msg_t *body)
{
    void *sock = from_ingest ? g->results : g->router;
    for (int k = 0; k < n_env; k++)
        if (zmq_msg_send(&env[k], sock, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            zmq_msg_close(&env[k]);
    int rc = body ? zmq_msg_send(body, sock, ZMQ_DONTWAIT) : svc_send_sbuf(sock, sb, ZMQ_DONTWAIT);
    if (rc < 0) {
        if (body)
            zmq_msg_close(body);
        g->dropped++;
        if (from_ingest)
            svc_log("a reply to an ingested request was dropped: no consumer on the results socket "
                    "(%s)", zmq_strerror(errno));
    }
    g->answered++;
}

static void reply_error_to(gw *g, zmq_msg_t *env, int n_env, int from_ingest, const wire_id *id,
                           int op, int code, const char *msg)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    wire_reply_error(&sb, id, op, code, msg);
    send_reply(g, env, n_env, from_ingest, &sb, NULL);
    msgpack_sbuffer_destroy(&sb);
    g->failed++;
}

static void fail_slot(gw *g, gw_slot *s, int code, const char *msg)
{
    reply_error_to(g, s->env, s->n_env, s->from_ingest, &s->id, s->op, code, msg);
    s->n_env = 0;       /* sent or closed */
    gw_table_remove(g->table, s);
}

static void reply_health(gw *g, zmq_msg_t *env, int n_env, int from_ingest, const wire_req *req)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    wire_map r, lim;
    wire_reply_begin(&r, &pk, &sb, &req->id, req->op, 1, 0);
    wire_map_str(&r, "status", "serving");
    wire_map_int(&r, "in_flight", gw_table_count(g->table));
    wire_map_int(&r, "waiting", gw_table_waiting(g->table));
    wire_map_int(&r, "answered", g->answered);
    wire_map_int(&r, "failed", g->failed);
    wire_map_int(&r, "uptime_ms", gw_now_ms() - g->started_ms);
    wire_map_key(&r, "limits");
    wire_map_begin(&lim, &pk, &sb);
    wire_map_int(&lim, "max_texts", g->limits.max_texts);
    wire_map_int(&lim, "max_text_bytes", (long long)g->limits.max_text_bytes);
    wire_map_int(&lim, "timeout_ms", g->timeout_ms);
    wire_map_int(&lim, "max_in_flight", g->max_in_flight);
    wire_map_end(&lim);
    wire_map_end(&r);
    send_reply(g, env, n_env, from_ingest, &sb, NULL);
    msgpack_sbuffer_destroy(&sb);
}

/* The gateway's row of the op table: the ops it answers itself (wire_stage_check'ed in main); all
 * others go to the tokenizers. */
typedef void (*gw_handler)(gw *g, zmq_msg_t *env, int n_env, int from_ingest, const wire_req *req);
static const gw_handler handlers[WIRE_OP_COUNT_] = {
    [WIRE_OP_HEALTH] = reply_health,
};

/* ---- requests ------------------------------------------------------------------------------ */

/* Send waiting jobs to the tokenizers while they take them. */
static void dispatch(gw *g)
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
        if (zmq_msg_send(&m, g->tok, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;         /* no tokenizer connected, or all busy: try again on POLLOUT */
        }
        gw_table_dispatched(g->table, s);
    }
}

/* One request frame (body) from a client (env frames) or from the ingest socket (env == NULL). */
static void on_request(gw *g, zmq_msg_t *env, int n_env, int from_ingest, zmq_msg_t *body)
{
    wire_req req;
    int op_known;
    zb_err err;
    int rc = wire_req_parse(zmq_msg_data(body), zmq_msg_size(body), &g->limits, &req, &op_known, &err);
    if (rc) {
        reply_error_to(g, env, n_env, from_ingest, &req.id, op_known ? (int)req.op : -1, rc, err.msg);
    } else if (handlers[req.op]) {
        handlers[req.op](g, env, n_env, from_ingest, &req);
    } else {
        gw_slot *s = gw_table_add(g->table);
        if (!s) {
            char msg[160];
            snprintf(msg, sizeof msg, "%d requests are in flight (--max-in-flight); retry later",
                     gw_table_count(g->table));
            reply_error_to(g, env, n_env, from_ingest, &req.id, req.op, ZB_EOVERLOAD, msg);
        } else {
            int t = req.timeout_ms && req.timeout_ms < g->timeout_ms ? req.timeout_ms : g->timeout_ms;
            s->deadline_ms = gw_now_ms() + t;
            s->from_ingest = from_ingest;
            s->op = req.op;
            s->id = req.id;
            for (int k = 0; k < n_env; k++) {
                zmq_msg_init(&s->env[k]);
                zmq_msg_move(&s->env[k], &env[k]);
            }
            s->n_env = n_env;
            n_env = 0;
            wire_pack_tok_job(&s->job, s->j, zmq_msg_data(body), zmq_msg_size(body));
            dispatch(g);
        }
    }
    for (int k = 0; k < n_env; k++)
        zmq_msg_close(&env[k]);
    wire_req_free(&req);
}

/* Read a whole multipart message: the last frame is the body, the ones before it the envelope. */
static int recv_multipart(void *sock, zmq_msg_t *env, int *n_env, zmq_msg_t *body)
{
    int n = 0, more = 1, over = 0;
    zmq_msg_init(body);
    if (zmq_msg_recv(body, sock, ZMQ_DONTWAIT) < 0)
        return -1;
    while ((more = zmq_msg_more(body))) {
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

static void on_client(gw *g, void *sock, int from_ingest)
{
    zmq_msg_t env[GW_MAX_ENV], body;
    int n_env;
    int rc = recv_multipart(sock, env, &n_env, &body);
    if (rc == -1) {
        zmq_msg_close(&body);
        return;
    }
    if (rc == -2) {
        svc_log("dropped a client message with more than %d envelope frames", GW_MAX_ENV);
        return;
    }
    if (from_ingest) {              /* producers have no envelope: frames before the body are ignored */
        for (int k = 0; k < n_env; k++)
            zmq_msg_close(&env[k]);
        n_env = 0;
    }
    on_request(g, env, n_env, from_ingest, &body);
    zmq_msg_close(&body);
}

/* [j: 8 bytes LE][reply] from a worker: forward the reply unchanged to the request's client. */
static void on_sink(gw *g)
{
    zmq_msg_t env[GW_MAX_ENV], body;
    int n_env;
    int rc = recv_multipart(g->sink, env, &n_env, &body);
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
    if (!s) {                       /* late (timed out already) or not ours */
        zmq_msg_close(&body);
        return;
    }
    send_reply(g, s->env, s->n_env, s->from_ingest, NULL, &body);
    s->n_env = 0;
    gw_table_remove(g->table, s);
}

static void expire(gw *g, int64_t now)
{
    gw_slot *s;
    while ((s = gw_table_expired(g->table, now))) {
        char msg[256];
        if (!s->dispatched)
            snprintf(msg, sizeof msg, "no tokenizer_svc took the request within its deadline (none "
                     "connected, or all busy)");
        else
            snprintf(msg, sizeof msg, "no reply within the deadline: a worker died or is too slow, or "
                     "no encoder_svc/pooler_svc is connected (work is not re-dispatched; retry)");
        fail_slot(g, s, s->dispatched ? ZB_ETIMEOUT : ZB_EUNAVAILABLE, msg);
        s->dispatched ? g->n_timeout++ : g->n_unavailable++;
    }
    /* operators see failures, at most one line a second however many there are */
    if ((g->n_timeout || g->n_unavailable) && now - g->last_log_ms >= 1000) {
        svc_log("%ld request(s) timed out in a worker, %ld found no tokenizer_svc (since the last "
                "report)", g->n_timeout, g->n_unavailable);
        g->n_timeout = g->n_unavailable = 0;
        g->last_log_ms = now;
    }
}

/* Stopping: whoever still waits gets an answer rather than silence. */
static void fail_all(gw *g)
{
    gw_slot *s;
    while ((s = gw_table_expired(g->table, INT64_MAX)))
        fail_slot(g, s, ZB_EUNAVAILABLE, "the gateway is shutting down");
}

static void serve(gw *g)
{
    int64_t next_scan = 0;
    while (!svc_stopping()) {
        zmq_pollitem_t it[4] = {
            {g->router, 0, ZMQ_POLLIN, 0}, {g->ingest, 0, ZMQ_POLLIN, 0},
            {g->sink, 0, ZMQ_POLLIN, 0}, {g->tok, 0, ZMQ_POLLOUT, 0},
        };
        int n_items = gw_table_waiting(g->table) ? 4 : 3;
        int rc = zmq_poll(it, n_items, gw_table_count(g->table) ? 20 : 250);
        if (rc < 0 && errno == ETERM)
            break;
        if (rc > 0) {
            if (it[2].revents & ZMQ_POLLIN)         /* replies first: they free slots */
                for (int k = 0; k < 64 && (it[2].revents & ZMQ_POLLIN); k++) {
                    on_sink(g);
                    int ev = 0;
                    size_t sz = sizeof ev;
                    zmq_getsockopt(g->sink, ZMQ_EVENTS, &ev, &sz);
                    it[2].revents = (short)ev;
                }
            if (it[0].revents & ZMQ_POLLIN)
                on_client(g, g->router, 0);
            if (it[1].revents & ZMQ_POLLIN)
                on_client(g, g->ingest, 1);
            if (n_items == 4 && (it[3].revents & ZMQ_POLLOUT))
                dispatch(g);
        }
        int64_t now = gw_now_ms();
        if (now >= next_scan) {
            expire(g, now);
            next_scan = now + 10;
        }
    }
}

/* ---- setup --------------------------------------------------------------------------------- */

static int parse_int(const char *flag, const char *v, int lo, int hi, int *out)
{
    return zb_parse_int("gateway", flag, v, lo, hi, out) ? 2 : 0;
}

static int parse_args(int argc, char **argv, gw_args *a)
{
    memset(a, 0, sizeof *a);
    a->timeout_ms = 30000;
    a->max_in_flight = 1024;
    a->max_texts = 256;
    a->max_text_bytes = 65536;
    a->max_msg_bytes = 16 << 20;
    a->max_stage_bytes = (int)SVC_MAX_STAGE_MSG;
    const char *env = getenv("ZEMBED_ENDPOINT");
    a->ep[E_CLIENT] = env && *env ? env : SVC_DEFAULT_ENDPOINT;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            fputs(usage, stdout);
            return 1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "gateway: unknown flag or missing value: %s\n%s", f, usage);
            return 2;
        }
        const char *v = argv[++i];
        int k, rc = 0;
        for (k = 0; k < 9 && strcmp(f, eps[k].flag); k++)
            ;
        if (k < 9) a->ep[k] = v;
        else if (!strcmp(f, "--stage-host")) a->stage_host = v;
        else if (!strcmp(f, "--timeout-ms")) rc = parse_int(f, v, 1, 3600000, &a->timeout_ms);
        else if (!strcmp(f, "--max-in-flight")) rc = parse_int(f, v, 1, 1 << 20, &a->max_in_flight);
        else if (!strcmp(f, "--max-texts")) rc = parse_int(f, v, 1, 1 << 20, &a->max_texts);
        else if (!strcmp(f, "--max-text-bytes")) rc = parse_int(f, v, 1, 1 << 30, &a->max_text_bytes);
        else if (!strcmp(f, "--max-msg-bytes")) rc = parse_int(f, v, 64, 1 << 30, &a->max_msg_bytes);
        else if (!strcmp(f, "--max-stage-bytes")) rc = parse_int(f, v, 4096, 1 << 30, &a->max_stage_bytes);
        else {
            fprintf(stderr, "gateway: unknown flag: %s\n%s", f, usage);
            return 2;
        }
        if (rc)
            return rc;
    }
    for (int k = 1; k < 9; k++) {
        if (a->ep[k])
            continue;
        zb_err err;
        const char *host = eps[k].off >= SVC_OFF_TOK ? a->stage_host : NULL;
        if (svc_endpoint(a->buf[k], sizeof a->buf[k], a->ep[E_CLIENT], eps[k].off, host, &err)) {
            fprintf(stderr, "gateway: %s (for %s)\n", err.msg, eps[k].flag);
            return 2;
        }
        a->ep[k] = a->buf[k];
    }
    return 0;
}

int main(int argc, char **argv)
{
    svc_log_init("gateway");
    WIRE_STAGE_CHECK(WIRE_STAGE_GATEWAY, handlers);
    gw_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc == 1 ? 0 : 2;
    svc_signals();
    gw g;
    memset(&g, 0, sizeof g);
    g.ctx = zmq_ctx_new();
    g.timeout_ms = a.timeout_ms;
    g.max_in_flight = a.max_in_flight;
    g.limits = (wire_limits){a.max_texts, (size_t)a.max_text_bytes, a.timeout_ms};
    g.table = gw_table_new(a.max_in_flight);
    g.started_ms = gw_now_ms();
    /* stage sockets: short queues so round-robin does not strand work behind a slow worker;
     * frames between our own stages may be large (token states) but not unbounded */
    svc_sockopt client = {.max_msg = a.max_msg_bytes}, results = {.sndhwm = 1000},
                stage_out = {.sndhwm = 2, .immediate = 1},
                stage_in = {.rcvhwm = 4, .max_msg = a.max_stage_bytes},
                sink = {.rcvhwm = 1000, .max_msg = a.max_stage_bytes};
    zb_err err;
    streamer st[2] = {{0}};
    void *socks[9] = {0};
    const svc_sockopt *opts[9] = {&client, &client, &results, &stage_out, &stage_in, &stage_out,
                                  &stage_in, &stage_out, &sink};
    const int types[9] = {ZMQ_ROUTER, ZMQ_PULL, ZMQ_PUSH, ZMQ_PUSH, ZMQ_PULL, ZMQ_PUSH, ZMQ_PULL,
                          ZMQ_PUSH, ZMQ_PULL};
    rc = g.table ? 0 : 2;
    for (int k = 0; k < 9 && !rc; k++)
        if (!(socks[k] = svc_socket(g.ctx, types[k], a.ep[k], 1, opts[k], &err))) {
            svc_log("%s: %s", eps[k].flag, err.msg);
            rc = 2;
        }
    pthread_t th[2];
    int n_th = 0;
    if (!rc) {
        g.router = socks[E_CLIENT];
        g.ingest = socks[E_INGEST];
        g.results = socks[E_RESULTS];
        g.tok = socks[E_TOK];
        g.sink = socks[E_SINK];
        st[0] = (streamer){socks[E_ENC_IN], socks[E_ENC]};
        st[1] = (streamer){socks[E_POOL_IN], socks[E_POOL]};
        socks[E_ENC_IN] = socks[E_ENC] = socks[E_POOL_IN] = socks[E_POOL] = NULL;  /* the threads own them */
        for (; n_th < 2; n_th++)
            if (pthread_create(&th[n_th], NULL, run_streamer, &st[n_th]))
                break;
        svc_log("clients %s, ingest %s, results %s; stages: tokenizers %s -> %s, encoders %s -> %s, "
                "poolers %s, sink %s; timeout %d ms, max %d in flight", a.ep[E_CLIENT], a.ep[E_INGEST],
                a.ep[E_RESULTS], a.ep[E_TOK], a.ep[E_ENC_IN], a.ep[E_ENC], a.ep[E_POOL_IN],
                a.ep[E_POOL], a.ep[E_SINK], a.timeout_ms, a.max_in_flight);
        serve(&g);
        fail_all(&g);
        svc_log("stopping: %ld replies (%ld errors from the gateway, %ld undeliverable), %d in flight",
                g.answered, g.failed, g.dropped, gw_table_count(g.table));
    }
    gw_table_free(g.table);
    for (int k = 0; k < 9; k++)
        if (socks[k])
            zmq_close(socks[k]);
    for (int k = n_th; k < 2; k++)              /* never handed to a thread */
        if (st[k].front) {
            zmq_close(st[k].front);
            zmq_close(st[k].back);
        }
    zmq_ctx_shutdown(g.ctx);                    /* the streamers' zmq_proxy returns */
    for (int k = 0; k < n_th; k++)
        pthread_join(th[k], NULL);
    zmq_ctx_term(g.ctx);
    return rc;
}
