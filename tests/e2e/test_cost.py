"""What each task cost, black-box, on the local executor: the figures of every task in status, runs/{id}, the
stream's progress and complete messages; a task that sleeps and one that allocates; a task killed by SIGKILL still
has wall and CPU time (wait4); /runs/{id}/trace read by a reader written from Nextflow's documentation of its trace
file; the task histograms on /metrics accepted by promtool."""
import asyncio
import csv
import io
import os
import re
import signal
import time
from datetime import datetime, timezone

from conftest import TASK_BIN, wait_until, write_wrapper
from test_metrics import parse, promtool_check, value
from wsutil import collect

FIELDS = ["attempt", "submitted_at", "started_at", "finished_at", "duration_seconds", "queued_seconds",
          "cpu_seconds", "peak_rss_bytes", "read_bytes", "written_bytes", "exit_code", "where"]
RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MB = 1024 * 1024


def ts(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def task_of(tasks, name, batch):
    return next(t for t in tasks if t["name"] == name and t["batch"] == batch)


def assert_plausible(task):
    for f in FIELDS:
        assert f in task, (f, task)
    for f in ("submitted_at", "started_at", "finished_at"):
        assert RFC3339_MS.match(task[f]), task
    assert ts(task["submitted_at"]) <= ts(task["started_at"]) <= ts(task["finished_at"])
    assert abs(task["duration_seconds"] - (ts(task["finished_at"]) - ts(task["started_at"]))) < 0.002
    assert 0 <= task["queued_seconds"] < 5
    assert 0 <= task["cpu_seconds"] < task["duration_seconds"] + 1
    assert 100_000 < task["peak_rss_bytes"] < 512 * MB
    assert task["read_bytes"] > 0 and task["written_bytes"] > 0
    assert task["exit_code"] == 0 and task["attempt"] == 1
    assert isinstance(task["where"]["pid"], int) and task["where"]["pid"] > 1


# ---- a local run ------------------------------------------------------------------------------------------------

def test_local_run_reports_every_tasks_cost(start_service):
    svc = start_service({"GENERATE_SECONDS": "0.3"})
    url = f"ws://127.0.0.1:{svc.port}/api/v1/pipeline/stream"

    async def go():
        listener = asyncio.ensure_future(collect(url))
        await asyncio.sleep(0.3)
        run = await asyncio.get_running_loop().run_in_executor(None, lambda: svc.run(batch_count=2))
        return run, await listener

    run, messages = asyncio.run(go())
    detail = svc.wait_finished(run["run_id"])
    assert detail["status"] == "succeeded"
    assert len(detail["tasks"]) == 5
    for task in detail["tasks"]:
        assert_plausible(task)
    for b in (1, 2):  # the demo pause is inside the task: its duration holds it
        assert task_of(detail["tasks"], "GENERATE", b)["duration_seconds"] >= 0.3
    # REPORT starts after both ANALYZE ended
    report = task_of(detail["tasks"], "REPORT", 0 if any(t["batch"] == 0 for t in detail["tasks"]) else 2)
    assert ts(report["started_at"]) >= max(ts(task_of(detail["tasks"], "ANALYZE", b)["finished_at"]) for b in (1, 2))
    status = svc.get("/api/v1/demo/status").json()
    assert [t["duration_seconds"] for t in status["tasks"]] == [t["duration_seconds"] for t in detail["tasks"]]
    complete = [m for m in messages if m["type"] == "complete"][-1]
    assert complete["data"]["tasks"] == detail["tasks"]
    # a task's update on the stream carries its figures: running has where and started_at, the end has the rest
    updates = [m["data"]["task"] for m in messages if m["type"] == "progress" and "task" in m["data"]]
    running = [u for u in updates if u["state"] == "running"]
    ended = [u for u in updates if u["state"] == "succeeded"]
    assert len(running) == 5 and len(ended) == 5
    # an update carries what is known at that moment: the end is not, yet
    assert all(u["started_at"] and u["where"]["pid"] > 1 and "finished_at" not in u and "duration_seconds" not in u
               for u in running)
    for u in ended:
        assert_plausible(u)
    # never a log line
    log = svc.get("/api/v1/demo/status").json()["log_preview"]
    assert not any("pipeline-task-usage" in line for line in log)
    assert not any("pipeline-task-usage" in line["message"] for m in messages if m["type"] == "log"
                   for line in m["data"]["lines"])


def test_peak_rss_of_a_task_that_allocates_50_mb(start_service, tmp_path):
    wrapper = write_wrapper(tmp_path / "alloc.sh",
                            'if [ "$1" = analyze ]; then /usr/bin/python3 -c "b = bytearray(52 << 20)\n'
                            'for i in range(0, len(b), 4096): b[i] = 1"; fi\n'
                            f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": wrapper})
    detail = svc.wait_finished(svc.run(batch_count=1)["run_id"])
    assert detail["status"] == "succeeded"
    analyze = task_of(detail["tasks"], "ANALYZE", 1)
    generate = task_of(detail["tasks"], "GENERATE", 1)
    assert analyze["peak_rss_bytes"] >= 50 * MB, analyze
    assert generate["peak_rss_bytes"] < 50 * MB, generate  # the task's own figure, not the service's


def test_killed_task_has_wall_and_cpu_from_wait4(start_service, tmp_path):
    spun = tmp_path / "spun"
    wrapper = write_wrapper(tmp_path / "spin.sh",
                            'if [ "$1" = generate ]; then exec /usr/bin/python3 -c "import time\n'
                            't = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n'
                            f'open(\'{spun}\', \'w\').close()\ntime.sleep(60)"; fi\n'
                            f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": wrapper, "TASK_RETRIES": "0"})
    run = svc.run(batch_count=1)

    def running_pid():
        tasks = svc.get(f"/api/v1/demo/runs/{run['run_id']}").json()["tasks"]
        t = task_of(tasks, "GENERATE", 1)
        return t["where"] and t["where"]["pid"]

    pid = wait_until(running_pid, timeout=20)
    assert wait_until(spun.exists, timeout=30)  # it spun 0.4 s of CPU, and sleeps
    time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    detail = svc.wait_finished(run["run_id"])
    assert detail["status"] == "failed"
    g = task_of(detail["tasks"], "GENERATE", 1)
    assert g["state"] == "failed" and g["exit_code"] == 137 and g["where"]["pid"] == pid
    assert g["duration_seconds"] >= 0.6
    assert 0.39 <= g["cpu_seconds"] <= g["duration_seconds"]
    assert g["peak_rss_bytes"] > 0
    assert g["read_bytes"] is None and g["written_bytes"] is None  # only the task itself knows those
    trace = read_trace(svc.get(f"/api/v1/demo/runs/{run['run_id']}/trace").text)
    assert [(r["name"], r["status"], r["exit"]) for r in trace] == [("GENERATE (1)", "FAILED", "137")]


# ---- the trace, read as Nextflow documents it -------------------------------------------------------------------

TRACE_COLUMNS = ["task_id", "native_id", "name", "status", "exit", "submit", "start", "complete", "duration",
                 "realtime", "%cpu", "peak_rss", "rchar", "wchar"]


def nf_duration(text):
    """Nextflow's duration strings: 310ms, 1.2s, 1m 5s, 2h 3m, 1d 2h (a space between units)."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    total = 0.0
    for part in text.split(" "):
        m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", part)
        assert m, text
        total += float(m.group(1)) * units[m.group(2)]
    return total


def nf_size(text):
    """Nextflow's memory units: 1024-based B, KB, MB, GB, TB ("0" for none)."""
    if text == "0":
        return 0
    m = re.fullmatch(r"(\d+(?:\.\d)?) (B|KB|MB|GB|TB)", text)
    assert m, text
    return float(m.group(1)) * 1024 ** ["B", "KB", "MB", "GB", "TB"].index(m.group(2))


def nf_date(text):
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()


def read_trace(text):
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    assert text.split("\n", 1)[0].split("\t") == TRACE_COLUMNS
    return rows


def test_trace_in_nextflows_layout(start_service):
    svc = start_service({"GENERATE_SECONDS": "0.3", "ANALYZE_SECONDS": "1.1"})
    run_id = svc.run(batch_count=2)["run_id"]
    live = svc.get(f"/api/v1/demo/runs/{run_id}/trace")
    assert live.status_code == 200 and live.text.startswith("task_id\t")  # while it runs: what ended so far
    detail = svc.wait_finished(run_id)
    r = svc.get(f"/api/v1/demo/runs/{run_id}/trace")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/tab-separated-values")
    rows = read_trace(r.text)
    assert [row["task_id"] for row in rows] == [str(i) for i in range(1, 6)]
    assert sorted(row["name"] for row in rows) == ["ANALYZE (1)", "ANALYZE (2)", "GENERATE (1)", "GENERATE (2)",
                                                   "REPORT"]
    by_name = {row["name"]: row for row in rows}
    for t in detail["tasks"]:
        name = "REPORT" if t["name"] == "REPORT" else f"{t['name']} ({t['batch']})"
        row = by_name[name]
        assert row["status"] == "COMPLETED" and row["exit"] == "0"
        assert row["native_id"] == str(t["where"]["pid"])
        assert abs(nf_date(row["submit"]) - ts(t["submitted_at"])) < 0.001
        assert abs(nf_date(row["start"]) - ts(t["started_at"])) < 0.001
        assert abs(nf_date(row["complete"]) - ts(t["finished_at"])) < 0.001
        realtime = nf_duration(row["realtime"])
        assert abs(realtime - t["duration_seconds"]) <= (0.001 if realtime < 1 else 0.05), (row, t)
        assert nf_duration(row["duration"]) >= realtime - 0.05  # from the submission
        assert re.fullmatch(r"\d+\.\d%", row["%cpu"]), row
        assert abs(nf_size(row["peak_rss"]) - t["peak_rss_bytes"]) <= t["peak_rss_bytes"] * 0.05
        assert abs(nf_size(row["wchar"]) - t["written_bytes"]) <= max(1, t["written_bytes"] * 0.05)
        assert nf_size(row["rchar"]) > 0
    # ANALYZE took over 1.1 s: seconds with a tenth ("1.1s"; "2s" on a busy machine); a task under 1 s: milliseconds
    assert re.fullmatch(r"\d+(\.\d)?s", by_name["ANALYZE (1)"]["realtime"]), by_name["ANALYZE (1)"]
    for row in rows:
        if nf_duration(row["realtime"]) < 1:
            assert re.fullmatch(r"\d{1,3}ms", row["realtime"]), row
    assert svc.get("/api/v1/demo/runs/r000000000000/trace").status_code == 404
    assert svc.get("/api/v1/demo/runs/nope/trace").status_code == 404


def holding_wrapper(tmp_path):
    """A TASK_PROGRAM whose ANALYZE tasks sleep while the returned marker file exists."""
    marker = tmp_path / "hold"
    marker.touch()
    wrapper = write_wrapper(tmp_path / "wrap.sh", f'if [ "$1" = analyze ] && [ -e "{marker}" ]; then sleep 30; fi\n'
                                                  f'exec "{TASK_BIN}" "$@"\n')
    return wrapper, marker


def kill_held_analyze(svc, run_id, marker, timeout):
    """SIGKILL from outside for ANALYZE (1), held by holding_wrapper, once it runs (its retry is let through);
    returns the killed pid."""
    def analyze_pid():
        t = task_of(svc.get(f"/api/v1/demo/runs/{run_id}").json()["tasks"], "ANALYZE", 1)
        return t["state"] == "running" and t["where"] and t["where"]["pid"]

    pid = wait_until(analyze_pid, timeout=timeout)
    marker.unlink()
    os.kill(pid, signal.SIGKILL)
    return pid


def test_retried_attempt_has_its_own_trace_line_and_counts(start_service, tmp_path):
    wrapper, marker = holding_wrapper(tmp_path)
    svc = start_service({"TASK_PROGRAM": wrapper, "TASK_RETRIES": "1"})
    run_id = svc.run(batch_count=1)["run_id"]
    pid = kill_held_analyze(svc, run_id, marker, timeout=20)
    detail = svc.wait_finished(run_id)
    assert detail["status"] == "succeeded", detail["message"]
    a = task_of(detail["tasks"], "ANALYZE", 1)
    assert a["attempt"] == 2 and a["where"]["pid"] != pid
    rows = read_trace(svc.get(f"/api/v1/demo/runs/{run_id}/trace").text)
    analyze = [r for r in rows if r["name"] == "ANALYZE (1)"]
    assert [(r["status"], r["exit"], r["native_id"]) for r in analyze] == [("FAILED", "137", str(pid)),
                                                                           ("COMPLETED", "0", str(a["where"]["pid"]))]
    s = parse(svc.get("/metrics").text)
    assert value(s, "pipeline_task_retries_total") == 1


def test_task_histograms_on_metrics(start_service):
    svc = start_service({"GENERATE_SECONDS": "0.3"})
    svc.wait_finished(svc.run(batch_count=3)["run_id"])
    text = svc.get("/metrics").text
    promtool_check(text)
    s = parse(text)
    assert value(s, "pipeline_task_duration_seconds_count", stage="GENERATE", executor="local") == 3
    assert value(s, "pipeline_task_duration_seconds_bucket", stage="GENERATE", executor="local", le="0.25") == 0
    assert value(s, "pipeline_task_duration_seconds_bucket", stage="GENERATE", executor="local", le="+Inf") == 3
    assert value(s, "pipeline_task_duration_seconds_sum", stage="GENERATE", executor="local") >= 0.9
    assert value(s, "pipeline_task_queued_seconds_count", stage="ANALYZE", executor="local") == 3
    assert value(s, "pipeline_task_duration_seconds_count", stage="REPORT", executor="local") == 1
    assert value(s, "pipeline_task_peak_rss_bytes_count", stage="ANALYZE") == 3
    assert value(s, "pipeline_task_peak_rss_bytes_bucket", stage="ANALYZE", le="+Inf") == 3
    assert value(s, "pipeline_task_retries_total") == 0


# ---- the dashboard's timeline (tests/node/timeline.mjs in Chromium) ---------------------------------------------

def timeline_node(scenario, svc):
    from conftest import ROOT, run_node
    outdir = ROOT / "tests" / "e2e" / "output" / "timeline" / scenario
    outdir.mkdir(parents=True, exist_ok=True)
    for old in outdir.glob("*.png"):
        old.unlink()
    result = run_node("timeline.mjs", svc.url(""), scenario, outdir, timeout=150)
    print(result.stdout, result.stderr)
    assert result.returncode == 0, f"timeline.mjs {scenario}:\n{result.stdout}\n{result.stderr}"
    return outdir


def test_dashboard_draws_the_live_timeline_and_its_table(start_service):
    """3 batches, two task processes at a time (so tasks queue): bars drawn while it runs, then all seven."""
    svc = start_service({"GENERATE_SECONDS": "0.8", "ANALYZE_SECONDS": "0.6", "LOCAL_PARALLELISM": "2"})
    out = timeline_node("live", svc)
    png = out / "timeline.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_a_finished_run_from_the_history_opens_with_its_timeline(start_service):
    svc = start_service()
    out = timeline_node("history", svc)
    assert (out / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_costs_trace_and_metrics_are_clean_under_valgrind(start_service, redis_server, tmp_path):
    """The figures' whole path under valgrind, with Redis (the record with its costs written and read back): a run, a
    retried attempt, the trace and /metrics, a run read back from the store; no leak, no error."""
    import shutil
    from conftest import BUILD, VALGRIND
    import pytest
    if BUILD.name != "build" or shutil.which("valgrind") is None:
        pytest.skip("valgrind runs on the plain build only (ASan replaces it there)")
    wrapper, marker = holding_wrapper(tmp_path)
    svc = start_service({"TASK_PROGRAM": wrapper, "TASK_RETRIES": "1", "REDIS_URL": redis_server.url,
                         "REDIS_PREFIX": "vgcost:"}, prefix=VALGRIND)
    run_id = svc.run(batch_count=1)["run_id"]
    kill_held_analyze(svc, run_id, marker, timeout=60)
    assert svc.wait_finished(run_id, timeout=120)["status"] == "succeeded"
    assert len(read_trace(svc.get(f"/api/v1/demo/runs/{run_id}/trace").text)) == 4
    promtool_check(svc.get("/metrics").text)
    second = svc.run(batch_count=1)["run_id"]
    svc.wait_finished(second, timeout=120)
    assert task_of(svc.get(f"/api/v1/demo/runs/{run_id}").json()["tasks"], "ANALYZE", 1)["attempt"] == 2
    assert svc.get("/api/v1/demo/runs/r000000000000/trace").status_code == 404
    code = svc.stop(signal.SIGTERM, timeout=60)
    assert code == 0, svc.log()[-5000:]
