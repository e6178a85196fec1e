"""What each task cost on the Kubernetes pod runner, black-box, against the Kubernetes API test server
(tests/kube): the pod's node and times from its status (a pod held Pending shows as queued), pipeline-task's usage
line taken from the pod's log (never shown), the trace naming the pods."""
import sys
import threading
import time

import pytest

from conftest import ROOT, TASK_BIN, wait_until
from kube_fixtures import Cluster, pod_runner_cluster
from test_cost import read_trace, ts

sys.path.insert(0, str(ROOT / "tests" / "kube"))


@pytest.fixture
def cluster(tmp_path):
    with pod_runner_cluster(tmp_path) as c:
        yield c


def test_pods_queued_seconds_node_and_usage(cluster, start_service):
    gate = threading.Event()
    cluster.sim.scenario = {"start_gate": gate}
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=2)["run_id"]
    label = f"pipeline/run-id={run_id}"
    assert wait_until(lambda: len([p for p in cluster.objects("pods", label)
                                   if p["status"].get("phase") == "Pending"]) == 2, timeout=30)
    time.sleep(2.2)  # the GENERATE pods wait to start: queued, not running
    pending = svc.get(f"/api/v1/demo/runs/{run_id}").json()["tasks"]
    g = [t for t in pending if t["name"] == "GENERATE"]
    assert all(t["submitted_at"] and t["started_at"] is None and t["queued_seconds"] is None for t in g), g
    gate.set()
    detail = svc.wait_finished(run_id, timeout=90)
    assert detail["status"] == "succeeded", detail["message"]
    for t in detail["tasks"]:
        where = t["where"]
        suffix = "report" if t["name"] == "REPORT" else f"{t['name'].lower()}-{t['batch']}"
        assert where == {"pod": f"{run_id}-{suffix}", "node": "node-1"}, t
        assert t["exit_code"] == 0 and t["attempt"] == 1
        assert ts(t["submitted_at"]) <= ts(t["started_at"]) <= ts(t["finished_at"])
        assert t["queued_seconds"] is not None and t["duration_seconds"] is not None
        # pipeline-task's own figures came through the pod's log
        assert t["cpu_seconds"] is not None and t["peak_rss_bytes"] > 100_000, t
        assert t["read_bytes"] > 0 and t["written_bytes"] > 0
    for t in detail["tasks"]:
        if t["name"] == "GENERATE":  # held Pending 2.2 s (the kubelet's times are whole seconds)
            assert t["queued_seconds"] >= 1.0, t
    log = svc.get("/api/v1/demo/status").json()["log_preview"]
    assert not any("pipeline-task-usage" in line for line in log), log
    rows = read_trace(svc.get(f"/api/v1/demo/runs/{run_id}/trace").text)
    assert sorted(r["native_id"] for r in rows) == sorted(t["where"]["pod"] for t in detail["tasks"])
    assert all(r["status"] == "COMPLETED" for r in rows)


def test_nextflow_workers_cost(tmp_path, start_service):
    """EXECUTOR=nextflow: each task's figures from its worker pod (created, started, node) and the usage line in its
    log; the submission is the pod's creation (Nextflow submitted it)."""
    from nextflow_sim import NextflowSim
    with Cluster(tmp_path, "nextflow") as c:
        c.nf = NextflowSim(c.srv.sim, c.srv.store, str(c.volume), str(TASK_BIN))
        svc = start_service(c.env())
        run_id = svc.run(batch_count=1)["run_id"]
        detail = svc.wait_finished(run_id, timeout=120)
        assert detail["status"] == "succeeded", detail["message"]

        def settled():  # a worker's last log lines may come after Nextflow's pod ended
            tasks = svc.get(f"/api/v1/demo/runs/{run_id}").json()["tasks"]
            return all(t["cpu_seconds"] is not None for t in tasks) and tasks

        tasks = wait_until(settled, timeout=10)
        assert tasks, svc.get(f"/api/v1/demo/runs/{run_id}").json()["tasks"]
        for t in tasks:
            assert t["where"]["pod"] and t["where"]["node"] == "node-1", t
            assert t["submitted_at"] and t["started_at"] and t["finished_at"], t
            assert t["peak_rss_bytes"] > 100_000 and t["written_bytes"] > 0, t
        log = svc.get("/api/v1/demo/status").json()["log_preview"]
        assert not any("pipeline-task-usage" in line for line in log), log
