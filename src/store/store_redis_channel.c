/* The Redis store's shared channel: events numbered and published to every replica, cancel requests, and the
 * subscriber that hands them to the orchestrator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/redis_event.h"
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

/* One message of the events channel (its format: redis_event.h). */
static void deliver_event(store_redis_t *r, const char *text, size_t len)
{
    event_t ev;
    char origin[REDIS_EVENT_ORIGIN_MAX], why[160];
    if (redis_event_parse(text, len, &ev, origin, why, sizeof(why)) != 0) {
        log_warn("redis", "ignoring an event message: %s", why);
        return;
    }
    json_t *data = ev.data;
    uint64_t seq = ev.seq;
    if (seq <= r->last_seq) {
        json_decref(data); /* already delivered (a duplicate, or the counter went back after Redis lost it) */
        if (r->last_seq - seq > 1000000)
            r->last_seq = seq;
        return;
    }
    r->last_seq = seq;
    ev.local = strcmp(origin, r->replica) == 0;
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
    } else if (payload->len > 8 && strncmp(payload->str, "release ", 8) == 0 &&
               run_id_valid(payload->str + 8, payload->len - 8) && r->listener.on_release) {
        r->listener.on_release(r->listener.data, payload->str + 8);
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
