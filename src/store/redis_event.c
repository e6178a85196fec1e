#include "store/redis_event.h"

#include <stdio.h>
#include <string.h>

#include "util/ids.h"

int redis_event_parse(const char *text, size_t len, event_t *ev, char origin[REDIS_EVENT_ORIGIN_MAX], char *why,
                      size_t whylen)
{
    char type[16], run_id[16];
    unsigned long long seq;
    long long ts;
    int used = 0;
    char head[192];
    memset(ev, 0, sizeof(*ev));
    snprintf(head, sizeof(head), "%.*s", (int)(len < sizeof(head) - 1 ? len : sizeof(head) - 1), text);
    if (sscanf(head, "%llu %lld %15s %15s %63s %n", &seq, &ts, type, run_id, origin, &used) != 5 || used <= 0) {
        snprintf(why, whylen, "malformed head");
        return -1;
    }
    if (strcmp(run_id, "none") != 0 && !run_id_valid(run_id, strlen(run_id))) {
        snprintf(why, whylen, "not a run id");
        return -1;
    }
    event_type_t t = EVENT_TYPE_COUNT;
    for (int i = 0; i < EVENT_TYPE_COUNT; i++)
        if (strcmp(type, event_type_name(i)) == 0)
            t = i;
    if (t == EVENT_TYPE_COUNT) {
        snprintf(why, whylen, "unknown type");
        return -1;
    }
    json_error_t jerr;
    json_t *data = json_loadb(text + used, len - (size_t)used, 0, &jerr);
    if (!json_is_object(data)) {
        snprintf(why, whylen, "%s", data ? "data is not an object" : jerr.text);
        json_decref(data);
        return -1;
    }
    ev->type = t;
    ev->seq = seq;
    ev->ts_ms = ts;
    ev->data = data;
    snprintf(ev->run_id, sizeof(ev->run_id), "%s", run_id);
    return 0;
}
