/* gateway: the front door. Binds every endpoint of the pipeline (docs/PROTOCOL.md §1): clients
 * (ROUTER), streaming ingestion (PULL in, PUSH out), the stage boundaries workers connect to (the
 * gateway passes frames between worker stages itself, so it knows where each job is), the result
 * sink and the workers' heartbeats. It validates requests, keeps the table of requests in flight
 * with deadlines, dispatches again work lost with a worker (gw_stage.c) and routes each worker's
 * reply back to its client exactly once (gw_reply.c). It needs no model: workers have it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "gw.h"
#include "gw_sec.h"
#include "svc.h"
#include "svc_sec.h"
#include "svc_hb.h"
#include "wire.h"
#include "zb_args.h"
#include "zb_opt.h"

static const char usage[] =
    "usage: gateway [--endpoint tcp://127.0.0.1:5555] [--ingest E] [--results E] [--tok E]\n"
    "               [--enc-in E] [--enc E] [--pool-in E] [--pool E] [--sink E] [--stage-host ADDR]\n"
    "               [--timeout-ms 30000] [--max-in-flight 1024] [--max-texts 256]\n"
    "               [--max-text-bytes 65536] [--max-msg-bytes 16777216] [--max-stage-bytes 268435456]\n"
    "               [--control E] [--max-in-flight-bytes 268435456] [--max-ingest 1000]\n"
    "               [--dead-ms 600] [--stuck-ms 30000] [--max-crashes 4] [--drain-ms 10000]\n"
    "               [--log-requests] [--max-in-flight-per-client N]\n"
    "               [--curve-key FILE --allow-clients FILE --allow-workers FILE] [--ipc-mode 0600]\n"
    "               [--metrics HOST:PORT|off]\n"
    "  --endpoint E        clients (ROUTER: REQ and DEALER both work); env ZEMBED_ENDPOINT.\n"
    "                      The other endpoints default to its host and port + offset:\n"
    "  --ingest E          +1  PULL: producers push requests     --results E  +2  PUSH: their replies\n"
    "  --tok E             +5  PUSH: jobs to tokenizer_svc       --enc-in E   +6  PULL: from tokenizers\n"
    "  --enc E             +7  PUSH: jobs to encoder_svc         --pool-in E  +8  PULL: from encoders\n"
    "  --pool E            +9  PUSH: jobs to pooler_svc          --sink E     +10 PULL: replies from workers\n"
    "  --control E         +3  PULL: workers' heartbeats (which jobs each one holds)\n"
    "  --stage-host ADDR   bind the stage endpoints (+5..+10) on ADDR (e.g. 0.0.0.0 for workers on\n"
    "                      other hosts) instead of the client endpoint's host\n"
    "  --timeout-ms N      a request not answered in N ms gets a timeout error (default 30000)\n"
    "  --max-in-flight N   more requests in flight get an overloaded error (default 1024)\n"
    "  --max-texts N       texts per request (default 256)\n"
    "  --max-text-bytes N  bytes per text (default 65536)\n"
    "  --max-msg-bytes N   bytes per request frame; larger frames are dropped by ZeroMQ (default 16 MiB)\n"
    "  --max-stage-bytes N bytes per frame from a worker (stage jobs, replies; default 256 MiB)\n"
    "  --max-in-flight-bytes N  request bytes in flight; beyond: overloaded (default 256 MiB)\n"
    "  --max-ingest N      ingested requests accepted but not yet answered to a consumer; beyond,\n"
    "                      the ingest socket is not read: producers are slowed down (default 1000)\n"
    "  --dead-ms N         a worker silent for N ms is dead: its work is dispatched again (default 600)\n"
    "  --stuck-ms N        a worker holding work N ms without progress is stuck: the same (default\n"
    "                      30000; 0: never)\n"
    "  --max-crashes N     a request whose work was held by N workers that died is answered\n"
    "                      'poisoned' instead of being dispatched again (default 4)\n"
    "  --drain-ms N        on SIGTERM: take no new requests, answer those in flight for up to N ms\n"
    "                      (default 10000), then exit\n"
    "  --max-in-flight-per-client N  fair share: one client's requests in flight (the ingest\n"
    "                      socket counts as one client); beyond, overloaded (default: half of\n"
    "                      --max-in-flight)\n"
    "  --log-requests      an event line per answered request (id, op, outcome, attempts, ms; never\n"
    "                      its texts); without it, only requests the gateway fails get one\n"
    "  --curve-key FILE    CURVE on every endpoint with this secret key (zembed keygen; env\n"
    "                      ZEMBED_CURVE_KEY); clients and workers need its .pub and a key on\n"
    "  --allow-clients FILE  the public keys clients may use, one a line (env ZEMBED_ALLOW_CLIENTS)\n"
    "  --allow-workers FILE  the public keys workers may use, never a client's (ZEMBED_ALLOW_WORKERS)\n"
    "  --ipc-mode MODE     mode of ipc:// socket files (default 0600; 0660 lets the group in)\n"
    "  --metrics ADDR      Prometheus text at http://ADDR/metrics (and /healthz); default the client\n"
    "                      endpoint's host and port + 11 (tcp; none for ipc); off: no page\n"
    "Protocol: docs/PROTOCOL.md. SIGINT/SIGTERM stop it (after draining).\n";


#define N_EP 10
typedef struct {
    const char *ep[N_EP];       /* by SVC_OFF_* order below */
    char buf[N_EP][256];
    const char *stage_host;
    const char *curve_key, *allow_clients, *allow_workers;     /* CURVE: svc_sec.h, gw_sec.h */
    int ipc_mode;
    const char *metrics;        /* NULL: derived from the client endpoint; "off" */
    char metrics_buf[300];
    int timeout_ms, max_in_flight, max_texts, max_text_bytes, max_msg_bytes, max_stage_bytes;
    int max_in_flight_bytes, max_ingest, dead_ms, stuck_ms, max_crashes, drain_ms, log_requests;
    int max_per_client;
} gw_args;

/* endpoint flags, their port offsets and what the gateway binds there (for messages) */
static const struct { const char *flag; int off; const char *what; } eps[N_EP] = {
    {"--endpoint", SVC_OFF_CLIENT, "clients"}, {"--ingest", SVC_OFF_INGEST, "producers' requests"},
    {"--results", SVC_OFF_RESULTS, "producers' replies"}, {"--tok", SVC_OFF_TOK, "jobs to tokenizers"},
    {"--enc-in", SVC_OFF_ENC_IN, "tokenizers' output"}, {"--enc", SVC_OFF_ENC, "jobs to encoders"},
    {"--pool-in", SVC_OFF_POOL_IN, "encoders' output"}, {"--pool", SVC_OFF_POOL, "jobs to poolers"},
    {"--sink", SVC_OFF_SINK, "workers' replies"}, {"--control", SVC_OFF_CONTROL, "workers' heartbeats"},
};
enum { E_CLIENT, E_INGEST, E_RESULTS, E_TOK, E_ENC_IN, E_ENC, E_POOL_IN, E_POOL, E_SINK, E_CONTROL };

/* The gateway's row of the op table: the ops it answers itself (wire_stage_check'ed in main); all
 * others go to the tokenizers. */
typedef void (*gw_handler)(gw *g, zmq_msg_t *env, int n_env, int from_ingest, const wire_req *req);
static const gw_handler handlers[WIRE_OP_COUNT_] = {
    [WIRE_OP_HEALTH] = gw_reply_health,
};

/* ---- requests ------------------------------------------------------------------------------ */

/* One request frame (body) from a client (env frames) or from the ingest socket (env == NULL). */
static void on_request(gw *g, zmq_msg_t *env, int n_env, int from_ingest, zmq_msg_t *body)
{
    wire_req req;
    int op_known;
    zb_err err;
    size_t size = zmq_msg_size(body);
    int rc = wire_req_parse(zmq_msg_data(body), size, &g->limits, &req, &op_known, &err);
    if (rc) {
        gw_reply_error(g, env, n_env, from_ingest, &req.id, op_known ? (int)req.op : -1, rc, err.msg);
    } else if (handlers[req.op]) {
        handlers[req.op](g, env, n_env, from_ingest, &req);
        gw_mstats_reply(&g->m, req.op, 0);
    } else if (gw_dedup_eligible(&req.id) && gw_dedup_retry(g, env, n_env, from_ingest, &req)) {
        n_env = 0;                  /* taken over, sent or closed */
    } else if (g->draining) {
        gw_reply_error(g, env, n_env, from_ingest, &req.id, req.op, ZB_EUNAVAILABLE, "the gateway is "
                       "shutting down: it finishes what is in flight and takes nothing new");
    } else if (!from_ingest && gw_table_client_count(g->table, gw_client_of(env, n_env)) >= g->max_per_client) {
        char msg[200];
        snprintf(msg, sizeof msg, "this client has %d requests in flight (--max-in-flight-per-client, its "
                 "fair share); retry later", g->max_per_client);
        gw_reply_overloaded(g, env, n_env, from_ingest, &req.id, req.op, msg);
    } else if (gw_table_bytes(g->table) + size > g->max_bytes) {
        char msg[160];
        snprintf(msg, sizeof msg, "%zu request bytes are in flight (--max-in-flight-bytes %zu); retry "
                 "later", gw_table_bytes(g->table), g->max_bytes);
        gw_reply_overloaded(g, env, n_env, from_ingest, &req.id, req.op, msg);
    } else {
        gw_slot *s = gw_table_add(g->table);
        if (!s) {
            char msg[160];
            snprintf(msg, sizeof msg, "%d requests are in flight (--max-in-flight); retry later",
                     gw_table_count(g->table));
            gw_reply_overloaded(g, env, n_env, from_ingest, &req.id, req.op, msg);
        } else {
            int t = req.timeout_ms && req.timeout_ms < g->timeout_ms ? req.timeout_ms : g->timeout_ms;
            s->start_ms = gw_now_ms();
            s->client = from_ingest ? 1 : gw_client_of(env, n_env);
            g->ingest_in_table += from_ingest;
            s->deadline_ms = s->start_ms + t;
            s->from_ingest = from_ingest;
            s->op = req.op;
            s->id = req.id;
            for (int k = 0; k < n_env; k++) {
                zmq_msg_init(&s->env[k]);
                zmq_msg_move(&s->env[k], &env[k]);
            }
            s->n_env = n_env;
            n_env = 0;
            if (gw_dedup_eligible(&s->id))
                gw_dedup_start(g->dedup, &s->id, s->j);
            wire_pack_tok_job(&s->job, s->j, zmq_msg_data(body), size);
            gw_table_job_sized(g->table, s);
            gw_dispatch(g);
        }
    }
    for (int k = 0; k < n_env; k++)
        zmq_msg_close(&env[k]);
    wire_req_free(&req);
}

static void on_client(gw *g, void *sock, int from_ingest)
{
    zmq_msg_t env[GW_MAX_ENV], body;
    int n_env;
    int rc = gw_recv_multipart(sock, env, &n_env, &body);
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
        g->ingest_pending++;        /* its reply is pending until the results socket takes it */
    }
    on_request(g, env, n_env, from_ingest, &body);
    zmq_msg_close(&body);
}

static void expire(gw *g, int64_t now)
{
    gw_slot *s;
    while ((s = gw_table_expired(g->table, now))) {
        char msg[256];
        int dispatched = s->dispatched;
        if (!dispatched)
            snprintf(msg, sizeof msg, "no tokenizer_svc took the request within its deadline (none "
                     "connected, or all busy)");
        else
            snprintf(msg, sizeof msg, "no reply within the deadline: the workers are too slow, or no "
                     "encoder_svc/pooler_svc is connected (work lost with a worker was dispatched "
                     "again %d time(s))", s->attempts - 1);
        gw_fail_slot(g, s, dispatched ? ZB_ETIMEOUT : ZB_EUNAVAILABLE, msg);
        dispatched ? g->n_timeout++ : g->n_unavailable++;
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
        gw_fail_slot(g, s, ZB_EUNAVAILABLE, "the gateway is shutting down and could not finish this "
                     "request within --drain-ms");
}

static short next_events(void *sock)
{
    int ev = 0;
    size_t sz = sizeof ev;
    zmq_getsockopt(sock, ZMQ_EVENTS, &ev, &sz);
    return (short)ev;
}

/* Whether to read the ingest socket: its replies pending and its share of the table have room
 * (otherwise producers wait: back-pressure instead of overloaded replies). */
static int ingest_open(const gw *g)
{
    return g->ingest_pending < g->max_ingest && g->ingest_in_table < g->max_per_client;
}

/* A copy of every number for the /metrics page (its own thread reads only the copy). */
static void publish(gw *g, int64_t now)
{
    if (!g->metrics)
        return;
    static gw_metrics_view v;       /* large (histograms): not on the stack; one gateway loop */
    v.m = g->m;
    v.answered = g->c.answered, v.failed = g->c.failed, v.overloaded = g->c.overloaded;
    v.undeliverable = g->c.undeliverable, v.redispatched = g->c.redispatched;
    v.duplicates = g->c.duplicates, v.poisoned = g->c.poisoned, v.stage_dropped = g->c.stage_dropped;
    v.retries = g->c.retries;
    v.in_flight = gw_table_count(g->table), v.waiting = gw_table_waiting(g->table);
    v.ingest_pending = g->ingest_pending, v.results_queued = g->rq_len, v.max_in_flight = g->max_in_flight;
    for (int s = 0; s < WIRE_STAGE_COUNT_; s++)
        v.workers_alive[s] = s == WIRE_STAGE_GATEWAY ? 1 : gw_workers_alive(g->workers, (wire_stage)s);
    gw_sec_counts sc = gw_sec_get(g->sec);
    for (int d = 0; d < 2; d++)
        v.curve_allowed[d] = sc.allowed[d], v.curve_refused_key[d] = sc.refused_key[d];
    v.curve_refused_handshake = sc.refused_handshake;
    v.curve_on = g->sec != NULL;
    v.draining = g->draining;
    v.uptime_s = (double)(now - g->started_ms) / 1000;
    gw_metrics_publish(g->metrics, &v);
}

/* The loop: until SIGTERM, then until what is in flight is answered (or drain_ms passed). */
static void serve(gw *g, int drain_ms)
{
    int64_t next_scan = 0, drain_until = 0, next_publish = 0;
    for (;;) {
        int64_t now = gw_now_ms();
        if (svc_stopping() && !g->draining) {
            g->draining = 1;
            drain_until = now + drain_ms;
            svc_log("draining: %d request(s) in flight, %d repl(ies) queued; taking nothing new",
                    gw_table_count(g->table), g->rq_len);
        }
        if (g->draining && ((!gw_table_count(g->table) && !g->rq_len) || now >= drain_until))
            break;
        enum { I_SINK, I_CTL, I_ENC_IN, I_POOL_IN, I_ROUTER, I_INGEST, I_TOK, I_ENC, I_POOL, I_RES, N_I };
        zmq_pollitem_t it[N_I] = {
            [I_SINK] = {g->sink, 0, ZMQ_POLLIN, 0}, [I_CTL] = {g->control, 0, ZMQ_POLLIN, 0},
            [I_ENC_IN] = {g->stage_in[0], 0, g->has_pend[0] ? 0 : ZMQ_POLLIN, 0},
            [I_POOL_IN] = {g->stage_in[1], 0, g->has_pend[1] ? 0 : ZMQ_POLLIN, 0},
            [I_ROUTER] = {g->router, 0, ZMQ_POLLIN, 0},
            [I_INGEST] = {g->ingest, 0, ingest_open(g) ? ZMQ_POLLIN : 0, 0},
            [I_TOK] = {g->tok, 0, gw_table_waiting(g->table) ? ZMQ_POLLOUT : 0, 0},
            [I_ENC] = {g->stage_out[0], 0, g->has_pend[0] ? ZMQ_POLLOUT : 0, 0},
            [I_POOL] = {g->stage_out[1], 0, g->has_pend[1] ? ZMQ_POLLOUT : 0, 0},
            [I_RES] = {g->results, 0, g->rq_len ? ZMQ_POLLOUT : 0, 0},
        };
        int rc = zmq_poll(it, N_I, gw_table_count(g->table) || g->draining ? 10 : 100);
        if (rc < 0 && errno == ETERM)
            break;
        if (rc > 0) {
            /* replies first: they free slots; then what moves work along; new requests last */
            for (int k = 0; k < 256 && (it[I_SINK].revents & ZMQ_POLLIN); k++) {
                gw_on_sink(g);
                it[I_SINK].revents = next_events(g->sink);
            }
            for (int k = 0; k < 256 && (it[I_CTL].revents & ZMQ_POLLIN); k++) {
                gw_on_control(g);
                it[I_CTL].revents = next_events(g->control);
            }
            if (it[I_RES].revents & ZMQ_POLLOUT)
                gw_flush_results(g);
            for (int b = 0; b < 2; b++) {
                zmq_pollitem_t *in = &it[b ? I_POOL_IN : I_ENC_IN], *out = &it[b ? I_POOL : I_ENC];
                if (out->revents & ZMQ_POLLOUT)
                    gw_stage_flush(g, b);
                for (int k = 0; k < 64 && (in->revents & ZMQ_POLLIN) && !g->has_pend[b]; k++) {
                    gw_stage_in(g, b);
                    in->revents = next_events(g->stage_in[b]);
                }
            }
            if (it[I_TOK].revents & ZMQ_POLLOUT)
                gw_dispatch(g);
            if (it[I_ROUTER].revents & ZMQ_POLLIN)
                on_client(g, g->router, 0);
            if ((it[I_INGEST].revents & ZMQ_POLLIN) && ingest_open(g))
                on_client(g, g->ingest, 1);
        }
        now = gw_now_ms();
        if (now >= next_scan) {
            expire(g, now);
            gw_reap(g, now);
            if (now >= next_publish) {
                publish(g, now);
                next_publish = now + 100;
            }
            next_scan = now + 10;
        }
    }
}

/* ---- setup --------------------------------------------------------------------------------- */

enum { G_EP = 0x100, G_STAGE_HOST = G_EP + N_EP, G_TIMEOUT, G_MAX_IN_FLIGHT, G_MAX_TEXTS,
       G_MAX_TEXT_BYTES, G_MAX_MSG_BYTES, G_MAX_STAGE_BYTES, G_MAX_IN_FLIGHT_BYTES, G_MAX_INGEST,
       G_DEAD_MS, G_STUCK_MS, G_MAX_CRASHES, G_DRAIN_MS, G_CURVE_KEY, G_ALLOW_CLIENTS, G_ALLOW_WORKERS,
       G_IPC_MODE, G_METRICS, G_LOG_REQUESTS, G_MAX_PER_CLIENT };

/* parse: argv -> a (zb_opt: getopt_long, --help, --version, "did you mean"). 0 to run, 1 after
 * --help / --version, 2 on a usage error (printed). */
static int parse_args(int argc, char **argv, gw_args *a)
{
    memset(a, 0, sizeof *a);
    a->timeout_ms = 30000;
    a->max_in_flight = 1024;
    a->max_texts = 256;
    a->max_text_bytes = 65536;
    a->max_msg_bytes = 16 << 20;
    a->max_stage_bytes = (int)SVC_MAX_STAGE_MSG;
    a->max_in_flight_bytes = 256 << 20;
    a->max_ingest = 1000;
    a->dead_ms = 6 * SVC_HB_MS;
    a->stuck_ms = 30000;
    a->max_crashes = 4;
    a->drain_ms = 10000;
    a->ipc_mode = 0600;
    a->curve_key = getenv("ZEMBED_CURVE_KEY");
    a->allow_clients = getenv("ZEMBED_ALLOW_CLIENTS");
    a->allow_workers = getenv("ZEMBED_ALLOW_WORKERS");
    const char *env = getenv("ZEMBED_ENDPOINT");
    a->ep[E_CLIENT] = env && *env ? env : SVC_DEFAULT_ENDPOINT;
    /* integer flags: name, destination, range */
    const struct { int opt; const char *name; int *dst, lo, hi; } ints[] = {
        {G_TIMEOUT, "timeout-ms", &a->timeout_ms, 1, 3600000},
        {G_MAX_IN_FLIGHT, "max-in-flight", &a->max_in_flight, 1, 1 << 20},
        {G_MAX_TEXTS, "max-texts", &a->max_texts, 1, 1 << 20},
        {G_MAX_TEXT_BYTES, "max-text-bytes", &a->max_text_bytes, 1, 1 << 30},
        {G_MAX_MSG_BYTES, "max-msg-bytes", &a->max_msg_bytes, 64, 1 << 30},
        {G_MAX_STAGE_BYTES, "max-stage-bytes", &a->max_stage_bytes, 4096, 1 << 30},
        {G_MAX_IN_FLIGHT_BYTES, "max-in-flight-bytes", &a->max_in_flight_bytes, 1 << 16, INT32_MAX},
        {G_MAX_INGEST, "max-ingest", &a->max_ingest, 1, 1 << 20},
        {G_DEAD_MS, "dead-ms", &a->dead_ms, 2 * SVC_HB_MS, 600000},
        {G_STUCK_MS, "stuck-ms", &a->stuck_ms, 0, 3600000},
        {G_MAX_CRASHES, "max-crashes", &a->max_crashes, 1, 1000},
        {G_DRAIN_MS, "drain-ms", &a->drain_ms, 0, 3600000},
        {G_MAX_PER_CLIENT, "max-in-flight-per-client", &a->max_per_client, 1, 1 << 20},
    };
    enum { N_INTS = sizeof ints / sizeof ints[0] };
    static const struct { int opt; const char *name; } strs[] = {
        {G_CURVE_KEY, "curve-key"}, {G_ALLOW_CLIENTS, "allow-clients"}, {G_ALLOW_WORKERS, "allow-workers"},
        {G_IPC_MODE, "ipc-mode"}, {G_METRICS, "metrics"}};
    enum { N_STRS = sizeof strs / sizeof strs[0] };
    struct option longopts[N_EP + 2 + N_INTS + N_STRS + 3];
    int n = 0;
    longopts[n++] = (struct option){"log-requests", no_argument, NULL, G_LOG_REQUESTS};
    for (int k = 0; k < N_EP; k++)
        longopts[n++] = (struct option){eps[k].flag + 2, required_argument, NULL, G_EP + k};
    longopts[n++] = (struct option){"stage-host", required_argument, NULL, G_STAGE_HOST};
    for (int k = 0; k < N_INTS; k++)
        longopts[n++] = (struct option){ints[k].name, required_argument, NULL, ints[k].opt};
    for (int k = 0; k < N_STRS; k++)
        longopts[n++] = (struct option){strs[k].name, required_argument, NULL, strs[k].opt};
    const struct option std[] = {ZB_OPT_STD};
    memcpy(longopts + n, std, sizeof std);
    zb_opt p = {.prog = "gateway", .usage = usage, .longopts = longopts};
    int c, status;
    while ((c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        if (c == ZB_OPT_EXIT)
            return status == 0 ? 1 : 2;
        if (c >= G_EP && c < G_EP + N_EP) {
            a->ep[c - G_EP] = optarg;
        } else if (c == G_STAGE_HOST) {
            a->stage_host = optarg;
        } else if (c == G_LOG_REQUESTS) {
            a->log_requests = 1;
        } else if (c == G_CURVE_KEY) {
            a->curve_key = optarg;
        } else if (c == G_ALLOW_CLIENTS) {
            a->allow_clients = optarg;
        } else if (c == G_ALLOW_WORKERS) {
            a->allow_workers = optarg;
        } else if (c == G_METRICS) {
            a->metrics = optarg;
        } else if (c == G_IPC_MODE) {
            char *end;
            long m = strtol(optarg, &end, 8);
            if (*end || !*optarg || (m != 0600 && m != 0660)) {
                fprintf(stderr, "gateway: --ipc-mode '%s': expected 0600 or 0660\n", optarg);
                return 2;
            }
            a->ipc_mode = (int)m;
        } else {
            int k = 0;
            while (ints[k].opt != c)
                k++;
            char flag[32];
            snprintf(flag, sizeof flag, "--%s", ints[k].name);
            if (zb_parse_int("gateway", flag, optarg, ints[k].lo, ints[k].hi, ints[k].dst))
                return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gateway: unexpected argument '%s' (gateway --help lists the flags)\n", argv[optind]);
        return 2;
    }
    if (!a->metrics) {
        if (gw_metrics_default_addr(a->ep[E_CLIENT], a->metrics_buf, sizeof a->metrics_buf)) {
            fprintf(stderr, "gateway: cannot derive the metrics address from %s (port + 11); give "
                    "--metrics HOST:PORT or --metrics off\n", a->ep[E_CLIENT]);
            return 2;
        }
        a->metrics = a->metrics_buf[0] ? a->metrics_buf : "off";
    }
    for (int k = 1; k < N_EP; k++) {
        if (a->ep[k])
            continue;
        zb_err err;
        const char *host = eps[k].off >= SVC_OFF_TOK || eps[k].off == SVC_OFF_CONTROL ? a->stage_host
                                                                                     : NULL;
        if (svc_endpoint(a->buf[k], sizeof a->buf[k], a->ep[E_CLIENT], eps[k].off, host, &err)) {
            fprintf(stderr, "gateway: %s (for %s)\n", err.msg, eps[k].flag);
            return 2;
        }
        a->ep[k] = a->buf[k];
    }
    return 0;
}

/* A bind that failed: which port, what it is for, and what to do (the likely cause is another
 * pipeline on the same ports). */
static void bind_error(const gw_args *a, int k, const zb_err *err)
{
    const char *colon = strrchr(a->ep[k], ':');
    char derived[96] = "";
    if (k != E_CLIENT && a->ep[k] == a->buf[k])
        snprintf(derived, sizeof derived, ", the client port + %d", eps[k].off);
    const char *port = colon ? colon + 1 : a->ep[k];
    svc_log("cannot listen on port %s (%s%s): %s.\n"
            "  Another pipeline or program holds it? (`ss -ltnp 'sport = :%s'` names it.) Stop it, or start\n"
            "  this pipeline on other ports: --endpoint tcp://HOST:PORT (or ZEMBED_ENDPOINT) moves them all,\n"
            "  PORT+0..+3 and +5..+10 (then workers: --gateway tcp://HOST:PORT; clients: --endpoint or\n"
            "  ZEMBED_ENDPOINT); %s E moves only this one.",
            port, eps[k].what, derived, err->msg, port, eps[k].flag);
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
    g.max_bytes = (size_t)a.max_in_flight_bytes;
    g.max_ingest = a.max_ingest;
    g.dead_ms = a.dead_ms;
    g.stuck_ms = a.stuck_ms;
    g.max_crashes = a.max_crashes;
    g.log_requests = a.log_requests;
    /* default: half the table, so a second client always finds room */
    g.max_per_client = a.max_per_client ? a.max_per_client : (a.max_in_flight + 1) / 2;
    g.limits = (wire_limits){a.max_texts, (size_t)a.max_text_bytes, a.timeout_ms};
    g.table = gw_table_new(a.max_in_flight);
    g.workers = gw_workers_new();
    g.dedup = gw_dedup_new(a.max_in_flight, 60000);
    g.rq_cap = a.max_ingest;
    g.rq = calloc((size_t)g.rq_cap, sizeof *g.rq);
    g.started_ms = gw_now_ms();
    /* stage sockets: short queues so round-robin does not strand work behind a slow worker;
     * frames between our own stages may be large (token states) but not unbounded. Clients get
     * deep queues: replies wait there for slow readers rather than being lost. */
    svc_sockopt client = {.sndhwm = 100000, .max_msg = a.max_msg_bytes, .peers = SVC_PEERS_CLIENTS},
                ingest = {.rcvhwm = 100, .max_msg = a.max_msg_bytes, .peers = SVC_PEERS_CLIENTS},
                results = {.sndhwm = 1000, .peers = SVC_PEERS_CLIENTS},
                stage_out = {.sndhwm = 2, .immediate = 1},
                stage_in = {.rcvhwm = 4, .max_msg = a.max_stage_bytes},
                sink = {.rcvhwm = 1000, .max_msg = a.max_stage_bytes},
                control = {.rcvhwm = 10000, .max_msg = 64 << 10};
    zb_err err;
    void *socks[N_EP] = {0};
    const svc_sockopt *opts[N_EP] = {&client, &ingest, &results, &stage_out, &stage_in, &stage_out,
                                     &stage_in, &stage_out, &sink, &control};
    const int types[N_EP] = {ZMQ_ROUTER, ZMQ_PULL, ZMQ_PUSH, ZMQ_PUSH, ZMQ_PULL, ZMQ_PUSH, ZMQ_PULL,
                             ZMQ_PUSH, ZMQ_PULL, ZMQ_PULL};
    rc = g.table && g.workers && g.dedup && g.rq ? 0 : 2;
    svc_sec_ipc_mode(a.ipc_mode);
    gw_sec *sec = NULL;         /* CURVE: binds the ZAP handler before any socket */
    if (!rc && a.curve_key && *a.curve_key &&
        !(sec = gw_sec_new(g.ctx, a.curve_key, a.allow_clients, a.allow_workers, &err))) {
        svc_log("%s", err.msg);
        rc = 2;
    }
    for (int k = 0; k < N_EP && !rc; k++)
        if (!(socks[k] = svc_socket(g.ctx, types[k], a.ep[k], 1, opts[k], &err))) {
            bind_error(&a, k, &err);
            rc = 2;
        }
    if (!rc && sec && gw_sec_start(sec, &err)) {
        svc_log("%s", err.msg);
        rc = 2;
    }
    g.sec = sec;
    if (!rc && strcmp(a.metrics, "off") && !(g.metrics = gw_metrics_new(a.metrics, &err))) {
        svc_log("%s", err.msg);
        rc = 2;
    }
    if (!rc)
        svc_log("metrics: %s%s%s", g.metrics ? "http://" : "off", g.metrics ? a.metrics : "",
                g.metrics ? "/metrics" : "");
    if (!rc) {
        g.router = socks[E_CLIENT];
        int on = 1;     /* a reply ZeroMQ cannot route is an error we count, not a silent drop */
        zmq_setsockopt(g.router, ZMQ_ROUTER_MANDATORY, &on, sizeof on);
        g.ingest = socks[E_INGEST];
        g.results = socks[E_RESULTS];
        g.tok = socks[E_TOK];
        g.sink = socks[E_SINK];
        g.control = socks[E_CONTROL];
        g.stage_in[0] = socks[E_ENC_IN];
        g.stage_out[0] = socks[E_ENC];
        g.stage_in[1] = socks[E_POOL_IN];
        g.stage_out[1] = socks[E_POOL];
        svc_log("clients %s, ingest %s, results %s; stages: tokenizers %s -> %s, encoders %s -> %s, "
                "poolers %s, sink %s, control %s; timeout %d ms, max %d in flight", a.ep[E_CLIENT],
                a.ep[E_INGEST], a.ep[E_RESULTS], a.ep[E_TOK], a.ep[E_ENC_IN], a.ep[E_ENC],
                a.ep[E_POOL_IN], a.ep[E_POOL], a.ep[E_SINK], a.ep[E_CONTROL], a.timeout_ms,
                a.max_in_flight);
        serve(&g, a.drain_ms);
        fail_all(&g);
        gw_flush_results(&g);
        svc_log("stopping: %ld replies (%ld errors from the gateway, %ld overloaded, %ld undeliverable, "
                "%d not taken by a consumer), %ld dispatched again, %ld poisoned, %ld duplicates "
                "dropped, %ld stage frames dropped, %ld workers lost", g.c.answered, g.c.failed,
                g.c.overloaded, g.c.undeliverable, g.rq_len, g.c.redispatched, g.c.poisoned,
                g.c.duplicates, g.c.stage_dropped, g.c.workers_lost);
    }
    for (int b = 0; b < 2; b++)
        if (g.has_pend[b])
            zmq_msg_close(&g.pend[b]);
    for (int k = 0; g.rq && k < g.rq_len; k++)
        zmq_msg_close(&g.rq[(g.rq_head + k) % g.rq_cap]);
    free(g.rq);
    gw_table_free(g.table);
    gw_workers_free(&g.workers);
    gw_dedup_free(&g.dedup);
    for (int k = 0; k < N_EP; k++)
        if (socks[k])
            zmq_close(socks[k]);
    gw_metrics_destroy(&g.metrics);
    zmq_ctx_shutdown(g.ctx);                    /* gw_sec's thread sees ETERM and closes its sockets */
    gw_sec_destroy(&sec);
    zmq_ctx_term(g.ctx);
    return rc;
}
