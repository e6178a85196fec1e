/* libFuzzer target: Kubernetes quantities (src/kube/kube_quantity.c): any text parses or is refused without a
 * fault, and an accepted value is consistent: written back in plain decimal it parses to the same value, and its
 * roundings up and down bracket it. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kube/kube_quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kube_quantity_t q;
    int rc = kube_quantity_parse_n((const char *)data, size, &q);
    if (rc != 0 && rc != -EINVAL && rc != -ERANGE)
        abort();
    if (rc != 0)
        return 0;
    if (q.whole > INT64_MAX || q.nano >= 1000000000u || (q.negative && q.whole == 0 && q.nano == 0))
        abort();
    char text[64];
    snprintf(text, sizeof(text), "%s%" PRIu64 ".%09" PRIu32, q.negative ? "-" : "", q.whole, q.nano);
    kube_quantity_t back;
    if (kube_quantity_parse(text, &back) != 0 || kube_quantity_cmp(&q, &back) != 0)
        abort();
    for (int exp10 = -9; exp10 <= 18; exp10++) {
        int64_t up, down;
        int ru = kube_quantity_scaled(&q, exp10, 1, &up), rd = kube_quantity_scaled(&q, exp10, 0, &down);
        if (ru == 0 && rd == 0 && (up < down || up - down > 1))
            abort();
        if ((ru != 0 && ru != -ERANGE) || (rd != 0 && rd != -ERANGE))
            abort();
    }
    (void)kube_quantity_double(&q);
    return 0;
}
