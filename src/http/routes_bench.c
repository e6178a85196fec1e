/* POST /bench/burst (only with BENCH_EVENTS=1): starts a burst of stream events for bench/ws_fanout. */
#include "core/bench_source.h"
#include "http/reply.h"
#include "http/routes.h"

void route_bench_burst(http_server_t *srv, h2o_req_t *req, const char *param)
{
    (void)param;
    if (srv->deps.bench == NULL) {
        reply_detail(req, 404, "Not Found");
        return;
    }
    json_error_t jerr;
    json_t *body =
        json_loadb(req->entity.base ? req->entity.base : "{}", req->entity.base ? req->entity.len : 2, 0, &jerr);
    json_int_t count = 1000, size = 200, per_tick = 16;
    if (body == NULL ||
        json_unpack(body, "{s?I,s?I,s?I}", "count", &count, "size", &size, "per_tick", &per_tick) != 0 || count < 0 ||
        size < 0 || bench_source_start(srv->deps.bench, (uint64_t)count, (size_t)size, (int)per_tick) != 0) {
        json_decref(body);
        reply_detail(req, 422, "expected {\"count\": 1..10000000, \"size\": 0..65536, \"per_tick\": 1..4096}");
        return;
    }
    json_decref(body);
    reply_json(req, 202, json_pack("{s:I,s:I,s:I}", "count", count, "size", size, "per_tick", per_tick));
}
