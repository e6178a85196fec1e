"""What the black-box tests of the Kubernetes executors share (test_kubernetes.py, test_nextflow.py): the
Kubernetes API test server (tests/kube/kube_server.py) with a work volume and the service's settings for it, and
a run followed over the WebSocket stream."""
import asyncio
import os
import signal
import sys

from conftest import ROOT, wait_until
from wsutil import collect

sys.path.insert(0, str(ROOT / "tests" / "kube"))
from kube_server import KubeApiServer  # noqa: E402

# the image the real-container tests run: what `make image` (and `make test-image`) tags, the VERSION file's number
APP_IMAGE = os.environ.get("PIPELINE_IMAGE", "pipeline-orchestrator:" + (ROOT / "VERSION").read_text().strip())

NS = "pipeline"
TASKS3 = ["GENERATE (1)", "GENERATE (2)", "GENERATE (3)", "ANALYZE (1)", "ANALYZE (2)", "ANALYZE (3)", "REPORT"]


class Cluster:
    """The API test server (namespaces NS and default) and a folder for the work volume; the test adds the
    simulation of what runs in the pods. A context manager: the server stops at the end."""

    def __init__(self, tmp_path, executor, **defaults):
        self.executor = executor
        self.defaults = defaults  # settings of the executor's tests, before env()'s
        self.srv = KubeApiServer(namespaces=(NS, "default")).start()
        self.volume = tmp_path / "volume"
        self.volume.mkdir()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.srv.stop()

    def env(self, **extra):
        """The service's environment for EXECUTOR=executor against this server."""
        env = {"EXECUTOR": self.executor, "KUBE_API_URL": self.srv.url, "KUBE_NAMESPACE": NS,
               "WORK_MOUNT": str(self.volume), "POD_START_TIMEOUT_SECONDS": "60", "KUBECONFIG": "/nonexistent",
               **self.defaults}
        env.update(extra)
        return env

    def objects(self, resource, label=None):
        items, _ = self.srv.store.list(resource, NS, label)
        return items

    def quota(self, cpu, memory, pods=None):
        """A ResourceQuota "homelab" in NS."""
        hard = {"requests.cpu": cpu, "requests.memory": memory}
        if pods is not None:
            hard["pods"] = str(pods)
        self.srv.store.create("resourcequotas", NS, {"apiVersion": "v1", "kind": "ResourceQuota",
                                                     "metadata": {"name": "homelab", "namespace": NS},
                                                     "spec": {"hard": hard}})


def pod_runner_cluster(tmp_path):
    """A Cluster for EXECUTOR=kubernetes whose task pods run the real pipeline-task (tests/kube/pod_runner_sim.py),
    with the short demo pauses of these tests; as a context manager, in a fixture."""
    from conftest import TASK_BIN
    from pod_runner_sim import PodRunnerSim
    c = Cluster(tmp_path, "kubernetes", GENERATE_SECONDS="0.2", ANALYZE_SECONDS="0.2")
    c.sim = PodRunnerSim(c.srv.sim, c.srv.store, str(c.volume), str(TASK_BIN))
    return c


class ContainerCluster(Cluster):
    """A Cluster whose pods run in real containers: podman + runc, from APP_IMAGE (tests/kube/kube_runtime.py),
    with the work volume and the API server's ConfigMaps mounted; the test attaches the simulation that starts the
    pods (`runtime=c.runtime`). The containers go with the cluster."""

    def __init__(self, tmp_path, executor):
        from kube_runtime import PodmanRuntime
        super().__init__(tmp_path, executor, APP_IMAGE=APP_IMAGE, GENERATE_SECONDS="0.2", ANALYZE_SECONDS="0.2")
        self.runtime = PodmanRuntime(volumes={"nextflow-work-pvc": str(self.volume)},
                                     configmaps=lambda ns, name: self.srv.store.find("configmaps", ns, name))

    def __exit__(self, *exc):
        try:
            self.runtime.close()
        finally:
            super().__exit__(*exc)


def containers_unavailable():
    """Why real containers cannot run here (podman missing or refusing, APP_IMAGE not built), or None."""
    from kube_runtime import unavailable
    return unavailable(APP_IMAGE)


def stream_url(svc):
    return f"ws://127.0.0.1:{svc.port}/api/v1/pipeline/stream"


def run_with_stream(svc, timeout=90, **body):
    """Starts a run while collecting the stream; returns (run answer, messages up to complete)."""
    async def go():
        task = asyncio.ensure_future(collect(stream_url(svc), until_type="complete", timeout=timeout))
        await asyncio.sleep(0.3)  # connected before the run starts (the snapshot comes first anyway)
        answer = await asyncio.get_running_loop().run_in_executor(None, lambda: svc.run(**body))
        return answer, await task
    return asyncio.run(go())


def log_lines(messages):
    return [line for m in messages if m["type"] == "log" for line in m["data"]["lines"]]


def task_states(messages):
    """{"GENERATE (1)": [state, ...], ...}: each task's states in the stream's progress messages, in order."""
    seen = {}
    for m in messages:
        if m["type"] == "progress" and m["data"].get("task"):
            t = m["data"]["task"]
            label = f'{t["name"]} ({t["batch"]})' if t.get("batch") else t["name"]
            seen.setdefault(label, []).append(t["state"])
    return seen


def full_run_of_three(svc, executor, job_prefix):
    """A run of 3 batches of 50 rows on a service with EXECUTOR=executor, followed over the stream and checked as
    either Kubernetes executor must end it: the run's Job (or owner) named job_prefix + run id, every task of
    TASKS3 ending succeeded, REPORT's line and the kubelet's timestamps in the logs, 150 records from 7 worker pods
    in demo_metrics. Returns (run_id, messages)."""
    assert svc.get("/healthz").json()["executor"] == executor
    answer, messages = run_with_stream(svc, batch_count=3, rows_per_batch=50, seed=7)
    run_id = answer["run_id"]
    assert answer["job_name"] == f"{job_prefix}{run_id}"
    complete = [m for m in messages if m["type"] == "complete"][0]
    assert complete["data"]["status"] == "succeeded", svc.log()
    # per task: running, then succeeded, from the worker pods
    seen = task_states(messages)
    assert sorted(seen) == sorted(TASKS3)
    for name, states in seen.items():
        assert states[-1] == "succeeded", (name, states)
    lines = log_lines(messages)
    assert any(line["source"] == "REPORT" and "Report: 3 batches, 150 records" in line["message"] for line in lines), \
        ([(line["source"], line["message"]) for line in lines if line["source"] in ("REPORT", "orchestrator")],
         sorted({line["source"] for line in lines}))
    assert all(line["timestamp"].endswith("Z") for line in lines)
    # demo_metrics from the report on the work volume
    metrics = complete["data"]["demo_metrics"]
    assert metrics["total_records"] == 150 and metrics["worker_pods_spawned"] == 7
    return run_id, messages


def take_over(a, b, gate, run_id):
    """Redis: SIGKILL of the run's owner `a`; replica `b` takes the run over and, once `gate` lets the pods go on,
    ends it succeeded with its 2 batches. Returns b's detail of the run."""
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    assert wait_until(lambda: "this replica takes it over" in b.log(), timeout=30), b.log()
    gate.set()
    detail = b.wait_finished(run_id, timeout=60)
    assert detail["status"] == "succeeded", b.log()
    assert detail["demo_metrics"]["total_batches"] == 2
    return detail


def handed_over(a, b, gate, redis_server, prefix, run_id):
    """Redis, a cluster executor: SIGTERM to the run's owner `a` mid-run. `a` exits at once without cancelling; `b`
    takes the run over because `a` handed it over (its log and the run's record say so), before `a`'s lease would
    have run out (the lease left is read from Redis at the SIGTERM; timing alone decides nothing), and once `gate`
    lets the pods go on, ends it succeeded. Returns b's detail of the run."""
    import json
    client = redis_server.client()
    lock = "{" + prefix + "}lock"
    assert run_id in (client.get(lock) or ""), client.get(lock)
    lease_left = client.pttl(lock) / 1000
    assert lease_left > 5, lease_left  # the test needs a lease that would outlast the take-over by far
    a.proc.send_signal(signal.SIGTERM)
    assert a.proc.wait(timeout=30) == 0, a.log()
    taken = "its replica handed it over as it shut down; this replica takes it over"
    assert wait_until(lambda: taken in b.log(), timeout=lease_left), b.log()  # else it waited for the lease
    assert "handed over (its lock is free" in a.log(), a.log()
    assert "cancel requested" not in a.log(), a.log()

    def record():
        return json.loads(client.get("{" + prefix + "}run:" + run_id))

    def adopted():  # the record is b's: its lock, and the run's log says why it took the run over
        rec, holder = record(), client.get(lock) or ""
        lines = [line[0] for line in rec["log"]]
        return (rec["status"] == "running" and rec["owner"] and rec["owner"] in holder and
                any("is shutting down; another replica takes the run over" in m for m in lines) and
                any("taken over by replica" in m and "handed it over" in m for m in lines))
    assert wait_until(adopted, timeout=10), (record(), client.get(lock))
    gate.set()
    detail = b.wait_finished(run_id, timeout=60)
    assert detail["status"] == "succeeded", b.log()
    assert detail["demo_metrics"]["total_batches"] == 2
    return detail
