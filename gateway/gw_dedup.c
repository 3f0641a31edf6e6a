/* gw_dedup: retries of the same request id (see gw.h).
 *
 * Clients retry a request with the same id when its reply does not come (the gateway restarted, the
 * connection dropped). Ids are only the client's, so only ids that are unique by construction take
 * part: strings of at least GW_DEDUP_MIN_ID bytes (the client libraries send a random session prefix
 * plus a counter). Two hash maps keyed by the id's bytes: ids in flight -> job number (a retry is
 * attached to the running request instead of starting it again), and recently answered ids -> a copy
 * of the reply (a retry is answered from it; replies over GW_DEDUP_MAX_REPLY bytes are not kept, their
 * retries run again: every op is a pure function of its request). The answered map is a ring of at
 * most GW_DEDUP_CAP entries and GW_DEDUP_BYTES bytes, each kept at most ttl_ms. */
#include <stdlib.h>
#include <string.h>

#include "gw.h"

#define NB 8192                          /* buckets (power of two) */

typedef struct {
    wire_id id;
    uint64_t h;
    uint64_t j;                          /* in flight: the job; answered: 0 */
    int64_t until_ms;                    /* answered: kept until */
    void *reply;                         /* answered: the reply bytes (NULL: not kept) */
    size_t size;
    int next;                            /* chain in the bucket, -1 */
    int used;
} entry;

struct gw_dedup {
    int64_t ttl_ms;
    int buckets[NB];
    entry *e;                            /* GW_DEDUP_CAP answered entries (a ring) + in-flight ones */
    int cap, ring_head, ring_len;        /* ring: entries [0, GW_DEDUP_CAP) */
    int *free_fl;                        /* free in-flight entries [GW_DEDUP_CAP, cap) */
    int n_free_fl;
    size_t bytes;
};

static uint64_t hash(const wire_id *id)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < id->len; i++)
        h = (h ^ id->raw[i]) * 1099511628211ULL;
    return h;
}

int gw_dedup_eligible(const wire_id *id)
{
    /* str8/str16 header (fixstr holds at most 31 bytes: also fine when >= the minimum) */
    if (!id->len)
        return 0;
    unsigned c = id->raw[0];
    size_t n = (c & 0xe0) == 0xa0 ? (c & 0x1f) : c == 0xd9 ? id->raw[1] : c == 0xda ? (size_t)id->raw[1] << 8 | id->raw[2] : 0;
    return n >= GW_DEDUP_MIN_ID;
}

gw_dedup *gw_dedup_new(int max_in_flight, int64_t ttl_ms)
{
    gw_dedup *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->ttl_ms = ttl_ms;
    d->cap = GW_DEDUP_CAP + max_in_flight;
    d->e = calloc((size_t)d->cap, sizeof *d->e);
    d->free_fl = malloc(sizeof *d->free_fl * (size_t)max_in_flight);
    if (!d->e || !d->free_fl) {
        gw_dedup_free(&d);
        return NULL;
    }
    for (int i = 0; i < NB; i++)
        d->buckets[i] = -1;
    for (int i = 0; i < max_in_flight; i++)
        d->free_fl[d->n_free_fl++] = d->cap - 1 - i;
    return d;
}

void gw_dedup_free(gw_dedup **dp)
{
    gw_dedup *d = *dp;
    if (!d)
        return;
    for (int i = 0; d->e && i < d->cap; i++)
        free(d->e[i].reply);
    free(d->e);
    free(d->free_fl);
    free(d);
    *dp = NULL;
}

static entry *find(gw_dedup *d, const wire_id *id, uint64_t h, int *prev_out)
{
    int prev = -1;
    for (int i = d->buckets[h & (NB - 1)]; i >= 0; prev = i, i = d->e[i].next) {
        entry *e = &d->e[i];
        if (e->h == h && e->id.len == id->len && !memcmp(e->id.raw, id->raw, id->len)) {
            if (prev_out)
                *prev_out = prev;
            return e;
        }
    }
    return NULL;
}

static void unlink_entry(gw_dedup *d, entry *e)
{
    int idx = (int)(e - d->e), *p = &d->buckets[e->h & (NB - 1)];
    while (*p != idx)
        p = &d->e[*p].next;
    *p = e->next;
    d->bytes -= e->size;
    free(e->reply);
    e->reply = NULL;
    e->size = 0;
    e->used = 0;
}

static void link_entry(gw_dedup *d, entry *e, const wire_id *id, uint64_t h)
{
    e->id = *id;
    e->h = h;
    e->used = 1;
    e->next = d->buckets[h & (NB - 1)];
    d->buckets[h & (NB - 1)] = (int)(e - d->e);
}

uint64_t gw_dedup_in_flight(gw_dedup *d, const wire_id *id)
{
    entry *e = find(d, id, hash(id), NULL);
    return e && e->j ? e->j : 0;
}

int gw_dedup_answered(gw_dedup *d, const wire_id *id, int64_t now, const void **reply, size_t *size)
{
    entry *e = find(d, id, hash(id), NULL);
    if (!e || e->j || e->until_ms < now || !e->reply)
        return 0;                       /* unknown, running, expired, or too big to keep: run it */
    *reply = e->reply;
    *size = e->size;
    return 1;
}

void gw_dedup_start(gw_dedup *d, const wire_id *id, uint64_t j)
{
    uint64_t h = hash(id);
    entry *old = find(d, id, h, NULL);
    if (old && !old->j)                  /* answered long ago (or its reply was not kept): rerun */
        unlink_entry(d, old);
    else if (old)
        return;
    if (!d->n_free_fl)
        return;
    entry *e = &d->e[d->free_fl[--d->n_free_fl]];
    link_entry(d, e, id, h);
    e->j = j;
}

void gw_dedup_done(gw_dedup *d, const wire_id *id, uint64_t j, const void *reply, size_t size, int64_t now)
{
    uint64_t h = hash(id);
    entry *e = find(d, id, h, NULL);
    if (!e || e->j != j)
        return;
    unlink_entry(d, e);
    d->free_fl[d->n_free_fl++] = (int)(e - d->e);
    /* into the ring: evict the oldest while full (entries or bytes) */
    size_t keep = reply && size <= GW_DEDUP_MAX_REPLY ? size : 0;
    while (d->ring_len && (d->ring_len == GW_DEDUP_CAP || d->bytes + keep > GW_DEDUP_BYTES)) {
        entry *o = &d->e[d->ring_head];
        if (o->used)
            unlink_entry(d, o);
        d->ring_head = (d->ring_head + 1) % GW_DEDUP_CAP;
        d->ring_len--;
    }
    entry *r = &d->e[(d->ring_head + d->ring_len++) % GW_DEDUP_CAP];
    if (r->used)
        unlink_entry(d, r);
    link_entry(d, r, id, h);
    r->j = 0;
    r->until_ms = now + d->ttl_ms;
    if (keep && (r->reply = malloc(keep))) {
        memcpy(r->reply, reply, keep);
        r->size = keep;
        d->bytes += keep;
    }
}

void gw_dedup_forget(gw_dedup *d, const wire_id *id, uint64_t j)
{
    entry *e = find(d, id, hash(id), NULL);
    if (!e || e->j != j)
        return;
    unlink_entry(d, e);
    d->free_fl[d->n_free_fl++] = (int)(e - d->e);
}

/* ---- the gateway side: requests that are retries ---------------------------------------- */

/* Who sent a request: a hash of its ROUTER identity frame (never 0 or 1). */
uint64_t gw_client_of(zmq_msg_t *env, int n_env)
{
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p = n_env ? zmq_msg_data(&env[0]) : NULL;
    for (size_t i = 0; p && i < zmq_msg_size(&env[0]); i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h < 2 ? h + 2 : h;
}

/* A retry of an id in flight or recently answered (gw_dedup): 1 when handled here. In flight: the
 * reply goes to the newest sender (the first one is likely gone); answered: the kept reply again. */
int gw_dedup_retry(gw *g, zmq_msg_t *env, int n_env, int from_ingest, const wire_req *req)
{
    gw_slot *s = gw_table_find(g->table, gw_dedup_in_flight(g->dedup, &req->id));
    const void *reply;
    size_t size;
    if (s && s->from_ingest == from_ingest) {
        for (int k = 0; k < s->n_env; k++)
            zmq_msg_close(&s->env[k]);
        for (int k = 0; k < n_env; k++) {
            zmq_msg_init(&s->env[k]);
            zmq_msg_move(&s->env[k], &env[k]);
        }
        s->n_env = n_env;
        if (from_ingest)
            g->ingest_pending--;    /* one reply will come, for both */
    } else if (!s && gw_dedup_answered(g->dedup, &req->id, gw_now_ms(), &reply, &size)) {
        zmq_msg_t m;
        if (zmq_msg_init_size(&m, size))
            return 0;
        memcpy(zmq_msg_data(&m), reply, size);
        gw_send_reply(g, env, n_env, from_ingest, NULL, &m);
        zmq_msg_close(&m);
    } else {
        return 0;
    }
    g->c.retries++;
    return 1;
}
