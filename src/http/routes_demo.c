/* The /api/v1/demo routes: run, preview, status, cancel, history, one run, its report and trace. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/orchestrator.h"
#include "http/pending.h"
#include "http/query.h"
#include "http/reply.h"
#include "http/routes.h"
#include "http/validate.h"
#include "http/ws_hub.h"
#include "util/ids.h"


/* An integer query parameter; on error the detail goes into `errors`. */
static int query_int(h2o_req_t *req, const char *name, long long min, long long max, long long def, long long *out,
                     json_t *errors)
{
    char raw[64];
    h2o_iovec_t q = route_query(req);
    int found = query_get(q.base, q.len, name, raw, sizeof(raw));
    if (found < 0) {
        validate_add_error(errors, "query", name,
                           "Input should be a valid integer, unable to parse string as an integer", "int_parsing");
        return -1;
    }
    return validate_query_int(found ? raw : NULL, name, min, max, def, out, errors);
}

/* ---- POST /run --------------------------------------------------------------------------------------------------- */

void route_run(http_server_t *srv, h2o_req_t *req, const char *param)
{
    (void)param;
    const config_t *cfg = srv->deps.cfg;
    validate_limits_t limits = {cfg->default_batch_count, cfg->max_batch_count, cfg->rows_per_batch};
    run_params_t params;
    char triggered_by[4 * TRIGGERED_BY_MAX + 1];
    json_t *errors = json_array();
    if (validate_run_body(req->entity.base ? req->entity.base : "", req->entity.len, &limits, &params, triggered_by,
                          sizeof(triggered_by), errors) != 0) {
        reply_validation(req, errors);
        return;
    }
    json_decref(errors);
    orch_request_run(srv->deps.orch, &params, http_waiter(req), http_answer);
}

/* ---- GET /preview ------------------------------------------------------------------------------------------------ */

/* The preview for `n` batches: a function of the configuration only. */
static char *preview_encode(const config_t *cfg, long long n)
{
    wf_resources_t res;
    wf_resources_of(cfg, &res);
    wf_preview_t p;
    int pods = cfg->executor == EXECUTOR_KUBERNETES;
    if (pods)
        wf_preview_pods((int)n, &res, &p);
    else
        wf_preview((int)n, &res, &p);
    wf_durations_t d;
    wf_durations_of(cfg, (int)n, &d);
    char description[200];
    snprintf(description, sizeof(description),
             "Scatter-gather over CSV batches: GENERATE x %lld -> ANALYZE x %lld -> REPORT", n, n);
    json_t *usage = json_pack("{s:s,s:s,s:s,s:s,s:i,s:f,s:f}", "worker_cpu_per_pod", cfg->worker_cpu_str,
                              "worker_memory_per_pod", cfg->worker_memory_str, "controller_cpu",
                              cfg->controller_cpu_str, "controller_memory", cfg->controller_memory_str, "total_workers",
                              p.total_workers, "peak_cpu", p.peak_cpu, "peak_memory_gi", p.peak_memory_gi);
    json_t *quota = json_pack("{s:s,s:s,s:b,s:o}", "available_memory", cfg->quota_memory_str, "available_cpu",
                              cfg->quota_cpu_str, "fits_quota", p.fits_quota, "limiting_resource",
                              p.limiting_resource ? json_string(p.limiting_resource) : json_null());
    json_t *body =
        json_pack("{s:s,s:s,s:I,s:i,s:f,s:o,s:o}", "workflow", "scatter-gather-demo", "description", description,
                  "batch_count", (json_int_t)n, "expected_pods", p.expected_pods, "estimated_runtime_seconds",
                  wf_estimate_seconds((int)n, &d), "resource_usage", usage, "homelab_quota", quota);
    if (pods) {
        json_object_set_new(body, "max_parallel_workers", json_integer(p.max_parallel_workers));
        json_object_set_new(body, "waves", json_integer(p.waves));
    }
    return reply_encode(body);
}

void route_preview(http_server_t *srv, h2o_req_t *req, const char *param)
{
    (void)param;
    const config_t *cfg = srv->deps.cfg;
    long long n;
    json_t *errors = json_array();
    if (query_int(req, "batch_count", 1, cfg->max_batch_count, cfg->default_batch_count, &n, errors) != 0) {
        reply_validation(req, errors);
        return;
    }
    json_decref(errors);
    if (n > HTTP_PREVIEW_CACHED) {
        char *text = preview_encode(cfg, n);
        reply_json_text(req, 200, text);
        free(text);
        return;
    }
    if (srv->preview_text[n] == NULL)
        srv->preview_text[n] = preview_encode(cfg, n);
    reply_json_text(req, 200, srv->preview_text[n]);
}

/* ---- GET /status, /active ---------------------------------------------------------------------------------------- */

void route_status(http_server_t *srv, h2o_req_t *req, const char *param)
{
    (void)param;
    orch_status(srv->deps.orch, ws_hub_client_count(srv->deps.hub), http_waiter(req), http_answer);
}

/* ---- DELETE /cancel ---------------------------------------------------------------------------------------------- */

void route_cancel(http_server_t *srv, h2o_req_t *req, const char *param)
{
    (void)param;
    orch_cancel(srv->deps.orch, http_waiter(req), http_answer);
}

/* ---- GET /history ------------------------------------------------------------------------------------------------ */

void route_history(http_server_t *srv, h2o_req_t *req, const char *param)
{
    (void)param;
    long long limit;
    json_t *errors = json_array();
    if (query_int(req, "limit", 1, 100, 10, &limit, errors) != 0) {
        reply_validation(req, errors);
        return;
    }
    json_decref(errors);
    orch_history(srv->deps.orch, (int)limit, http_waiter(req), http_answer);
}

/* ---- GET /runs/{run_id}, /runs/{run_id}/report ------------------------------------------------------------------- */

void route_run_detail(http_server_t *srv, h2o_req_t *req, const char *param)
{
    if (!run_id_valid(param, strlen(param))) {
        reply_detail(req, 404, "Run not found");
        return;
    }
    orch_run_detail(srv->deps.orch, param, http_waiter(req), http_answer);
}

/* ---- POST /runs/{run_id}/resume ----------------------------------------------------------------------------------- */

void route_run_resume(http_server_t *srv, h2o_req_t *req, const char *param)
{
    if (!run_id_valid(param, strlen(param))) {
        reply_detail(req, 404, "Run not found");
        return;
    }
    orch_resume(srv->deps.orch, param, http_waiter(req), http_answer);
}

static void on_report(orch_waiter_t *w, int status, const char *text, size_t len)
{
    h2o_req_t *req = http_waiter_req(w);
    if (status == 200)
        reply_send(req, 200, "application/json; charset=utf-8", text, len);
    else if (status == 404)
        reply_detail(req, 404, "Report not found: the run is unknown or has not written it yet");
    else
        http_answer(w, status, json_pack("{s:s}", "detail", "The state store is unavailable; retry shortly"));
}

void route_run_report(http_server_t *srv, h2o_req_t *req, const char *param)
{
    if (!run_id_valid(param, strlen(param))) {
        reply_detail(req, 404, "Run not found");
        return;
    }
    orch_run_report(srv->deps.orch, param, http_waiter(req), on_report);
}

static void on_trace(orch_waiter_t *w, int status, const char *text, size_t len)
{
    h2o_req_t *req = http_waiter_req(w);
    if (status == 200)
        reply_send(req, 200, "text/tab-separated-values; charset=utf-8", text, len);
    else if (status == 404)
        reply_detail(req, 404, "Run not found");
    else
        http_answer(w, status, json_pack("{s:s}", "detail", "The state store is unavailable; retry shortly"));
}

void route_run_trace(http_server_t *srv, h2o_req_t *req, const char *param)
{
    if (!run_id_valid(param, strlen(param))) {
        reply_detail(req, 404, "Run not found");
        return;
    }
    orch_run_trace(srv->deps.orch, param, http_waiter(req), on_trace);
}
