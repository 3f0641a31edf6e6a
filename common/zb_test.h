/* zb_test: the tiny test harness every *_test.c uses.
 *
 *   static void test_empty_text(void) { ... ZT_CHECK(n == 2); ZT_CHECK_EQ_INT(ids[0], 101); }
 *   int main(void) { ZT_RUN(test_empty_text); return zt_done(); }
 *
 * Each ZT_RUN is one test: it passes when none of its checks failed. zt_done() prints the closing
 * line "N passed, N failed" that tests/run.sh and CI read, and returns the exit status.
 * ZT_SHARED() is the shared data folder (env ZEMBED_SHARED, default ../shared beside the repo).
 */
#ifndef ZB_TEST_H
#define ZB_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int zt_passed, zt_failed, zt_cur_failed;
static const char *zt_cur_name = "";

#define ZT_CHECK(cond)                                                                  \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            zt_cur_failed++;                                                            \
            fprintf(stderr, "  %s:%d: %s: check failed: %s\n", __FILE__, __LINE__,    \
                    zt_cur_name, #cond);                                                \
        }                                                                               \
    } while (0)

#define ZT_CHECK_EQ_INT(a, b)                                                           \
    do {                                                                                \
        long long zt_a = (long long)(a), zt_b = (long long)(b);                         \
        if (zt_a != zt_b) {                                                             \
            zt_cur_failed++;                                                            \
            fprintf(stderr, "  %s:%d: %s: %s == %lld, expected %s == %lld\n", __FILE__, \
                    __LINE__, zt_cur_name, #a, zt_a, #b, zt_b);                         \
        }                                                                               \
    } while (0)

#define ZT_CHECK_NEAR(a, b, tol)                                                        \
    do {                                                                                \
        double zt_a = (double)(a), zt_b = (double)(b);                                  \
        if (!(fabs(zt_a - zt_b) <= (tol))) {                                            \
            zt_cur_failed++;                                                            \
            fprintf(stderr, "  %s:%d: %s: %s == %.9g, expected %.9g (tol %g)\n",        \
                    __FILE__, __LINE__, zt_cur_name, #a, zt_a, zt_b, (double)(tol));    \
        }                                                                               \
    } while (0)

#define ZT_RUN(fn)                                                                      \
    do {                                                                                \
        zt_cur_name = #fn;                                                              \
        zt_cur_failed = 0;                                                              \
        fn();                                                                           \
        if (zt_cur_failed) {                                                            \
            zt_failed++;                                                                \
            printf("FAIL %s\n", #fn);                                                   \
        } else {                                                                        \
            zt_passed++;                                                                \
            printf("ok   %s\n", #fn);                                                   \
        }                                                                               \
        fflush(stdout);                                                                 \
    } while (0)

static inline const char *ZT_SHARED(void)
{
    const char *s = getenv("ZEMBED_SHARED");
    return s && *s ? s : "../shared";
}

static inline int zt_done(void)
{
    printf("%d passed, %d failed\n", zt_passed, zt_failed);
    return zt_failed ? 1 : 0;
}

#endif
