/* svc_sec: transport security of this process's sockets, applied by svc_socket to every socket
 * that faces another process (docs/PROTOCOL.md §7).
 *
 * - CURVE. The gateway is the one CURVE server: every socket it binds gets its keypair and a ZAP
 *   domain, "clients" (client ROUTER, ingest, results) or "workers" (stage ports, sink, control),
 *   so its ZAP handler (gateway/gw_sec.c) checks each side against its own allow-list. Workers
 *   and clients are CURVE clients of the gateway's public key with a keypair of their own.
 *   Set once at start, before any socket is made; off by default (plaintext, as before).
 * - ipc. A socket bound at ipc://PATH is chmod'ed to the ipc mode (0600 by default; 0660 lets a
 *   group in) right after bind; put PATH in a 0700 (or 0750) directory so nobody can even reach
 *   it during that instant. */
#ifndef SVC_SEC_H
#define SVC_SEC_H

#include "zb_err.h"

/* Which side a bound socket faces: its ZAP domain. */
enum { SVC_PEERS_WORKERS = 0, SVC_PEERS_CLIENTS = 1 };
extern const char *const svc_sec_domain[2];     /* "workers", "clients" */

/* Gateway: CURVE server with the secret key file (NAME.key). */
int svc_sec_server(const char *key_file, zb_err *err);
/* Workers and clients: CURVE client of the server's public key file, with our secret key file. */
int svc_sec_client(const char *server_key_file, const char *key_file, zb_err *err);
/* svc_sec_client from $ZEMBED_SERVER_KEY and $ZEMBED_CURVE_KEY when set (both or neither).
 * 0 also when neither is set (plaintext). */
int svc_sec_client_env(zb_err *err);
/* 1 when sockets get CURVE. */
int svc_sec_curve(void);

/* Called for every socket svc_socket binds (before bind), so the gateway can watch its handshakes. */
void svc_sec_on_bind(void (*fn)(void *ud, void *sock, const char *endpoint, int peers), void *ud);

/* Mode of ipc socket files this process binds (0600 default). */
void svc_sec_ipc_mode(int mode);

/* For svc_socket: the security options of a new socket (before bind/connect) and, after a bind,
 * the ipc file mode. */
int svc_sec_apply(void *sock, const char *endpoint, int bind, int peers, zb_err *err);
int svc_sec_after_bind(void *sock, const char *endpoint, zb_err *err);

#endif
