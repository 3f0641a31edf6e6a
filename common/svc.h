/* svc: the plumbing every zembed process shares: logging with stage name and pid, SIGINT/SIGTERM,
 * ZeroMQ sockets with the options the protocol promises (docs/PROTOCOL.md §4), endpoints derived
 * from the gateway's, worker flags, and the two-frame result messages workers send to the sink. */
#ifndef SVC_H
#define SVC_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include <zmq.h>
#include "wire.h"
#include "zb_err.h"

#define SVC_DEFAULT_ENDPOINT "tcp://127.0.0.1:5555"
#define SVC_LINGER_MS 200
/* Tokens per stage job a worker takes by default (--max-job-tokens): twice what the gateway's default
 * limits can produce (256 texts x 512 tokens), so a forged job cannot make a worker allocate hidden
 * states for millions of tokens. */
#define SVC_MAX_JOB_TOKENS (1 << 18)

/* Port offsets from the client endpoint's port (PROTOCOL.md §1). */
enum {
    SVC_OFF_CLIENT = 0, SVC_OFF_INGEST = 1, SVC_OFF_RESULTS = 2, SVC_OFF_CONTROL = 3, SVC_OFF_TOK = 5,
    SVC_OFF_ENC_IN = 6, SVC_OFF_ENC = 7, SVC_OFF_POOL_IN = 8, SVC_OFF_POOL = 9, SVC_OFF_SINK = 10,
};

/* Logs: one logfmt record per line on stderr (one write per line), never the text of a request:
 *   ts=2026-12-01T15:34:19.123Z stage=gateway pid=123 msg="free text"        (svc_log)
 *   ts=... stage=gateway pid=123 event=reply id=17 op=embed ok=0 code=timeout  (svc_event)
 * svc_event's fmt writes key=value pairs (values quoted with svc_log_quote where they may hold
 * spaces). */
void svc_log_init(const char *stage);
void svc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void svc_event(const char *event, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s[0, len) as a quoted logfmt value into out (cap bytes, NUL-terminated): its length. */
size_t svc_log_quote(char *out, size_t cap, const char *s, size_t len);

/* What this process counts, in one struct (logged now; a metrics page can read the same fields). */
typedef struct {
    long refused_answered;  /* stage frames refused (invalid, forged) and answered with an error */
    long refused_dropped;   /* refused frames without a job number: dropped */
    long expired_dropped;   /* jobs dropped before any work: their deadline had passed */
    long expired_abandoned; /* jobs given up part-way at their deadline (the encoder's heavy lane) */
} svc_counters;
/* A copy of the counters, taken atomically field by field. */
svc_counters svc_counters_get(void);

/* A stage frame was refused (err_msg says why): count it, and log it at most once a second with the
 * number refused since, so a flood of forged frames cannot flood the log. j == 0: it was dropped;
 * otherwise the caller answered it with an error. */
void svc_refused(uint64_t j, const char *err_msg);

/* Job j's deadline passed (wire_expired) before this worker started it (started 0: dropped) or
 * while it was part-way (1: abandoned). Nobody waits for it any more: the gateway answers its
 * request `timeout` at the gateway's own deadline, which is never later. Counts it and logs at most
 * once a second with the numbers since. Workers call it through svc_hb_expired, which also tells
 * the gateway (the metrics page). */
void svc_expired(uint64_t j, int started);

/* SIGINT/SIGTERM set a flag (blocking waits poll it: svc_wait_in); a SIGINT ignored on entry stays
 * ignored; SIGPIPE is ignored. */
void svc_signals(void);
int  svc_stopping(void);

/* Largest frame a socket facing another process takes by default (ZMQ_MAXMSGSIZE; a larger one
 * closes that connection): stage jobs and worker replies, up to token_embeddings of 256 x 512 tokens
 * of a 384-wide model with room to spare. Sockets that never receive messages (PUSH) take
 * SVC_MAX_CONTROL_MSG, so nothing can park big frames in them. */
#define SVC_MAX_STAGE_MSG   ((int64_t)256 << 20)
#define SVC_MAX_CONTROL_MSG ((int64_t)4096)

typedef struct {
    int sndhwm, rcvhwm;     /* 0: ZeroMQ's default */
    int immediate;          /* ZMQ_IMMEDIATE (round-robin only to completed connections) */
    int64_t max_msg;        /* ZMQ_MAXMSGSIZE; 0: the default above, -1: unlimited */
    int peers;              /* bound sockets: SVC_PEERS_WORKERS (0) or _CLIENTS, the ZAP domain (svc_sec.h) */
    const char *monitor;    /* an inproc:// address: zmq_socket_monitor (all events) is set up there
                             * before the bind/connect, so no connection event is missed */
} svc_sockopt;

/* A socket with a finite linger, bound or connected to endpoint. NULL + err on failure. Every
 * socket of zembed that faces another process is made here (one place to add transport security
 * and size caps). */
void *svc_socket(void *ctx, int type, const char *endpoint, int bind, const svc_sockopt *o,
                 zb_err *err);

/* "tcp://HOST:PORT" -> "tcp://HOST':PORT+offset" (HOST' = host when non-NULL);
 * "ipc://PATH" -> "ipc://PATH.offset" (offset 0: PATH itself). */
int svc_endpoint(char *out, size_t cap, const char *base, int offset, const char *host, zb_err *err);

/* Wait for input: 1 readable, 0 timeout or stop requested, -1 context terminated. */
int svc_wait_in(void *sock, int timeout_ms);

/* A worker's receive loop: each message from in goes to handle(ud, msg) until a stop signal or
 * the context ends. Returns how many messages were handled. */
long svc_serve(void *in, void (*handle)(void *ud, zmq_msg_t *msg), void *ud);

/* "pid@host": names this worker in replies (info) and logs. */
void svc_whoami(char *buf, size_t cap);

/* Send sb's bytes as one frame without copying (the frame takes over the buffer; sb is left empty).
 * flags: ZMQ_SNDMORE / ZMQ_DONTWAIT. Returns 0 or -1 (errno as zmq_send). */
int svc_send_sbuf(void *sock, msgpack_sbuffer *sb, int flags);

/* The result message to the gateway's sink: [job number, 8 bytes LE][reply]. */
int svc_send_result(void *sink, uint64_t j, msgpack_sbuffer *reply);
int svc_send_error(void *sink, uint64_t j, const wire_id *id, int op, int code, const char *msg);


/* Flags every worker takes. */
typedef struct {
    const char *model, *gateway, *in, *out, *sink, *control;
    int threads;            /* -1 when not given */
    char in_buf[256], out_buf[256], sink_buf[256], control_buf[256];
} svc_worker_args;

/* A stage's own flag (each takes a value): an int in [lo, hi] into *val; or, with str, the string
 * into *str; or, with choices (NULL-terminated names), the index of the name given into *val. */
typedef struct {
    const char *name;       /* "--max-batch-tokens" */
    int *val;
    int lo, hi;
    const char **str;
    const char *const *choices;
} svc_int_flag;

/* Parses --model --gateway --in --out --sink --control --threads plus the stage's own flags (NULL-name
 * terminated, at most 16) with zb_opt (common/zb_opt.h: getopt_long, --help, --version, "did you
 * mean"); fills derived endpoints. in_off/out_off: port offsets of this stage (out_off < 0: no --out).
 * Returns 0 to run, 1 after --help / --version (printed), 2 on a usage error (printed). */
int svc_worker_args_parse(int argc, char **argv, const char *usage, int in_off, int out_off,
                          svc_worker_args *a, const svc_int_flag *extra);

/* Run fn(arg) on n threads and join them (n == 1: in this thread). */
int svc_run_threads(int n, void *(*fn)(void *), void *arg);

#endif
