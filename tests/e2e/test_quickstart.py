"""The README's quick start, as a newcomer types it: no DATA_DIR (so ./var), run from an empty folder, the
default pauses. Relative paths (DATA_DIR, TASK_PROGRAM) are resolved once at start-up, so tasks, which run in
their own scratch folder, find them."""
import json
import time

from conftest import TASK_BIN, write_wrapper


def start_relative(start_service, env):
    svc = start_service(start=False)
    for name in ("DATA_DIR", "GENERATE_SECONDS", "ANALYZE_SECONDS", "RATE_LIMIT_PER_MINUTE", "CANCEL_GRACE_SECONDS"):
        svc.env.pop(name, None)  # the defaults, as the README promises them
    svc.env.update(env)
    svc.data_dir = svc.workdir / env.get("DATA_DIR", "var")  # where the leftover-process check looks
    assert not any(svc.workdir.iterdir()), "the working directory must start empty"
    return svc.start()


def wait_slowly(svc, run_id, timeout=90):
    """Polls within the default rate limit (60 a minute)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = svc.get(f"/api/v1/demo/runs/{run_id}")
        if r.status_code == 200 and r.json()["status"] in ("succeeded", "failed", "cancelled"):
            return r.json()
        time.sleep(1)
    raise AssertionError(f"run {run_id} did not finish:\n{svc.log()}")


def test_readme_quick_start_with_defaults(start_service):
    svc = start_relative(start_service, {})
    r = svc.session.post(svc.url("/api/v1/demo/run"), data='{"batch_count": 2}', timeout=10)  # curl -d: no JSON header
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["attached"] is False
    detail = wait_slowly(svc, run["run_id"])
    assert detail["status"] == "succeeded", detail
    results = svc.workdir / "var" / "results" / run["run_id"]
    assert sorted(p.name for p in results.iterdir()) == [
        "batch_1.csv", "batch_2.csv", "report.json", "stats_batch_1.json", "stats_batch_2.json"]
    report = json.loads((results / "report.json").read_text())
    assert report["total_records"] == 200
    assert detail["demo_metrics"]["report_path"] == f"results/{run['run_id']}/report.json"
    status = svc.get("/api/v1/demo/status").json()
    assert status["run"]["run_id"] == run["run_id"] and status["progress_percent"] == 100


def test_relative_data_dir_and_task_program(start_service, tmp_path):
    svc = start_service(start=False)
    (svc.workdir / "bin").mkdir()
    write_wrapper(svc.workdir / "bin" / "task.sh", f'exec "{TASK_BIN}" "$@"\n')
    svc.env.update({"DATA_DIR": "rel/dir", "TASK_PROGRAM": "./bin/task.sh"})
    svc.data_dir = svc.workdir / "rel" / "dir"
    svc.start()
    run = svc.run(batch_count=2)
    detail = svc.wait_finished(run["run_id"])
    assert detail["status"] == "succeeded", detail
    assert (svc.workdir / "rel" / "dir" / "results" / run["run_id"] / "report.json").is_file()
    assert svc.get(f"/api/v1/demo/runs/{run['run_id']}/report").json()["total_batches"] == 2
