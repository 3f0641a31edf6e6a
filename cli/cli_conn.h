/* cli_conn: a remote command's connection to a pipeline's gateway (docs/PROTOCOL.md: a DEALER
 * socket, one request and its reply at a time).
 *
 * Opening waits for the ZeroMQ handshake (zmq_socket_monitor), at most connect_ms: a gateway that
 * is not there is reported within that time, naming the endpoint and how to start or point at a
 * pipeline, instead of a silent wait for the reply timeout. A gateway that is there but slow still
 * gets the whole timeout_ms per reply. */
#ifndef CLI_CONN_H
#define CLI_CONN_H

#include <msgpack.h>
#include <zmq.h>

#define CLI_CONNECT_MS 1000     /* default --connect-timeout-ms */

typedef struct {
    void *ctx, *sock;
    const char *endpoint;
    int timeout_ms;             /* per reply */
    long next_id;               /* request ids: a counter */
} cli_conn;

/* 0 connected, or -1 after saying on stderr why not (cli_conn_close it either way). */
int cli_conn_open(cli_conn *c, const char *endpoint, int timeout_ms, int connect_ms);
void cli_conn_close(cli_conn *c);

/* Send one request (id: ours) and wait for the reply with the same id. Returns 0 with *reply
 * unpacked (msg holds its bytes: zmq_msg_close it), or -1 after printing why nothing usable came. */
int cli_conn_call(cli_conn *c, msgpack_sbuffer *req, long id, msgpack_unpacked *reply, zmq_msg_t *msg);

#endif
