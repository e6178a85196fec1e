"""Bounded disk: results folders leave with their run's place in the history (RUN_HISTORY_LIMIT, or RESULTS_KEEP),
cancelled runs leave no empty folder, half-written files of a killed run are removed at start-up, and symlinks in
a results folder never lead the pruning outside DATA_DIR."""
import os
import threading
import time

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


# ---- symlinks in results folders ------------------------------------------------------------------------------
# A task writes inside its results/<run_id>; what it leaves there (or swaps in while a sweep runs) must never lead
# the pruning outside DATA_DIR.

def outside_tree(tmp_path, files=400):
    """A folder outside DATA_DIR holding f0..f<files-1> and deep/keep: what must survive every sweep."""
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    for i in range(files):
        (outside / f"f{i}").write_text("precious\n")
    (outside / "deep" / "keep").write_text("precious\n")
    return outside


def assert_untouched(outside, files=400):
    assert sorted(os.listdir(outside)) == sorted([f"f{i}" for i in range(files)] + ["deep"])
    assert (outside / "deep" / "keep").read_text() == "precious\n"


def make_old(path):
    """Ages a results folder past RUN_TTL_MINUTES, so the start-up sweep prunes it."""
    old = time.time() - 3 * 3600
    os.utime(path, (old, old))


def test_pruning_removes_planted_symlinks_not_their_targets(start_service, tmp_path):
    outside = outside_tree(tmp_path)
    svc = start_service({"RUN_HISTORY_LIMIT": "1", "RUN_TTL_MINUTES": "1"}, start=False)
    results = svc.data_dir / "results"
    planted = results / "r0000000000a"  # a link in the folder, one further down, one to a file outside
    (planted / "a" / "b").mkdir(parents=True)
    (planted / "a" / "b" / "batch_1.csv").write_text("1,1,1\n")
    os.symlink(outside, planted / "out")
    os.symlink(outside, planted / "a" / "b" / "out")
    os.symlink(outside / "deep", planted / "a" / "deep")
    os.symlink(outside / "f1", planted / "a" / "f1")
    make_old(planted)
    linked = results / "r0000000000b"  # a results folder that is itself a symlink to a folder outside
    os.symlink(outside, linked)
    svc.start()
    assert wait_until(lambda: not planted.exists(), timeout=20), os.listdir(results)
    # a few runs: every one of them ends with a sweep
    for _ in range(3):
        assert svc.wait_finished(svc.run(batch_count=1)["run_id"])["status"] == "succeeded"
    assert_untouched(outside)
    assert os.path.islink(linked)  # not a run's folder: left alone, and so is what it points to


def test_pruning_while_a_folder_is_swapped_for_a_symlink(start_service, tmp_path):
    # <run>/a/sub is replaced by a symlink to the outside folder (same file names) for a millisecond, then put back,
    # over and over, while the start-up sweep removes the run's folder
    outside = outside_tree(tmp_path, files=2000)
    svc = start_service({"RUN_HISTORY_LIMIT": "1", "RUN_TTL_MINUTES": "1"}, start=False)
    folder = svc.data_dir / "results" / "r0000000000c"
    sub, hold = folder / "a" / "sub", folder / "a" / "hold"
    sub.mkdir(parents=True)
    for i in range(2000):
        (sub / f"f{i}").write_text("x\n")
    make_old(folder)  # renames inside a/ change a's time, not the run folder's
    stop = threading.Event()
    swaps = [0]

    def swap():
        while not stop.is_set() and folder.exists():
            time.sleep(0.001)
            try:
                os.rename(sub, hold)
            except OSError:
                continue
            try:
                os.symlink(outside, sub)
                swaps[0] += 1
                time.sleep(0.001)
                os.unlink(sub)
            except OSError:
                pass
            try:
                os.rename(hold, sub)
            except OSError:
                pass

    swapper = threading.Thread(target=swap)
    swapper.start()
    try:
        for _ in range(5):  # a sweep that could not remove everything is tried again by a restart
            svc.start()
            # the sweep ends with the folder gone, or says that something could not be removed
            wait_until(lambda: not folder.exists() or b"results folder" in svc.log_path.read_bytes()[svc.log_from:],
                       timeout=30)
            svc.stop()
            if not folder.exists():
                break
    finally:
        stop.set()
        swapper.join()
    assert swaps[0] > 0
    assert_untouched(outside, files=2000)
