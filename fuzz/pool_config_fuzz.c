/* libFuzzer target: pool_config_load on a fuzzed model folder.
 * Input: modules.json, a NUL byte, then the Pooling config.json; without a NUL byte the whole
 * input is 1_Pooling/config.json and there is no modules.json (the other way ST folders come). */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "pool.h"

static void check_config(const pool_config *c, int hidden)
{
    FUZZ_ASSERT(c->n_modes >= 1 && c->n_modes <= POOL_N_MODES);
    FUZZ_ASSERT(c->out_dim == c->n_modes * c->dim);
    FUZZ_ASSERT(hidden <= 0 || c->dim == hidden);
    FUZZ_ASSERT(c->dim >= 1);
    FUZZ_ASSERT(c->normalize == 0 || c->normalize == 1);
    FUZZ_ASSERT(c->mode == c->modes[0]);
    for (int i = 0; i < c->n_modes; i++) {
        FUZZ_ASSERT(c->modes[i] >= 0 && c->modes[i] < POOL_N_MODES);
        for (int k = 0; k < i; k++)
            FUZZ_ASSERT(c->modes[k] != c->modes[i]);
    }
    char desc[128];
    pool_config_describe(c, desc, sizeof desc);
    FUZZ_ASSERT(strlen(desc) > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    fuzz_mkdir("1_Pooling");
    if (nul) {
        fuzz_put("modules.json", data, (size_t)(nul - data));
        fuzz_put("1_Pooling/config.json", nul + 1, size - (size_t)(nul - data) - 1);
    } else {
        fuzz_put("modules.json", NULL, 0);
        fuzz_put("1_Pooling/config.json", data, size);
    }
    static const int HIDDEN[] = { 384, 0 };
    for (size_t i = 0; i < sizeof HIDDEN / sizeof HIDDEN[0]; i++) {
        pool_config c;
        zb_err err;
        zb_clear(&err);
        int rc = pool_config_load(fuzz_dir(), HIDDEN[i], &c, &err);
        fuzz_check_err(rc, &err);
        if (rc == ZB_OK)
            check_config(&c, HIDDEN[i]);
    }
    return 0;
}
