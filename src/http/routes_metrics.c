/* GET /metrics (Prometheus text exposition) and GET /api/v1/demo/metrics (JSON aggregates over the history). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/metrics.h"
#include "core/orchestrator.h"
#include "http/pending.h"
#include "http/reply.h"
#include "http/routes.h"
#include "http/ws_hub.h"
#include "kube/kube.h"

#define VERSION "1.0.0"

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void write_http(FILE *f, const metrics_t *m)
{
    family(f, "pipeline_http_requests_total", "counter", "HTTP requests answered, by route, method and status.");
    for (int i = 0; i < m->nhttp; i++)
        fprintf(f, "pipeline_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n", m->http[i].route,
                m->http[i].method, m->http[i].status, (unsigned long long)m->http[i].count);
    family(f, "pipeline_http_request_duration_seconds", "histogram",
           "Time from reading a request to starting its response, by route.");
    for (int i = 0; i < m->nlatency; i++) {
        const metrics_latency_t *l = &m->latency[i];
        uint64_t cumulative = 0;
        for (int b = 0; b < METRICS_BUCKETS; b++) {
            cumulative += l->buckets[b];
            fprintf(f, "pipeline_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", l->route,
                    metrics_bucket_bounds[b], (unsigned long long)cumulative);
        }
        fprintf(f, "pipeline_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", l->route,
                (unsigned long long)l->count);
        fprintf(f, "pipeline_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n", l->route, l->sum);
        fprintf(f, "pipeline_http_request_duration_seconds_count{route=\"%s\"} %llu\n", l->route,
                (unsigned long long)l->count);
    }
}

static void write_runs(FILE *f, const metrics_t *m, orch_t *orch)
{
    family(f, "pipeline_runs_total", "counter", "Runs this replica ended, by final status.");
    for (int s = RUN_SUCCEEDED; s <= RUN_UNKNOWN; s++)
        fprintf(f, "pipeline_runs_total{status=\"%s\"} %llu\n", run_status_name(s), (unsigned long long)m->runs[s]);
    family(f, "pipeline_active_runs", "gauge", "Runs this replica is running now (0 or 1).");
    fprintf(f, "pipeline_active_runs %d\n", orch_active(orch) != NULL);
    family(f, "pipeline_task_processes_started_total", "counter", "Task processes (or pods) this replica started.");
    fprintf(f, "pipeline_task_processes_started_total %llu\n", (unsigned long long)m->tasks_started);
    family(f, "pipeline_task_processes_failed_total", "counter", "Task processes (or pods) that failed.");
    fprintf(f, "pipeline_task_processes_failed_total %llu\n", (unsigned long long)m->tasks_failed);
}

static void write_stream(FILE *f, const ws_hub_t *hub)
{
    const ws_hub_stats_t *s = ws_hub_stats(hub);
    family(f, "pipeline_websocket_clients", "gauge", "Live-stream clients connected to this replica.");
    fprintf(f, "pipeline_websocket_clients %d\n", ws_hub_client_count(hub));
    static const struct {
        const char *name, *help;
        size_t offset;
    } counters[] = {
        {"pipeline_websocket_broadcasts_total", "Events sent to the live stream.",
         offsetof(ws_hub_stats_t, broadcasts)},
        {"pipeline_websocket_deliveries_total", "Messages written to live-stream clients.",
         offsetof(ws_hub_stats_t, deliveries)},
        {"pipeline_websocket_slow_clients_dropped_total",
         "Clients closed with 1008: their send queue passed the bound.", offsetof(ws_hub_stats_t, slow_dropped)},
        {"pipeline_websocket_dead_clients_dropped_total", "Clients closed because they stopped answering pings.",
         offsetof(ws_hub_stats_t, dead_dropped)},
        {"pipeline_websocket_rejected_total", "Clients closed with 1013: too many connections.",
         offsetof(ws_hub_stats_t, rejected)},
    };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        family(f, counters[i].name, "counter", counters[i].help);
        fprintf(f, "%s %llu\n", counters[i].name,
                (unsigned long long)*(const uint64_t *)((const char *)s + counters[i].offset));
    }
}

static void write_kube(FILE *f)
{
    family(f, "pipeline_kube_watch_restarts_total", "counter",
           "Kubernetes watch streams opened again, by reason: timeout (the server ended it, normal), short (ended "
           "at once without an event: backed off), error, relist (history gone: listed again).");
    for (int k = 0; k < KUBE_WATCH_RESTART_KINDS; k++)
        fprintf(f, "pipeline_kube_watch_restarts_total{reason=\"%s\"} %llu\n", kube_watch_restart_name(k),
                (unsigned long long)kube_watch_restarts(k));
}

static void write_process(FILE *f)
{
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    FILE *stat = fopen("/proc/self/stat", "r");
    char buf[1024];
    if (stat && fgets(buf, sizeof(buf), stat)) {
        const char *p = strrchr(buf, ')');
        unsigned long utime = 0, stime = 0, rss = 0;
        unsigned long long start = 0;
        /* fields after the name: state(3) ... utime(14) stime(15) ... starttime(22) vsize(23) rss(24) */
        if (p &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d %llu %*u %lu",
                   &utime, &stime, &start, &rss) == 4) {
            family(f, "process_cpu_seconds_total", "counter", "CPU time used by the service, user and system.");
            fprintf(f, "process_cpu_seconds_total %.2f\n", (double)(utime + stime) / (double)ticks);
            family(f, "process_resident_memory_bytes", "gauge", "Resident memory of the service.");
            fprintf(f, "process_resident_memory_bytes %lu\n", rss * (unsigned long)page);
            FILE *pstat = fopen("/proc/stat", "r");
            unsigned long long btime = 0;
            while (pstat && fgets(buf, sizeof(buf), pstat))
                if (sscanf(buf, "btime %llu", &btime) == 1)
                    break;
            if (pstat)
                fclose(pstat);
            family(f, "process_start_time_seconds", "gauge", "Start time of the service since the Unix epoch.");
            fprintf(f, "process_start_time_seconds %.2f\n", (double)btime + (double)start / (double)ticks);
        }
    }
    if (stat)
        fclose(stat);
    DIR *fds = opendir("/proc/self/fd");
    if (fds) {
        int n = 0;
        while (readdir(fds))
            n++;
        closedir(fds);
        family(f, "process_open_fds", "gauge", "Open file descriptors of the service.");
        fprintf(f, "process_open_fds %d\n", n - 3); /* ".", ".." and this directory */
    }
}

void route_prometheus(http_server_t *srv, h2o_req_t *req, const char *param)
{
    (void)param;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        reply_detail(req, 503, "Out of memory");
        return;
    }
    const http_deps_t *d = &srv->deps;
    family(f, "pipeline_info", "gauge", "This replica: version, executor and state store.");
    fprintf(f, "pipeline_info{version=\"%s\",executor=\"%s\",store=\"%s\"} 1\n", VERSION, d->exec->ops->name,
            d->store->ops->name);
    write_http(f, d->metrics);
    write_runs(f, d->metrics, d->orch);
    metrics_task_write(f, &d->metrics->task_costs, d->exec->ops->name);
    write_stream(f, d->hub);
    family(f, "pipeline_store_up", "gauge", "Whether the state store works as configured (1) or is degraded (0).");
    fprintf(f, "pipeline_store_up %d\n", d->store->ops->healthy(d->store));
    family(f, "pipeline_store_errors_total", "counter", "State store commands that failed or got no answer.");
    fprintf(f, "pipeline_store_errors_total %llu\n", (unsigned long long)d->store->ops->error_count(d->store));
    family(f, "pipeline_http_accept_failures_total", "counter",
           "Connections that could not be accepted (out of file descriptors); the waiting clients were closed.");
    fprintf(f, "pipeline_http_accept_failures_total %llu\n", (unsigned long long)srv->fd_limit.accept_failures);
    write_kube(f);
    write_process(f);
    long max_fds = fd_limit_current();
    if (max_fds > 0) {
        family(f, "process_max_fds", "gauge", "The service's limit of open file descriptors.");
        fprintf(f, "process_max_fds %ld\n", max_fds);
    }
    fclose(f);
    reply_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

/* ---- GET /api/v1/demo/metrics ------------------------------------------------------------------------------- */

void route_metrics_summary(http_server_t *srv, h2o_req_t *req, const char *param)
{
    (void)param;
    orch_metrics_summary(srv->deps.orch, http_waiter(req), http_answer);
}
