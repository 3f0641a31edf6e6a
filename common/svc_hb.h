/* svc_hb: a worker's heartbeats to the gateway's control port (docs/PROTOCOL.md §4).
 *
 * A thread of its own sends, every SVC_HB_MS, one frame {w, s, held, busy_ms, ...} on a PUSH socket
 * connected to the control endpoint: who the worker is (pid@host plus a start stamp, so a restarted
 * worker is a new one), its stage, the job numbers it holds (taken, not yet passed on or answered)
 * and how long it has held its oldest job without progress. From these the gateway knows which
 * workers live and which work each one holds: a worker whose heartbeats stop is dead, and the work
 * it held (or that was in its queue) is dispatched again; one that holds a job for too long is stuck.
 * Stage data stays on the PUSH/PULL stage sockets; this is the only control channel. */
#ifndef SVC_HB_H
#define SVC_HB_H

#include <stdint.h>
#include "wire.h"
#include "zb_err.h"

#define SVC_HB_MS      100      /* heartbeat period */
#define SVC_HB_MAX_HELD 4096    /* job numbers one heartbeat lists (an encoder batch is <= 256) */
/* Jobs one heartbeat may report given up (xd, xa): far more than a worker can drop in SVC_HB_MS, few
 * enough that forged beats cannot overflow the gateway's counters in any reachable time. */
#define SVC_HB_MAX_EXPIRED (1 << 20)

typedef struct svc_hb svc_hb;

/* Starts the thread; NULL + err when the socket cannot be made. whoami names the worker. */
svc_hb *svc_hb_start(void *ctx, const char *endpoint, wire_stage stage, const char *whoami, zb_err *err);
/* Stops the thread and closes its socket (sends a last heartbeat with nothing held). */
void    svc_hb_stop(svc_hb **h);

/* The worker took job j / is done with it (passed it on, answered, refused). Thread-safe. */
void    svc_hb_hold(svc_hb *h, uint64_t j);
void    svc_hb_release(svc_hb *h, uint64_t j);
/* The worker moved its held work on (a pass of a large job): it is not stuck. */
void    svc_hb_progress(svc_hb *h);

/* Job j was given up at its deadline: dropped before starting (started 0) or abandoned part-way
 * (1). Counts it in this process (svc_expired: counters, a log line at most once a second) and in
 * the next beat as xd / xa, the numbers since the last beat, for the gateway's metrics page (a beat
 * the gateway misses loses them). h may be NULL. */
void    svc_hb_expired(svc_hb *h, uint64_t j, int started);
/* The check every stage makes before (more) work on job j: 1, counted as above, if its deadline
 * (wire_job's deadline_ms; 0 = none) has passed, else 0. */
int     svc_hb_give_up(svc_hb *h, uint64_t j, int64_t deadline_ms, int started);

/* Encoders: one forward pass of `tokens` tokens. The passes since the last beat travel in the next one
 * as counts per bucket (bounds below, then the rest) and a token sum, for the gateway's histogram
 * (docs/PROTOCOL.md §8); a beat the gateway misses loses them, which only thins the histogram. */
#define SVC_HB_BATCH_N 14
extern const double svc_hb_batch_bounds[SVC_HB_BATCH_N];
void    svc_hb_batch(svc_hb *h, long tokens);

/* The heartbeat frame (for the gateway's parser and tests): fills out from a frame. held points into
 * buf (little-endian uint64s, n_held of them). */
typedef struct {
    char w[128];
    wire_stage stage;
    const unsigned char *held;
    int n_held;
    int64_t busy_ms;
    uint64_t batch[SVC_HB_BATCH_N + 1];     /* forward passes since the last beat, by bucket */
    uint64_t batch_tokens;                  /* their tokens */
    uint64_t expired, abandoned;            /* jobs given up at their deadline since the last beat:
                                             * dropped before starting, abandoned part-way */
} svc_hb_msg;
int svc_hb_parse(const void *buf, size_t len, svc_hb_msg *out, zb_err *err);
uint64_t svc_hb_held(const svc_hb_msg *m, int i);

#endif
