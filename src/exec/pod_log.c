#include "exec/pod_log.h"

#include <stdint.h>
#include <string.h>

#include "util/clock.h"

kube_logs_t *pod_log_follow(kube_client_t *kube, const char *pod, int64_t since_ms, unsigned since_count,
                            int max_waits, const kube_logs_callbacks_t *cbs)
{
    kube_logs_opts_t opts = {.pod = pod, .follow = 1, .max_waits = max_waits};
    char since[CLOCK_RFC3339_LEN + 1];
    if (since_ms > 0) {
        /* millisecond precision: the lines are compared in that millisecond, not from its start */
        clock_format_rfc3339(since_ms, since);
        opts.since_time = since;
        opts.since_count = since_count;
    }
    return kube_logs_start(kube, &opts, cbs);
}

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
