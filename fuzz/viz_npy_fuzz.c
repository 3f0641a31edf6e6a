/* libFuzzer target: viz_npy_parse (`zembed map --input FILE.npy`). Accepted files give a matrix of
 * finite floats of the shape the header says; refused ones a known error with a message. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "viz_npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    float *m = NULL;
    int r = 0, c = 0;
    zb_err err;
    zb_clear(&err);
    int rc = viz_npy_parse(data, size, "fuzz.npy", &m, &r, &c, &err);
    if (rc) {
        fuzz_check_err(rc, &err);
        FUZZ_ASSERT(m == NULL);
        return 0;
    }
    FUZZ_ASSERT(r >= 1 && c >= 1 && (size_t)r * (size_t)c * 4 <= size);
    for (size_t i = 0; i < (size_t)r * c; i++)
        FUZZ_ASSERT(isfinite(m[i]));
    free(m);
    return 0;
}
