#include "app.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/output_digest.h"
#include "kube/kube.h"
#include "store/store_redis.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"

static void stop_loop(app_t *app)
{
    uv_signal_stop(&app->sigterm);
    uv_signal_stop(&app->sigint);
    uv_timer_stop(&app->deadline);
    uv_timer_stop(&app->drain);
    uv_stop(app->loop);
}

/* Waits for open connections to finish their requests, up to APP_DRAIN_MS. */
static void on_drain_tick(uv_timer_t *t)
{
    app_t *app = t->data;
    int busy = app->http->connections > 0 || app->store->ops->busy(app->store);
    if (!busy || clock_mono_ms() >= app->drain_until) {
        if (app->http->connections)
            log_info("app", "closing with %d connection(s) still open", app->http->connections);
        if (app->store->ops->busy(app->store))
            log_warn("app", "closing with state store writes unconfirmed");
        stop_loop(app);
    }
}

static void on_stream_closed(void *data)
{
    app_t *app = data;
    http_server_close_idle(app->http);
    app->drain_until = clock_mono_ms() + APP_DRAIN_MS;
    uv_timer_start(&app->drain, on_drain_tick, 0, 50);
}

static void on_orch_idle(void *data)
{
    app_t *app = data;
    log_info("app", "no run is active; closing connections");
    ws_hub_shutdown(app->hub, on_stream_closed, app);
}

static void on_deadline(uv_timer_t *t)
{
    log_warn("app", "shutdown deadline reached; exiting now");
    stop_loop(t->data);
}

static void on_signal(uv_signal_t *s, int signum)
{
    app_t *app = s->data;
    if (app->shutting_down)
        return;
    app->shutting_down = 1;
    log_info("app", "%s received: shutting down", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    uv_timer_start(&app->deadline, on_deadline, APP_SHUTDOWN_DEADLINE_MS, 0);
    http_server_stop_listening(app->http);
    orch_shutdown(app->orch, on_orch_idle, app);
}

static int prepare_data_dir(const config_t *cfg, char *err, size_t errlen)
{
    static const char *const subdirs[] = {"", "/results", "/work"};
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        char path[1100];
        snprintf(path, sizeof(path), "%s%s", cfg->data_dir, subdirs[i]);
        int rc = fs_mkdir_p(path);
        if (rc != 0) {
            snprintf(err, errlen, "DATA_DIR=\"%s\" is unusable: cannot create %s: %s", cfg->data_dir, path,
                     strerror(-rc));
            return -1;
        }
    }
    /* work folders left by a previous process that died mid-run hold nothing anyone needs */
    char work[1100];
    snprintf(work, sizeof(work), "%s/work", cfg->data_dir);
    fs_remove_tree(work);
    fs_mkdir_p(work);
    return 0;
}

static int publish_event(void *ctx, const event_t *ev)
{
    store_t *store = ctx;
    return store->ops->publish(store, ev);
}

static void name_replica(app_t *app)
{
    char host[48] = "host";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    unsigned rnd = 0;
    getrandom(&rnd, sizeof(rnd), 0);
    snprintf(app->replica, sizeof(app->replica), "%s-%d-%04x", host, (int)getpid(), rnd & 0xffff);
}

/* ---- the store (app_store.c): the memory fallback moves to Redis once no run is active ---------------------- */

static int can_move_store(void *data)
{
    app_t *app = data;
    return !app->shutting_down && orch_active(app->orch) == NULL;
}

static void on_store_moved(void *data, store_t *redis)
{
    app_t *app = data;
    app->store = redis;
    store_redis_seq_at_least(redis, app->events.seq); /* the clients' next seq is higher than what they saw */
    events_set_publisher(&app->events, publish_event, redis);
    orch_set_store(app->orch, redis);
    http_server_set_store(app->http, redis);
}

static int store_state(void *ctx, const char **reason)
{
    return (int)app_store_state(ctx, reason);
}

typedef struct access_check {
    int done, ok;
    char detail[768];
} access_check_t;

static void on_access_checked(void *data, int ok, const char *detail)
{
    access_check_t *chk = data;
    chk->done = 1;
    chk->ok = ok;
    snprintf(chk->detail, sizeof(chk->detail), "%s", detail ? detail : "");
}

static void on_kube_closed(void *data)
{
    *(int *)data = 1;
}

/* Frees the Kubernetes client (after the executor that uses it); runs the loop until its handles are closed. */
static void close_kube(app_t *app)
{
    if (app->kube == NULL)
        return;
    int closed = 0;
    kube_client_close(app->kube, on_kube_closed, &closed);
    app->kube = NULL;
    while (!closed && uv_run(app->loop, UV_RUN_ONCE) != 0) {
    }
}

/* EXECUTOR=nextflow or kubernetes: where the API is, and whether it lets this service work in its namespace
 * (start-up only, so the loop runs here until the check answers; every request of the check has a timeout). */
static int open_kube(app_t *app, char *err, size_t errlen)
{
    kube_config_t kc;
    if (kube_config_resolve(&kc, app->cfg, err, errlen) != 0)
        return -1;
    app->kube = kube_client_create(app->loop, &kc, err, errlen);
    char source[sizeof(kc.source)];
    snprintf(source, sizeof(source), "%s", kc.source);
    kube_config_dispose(&kc);
    if (app->kube == NULL)
        return -1;
    access_check_t chk = {0};
    if (kube_access_check(app->kube, on_access_checked, &chk) != 0) {
        snprintf(chk.detail, sizeof(chk.detail), "cannot start the Kubernetes access check");
        chk.done = 1;
    }
    while (!chk.done && uv_run(app->loop, UV_RUN_ONCE) != 0) {
    }
    if (!chk.ok) {
        snprintf(err, errlen, "EXECUTOR=%s needs the Kubernetes API (%s): %s",
                 app->cfg->executor == EXECUTOR_KUBERNETES ? "kubernetes" : "nextflow", source,
                 chk.detail[0] ? chk.detail : "the access check did not answer");
        return 1; /* the caller decides: fatal, unless other replicas share the work */
    }
    log_info("app", "Kubernetes API %s (%s), namespace %s", chk.detail, source, kube_client_namespace(app->kube));
    return 0;
}

int app_start(app_t *app, uv_loop_t *loop, const config_t *cfg, char *err, size_t errlen)
{
    memset(app, 0, sizeof(*app));
    app->loop = loop;
    app->cfg = cfg;
    int kube = cfg->executor != EXECUTOR_LOCAL ? open_kube(app, err, errlen) : 0;
    if (kube < 0 || (kube > 0 && cfg->redis_url[0] == '\0')) {
        close_kube(app);
        return APP_START_UNUSABLE;
    }
    if (prepare_data_dir(cfg, err, errlen) != 0) {
        close_kube(app);
        return -1;
    }

    name_replica(app);
    events_init(&app->events);
    app->store = app_store_open(&app->stores, loop, cfg, app->replica, APP_REDIS_PROBE_MS);
    if (kube > 0 && !app->store->ops->shared) {
        app_store_dispose(&app->stores);
        close_kube(app);
        return APP_START_UNUSABLE;
    }
    if (kube > 0) /* with a shared store, the other replicas can do the work: this one serves, and says why */
        log_warn("app", "%s; starting anyway: the state is shared with other replicas, and a run started on this one "
                        "fails until the API answers",
                 err);
    if (app->store->ops->shared)
        events_set_publisher(&app->events, publish_event, app->store);
    app->orch = orch_create(loop, cfg, &app->events, app->store, app->replica);
    const exec_listener_t *listener = orch_exec_listener(app->orch);
    if (cfg->executor == EXECUTOR_KUBERNETES)
        app->exec = executor_kubernetes_create(loop, cfg, app->kube, listener);
    else if (cfg->executor == EXECUTOR_NEXTFLOW)
        app->exec = executor_nextflow_create(loop, cfg, app->kube, listener);
    else
        app->exec = executor_local_create(loop, cfg, listener);
    orch_set_executor(app->orch, app->exec);

    app->hub = ws_hub_create(loop, cfg, &app->events, app->orch);
    bench_source_init(&app->bench, loop, &app->events);
    metrics_init(&app->metrics, &app->events);
    results_gc_init(&app->results_gc, loop, cfg, &app->events);
    http_deps_t deps = {.cfg = cfg,
                        .orch = app->orch,
                        .store = app->store,
                        .exec = app->exec,
                        .hub = app->hub,
                        .bench = cfg->bench_events ? &app->bench : NULL,
                        .metrics = &app->metrics,
                        .store_state = store_state,
                        .store_ctx = &app->stores};
    app->http = http_server_start(loop, &deps, err, errlen);
    if (app->http == NULL) {
        results_gc_dispose(&app->results_gc);
        metrics_dispose(&app->metrics, &app->events);
        bench_source_close(&app->bench, NULL);
        ws_hub_destroy(app->hub);
        orch_destroy(app->orch);
        app_store_dispose(&app->stores);
        close_kube(app);
        return -1;
    }

    uv_signal_init(loop, &app->sigterm);
    uv_signal_init(loop, &app->sigint);
    uv_timer_init(loop, &app->deadline);
    uv_timer_init(loop, &app->drain);
    app->sigterm.data = app->sigint.data = app->deadline.data = app->drain.data = app;
    uv_signal_start(&app->sigterm, on_signal, SIGTERM);
    uv_signal_start(&app->sigint, on_signal, SIGINT);
    app_store_watch(&app->stores, can_move_store, on_store_moved, app);
    log_info("app", "listening on %s:%d (executor %s, store %s, data %s)", cfg->host, cfg->port, app->exec->ops->name,
             app->store->ops->name, cfg->data_dir);
    return 0;
}

void app_dispose(app_t *app)
{
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
    uv_close((uv_handle_t *)&app->deadline, NULL);
    uv_close((uv_handle_t *)&app->drain, NULL);
    results_gc_dispose(&app->results_gc);
    metrics_dispose(&app->metrics, &app->events);
    bench_source_close(&app->bench, NULL);
    ws_hub_destroy(app->hub);
    orch_destroy(app->orch);
    app_store_dispose(&app->stores);
    http_server_destroy(app->http);
    close_kube(app);
    /* let the close callbacks run (timers, h2o's own handles) */
    for (int i = 0; i < 8; i++)
        uv_run(app->loop, UV_RUN_NOWAIT);
    output_digest_shutdown(); /* a digest still in the pool holds its own reference */
}
