#include "util/usage_line.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SECONDS 1e8    /* three years: anything above is not a task's */
#define MAX_BYTES   (1LL << 56)

void usage_line_init(usage_line_t *u)
{
    *u = (usage_line_t){.wall = -1, .user = -1, .sys = -1, .maxrss = -1, .rchar = -1, .wchar = -1, .exit_code = -1};
}

size_t usage_line_format(const usage_line_t *u, char out[USAGE_LINE_MAX])
{
    int n = snprintf(out, USAGE_LINE_MAX, USAGE_LINE_PREFIX "wall=%.6f user=%.6f sys=%.6f maxrss=%lld rchar=%lld "
                     "wchar=%lld exit=%d\n", u->wall, u->user, u->sys, (long long)u->maxrss, (long long)u->rchar,
                     (long long)u->wchar, u->exit_code);
    return n < 0 ? 0 : (size_t)n >= USAGE_LINE_MAX ? USAGE_LINE_MAX - 1 : (size_t)n;
}

/* A number in [0, max] spelled with digits and at most one '.', nothing else. */
static int read_number(const char *s, size_t len, double max, double *out)
{
    char buf[40];
    int dots = 0;
    if (len == 0 || len >= sizeof(buf))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.' && i > 0 && ++dots == 1)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v) || v > max)
        return -1;
    *out = v;
    return 0;
}

static void take(usage_line_t *u, const char *key, size_t klen, const char *val, size_t vlen)
{
    static const struct {
        const char *name;
        int integer;
        double max;
        size_t off;
    } keys[] = {
        {"wall", 0, MAX_SECONDS, offsetof(usage_line_t, wall)},
        {"user", 0, MAX_SECONDS, offsetof(usage_line_t, user)},
        {"sys", 0, MAX_SECONDS, offsetof(usage_line_t, sys)},
        {"maxrss", 1, (double)MAX_BYTES, offsetof(usage_line_t, maxrss)},
        {"rchar", 1, (double)MAX_BYTES, offsetof(usage_line_t, rchar)},
        {"wchar", 1, (double)MAX_BYTES, offsetof(usage_line_t, wchar)},
    };
    double v;
    if (klen == 4 && memcmp(key, "exit", 4) == 0) {
        if (read_number(val, vlen, 255, &v) == 0 && v == floor(v))
            u->exit_code = (int)v;
        return;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strlen(keys[i].name) != klen || memcmp(keys[i].name, key, klen) != 0)
            continue;
        if (read_number(val, vlen, keys[i].max, &v) != 0 || (keys[i].integer && v != floor(v)))
            return;
        if (keys[i].integer)
            *(int64_t *)((char *)u + keys[i].off) = (int64_t)v;
        else
            *(double *)((char *)u + keys[i].off) = v;
        return;
    }
}

int usage_line_parse(const char *line, size_t len, usage_line_t *u)
{
    size_t plen = sizeof(USAGE_LINE_PREFIX) - 1;
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    if (len < plen || memcmp(line, USAGE_LINE_PREFIX, plen) != 0 || len > USAGE_LINE_MAX)
        return 0;
    usage_line_init(u);
    for (size_t i = plen; i < len;) {
        size_t end = i;
        while (end < len && line[end] != ' ')
            end++;
        const char *eq = memchr(line + i, '=', end - i);
        if (eq)
            take(u, line + i, (size_t)(eq - (line + i)), eq + 1, (size_t)(line + end - (eq + 1)));
        i = end + 1;
    }
    return 1;
}
