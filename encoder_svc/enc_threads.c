/* enc_threads: how many threads the encoder uses, and a fork-join loop for our own kernels.
 *
 * The default is the CPUs this process may actually use: the affinity mask, capped by the cgroup
 * v2 CPU quota (a container limited to 1.5 CPUs gets 2 threads, not the host's 64). OpenBLAS is
 * set to the same count, so processes x threads stays within the cores handed to us.
 */
#include "enc_impl.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_THREADS 256

static atomic_int g_threads;   /* 0 until set or first used */

/* cgroup v2 "cpu.max": "max 100000" or "150000 100000" -> ceil(quota / period); 0 if none. */
static int cgroup_quota(void)
{
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (!f)
        return 0;
    char q[32];
    long period = 0;
    int n = fscanf(f, "%31s %ld", q, &period);
    fclose(f);
    if (n != 2 || period <= 0 || q[0] < '0' || q[0] > '9')
        return 0;
    long quota = atol(q);
    return quota > 0 ? (int)((quota + period - 1) / period) : 0;
}

int enc_default_threads(void)
{
    cpu_set_t set;
    int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    int q = cgroup_quota();
    if (q > 0 && q < n)
        n = q;
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
}

void enc_set_threads(int n)
{
    if (n <= 0)
        n = enc_default_threads();
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    atomic_store(&g_threads, n);
    openblas_set_num_threads(n);
}

int enc_threads(void)
{
    int n = atomic_load(&g_threads);
    if (!n) {
        enc_set_threads(0);
        n = atomic_load(&g_threads);
    }
    return n;
}

/* ---- fork-join: threads are created per call. A call covers a whole layer's attention (many
 * (sequence, head) items), so the ~20 us of thread start-up is small next to the work, and no
 * idle pool spins against OpenBLAS's own threads between GEMMs. ---- */

typedef struct {
    void (*fn)(void *arg, int i, int worker);
    void *arg;
    int n;
    atomic_int next;
} job;

typedef struct {
    job *j;
    int worker;
} worker_arg;

static void run_items(job *j, int worker)
{
    for (;;) {
        int i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            return;
        j->fn(j->arg, i, worker);
    }
}

static void *worker_main(void *p)
{
    worker_arg *w = p;
    run_items(w->j, w->worker);
    return NULL;
}

void enc_parallel_for(int n, void (*fn)(void *arg, int i, int worker), void *arg)
{
    job j = {.fn = fn, .arg = arg, .n = n};
    atomic_init(&j.next, 0);
    int t = enc_threads();
    if (t > n)
        t = n;
    pthread_t tid[MAX_THREADS];
    worker_arg wa[MAX_THREADS];
    int started = 0;
    for (int w = 1; w < t; w++) {
        wa[w] = (worker_arg){&j, w};
        if (pthread_create(&tid[w], NULL, worker_main, &wa[w]) != 0)
            break;   /* fewer threads is slower, not wrong: the caller's thread takes the rest */
        started = w;
    }
    run_items(&j, 0);
    for (int w = 1; w <= started; w++)
        pthread_join(tid[w], NULL);
}
