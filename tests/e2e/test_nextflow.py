"""EXECUTOR=nextflow, black-box: the real service against the Kubernetes API test server (tests/kube), where
tests/kube/nextflow_sim.py plays Nextflow in the Job's controller pod and runs the real pipeline-task in each
worker pod on a simulated work volume (the service's WORK_MOUNT)."""
import asyncio
import json
import os
import sys
import threading

import pytest

from conftest import ROOT, TASK_BIN, free_port, run_node, wait_until
from kube_fixtures import (NS, Cluster, full_run_of_three, handed_over, log_lines, run_with_stream, stream_url,
                           take_over)
from wsutil import collect

sys.path.insert(0, str(ROOT / "tests" / "kube"))
from nextflow_sim import NextflowSim, worker_tasks  # noqa: E402


@pytest.fixture
def cluster(tmp_path):
    with Cluster(tmp_path, "nextflow") as c:
        c.nf = NextflowSim(c.srv.sim, c.srv.store, str(c.volume), str(TASK_BIN))
        yield c


def test_full_run_progress_logs_and_objects(cluster, start_service):
    svc = start_service(cluster.env())
    run_id, messages = full_run_of_three(svc, "nextflow", "nextflow-run-")
    assert [m for m in messages if m["type"] == "progress"][-1]["data"]["percent"] == 100
    # Nextflow's console, beside each worker's output
    controller = [line["message"] for line in log_lines(messages) if line["source"] == "nextflow"]
    assert any(msg.startswith("N E X T F L O W") for msg in controller)
    assert any(msg.endswith("Submitted process > GENERATE (1)") for msg in controller)
    report = svc.get(f"/api/v1/demo/runs/{run_id}/report")
    assert report.status_code == 200 and report.json()["total_records"] == 150
    # the objects: a ConfigMap owned by the Job, the Job as issue 10 lists it
    job = cluster.srv.store.get("jobs", NS, f"nextflow-run-{run_id}")
    cm = cluster.srv.store.get("configmaps", NS, f"nextflow-config-{run_id}")
    assert cm["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]
    assert "executor = 'k8s'" in cm["data"]["nextflow.config"]
    spec = job["spec"]
    assert spec["backoffLimit"] == 0 and spec["activeDeadlineSeconds"] == 900 and spec["ttlSecondsAfterFinished"] == 900
    assert job["metadata"]["labels"]["pipeline/run-id"] == run_id
    assert job["metadata"]["labels"]["app.kubernetes.io/name"] == "pipeline-orchestrator"
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "nextflow-runner"
    args = pod["containers"][0]["args"]
    assert args[:4] == ["run", "/workflows/demo.nf", "-name", run_id] and "-ansi-log" in args
    assert {"name": "work", "persistentVolumeClaim": {"claimName": "nextflow-work-pvc"}} in pod["volumes"]


def test_without_the_work_volume_there_are_no_demo_metrics(cluster, start_service):
    """WORK_MOUNT empty: the run succeeds, demo_metrics is null and the report answers 404, as documented."""
    svc = start_service(cluster.env(WORK_MOUNT=""))
    run_id = svc.run(batch_count=1)["run_id"]
    detail = svc.wait_finished(run_id, timeout=60)
    assert detail["status"] == "succeeded", svc.log()
    assert detail["demo_metrics"] is None
    assert svc.get(f"/api/v1/demo/runs/{run_id}/report").status_code == 404
    assert (cluster.volume / "results" / run_id / "report.json").is_file()  # it is there, out of reach


def test_objects_validate_against_the_kubernetes_schemas(cluster, start_service, tmp_path):
    """Every object the service creates (as the API server stored it) validates with kubernetes-models."""
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=1)["run_id"]
    assert svc.wait_finished(run_id, timeout=60)["status"] == "succeeded"
    objects = [cluster.srv.store.get("jobs", NS, f"nextflow-run-{run_id}"),
               cluster.srv.store.get("configmaps", NS, f"nextflow-config-{run_id}")]
    path = tmp_path / "objects.json"
    path.write_text(json.dumps(objects))
    p = run_node("validate_k8s.mjs", path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("valid:") == 2


def test_cancel_deletes_what_it_created(cluster, start_service):
    cluster.nf.scenario = {"hold": True}
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=2)["run_id"]
    label = f"nextflow.io/runName={run_id}"
    wait_until(lambda: len([p for p in cluster.objects("pods", label)
                            if p["status"].get("phase") == "Running"]) == 2, timeout=30)
    r = svc.delete("/api/v1/demo/cancel", timeout=60)
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    # once cancel has answered, nothing of the run is left: Job, ConfigMap, controller and worker pods
    assert cluster.objects("jobs") == []
    assert cluster.objects("configmaps") == []
    assert cluster.objects("pods", label) == []
    assert cluster.objects("pods", f"pipeline/run-id={run_id}") == []
    deletes = [p for m, p, s in cluster.srv.requests if m == "DELETE" and "/jobs/" in p]
    assert deletes, cluster.srv.requests
    detail = svc.wait_finished(run_id)
    assert detail["status"] == "cancelled"


def test_task_failure_names_the_task_and_cause(cluster, start_service):
    cluster.nf.scenario = {"fail": {"task": "ANALYZE (2)", "exit_code": 3, "stderr": ["boom: disk on fire"]}}
    svc = start_service(cluster.env())
    answer, messages = run_with_stream(svc, batch_count=2)
    detail = svc.wait_finished(answer["run_id"])
    assert detail["status"] == "failed"
    assert detail["message"] == "ANALYZE (2) failed: exit code 3: boom: disk on fire", svc.log()
    errors = [m["data"] for m in messages if m["type"] == "error"]
    assert errors and errors[0]["message"] == detail["message"]
    lines = [line["message"] for line in log_lines(messages) if line["source"] == "nextflow"]
    assert "ERROR ~ Error executing process > 'ANALYZE (2)'" in lines


def test_task_failure_without_a_word_from_nextflow_still_ends_the_run(cluster, start_service):
    """A worker pod failed and the controller hangs: after a bound the pod's failure is the run's, and the Job
    is deleted."""
    cluster.nf.scenario = {"fail": {"task": "ANALYZE (1)", "exit_code": 3, "stderr": ["boom"]}, "silent": True}
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=1)["run_id"]
    detail = svc.wait_finished(run_id, timeout=60)
    assert detail["status"] == "failed"
    assert detail["message"] == "ANALYZE (1) failed: exit code 3: boom", detail["message"]
    assert cluster.objects("jobs") == [] and cluster.objects("configmaps") == []


@pytest.mark.parametrize("method,resource,status,reason,message", [
    ("POST", "configmaps", 403, "Forbidden",
     'configmaps is forbidden: User "system:serviceaccount:pipeline:pipeline-orchestrator" cannot create resource '
     '"configmaps" in API group "" in the namespace "pipeline"'),
    ("POST", "configmaps", 404, "NotFound", 'namespaces "pipeline" not found'),
    ("POST", "jobs", 403, "Forbidden",
     'jobs.batch is forbidden: User "system:serviceaccount:pipeline:pipeline-orchestrator" cannot create resource '
     '"jobs" in API group "batch" in the namespace "pipeline"'),
    ("POST", "jobs", 409, "AlreadyExists", 'jobs.batch "nextflow-run-x" already exists'),
    ("POST", "jobs", 422, "Invalid",
     'Job.batch "nextflow-run-x" is invalid: spec.template.spec.containers[0].image: Required value'),
])
def test_create_error_fails_the_run_with_the_api_message(cluster, start_service, method, resource, status, reason,
                                                         message):
    svc = start_service(cluster.env())
    cluster.srv.inject(method, resource, status, message=message, reason=reason)
    answer, messages = run_with_stream(svc, batch_count=1)
    detail = svc.wait_finished(answer["run_id"])
    assert detail["status"] == "failed"
    assert message in detail["message"] and str(status) in detail["message"], detail["message"]
    errors = [m["data"] for m in messages if m["type"] == "error"]
    assert len(errors) == 1 and message in errors[0]["message"]
    # what was created before the failure is deleted again
    assert cluster.objects("configmaps") == [] and cluster.objects("jobs") == []


def test_a_watch_refused_fails_the_run(cluster, start_service):
    cluster.nf.scenario = {"hold": True}
    svc = start_service(cluster.env())
    message = 'pods is forbidden: User "system:serviceaccount:pipeline:x" cannot list resource "pods"'
    cluster.srv.inject("GET", "pods", 403, message=message, watch=False)
    run_id = svc.run(batch_count=1)["run_id"]
    detail = svc.wait_finished(run_id, timeout=60)
    assert detail["status"] == "failed"
    assert message in detail["message"], detail["message"]
    assert cluster.objects("jobs") == [] and cluster.objects("configmaps") == []


def test_unreachable_api_fails_the_run(cluster, start_service):
    svc = start_service(cluster.env(KUBE_TIMEOUT_SECONDS="2"))
    cluster.srv.inject("POST", "configmaps", 0, drop=True, count=10)
    answer, messages = run_with_stream(svc, batch_count=1)
    detail = svc.wait_finished(answer["run_id"])
    assert detail["status"] == "failed"
    assert "cannot create ConfigMap" in detail["message"]
    assert [m for m in messages if m["type"] == "error"]


def test_watches_that_drop_or_expire_are_resumed(cluster, start_service):
    gate = threading.Event()
    cluster.nf.scenario = {"gate": gate}
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=2)["run_id"]
    label = f"nextflow.io/runName={run_id}"
    wait_until(lambda: len(cluster.objects("pods", label)) == 2, timeout=30)
    before = cluster.srv.watches_started
    cluster.srv.drop_watches()
    cluster.srv.expire()
    wait_until(lambda: cluster.srv.watches_started >= before + 3, timeout=30)
    gate.set()
    detail = svc.wait_finished(run_id, timeout=60)
    assert detail["status"] == "succeeded", svc.log()
    assert all(t["state"] == "succeeded" for t in detail["tasks"])


@pytest.mark.parametrize("scenario,expected", [
    ({"pending": {"task": "GENERATE (1)", "reason": "ImagePullBackOff"}}, "GENERATE (1) failed: pod "),
    ({"controller_pending": "Unschedulable"}, "the Nextflow controller's pod "),
])
def test_pod_stuck_pending_fails_the_run(cluster, start_service, scenario, expected):
    cluster.nf.scenario = scenario
    svc = start_service(cluster.env(POD_START_TIMEOUT_SECONDS="1"))
    run_id = svc.run(batch_count=1)["run_id"]
    detail = svc.wait_finished(run_id, timeout=60)
    assert detail["status"] == "failed"
    assert expected in detail["message"], detail["message"]
    reason = scenario.get("controller_pending") or scenario["pending"]["reason"]
    assert reason in detail["message"]
    assert cluster.objects("jobs") == []  # the stuck run's Job was deleted


def test_startup_fails_with_exit_2_when_the_api_is_unreachable_or_forbidden(cluster, start_service):
    svc = start_service(cluster.env(KUBE_API_URL=f"http://127.0.0.1:{free_port()}", KUBE_TIMEOUT_SECONDS="2"),
                        start=False)
    svc.start(wait=False)
    assert svc.proc.wait(timeout=30) == 2
    assert "cannot reach the Kubernetes API" in svc.log()
    cluster.srv.inject("GET", "pods", 403, message='pods is forbidden: User "x" cannot list resource "pods"')
    svc2 = start_service(cluster.env(), start=False)
    svc2.start(wait=False)
    assert svc2.proc.wait(timeout=30) == 2
    assert 'pods is forbidden: User "x" cannot list resource "pods"' in svc2.log()


def test_replica_without_api_access_starts_when_the_state_is_shared(cluster, start_service, redis_server):
    """With Redis, other replicas can do the work: a replica that cannot reach the API still starts (and serves
    reads, the stream, the history); a run started on it fails with the reason. Without Redis it exits 2 (above)."""
    env = cluster.env(KUBE_API_URL=f"http://127.0.0.1:{free_port()}", KUBE_TIMEOUT_SECONDS="2",
                      REDIS_URL=redis_server.url, REDIS_PREFIX="nfx:")
    svc = start_service(env)
    assert svc.get("/health").json() == {"status": "ok", "store": "redis", "executor": "nextflow"}
    assert "starting anyway" in svc.log()
    run_id = svc.run(batch_count=1)["run_id"]
    detail = svc.wait_finished(run_id, timeout=60)
    assert detail["status"] == "failed" and detail["message"], detail
    assert svc.get("/api/v1/demo/history").json()[0]["run_id"] == run_id


def test_nextflow_error_without_a_task_fails_the_run(cluster, start_service):
    cluster.nf.scenario = {"controller_error": "Unable to parse config file: '/etc/nextflow-run/nextflow.config'"}
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=1)["run_id"]
    detail = svc.wait_finished(run_id, timeout=60)
    assert detail["status"] == "failed"
    assert detail["message"].endswith("Nextflow failed: Unable to parse config file: "
                                      "'/etc/nextflow-run/nextflow.config'"), detail["message"]


def test_job_deleted_by_someone_else_fails_the_run(cluster, start_service):
    cluster.nf.scenario = {"hold": True}
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=1)["run_id"]
    wait_until(lambda: cluster.objects("pods", f"nextflow.io/runName={run_id}"), timeout=30)
    cluster.srv.store.delete("jobs", NS, f"nextflow-run-{run_id}", "Background")
    detail = svc.wait_finished(run_id, timeout=60)
    assert detail["status"] == "failed"
    assert f"Job nextflow-run-{run_id} was deleted before it finished" in detail["message"]


def test_sigterm_during_a_run_deletes_its_job(cluster, start_service):
    cluster.nf.scenario = {"hold": True}
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=2)["run_id"]
    wait_until(lambda: len(cluster.objects("pods", f"nextflow.io/runName={run_id}")) == 2, timeout=30)
    assert svc.stop() == 0
    assert cluster.objects("jobs") == [] and cluster.objects("configmaps") == []
    assert cluster.objects("pods", f"nextflow.io/runName={run_id}") == []


def test_a_replica_takes_over_the_job_of_a_dead_owner(cluster, start_service, redis_server):
    """Redis: the owner dies mid-run; another replica finds the run without a lease, finds its Job by label and
    follows it to the end, resuming the logs after the lines already sent (none is sent twice)."""
    gate = threading.Event()
    cluster.nf.scenario = {"gate": gate}
    env = cluster.env(REDIS_URL=redis_server.url, REDIS_PREFIX="nf1:", LOCK_LEASE_SECONDS="1")
    a, b = start_service(env, name="a"), start_service(env, name="b")
    seen = []  # what a browser on b sees, live

    async def keep(message, ws):
        seen.append(message)

    watcher = threading.Thread(target=lambda: asyncio.run(
        collect(stream_url(b), until_type="complete", timeout=90, on_message=keep)), daemon=True)
    watcher.start()
    assert wait_until(lambda: seen, timeout=10)  # connected: the snapshot came
    run_id = a.run(batch_count=2)["run_id"]
    label = f"nextflow.io/runName={run_id}"
    wait_until(lambda: len([p for p in cluster.objects("pods", label)
                            if p["status"].get("phase") == "Running"]) == 2, timeout=30)
    # the owner dies once its broadcasts have shown Nextflow's first lines on b
    assert wait_until(lambda: any("Submitted process > GENERATE (2)" in line["message"]
                                  for line in log_lines(list(seen))), timeout=30)
    take_over(a, b, gate, run_id)
    watcher.join(timeout=60)
    controller = [line["message"] for line in log_lines(seen) if line["source"] == "nextflow"]
    for text in ("N E X T F L O W", "Submitted process > GENERATE (1)", "Submitted process > ANALYZE (2)",
                 "Submitted process > REPORT"):
        assert len([m for m in controller if text in m]) == 1, (text, controller)
    assert [m["data"]["status"] for m in seen if m["type"] == "complete"] == ["succeeded"]


def test_sigterm_hands_the_job_over_to_a_live_replica(cluster, start_service, redis_server):
    """Redis: an upgrade sends SIGTERM to the owner mid-run. Its Job is not deleted: the run is handed over, the
    other replica follows the same Job at once (not after the lease of 30 s) to its end; one Job, each worker pod
    created once."""
    gate = threading.Event()
    cluster.nf.scenario = {"gate": gate}
    env = cluster.env(REDIS_URL=redis_server.url, REDIS_PREFIX="nfho:", LOCK_LEASE_SECONDS="30")
    a, b = start_service(env, name="a"), start_service(env, name="b")
    run_id = a.run(batch_count=2)["run_id"]
    label = f"nextflow.io/runName={run_id}"
    assert wait_until(lambda: len([p for p in cluster.objects("pods", label)
                                   if p["status"].get("phase") == "Running"]) == 2, timeout=30)
    handed_over(a, b, gate, redis_server, "nfho:", run_id)
    jobs = [p for m, p, s in cluster.srv.requests if m == "POST" and p.endswith("/jobs")]
    assert len(jobs) == 1, jobs
    assert [p for m, p, s in cluster.srv.requests if m == "DELETE" and "/jobs/" in p] == []
    # Nextflow went on alone: each task's pod created once (succeeded workers are deleted, as Nextflow does)
    workers = [m["metadata"]["name"] for m in cluster.nf.workers
               if m["metadata"]["labels"].get("nextflow.io/runName") == run_id]
    assert len(workers) == len(set(workers)) == 5, workers


def test_an_orphan_ended_by_a_new_run_loses_its_job(cluster, start_service, redis_server):
    """Redis: the owner dies and a new request comes before anyone took the run over: the old run ends failed
    ("orchestrator lost") and its Job and ConfigMap are deleted, so its pods stop; the new run gets its own Job."""
    import signal
    cluster.nf.scenario = {"hold": True}
    env = cluster.env(REDIS_URL=redis_server.url, REDIS_PREFIX="nf2:", LOCK_LEASE_SECONDS="4")
    a = start_service(env, name="a")
    old = a.run(batch_count=1)["run_id"]
    wait_until(lambda: cluster.objects("pods", f"nextflow.io/runName={old}"), timeout=30)
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    # the lease runs out; a replica that starts now looks for orphans only every 2 s (and claims at the second
    # look), so the request below is what finds the dead owner's run
    assert wait_until(lambda: not redis_server.client().exists("{nf2:}lock"), timeout=30)
    b = start_service(env, name="b")
    new = b.run(batch_count=1)
    assert new["run_id"] != old and new["attached"] is False, new
    detail = b.get(f"/api/v1/demo/runs/{old}").json()
    assert detail["status"] == "failed" and "orchestrator lost" in detail["message"]
    assert wait_until(lambda: [j["metadata"]["name"] for j in cluster.objects("jobs")] ==
                      [f"nextflow-run-{new['run_id']}"], timeout=30), cluster.objects("jobs")
    assert wait_until(lambda: cluster.objects("pods", f"nextflow.io/runName={old}") == [], timeout=30)
    assert cluster.objects("configmaps", f"pipeline/run-id={old}") == []
    b.delete("/api/v1/demo/cancel", timeout=60)


# ---- on a real cluster (issue 17): the worker pods Nextflow builds from the generated nextflow.config ----------

APP_UID = 10001  # the app image's USER


def test_worker_pods_are_built_by_nextflow_from_the_generated_config(cluster, start_service):
    """Nextflow's workers run the launcher as the container's command (the image's ENTRYPOINT starts the HTTP
    service), as the controller's uid (it makes each task directory 0755), with CPU limits and a pull policy."""
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=1)["run_id"]
    detail = svc.wait_finished(run_id, timeout=60)
    assert detail["status"] == "succeeded", detail["message"]
    pods = worker_tasks(cluster.nf)
    assert sorted(pods) == ["ANALYZE_1", "GENERATE_1", "REPORT"]
    pod = pods["GENERATE_1"]
    c = pod["spec"]["containers"][0]
    assert c["command"][:2] == ["/bin/bash", "-ue"] and c["command"][2].endswith("/.command.run")
    assert "args" not in c and "workingDir" not in c
    assert c["resources"] == {"requests": {"cpu": 1, "memory": "4096Mi"}, "limits": {"cpu": 1, "memory": "4096Mi"}}
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert pod["spec"]["securityContext"] == {"runAsUser": APP_UID, "runAsGroup": APP_UID, "runAsNonRoot": True,
                                              "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert pod["metadata"]["labels"]["nextflow.io/runName"] == run_id
    # the task directory the controller made, and what the worker wrote into it, as one user
    task_dir = cluster.volume / os.path.relpath(os.path.dirname(c["command"][2]), "/workspace")
    st = task_dir.stat()
    assert (st.st_uid, st.st_mode & 0o777) == (APP_UID, 0o755)
    for name in (".command.run", ".command.begin", ".command.out", ".command.err", ".exitcode", "batch_1.csv"):
        assert (task_dir / name).stat().st_uid == APP_UID, name
    assert (task_dir / ".exitcode").read_text() == "0"
    assert (cluster.volume / "results" / run_id / "report.json").stat().st_uid == APP_UID


def test_a_quota_on_cpu_limits_admits_the_workers(cluster, start_service):
    """A quota that sets limits.cpu refuses a pod without a CPU limit; Nextflow does not retry a 403."""
    cluster.srv.store.create("resourcequotas", NS, {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "homelab", "namespace": NS},
        "spec": {"hard": {"requests.cpu": "14", "requests.memory": "50Gi", "limits.cpu": "14",
                          "limits.memory": "50Gi"}}})
    svc = start_service(cluster.env())
    run_id = svc.run(batch_count=2)["run_id"]
    detail = svc.wait_finished(run_id, timeout=60)
    assert detail["status"] == "succeeded", detail["message"]


def test_a_job_whose_pod_is_refused_fails_with_the_event_message(cluster, start_service):
    """No room in the quota for the controller: the Job gets no pod and no condition, only FailedCreate events;
    the run fails after POD_START_TIMEOUT_SECONDS with the event's message, not at the Job's deadline."""
    cluster.quota(cpu="1", memory="50Gi")
    svc = start_service(cluster.env(POD_START_TIMEOUT_SECONDS="2"))
    run_id = svc.run(batch_count=1)["run_id"]
    detail = svc.wait_finished(run_id, timeout=30)
    assert detail["status"] == "failed"
    events = [e for e in cluster.objects("events") if e["involvedObject"]["name"] == f"nextflow-run-{run_id}"]
    assert events and all(e["reason"] == "FailedCreate" for e in events)  # one per try (a new pod name each)
    assert any(e["message"] in detail["message"] for e in events), detail["message"]
    assert "exceeded quota: homelab" in detail["message"]
    assert cluster.objects("jobs") == []  # the Job was deleted


def test_a_restricted_namespace_admits_the_controller(cluster, start_service):
    """Pod Security `restricted`: the Job's pod meets it; Nextflow's workers cannot (it sets no container
    securityContext), so the run fails with Nextflow's report of the refusal, at once."""
    cluster.srv.pod_security[NS] = "restricted"
    svc = start_service(cluster.env(POD_START_TIMEOUT_SECONDS="30"))
    run_id = svc.run(batch_count=1)["run_id"]
    detail = svc.wait_finished(run_id, timeout=30)
    assert detail["status"] == "failed"
    assert cluster.nf.runs == [run_id]  # the controller ran
    assert "GENERATE (1)" in detail["message"] and 'violates PodSecurity "restricted:latest"' in detail["message"]
    assert "allowPrivilegeEscalation != false" in detail["message"]


# ---- resume: Nextflow's own cache (-resume <session>) ----

def resume_with_stream(svc, old, timeout=90):
    """POST /runs/{old}/resume while collecting the stream; returns (answer, messages up to complete)."""
    async def go():
        task = asyncio.ensure_future(collect(stream_url(svc), until_type="complete", timeout=timeout))
        await asyncio.sleep(0.3)
        r = await asyncio.get_running_loop().run_in_executor(
            None, lambda: svc.post(f"/api/v1/demo/runs/{old}/resume"))
        assert r.status_code == 200, r.text
        return r.json(), await task
    return asyncio.run(go())


def workers_of(cluster, run_id):
    """Task names of the worker pods Nextflow created for `run_id`, in creation order."""
    return [m["metadata"]["labels"]["nextflow.io/taskName"] for m in cluster.nf.workers
            if m["metadata"]["labels"]["nextflow.io/runName"] == run_id]


def test_resume_after_report_failed_lets_nextflows_cache_decide(cluster, start_service, redis_server):
    """A run failed at REPORT keeps its Nextflow session (from the workers' nextflow.io/sessionId label) in its
    record, in Redis too; its resume starts Nextflow with `-resume <session>`: GENERATE and ANALYZE come from
    Nextflow's cache (`Cached process >` lines, cached tasks, no pods), only REPORT runs, the run succeeds."""
    from test_redis import replica_env
    cluster.nf.scenario = {"fail": {"task": "REPORT", "exit_code": 3, "stderr": ["report: boom"]}}
    svc = start_service(cluster.env(**replica_env(redis_server, "nfresume:")))
    old = svc.run(batch_count=2, rows_per_batch=30, seed=5)["run_id"]
    detail = svc.wait_finished(old, timeout=60)
    assert detail["status"] == "failed" and detail["message"].startswith("REPORT failed"), detail["message"]
    session = detail["nf_session"]
    labels = [m["metadata"]["labels"] for m in cluster.nf.workers]
    assert session and {lb["nextflow.io/sessionId"] for lb in labels} == {f"uuid-{session}"}
    rec = json.loads(redis_server.client().get("{nfresume:}run:" + old))
    assert rec["nf_session"] == session
    assert sorted(workers_of(cluster, old)) == ["ANALYZE_1", "ANALYZE_2", "GENERATE_1", "GENERATE_2", "REPORT"]

    cluster.nf.scenario = {}
    answer, messages = resume_with_stream(svc, old)
    new = answer["run_id"]
    assert answer["resumed_from"] == old and new != old
    complete = [m for m in messages if m["type"] == "complete"][0]
    assert complete["data"]["status"] == "succeeded", svc.log()
    # Nextflow was started on the old session, and its cache decided: only REPORT got a pod
    args = cluster.srv.store.get("jobs", NS, f"nextflow-run-{new}")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("-resume") + 1] == session
    assert workers_of(cluster, new) == ["REPORT"]
    console = [line["message"] for line in log_lines(messages) if line["source"] == "nextflow"]
    for task in ("GENERATE (1)", "GENERATE (2)", "ANALYZE (1)", "ANALYZE (2)"):
        assert any(msg.endswith(f"Cached process > {task}") for msg in console), console
    assert any(msg.endswith("Submitted process > REPORT") for msg in console), console
    states = {(t["name"], t["batch"]): t["state"] for t in complete["data"]["tasks"]}
    assert states.pop(("REPORT", 0)) == "succeeded"
    assert set(states.values()) == {"cached"}, states
    detail = svc.wait_finished(new)
    assert detail["resumed_from"] == old and detail["nf_session"] == session
    assert detail["progress_percent"] == 100
    assert detail["demo_metrics"]["worker_pods_spawned"] == 1 and detail["demo_metrics"]["total_records"] == 60
    assert svc.get(f"/api/v1/demo/runs/{new}/report").json()["total_records"] == 60
    assert json.loads(redis_server.client().get("{nfresume:}run:" + new))["nf_session"] == session
