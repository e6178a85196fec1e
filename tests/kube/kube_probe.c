/*
 * kube_probe: drives the Kubernetes client (src/kube/) from the command line, for the black-box tests in
 * tests/e2e/test_kube_client.py. The API is found from the environment exactly as the service finds it
 * (config_parse() + kube_config_resolve()); every result is printed as one JSON object per line on stdout.
 *
 *   kube_probe access                                  the start-up check
 *   kube_probe get PATH [REPEAT [INTERVAL_MS]]         GET, REPEAT times (a rotating token is re-read)
 *   kube_probe create PATH JSON | patch PATH JSON      POST / merge PATCH
 *   kube_probe delete PATH [PROPAGATION]
 *   kube_probe watch API_VERSION RESOURCE SELECTOR N   the first N events ("-": no selector)
 *   kube_probe logs POD [SINCE_TIME|-] [follow|once] [SINCE_COUNT]   a pod's log lines, then its end
 *
 * Exit status: 0 when the operation ended as expected, 1 on an API error, 2 when the API cannot be found.
 * A bound (KUBE_PROBE_SECONDS, default 30) ends the probe with exit 3 whatever happens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "kube/kube.h"
#include "util/log.h"

static kube_client_t *client;
static kube_watch_t *watch;
static kube_logs_t *logs;
static uv_timer_t bound, repeat_timer;
static int exit_code = 1;
static int remaining;
static int interval_ms;
static const char *repeat_path;

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) {
        printf("%s\n", s);
        fflush(stdout);
        free(s);
    }
    json_decref(o);
}

static void on_client_closed(void *data)
{
    (void)data;
    uv_close((uv_handle_t *)&bound, NULL);
    uv_close((uv_handle_t *)&repeat_timer, NULL);
}

static void finish(int code)
{
    exit_code = code;
    if (watch)
        kube_watch_stop(watch);
    if (logs)
        kube_logs_stop(logs);
    watch = NULL;
    logs = NULL;
    uv_timer_stop(&bound);
    uv_timer_stop(&repeat_timer);
    kube_client_close(client, on_client_closed, NULL);
}

static void on_bound(uv_timer_t *t)
{
    (void)t;
    print_json(json_pack("{s:s}", "event", "timeout"));
    finish(3);
}

static void print_response(const kube_response_t *res)
{
    json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:O?}", "event", "response", "status", (int)res->status, "reason",
                          res->reason, "message", res->message, "body", res->body);
    print_json(o);
}

static void send_get(uv_timer_t *t);

static void on_response(void *data, const kube_response_t *res)
{
    (void)data;
    print_response(res);
    if (--remaining > 0 && res->status >= 200 && res->status < 300) {
        uv_timer_start(&repeat_timer, send_get, (uint64_t)interval_ms, 0);
        return;
    }
    finish(res->status >= 200 && res->status < 300 ? 0 : 1);
}

static void send_get(uv_timer_t *t)
{
    (void)t;
    if (kube_get(client, repeat_path, on_response, NULL) == NULL)
        finish(1);
}

static void on_access(void *data, int ok, const char *detail)
{
    (void)data;
    print_json(json_pack("{s:s, s:b, s:s}", "event", "access", "ok", ok, "detail", detail));
    finish(ok ? 0 : 1);
}

static const char *event_name(kube_event_t t)
{
    return t == KUBE_ADDED ? "ADDED" : t == KUBE_MODIFIED ? "MODIFIED" : "DELETED";
}

static int outstanding; /* GETs started from watch events, not answered yet */
static const char *watch_api_version, *watch_resource;

static void on_event_get(void *data, const kube_response_t *res)
{
    (void)data;
    json_t *meta = json_object_get(res->body, "metadata");
    print_json(json_pack("{s:s, s:i, s:O?}", "event", "get", "status", (int)res->status, "name",
                         json_object_get(meta, "name")));
    if (--outstanding == 0 && remaining <= 0)
        finish(0);
}

static void on_watch_event(void *data, kube_event_t type, json_t *obj)
{
    (void)data;
    json_t *meta = json_object_get(obj, "metadata");
    char path[512];
    /* KUBE_PROBE_GET_ON_EVENT: a request started from inside a watch callback (as an executor does) */
    if (getenv("KUBE_PROBE_GET_ON_EVENT") && type != KUBE_DELETED &&
        kube_path(path, sizeof(path), watch_api_version, kube_client_namespace(client), watch_resource,
                  json_string_value(json_object_get(meta, "name")), NULL) == 0 &&
        kube_get(client, path, on_event_get, NULL))
        outstanding++;
    print_json(json_pack("{s:s, s:s, s:O?, s:O?, s:O?}", "event", "watch", "type", event_name(type), "name",
                         json_object_get(meta, "name"), "rv", json_object_get(meta, "resourceVersion"), "phase",
                         json_object_get(json_object_get(obj, "status"), "phase")));
    if (--remaining <= 0 && outstanding == 0)
        finish(0);
}

static void on_watch_synced(void *data)
{
    (void)data;
    print_json(json_pack("{s:s}", "event", "synced"));
}

static void on_watch_error(void *data, const kube_response_t *res)
{
    (void)data;
    print_json(
        json_pack("{s:s, s:i, s:s}", "event", "watch_error", "status", (int)res->status, "message", res->message));
}

static void on_log_line(void *data, const char *ts, const char *line, size_t len)
{
    (void)data;
    print_json(json_pack("{s:s, s:s, s:s%}", "event", "line", "ts", ts, "text", line, len));
}

static void on_log_end(void *data, const kube_response_t *res)
{
    (void)data;
    print_json(json_pack("{s:s, s:i, s:s}", "event", "end", "status", (int)res->status, "message", res->message));
    finish(res->status == 200 ? 0 : 1);
}

static const char *env_lookup(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

static int usage(void)
{
    fprintf(stderr, "usage: kube_probe access | get PATH [N [MS]] | create PATH JSON | patch PATH JSON | "
                    "delete PATH [POLICY] | watch APIVERSION RESOURCE SELECTOR N | "
                    "logs POD [SINCE] [follow|once] [COUNT]\n");
    return 2;
}

static int start(int argc, char **argv)
{
    const char *cmd = argv[1];
    if (strcmp(cmd, "access") == 0)
        return kube_access_check(client, on_access, NULL);
    if (strcmp(cmd, "get") == 0 && argc >= 3) {
        repeat_path = argv[2];
        remaining = argc >= 4 ? atoi(argv[3]) : 1;
        interval_ms = argc >= 5 ? atoi(argv[4]) : 100;
        return kube_get(client, argv[2], on_response, NULL) ? 0 : -1;
    }
    if ((strcmp(cmd, "create") == 0 || strcmp(cmd, "patch") == 0) && argc >= 4) {
        json_t *body = json_loads(argv[3], 0, NULL);
        if (body == NULL)
            return -1;
        remaining = 1;
        kube_request_t *r = strcmp(cmd, "create") == 0 ? kube_create(client, argv[2], body, on_response, NULL)
                                                       : kube_patch_merge(client, argv[2], body, on_response, NULL);
        json_decref(body);
        return r ? 0 : -1;
    }
    if (strcmp(cmd, "delete") == 0 && argc >= 3) {
        remaining = 1;
        return kube_delete(client, argv[2], argc >= 4 ? argv[3] : NULL, on_response, NULL) ? 0 : -1;
    }
    if (strcmp(cmd, "watch") == 0 && argc >= 6) {
        kube_watch_opts_t o = {
            .api_version = argv[2], .resource = argv[3], .label_selector = strcmp(argv[4], "-") ? argv[4] : NULL};
        kube_watch_callbacks_t cb = {.event = on_watch_event, .synced = on_watch_synced, .error = on_watch_error};
        remaining = atoi(argv[5]);
        watch_api_version = argv[2];
        watch_resource = argv[3];
        watch = kube_watch_start(client, &o, &cb);
        return watch ? 0 : -1;
    }
    if (strcmp(cmd, "logs") == 0 && argc >= 3) {
        kube_logs_opts_t o = {.pod = argv[2],
                              .since_time = argc >= 4 && strcmp(argv[3], "-") ? argv[3] : NULL,
                              .since_count = argc >= 6 ? (unsigned)atoi(argv[5]) : 0,
                              .follow = !(argc >= 5 && strcmp(argv[4], "once") == 0),
                              .max_waits = 60};
        kube_logs_callbacks_t cb = {.line = on_log_line, .end = on_log_end};
        logs = kube_logs_start(client, &o, &cb);
        return logs ? 0 : -1;
    }
    return -2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    log_setup(0, getenv("KUBE_PROBE_DEBUG") ? LOG_DEBUG : LOG_WARN);
    static config_t cfg;
    char err[1024];
    if (config_parse(&cfg, env_lookup, NULL, ".", err, sizeof(err)) != 0) {
        print_json(json_pack("{s:s, s:s}", "event", "config_error", "message", err));
        return 2;
    }
    static kube_config_t kc;
    if (kube_config_resolve(&kc, &cfg, err, sizeof(err)) != 0) {
        print_json(json_pack("{s:s, s:s}", "event", "config_error", "message", err));
        return 2;
    }
    print_json(json_pack("{s:s, s:s, s:s, s:s}", "event", "config", "source", kc.source, "server", kc.server,
                         "namespace", kc.namespace_));
    uv_loop_t loop;
    uv_loop_init(&loop);
    client = kube_client_create(&loop, &kc, err, sizeof(err));
    kube_config_dispose(&kc);
    if (client == NULL) {
        print_json(json_pack("{s:s, s:s}", "event", "config_error", "message", err));
        uv_loop_close(&loop);
        return 2;
    }
    uv_timer_init(&loop, &bound);
    uv_timer_init(&loop, &repeat_timer);
    const char *secs = getenv("KUBE_PROBE_SECONDS");
    uv_timer_start(&bound, on_bound, (uint64_t)((secs ? atof(secs) : 30) * 1000), 0);
    int rc = start(argc, argv);
    if (rc != 0) {
        finish(rc == -2 ? 2 : 1);
        if (rc == -2)
            usage();
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    int closed = uv_loop_close(&loop);
    if (closed != 0) {
        fprintf(stderr, "kube_probe: handles left open on the loop\n");
        return 4;
    }
    return exit_code;
}
