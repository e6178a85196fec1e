"""Real containers for EXECUTOR=nextflow: the controller is simulated (tests/kube/nextflow_sim.py: Nextflow's image
cannot be had here), but every worker pod it creates, built as Nextflow 24.10 builds it from the nextflow.config
the service generates, runs under podman + runc from the image `make image` builds (tests/kube/kube_runtime.py):
its entrypoint, user, the task directory's owner and mode, and `.command.run` under bash are what a cluster would
see. Skipped, with the reason, where podman cannot run or the image is not built."""
import os

import pytest

from conftest import TASK_BIN
from kube_fixtures import ContainerCluster, containers_unavailable
from nextflow_sim import NextflowSim, worker_tasks

WHY_NOT = containers_unavailable()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"no container runtime: {WHY_NOT}")


@pytest.fixture
def cluster(tmp_path):
    with ContainerCluster(tmp_path, "nextflow") as c:
        c.srv.sim.runtime = c.runtime  # the workers; the controller stays the simulation's
        c.nf = NextflowSim(c.srv.sim, c.srv.store, str(c.volume), str(TASK_BIN), runtime=c.runtime)
        yield c


def test_full_run_of_two_batches_with_workers_in_the_real_image(cluster, start_service):
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=2, rows_per_batch=40, seed=11)["run_id"]
    detail = svc.wait_finished(run_id, timeout=240)
    assert detail["status"] == "succeeded", detail["message"]
    assert detail["demo_metrics"]["total_records"] == 80
    report = svc.get(f"/api/v1/demo/runs/{run_id}/report")
    assert report.status_code == 200 and report.json()["total_batches"] == 2
    pods = worker_tasks(cluster.nf)
    assert sorted(pods) == ["ANALYZE_1", "ANALYZE_2", "GENERATE_1", "GENERATE_2", "REPORT"]
    command = pods["ANALYZE_2"]["spec"]["containers"][0]["command"]
    task_dir = cluster.volume / os.path.relpath(os.path.dirname(command[2]), "/workspace")
    # written in the container by the image's user, in the directory the controller made as that user
    assert (task_dir.stat().st_uid, task_dir.stat().st_mode & 0o777) == (10001, 0o755)
    assert (task_dir / ".exitcode").read_text() == "0" and (task_dir / ".exitcode").stat().st_uid == 10001
    assert (task_dir / "batch_2.csv").is_symlink()  # staged from GENERATE (2)'s directory by .command.run
    assert (task_dir / "stats_batch_2.json").stat().st_uid == 10001
