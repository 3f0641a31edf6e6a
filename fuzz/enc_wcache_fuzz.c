/* libFuzzer target: enc_wcache_parse, the reader of the prepared-weight cache file (enc_wcache.c),
 * for the tiny preset's shapes with one layer (hidden 32, FFN 64).
 * Input: the file. Its key and kernel fields are overwritten with this process's own before
 * parsing (a real file carries the CPU's kernel string, so seeds made on one CPU still reach the
 * records on another); the precision is the header's (bf16 or int8, else int8).
 * Invariants: a file is accepted only if every record fits the buffer exactly; an accepted file's
 * weights run a linear layer; a rejected one leaves nothing allocated (ASan's leak check). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enc_impl.h"
#include "fuzz_util.h"

#define KEY_AT 40      /* wc_head: magic 8, six u32, u64 bytes, then key[72], kernel[160] */
#define KERNEL_AT 112
#define HEAD 320

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enc_precision p = ENC_PREC_INT8;
    if (size >= 16 && data[12] == ENC_PREC_BF16 && !data[13] && !data[14] && !data[15])
        p = ENC_PREC_BF16;
    char kernel[160];
    if (enc_mm_init(p, kernel, sizeof kernel, NULL))
        return 0;   /* this CPU cannot run p: nothing to parse against */
    static const char key[65] = "00000000000000000000000000000000"
                                "00000000000000000000000000000000";
    unsigned char *buf = aligned_alloc(64, (size + 63) / 64 * 64 + 64);
    FUZZ_ASSERT(buf != NULL);
    memcpy(buf, data, size);
    if (size >= HEAD) {
        memset(buf + KEY_AT, 0, 72);
        memcpy(buf + KEY_AT, key, 64);
        memset(buf + KERNEL_AT, 0, 160);
        memcpy(buf + KERNEL_AT, kernel, strlen(kernel));
    }
    enc_config c = {.hidden = 32, .layers = 1, .heads = 4, .intermediate = 64};
    enc_mm_w *mm[ENC_MM_PER_LAYER] = {0};
    zb_err err;
    zb_clear(&err);
    int rc = enc_wcache_parse(&c, p, key, kernel, buf, size, mm, &err);
    fuzz_check_err(rc, &err);
    if (rc == ZB_OK) {   /* the weights must run */
        enc_mm_act act;
        float x[3 * 64], y[3 * 96];
        for (int i = 0; i < 3 * 64; i++)
            x[i] = (float)(i % 7) - 3;
        FUZZ_ASSERT(enc_mm_act_alloc(&act, p, 3, 64) == 0);
        FUZZ_ASSERT(enc_mm_linear(mm[ENC_MM_QKV], x, 3, y, 96, &act, &err) == 0);
        FUZZ_ASSERT(enc_mm_linear(mm[ENC_MM_F], x, 3, y, 32, &act, &err) == 0);
        enc_mm_act_free(&act);
    }
    for (int i = 0; i < ENC_MM_PER_LAYER; i++)
        enc_mm_free(mm[i]);
    free(buf);
    return 0;
}
