/* libFuzzer target: the stream envelope written straight into its frame (src/model/event_wire.c, ws_frame_build)
 * must be byte for byte what the jansson path gave (pack the envelope, dump it, frame a copy) for any data (any
 * JSON value the input holds), run id, time and seq; when jansson could not encode it, neither may the new path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/ws_frame.h"
#include "model/event_wire.h"
#include "model/run.h"

static int produce(const void *src, ws_frame_sink_fn sink, void *ctx)
{
    return event_wire_write(src, sink, ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 32 bytes of head (type, run id, time, seq, size hint), then the data's JSON text */
    if (size < 32)
        return 0;
    event_t ev = {.type = (event_type_t)(data[0] % EVENT_TYPE_COUNT), .local = 1};
    memcpy(ev.run_id, data + 1, 15);
    ev.run_id[15] = '\0';
    memcpy(&ev.ts_ms, data + 16, 8);
    memcpy(&ev.seq, data + 24, 8);
    if (data[0] & 0x80)
        ev.ts_ms %= 1000LL * 86400 * 366 * 9000; /* also within the years RFC 3339 can write */
    size_t hint = (size_t)data[1] * 37;
    json_error_t jerr;
    ev.data = json_loadb((const char *)data + 32, size - 32, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (ev.data == NULL)
        return 0;

    json_t *o = json_pack("{s:s,s:O,s:o,s:s,s:I}", "type", event_type_name(ev.type), "data", ev.data, "timestamp",
                          run_time_json(ev.ts_ms), "run_id", ev.run_id, "seq", (json_int_t)ev.seq);
    char *ref = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(o);
    size_t len = 0;
    char *text = event_to_json(&ev, &len);
    ws_frame_t *f = ws_frame_build(WS_OP_TEXT, produce, &ev, hint, 3);
    if ((ref == NULL) != (text == NULL) || (ref == NULL) != (f == NULL))
        abort();
    if (ref != NULL) {
        size_t ref_len = strlen(ref);
        ws_frame_t *want = ws_frame_new(WS_OP_TEXT, ref, ref_len, 3);
        if (len != ref_len || memcmp(text, ref, len) != 0 || f->len != want->len ||
            memcmp(f->data, want->data, f->len) != 0 || f->seq != 3 || f->refs != 1)
            abort();
        ws_frame_unref(want);
        ws_frame_unref(f);
    }
    free(ref);
    free(text);
    json_decref(ev.data);
    return 0;
}
