"""TASK_RETRIES, black-box: a task that ended for a reason outside its own code (SIGKILL from outside) runs again
with its attempt number; a task whose program exits non-zero is a real failure and is not retried; a cancel stops
retries; the Kubernetes pod runner retries an evicted pod and a pod deleted by someone else."""
import os
import signal
import sys
import time

import pytest

from conftest import ROOT, TASK_BIN, processes_mentioning, wait_until, write_wrapper
from test_faults import task_pids


def task_of(detail, name, batch):
    return next(t for t in detail["tasks"] if t["name"] == name and t["batch"] == batch)


def pausing_wrapper(tmp_path, stage, marker):
    """A TASK_PROGRAM that holds `stage` tasks (before exec, so the pid is the task's) while `marker` exists."""
    return write_wrapper(tmp_path / "wrap.sh", f'if [ "$1" = {stage} ] && [ -e "{marker}" ]; then sleep 30; fi\n'
                                               f'exec "{TASK_BIN}" "$@"\n')


def test_task_killed_from_outside_runs_again(start_service, tmp_path):
    marker = tmp_path / "hold"
    marker.touch()
    svc = start_service({"TASK_PROGRAM": pausing_wrapper(tmp_path, "analyze", marker)})
    run = svc.run(batch_count=2, seed=5)
    pids = wait_until(lambda: task_pids(svc, "analyze"), timeout=20)
    assert pids
    killed = [p for p in pids if "--batch=1 " in open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode()
              + " "] or pids[:1]
    marker.unlink()  # the second attempt (and the other batch) go on at once
    os.kill(killed[0], signal.SIGKILL)
    detail = svc.wait_finished(run["run_id"])
    assert detail["status"] == "succeeded", detail["message"]
    attempts = {(t["name"], t["batch"]): t["attempt"] for t in detail["tasks"]}
    assert sorted(attempts.values()).count(2) == 1, attempts
    retried = [k for k, v in attempts.items() if v == 2][0]
    assert retried[0] == "ANALYZE"
    assert all(v == 1 for k, v in attempts.items() if k != retried)
    assert detail["demo_metrics"]["total_batches"] == 2
    # the log says why, and the retry's lines carry their attempt
    log = svc.get("/api/v1/demo/status").json()["log_preview"] + [svc.log()]
    text = "\n".join(log)
    assert "SIGKILL" in svc.log() and "attempt 2" in text, text
    assert "out of memory" in svc.log()


def test_task_exiting_non_zero_is_not_retried(start_service, tmp_path):
    count = tmp_path / "count"
    wrapper = write_wrapper(tmp_path / "wrap.sh", f'if [ "$1" = generate ]; then echo x >> "{count}"; exit 3; fi\n'
                                                  f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": wrapper, "TASK_RETRIES": "3"})
    run = svc.run(batch_count=1)
    detail = svc.wait_finished(run["run_id"])
    assert detail["status"] == "failed"
    assert "exit code 3" in detail["message"], detail["message"]
    assert count.read_text().count("x") == 1  # started once
    assert task_of(detail, "GENERATE", 1)["attempt"] == 1


def test_retries_are_bounded(start_service, tmp_path):
    """Killed at every attempt: TASK_RETRIES=2 means three starts, then the run fails saying so."""
    svc = start_service({"TASK_RETRIES": "2", "GENERATE_SECONDS": "30"})
    run = svc.run(batch_count=1)
    for attempt in (1, 2, 3):
        pids = wait_until(lambda: task_pids(svc, "generate"), timeout=20)
        assert pids, f"attempt {attempt} not started"
        os.kill(pids[0], signal.SIGKILL)
        wait_until(lambda: pids[0] not in processes_mentioning(str(svc.data_dir)), timeout=10)
    detail = svc.wait_finished(run["run_id"])
    assert detail["status"] == "failed"
    assert task_of(detail, "GENERATE", 1)["attempt"] == 3
    assert "SIGKILL" in detail["message"], detail["message"]


def test_cancel_stops_retries(start_service):
    svc = start_service({"TASK_RETRIES": "5", "GENERATE_SECONDS": "30", "CANCEL_GRACE_SECONDS": "0"})
    run = svc.run(batch_count=1)
    assert wait_until(lambda: task_pids(svc, "generate"), timeout=20)
    answer = svc.delete("/api/v1/demo/cancel", timeout=30).json()
    assert answer["status"] == "cancelled"
    detail = svc.wait_finished(run["run_id"])
    assert detail["status"] == "cancelled"
    assert task_of(detail, "GENERATE", 1)["attempt"] == 1
    time.sleep(0.5)
    assert task_pids(svc, "generate") == []


def test_task_retries_is_validated(start_service):
    svc = start_service({"TASK_RETRIES": "6"}, start=False)
    svc.start(wait=False)
    assert svc.proc.wait(timeout=10) == 2
    assert "TASK_RETRIES" in svc.log()


# ---- the pod runner ------------------------------------------------------------------------------------------------

sys.path.insert(0, str(ROOT / "tests" / "kube"))


@pytest.fixture
def cluster(tmp_path):
    from kube_fixtures import pod_runner_cluster
    with pod_runner_cluster(tmp_path) as c:
        yield c


def test_evicted_pod_runs_again(cluster, start_service):
    cluster.sim.scenario = {"evict": {"ANALYZE_1": 1}}
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=2, rows_per_batch=20)["run_id"]
    detail = svc.wait_finished(run_id, timeout=90)
    assert detail["status"] == "succeeded", (detail["message"], svc.log()[-3000:])
    assert task_of(detail, "ANALYZE", 1)["attempt"] == 2
    assert task_of(detail, "ANALYZE", 2)["attempt"] == 1
    # a new pod for the second attempt, the evicted one kept its name
    assert f"{run_id}-analyze-1" in cluster.sim.created and f"{run_id}-analyze-1-a2" in cluster.sim.created
    assert "Evicted" in svc.log()
    assert detail["demo_metrics"]["total_records"] == 40


def test_pod_deleted_by_someone_else_runs_again(cluster, start_service):
    gate = __import__("threading").Event()
    cluster.sim.scenario = {"gate": gate}
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=1, rows_per_batch=10)["run_id"]
    name = f"{run_id}-generate-1"
    assert wait_until(lambda: cluster.srv.store.find("pods", "pipeline", name), timeout=30)
    cluster.srv.store.delete("pods", "pipeline", name)
    assert wait_until(lambda: f"{name}-a2" in cluster.sim.created, timeout=30), svc.log()[-3000:]
    gate.set()
    detail = svc.wait_finished(run_id, timeout=90)
    assert detail["status"] == "succeeded", (detail["message"], svc.log()[-3000:])
    assert task_of(detail, "GENERATE", 1)["attempt"] == 2


def test_pod_create_refused_with_a_retryable_reason(cluster, start_service):
    cluster.srv.inject("POST", "pods", 503, count=1, message="etcdserver: leader changed", reason="ServiceUnavailable")
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=1, rows_per_batch=10)["run_id"]
    detail = svc.wait_finished(run_id, timeout=90)
    assert detail["status"] == "succeeded", (detail["message"], svc.log()[-3000:])
    assert task_of(detail, "GENERATE", 1)["attempt"] == 2
