/* gw_table: requests in flight (see gw.h). Slots are a fixed array; j = (sequence << 20) | slot,
 * so finding a job is an index plus one compare, and a late reply for a slot that has been reused
 * does not match. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gw.h"

#define SLOT_BITS 20

struct gw_table {
    int cap, count, waiting;
    size_t bytes;               /* sum of the slots' job sizes */
    uint64_t seq;
    gw_slot *slots;
    int *free_list, n_free;
    uint64_t *fifo;             /* ring of job numbers, possibly stale (checked when taken) */
    int head, len;
    int scan;                   /* where the next expiry scan starts */
};

int64_t gw_now_ms(void)
{
    return wire_now_ms();       /* the clock of the deadlines stage frames carry (wire.h) */
}

gw_table *gw_table_new(int cap)
{
    if (cap < 1 || cap > (1 << SLOT_BITS))
        return NULL;
    gw_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cap = cap;
    /* job numbers of an earlier gateway on this port may still be on their way through the workers:
     * start this one's sequence at a random point so they do not match ours */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    t->seq = ((uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec * 2654435761ULL ^
              (uint64_t)getpid() << 32) & ((1ULL << 40) - 1);
    t->slots = calloc(cap, sizeof *t->slots);
    t->free_list = malloc(sizeof *t->free_list * cap);
    t->fifo = malloc(sizeof *t->fifo * cap);
    if (!t->slots || !t->free_list || !t->fifo) {
        gw_table_free(t);
        return NULL;
    }
    for (int i = 0; i < cap; i++)
        t->free_list[i] = cap - 1 - i;
    t->n_free = cap;
    return t;
}

void gw_table_free(gw_table *t)
{
    if (!t)
        return;
    for (int i = 0; t->slots && i < t->cap; i++)
        if (t->slots[i].j)
            gw_table_remove(t, &t->slots[i]);
    free(t->slots);
    free(t->free_list);
    free(t->fifo);
    free(t);
}

int gw_table_count(const gw_table *t) { return t->count; }
int gw_table_waiting(const gw_table *t) { return t->waiting; }

static void queue(gw_table *t, gw_slot *s)
{
    /* entries of answered (or since dispatched) slots may still sit in the ring: when it is full,
     * keep only the entries still waiting, in order. At most cap - 1 slots other than s wait. */
    if (t->len == t->cap) {
        int kept = 0;
        for (int k = 0; k < t->len; k++) {
            uint64_t j = t->fifo[(t->head + k) % t->cap];
            gw_slot *w = gw_table_find(t, j);
            if (w && !w->dispatched)
                t->fifo[(t->head + kept++) % t->cap] = j;
        }
        t->len = kept;
        assert(t->len < t->cap);
    }
    t->fifo[(t->head + t->len) % t->cap] = s->j;
    t->len++;
    t->waiting++;
}

gw_slot *gw_table_add(gw_table *t)
{
    if (!t->n_free)
        return NULL;
    int i = t->free_list[--t->n_free];
    gw_slot *s = &t->slots[i];
    memset(s, 0, sizeof *s);
    s->j = (++t->seq << SLOT_BITS) | (uint64_t)i;
    msgpack_sbuffer_init(&s->job);
    t->count++;
    queue(t, s);
    return s;
}

gw_slot *gw_table_find(gw_table *t, uint64_t j)
{
    uint64_t i = j & ((1u << SLOT_BITS) - 1);
    if (!j || i >= (uint64_t)t->cap || t->slots[i].j != j)
        return NULL;
    return &t->slots[i];
}

void gw_table_remove(gw_table *t, gw_slot *s)
{
    for (int k = 0; k < s->n_env; k++)
        zmq_msg_close(&s->env[k]);
    s->n_env = 0;
    t->bytes -= s->job.size;
    msgpack_sbuffer_destroy(&s->job);
    if (!s->dispatched)
        t->waiting--;
    s->j = 0;
    t->free_list[t->n_free++] = (int)(s - t->slots);
    t->count--;
}

gw_slot *gw_table_next_waiting(gw_table *t)
{
    while (t->len) {
        gw_slot *s = gw_table_find(t, t->fifo[t->head]);
        if (s && !s->dispatched)
            return s;
        t->head = (t->head + 1) % t->cap;
        t->len--;
    }
    return NULL;
}

void gw_table_dispatched(gw_table *t, gw_slot *s)
{
    s->dispatched = 1;
    s->attempts++;
    t->waiting--;
    if (t->len && t->fifo[t->head] == s->j) {
        t->head = (t->head + 1) % t->cap;
        t->len--;
    }
}

void gw_table_requeue(gw_table *t, gw_slot *s)
{
    assert(s->dispatched);
    s->dispatched = 0;
    queue(t, s);
}

int gw_table_cap(const gw_table *t) { return t->cap; }
gw_slot *gw_table_slot(gw_table *t, int i) { return &t->slots[i]; }
size_t gw_table_bytes(const gw_table *t) { return t->bytes; }

int gw_table_client_count(const gw_table *t, uint64_t client)
{
    int n = 0;                  /* a scan: cap compares, cheaper than keeping a map up to date */
    for (int i = 0; i < t->cap; i++)
        n += t->slots[i].j && t->slots[i].client == client;
    return n;
}

void gw_table_job_sized(gw_table *t, gw_slot *s)
{
    t->bytes += s->job.size;
}

gw_slot *gw_table_expired(gw_table *t, int64_t now_ms)
{
    if (!t->count)
        return NULL;
    for (int k = 0; k < t->cap; k++) {
        gw_slot *s = &t->slots[(t->scan + k) % t->cap];
        if (s->j && s->deadline_ms <= now_ms) {
            t->scan = (int)(s - t->slots);
            return s;
        }
    }
    return NULL;
}
