/* gw_metrics: the gateway's Prometheus page (docs/PROTOCOL.md §8), served by libmicrohttpd.
 *
 * The gateway's loop owns every number (gw_counters, gw_mstats, its queues); every ~100 ms it
 * publishes a copy here (gw_metrics_publish, one memcpy under a mutex), and the HTTP thread renders
 * GET /metrics (text exposition format 0.0.4) and GET /healthz (200 when every stage has a live
 * worker, 503 otherwise) from that copy. Nothing else crosses threads. */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stdint.h>
#include "wire.h"
#include "zb_err.h"

#define GW_NCODES 16            /* 0: ok, k: error code -k (zb_err.h), up to ZB_EPOISON and room */
#define GW_HIST_N 14            /* bucket bounds below, then +Inf */

/* A histogram as Prometheus has it: b[i] counts observations <= bound[i] (not cumulative here; the
 * page makes it so), b[GW_HIST_N] the rest. */
typedef struct {
    uint64_t b[GW_HIST_N + 1];
    uint64_t count;
    double sum;
} gw_hist;

/* Seconds: 1 ms .. 60 s. (Tokens per batch: svc_hb_batch_bounds, as the encoders count them.) */
extern const double gw_hist_seconds[GW_HIST_N];
void gw_hist_add(gw_hist *h, const double bounds[GW_HIST_N], double v);

/* What the gateway measures beyond gw_counters (its loop writes, publish copies). */
typedef struct {
    long requests[WIRE_OP_COUNT_ + 1][GW_NCODES];   /* replies by op (last row: unparsable) and code */
    gw_hist request_s[WIRE_OP_COUNT_];              /* accepted request -> reply, by op */
    gw_hist stage_s[WIRE_STAGE_COUNT_];             /* time a job spent at each worker stage */
    gw_hist batch_tokens;                           /* encoder batches, from their heartbeats */
    long worker_joins[WIRE_STAGE_COUNT_];           /* workers that appeared (a start or restart) */
    long worker_restarts[WIRE_STAGE_COUNT_];        /* joins that replaced a lost worker */
    long worker_lost[WIRE_STAGE_COUNT_];            /* workers declared dead or stuck */
    long jobs_expired[WIRE_STAGE_COUNT_];           /* jobs workers dropped unstarted at their deadline */
    long jobs_abandoned[WIRE_STAGE_COUNT_];         /* jobs workers gave up part-way at their deadline */
} gw_mstats;

/* A reply's op and code (0 ok, else a zb_code) into requests[][]. */
void gw_mstats_reply(gw_mstats *m, int op, int code);

/* Everything the page shows, copied at once. */
typedef struct {
    gw_mstats m;
    long answered, failed, overloaded, undeliverable, redispatched, duplicates, poisoned, stage_dropped,
         retries;                                   /* retries: client re-sends of an id (deduplicated) */
    long in_flight, waiting, ingest_pending, results_queued, max_in_flight;
    long workers_alive[WIRE_STAGE_COUNT_];
    long curve_allowed[2], curve_refused_key[2], curve_refused_handshake;   /* by svc_sec domain */
    int curve_on, draining;
    double uptime_s;
} gw_metrics_view;

typedef struct gw_metrics gw_metrics;

/* "HOST:PORT" ("[v6]:PORT", "*:PORT") -> a page served by its own thread. NULL + err when the
 * address is bad or cannot be bound. */
gw_metrics *gw_metrics_new(const char *addr, zb_err *err);
void        gw_metrics_publish(gw_metrics *m, const gw_metrics_view *v);
void        gw_metrics_destroy(gw_metrics **m);

/* The page's text for v (malloc'd, NUL-terminated; NULL out of memory). For tests. */
char *gw_metrics_render(const gw_metrics_view *v, size_t *len);

/* The default address: the client endpoint tcp://HOST:PORT -> HOST:PORT+11 (ipc: none, 0 returned
 * with out empty). */
int gw_metrics_default_addr(const char *client_endpoint, char *out, size_t cap);

#endif
