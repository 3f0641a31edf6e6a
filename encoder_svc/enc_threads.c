/* enc_threads: how many threads the encoder uses, and a fork-join loop for our own kernels.
 *
 * The default is the CPUs this process may actually use: the affinity mask, capped by the cgroup
 * CPU quota, v1 or v2 (a container limited to 1.5 CPUs gets 2 threads, not the host's 64). OpenBLAS is
 * set to the same count, so processes x threads stays within the cores handed to us.
 */
#include "enc_impl.h"

#include <cblas.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zb_file.h"

#define MAX_THREADS 256

static atomic_int g_threads;   /* 0 until set or first used */

/* The first word of dir/name into w (cap bytes) and a following number into *second; returns how
 * many were read (0 when the file is absent). */
static int read_words(const char *dir, const char *name, char *w, size_t cap, long *second)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || n >= (int)sizeof path)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char fmt[32];
    snprintf(fmt, sizeof fmt, "%%%zus %%ld", cap - 1);
    int got = fscanf(f, fmt, w, second);
    fclose(f);
    return got < 0 ? 0 : got;
}

/* ceil(quota / period) from one cgroup folder, 0 when unlimited or unreadable. v2 keeps both in
 * cpu.max ("max 100000" or "150000 100000"); v1 in cpu.cfs_quota_us (-1: none) and
 * cpu.cfs_period_us. */
static int quota_in(const char *dir)
{
    char q[32];
    long quota = 0, period = 0, unused;
    if (read_words(dir, "cpu.max", q, sizeof q, &period) == 2) {
        if (q[0] >= '0' && q[0] <= '9')   /* else "max": no limit */
            quota = atol(q);
    } else if (read_words(dir, "cpu.cfs_quota_us", q, sizeof q, &unused) >= 1) {
        quota = atol(q);                  /* -1: no limit */
        if (read_words(dir, "cpu.cfs_period_us", q, sizeof q, &unused) >= 1)
            period = atol(q);
    }
    if (quota <= 0 || period <= 0)
        return 0;
    long n = (quota + period - 1) / period;
    return n > MAX_THREADS ? MAX_THREADS : (int)n;
}

/* The smallest quota on the way from the process's cgroup up to the hierarchy's root. */
static int quota_up(const char *mount, const char *cg)
{
    char dir[PATH_MAX];
    int best = 0;
    if (snprintf(dir, sizeof dir, "%s%s", mount, cg) >= (int)sizeof dir)
        return 0;
    size_t root_len = strlen(mount);
    for (;;) {
        int q = quota_in(dir);
        if (q > 0 && (best == 0 || q < best))
            best = q;
        char *slash = strrchr(dir, '/');
        if (!slash || (size_t)(slash - dir) < root_len)
            break;
        *slash = '\0';
    }
    return best;
}

int enc_cgroup_cpu_limit(const char *sysfs, const char *proc_cgroup)
{
    int best = 0;
    char line[PATH_MAX + 64], mount[PATH_MAX + 64];
    const char *p = proc_cgroup;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len < sizeof line) {
            memcpy(line, p, len);
            line[len] = '\0';
            /* "ID:CONTROLLERS:PATH"; v2 is "0::PATH", v1 lists controllers ("cpu,cpuacct") */
            char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (c2) {
                *c2 = '\0';
                const char *ctl = c1 + 1, *cg = c2 + 1;
                int q = 0;
                if (!*ctl) {
                    snprintf(mount, sizeof mount, "%s", sysfs);
                    q = quota_up(mount, cg);
                    if (!q) {   /* hybrid layout: v2 under unified/ */
                        snprintf(mount, sizeof mount, "%s/unified", sysfs);
                        q = quota_up(mount, cg);
                    }
                } else {
                    char ctls[256];
                    snprintf(ctls, sizeof ctls, ",%s,", ctl);
                    if (strstr(ctls, ",cpu,")) {
                        snprintf(mount, sizeof mount, "%s/%s", sysfs, ctl);
                        q = quota_up(mount, cg);
                        if (!q) {
                            snprintf(mount, sizeof mount, "%s/cpu", sysfs);
                            q = quota_up(mount, cg);
                        }
                    }
                }
                if (q > 0 && (best == 0 || q < best))
                    best = q;
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    return best;
}

int enc_default_threads(void)
{
    cpu_set_t set;
    int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    char *cg = NULL;
    size_t len = 0;
    int q = zb_read_file("/proc/self/cgroup", 1 << 16, &cg, &len, NULL) == ZB_OK
                ? enc_cgroup_cpu_limit("/sys/fs/cgroup", cg) : 0;
    free(cg);
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
    openblas_set_num_threads(1);   /* our threads split the GEMMs (enc_forward.c: linear) */
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
