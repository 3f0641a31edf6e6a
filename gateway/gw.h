/* gw: the gateway, front door of the pipeline (docs/PROTOCOL.md §1, §4).
 *
 * gw_table: the bounded table of requests in flight. Each has a job number j (never 0), a deadline,
 * the way back to its client (ROUTER envelope frames, or the results socket for ingested requests),
 * the {j, req} job (waiting in a FIFO until a tokenizer takes it, kept until answered so that work
 * lost with a worker can be dispatched again) and the stage where its work is. */
#ifndef GW_H
#define GW_H

#include <stdint.h>
#include <zmq.h>
#include <msgpack.h>
#include "gw_metrics.h"
#include "svc_hb.h"
#include "wire.h"

#define GW_MAX_ENV 4            /* ROUTER envelope frames we keep: identity (+ delimiter) */

typedef struct {
    uint64_t j;                 /* 0: free */
    int64_t deadline_ms;
    int from_ingest;
    int op;                     /* wire_op, for error replies */
    int dispatched;             /* sent to the tokenizers (this attempt) */
    wire_stage stage;           /* where the work is: the stage whose input it was last sent to */
    int64_t stage_ms;           /* since when */
    int attempts;               /* dispatches so far */
    int64_t start_ms;           /* accepted at */
    uint64_t client;            /* who sent it: a hash of its ROUTER identity; 1 for the ingest socket */
    int crashes;                /* workers that died (or got stuck) while holding it */
    wire_id id;
    int n_env;
    zmq_msg_t env[GW_MAX_ENV];
    msgpack_sbuffer job;        /* {j, req}: kept until answered, to dispatch it again */
} gw_slot;

typedef struct gw_table gw_table;

gw_table *gw_table_new(int cap);
void      gw_table_free(gw_table *t);
int       gw_table_count(const gw_table *t);
int       gw_table_waiting(const gw_table *t);   /* not yet taken by a tokenizer */

/* A free slot with a fresh job number, queued as waiting for a tokenizer; NULL when cap requests
 * are in flight. */
gw_slot  *gw_table_add(gw_table *t);
gw_slot  *gw_table_find(gw_table *t, uint64_t j);
void      gw_table_remove(gw_table *t, gw_slot *s);   /* closes envelope frames, frees the job */

/* The FIFO of jobs not yet sent to a tokenizer. */
gw_slot  *gw_table_next_waiting(gw_table *t);         /* oldest still waiting, or NULL */
void      gw_table_dispatched(gw_table *t, gw_slot *s);
/* Queue a dispatched job again (its work was lost with a worker); it keeps its job number. */
void      gw_table_requeue(gw_table *t, gw_slot *s);
/* Slot i of 0..cap-1 (free slots have j == 0), to scan every request in flight. */
int       gw_table_cap(const gw_table *t);
gw_slot  *gw_table_slot(gw_table *t, int i);
size_t    gw_table_bytes(const gw_table *t);          /* request bytes held by the table */
int       gw_table_client_count(const gw_table *t, uint64_t client);    /* its requests in flight */
void      gw_table_job_sized(gw_table *t, gw_slot *s);  /* s->job was just filled: count its bytes */

/* The first slot whose deadline is <= now, or NULL. */
gw_slot  *gw_table_expired(gw_table *t, int64_t now_ms);

int64_t gw_now_ms(void);

/* gw_workers: the live workers, from their heartbeats (common/svc_hb.h). */
typedef struct {
    char name[128];             /* pid@host#start */
    wire_stage stage;
    int64_t last_ms;            /* last heartbeat */
    int64_t busy_ms;            /* how long it has held its oldest job without progress */
    uint64_t *held;             /* job numbers it holds */
    int n_held, cap_held;
    int stuck;                  /* reported stuck; not counted alive until it makes progress */
} gw_worker;
typedef struct gw_workers gw_workers;

gw_workers *gw_workers_new(void);
void        gw_workers_free(gw_workers **ws);
/* Record a heartbeat: 1 when the worker is new, 0 known, -1 out of memory or too many workers. */
int         gw_workers_beat(gw_workers *ws, const svc_hb_msg *m, int64_t now);
/* Forget workers silent for more than dead_ms, and mark stuck (not alive, once per episode) those
 * holding work without progress for more than stuck_ms (0: never), calling lost(ud, w, stuck) for
 * each (a dead w is gone afterwards). */
int         gw_workers_reap(gw_workers *ws, int64_t now, int dead_ms, int stuck_ms,
                            void (*lost)(void *ud, const gw_worker *w, int stuck), void *ud);
int         gw_workers_alive(const gw_workers *ws, wire_stage s);
/* Whether a live (not stuck) worker of stage s lists job j as held. */
int         gw_workers_holds(const gw_workers *ws, wire_stage s, uint64_t j);
int         gw_worker_holds(const gw_worker *w, uint64_t j);

/* gw_dedup: retries of one request id, from the client libraries (gw_dedup.c). Only string ids of
 * at least GW_DEDUP_MIN_ID bytes take part (unique by construction: a session prefix + a counter). */
#define GW_DEDUP_MIN_ID    16
#define GW_DEDUP_CAP       8192             /* answered ids remembered */
#define GW_DEDUP_BYTES     (64u << 20)      /* bytes of replies kept for them */
#define GW_DEDUP_MAX_REPLY (1u << 20)       /* larger replies are not kept: a retry runs again */
typedef struct gw_dedup gw_dedup;
gw_dedup *gw_dedup_new(int max_in_flight, int64_t ttl_ms);
void      gw_dedup_free(gw_dedup **d);
int       gw_dedup_eligible(const wire_id *id);
uint64_t  gw_dedup_in_flight(gw_dedup *d, const wire_id *id);       /* its job, or 0 */
/* 1 and the kept reply when id was answered within the ttl and its reply kept. */
int       gw_dedup_answered(gw_dedup *d, const wire_id *id, int64_t now, const void **reply, size_t *size);
void      gw_dedup_start(gw_dedup *d, const wire_id *id, uint64_t j);
void      gw_dedup_done(gw_dedup *d, const wire_id *id, uint64_t j, const void *reply, size_t size, int64_t now);
void      gw_dedup_forget(gw_dedup *d, const wire_id *id, uint64_t j);     /* failed: a retry runs */

/* ---- the gateway process (gateway_main.c, gw_reply.c, gw_stage.c) ------------------------- */

/* What the gateway counts, in one struct (logs and health now; a metrics page can read it). */
typedef struct {
    long answered;              /* replies sent (or queued for the results socket) */
    long failed;                /* of those, errors made by the gateway itself */
    long overloaded;            /* of those, overloaded */
    long undeliverable;         /* replies ZeroMQ could not take: the client is gone (ROUTER) */
    long redispatched;          /* jobs dispatched again after their worker died or got stuck */
    long duplicates;            /* late results of jobs already answered (or unknown): dropped */
    long poisoned;              /* requests failed because their work killed workers repeatedly */
    long workers_lost;          /* workers declared dead or stuck */
    long stage_dropped;         /* stage frames of jobs no longer in flight, dropped between stages */
    long retries;               /* retried ids: attached to the running request or answered again */
} gw_counters;

typedef struct {
    void *ctx, *router, *ingest, *results, *tok, *sink, *control;
    void *stage_in[2], *stage_out[2];   /* tokenizers -> encoders, encoders -> poolers */
    zmq_msg_t pend[2];                  /* a frame read from stage_in[b], not yet taken by stage_out */
    int has_pend[2];
    gw_table *table;
    gw_workers *workers;
    gw_dedup *dedup;
    wire_limits limits;
    int timeout_ms, max_in_flight, max_ingest, dead_ms, stuck_ms, max_crashes;
    int max_per_client;                 /* fair share: requests in flight of one client */
    int ingest_in_table;                /* ingested requests in the table (one client) */
    size_t max_bytes;                   /* request bytes in flight */
    int64_t started_ms;
    int draining;                       /* SIGTERM: answer what is in flight, take nothing new */
    int log_requests;                   /* an event line per reply, not only per failure */
    /* replies to ingested requests not yet taken by the results socket; ingest is read only while
     * ingest_pending (accepted ingested requests not yet handed to the results socket) is below
     * max_ingest, so producers are slowed down instead of replies being dropped */
    zmq_msg_t *rq;
    int rq_head, rq_len, rq_cap;
    int ingest_pending;
    double rate_per_ms;                 /* recent answers per ms (EWMA), for retry_after_ms */
    int64_t rate_ms;
    long rate_count;
    gw_counters c;
    gw_mstats m;                        /* replies by op and code, latencies, workers (gw_metrics.h) */
    gw_metrics *metrics;                /* the /metrics page, or NULL (--metrics off) */
    struct gw_sec *sec;                 /* CURVE's ZAP handler, or NULL */
    long n_timeout, n_unavailable;      /* not yet logged */
    int64_t last_log_ms;
} gw;

/* gw_reply.c: every reply leaves through here (exactly once per request). */
void gw_send_reply(gw *g, zmq_msg_t *env, int n_env, int from_ingest, msgpack_sbuffer *sb, zmq_msg_t *body);
void gw_reply_error(gw *g, zmq_msg_t *env, int n_env, int from_ingest, const wire_id *id, int op,
                    int code, const char *msg);
void gw_reply_overloaded(gw *g, zmq_msg_t *env, int n_env, int from_ingest, const wire_id *id, int op,
                         const char *msg);
void gw_fail_slot(gw *g, gw_slot *s, int code, const char *msg);
/* The event line of one answered request: id (never texts), op, outcome, attempts, latency. */
void gw_log_reply(const gw_slot *s, const char *outcome);
/* A request id as a logfmt value: the int, the quoted str (first 64 bytes), or - for none. */
void gw_id_str(const wire_id *id, char *out, size_t cap);
void gw_flush_results(gw *g);           /* hand queued ingest replies to the results socket */
int  gw_retry_after_ms(const gw *g);
void gw_reply_health(gw *g, zmq_msg_t *env, int n_env, int from_ingest, const wire_req *req);

/* gw_dedup.c: a request whose id is in flight or was answered recently is handled here (1): attached
 * to the running request (the reply goes to the newest sender) or answered from the kept reply. */
int      gw_dedup_retry(gw *g, zmq_msg_t *env, int n_env, int from_ingest, const wire_req *req);
/* Who sent a request (fair share): a hash of its ROUTER identity frame, never 0 or 1 (ingest). */
uint64_t gw_client_of(zmq_msg_t *env, int n_env);

/* gw_stage.c: stage boundaries, heartbeats, re-dispatch. */
void gw_dispatch(gw *g);                /* waiting jobs to the tokenizers while they take them */
void gw_stage_in(gw *g, int b);         /* a frame from stage_in[b]: note where its job is, pass it on */
void gw_stage_flush(gw *g, int b);      /* the pending frame of boundary b to stage_out[b] */
void gw_on_sink(gw *g);                 /* a result: to its client once, duplicates dropped */
void gw_on_control(gw *g);              /* a heartbeat */
void gw_reap(gw *g, int64_t now);       /* dead or stuck workers: their work dispatched again */
int  gw_recv_multipart(void *sock, zmq_msg_t *env, int *n_env, zmq_msg_t *body);

#endif
