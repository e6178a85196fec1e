#include "util/line_split.h"

#include <stdlib.h>
#include <string.h>

void line_split_init(line_split_t *ls, size_t max)
{
    memset(ls, 0, sizeof(*ls));
    ls->max = max;
}

void line_split_dispose(line_split_t *ls)
{
    free(ls->buf);
    memset(ls, 0, sizeof(*ls));
}

void line_split_reset(line_split_t *ls)
{
    ls->len = 0;
    ls->skipping = 0;
}

/* Appends to the pending line; returns 1 when the bound was reached (the line is cut), -1 out of memory. */
static int append(line_split_t *ls, const char *data, size_t n)
{
    int cut = 0;
    if (n > ls->max - ls->len) {
        n = ls->max - ls->len;
        cut = 1;
    }
    if (ls->len + n > ls->cap) {
        size_t cap = ls->cap ? ls->cap : 256;
        while (cap < ls->len + n)
            cap *= 2;
        if (cap > ls->max)
            cap = ls->max;
        char *nb = realloc(ls->buf, cap ? cap : 1);
        if (nb == NULL)
            return -1;
        ls->buf = nb;
        ls->cap = cap;
    }
    if (n > 0)
        memcpy(ls->buf + ls->len, data, n);
    ls->len += n;
    return cut;
}

static int emit(line_split_t *ls, line_split_fn fn, void *ctx, int cut)
{
    size_t len = ls->len;
    if (!cut && len > 0 && ls->buf[len - 1] == '\r')
        len--;
    ls->len = 0;
    return fn(ctx, ls->buf ? ls->buf : "", len, cut);
}

int line_split_feed(line_split_t *ls, const char *data, size_t n, line_split_fn fn, void *ctx)
{
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        if (!ls->skipping) {
            int rc = append(ls, data, take);
            if (rc < 0)
                return -1;
            if (rc == 1) {
                ls->skipping = 1;
                if (emit(ls, fn, ctx, 1) != 0)
                    return -1;
            }
        }
        if (nl == NULL)
            return 0;
        if (!ls->skipping && emit(ls, fn, ctx, 0) != 0)
            return -1;
        ls->len = 0;
        ls->skipping = 0;
        data = nl + 1;
        n -= take + 1;
    }
    return 0;
}

int line_split_finish(line_split_t *ls, line_split_fn fn, void *ctx)
{
    int rc = 0;
    if (ls->len > 0 && !ls->skipping)
        rc = emit(ls, fn, ctx, 0);
    line_split_reset(ls);
    return rc;
}
