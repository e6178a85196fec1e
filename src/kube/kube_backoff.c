/* Backoff between retries: exponential, capped, with jitter so that replicas do not retry in step. */
#include "kube/kube_internal.h"

uint64_t kube_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, long retry_after_s, uint32_t random)
{
    if (retry_after_s > 0) {
        uint64_t ra = (uint64_t)retry_after_s * 1000;
        return ra < cap_ms ? ra : cap_ms;
    }
    uint64_t d = base_ms;
    for (unsigned i = 0; i < attempt && d < cap_ms; i++)
        d *= 2;
    if (d > cap_ms)
        d = cap_ms;
    uint64_t half = d / 2;
    return half + (half ? random % (half + 1) : 0); /* in [d/2, d] */
}
