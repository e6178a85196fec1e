"""EXECUTOR=kubernetes on real containers (tests/kube/kube_runtime.py: podman + runc, the image of `make image`)
against the same pods played by hand with `podman kube play`, no demo pauses. Prints, median of RUNS:
  - POST -> first task container running (podman's StartedAt of the first container)
  - POST -> complete, and the same pods by hand: each wave (GENERATE x N, ANALYZE x N, REPORT) played at once and
    waited for, one wave after the other (what the DAG allows)
  - per task overhead of the executor: (executor - by hand) / (2N + 1)
Usage: PIPELINE_BUILD=build /usr/bin/python3 bench/run_containers.py [BATCHES] [RUNS]   (make image first)"""
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests" / "kube"))
from conftest import Service  # noqa: E402
from kube_fixtures import Cluster  # noqa: E402
from kube_runtime import PodmanRuntime, _parse_time, podman, unavailable  # noqa: E402

# what `make image` (and `make test-image`) tags: the VERSION file's number
IMAGE = os.environ.get("PIPELINE_IMAGE", "pipeline-orchestrator:" + (ROOT / "VERSION").read_text().strip())


class Recorder(PodmanRuntime):
    """Keeps each pod's spec and its containers' start and end times (read before the pod is removed)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.specs, self.times = [], {}

    def start(self, pod):
        self.specs.append(pod)
        h = super().start(pod)
        rec = self.times
        orig = h.delete

        def delete(grace=2, h=h):
            p = podman("container", "inspect", h.container(h.names[0]))
            try:
                st = json.loads(p.stdout)[0]["State"]
                rec[h.k8s_name] = (_parse_time(st["StartedAt"]), _parse_time(st["FinishedAt"]))
            except (ValueError, IndexError, KeyError):
                pass
            orig(grace)
        h.delete = delete
        return h


def executor_run(batches, tmp):
    with Cluster(tmp, "kubernetes", APP_IMAGE=IMAGE, GENERATE_SECONDS="0", ANALYZE_SECONDS="0") as c:
        os.chmod(c.volume, 0o777)
        rt = Recorder(volumes={"nextflow-work-pvc": str(c.volume)})
        c.srv.sim.runtime = rt
        svc = Service(tmp / "svc", env=c.env(GENERATE_SECONDS="0", ANALYZE_SECONDS="0", QUOTA_CPU="100",
                                             QUOTA_MEMORY="1000Gi"))
        try:
            t0 = time.time()
            run_id = svc.run(batch_count=batches, rows_per_batch=100, seed=1)["run_id"]
            detail = svc.wait_finished(run_id, timeout=600)
            t1 = time.time()
            assert detail["status"] == "succeeded", detail
            deadline = time.time() + 60
            while len(rt.times) < 2 * batches + 1 and time.time() < deadline:
                time.sleep(0.2)
            first = min(s for s, _ in rt.times.values())
            return first - t0, t1 - t0, rt.specs
        finally:
            svc.stop()
            rt.close()


def by_hand(specs, batches, tmp):
    """The executor's pods, played with podman kube play wave by wave; returns the wall time."""
    vol = tmp / "hand"
    vol.mkdir()
    os.chmod(vol, 0o777)
    rt = PodmanRuntime(volumes={"nextflow-work-pvc": str(vol)}, prefix="bh" + os.urandom(3).hex())
    waves = [[p for p in specs if p["metadata"]["labels"]["pipeline/task"].startswith(stage)]
             for stage in ("GENERATE", "ANALYZE", "REPORT")]
    t0 = time.time()
    for wave in waves:
        files = []
        for pod in wave:
            m = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{rt.prefix}-{pod['metadata']['name']}",
                                                                 "labels": {"kube-runtime": rt.prefix}},
                 "spec": json.loads(json.dumps(pod["spec"]))}
            m["spec"]["volumes"] = [{"name": "work", "hostPath": {"path": str(vol), "type": "Directory"}}]
            for k in ("nodeName", "activeDeadlineSeconds", "automountServiceAccountToken"):
                m["spec"].pop(k, None)
            f = tmp / f"{m['metadata']['name']}.json"
            f.write_text(json.dumps(m))
            files.append((f, m["metadata"]["name"] + "-task"))
        procs = [subprocess.Popen(["podman", "kube", "play", "--network", "none", str(f)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=dict(os.environ, CONTAINERS_CONF=str(
                                      ROOT / "tests" / "kube" / "containers.conf"))) for f, _ in files]
        for p in procs:
            p.wait()
        for _, ctr in files:
            podman("wait", ctr, timeout=300)
    t1 = time.time()
    rt.close()
    assert (vol / "results").exists()
    return t1 - t0


def main():
    batches = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    why = unavailable(IMAGE)
    if why:
        sys.exit(f"cannot measure: {why}")
    first, total, hand = [], [], []
    for i in range(runs):
        with tempfile.TemporaryDirectory() as d:
            tmp = pathlib.Path(d)
            f, t, specs = executor_run(batches, tmp)
            h = by_hand(specs, batches, tmp)
            first.append(f)
            total.append(t)
            hand.append(h)
            print(f"run {i + 1}: POST->first container {f * 1000:.0f} ms, POST->complete {t:.2f} s, "
                  f"by hand {h:.2f} s", flush=True)
    tasks = 2 * batches + 1
    med = statistics.median
    print(f"\n{batches} batches ({tasks} pods), median of {runs}:")
    print(f"  POST -> first task container running   {med(first) * 1000:.0f} ms "
          f"(range {min(first) * 1000:.0f}-{max(first) * 1000:.0f})")
    print(f"  POST -> complete (kubernetes executor)  {med(total):.2f} s (range {min(total):.2f}-{max(total):.2f})")
    print(f"  the same pods by hand, wave by wave     {med(hand):.2f} s (range {min(hand):.2f}-{max(hand):.2f})")
    print(f"  executor overhead per task              {(med(total) - med(hand)) / tasks * 1000:.0f} ms")


if __name__ == "__main__":
    main()
