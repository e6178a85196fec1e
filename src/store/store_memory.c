/* The memory store: one process, so the lock is a field and the live state in the orchestrator is the state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

typedef struct store_memory {
    store_t super;
    char holder[RUN_ID_LEN + 1]; /* empty: free */
} store_memory_t;

static void mem_acquire(store_t *store, const char *run_id, store_acquire_cb cb, void *data)
{
    store_memory_t *m = (store_memory_t *)store;
    if (m->holder[0] != '\0') {
        cb(data, STORE_HELD, m->holder);
        return;
    }
    snprintf(m->holder, sizeof(m->holder), "%s", run_id);
    cb(data, STORE_ACQUIRED, NULL);
}

static void mem_release(store_t *store, const char *run_id)
{
    store_memory_t *m = (store_memory_t *)store;
    if (strcmp(m->holder, run_id) == 0)
        m->holder[0] = '\0';
}

static void mem_save_active(store_t *store, const run_t *run)
{
    (void)store, (void)run; /* the orchestrator's own copy is the only one */
}

static void mem_save_finished(store_t *store, const run_t *run)
{
    (void)store, (void)run;
}

static int mem_healthy(const store_t *store)
{
    (void)store;
    return 1;
}

static void mem_destroy(store_t *store) { free(store); }

static const store_ops_t memory_ops = {
    .name = "memory",
    .acquire = mem_acquire,
    .release = mem_release,
    .save_active = mem_save_active,
    .save_finished = mem_save_finished,
    .healthy = mem_healthy,
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
