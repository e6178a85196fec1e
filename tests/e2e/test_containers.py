"""Real containers: EXECUTOR=kubernetes against the Kubernetes API test server, every task pod run under podman +
runc from the image `make image` builds (tests/kube/kube_runtime.py), so the image's entrypoint, user, working
directory, pull policy and libraries are what a cluster would see. Skipped, with the reason, where podman cannot
run or the image is not built."""
import os
import re
import uuid

import pytest

from conftest import TASK_BIN
from kube_fixtures import APP_IMAGE, ContainerCluster, containers_unavailable, full_run_of_three
from kube_runtime import podman
from pod_runner_sim import PodRunnerSim

IMAGE = APP_IMAGE
WHY_NOT = containers_unavailable()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"no container runtime: {WHY_NOT}")


@pytest.fixture
def cluster(tmp_path):
    with ContainerCluster(tmp_path, "kubernetes") as c:
        # the work claim is a host folder the service also reads (WORK_MOUNT); writable by the pods' user, as an NFS
        # export made by nfs-subdir-external-provisioner is (0777)
        os.chmod(c.volume, 0o777)
        c.sim = PodRunnerSim(c.srv.sim, c.srv.store, str(c.volume), str(TASK_BIN), runtime=c.runtime)
        yield c


def report_without_time(raw):
    """report.json's bytes with its one timestamp blanked (the only field that differs between two runs)."""
    return re.sub(rb'"timestamp": "[^"]*"', b'"timestamp": "-"', raw)


def local_report(start_service, seed, batches, rows):
    svc = start_service({"EXECUTOR": "local"}, name="local")
    run_id = svc.run(batch_count=batches, rows_per_batch=rows, seed=seed)["run_id"]
    assert svc.wait_finished(run_id, timeout=60)["status"] == "succeeded"
    return svc.get(f"/api/v1/demo/runs/{run_id}/report").content


def test_full_run_in_containers_matches_the_local_executor(cluster, start_service):
    """3 batches, each task a container of the real image as uid 65532 on the work volume: the run succeeds and
    report.json is the local executor's, byte for byte (but its time)."""
    svc = start_service(cluster.env())
    run_id, _ = full_run_of_three(svc, "kubernetes", "pipeline-run-")
    raw = (cluster.volume / "results" / run_id / "report.json").read_bytes()
    assert svc.get(f"/api/v1/demo/runs/{run_id}/report").content == raw
    assert report_without_time(raw) == report_without_time(local_report(start_service, 7, 3, 50))
    # written by the pods' user, not by root
    st = os.stat(cluster.volume / "results" / run_id / "batch_1.csv")
    assert st.st_uid == 65532, st


def test_five_batches_under_a_quota_of_two_workers(cluster, start_service):
    cluster.quota("2", "8Gi")
    svc = start_service(cluster.env(WORKER_CPU="1", WORKER_MEMORY="4Gi"))
    run_id = svc.run(batch_count=5, rows_per_batch=20, seed=3)["run_id"]
    detail = svc.wait_finished(run_id, timeout=300)
    assert detail["status"] == "succeeded", (detail.get("message"), svc.log()[-3000:])
    assert detail["demo_metrics"]["worker_pods_spawned"] == 11 and detail["demo_metrics"]["total_records"] == 100
    assert cluster.sim.max_active == 2, cluster.sim.max_active
    raw = (cluster.volume / "results" / run_id / "report.json").read_bytes()
    assert report_without_time(raw) == report_without_time(local_report(start_service, 3, 5, 20))


@pytest.fixture
def latest_image():
    """The image under a `:latest` tag of its own (removed afterwards)."""
    name = f"localhost/pipeline-e2e-{uuid.uuid4().hex[:8]}:latest"
    podman("tag", IMAGE, name, check=True)
    yield name
    podman("rmi", name)


def test_latest_image_with_the_default_pull_policy_runs(cluster, start_service, latest_image):
    """A side-loaded image tagged :latest (kind, minikube, k3d): Kubernetes would pull it (Always is the default for
    :latest); IMAGE_PULL_POLICY's default IfNotPresent runs what the node has."""
    svc = start_service(cluster.env(APP_IMAGE=latest_image))
    run_id = svc.run(batch_count=1, rows_per_batch=10)["run_id"]
    detail = svc.wait_finished(run_id, timeout=120)
    assert detail["status"] == "succeeded", (detail.get("message"), svc.log()[-3000:])
    pod = cluster.srv.requests and [p for m, p, s in cluster.srv.requests if m == "POST" and p.endswith("/pods")]
    assert pod


def test_latest_image_with_pull_policy_always_fails_naming_err_image_pull(cluster, start_service, latest_image):
    svc = start_service(cluster.env(APP_IMAGE=latest_image, IMAGE_PULL_POLICY="Always",
                                    POD_START_TIMEOUT_SECONDS="8"))
    run_id = svc.run(batch_count=1)["run_id"]
    detail = svc.wait_finished(run_id, timeout=120)
    assert detail["status"] == "failed"
    msg = detail["message"]
    assert msg.startswith("GENERATE (1) failed: pod ") and "ErrImagePull" in msg, msg
    assert latest_image.split("/")[-1] in msg, msg
