/* gw_sec: ZAP handler and handshake monitor of the gateway (gw_sec.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "gw.h"
#include "gw_sec.h"
#include "svc.h"
#include "svc_sec.h"
#include "zb_curve.h"

#define MAX_WATCH 24            /* bound sockets watched (the gateway has about a dozen) */
#define ZAP_FRAMES 8            /* a CURVE request has 7 after the delimiter REP strips */

struct gw_sec {
    void *ctx, *zap;
    void *mon[MAX_WATCH];       /* PAIR ends of zmq_socket_monitor */
    char mon_ep[MAX_WATCH][64]; /* the watched socket's endpoint, for logs */
    int n_mon;
    zb_curve_allow *allow[2];   /* by SVC_PEERS_* */
    char allow_file[2][256];
    gw_sec_counts counts;       /* written by the thread, read atomically by anyone */
    pthread_t th;
    int started;
    long unlogged;              /* refusals since the last log line */
    int64_t last_log_ms;
    char latest[320];           /* the latest refusal, for the log line */
};

static void bump(long *c)
{
    __atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

gw_sec_counts gw_sec_get(const gw_sec *s)
{
    gw_sec_counts c = {0};
    if (!s)
        return c;
    for (int d = 0; d < 2; d++) {
        c.allowed[d] = __atomic_load_n(&s->counts.allowed[d], __ATOMIC_RELAXED);
        c.refused_key[d] = __atomic_load_n(&s->counts.refused_key[d], __ATOMIC_RELAXED);
    }
    c.refused_handshake = __atomic_load_n(&s->counts.refused_handshake, __ATOMIC_RELAXED);
    return c;
}

/* svc_sec's bind hook: watch the handshakes of a socket about to be bound. */
static void watch(void *ud, void *sock, const char *endpoint, int peers)
{
    gw_sec *s = ud;
    (void)peers;
    if (s->n_mon == MAX_WATCH)
        return;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://zembed-sec-mon-%d", s->n_mon);
    if (zmq_socket_monitor(sock, ep, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL))
        return;
    void *pair = zmq_socket(s->ctx, ZMQ_PAIR);
    if (!pair || zmq_connect(pair, ep)) {
        if (pair)
            zmq_close(pair);
        return;
    }
    snprintf(s->mon_ep[s->n_mon], sizeof s->mon_ep[0], "%s", endpoint);
    s->mon[s->n_mon++] = pair;
}

static void refused(gw_sec *s, const char *fmt, const char *a, const char *b, const char *c)
{
    snprintf(s->latest, sizeof s->latest, fmt, a, b, c);
    s->unlogged++;
}

/* At most one line a second, however many peers are refused. */
static void flush_log(gw_sec *s, int64_t now)
{
    if (!s->unlogged || now - s->last_log_ms < 1000)
        return;
    gw_sec_counts c = gw_sec_get(s);
    svc_log("CURVE: refused %ld connection(s) since the last report (%ld unknown client keys, %ld "
            "unknown worker keys, %ld failed handshakes in all); latest: %s", s->unlogged,
            c.refused_key[SVC_PEERS_CLIENTS], c.refused_key[SVC_PEERS_WORKERS], c.refused_handshake,
            s->latest);
    s->unlogged = 0;
    s->last_log_ms = now;
}

static void on_zap(gw_sec *s)
{
    zmq_msg_t f[ZAP_FRAMES];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < ZAP_FRAMES) {
            zmq_msg_init(&f[n]);
            zmq_msg_move(&f[n++], &m);
        }
        zmq_msg_close(&m);
    }
    if (n < 2) {                /* not even a request id to answer to: libzmq never sends this */
        for (int k = 0; k < n; k++)
            zmq_msg_close(&f[k]);
        return;
    }
    char domain[32] = "", addr[64] = "", mech[16] = "", key_z85[ZB_CURVE_Z85_LEN + 1] = "?";
#define FRAME_STR(i, buf) \
    if (n > (i)) snprintf(buf, sizeof buf, "%.*s", (int)zmq_msg_size(&f[i]), (const char *)zmq_msg_data(&f[i]))
    FRAME_STR(2, domain);
    FRAME_STR(3, addr);
    FRAME_STR(5, mech);
    int side = !strcmp(domain, svc_sec_domain[SVC_PEERS_CLIENTS]) ? SVC_PEERS_CLIENTS
             : !strcmp(domain, svc_sec_domain[SVC_PEERS_WORKERS]) ? SVC_PEERS_WORKERS : -1;
    int ok = 0;
    if (n == 7 && side >= 0 && !strcmp(mech, "CURVE") && zmq_msg_size(&f[6]) == 32) {
        zmq_z85_encode(key_z85, zmq_msg_data(&f[6]), 32);
        ok = zb_curve_allow_has(s->allow[side], zmq_msg_data(&f[6]));
    }
    if (ok) {
        bump(&s->counts.allowed[side]);
    } else if (side >= 0) {
        bump(&s->counts.refused_key[side]);
        refused(s, "%s key %s from %s is not on the allow-list", domain, key_z85, addr);
    } else {
        bump(&s->counts.refused_handshake);
        refused(s, "a %s handshake from %s in domain '%s' (not ours)", mech, addr, domain);
    }
    /* reply: version, request id, status code, status text, user id, metadata */
    const char *status = ok ? "200" : "400", *text = ok ? "OK" : "no access";
    const char *parts[6] = {"1.0", NULL, status, text, ok ? key_z85 : "", ""};
    for (int k = 0; k < 6; k++) {
        int flags = k < 5 ? ZMQ_SNDMORE : 0;
        if (k == 1)
            zmq_send(s->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), flags);
        else
            zmq_send(s->zap, parts[k], strlen(parts[k]), flags);
    }
    for (int k = 0; k < n; k++)
        zmq_msg_close(&f[k]);
}

static void on_monitor(gw_sec *s, int i)
{
    zmq_msg_t ev, addr;
    zmq_msg_init(&ev);
    zmq_msg_init(&addr);
    if (zmq_msg_recv(&ev, s->mon[i], ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&ev) &&
        zmq_msg_recv(&addr, s->mon[i], ZMQ_DONTWAIT) >= 0 && zmq_msg_size(&ev) >= 6) {
        bump(&s->counts.refused_handshake);
        const unsigned char *d = zmq_msg_data(&ev);
        uint32_t value = (uint32_t)d[2] | (uint32_t)d[3] << 8 | (uint32_t)d[4] << 16 | (uint32_t)d[5] << 24;
        refused(s, "a failed handshake on %s (%s%s)", s->mon_ep[i],
                value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH ? "a plaintext peer" :
                value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC ? "a peer with the wrong server key" :
                "a broken handshake", "");
    }
    zmq_msg_close(&ev);
    zmq_msg_close(&addr);
}

static void *run(void *arg)
{
    gw_sec *s = arg;
    zmq_pollitem_t it[1 + MAX_WATCH];
    for (;;) {
        it[0] = (zmq_pollitem_t){s->zap, 0, ZMQ_POLLIN, 0};
        for (int i = 0; i < s->n_mon; i++)
            it[1 + i] = (zmq_pollitem_t){s->mon[i], 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(it, 1 + s->n_mon, 1000);
        if (rc < 0 && errno == ETERM)
            break;
        if (rc > 0) {
            if (it[0].revents & ZMQ_POLLIN)
                on_zap(s);
            for (int i = 0; i < s->n_mon; i++)
                if (it[1 + i].revents & ZMQ_POLLIN)
                    on_monitor(s, i);
        }
        flush_log(s, gw_now_ms());
    }
    flush_log(s, INT64_MAX);
    zmq_close(s->zap);
    for (int i = 0; i < s->n_mon; i++)
        zmq_close(s->mon[i]);
    s->zap = NULL;
    s->n_mon = 0;
    return NULL;
}

gw_sec *gw_sec_new(void *ctx, const char *key_file, const char *allow_clients, const char *allow_workers,
                   zb_err *err)
{
    gw_sec *s = calloc(1, sizeof *s);
    if (!s) {
        zb_fail(err, ZB_ENOMEM, "gw_sec: out of memory");
        return NULL;
    }
    s->ctx = ctx;
    if (!allow_clients || !allow_workers) {
        zb_fail(err, ZB_EINVAL, "CURVE needs both allow-lists (--allow-clients FILE, --allow-workers FILE)");
        goto fail;
    }
    const char *files[2] = {[SVC_PEERS_WORKERS] = allow_workers, [SVC_PEERS_CLIENTS] = allow_clients};
    for (int d = 0; d < 2; d++) {
        snprintf(s->allow_file[d], sizeof s->allow_file[d], "%s", files[d]);
        if (!(s->allow[d] = zb_curve_allow_load(files[d], err)))
            goto fail;
    }
    if (zb_curve_allow_disjoint(s->allow[SVC_PEERS_CLIENTS], s->allow[SVC_PEERS_WORKERS], err) ||
        svc_sec_server(key_file, err))
        goto fail;
    s->zap = zmq_socket(ctx, ZMQ_REP);
    if (!s->zap || zmq_bind(s->zap, "inproc://zeromq.zap.01")) {
        zb_fail(err, ZB_EIO, "binding the ZAP handler at inproc://zeromq.zap.01: %s", zmq_strerror(errno));
        goto fail;
    }
    int linger = 0;
    zmq_setsockopt(s->zap, ZMQ_LINGER, &linger, sizeof linger);
    svc_sec_on_bind(watch, s);
    return s;
fail:
    gw_sec_destroy(&s);
    return NULL;
}

int gw_sec_start(gw_sec *s, zb_err *err)
{
    if (pthread_create(&s->th, NULL, run, s))
        return zb_fail(err, ZB_ENOMEM, "gw_sec: cannot start the ZAP thread");
    s->started = 1;
    svc_log("CURVE on: %d client key(s) from %s, %d worker key(s) from %s; plaintext refused",
            zb_curve_allow_count(s->allow[SVC_PEERS_CLIENTS]), s->allow_file[SVC_PEERS_CLIENTS],
            zb_curve_allow_count(s->allow[SVC_PEERS_WORKERS]), s->allow_file[SVC_PEERS_WORKERS]);
    return ZB_OK;
}

void gw_sec_destroy(gw_sec **sp)
{
    gw_sec *s = sp ? *sp : NULL;
    if (!s)
        return;
    if (s->started) {
        pthread_join(s->th, NULL);      /* returns once the context is shut down */
    } else {
        if (s->zap)
            zmq_close(s->zap);
        for (int i = 0; i < s->n_mon; i++)
            zmq_close(s->mon[i]);
    }
    svc_sec_on_bind(NULL, NULL);
    for (int d = 0; d < 2; d++)
        zb_curve_allow_destroy(&s->allow[d]);
    free(s);
    *sp = NULL;
}
