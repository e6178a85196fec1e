#include "exec/line_reader.h"

#include <string.h>

void line_reader_feed(line_reader_t *lr, const char *data, size_t n, line_reader_fn fn, void *ctx)
{
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        if (!lr->skipping) {
            if (lr->len + take <= LINE_READER_MAX) {
                memcpy(lr->buf + lr->len, data, take);
                lr->len += take;
            } else {
                size_t room = LINE_READER_MAX - lr->len;
                memcpy(lr->buf + lr->len, data, room);
                memcpy(lr->buf + LINE_READER_MAX, LINE_READER_CUT_MARK, sizeof(LINE_READER_CUT_MARK) - 1);
                fn(ctx, lr->buf, LINE_READER_MAX + sizeof(LINE_READER_CUT_MARK) - 1);
                lr->len = 0;
                lr->skipping = 1;
            }
        }
        if (nl == NULL)
            return;
        if (!lr->skipping)
            fn(ctx, lr->buf, lr->len);
        lr->len = 0;
        lr->skipping = 0;
        data = nl + 1;
        n -= take + 1;
    }
}

void line_reader_finish(line_reader_t *lr, line_reader_fn fn, void *ctx)
{
    if (lr->len > 0 && !lr->skipping)
        fn(ctx, lr->buf, lr->len);
    lr->len = 0;
    lr->skipping = 0;
}
