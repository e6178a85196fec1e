#!/usr/bin/python3
"""Times demo runs of a running service: from the POST /api/v1/demo/run to the run's `complete` message on the
stream (GET /api/v1/pipeline/stream), RUNS times in a row. Prints one line per run: seconds, then the status.

    bench/dag_client.py PORT BATCHES ROWS RUNS"""
import asyncio
import json
import sys
import time
import urllib.request

import websockets

port, batches, rows, runs = (int(a) for a in sys.argv[1:5])


def post_run():
    body = json.dumps({"batch_count": batches, "rows_per_batch": rows, "seed": 42, "triggered_by": "bench"}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/demo/run", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


async def main():
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/v1/pipeline/stream", max_size=None) as ws:
        await ws.recv()  # the status snapshot
        for _ in range(runs):
            t0 = time.perf_counter()
            run_id = (await asyncio.to_thread(post_run))["run_id"]
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 300))
                if msg["type"] == "complete" and msg.get("run_id") == run_id:
                    break
            print(f"{time.perf_counter() - t0:.6f} {msg['data']['status']}", flush=True)
            await asyncio.sleep(0.05)  # the run's record settles before the next POST


asyncio.run(main())
