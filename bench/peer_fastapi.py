"""The peer that bench/ws_fanout compares the service against: the live stream written the usual FastAPI way.

Same wire contract as the service for what the bench touches:
  GET  /api/v1/pipeline/stream  WebSocket: one `status` snapshot on connect, then every broadcast
  POST /bench/burst             {"count":N,"size":S,"per_tick":T} -> 202 at once, then N `log` broadcasts,
                                T per event-loop iteration, each stamped with CLOCK_REALTIME microseconds
  GET  /health

A broadcast is serialised once and sent to every connected client with asyncio.gather, the way a competent
FastAPI developer writes a broadcaster; a client whose send fails is dropped.

Run (one worker, uvloop and httptools), from the repository root:
  /usr/bin/python3 -m uvicorn peer_fastapi:app --app-dir bench --host 127.0.0.1 --port 8001 \
      --loop uvloop --http httptools --workers 1 --log-level warning
"""
import asyncio
import json
import os
import time
from datetime import datetime, timezone

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

app = FastAPI()


class Hub:
    """Connected clients and the broadcast numbering (seq increases by one per broadcast, as in the service)."""

    def __init__(self):
        self.clients: set[WebSocket] = set()
        self.seq = 0
        self.burst: asyncio.Task | None = None

    def envelope(self, type_: str, data: dict, seq: int) -> str:
        now = datetime.now(timezone.utc)
        return json.dumps(
            {"type": type_, "data": data, "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
             "run_id": "none", "seq": seq},
            separators=(",", ":"))

    def snapshot(self) -> str:
        """The status object a client gets first; it carries the seq of the last broadcast so far."""
        data = {"active": False, "websocket_url": "/api/v1/pipeline/stream", "connected_clients": len(self.clients),
                "run": None, "progress_percent": None, "log_preview": [], "last_update": None,
                "batches_generated": 0, "batches_analyzed": 0, "estimated_completion": None,
                "parallel_workers_active": 0, "demo_metrics": None}
        return self.envelope("status", data, self.seq)

    async def broadcast(self, type_: str, data: dict) -> None:
        self.seq += 1
        text = self.envelope(type_, data, self.seq)  # serialised once for every client
        clients = list(self.clients)
        results = await asyncio.gather(*(ws.send_text(text) for ws in clients), return_exceptions=True)
        for ws, result in zip(clients, results):
            if isinstance(result, Exception):
                self.clients.discard(ws)

    async def run_burst(self, count: int, size: int, per_tick: int) -> None:
        padding = "x" * size
        for i in range(count):
            line = {"message": padding, "timestamp": None, "source": "bench", "stream": "stdout"}
            bench = {"i": i, "n": count, "t_us": time.clock_gettime_ns(time.CLOCK_REALTIME) // 1000}
            await self.broadcast("log", {"lines": [line], "bench": bench})
            if (i + 1) % per_tick == 0:
                await asyncio.sleep(0)  # let the loop run: accept, read, write


hub = Hub()


@app.get("/health")
async def health():
    return {"status": "ok", "store": "memory", "executor": "local"}


# The HTTP benchmark (bench/run_http.sh) hands over the service's preview as PEER_PREVIEW_FILE; the peer answers
# it as a FastAPI handler usually does, by returning the object for the framework to encode.
PREVIEW = json.load(open(os.environ["PEER_PREVIEW_FILE"])) if os.environ.get("PEER_PREVIEW_FILE") else {}


@app.get("/api/v1/demo/preview")
async def preview():
    return PREVIEW


@app.websocket("/api/v1/pipeline/stream")
async def stream(ws: WebSocket):
    await ws.accept()
    # join before the first await, so that no broadcast falls between the snapshot's seq and the client's first
    snapshot = hub.snapshot()
    hub.clients.add(ws)
    await ws.send_text(snapshot)
    try:
        while True:
            await ws.receive_text()  # messages from clients are ignored; this notices the disconnect
    except WebSocketDisconnect:
        pass
    finally:
        hub.clients.discard(ws)


@app.post("/bench/burst", status_code=202)
async def burst(request: Request):
    try:
        body = await request.json()
        count, size, per_tick = int(body.get("count", 1000)), int(body.get("size", 200)), int(body.get("per_tick", 16))
    except (ValueError, TypeError, AttributeError):
        count = -1
    if not (1 <= count <= 10_000_000 and 0 <= size <= 65536 and 1 <= per_tick <= 4096):
        return JSONResponse({"detail": "expected {\"count\": 1..10000000, \"size\": 0..65536, \"per_tick\": 1..4096}"},
                            status_code=422)
    if hub.burst and not hub.burst.done():
        hub.burst.cancel()  # a new burst replaces the one under way, as in the service
    hub.burst = asyncio.create_task(hub.run_burst(count, size, per_tick))
    return {"count": count, "size": size, "per_tick": per_tick}
