/* zb_test: the tiny test harness every *_test.c uses.
 *
 *   static void test_empty_text(void) { ... ZT_CHECK(n == 2); ZT_CHECK_EQ_INT(ids[0], 101); }
 *   int main(void) { ZT_RUN(test_empty_text); return zt_done(); }
 *
 * Each ZT_RUN is one test: it passes when none of its checks failed. zt_done() prints the closing
 * line "N passed, N failed, N skipped" that tests/run.sh and CI read, and returns the exit status.
 *
 * Files of ../shared (real tokenizers, STS data) are not in a clone: a test that needs one starts
 * with ZT_NEED_SHARED("models/all-MiniLM-L6-v2/tokenizer.json"); without it the test prints
 * "skipped: needs ../shared/models/..." and counts as skipped, not passed. A test that only needs
 * a vocabulary uses the one the repository ships: zt_repo_path(buf, cap, ZT_DEMO_VOCAB_DIR).
 * ZT_SHARED() is the shared data folder (env ZEMBED_SHARED, default ../shared beside the repo);
 * the repository root is env ZEMBED_ROOT, else the current folder (tests/run.sh runs from it).
 *
 * Tests that write files get one scratch folder per program: zt_tmpdir("hub_test") makes
 * $TMPDIR/hub_test.XXXXXX on its first call, zt_write("a/b.txt", text, 0644) writes a file in it,
 * and zt_done() removes the folder with everything in it.
 */
#ifndef ZB_TEST_H
#define ZB_TEST_H

#include <assert.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int zt_passed, zt_failed, zt_skipped, zt_cur_failed, zt_cur_skipped;
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
        zt_cur_skipped = 0;                                                             \
        fn();                                                                           \
        if (zt_cur_failed) {                                                            \
            zt_failed++;                                                                \
            printf("FAIL %s\n", #fn);                                                   \
        } else if (zt_cur_skipped) {                                                    \
            zt_skipped++;                                                               \
            printf("skip %s\n", #fn);                                                   \
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

/* 1 under tests/run.sh's valgrind pass (env ZEMBED_VALGRIND=1): loops that sample may shrink. */
static inline int zt_under_valgrind(void)
{
    const char *v = getenv("ZEMBED_VALGRIND");
    return v && *v == '1';
}

/* Deterministic pseudo-random bits (xorshift32; the sequence is the same every run). */
static uint32_t zt_rng = 12345;
static inline uint32_t zt_rand_u32(void)
{
    zt_rng ^= zt_rng << 13;
    zt_rng ^= zt_rng >> 17;
    zt_rng ^= zt_rng << 5;
    return zt_rng;
}

/* The repository's own files (e.g. ZT_DEMO_VOCAB_DIR): ZEMBED_ROOT/rel, else ./rel. */
#define ZT_DEMO_VOCAB_DIR "deploy/demo"   /* vocab.txt of bert-base-uncased, shipped in the repo */

static inline const char *zt_repo_path(char *buf, size_t cap, const char *rel)
{
    const char *root = getenv("ZEMBED_ROOT");
    snprintf(buf, cap, "%s/%s", root && *root ? root : ".", rel);
    return buf;
}

/* 1 when ZT_SHARED()/rel can be read; else says which file is missing and returns 0. */
static inline int zt_have_shared(const char *rel)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", ZT_SHARED(), rel);
    if (access(p, R_OK) == 0)
        return 1;
    printf("  %s: skipped: needs ../shared/%s (not found in %s)\n", zt_cur_name, rel, ZT_SHARED());
    return 0;
}

/* Inside a test: skip the rest of it unless ../shared/rel is there. */
#define ZT_NEED_SHARED(rel)                                                             \
    do {                                                                                \
        if (!zt_have_shared(rel)) {                                                     \
            zt_cur_skipped = 1;                                                         \
            return;                                                                     \
        }                                                                               \
    } while (0)

/* ---- the scratch folder ---- */
static char zt_tmp_dir[512];

/* The program's scratch folder, made on the first call (NAME names it); a program that cannot make
 * it prints a failure line and exits: none of its tests could mean anything. */
static inline const char *zt_tmpdir(const char *name)
{
    if (!zt_tmp_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(zt_tmp_dir, sizeof zt_tmp_dir, "%s/%s.XXXXXX", t && *t ? t : "/tmp", name);
        if (!mkdtemp(zt_tmp_dir)) {
            perror(zt_tmp_dir);
            printf("0 passed, 1 failed, 0 skipped\n");
            exit(1);
        }
    }
    return zt_tmp_dir;
}

/* REL inside the scratch folder (which must exist: zt_tmpdir first). */
static inline const char *zt_tmp_path(char *buf, size_t cap, const char *rel)
{
    assert(zt_tmp_dir[0] && "call zt_tmpdir() before zt_tmp_path()");
    snprintf(buf, cap, "%s/%s", zt_tmp_dir, rel);
    return buf;
}

/* Writes TEXT to the scratch folder's REL with MODE (a failed check when it cannot); returns the
 * path, in a small ring of buffers, so a few can be used at once. */
static inline const char *zt_write(const char *rel, const char *text, int mode)
{
    static char ring[8][1024];
    static int k;
    char *p = ring[k++ % 8];
    zt_tmp_path(p, sizeof ring[0], rel);
    FILE *f = fopen(p, "wb");
    int ok = f && fputs(text, f) >= 0;
    if (f && fclose(f))
        ok = 0;
    if (!ok || chmod(p, (mode_t)mode)) {
        zt_cur_failed++;
        fprintf(stderr, "  %s: could not write %s\n", zt_cur_name, p);
    }
    return p;
}

static inline int zt_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static inline int zt_done(void)
{
    if (zt_tmp_dir[0] && nftw(zt_tmp_dir, zt_rm_entry, 16, FTW_DEPTH | FTW_PHYS))
        fprintf(stderr, "could not remove %s\n", zt_tmp_dir);
    printf("%d passed, %d failed, %d skipped\n", zt_passed, zt_failed, zt_skipped);
    return zt_failed ? 1 : 0;
}

#endif
