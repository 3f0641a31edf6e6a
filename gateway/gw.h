/* gw: the gateway, front door of the pipeline (docs/PROTOCOL.md §1, §4).
 *
 * gw_table: the bounded table of requests in flight. Each has a job number j (never 0), a deadline,
 * the way back to its client (ROUTER envelope frames, or the results socket for ingested requests)
 * and, until a tokenizer takes it, the {j, req} job waiting in a FIFO. */
#ifndef GW_H
#define GW_H

#include <stdint.h>
#include <zmq.h>
#include <msgpack.h>
#include "wire.h"

#define GW_MAX_ENV 4            /* ROUTER envelope frames we keep: identity (+ delimiter) */

typedef struct {
    uint64_t j;                 /* 0: free */
    int64_t deadline_ms;
    int from_ingest;
    int op;                     /* wire_op, for error replies */
    int dispatched;             /* a tokenizer took the job */
    wire_id id;
    int n_env;
    zmq_msg_t env[GW_MAX_ENV];
    msgpack_sbuffer job;        /* {j, req}, until dispatched */
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

/* The first slot whose deadline is <= now, or NULL. */
gw_slot  *gw_table_expired(gw_table *t, int64_t now_ms);

int64_t gw_now_ms(void);

#endif
