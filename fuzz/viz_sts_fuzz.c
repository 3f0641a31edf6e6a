/* libFuzzer target: viz_sts_parse (STS Benchmark / SICK files, `zembed eval sts --data`).
 * Input: the first byte picks the split argument (default, "all", "TEST", "train"), the rest is
 * the file. Accepted files must give >= 2 pairs with finite scores and NUL-free sentences; refused
 * ones a known error code with a message. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "viz_sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const splits[] = {NULL, "all", "TEST", "train"};
    if (size < 1)
        return 0;
    const char *split = splits[data[0] & 3];
    viz_sts s;
    zb_err err;
    zb_clear(&err);
    int rc = viz_sts_parse((const char *)data + 1, size - 1, "fuzz.tsv", split, &s, &err);
    if (rc) {
        fuzz_check_err(rc, &err);
        FUZZ_ASSERT(s.n == 0 && !s.a);
        return 0;
    }
    FUZZ_ASSERT(s.n >= 2);
    for (int i = 0; i < s.n; i++) {
        FUZZ_ASSERT(isfinite(s.gold[i]));
        FUZZ_ASSERT(!strchr(s.a[i], '\t') && !strchr(s.b[i], '\t'));
    }
    viz_sts_free(&s);
    return 0;
}
