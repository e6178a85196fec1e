#!/usr/bin/python3
"""Two builds of the service side by side on one CPU, runs alternating (A B, then B A, ...), so that whatever the
machine does meanwhile falls on both alike. Each run: POST /api/v1/demo/run to that run's `complete` on the stream.
Prints each side's median and min, their ratio, and each side's CPU per run (the service's own, and its tasks'
from /proc/PID/stat's cutime+cstime), which moves much less than the wall time on a shared machine.

    bench/dag_ab.py SERVICE_A SERVICE_B BATCHES ROWS ROUNDS CPU

SERVICE_x is a pipeline-orchestrator binary (its own pipeline-task beside it). Both run with no demo pauses, on
CPU `CPU`, each with a data folder of its own; this script should run on another CPU."""
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets

binaries = sys.argv[1:3]
batches, rows, rounds, cpu = (int(a) for a in sys.argv[3:7])
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, data):
    port = free_port()
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), DATA_DIR=data, RATE_LIMIT_PER_MINUTE="0",
               LOG_LEVEL="warn", GENERATE_SECONDS="0", ANALYZE_SECONDS="0")
    proc = subprocess.Popen(["taskset", "-c", str(cpu), binary], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                sys.exit(f"{binary} exited at start-up")
            time.sleep(0.1)
    sys.exit(f"{binary} does not answer")


def cpu_ms(pid):
    """(own, children) CPU milliseconds of a process so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ut, st, cut, cst = (int(x) for x in fields[11:15])
    return (ut + st) * 1000 / TICK, (cut + cst) * 1000 / TICK


def post(port):
    body = json.dumps({"batch_count": batches, "rows_per_batch": rows, "seed": 42, "triggered_by": "bench"}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/demo/run", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["run_id"]


async def one_run(ws, port):
    t0 = time.perf_counter()
    run_id = await asyncio.to_thread(post, port)
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 300))
        if msg["type"] == "complete" and msg.get("run_id") == run_id:
            if msg["data"]["status"] != "succeeded":
                sys.exit(f"a run did not succeed: {msg['data']['status']}")
            return time.perf_counter() - t0


async def main(sides):
    streams = [await websockets.connect(f"ws://127.0.0.1:{port}/api/v1/pipeline/stream", max_size=None)
               for _, port in sides]
    for ws in streams:
        await ws.recv()  # the snapshot
    for k in (0, 1):  # one run each to warm up
        await one_run(streams[k], sides[k][1])
    before = [cpu_ms(proc.pid) for proc, _ in sides]
    times = [[], []]
    for i in range(rounds):
        for k in ((0, 1) if i % 2 == 0 else (1, 0)):
            times[k].append(await one_run(streams[k], sides[k][1]))
            await asyncio.sleep(0.05)  # the run's record settles before the next POST
    after = [cpu_ms(proc.pid) for proc, _ in sides]
    for ws in streams:
        await ws.close()
    print(f"{batches} batches x {rows} rows, {rounds} runs each, alternating, on CPU {cpu}")
    for k, name in enumerate("AB"):
        own = (after[k][0] - before[k][0]) / rounds
        kids = (after[k][1] - before[k][1]) / rounds
        print(f"  {name}: median {statistics.median(times[k]) * 1000:7.1f} ms  min {min(times[k]) * 1000:7.1f} ms"
              f"  CPU per run: service {own:6.2f} ms, tasks {kids:7.2f} ms   {binaries[k]}")
    print(f"  B/A: median {statistics.median(times[1]) / statistics.median(times[0]):.3f}"
          f"  min {min(times[1]) / min(times[0]):.3f}"
          f"  CPU {(after[1][0] + after[1][1] - before[1][0] - before[1][1]) / max(1e-9, after[0][0] + after[0][1] - before[0][0] - before[0][1]):.3f}")


with tempfile.TemporaryDirectory(prefix="dag-ab.") as tmp:
    sides = []
    try:
        for k, binary in enumerate(binaries):
            os.mkdir(f"{tmp}/{k}")
            sides.append(start(binary, f"{tmp}/{k}"))
        asyncio.run(main(sides))
    finally:
        for proc, _ in sides:
            proc.terminate()
            proc.wait()
