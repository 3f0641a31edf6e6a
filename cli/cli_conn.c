#include "cli_conn.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "svc.h"
#include "svc_sec.h"
#include "wire.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits on the socket monitor for the handshake with the gateway: 0 done, -1 not within
 * connect_ms (said why on stderr). */
static int wait_handshake(cli_conn *c, void *mon, int connect_ms)
{
    int64_t deadline = now_ms() + connect_ms;
    int refused = 0, tcp_up = 0, hs_failed = 0, auth_failed = 0;
    for (;;) {
        int64_t left = deadline - now_ms();
        zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
        if (left <= 0 || zmq_poll(&it, 1, (long)left) <= 0)
            break;
        /* an event: [u16 event, u32 value][endpoint] */
        uint16_t ev = 0;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, mon, 0) < 0)
            break;
        if (zmq_msg_size(&m) >= 6)
            memcpy(&ev, zmq_msg_data(&m), sizeof ev);
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        while (more) {
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, mon, 0) < 0)
                break;
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            return 0;
        refused |= ev == ZMQ_EVENT_CONNECT_RETRIED;     /* the connect failed; ZeroMQ retries */
        tcp_up |= ev == ZMQ_EVENT_CONNECTED;
        auth_failed |= ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
        hs_failed |= !!(ev & (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                              ZMQ_EVENT_HANDSHAKE_FAILED_AUTH));
    }
    if (auth_failed)        /* CURVE: the gateway's ZAP handler said no (docs/PROTOCOL.md §7) */
        fprintf(stderr, "zembed: the gateway at %s refused our CURVE key (%s): its --allow-clients "
                "list must hold our public key\n", c->endpoint, getenv("ZEMBED_CURVE_KEY"));
    else if (hs_failed && svc_sec_curve())
        fprintf(stderr, "zembed: the CURVE handshake with %s failed: is $ZEMBED_SERVER_KEY the gateway's "
                "public key, and does the gateway run with --curve-key?\n", c->endpoint);
    else if (hs_failed || tcp_up)
        fprintf(stderr, "zembed: something listens at %s but it is not a zembed gateway (no ZeroMQ "
                "handshake within %d ms); check the port, or --connect-timeout-ms waits longer (a gateway "
                "with CURVE on needs ZEMBED_SERVER_KEY and ZEMBED_CURVE_KEY)\n",
                c->endpoint, connect_ms);
    else
        fprintf(stderr, "zembed: no gateway at %s (%s within %d ms).\n"
                "  Start a pipeline: `make run`, or `deploy/zembed-up --model DIR` (--endpoint E to choose\n"
                "  the port); or point at a running one: --endpoint tcp://HOST:PORT or\n"
                "  ZEMBED_ENDPOINT=tcp://HOST:PORT. --connect-timeout-ms waits longer.\n",
                c->endpoint, refused ? "connection refused: nothing listens there" : "no answer",
                connect_ms);
    return -1;
}

int cli_conn_open(cli_conn *c, const char *endpoint, int timeout_ms, int connect_ms)
{
    static int serial;
    char mon_addr[64];
    snprintf(mon_addr, sizeof mon_addr, "inproc://cli-conn-monitor-%d", serial++);
    zb_err err;
    c->ctx = zmq_ctx_new();
    c->endpoint = endpoint;
    c->timeout_ms = timeout_ms;
    /* the monitor is attached before the connect, so the handshake event cannot slip past */
    svc_sockopt o = {.monitor = mon_addr};
    if (svc_sec_client_env(&err)) {     /* CURVE: $ZEMBED_SERVER_KEY + $ZEMBED_CURVE_KEY */
        fprintf(stderr, "zembed: %s\n", err.msg);
        return -1;
    }
    c->sock = svc_socket(c->ctx, ZMQ_DEALER, endpoint, 0, &o, &err);
    if (!c->sock) {
        fprintf(stderr, "zembed: %s\n", err.msg);
        return -1;
    }
    void *mon = zmq_socket(c->ctx, ZMQ_PAIR);
    int rc = -1;
    if (!mon || zmq_connect(mon, mon_addr) != 0)
        fprintf(stderr, "zembed: monitoring %s: %s\n", endpoint, zmq_strerror(errno));
    else
        rc = wait_handshake(c, mon, connect_ms);
    zmq_socket_monitor(c->sock, NULL, 0);      /* stop the events */
    if (mon) {
        int zero = 0;
        zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(mon);
    }
    return rc;
}

void cli_conn_close(cli_conn *c)
{
    if (c->sock)
        zmq_close(c->sock);
    c->sock = NULL;
    if (c->ctx)
        zmq_ctx_term(c->ctx);
    c->ctx = NULL;
}

int cli_conn_call(cli_conn *c, msgpack_sbuffer *req, long id, msgpack_unpacked *reply, zmq_msg_t *msg)
{
    if (zmq_send(c->sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(c->sock, req->data, req->size, 0) < 0) {
        fprintf(stderr, "zembed: sending to %s: %s\n", c->endpoint, zmq_strerror(errno));
        return -1;
    }
    int64_t deadline = now_ms() + c->timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
        if (left <= 0 || zmq_poll(&it, 1, (long)left) <= 0) {
            fprintf(stderr, "zembed: no reply from %s within %d ms: the gateway is there; are its "
                    "workers running? (`make run` or deploy/zembed-up starts them; --timeout-ms waits "
                    "longer)\n", c->endpoint, c->timeout_ms);
            return -1;
        }
        /* [empty delimiter][body]: read frames up to the last one */
        zmq_msg_init(msg);
        int more = 1;
        while (more) {
            zmq_msg_close(msg);
            zmq_msg_init(msg);
            if (zmq_msg_recv(msg, c->sock, 0) < 0)
                return -1;
            more = zmq_msg_more(msg);
        }
        zb_err err;
        size_t off = 0;
        if (wire_check(zmq_msg_data(msg), zmq_msg_size(msg), WIRE_MAX_DEPTH, &err) ||
            msgpack_unpack_next(reply, zmq_msg_data(msg), zmq_msg_size(msg), &off) !=
                MSGPACK_UNPACK_SUCCESS ||
            reply->data.type != MSGPACK_OBJECT_MAP) {
            fprintf(stderr, "zembed: %s sent something that is not a protocol reply\n", c->endpoint);
            zmq_msg_close(msg);
            return -1;
        }
        const msgpack_object *rid = wire_map_get(&reply->data, "id");
        if (rid && rid->type == MSGPACK_OBJECT_POSITIVE_INTEGER && (long)rid->via.u64 == id)
            return 0;
        zmq_msg_close(msg);     /* a late reply to an earlier request: not ours any more */
    }
}

