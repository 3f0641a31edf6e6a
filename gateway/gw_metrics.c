/* gw_metrics: Prometheus text exposition over libmicrohttpd (gw_metrics.h). */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "gw_metrics.h"
#include "svc_hb.h"
#include "svc_sec.h"

const double gw_hist_seconds[GW_HIST_N] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                           1, 2.5, 5, 10, 60};
_Static_assert(GW_HIST_N == SVC_HB_BATCH_N, "the batch histogram has the encoders' buckets");
static const char *const stage_names[WIRE_STAGE_COUNT_] = {"gateway", "tokenizer", "encoder", "pooler"};

void gw_hist_add(gw_hist *h, const double bounds[GW_HIST_N], double v)
{
    int i = 0;
    while (i < GW_HIST_N && v > bounds[i])
        i++;
    h->b[i]++;
    h->count++;
    h->sum += v;
}

void gw_mstats_reply(gw_mstats *m, int op, int code)
{
    int row = op >= 0 && op < WIRE_OP_COUNT_ ? op : WIRE_OP_COUNT_;
    int col = code <= 0 && -code < GW_NCODES ? -code : GW_NCODES - 1;
    m->requests[row][col]++;
}

struct gw_metrics {
    struct MHD_Daemon *d;
    pthread_mutex_t mu;
    gw_metrics_view v;
};

/* ---- the page ------------------------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} text;

__attribute__((format(printf, 2, 3))) static void put(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = t->oom ? 0 : vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (t->oom || n < 0)
            return;
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n + 1;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->oom = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
}

static void head(text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metric(text *t, const char *name, const char *type, const char *help, double v)
{
    head(t, name, type, help);
    put(t, "%s %.17g\n", name, v);
}

/* One histogram series: cumulative buckets, +Inf, _sum, _count. labels: "" or `k="v"`. */
static void hist(text *t, const char *name, const char *labels, const gw_hist *h, const double bounds[GW_HIST_N])
{
    uint64_t cum = 0;
    const char *sep = *labels ? "," : "";
    for (int i = 0; i < GW_HIST_N; i++) {
        cum += h->b[i];
        put(t, "%s_bucket{%s%sle=\"%.17g\"} %llu\n", name, labels, sep, bounds[i], (unsigned long long)cum);
    }
    cum += h->b[GW_HIST_N];
    put(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cum);
    put(t, "%s_sum%s%s%s %.17g\n", name, *labels ? "{" : "", labels, *labels ? "}" : "", h->sum);
    put(t, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
        (unsigned long long)h->count);
}

static void per_stage(text *t, const char *name, const char *type, const char *help, const long *v)
{
    head(t, name, type, help);
    for (int s = WIRE_STAGE_TOKENIZER; s < WIRE_STAGE_COUNT_; s++)
        put(t, "%s{stage=\"%s\"} %ld\n", name, stage_names[s], v[s]);
}

/* The plain numbers of the page: one row each (name, counter or gauge, help, field of the view). */
static const struct {
    const char *name;
    int gauge;
    const char *help;
    size_t off;
} scalars[] = {
#define ROW(name, gauge, help, field) {name, gauge, help, offsetof(gw_metrics_view, field)}
    ROW("zembed_replies_total", 0, "Replies sent (or queued for a consumer).", answered),
    ROW("zembed_gateway_errors_total", 0, "Error replies made by the gateway itself.", failed),
    ROW("zembed_overloaded_total", 0, "Requests answered overloaded (admission control).", overloaded),
    ROW("zembed_undeliverable_total", 0, "Replies ZeroMQ could not deliver (the client was gone).", undeliverable),
    ROW("zembed_retries_total", 0, "Client retries of an id already in flight or answered (deduplicated).", retries),
    ROW("zembed_redispatched_total", 0, "Jobs dispatched again after their worker died or got stuck.", redispatched),
    ROW("zembed_duplicates_dropped_total", 0, "Late or unknown worker results dropped.", duplicates),
    ROW("zembed_poisoned_total", 0, "Requests failed because their work killed workers repeatedly.", poisoned),
    ROW("zembed_stage_frames_dropped_total", 0, "Stage frames of jobs no longer in flight, dropped.", stage_dropped),
    ROW("zembed_in_flight", 1, "Requests accepted and not yet answered.", in_flight),
    ROW("zembed_in_flight_limit", 1, "--max-in-flight.", max_in_flight),
    ROW("zembed_waiting", 1, "Requests waiting for a tokenizer to take them.", waiting),
    ROW("zembed_ingest_pending", 1, "Ingested requests not yet handed to a consumer.", ingest_pending),
    ROW("zembed_results_queued", 1, "Replies to ingested requests waiting for a consumer.", results_queued),
#undef ROW
};

char *gw_metrics_render(const gw_metrics_view *v, size_t *len)
{
    text t = {.cap = 16384};
    if (!(t.buf = malloc(t.cap)))
        return NULL;
    t.buf[0] = 0;
    const gw_mstats *m = &v->m;
    head(&t, "zembed_requests_total", "counter",
         "Replies sent, by op and result code (ok or the protocol's error code).");
    for (int op = 0; op <= WIRE_OP_COUNT_; op++)
        for (int c = 0; c < GW_NCODES; c++)
            if (m->requests[op][c] || (c == 0 && op < WIRE_OP_COUNT_))
                put(&t, "zembed_requests_total{op=\"%s\",code=\"%s\"} %ld\n",
                    op < WIRE_OP_COUNT_ ? wire_op_name((wire_op)op) : "unknown", c ? zb_code_name(-c) : "ok",
                    m->requests[op][c]);
    for (size_t k = 0; k < sizeof scalars / sizeof scalars[0]; k++)
        metric(&t, scalars[k].name, scalars[k].gauge ? "gauge" : "counter", scalars[k].help,
               (double)*(const long *)((const char *)v + scalars[k].off));
    per_stage(&t, "zembed_workers_alive", "gauge", "Live workers per stage (from their heartbeats).", v->workers_alive);
    per_stage(&t, "zembed_worker_starts_total", "counter", "Workers that joined, per stage (starts and restarts).",
              m->worker_joins);
    per_stage(&t, "zembed_worker_restarts_total", "counter", "Workers that joined in place of a lost one, per stage.",
              m->worker_restarts);
    per_stage(&t, "zembed_workers_lost_total", "counter", "Workers declared dead or stuck, per stage.", m->worker_lost);
    per_stage(&t, "zembed_jobs_expired_total", "counter",
              "Jobs workers dropped before starting them: their deadline had passed (from heartbeats).",
              m->jobs_expired);
    per_stage(&t, "zembed_jobs_abandoned_total", "counter",
              "Jobs workers gave up part-way at their deadline (the encoder's heavy lane; from heartbeats).",
              m->jobs_abandoned);
    head(&t, "zembed_request_duration_seconds", "histogram", "Accepted request to reply, by op.");
    for (int op = 0; op < WIRE_OP_COUNT_; op++)
        if (m->request_s[op].count) {
            char l[48];
            snprintf(l, sizeof l, "op=\"%s\"", wire_op_name((wire_op)op));
            hist(&t, "zembed_request_duration_seconds", l, &m->request_s[op], gw_hist_seconds);
        }
    head(&t, "zembed_stage_duration_seconds", "histogram",
         "Time a job spent at a worker stage (queue and work), per stage.");
    for (int s = WIRE_STAGE_TOKENIZER; s < WIRE_STAGE_COUNT_; s++) {
        char l[48];
        snprintf(l, sizeof l, "stage=\"%s\"", stage_names[s]);
        hist(&t, "zembed_stage_duration_seconds", l, &m->stage_s[s], gw_hist_seconds);
    }
    head(&t, "zembed_batch_tokens", "histogram", "Tokens per encoder forward pass (from encoder heartbeats).");
    hist(&t, "zembed_batch_tokens", "", &m->batch_tokens, svc_hb_batch_bounds);
    metric(&t, "zembed_curve_enabled", "gauge", "1 when CURVE is on (docs/PROTOCOL.md section 7).", v->curve_on);
    head(&t, "zembed_curve_refused_total", "counter",
         "Connections refused: unknown key, by side, or a failed handshake (plaintext, wrong server key).");
    for (int d = 0; d < 2; d++)
        put(&t, "zembed_curve_refused_total{reason=\"unknown_key\",side=\"%s\"} %ld\n", svc_sec_domain[d],
            v->curve_refused_key[d]);
    put(&t, "zembed_curve_refused_total{reason=\"handshake\",side=\"any\"} %ld\n", v->curve_refused_handshake);
    head(&t, "zembed_curve_accepted_total", "counter", "Connections accepted by the ZAP handler, by side.");
    for (int d = 0; d < 2; d++)
        put(&t, "zembed_curve_accepted_total{side=\"%s\"} %ld\n", svc_sec_domain[d], v->curve_allowed[d]);
    metric(&t, "zembed_draining", "gauge", "1 while SIGTERM drains in-flight work.", v->draining);
    metric(&t, "zembed_uptime_seconds", "gauge", "Seconds since the gateway started.", v->uptime_s);
    if (t.oom) {
        free(t.buf);
        return NULL;
    }
    *len = t.len;
    return t.buf;
}

/* ---- HTTP ----------------------------------------------------------------------------------- */

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *data_size, void **state)
{
    gw_metrics *m = cls;
    (void)version, (void)data, (void)data_size, (void)state;
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", strdup("GET only\n"), 9);
    gw_metrics_view *v = malloc(sizeof *v);
    if (!v)
        return MHD_NO;
    pthread_mutex_lock(&m->mu);
    *v = m->v;
    pthread_mutex_unlock(&m->mu);
    enum MHD_Result ret;
    if (!strcmp(url, "/metrics")) {
        size_t len = 0;
        char *body = gw_metrics_render(v, &len);
        ret = body ? answer(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len) : MHD_NO;
    } else if (!strcmp(url, "/healthz")) {
        int ok = !v->draining;
        for (int s = WIRE_STAGE_TOKENIZER; s < WIRE_STAGE_COUNT_; s++)
            ok &= v->workers_alive[s] > 0;
        char *body = malloc(160);
        int n = body ? snprintf(body, 160, "%s: tokenizer %ld, encoder %ld, pooler %ld live worker(s)%s\n",
                                ok ? "serving" : "degraded", v->workers_alive[WIRE_STAGE_TOKENIZER],
                                v->workers_alive[WIRE_STAGE_ENCODER], v->workers_alive[WIRE_STAGE_POOLER],
                                v->draining ? ", draining" : "") : 0;
        ret = body ? answer(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", body, (size_t)n)
                   : MHD_NO;
    } else {
        ret = answer(c, MHD_HTTP_NOT_FOUND, "text/plain", strdup("not found: /metrics or /healthz\n"), 32);
    }
    free(v);
    return ret;
}

int gw_metrics_default_addr(const char *ep, char *out, size_t cap)
{
    out[0] = 0;
    if (strncmp(ep, "tcp://", 6))
        return 0;                           /* ipc: no port to derive from */
    const char *colon = strrchr(ep, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon < ep + 6 || *end || port <= 0 || port + 11 > 65535)
        return -1;
    snprintf(out, cap, "%.*s:%ld", (int)(colon - ep - 6), ep + 6, port + 11);
    return 0;
}

gw_metrics *gw_metrics_new(const char *addr, zb_err *err)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof host || !colon[1]) {
        zb_fail(err, ZB_EINVAL, "--metrics '%s': expected HOST:PORT (or off)", addr);
        return NULL;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {     /* [::1] */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE}, *ai = NULL;
    int any = !strcmp(host, "*");
    int rc = getaddrinfo(any ? NULL : host, colon + 1, &hints, &ai);
    if (rc || !ai) {
        zb_fail(err, ZB_EINVAL, "--metrics '%s': %s", addr, rc ? gai_strerror(rc) : "no address");
        return NULL;
    }
    gw_metrics *m = calloc(1, sizeof *m);
    if (!m) {
        freeaddrinfo(ai);
        zb_fail(err, ZB_ENOMEM, "metrics: out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    m->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)10, MHD_OPTION_END);
    int e = errno;
    freeaddrinfo(ai);
    if (!m->d) {
        zb_fail(err, ZB_EIO, "--metrics %s: cannot serve there (%s); --metrics HOST:PORT moves it, "
                "--metrics off turns it off", addr, strerror(e));
        gw_metrics_destroy(&m);
        return NULL;
    }
    return m;
}

void gw_metrics_publish(gw_metrics *m, const gw_metrics_view *v)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->v = *v;
    pthread_mutex_unlock(&m->mu);
}

void gw_metrics_destroy(gw_metrics **mp)
{
    gw_metrics *m = mp ? *mp : NULL;
    if (!m)
        return;
    if (m->d)
        MHD_stop_daemon(m->d);
    pthread_mutex_destroy(&m->mu);
    free(m);
    *mp = NULL;
}
