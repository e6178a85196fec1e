/*
 * The memory store: one process, so the lock is a field and the orchestrator's own state is the state. Nothing
 * is shared, so the read operations are never called (the orchestrator answers from memory).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

typedef struct store_memory {
    store_t super;
    char holder[RUN_ID_LEN + 1]; /* empty: free */
} store_memory_t;

static void mem_set_listener(store_t *store, const store_listener_t *listener)
{
    (void)store, (void)listener;
}

static void mem_acquire(store_t *store, const run_t *run, store_acquire_cb cb, void *data)
{
    store_memory_t *m = (store_memory_t *)store;
    if (m->holder[0] != '\0') {
        cb(data, STORE_HELD, NULL, NULL);
        return;
    }
    snprintf(m->holder, sizeof(m->holder), "%s", run->id);
    cb(data, STORE_ACQUIRED, NULL, NULL);
}

static void mem_renew(store_t *store, const run_t *run, store_renew_cb cb, void *data)
{
    cb(data, strcmp(((store_memory_t *)store)->holder, run->id) == 0);
}

static void mem_save_active(store_t *store, const run_t *run)
{
    (void)store, (void)run;
}

static void mem_save_finished(store_t *store, const run_t *run, const char *report_json, int ours)
{
    (void)report_json;
    store_memory_t *m = (store_memory_t *)store;
    if (ours && strcmp(m->holder, run->id) == 0)
        m->holder[0] = '\0';
}

static int mem_publish(store_t *store, const event_t *ev)
{
    (void)store, (void)ev;
    return -1; /* nobody else to tell: events are delivered locally */
}

static void mem_request_cancel(store_t *store, const char *run_id)
{
    (void)store, (void)run_id;
}

static void mem_load_status(store_t *store, store_status_cb cb, void *data)
{
    (void)store;
    cb(data, 0, NULL, 0, NULL);
}

static void mem_load_runs(store_t *store, int limit, store_runs_cb cb, void *data)
{
    (void)store, (void)limit;
    cb(data, 0, NULL, 0);
}

static void mem_load_run(store_t *store, const char *run_id, store_runs_cb cb, void *data)
{
    (void)store, (void)run_id;
    cb(data, 0, NULL, 0);
}

static void mem_load_report(store_t *store, const char *run_id, store_text_cb cb, void *data)
{
    (void)store, (void)run_id;
    cb(data, 0, NULL, 0);
}

static void mem_find_orphan(store_t *store, const char *candidate, store_orphan_cb cb, void *data)
{
    (void)store, (void)candidate;
    cb(data, NULL, NULL);
}

static int mem_healthy(const store_t *store)
{
    (void)store;
    return 1;
}

static int mem_busy(const store_t *store)
{
    (void)store;
    return 0;
}

static uint64_t mem_error_count(const store_t *store)
{
    (void)store;
    return 0;
}

static uint64_t mem_last_seq(const store_t *store)
{
    (void)store;
    return 0;
}

static void mem_destroy(store_t *store)
{
    free(store);
}

static const store_ops_t memory_ops = {
    .name = "memory",
    .shared = 0,
    .set_listener = mem_set_listener,
    .acquire = mem_acquire,
    .renew = mem_renew,
    .save_active = mem_save_active,
    .save_finished = mem_save_finished,
    .publish = mem_publish,
    .request_cancel = mem_request_cancel,
    .load_status = mem_load_status,
    .load_history = mem_load_runs,
    .load_run = mem_load_run,
    .load_report = mem_load_report,
    .find_orphan = mem_find_orphan,
    .healthy = mem_healthy,
    .busy = mem_busy,
    .error_count = mem_error_count,
    .last_seq = mem_last_seq,
    .destroy = mem_destroy,
};

store_t *store_memory_create(void)
{
    store_memory_t *m = calloc(1, sizeof(*m));
    if (m == NULL)
        abort();
    m->super.ops = &memory_ops;
    return &m->super;
}
