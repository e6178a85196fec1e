/* libFuzzer target: the run request body and query-integer validation (src/http/validate.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const validate_limits_t limits = {5, 12, 100};
    char triggered_by[4 * TRIGGERED_BY_MAX + 1];
    run_params_t params;
    json_t *errors = json_array();
    if (validate_run_body((const char *)data, size, &limits, &params, triggered_by, sizeof(triggered_by), errors) ==
        0) {
        if (params.batch_count < 1 || params.batch_count > 12 || json_array_size(errors) != 0)
            abort();
    } else if (json_array_size(errors) == 0) {
        abort(); /* a refusal always says why */
    }
    json_decref(errors);

    /* the same bytes as a decoded query value */
    char *raw = malloc(size + 1);
    memcpy(raw, data, size);
    raw[size] = '\0';
    long long out = 0;
    errors = json_array();
    if (validate_query_int(raw, "limit", 1, 100, 10, &out, errors) == 0 && (out < 1 || out > 100))
        abort();
    json_decref(errors);
    free(raw);
    return 0;
}
