"""The live stream /api/v1/pipeline/stream against the real binary: envelope, order, limits, reconnects."""
import asyncio
import json
import re
import struct
import threading
import time

import pytest
import requests
import websockets

from conftest import write_wrapper, TASK_BIN, wait_until
from wsutil import RawClient, collect

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def ws_url(svc, query=""):
    return f"ws://127.0.0.1:{svc.port}/api/v1/pipeline/stream{query}"


def post_run_soon(svc, body, delay=0.3):
    """Starts a run from another thread once the clients are connected."""
    def go():
        time.sleep(delay)
        requests.post(svc.url("/api/v1/demo/run"), json=body, timeout=10)
    t = threading.Thread(target=go)
    t.start()
    return t




def test_snapshot_first_then_envelope_and_seq(start_service):
    svc = start_service({"GENERATE_SECONDS": "0.2", "ANALYZE_SECONDS": "0.1"})
    post_run_soon(svc, {"batch_count": 3})
    messages = asyncio.run(collect(ws_url(svc)))
    first = messages[0]
    assert first["type"] == "status"
    assert first["seq"] == 0 and first["run_id"] == "none"
    assert set(first["data"]) >= {"active", "run", "progress_percent", "log_preview", "websocket_url",
                                  "connected_clients", "last_update", "batches_generated", "batches_analyzed",
                                  "estimated_completion", "parallel_workers_active", "demo_metrics"}
    assert first["data"]["connected_clients"] == 1
    broadcasts = messages[1:]
    assert [m["seq"] for m in broadcasts] == list(range(1, len(broadcasts) + 1))
    run_id = broadcasts[0]["run_id"]
    for m in broadcasts:
        assert set(m) == {"type", "data", "timestamp", "run_id", "seq"}
        assert m["type"] in ("status", "progress", "log", "complete", "error")
        assert RFC3339.match(m["timestamp"])
        assert m["run_id"] == run_id
    statuses = [m["data"]["status"] for m in broadcasts if m["type"] == "status"]
    assert statuses == ["starting", "running", "succeeded"]
    assert [m["type"] for m in broadcasts].count("complete") == 1
    complete = broadcasts[-1]
    assert complete["type"] == "complete"
    assert complete["data"]["status"] == "succeeded"
    assert complete["data"]["run"]["run_id"] == run_id
    assert complete["data"]["demo_metrics"]["total_batches"] == 3
    assert isinstance(complete["data"]["duration_seconds"], (int, float))


def test_two_clients_see_identical_sequences(start_service):
    svc = start_service({"GENERATE_SECONDS": "0.2", "ANALYZE_SECONDS": "0.1"})

    async def both():
        post_run_soon(svc, {"batch_count": 4}, delay=0.5)
        return await asyncio.gather(collect(ws_url(svc)), collect(ws_url(svc)))

    a, b = asyncio.run(both())
    strip = lambda ms: [(m["seq"], m["type"], json.dumps(m["data"], sort_keys=True)) for m in ms[1:]]
    assert strip(a) == strip(b)
    assert a[-1]["type"] == "complete" and a[-1]["data"]["status"] == "succeeded"


def test_progress_is_monotonic_and_complete(start_service):
    svc = start_service({"GENERATE_SECONDS": "0.1", "ANALYZE_SECONDS": "0.1"})
    post_run_soon(svc, {"batch_count": 5})
    messages = asyncio.run(collect(ws_url(svc)))
    progress = [m["data"] for m in messages if m["type"] == "progress"]
    assert progress
    completed = [p["completed"] for p in progress]
    assert completed == sorted(completed)
    last = progress[-1]
    assert last["completed"] == last["total"] == 11 and last["percent"] == 100
    assert last["batches_generated"] == 5 and last["batches_analyzed"] == 5
    stages = {s["name"]: s for s in last["stages"]}
    assert stages["GENERATE"] == {"name": "GENERATE", "completed": 5, "running": 0, "failed": 0, "total": 5}
    assert stages["ANALYZE"]["completed"] == 5 and stages["REPORT"]["total"] == 1
    for p in progress:
        assert sum(s["completed"] for s in p["stages"]) == p["completed"]
        assert abs(p["percent"] - p["completed"] * 100 / p["total"]) < 1e-9


def test_log_batches_are_bounded(start_service, tmp_path):
    wrapper = write_wrapper(tmp_path / "chatty.sh",
                            'i=0; while [ $i -lt 400 ]; do echo "2026-11-29T10:00:00.000Z line $i of $1"; '
                            'i=$((i+1)); done\n'
                            'echo "plain line of $1"\n'
                            f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": wrapper})
    post_run_soon(svc, {"batch_count": 3})
    messages = asyncio.run(collect(ws_url(svc)))
    logs = [m["data"]["lines"] for m in messages if m["type"] == "log"]
    assert logs and all(1 <= len(lines) <= 50 for lines in logs)
    lines = [l for batch in logs for l in batch]
    assert len(lines) >= 7 * 400
    for l in lines:
        assert set(l) == {"message", "timestamp", "source", "stream"}
        assert l["stream"] in ("stdout", "stderr")
    stamped = [l for l in lines if l["message"].startswith("line ")]
    assert stamped[0]["timestamp"] == "2026-11-29T10:00:00.000Z"
    assert {l["source"] for l in stamped} >= {"GENERATE (1)", "ANALYZE (3)", "REPORT"}
    plain = [l for l in lines if l["message"].startswith("plain line of ")]
    assert len(plain) == 7 and all(l["timestamp"] is None for l in plain)
    # none is lost, and each task's lines keep their order
    per_task = {}
    for l in stamped:
        per_task.setdefault(l["source"], []).append(int(l["message"].split()[1]))
    assert all(v == list(range(400)) for v in per_task.values())


def test_connection_limit_closes_extra_client_with_1013(start_service):
    svc = start_service({"MAX_WEBSOCKET_CONNECTIONS": "2"})
    a, b = RawClient(svc.port), RawClient(svc.port)
    assert a.frame()[0] == 0x1 and b.frame()[0] == 0x1  # their snapshots
    c = RawClient(svc.port)
    texts, code = c.messages_until_close()
    assert texts == [] and code == 1013
    assert svc.get("/api/v1/demo/status").json()["connected_clients"] == 2
    a.close()
    assert wait_until(lambda: svc.get("/api/v1/demo/status").json()["connected_clients"] == 1)
    d = RawClient(svc.port)
    assert d.frame()[0] == 0x1
    b.close(), c.close(), d.close()


def test_slow_client_is_dropped_and_does_not_delay_others(start_service, tmp_path):
    wrapper = write_wrapper(tmp_path / "loud.sh",
                            'i=0; while [ $i -lt 3000 ]; do echo "noise $i: the quick brown fox jumps over the '
                            'lazy dog, again and again and again"; i=$((i+1)); done\n'
                            f'"{TASK_BIN}" "$@" || exit $?\n'
                            'i=0; while [ $i -lt 3000 ]; do echo "after $i: the quick brown fox jumps over the '
                            'lazy dog, again and again and again"; i=$((i+1)); done\n')
    svc = start_service({"TASK_PROGRAM": wrapper, "WS_SEND_QUEUE_BYTES": "262144",
                         "GENERATE_SECONDS": "3", "ANALYZE_SECONDS": "3"})
    slow = RawClient(svc.port, rcvbuf=4096)  # never reads until the end
    post_run_soon(svc, {"batch_count": 12, "rows_per_batch": 200000})
    messages = asyncio.run(collect(ws_url(svc), timeout=120))
    assert messages[-1]["type"] == "complete" and messages[-1]["data"]["status"] == "succeeded"
    texts, code = slow.messages_until_close()
    assert code == 1008
    assert not any(m["type"] == "complete" for m in texts)  # it was dropped before the end
    seqs = [m["seq"] for m in texts[1:]]
    assert seqs == list(range(1, len(seqs) + 1))  # what it got before the drop is in order
    slow.close()


def test_cancel_gives_cancelled_status_then_complete(start_service):
    svc = start_service({"GENERATE_SECONDS": "30"})

    async def watch():
        async def on_message(m, ws):
            if m["type"] == "progress" and m["data"]["stages"][0]["running"] == 2:
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: requests.delete(svc.url("/api/v1/demo/cancel"), timeout=10))
        post_run_soon(svc, {"batch_count": 2})
        return await collect(ws_url(svc), on_message=on_message)

    messages = asyncio.run(watch())
    statuses = [m["data"]["status"] for m in messages[1:] if m["type"] == "status"]
    assert statuses[-1] == "cancelled"
    assert messages[-1]["type"] == "complete" and messages[-1]["data"]["status"] == "cancelled"
    assert messages[-1]["data"]["demo_metrics"] is None
    assert not any(m["type"] == "error" for m in messages)


def test_failing_task_gives_error_then_complete_failed(start_service, tmp_path):
    wrapper = write_wrapper(tmp_path / "fail.sh",
                            'if [ "$1 $2" = "generate --batch=2" ]; then echo "no space left" >&2; exit 4; fi\n'
                            f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": wrapper, "GENERATE_SECONDS": "0.5"})
    post_run_soon(svc, {"batch_count": 3})
    messages = asyncio.run(collect(ws_url(svc)))
    types = [m["type"] for m in messages]
    assert "error" in types
    error = messages[types.index("error")]
    assert error["data"]["stage"] == "GENERATE (2)"
    assert "exit code 4" in error["data"]["message"] and "no space left" in error["data"]["message"]
    assert types.index("error") < types.index("complete")
    assert messages[-1]["data"]["status"] == "failed"
    assert "GENERATE (2)" in messages[-1]["data"]["run"]["message"]


def test_reconnect_with_since_misses_nothing(start_service):
    svc = start_service({"GENERATE_SECONDS": "0.6", "ANALYZE_SECONDS": "0.4"})

    async def scenario():
        witness = asyncio.ensure_future(collect(ws_url(svc)))
        await asyncio.sleep(0.2)
        post_run_soon(svc, {"batch_count": 4}, delay=0)
        # a client that leaves after a few broadcasts ...
        first_part = []
        async with websockets.connect(ws_url(svc), ping_interval=None) as ws:
            while True:
                m = json.loads(await asyncio.wait_for(ws.recv(), 20))
                first_part.append(m)
                if m["seq"] >= 4 and m["type"] != "status":
                    break
        await asyncio.sleep(0.8)  # ... misses some, then comes back
        rest = await collect(ws_url(svc, f"?since={first_part[-1]['seq']}"))
        return first_part, rest, await witness

    first_part, rest, witness = asyncio.run(scenario())
    seen = first_part[1:] + rest  # first_part[0] is its snapshot
    assert [m["seq"] for m in seen] == list(range(seen[0]["seq"], seen[-1]["seq"] + 1))
    full = {m["seq"]: m for m in witness[1:]}
    for m in seen:
        assert full[m["seq"]] == m
    assert seen[-1]["type"] == "complete"
    assert rest[0]["seq"] == first_part[-1]["seq"] + 1  # the replay starts right after


def test_since_beyond_the_ring_resyncs(start_service):
    svc = start_service()
    run = svc.run(batch_count=1)
    svc.wait_finished(run["run_id"])
    client = RawClient(svc.port, path="/api/v1/pipeline/stream?since=999999")
    op, snapshot = client.frame()
    op2, resync = client.frame()
    snapshot, resync = json.loads(snapshot), json.loads(resync)
    assert snapshot["type"] == "status" and "active" in snapshot["data"]
    assert resync["type"] == "status" and resync["data"]["status"] == "resync"
    assert snapshot["seq"] == resync["seq"] > 0
    client.close()
    # since=0 replays the whole (short) history in order
    replay = RawClient(svc.port, path="/api/v1/pipeline/stream?since=0")
    seqs = []
    while not seqs or json.loads(payload)["type"] != "complete":
        op, payload = replay.frame()
        seqs.append(json.loads(payload)["seq"])
    assert seqs == list(range(1, len(seqs) + 1))
    replay.close()
    r = svc.get("/api/v1/pipeline/stream?since=abc", headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13"})
    assert r.status_code == 422


def test_plain_get_is_told_to_upgrade(service):
    r = service.get("/api/v1/pipeline/stream")
    assert r.status_code == 426 and r.json()["detail"]


def test_pings_answered_messages_ignored(service):
    c = RawClient(service.port)
    assert c.frame()[0] == 0x1
    c.send(0x9, b"hello?")
    assert c.frame() == (0xA, b"hello?")
    c.send(0x1, b'{"please": "ignore me"}')
    c.send(0x9, b"again")
    assert c.frame() == (0xA, b"again")
    c.send(0x8, struct.pack("!H", 1000))
    texts, code = c.messages_until_close()
    assert code == 1000
    c.close()


def test_keepalive_and_vanished_client_cleanup(start_service):
    svc = start_service({"WS_KEEPALIVE_SECONDS": "1"})
    ghost = RawClient(svc.port)  # answers nothing from now on
    assert ghost.frame()[0] == 0x1

    async def listen():
        got = []
        async with websockets.connect(ws_url(svc), ping_interval=None) as ws:
            while len(got) < 4:
                m = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if m["type"] == "status" and m["data"].get("status") == "keep-alive":
                    got.append(m["data"]["connected_clients"])
        return got

    counts = asyncio.run(listen())
    assert counts[0] == 2  # the ghost still counted at first ...
    assert counts[-1] == 1  # ... then dropped: it never answered a ping
    ghost.close()


def test_connected_clients_is_exact(service):
    clients = [RawClient(service.port) for _ in range(5)]
    for c in clients:
        c.frame()
    assert service.get("/api/v1/demo/status").json()["connected_clients"] == 5
    for c in clients[:3]:
        c.close()
    assert wait_until(lambda: service.get("/api/v1/demo/status").json()["connected_clients"] == 2)
    for c in clients[3:]:
        c.close()


def test_shutdown_closes_clients_with_1001(start_service):
    svc = start_service()
    c = RawClient(svc.port)
    c.frame()
    assert svc.stop() == 0
    texts, code = c.messages_until_close()
    assert code == 1001
    c.close()


def test_stream_handshake_is_not_rate_limited(start_service):
    svc = start_service({"RATE_LIMIT_PER_MINUTE": "2"})
    while svc.get("/api/v1/demo/status").status_code != 429:
        pass
    for _ in range(3):
        c = RawClient(svc.port)
        assert c.status == 101
        op, snapshot = c.frame()
        assert op == 0x1 and json.loads(snapshot)["type"] == "status"
        c.close()


def test_lifecycle_messages_carry_the_run_and_complete_every_task(start_service, tmp_path):
    wrapper = write_wrapper(tmp_path / "fail.sh",
                            'if [ "$1 $2" = "generate --batch=1" ]; then exit 9; fi\n'
                            f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": wrapper, "GENERATE_SECONDS": "0.5"})
    post_run_soon(svc, {"batch_count": 2, "triggered_by": "lifecycle"})
    messages = asyncio.run(collect(ws_url(svc)))
    starting = next(m for m in messages[1:] if m["type"] == "status")
    assert starting["data"]["status"] == "starting"
    assert starting["data"]["run"]["batch_count"] == 2 and starting["data"]["run"]["triggered_by"] == "lifecycle"
    progress = [m["data"] for m in messages if m["type"] == "progress"]
    assert all("estimated_completion" in p for p in progress)
    complete = messages[-1]["data"]
    states = {(t["name"], t["batch"]): t["state"] for t in complete["tasks"]}
    assert states[("GENERATE", 1)] == "failed"
    assert states[("REPORT", 0)] == "cancelled" and states[("ANALYZE", 1)] == "cancelled"
    status = svc.get("/api/v1/demo/status").json()
    assert status["seq"] == messages[-1]["seq"]


def test_protocol_errors_and_oversized_messages_close_the_client(service):
    # an unmasked client frame is a protocol error (1002)
    bad = RawClient(service.port)
    bad.frame()
    bad.sock.sendall(bytes([0x81, 0x02]) + b"hi")
    texts, code = bad.messages_until_close()
    assert code == 1002
    bad.close()
    # a message over 64 KiB (client messages are ignored, but bounded) is 1009
    big = RawClient(service.port)
    big.frame()
    big.send(0x1, b"x" * (65536 + 1))
    texts, code = big.messages_until_close()
    assert code == 1009
    big.close()
    assert wait_until(lambda: service.get("/api/v1/demo/status").json()["connected_clients"] == 0)
