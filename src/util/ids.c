#include "util/ids.h"

#include <stdint.h>
#include <sys/random.h>
#include <time.h>

void run_id_generate(char out[RUN_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        /* getrandom on Linux >= 3.17 does not fail for 8 bytes; keep a fallback anyway. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
    }
    out[0] = 'r';
    for (int i = 1; i < RUN_ID_LEN; i++, r >>= 4)
        out[i] = hex[r & 0xf];
    out[RUN_ID_LEN] = '\0';
}

int run_id_valid(const char *s, size_t len)
{
    if (len != RUN_ID_LEN || s[0] != 'r')
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}
