/* gw_sec: the gateway's CURVE authentication (docs/PROTOCOL.md §7).
 *
 * A ZAP handler (RFC 27, as libzmq 4.3.4 speaks it) bound at inproc://zeromq.zap.01 in the
 * gateway's context answers every CURVE handshake on its sockets: domain "clients" is checked
 * against the clients' allow-list, domain "workers" against the workers' (svc_sec.h sets the
 * domain of each bound socket), so a client key cannot connect as a worker. A socket monitor on
 * each bound socket counts the handshakes that never reach ZAP (plaintext peers, wrong server key).
 * Refusals are counted and logged at most once a second. One thread does both. */
#ifndef GW_SEC_H
#define GW_SEC_H

#include "zb_err.h"

typedef struct gw_sec gw_sec;

typedef struct {
    long allowed[2];            /* by svc_sec domain: [SVC_PEERS_WORKERS], [SVC_PEERS_CLIENTS] */
    long refused_key[2];        /* ZAP: key not on that side's allow-list */
    long refused_handshake;     /* plaintext peer, wrong server key, broken handshake */
} gw_sec_counts;

/* Loads the server key and both allow-lists (refused when a key is on both), binds the ZAP
 * handler in ctx and makes svc_socket watch every socket it binds. Call before binding anything. */
gw_sec *gw_sec_new(void *ctx, const char *key_file, const char *allow_clients, const char *allow_workers,
                   zb_err *err);
/* Start answering (after every socket is bound). */
int  gw_sec_start(gw_sec *s, zb_err *err);
/* Counts so far (atomic per field; callable from any thread). */
gw_sec_counts gw_sec_get(const gw_sec *s);
/* Stops the thread (the context must be shut down first: zmq_ctx_shutdown) and frees. */
void gw_sec_destroy(gw_sec **s);

#endif
