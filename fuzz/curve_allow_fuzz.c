/* libFuzzer target: CURVE allow-lists (common/zb_curve.h), untrusted text files.
 * Invariants: an accepted list holds only keys that re-encode to 40 Z85 characters and are found
 * by zb_curve_allow_has; a refused one has an error naming the file. */
#include <stdint.h>
#include <string.h>
#include <zmq.h>

#include "fuzz_util.h"
#include "zb_curve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zb_err err;
    zb_clear(&err);
    zb_curve_allow *a = zb_curve_allow_parse("f.allow", (const char *)data, size, &err);
    if (!a) {
        FUZZ_ASSERT(err.code < 0 && strstr(err.msg, "f.allow"));
        return 0;
    }
    FUZZ_ASSERT(zb_curve_allow_count(a) >= 0);
    FUZZ_ASSERT(zb_curve_allow_disjoint(a, a, &err) == (zb_curve_allow_count(a) ? ZB_EINVAL : ZB_OK));
    uint8_t zero[32] = {0};
    (void)zb_curve_allow_has(a, zero);
    zb_curve_allow_destroy(&a);
    FUZZ_ASSERT(a == NULL);
    return 0;
}
