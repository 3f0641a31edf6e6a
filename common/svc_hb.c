/* svc_hb: worker heartbeats (see svc_hb.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "svc.h"
#include "svc_hb.h"

struct svc_hb {
    void *sock;                 /* owned by the thread once it runs */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    wire_stage stage;
    char w[128];
    uint64_t held[SVC_HB_MAX_HELD];
    int n_held;
    int64_t progress_ms;        /* last hold or release */
    uint64_t batch[SVC_HB_BATCH_N + 1], batch_tokens;   /* since the last beat */
    uint64_t expired[2];        /* jobs given up at their deadline since the last beat: [0] dropped
                                 * before starting, [1] abandoned part-way */
};

/* tokens: 16 .. 131072 (an encoder's --max-batch-tokens is 16 .. 1 Mi) */
const double svc_hb_batch_bounds[SVC_HB_BATCH_N] = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
                                                    16384, 32768, 65536, 131072};

void svc_hb_expired(svc_hb *h, uint64_t j, int started)
{
    svc_expired(j, started);
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->expired[started != 0]++;
    pthread_mutex_unlock(&h->mu);
}

int svc_hb_give_up(svc_hb *h, uint64_t j, int64_t deadline_ms, int started)
{
    if (!wire_expired(deadline_ms, wire_now_ms()))
        return 0;
    svc_hb_expired(h, j, started);
    return 1;
}

void svc_hb_batch(svc_hb *h, long tokens)
{
    if (!h)
        return;
    int i = 0;
    while (i < SVC_HB_BATCH_N && (double)tokens > svc_hb_batch_bounds[i])
        i++;
    pthread_mutex_lock(&h->mu);
    h->batch[i]++;
    h->batch_tokens += (uint64_t)(tokens > 0 ? tokens : 0);
    pthread_mutex_unlock(&h->mu);
}

static void send_beat(svc_hb *h)
{
    unsigned char held[SVC_HB_MAX_HELD * 8];
    pthread_mutex_lock(&h->mu);
    int n = h->n_held;
    for (int i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            held[i * 8 + b] = (unsigned char)(h->held[i] >> (8 * b));
    int64_t busy = n ? wire_now_ms() - h->progress_ms : 0;
    unsigned char bt[(SVC_HB_BATCH_N + 1) * 8];
    int any = h->batch_tokens > 0;
    for (int i = 0; i <= SVC_HB_BATCH_N; i++) {
        any |= h->batch[i] > 0;
        for (int b = 0; b < 8; b++)
            bt[i * 8 + b] = (unsigned char)(h->batch[i] >> (8 * b));
        h->batch[i] = 0;
    }
    uint64_t bsum = h->batch_tokens;
    h->batch_tokens = 0;
    uint64_t xd = h->expired[0], xa = h->expired[1];
    h->expired[0] = h->expired[1] = 0;
    pthread_mutex_unlock(&h->mu);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    wire_map m;
    wire_map_begin(&m, &pk, &sb);
    wire_map_str(&m, "w", h->w);
    wire_map_int(&m, "s", h->stage);
    wire_map_key(&m, "held");
    msgpack_pack_bin(&pk, (size_t)n * 8);
    msgpack_pack_bin_body(&pk, held, (size_t)n * 8);
    wire_map_int(&m, "busy_ms", busy);
    if (any) {
        wire_map_key(&m, "bt");
        msgpack_pack_bin(&pk, sizeof bt);
        msgpack_pack_bin_body(&pk, bt, sizeof bt);
        wire_map_key(&m, "bsum");
        msgpack_pack_uint64(&pk, bsum);
    }
    if (xd || xa) {
        wire_map_key(&m, "xd");
        msgpack_pack_uint64(&pk, xd);
        wire_map_key(&m, "xa");
        msgpack_pack_uint64(&pk, xa);
    }
    wire_map_end(&m);
    svc_send_sbuf(h->sock, &sb, ZMQ_DONTWAIT);      /* a gateway that is away misses a beat */
    msgpack_sbuffer_destroy(&sb);
}

static void *run(void *arg)
{
    svc_hb *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        pthread_mutex_unlock(&h->mu);
        send_beat(h);
        pthread_mutex_lock(&h->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += SVC_HB_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!h->stop)
            pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    }
    h->n_held = 0;
    pthread_mutex_unlock(&h->mu);
    send_beat(h);                                   /* nothing held: leaving cleanly */
    return NULL;
}

svc_hb *svc_hb_start(void *ctx, const char *endpoint, wire_stage stage, const char *whoami, zb_err *err)
{
    svc_hb *h = calloc(1, sizeof *h);
    if (!h) {
        zb_fail(err, ZB_ENOMEM, "heartbeat: out of memory");
        return NULL;
    }
    /* a short send queue: stale heartbeats are worth nothing */
    svc_sockopt o = {.sndhwm = 10};     /* queued until connected: the first beat is not lost */
    if (!(h->sock = svc_socket(ctx, ZMQ_PUSH, endpoint, 0, &o, err))) {
        free(h);
        return NULL;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* pid@host#start: a restarted worker with a recycled pid is still a new worker */
    snprintf(h->w, sizeof h->w, "%s#%lld.%03ld", whoami, (long long)ts.tv_sec, ts.tv_nsec / 1000000);
    h->stage = stage;
    h->progress_ms = wire_now_ms();
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (pthread_create(&h->thread, NULL, run, h)) {
        zmq_close(h->sock);
        free(h);
        zb_fail(err, ZB_ENOMEM, "heartbeat: cannot start its thread");
        return NULL;
    }
    return h;
}

void svc_hb_stop(svc_hb **hp)
{
    svc_hb *h = *hp;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = 1;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    zmq_close(h->sock);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
    *hp = NULL;
}

void svc_hb_hold(svc_hb *h, uint64_t j)
{
    if (!h || !j)
        return;
    pthread_mutex_lock(&h->mu);
    if (h->n_held < SVC_HB_MAX_HELD)       /* beyond: unlisted, re-dispatched if we die (a dup) */
        h->held[h->n_held++] = j;
    h->progress_ms = wire_now_ms();
    pthread_mutex_unlock(&h->mu);
}

void svc_hb_release(svc_hb *h, uint64_t j)
{
    if (!h || !j)
        return;
    pthread_mutex_lock(&h->mu);
    for (int i = 0; i < h->n_held; i++)
        if (h->held[i] == j) {
            h->held[i] = h->held[--h->n_held];
            break;
        }
    h->progress_ms = wire_now_ms();
    pthread_mutex_unlock(&h->mu);
}

void svc_hb_progress(svc_hb *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->progress_ms = wire_now_ms();
    pthread_mutex_unlock(&h->mu);
}

int svc_hb_parse(const void *buf, size_t len, svc_hb_msg *out, zb_err *err)
{
    memset(out, 0, sizeof *out);
    msgpack_unpacked up;
    int rc = wire_unpack_checked(buf, len, &up, "heartbeat", err);
    const msgpack_object *w = NULL, *s = NULL, *held = NULL, *busy = NULL;
    if (!rc && up.data.type == MSGPACK_OBJECT_MAP) {
        w = wire_map_get(&up.data, "w");
        s = wire_map_get(&up.data, "s");
        held = wire_map_get(&up.data, "held");
        busy = wire_map_get(&up.data, "busy_ms");
    }
    if (!rc && (!w || w->type != MSGPACK_OBJECT_STR || !w->via.str.size || w->via.str.size >= sizeof out->w ||
                memchr(w->via.str.ptr, 0, w->via.str.size) ||     /* a name logs and compares whole */
                !s || s->type != MSGPACK_OBJECT_POSITIVE_INTEGER || s->via.u64 < WIRE_STAGE_TOKENIZER ||
                s->via.u64 > WIRE_STAGE_POOLER || !held || held->type != MSGPACK_OBJECT_BIN ||
                held->via.bin.size % 8 || held->via.bin.size > SVC_HB_MAX_HELD * 8 || !busy ||
                busy->type != MSGPACK_OBJECT_POSITIVE_INTEGER))
        rc = zb_fail(err, ZB_EFORMAT, "heartbeat: expected {w: str, s: stage, held: bin, busy_ms: int}");
    if (!rc) {
        memcpy(out->w, w->via.str.ptr, w->via.str.size);
        out->stage = (wire_stage)s->via.u64;
        /* held points into buf: a bin's bytes are the frame's own */
        out->held = (const unsigned char *)held->via.bin.ptr;
        out->n_held = (int)(held->via.bin.size / 8);
        out->busy_ms = busy->via.u64 > INT32_MAX ? INT32_MAX : (int64_t)busy->via.u64;
        const msgpack_object *bt = wire_map_get(&up.data, "bt"), *bsum = wire_map_get(&up.data, "bsum");
        if (bt || bsum) {       /* optional: encoders' batches */
            if (!bt || bt->type != MSGPACK_OBJECT_BIN || bt->via.bin.size != (SVC_HB_BATCH_N + 1) * 8 || !bsum ||
                bsum->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                rc = zb_fail(err, ZB_EFORMAT, "heartbeat: bt must be %d little-endian uint64 and bsum an int",
                             SVC_HB_BATCH_N + 1);
            for (int i = 0; !rc && i <= SVC_HB_BATCH_N; i++)
                for (int b = 7; b >= 0; b--)
                    out->batch[i] = out->batch[i] << 8 | (unsigned char)bt->via.bin.ptr[i * 8 + b];
            if (!rc)
                out->batch_tokens = bsum->via.u64;
        }
        const msgpack_object *xd = wire_map_get(&up.data, "xd"), *xa = wire_map_get(&up.data, "xa");
        if (!rc && (xd || xa)) {    /* optional: jobs given up at their deadline */
            if (!xd || xd->type != MSGPACK_OBJECT_POSITIVE_INTEGER || xd->via.u64 > SVC_HB_MAX_EXPIRED ||
                !xa || xa->type != MSGPACK_OBJECT_POSITIVE_INTEGER || xa->via.u64 > SVC_HB_MAX_EXPIRED)
                rc = zb_fail(err, ZB_EFORMAT, "heartbeat: xd and xa must both be ints in 0..%d",
                             SVC_HB_MAX_EXPIRED);
            else
                out->expired = xd->via.u64, out->abandoned = xa->via.u64;
        }
    }
    msgpack_unpacked_destroy(&up);
    return rc;
}

uint64_t svc_hb_held(const svc_hb_msg *m, int i)
{
    uint64_t j = 0;
    for (int b = 7; b >= 0; b--)
        j = j << 8 | m->held[i * 8 + b];
    return j;
}
