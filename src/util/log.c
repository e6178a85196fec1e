#include "util/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/text.h"

static int log_json;
static log_level_t log_min = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_setup(int json, log_level_t min_level)
{
    log_json = json;
    log_min = min_level;
}

void log_msg(log_level_t level, const char *area, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char msg[2048], ts[CLOCK_RFC3339_LEN + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    clock_format_rfc3339(clock_now_ms(), ts);

    if (log_json) {
        char clean[3 * sizeof(msg)]; /* JSON takes UTF-8 only: a message quoting task output may not be */
        text_sanitize_utf8(clean, sizeof(clean), msg, strlen(msg));
        json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "ts", ts, "level", level_names[level], "area", area, "msg", clean);
        char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (line)
            fprintf(stderr, "%s\n", line);
        free(line);
        json_decref(o);
    } else {
        fprintf(stderr, "%s %-5s %-6s %s\n", ts, level_names[level], area, msg);
    }
}
