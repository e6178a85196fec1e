"""/metrics (Prometheus text, checked by promtool) and /api/v1/demo/metrics (JSON aggregates over history)."""
import re
import shutil
import subprocess

import pytest

from conftest import write_wrapper, TASK_BIN
from wsutil import RawClient


def parse(text):
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)', line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def promtool_check(text):
    if shutil.which("promtool") is None:
        pytest.fail("promtool is missing: `make deps` installs Debian's prometheus package")
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip() == "" and p.stderr.strip() == "", p.stdout + p.stderr  # no lint warning either




def test_prometheus_exposition_after_runs(start_service, tmp_path):
    wrapper = write_wrapper(tmp_path / "fail2.sh", 'if [ "$1 $2" = "analyze --batch=2" ]; then exit 5; fi\n'
                                                   f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": wrapper})
    ok = svc.run(batch_count=1)
    svc.wait_finished(ok["run_id"])
    bad = svc.run(batch_count=3)
    assert svc.wait_finished(bad["run_id"])["status"] == "failed"
    svc.get("/nope")
    svc.post("/api/v1/demo/run", data=b"{")
    client = RawClient(svc.port)
    client.frame()
    r = svc.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    promtool_check(r.text)
    s = parse(r.text)
    assert value(s, "pipeline_runs_total", status="succeeded") == 1
    assert value(s, "pipeline_runs_total", status="failed") == 1
    assert value(s, "pipeline_task_processes_failed_total") == 1
    assert value(s, "pipeline_task_processes_started_total") >= 3 + 3  # 1-batch run, then at least 3 GENERATE
    assert value(s, "pipeline_active_runs") == 0
    assert value(s, "pipeline_websocket_clients") == 1
    assert value(s, "pipeline_websocket_broadcasts_total") > 10
    assert value(s, "pipeline_http_requests_total", route="/api/v1/demo/run", method="POST", status="200") == 2
    assert value(s, "pipeline_http_requests_total", route="/api/v1/demo/run", method="POST", status="422") == 1
    assert value(s, "pipeline_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert value(s, "pipeline_http_request_duration_seconds_count", route="/api/v1/demo/run") == 3
    assert value(s, "pipeline_http_request_duration_seconds_bucket", route="/api/v1/demo/run", le="+Inf") == 3
    assert value(s, "pipeline_store_up") == 1 and value(s, "pipeline_store_errors_total") == 0
    assert value(s, "process_resident_memory_bytes") > 1e6
    assert value(s, "pipeline_info", version="1.0.0", executor="local", store="memory") == 1
    client.close()


def test_metrics_are_not_rate_limited_and_have_no_cors_surprises(start_service):
    svc = start_service({"RATE_LIMIT_PER_MINUTE": "2"})
    for _ in range(5):
        assert svc.get("/metrics").status_code == 200


def test_json_aggregates_over_history(start_service):
    svc = start_service({"GENERATE_SECONDS": "30", "RUN_HISTORY_LIMIT": "10"})
    empty = svc.get("/api/v1/demo/metrics").json()
    assert empty["total_runs"] == 0 and empty["success_rate"] == 0 and empty["recent_runs"] == []
    assert empty["average_execution_time_seconds"] is None
    run = svc.run(batch_count=2)
    svc.delete("/api/v1/demo/cancel")
    m = svc.get("/api/v1/demo/metrics").json()
    assert m["total_runs"] == 1 and m["cancelled_runs"] == 1 and m["successful_runs"] == 0
    assert m["recent_runs"][0]["run_id"] == run["run_id"]


def test_json_aggregates_numbers(start_service):
    svc = start_service({"RUN_HISTORY_LIMIT": "10"})
    details = []
    for n in (1, 2, 3):
        run = svc.run(batch_count=n, rows_per_batch=10 * n)
        details.append(svc.wait_finished(run["run_id"]))
    m = svc.get("/api/v1/demo/metrics").json()
    times = [d["demo_metrics"]["execution_time_seconds"] for d in details]
    assert m["total_runs"] == 3 and m["successful_runs"] == 3 and m["failed_runs"] == 0
    assert m["success_rate"] == 100.0
    assert m["total_batches_processed"] == 1 + 2 + 3
    assert m["total_records_processed"] == 1 * 10 + 2 * 20 + 3 * 30
    assert m["min_execution_time_seconds"] == min(times) and m["max_execution_time_seconds"] == max(times)
    assert abs(m["average_execution_time_seconds"] - sum(times) / 3) < 1e-9
    assert [r["run_id"] for r in m["recent_runs"]] == [d["run_id"] for d in details[::-1]]


def test_replicas_count_only_their_own_runs(start_service, redis_server):
    env = {"REDIS_URL": redis_server.url, "REDIS_PREFIX": "m1:", "LOCK_LEASE_SECONDS": "2"}
    a, b = start_service(env, name="a"), start_service(env, name="b")
    run = a.run(batch_count=2)
    a.wait_finished(run["run_id"])
    sa, sb = parse(a.get("/metrics").text), parse(b.get("/metrics").text)
    assert value(sa, "pipeline_runs_total", status="succeeded") == 1
    assert value(sb, "pipeline_runs_total", status="succeeded") == 0
    assert value(sb, "pipeline_task_processes_started_total") == 0
    assert value(sa, "pipeline_info", version="1.0.0", executor="local", store="redis") == 1
    # the JSON aggregates are over the shared history: the same on both
    assert a.get("/api/v1/demo/metrics").json() == b.get("/api/v1/demo/metrics").json()
    promtool_check(b.get("/metrics").text)
