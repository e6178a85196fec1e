/* libFuzzer target: run records read back from Redis (src/model/run_codec.c); a record that reads back must
 * encode again and read back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/run_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    run_t *run = run_from_record_text((const char *)data, size, err, sizeof(err));
    if (run == NULL)
        return 0;
    char *again = run_record_dumps(run, "fuzz");
    if (again == NULL)
        abort();
    run_t *run2 = run_from_record_text(again, strlen(again), err, sizeof(err));
    if (run2 == NULL)
        abort();
    char *third = run_record_dumps(run2, "fuzz");
    if (third == NULL || strcmp(again, third) != 0)
        abort();
    free(third);
    free(again);
    run_destroy(run2);
    run_destroy(run);
    return 0;
}
