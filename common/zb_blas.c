/* zb_blas.c: see zb_blas.h. */
#include "zb_blas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

char *openblas_get_corename(void);   /* OpenBLAS (cblas.h declares it; common does not include it) */

const char *zb_blas_core(void) { return openblas_get_corename(); }

/* The best kernel family this CPU runs, among those OpenBLAS 0.3.21 has, or NULL. */
static const char *runnable_core(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return NULL;
}

void zb_blas_check_core(char **argv)
{
    const char *set = getenv("OPENBLAS_CORETYPE"), *keep = getenv("ZEMBED_BLAS_CORE");
    if ((set && *set) || (keep && !strcmp(keep, "keep")))
        return;
    const char *now = zb_blas_core(), *want = runnable_core();
    if (!now || strcasecmp(now, "Prescott") || !want)
        return;
    /* after the exec OPENBLAS_CORETYPE is set, so this cannot loop */
    if (setenv("OPENBLAS_CORETYPE", want, 1) == 0)
        execv("/proc/self/exe", argv);
    fprintf(stderr, "%s: OpenBLAS chose its slow Prescott kernels for this CPU and restarting with "
                    "OPENBLAS_CORETYPE=%s failed; set it yourself for 3-4x faster fp32\n",
            argv && argv[0] ? argv[0] : "zembed", want);
    unsetenv("OPENBLAS_CORETYPE");
}
