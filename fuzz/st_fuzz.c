/* libFuzzer target: the safetensors parser (encoder_svc/st.h) on a fuzzed file.
 * Invariants for a file it accepts: every tensor's byte count is numel x dtype size with numel the
 * product of its shape; the tensors tile the data buffer exactly (sorted by address, each ends
 * where the next begins, first at byte 8 + header length, last at the end of the file); every
 * byte of every tensor is readable; st_find finds each tensor by its name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "st.h"

static int by_address(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    return x->data < y->data ? -1 : x->data > y->data;
}

static void check_file(const st_file *f, const uint8_t *data, size_t size)
{
    int n = st_count(f);
    FUZZ_ASSERT(n >= 0 && size >= 8);
    uint64_t hlen = 0;
    for (int b = 7; b >= 0; b--)
        hlen = hlen << 8 | data[b];
    FUZZ_ASSERT(hlen <= size - 8);
    const st_tensor **by = malloc(sizeof *by * (size_t)(n ? n : 1));
    FUZZ_ASSERT(by != NULL);
    volatile unsigned sum = 0;
    for (int i = 0; i < n; i++) {
        const st_tensor *t = st_tensor_at(f, i);
        FUZZ_ASSERT(t && t->name && (int)t->dtype >= 0 && t->dtype < ST_DTYPE_COUNT);
        FUZZ_ASSERT(t->ndim >= 0 && t->ndim <= ST_MAX_DIMS);
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            FUZZ_ASSERT(t->shape[d] >= 0);
            numel *= t->shape[d];
        }
        FUZZ_ASSERT(numel == t->numel);
        FUZZ_ASSERT(t->nbytes == (size_t)numel * st_dtype_size(t->dtype));
        FUZZ_ASSERT(st_find(f, t->name) == t);
        for (size_t k = 0; k < t->nbytes; k++)
            sum += t->data[k];
        char buf[256];
        st_shape_str(t->shape, t->ndim, buf, sizeof buf);
        FUZZ_ASSERT(strlen(st_dtype_name(t->dtype)) > 0);
        by[i] = t;
    }
    qsort(by, (size_t)n, sizeof *by, by_address);
    size_t covered = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0)
            FUZZ_ASSERT(by[i - 1]->data + by[i - 1]->nbytes == by[i]->data);
        covered += by[i]->nbytes;
    }
    FUZZ_ASSERT(covered == size - 8 - hlen);
    /* Tensor bytes are the file's bytes at their offsets. */
    if (n > 0 && by[0]->nbytes)
        FUZZ_ASSERT(memcmp(by[0]->data, data + 8 + hlen, by[0]->nbytes) == 0);
    free(by);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_put("model.safetensors", data, size);
    char path[256];
    snprintf(path, sizeof path, "%s/model.safetensors", fuzz_dir());
    zb_err err;
    zb_clear(&err);
    st_file *f = st_open(path, &err);
    if (!f) {
        FUZZ_ASSERT(err.code < 0);
        fuzz_check_err(err.code, &err);
        return 0;
    }
    check_file(f, data, size);
    st_close(f);
    return 0;
}
