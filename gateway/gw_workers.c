/* gw_workers: the workers the gateway hears from (see gw.h). A small array scanned linearly: a
 * deployment has tens of workers, heartbeats come 10 a second from each. */
#include <stdlib.h>
#include <string.h>

#include "gw.h"

#define MAX_WORKERS 1024

struct gw_workers {
    gw_worker w[MAX_WORKERS];
    int n;
};

gw_workers *gw_workers_new(void)
{
    return calloc(1, sizeof(gw_workers));
}

void gw_workers_free(gw_workers **wsp)
{
    gw_workers *ws = *wsp;
    if (!ws)
        return;
    for (int i = 0; i < ws->n; i++)
        free(ws->w[i].held);
    free(ws);
    *wsp = NULL;
}

int gw_workers_beat(gw_workers *ws, const svc_hb_msg *m, int64_t now)
{
    int i, fresh = 0;
    for (i = 0; i < ws->n && strcmp(ws->w[i].name, m->w); i++)
        ;
    if (i == ws->n) {
        if (ws->n == MAX_WORKERS)
            return -1;
        memset(&ws->w[i], 0, sizeof ws->w[i]);
        snprintf(ws->w[i].name, sizeof ws->w[i].name, "%s", m->w);
        ws->n++;
        fresh = 1;
    }
    gw_worker *w = &ws->w[i];
    if (w->cap_held < m->n_held) {
        uint64_t *h = realloc(w->held, sizeof *h * (size_t)m->n_held);
        if (!h)
            return -1;
        w->held = h;
        w->cap_held = m->n_held;
    }
    for (int k = 0; k < m->n_held; k++)
        w->held[k] = svc_hb_held(m, k);
    w->n_held = m->n_held;
    w->stage = m->stage;
    w->last_ms = now;
    w->busy_ms = m->busy_ms;
    return fresh;
}

int gw_workers_reap(gw_workers *ws, int64_t now, int dead_ms, int stuck_ms,
                    void (*lost)(void *ud, const gw_worker *w, int stuck), void *ud)
{
    int n = 0;
    for (int i = 0; i < ws->n;) {
        gw_worker *w = &ws->w[i];
        if (now - w->last_ms > dead_ms) {
            gw_worker gone = *w;            /* forget it first: it no longer counts as alive */
            ws->w[i] = ws->w[--ws->n];
            lost(ud, &gone, 0);
            free(gone.held);
            n++;
            continue;
        }
        int stuck = stuck_ms && w->busy_ms > stuck_ms;
        if (stuck && !w->stuck) {           /* once per episode: it counts as gone until it moves */
            w->stuck = 1;
            lost(ud, w, 1);
            n++;
        } else if (!stuck) {
            w->stuck = 0;
        }
        i++;
    }
    return n;
}

int gw_workers_alive(const gw_workers *ws, wire_stage s)
{
    int n = 0;
    for (int i = 0; i < ws->n; i++)
        n += ws->w[i].stage == s && !ws->w[i].stuck;
    return n;
}

int gw_workers_holds(const gw_workers *ws, wire_stage s, uint64_t j)
{
    for (int i = 0; i < ws->n; i++)
        if (ws->w[i].stage == s && !ws->w[i].stuck && gw_worker_holds(&ws->w[i], j))
            return 1;
    return 0;
}

int gw_worker_holds(const gw_worker *w, uint64_t j)
{
    for (int k = 0; k < w->n_held; k++)
        if (w->held[k] == j)
            return 1;
    return 0;
}
