/* enc_threads_test: the cgroup CPU quota (v1 and v2, nested) on fake hierarchies, and the
 * fork-join loop. */
#include "enc_impl.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "enc_testutil.h"
#include "zb_test.h"

static char root[] = "/tmp/enc_threads_XXXXXX";

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {   /* mkdir -p */
        *s = '\0';
        mkdir(p, 0700);
        *s = '/';
    }
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}

static void test_cgroup_v2(void)
{
    put("v2/cpu.max", "150000 100000\n");
    char sys[300];
    snprintf(sys, sizeof sys, "%s/v2", root);
    ZT_CHECK_EQ_INT(enc_cgroup_cpu_limit(sys, "0::/\n"), 2);
    /* nested: the tightest quota on the way up counts; "max" is no limit */
    put("v2/a/cpu.max", "300000 100000\n");
    put("v2/a/b/cpu.max", "max 100000\n");
    ZT_CHECK_EQ_INT(enc_cgroup_cpu_limit(sys, "0::/a/b\n"), 2);
    put("v2/cpu.max", "max 100000\n");
    ZT_CHECK_EQ_INT(enc_cgroup_cpu_limit(sys, "0::/a/b\n"), 3);
    put("v2/a/b/cpu.max", "100000 100000\n");
    ZT_CHECK_EQ_INT(enc_cgroup_cpu_limit(sys, "0::/a/b\n"), 1);
}

static void test_cgroup_v1(void)
{
    char sys[300];
    snprintf(sys, sizeof sys, "%s/v1", root);
    put("v1/cpu,cpuacct/x/cpu.cfs_quota_us", "250000\n");
    put("v1/cpu,cpuacct/x/cpu.cfs_period_us", "100000\n");
    const char *proc = "12:pids:/x\n4:cpu,cpuacct:/x\n1:name=systemd:/x\n0::/x\n";
    ZT_CHECK_EQ_INT(enc_cgroup_cpu_limit(sys, proc), 3);
    put("v1/cpu,cpuacct/x/cpu.cfs_quota_us", "-1\n");
    ZT_CHECK_EQ_INT(enc_cgroup_cpu_limit(sys, proc), 0);
    /* "cpuacct" alone is not the cpu controller */
    put("v1/cpuacct/y/cpu.cfs_quota_us", "100000\n");
    put("v1/cpuacct/y/cpu.cfs_period_us", "100000\n");
    ZT_CHECK_EQ_INT(enc_cgroup_cpu_limit(sys, "3:cpuacct:/y\n"), 0);
}

static void test_no_cgroup(void)
{
    ZT_CHECK_EQ_INT(enc_cgroup_cpu_limit("/nonexistent", "0::/\n"), 0);
    ZT_CHECK_EQ_INT(enc_cgroup_cpu_limit("/nonexistent", ""), 0);
    ZT_CHECK_EQ_INT(enc_cgroup_cpu_limit("/nonexistent", "garbage without colons"), 0);
    int n = enc_default_threads();
    ZT_CHECK(n >= 1 && n <= 256);
}

static atomic_int hits[1000];
static atomic_int max_worker;

static void count(void *arg, int i, int worker)
{
    (void)arg;
    atomic_fetch_add(&hits[i], 1);
    int m = atomic_load(&max_worker);
    while (worker > m && !atomic_compare_exchange_weak(&max_worker, &m, worker))
        ;
}

static void test_parallel_for(void)
{
    for (int t = 1; t <= 3; t++) {
        enc_set_threads(t);
        ZT_CHECK_EQ_INT(enc_threads(), t);
        memset(hits, 0, sizeof hits);
        atomic_store(&max_worker, 0);
        enc_parallel_for(1000, count, NULL);
        int bad = 0;
        for (int i = 0; i < 1000; i++)
            bad += atomic_load(&hits[i]) != 1;
        ZT_CHECK_EQ_INT(bad, 0);
        ZT_CHECK(atomic_load(&max_worker) < t);
    }
    enc_parallel_for(0, count, NULL);   /* nothing to do */
    enc_set_threads(0);
    ZT_CHECK_EQ_INT(enc_threads(), enc_default_threads());
}

int main(void)
{
    if (!mkdtemp(root))
        return 1;
    ZT_RUN(test_cgroup_v2);
    ZT_RUN(test_cgroup_v1);
    ZT_RUN(test_no_cgroup);
    ZT_RUN(test_parallel_for);
    et_rmtree(root);
    return zt_done();
}
