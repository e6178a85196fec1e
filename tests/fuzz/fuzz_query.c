/* libFuzzer target: query strings (src/http/query.c): finding a parameter and percent-decoding it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"batch_count", "limit", "since", "a", ""};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char out[64];
        memset(out, 'x', sizeof(out));
        int rc = query_get((const char *)data, size, names[i], out, sizeof(out));
        if (rc == 1 && memchr(out, '\0', sizeof(out)) == NULL)
            abort(); /* a found value is NUL-terminated within the buffer */
        if (rc < -1 || rc > 1)
            abort();
    }
    char tiny[1];
    query_get((const char *)data, size, "a", tiny, sizeof(tiny));
    return 0;
}
