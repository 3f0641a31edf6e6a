/* fuzz_util: what the libFuzzer targets share. Header-only on purpose: every .c in fuzz/ that is
 * not a *_fuzz.c target would go into libzembed.a.
 *
 * Parsers that read files (model folders, safetensors) get the fuzzer's bytes written into a
 * private temp folder, created once per process and removed at exit. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zb_err.h"

static char fuzz_dir_[64];

static void fuzz_rmdir_(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_);
    if (fuzz_dir_[0] && system(cmd) != 0)
        fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir_);
}

/* The per-process temp folder (aborts if it cannot be made: the target cannot run without it). */
static inline const char *fuzz_dir(void)
{
    if (!fuzz_dir_[0]) {
        /* $TMPDIR first: the smoke test points it into its own folder, which it removes even
         * when a crash ends the process before atexit handlers run. */
        const char *tmp = getenv("TMPDIR");
        snprintf(fuzz_dir_, sizeof fuzz_dir_, "%s/zembed-fuzz.XXXXXX",
                 tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
        if (!mkdtemp(fuzz_dir_)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_rmdir_);
    }
    return fuzz_dir_;
}

/* Write (or with data == NULL, delete) fuzz_dir()/rel. */
static inline void fuzz_put(const char *rel, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), rel);
    if (!data) {
        unlink(path);
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len)) {
        perror(path);
        abort();
    }
    fclose(f);
}

static inline void fuzz_mkdir(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), rel);
    mkdir(path, 0700);
}

/* A returned error must carry a known code and a message: callers print err.msg to users. */
static inline void fuzz_check_err(int rc, const zb_err *err)
{
    if (rc >= 0)
        return;
    if (strcmp(zb_code_name(rc), "unknown") == 0 || err->msg[0] == '\0') {
        fprintf(stderr, "fuzz: error %d without a known code or message: '%s'\n", rc, err->msg);
        abort();
    }
}

#define FUZZ_ASSERT(cond)                                                                   \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "fuzz: invariant broken at %s:%d: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                                 \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

#endif
