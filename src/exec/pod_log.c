#include "exec/pod_log.h"

#include <stdint.h>
#include <string.h>

#include "util/clock.h"

void pod_log_drop_own_time(const char **line, size_t *len)
{
    int64_t own;
    size_t used;
    if (clock_parse_iso8601_prefix(*line, *len, &own, &used) != 0)
        return;
    while (used < *len && (*line)[used] == ' ')
        used++;
    *line += used;
    *len -= used;
}

size_t pod_log_compose(const char *ts, const char *line, size_t len, char *out)
{
    size_t tslen = ts ? strlen(ts) : 0, n = 0;
    if (tslen > POD_LOG_LINE_CAP - KUBE_LOG_LINE_MAX - 1)
        tslen = 0;
    if (len > KUBE_LOG_LINE_MAX)
        len = KUBE_LOG_LINE_MAX;
    if (tslen) {
        memcpy(out, ts, tslen);
        out[tslen] = ' ';
        n = tslen + 1;
    }
    memcpy(out + n, line, len);
    return n + len;
}
