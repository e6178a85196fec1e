/* The Redis store's shared channel: events numbered and published to every replica, cancel requests, and the
 * subscriber that hands them to the orchestrator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/redis_scripts.h"
#include "store/store_redis_internal.h"
#include "util/log.h"

/* ---- the shared channel --------------------------------------------------------------------------------------- */

int store_redis__publish(store_t *store, const event_t *ev)
{
    store_redis_t *r = (store_redis_t *)store;
    if (!r->subscribed)
        return -1; /* we would not hear it back: deliver it here */
    char seq_key[128], channel[128], ts[24];
    store_redis__key(r, seq_key, sizeof(seq_key), "seq", NULL);
    store_redis__key(r, channel, sizeof(channel), "events", NULL);
    snprintf(ts, sizeof(ts), "%lld", (long long)ev->ts_ms);
    char *data = json_dumps(ev->data, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (data == NULL)
        return -1;
    const char *keys[] = {seq_key, channel}, *args[] = {event_type_name(ev->type), ev->run_id, ts, data, r->replica};
    int rc = store_redis__eval(r, SCRIPT_PUBLISH, 2, keys, 5, args, store_redis__write_reply, "publishing an event");
    free(data);
    return rc;
}

void store_redis__request_cancel(store_t *store, const char *run_id)
{
    store_redis_t *r = (store_redis_t *)store;
    char channel[128], msg[64];
    store_redis__key(r, channel, sizeof(channel), "control", NULL);
    snprintf(msg, sizeof(msg), "cancel %s", run_id);
    const char *argv[] = {"PUBLISH", channel, msg};
    store_redis__command(r, 3, argv, store_redis__write_reply, "asking for a cancel");
}

/* "<seq> <ts> <type> <run id> <replica> <data>" from the events channel. */
static void deliver_event(store_redis_t *r, const char *text, size_t len)
{
    char type[16], run_id[16], origin[64];
    unsigned long long seq;
    long long ts;
    int used = 0;
    char head[192];
    snprintf(head, sizeof(head), "%.*s", (int)(len < sizeof(head) - 1 ? len : sizeof(head) - 1), text);
    if (sscanf(head, "%llu %lld %15s %15s %63s %n", &seq, &ts, type, run_id, origin, &used) != 5 || used <= 0) {
        log_warn("redis", "ignoring a malformed event message");
        return;
    }
    event_type_t t = EVENT_TYPE_COUNT;
    for (int i = 0; i < EVENT_TYPE_COUNT; i++)
        if (strcmp(type, event_type_name(i)) == 0)
            t = i;
    json_error_t jerr;
    json_t *data = json_loadb(text + used, len - (size_t)used, 0, &jerr);
    if (t == EVENT_TYPE_COUNT || data == NULL) {
        log_warn("redis", "ignoring an event message: %s", data ? "unknown type" : jerr.text);
        json_decref(data);
        return;
    }
    if (seq <= r->last_seq) {
        json_decref(data); /* already delivered (a duplicate, or the counter went back after Redis lost it) */
        if (r->last_seq - seq > 1000000)
            r->last_seq = seq;
        return;
    }
    r->last_seq = seq;
    event_t ev = {.type = t, .seq = seq, .ts_ms = ts, .local = strcmp(origin, r->replica) == 0, .data = data};
    snprintf(ev.run_id, sizeof(ev.run_id), "%s", run_id);
    if (r->listener.on_event)
        r->listener.on_event(r->listener.data, &ev);
    json_decref(data);
}

static void on_channel_message(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    store_redis_t *r = privdata;
    if (reply == NULL) {
        r->subscribed = 0;
        return;
    }
    const redisReply *kind = store_redis__element(reply, 0, REDIS_REPLY_STRING),
                     *channel = store_redis__element(reply, 1, REDIS_REPLY_STRING),
                     *payload = store_redis__element(reply, 2, REDIS_REPLY_STRING);
    if (kind == NULL || channel == NULL)
        return;
    if (strcmp(kind->str, "subscribe") == 0) {
        /* healthy once both channels are confirmed */
        r->subscribed = reply->element[2]->type == REDIS_REPLY_INTEGER && reply->element[2]->integer == 2;
        return;
    }
    if (strcmp(kind->str, "message") != 0 || payload == NULL)
        return;
    char events[128];
    store_redis__key(r, events, sizeof(events), "events", NULL);
    if (strcmp(channel->str, events) == 0) {
        deliver_event(r, payload->str, payload->len);
    } else if (payload->len > 7 && strncmp(payload->str, "cancel ", 7) == 0 &&
               run_id_valid(payload->str + 7, payload->len - 7) && r->listener.on_cancel) {
        r->listener.on_cancel(r->listener.data, payload->str + 7);
    }
}

void store_redis__sub_ready(void *data, redis_conn_t *conn)
{
    store_redis_t *r = data;
    char events[128], control[128];
    store_redis__key(r, events, sizeof(events), "events", NULL);
    store_redis__key(r, control, sizeof(control), "control", NULL);
    redis_conn_subscribe(conn, on_channel_message, r, events);
    redis_conn_subscribe(conn, on_channel_message, r, control);
}

void store_redis__sub_lost(void *data, redis_conn_t *conn)
{
    (void)conn;
    ((store_redis_t *)data)->subscribed = 0;
}
