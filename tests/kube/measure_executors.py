"""Measures, on the Kubernetes API test server with its simulated delays at zero (and zero task pauses): the time
from POST /run to the first task running, the run's duration and overhead per task, and the API requests per run,
for EXECUTOR=local, kubernetes and nextflow. Not a test (nothing asserted): `PIPELINE_BUILD=build /usr/bin/python3
tests/kube/measure_executors.py [batches] [repeats]` prints a Markdown table."""
import asyncio
import json
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests" / "e2e"), str(ROOT / "tests" / "kube")]
from conftest import TASK_BIN, Service  # noqa: E402
from kube_server import KubeApiServer  # noqa: E402
from nextflow_sim import NextflowSim  # noqa: E402
from pod_runner_sim import PodRunnerSim  # noqa: E402

import websockets  # noqa: E402

NS = "pipeline"


async def one_run(svc, batches):
    url = f"ws://127.0.0.1:{svc.port}/api/v1/pipeline/stream"
    async with websockets.connect(url, max_size=None, ping_interval=None) as ws:
        await ws.recv()  # the snapshot
        t0 = time.monotonic()
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, lambda: svc.run(batch_count=batches))
        first = None
        while True:
            m = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if first is None and m["type"] == "progress" and (m["data"].get("task") or {}).get("state") == "running":
                first = time.monotonic() - t0
            if m["type"] == "complete":
                return answer, first, time.monotonic() - t0, m["data"]["status"]


def measure(executor, batches, repeats, tmp):
    srv = KubeApiServer(namespaces=(NS,)).start()
    srv.sim.default_behaviour = {"start_delay": 0}
    volume = pathlib.Path(tmp) / f"vol-{executor}"
    volume.mkdir()
    if executor == "nextflow":
        NextflowSim(srv.sim, srv.store, str(volume), str(TASK_BIN))
    else:
        PodRunnerSim(srv.sim, srv.store, str(volume), str(TASK_BIN)).start_delay = 0
    env = {"EXECUTOR": executor, "KUBE_API_URL": srv.url, "KUBE_NAMESPACE": NS, "WORK_MOUNT": str(volume),
           "KUBECONFIG": "/nonexistent", "LOG_LEVEL": "warn"}
    svc = Service(pathlib.Path(tmp) / f"svc-{executor}", env=env)
    rows = []
    try:
        for _ in range(repeats):
            n0 = len(srv.requests)
            answer, first, total, status = asyncio.run(one_run(svc, batches))
            rows.append((first, total, len(srv.requests) - n0, status))
            svc.wait_finished(answer["run_id"])
    finally:
        svc.stop()
        srv.stop()
    return rows


def main():
    batches = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    tasks = 2 * batches + 1
    print(f"{batches} batches ({tasks} tasks), zero pauses, median of {repeats} runs on the API test server\n")
    print("| executor | POST -> first task running | run (POST -> complete) | per task | API requests per run |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for executor in ("local", "kubernetes", "nextflow"):
            rows = measure(executor, batches, repeats, tmp)
            ok = all(r[3] == "succeeded" for r in rows)
            first = statistics.median(r[0] for r in rows)
            total = statistics.median(r[1] for r in rows)
            reqs = statistics.median(r[2] for r in rows) if executor != "local" else 0
            print(f"| {executor}{'' if ok else ' (FAILED)'} | {first * 1000:.0f} ms | {total * 1000:.0f} ms | "
                  f"{total / tasks * 1000:.0f} ms | {reqs:.0f} |")


if __name__ == "__main__":
    main()
