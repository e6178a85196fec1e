"""Whole runs of the workflow: results on disk, metrics, determinism, one active run under concurrency."""
import concurrent.futures
import csv
import json
import re

from conftest import average2

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def read_csv(path):
    with open(path, newline="") as f:
        return [tuple(int(x) for x in row) for row in csv.reader(f)]


def test_full_run_results_match_the_csv_files(service):
    run = service.run(batch_count=4, rows_per_batch=250, seed=7, triggered_by="e2e")
    detail = service.wait_finished(run["run_id"])
    assert detail["status"] == "succeeded", detail
    assert detail["message"] is None
    results = service.data_dir / "results" / run["run_id"]
    total_records = total_sum = 0
    stats = []
    for b in range(1, 5):
        rows = read_csv(results / f"batch_{b}.csv")
        assert len(rows) == 250
        assert all(r[0] == b and 0 <= r[1] <= 999 and 0 <= r[2] <= 99 for r in rows)
        s = sum(r[1] for r in rows)
        st = json.loads((results / f"stats_batch_{b}.json").read_text())
        assert st == {"file": f"batch_{b}.csv", "lines": 250, "sum": s, "average": average2(s, 250)}
        stats.append(st)
        total_records += 250
        total_sum += s
    report = json.loads((results / "report.json").read_text())
    assert report["batches"] == stats
    assert report["total_batches"] == 4
    assert report["total_records"] == total_records
    assert report["total_sum"] == total_sum
    assert report["average_value"] == average2(total_sum, total_records)
    assert RFC3339.match(report["timestamp"])

    m = detail["demo_metrics"]
    assert m["total_batches"] == 4 and m["total_records"] == total_records and m["total_sum"] == total_sum
    assert m["average_value"] == report["average_value"]
    assert m["worker_pods_spawned"] == 9  # 4 GENERATE + 4 ANALYZE + 1 REPORT processes
    assert m["execution_time_seconds"] >= 0
    assert m["report_path"] == f"results/{run['run_id']}/report.json"
    assert detail["progress_percent"] == 100

    status = service.get("/api/v1/demo/status").json()
    assert status["run"]["run_id"] == run["run_id"] and status["active"] is False
    assert status["batches_generated"] == 4 and status["batches_analyzed"] == 4
    assert status["demo_metrics"] == m
    assert 0 < len(status["log_preview"]) <= 10 and all(isinstance(x, str) for x in status["log_preview"])
    # log lines reach every browser: they name files, never the server's folders
    assert not any(str(service.data_dir) in line for line in status["log_preview"])
    assert any("report.json" in line for line in status["log_preview"])
    # the run's scratch folder is gone, the results stay
    assert not (service.data_dir / "work" / run["run_id"]).exists()


def test_same_seed_gives_identical_csvs(service):
    files = []
    for seed in (1234, 1234, 1235):
        run = service.run(batch_count=2, rows_per_batch=500, seed=seed)
        assert service.wait_finished(run["run_id"])["status"] == "succeeded"
        results = service.data_dir / "results" / run["run_id"]
        files.append([(results / f"batch_{b}.csv").read_bytes() for b in (1, 2)])
    assert files[0] == files[1]
    assert files[0][0] != files[2][0] and files[0][1] != files[2][1]
    assert files[0][0] != files[0][1]  # batches differ from each other


def test_fifty_concurrent_posts_start_one_run(start_service):
    svc = start_service({"GENERATE_SECONDS": "2"})

    def post(i):
        import requests
        return requests.post(svc.url("/api/v1/demo/run"), json={"batch_count": 3, "triggered_by": f"c{i}"},
                             timeout=20).json()

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(post, range(50)))
    run_ids = {a["run_id"] for a in answers}
    assert len(run_ids) == 1
    assert sum(1 for a in answers if a["attached"] is False) == 1
    assert sum(1 for a in answers if a["attached"] is True) == 49
    run_id = run_ids.pop()
    assert svc.wait_finished(run_id)["status"] == "succeeded"
    history = svc.get("/api/v1/demo/history").json()
    assert [h["run_id"] for h in history] == [run_id]


def test_post_while_active_attaches(start_service):
    svc = start_service({"GENERATE_SECONDS": "30"})
    first = svc.run(batch_count=2)
    second = svc.run(batch_count=5, seed=3)
    assert second["run_id"] == first["run_id"] and second["attached"] is True
    status = svc.get("/api/v1/demo/active").json()
    assert status["active"] is True and status["run"]["batch_count"] == 2
    assert status["progress_percent"] == 0
    assert RFC3339.match(status["estimated_completion"])
    assert svc.delete("/api/v1/demo/cancel").json()["cancelled"] is True
    third = svc.run(batch_count=1)
    assert third["run_id"] != first["run_id"] and third["attached"] is False


def test_large_batches_stream_through(service):
    run = service.run(batch_count=2, rows_per_batch=1000000, seed=9)
    detail = service.wait_finished(run["run_id"], timeout=120)
    assert detail["status"] == "succeeded", detail
    assert detail["demo_metrics"]["total_records"] == 2000000


def test_duration_and_execution_time_agree(service):
    run = service.run(batch_count=1)
    detail = service.wait_finished(run["run_id"])
    assert detail["duration_seconds"] == detail["demo_metrics"]["execution_time_seconds"]
    entry = service.get("/api/v1/demo/history").json()[0]
    assert entry["duration_seconds"] == detail["duration_seconds"]


def test_report_file_work_does_not_block_the_service(service):
    """The report is read in the thread pool: a report that blocks (here a FIFO nobody writes yet) holds only its
    own request, never the loop that serves everyone else."""
    import os
    import threading
    run_id = "r00000000abc"
    folder = service.data_dir / "results" / run_id
    folder.mkdir(parents=True)
    os.mkfifo(folder / "report.json")
    answers = []
    t = threading.Thread(target=lambda: answers.append(service.get(f"/api/v1/demo/runs/{run_id}/report", timeout=30)))
    t.start()
    fifo_path = str(folder / "report.json")

    def service_holds_fifo():
        for fd in os.listdir(f"/proc/{service.proc.pid}/fd"):
            try:
                if os.readlink(f"/proc/{service.proc.pid}/fd/{fd}") == fifo_path:
                    return True
            except OSError:
                pass
        for task in os.listdir(f"/proc/{service.proc.pid}/task"):  # a blocked open() has no descriptor yet
            try:
                with open(f"/proc/{service.proc.pid}/task/{task}/syscall") as f:
                    if f.read().split()[0] in ("257", "2"):  # openat, open
                        return True
            except (OSError, IndexError):
                pass
        return False
    from conftest import wait_until
    assert wait_until(service_holds_fifo, 10), "the report request never reached the file"
    try:
        assert service.get("/health", timeout=5).status_code == 200
        assert service.get("/api/v1/demo/status", timeout=5).status_code == 200
    finally:
        with open(folder / "report.json", "w") as fifo:  # the writer: the blocked read completes
            fifo.write('{"total_batches": 0}')
        t.join(timeout=30)
    assert answers and answers[0].status_code == 200 and answers[0].json() == {"total_batches": 0}
