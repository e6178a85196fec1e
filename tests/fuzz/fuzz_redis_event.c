/* libFuzzer target: the events channel format read back from Redis (src/store/redis_event.c), then the event as
 * every stream client gets it (event_to_json). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/events.h"
#include "store/redis_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    event_t ev;
    char origin[REDIS_EVENT_ORIGIN_MAX], why[160];
    if (redis_event_parse((const char *)data, size, &ev, origin, why, sizeof(why)) != 0) {
        if (why[0] == '\0')
            abort();
        return 0;
    }
    size_t len = 0;
    char *text = event_to_json(&ev, &len);
    if (text == NULL || strlen(text) != len)
        abort(); /* an accepted event always reaches the clients */
    free(text);
    json_decref(ev.data);
    return 0;
}
