/* libFuzzer target: worker heartbeats as the gateway's control port reads them (common/svc_hb.h),
 * including the encoders' optional batch counts. Invariants: an accepted beat names a worker stage,
 * its held job numbers lie inside the frame, and its batch counts are what the frame says. */
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
    (void)sum;
    return 0;
}
