/* libFuzzer target: the request-head framing check (src/http/framing.c), X-Forwarded-For and TRUSTED_PROXIES
 * (src/http/client_addr.c, src/util/cidr.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/client_addr.h"
#include "http/framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *detail = NULL;
    int status = http_framing_check_head((const char *)data, size, &detail);
    if (status != 0 && ((status != 400 && status != 431) || detail == NULL))
        abort();

    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    cidr_list_t trusted;
    char err[160];
    if (cidr_list_parse(text, &trusted, err, sizeof(err)) != 0)
        cidr_list_parse("10.0.0.0/8, ::1, 2001:db8::/32", &trusted, err, sizeof(err));
    static const uint8_t peer[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
    uint8_t out[16];
    client_addr_resolve(peer, (const char *)data, size, &trusted, out);
    free(text);
    return 0;
}
