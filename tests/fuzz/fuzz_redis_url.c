/* libFuzzer target: REDIS_URL (src/store/redis_url.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/redis_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    memcpy(url, data, size);
    url[size] = '\0';
    redis_url_t out;
    char err[256];
    if (redis_url_parse(url, &out, err, sizeof(err)) == 0) {
        if (out.port < 1 || out.port > 65535 || out.db < 0 || out.host[0] == '\0')
            abort();
    } else if (err[0] == '\0') {
        abort();
    }
    char small[8];
    redis_url_parse(url, &out, small, sizeof(small));
    free(url);
    return 0;
}
