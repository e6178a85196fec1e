#include "exec/log_tail.h"

#include <stdio.h>
#include <string.h>

#include "util/text.h"

void log_tail_add(log_tail_t *t, const char *line, size_t len)
{
    char text[LOG_TAIL_LINE_MAX];
    /* a bounded look at the line: its repair may only grow it, and what does not fit is cut anyway */
    size_t n = text_sanitize_utf8(text, sizeof(text), line, len < 4 * LOG_TAIL_LINE_MAX ? len : 4 * LOG_TAIL_LINE_MAX);
    if (n == 0)
        return;
    if (t->count == LOG_TAIL_LINES) {
        memmove(t->lines[0], t->lines[1], sizeof(t->lines[0]) * (LOG_TAIL_LINES - 1));
        t->count--;
    }
    memcpy(t->lines[t->count++], text, n + 1);
}

void log_tail_clear(log_tail_t *t)
{
    t->count = 0;
}

size_t log_tail_join(const log_tail_t *t, char *out, size_t cap, const char *sep)
{
    size_t n = 0;
    if (cap == 0)
        return 0;
    out[0] = '\0';
    for (int i = 0; i < t->count && n < cap - 1; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", i ? sep : "", t->lines[i]);
        n = w < 0 ? n : n + (size_t)w < cap ? n + (size_t)w : cap - 1;
    }
    text_trim_partial_utf8(out); /* a line cut by the end of `out` */
    return strlen(out);
}
