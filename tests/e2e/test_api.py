"""Every endpoint of API.md and every error status, against the real binary."""
import re

import pytest
import requests

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
JSON_TYPE = "application/json; charset=utf-8"


def test_health_reports_store_and_executor(service):
    for path in ("/health", "/healthz"):
        r = service.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"] == JSON_TYPE
        assert r.json() == {"status": "ok", "store": "memory", "executor": "local"}


def test_status_before_any_run(service):
    for path in ("/api/v1/demo/status", "/api/v1/demo/active"):
        body = service.get(path).json()
        assert body["active"] is False
        assert body["run"] is None
        assert body["progress_percent"] is None
        assert body["log_preview"] == []
        assert body["websocket_url"] == "/api/v1/pipeline/stream"
        assert body["demo_metrics"] is None
        for key in ("connected_clients", "last_update", "batches_generated", "batches_analyzed",
                    "estimated_completion", "parallel_workers_active"):
            assert key in body


@pytest.mark.parametrize("n,pods,cpu,mem,fits,limit", [
    (1, 3, 3.0, 8.0, True, None),
    (5, 11, 7.0, 24.0, True, None),
    (12, 25, 14.0, 52.0, False, "memory"),
])
def test_preview_numbers(service, n, pods, cpu, mem, fits, limit):
    body = service.get(f"/api/v1/demo/preview?batch_count={n}").json()
    assert body["batch_count"] == n
    assert body["expected_pods"] == pods
    assert isinstance(body["workflow"], str) and isinstance(body["description"], str)
    assert isinstance(body["estimated_runtime_seconds"], (int, float))
    usage = body["resource_usage"]
    assert usage["worker_cpu_per_pod"] == "1" and usage["worker_memory_per_pod"] == "4Gi"
    assert usage["controller_cpu"] == "2" and usage["controller_memory"] == "4Gi"
    assert usage["total_workers"] == 2 * n + 1
    assert usage["peak_cpu"] == cpu and usage["peak_memory_gi"] == mem
    quota = body["homelab_quota"]
    assert quota["available_memory"] == "50Gi" and quota["available_cpu"] == "14"
    assert quota["fits_quota"] is fits and quota["limiting_resource"] == limit


def test_preview_default_and_estimate_follows_pauses(start_service):
    svc = start_service({"GENERATE_SECONDS": "5", "ANALYZE_SECONDS": "3"})
    body = svc.get("/api/v1/demo/preview").json()
    assert body["batch_count"] == 5
    assert 8 <= body["estimated_runtime_seconds"] < 10


def test_preview_limiting_cpu_when_cpu_ratio_is_larger(start_service):
    svc = start_service({"QUOTA_CPU": "4", "QUOTA_MEMORY": "100Gi"})
    quota = svc.get("/api/v1/demo/preview?batch_count=3").json()["homelab_quota"]
    assert quota == {"available_memory": "100Gi", "available_cpu": "4", "fits_quota": False,
                     "limiting_resource": "cpu"}


@pytest.mark.parametrize("query,type_", [
    ("batch_count=0", "greater_than_equal"),
    ("batch_count=13", "less_than_equal"),
    ("batch_count=abc", "int_parsing"),
    ("batch_count=", "int_parsing"),
    ("batch_count=2.5", "int_parsing"),
    ("batch_count=%zz", "int_parsing"),
])
def test_preview_rejects_bad_batch_count(service, query, type_):
    r = service.get("/api/v1/demo/preview?" + query)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["query", "batch_count"]
    assert detail[0]["type"] == type_
    assert detail[0]["msg"]


def test_preview_respects_max_batch_count(start_service):
    svc = start_service({"MAX_BATCH_COUNT": "4", "DEFAULT_BATCH_COUNT": "2"})
    assert svc.get("/api/v1/demo/preview").json()["batch_count"] == 2
    assert svc.get("/api/v1/demo/preview?batch_count=5").status_code == 422
    r = svc.post("/api/v1/demo/run", json={"batch_count": 5})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "less_than_equal"


@pytest.mark.parametrize("body,field,type_", [
    ({"batch_count": 0}, "batch_count", "greater_than_equal"),
    ({"batch_count": 13}, "batch_count", "less_than_equal"),
    ({"batch_count": "5"}, "batch_count", "int_type"),
    ({"batch_count": 5.0}, "batch_count", "int_type"),
    ({"batch_count": 2.5}, "batch_count", "int_type"),
    ({"batch_count": True}, "batch_count", "int_type"),
    ({"rows_per_batch": 0}, "rows_per_batch", "greater_than_equal"),
    ({"rows_per_batch": 1000001}, "rows_per_batch", "less_than_equal"),
    ({"seed": -1}, "seed", "greater_than_equal"),
    ({"seed": 4294967296}, "seed", "less_than_equal"),
    ({"triggered_by": "x" * 129}, "triggered_by", "string_too_long"),
    ({"triggered_by": 7}, "triggered_by", "string_type"),
])
def test_run_validation_errors(service, body, field, type_):
    r = service.post("/api/v1/demo/run", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == JSON_TYPE
    detail = r.json()["detail"]
    assert len(detail) == 1
    assert detail[0]["loc"] == ["body", field]
    assert detail[0]["type"] == type_
    assert isinstance(detail[0]["msg"], str) and detail[0]["msg"]
    assert service.get("/api/v1/demo/status").json()["run"] is None  # nothing started


def test_run_reports_every_bad_field(service):
    r = service.post("/api/v1/demo/run", json={"batch_count": 99, "seed": "x", "triggered_by": []})
    assert r.status_code == 422
    fields = sorted(d["loc"][1] for d in r.json()["detail"])
    assert fields == ["batch_count", "seed", "triggered_by"]


@pytest.mark.parametrize("raw", [b"{bad", b"[1, 2", b"\xff\xfe{}", b'{"batch_count": 1,}', b"nul\x00l"])
def test_malformed_json_is_422(service, raw):
    r = service.post("/api/v1/demo/run", data=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body"]
    assert r.json()["detail"][0]["type"] == "json_invalid"


def test_non_object_body_is_422(service):
    r = service.post("/api/v1/demo/run", json=[1, 2, 3])
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body"]


def test_unknown_fields_ignored_and_triggered_by_kept(service):
    run = service.run(batch_count=1, triggered_by="ünïcode visitor ✓", colour="blue")
    detail = service.wait_finished(run["run_id"])
    assert detail["triggered_by"] == "ünïcode visitor ✓"
    assert detail["status"] == "succeeded"


def test_empty_body_means_defaults(start_service):
    svc = start_service({"DEFAULT_BATCH_COUNT": "2"})
    r = svc.post("/api/v1/demo/run", data=b"")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"run_id", "status", "attached", "job_name", "websocket_url"}
    assert re.fullmatch(r"r[0-9a-f]{11}", body["run_id"])
    assert body["attached"] is False and body["status"] in ("starting", "running")
    assert body["websocket_url"] == "/api/v1/pipeline/stream"
    detail = svc.wait_finished(body["run_id"])
    assert detail["batch_count"] == 2 and detail["triggered_by"] is None


def test_body_over_64_kib_is_413(service):
    r = service.post("/api/v1/demo/run", data=b"{" + b" " * (64 * 1024 + 10) + b"}")
    assert r.status_code == 413
    assert r.json()["detail"]
    # exactly 64 KiB is accepted (and is valid JSON)
    r = service.post("/api/v1/demo/run", data=b"{" + b" " * (64 * 1024 - 2) + b"}",
                     headers={"content-type": "application/json"})
    assert r.status_code == 200


def test_not_found_is_json(service):
    for path in ("/nope", "/api/v1/demo", "/api/v1/demo/status/extra", "/api/v1/demo/runs/"):
        r = service.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"] == JSON_TYPE
        assert r.json() == {"detail": "Not Found"}


@pytest.mark.parametrize("method,path,allow", [
    ("GET", "/api/v1/demo/run", {"POST", "OPTIONS"}),
    ("PUT", "/api/v1/demo/status", {"GET", "HEAD", "OPTIONS"}),
    ("POST", "/api/v1/demo/cancel", {"DELETE", "OPTIONS"}),
    ("DELETE", "/health", {"GET", "HEAD", "OPTIONS"}),
])
def test_wrong_method_is_405_with_allow(service, method, path, allow):
    r = service.session.request(method, service.url(path), timeout=10)
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} == allow
    assert r.json()["detail"]


def test_head_has_headers_only(service):
    r = service.session.head(service.url("/api/v1/demo/status"), timeout=10)
    assert r.status_code == 200
    assert r.content == b""
    assert int(r.headers["content-length"]) > 0


def test_runs_lookup_and_report(service):
    run = service.run(batch_count=2, rows_per_batch=10)
    detail = service.wait_finished(run["run_id"])
    for key in ("run_id", "status", "started_at", "finished_at", "job_name", "message", "batch_count",
                "triggered_by", "duration_seconds", "progress_percent", "demo_metrics"):
        assert key in detail
    assert RFC3339.match(detail["started_at"]) and RFC3339.match(detail["finished_at"])
    assert detail["progress_percent"] == 100
    report = service.get(f"/api/v1/demo/runs/{run['run_id']}/report")
    assert report.status_code == 200
    assert report.content == (service.data_dir / "results" / run["run_id"] / "report.json").read_bytes()
    for bad in ("rffffffffff0", "r123", "R1a2b3c4d5e6", "../../etc", "r1a2b3c4d5e6x"):
        assert service.get(f"/api/v1/demo/runs/{bad}").status_code == 404
        assert service.get(f"/api/v1/demo/runs/{bad}/report").status_code == 404


def test_report_404_until_written(start_service):
    svc = start_service({"GENERATE_SECONDS": "30"})
    run = svc.run(batch_count=1)
    r = svc.get(f"/api/v1/demo/runs/{run['run_id']}/report")
    assert r.status_code == 404 and r.json()["detail"]
    assert svc.delete("/api/v1/demo/cancel").json()["cancelled"] is True


def test_history_limit_validation(service):
    assert service.get("/api/v1/demo/history").json() == []
    for bad in ("0", "101", "x", "-1"):
        r = service.get("/api/v1/demo/history?limit=" + bad)
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["query", "limit"]
    assert service.get("/api/v1/demo/history?limit=100").status_code == 200


def test_history_keeps_limit_newest_first(start_service):
    svc = start_service({"RUN_HISTORY_LIMIT": "3"})
    ids = []
    for i in range(4):
        run = svc.run(batch_count=1, triggered_by=f"t{i}")
        svc.wait_finished(run["run_id"])
        ids.append(run["run_id"])
    history = svc.get("/api/v1/demo/history").json()
    assert [h["run_id"] for h in history] == ids[::-1][:3]
    assert [h["run_id"] for h in svc.get("/api/v1/demo/history?limit=2").json()] == ids[::-1][:2]
    entry = history[0]
    assert set(entry) == {"run_id", "status", "started_at", "finished_at", "duration_seconds", "triggered_by",
                          "job_name", "batch_count", "demo_metrics", "resumed_from"}  # resumed_from: issue 18
    assert entry["triggered_by"] == "t3" and entry["status"] == "succeeded"
    assert entry["demo_metrics"]["total_batches"] == 1
    # the oldest run fell out of the history
    assert svc.get(f"/api/v1/demo/runs/{ids[0]}").status_code == 404
    # when idle, status shows the last finished run
    status = svc.get("/api/v1/demo/status").json()
    assert status["active"] is False and status["run"]["run_id"] == ids[-1]
    assert status["progress_percent"] == 100 and status["demo_metrics"] is not None


def test_cancel_without_active_run(service):
    r = service.delete("/api/v1/demo/cancel")
    assert r.status_code == 200
    assert r.json() == {"run_id": None, "status": "unknown", "cancelled": False, "detail": "No active run"}


def test_api_token_protects_writes_only(start_service):
    svc = start_service({"API_TOKEN": "s3cret"})
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"},
                    {"Authorization": "Bearer s3cret2"}):
        r = svc.post("/api/v1/demo/run", json={"batch_count": 1}, headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["detail"]
        assert svc.delete("/api/v1/demo/cancel", headers=headers).status_code == 401
    assert svc.get("/api/v1/demo/status").status_code == 200
    assert svc.get("/api/v1/demo/history").status_code == 200
    r = svc.post("/api/v1/demo/run", json={"batch_count": 1}, headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200
    svc.wait_finished(r.json()["run_id"])
    r = svc.delete("/api/v1/demo/cancel", headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200 and r.json()["cancelled"] is False


def test_rate_limit_per_client(start_service):
    svc = start_service({"RATE_LIMIT_PER_MINUTE": "5"})
    codes = [svc.get("/api/v1/demo/status").status_code for _ in range(5)]
    assert codes == [200] * 5
    r = svc.get("/api/v1/demo/history")
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["detail"]
    # health, metrics-free paths and preflights are not limited
    for _ in range(10):
        assert svc.get("/healthz").status_code == 200
    r = svc.session.options(svc.url("/api/v1/demo/run"), timeout=10,
                            headers={"Origin": "http://x.test", "Access-Control-Request-Method": "POST"})
    assert r.status_code == 204


def test_cors_any_origin_and_preflight(service):
    r = service.get("/api/v1/demo/status", headers={"Origin": "http://example.test"})
    assert r.headers["access-control-allow-origin"] == "*"
    r = service.session.options(service.url("/api/v1/demo/run"), timeout=10, headers={
        "Origin": "http://example.test", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "authorization" in r.headers["access-control-allow-headers"].lower()
    assert service.session.options(service.url("/nope"), timeout=10).status_code == 404


def test_cors_allowed_origins_list(start_service):
    svc = start_service({"ALLOWED_ORIGINS": "https://a.test, https://b.test"})
    r = svc.get("/api/v1/demo/status", headers={"Origin": "https://b.test"})
    assert r.headers["access-control-allow-origin"] == "https://b.test"
    assert "Origin" in r.headers.get("vary", "")
    r = svc.get("/api/v1/demo/status", headers={"Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in r.headers
    r = svc.session.options(svc.url("/api/v1/demo/cancel"), timeout=10, headers={
        "Origin": "https://a.test", "Access-Control-Request-Method": "DELETE"})
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "https://a.test"


def test_keep_alive_survives_errors(service):
    s = requests.Session()
    for _ in range(3):
        assert s.get(service.url("/nope"), timeout=10).status_code == 404
        assert s.post(service.url("/api/v1/demo/run"), data=b"{", timeout=10).status_code == 422
        assert s.get(service.url("/healthz"), timeout=10).status_code == 200
