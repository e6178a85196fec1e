"""Bounded disk: results folders leave with their run's place in the history (RUN_HISTORY_LIMIT, or RESULTS_KEEP),
cancelled runs leave no empty folder, half-written files of a killed run are removed at start-up."""
import os

from conftest import wait_until


def folders(svc):
    d = svc.data_dir / "results"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_two_hundred_runs_keep_only_the_history(start_service):
    svc = start_service({"RUN_HISTORY_LIMIT": "5", "ROWS_PER_BATCH": "10"})
    ids = []
    for _ in range(200):
        run = svc.run(batch_count=1)
        assert svc.wait_finished(run["run_id"])["status"] == "succeeded"
        ids.append(run["run_id"])
    assert wait_until(lambda: len(folders(svc)) <= 5, timeout=20), folders(svc)
    history = [r["run_id"] for r in svc.get("/api/v1/demo/history?limit=100").json()]
    assert history == ids[::-1][:5]
    assert folders(svc) == sorted(history)  # exactly the history's folders, each with its report
    for run_id in history:
        assert svc.get(f"/api/v1/demo/runs/{run_id}/report").status_code == 200
    assert svc.get(f"/api/v1/demo/runs/{ids[0]}/report").status_code == 404
    assert os.listdir(svc.data_dir / "work") == []


def test_results_keep_keeps_more(start_service):
    svc = start_service({"RUN_HISTORY_LIMIT": "2", "RESULTS_KEEP": "6", "ROWS_PER_BATCH": "10"})
    ids = [svc.run(batch_count=1)["run_id"] for _ in range(1)]
    svc.wait_finished(ids[0])
    for _ in range(9):
        run = svc.run(batch_count=1)
        svc.wait_finished(run["run_id"])
        ids.append(run["run_id"])
    assert wait_until(lambda: len(folders(svc)) == 6, timeout=20), folders(svc)
    assert folders(svc) == sorted(ids[-6:])
    assert svc.get(f"/api/v1/demo/runs/{ids[-6]}/report").status_code == 200  # out of the history, still on disk


def test_cancelled_runs_leave_no_empty_folder(start_service):
    svc = start_service({"GENERATE_SECONDS": "30", "CANCEL_GRACE_SECONDS": "1"})
    for _ in range(5):
        run = svc.run(batch_count=2)
        assert svc.delete("/api/v1/demo/cancel").json()["status"] == "cancelled"
        assert wait_until(lambda: run["run_id"] not in folders(svc), timeout=20), folders(svc)
    assert len(svc.get("/api/v1/demo/history").json()) == 5
    assert folders(svc) == []


def test_start_up_removes_half_written_files(start_service):
    svc = start_service(start=False)
    results = svc.data_dir / "results"
    killed = results / "r0000000000a"  # a run killed with the service mid-way: one CSV done, one half-written
    killed.mkdir(parents=True)
    (killed / "batch_1.csv").write_text("1,5,5\n")
    (killed / "batch_2.csv.tmp.4242").write_text("2,5")
    only_tmp = results / "r0000000000b"
    only_tmp.mkdir()
    (only_tmp / "batch_1.csv.tmp.77").write_text("1,")
    other = results / "not-a-run"  # not ours to judge
    other.mkdir()
    (other / "x.tmp.1").write_text("x")
    work = svc.data_dir / "work" / "r0000000000a"
    work.mkdir(parents=True)
    (work / "scratch").write_text("x")
    svc.start()
    assert wait_until(lambda: not (killed / "batch_2.csv.tmp.4242").exists(), timeout=20)
    assert (killed / "batch_1.csv").exists()
    assert wait_until(lambda: not only_tmp.exists(), timeout=20)
    assert (other / "x.tmp.1").exists()
    assert not work.exists()
