"""Broadcasts written back to back into shared buffers (src/http/ws_frame.c, ws_frame_build_shared): every client
still gets whole frames in order, whatever it holds when the hub moves on to the next buffer."""
import asyncio
import json

import requests
import websockets

from wsutil import RawClient


def ws_url(svc, query=""):
    return f"ws://127.0.0.1:{svc.port}/api/v1/pipeline/stream{query}"


def burst(svc, count, size, per_tick):
    r = requests.post(svc.url("/bench/burst"), json={"count": count, "size": size, "per_tick": per_tick}, timeout=10)
    assert r.status_code == 202, r.text


async def read_burst(ws, count, on_message=None):
    """Messages up to the burst's last event (the snapshot or anything before the burst included)."""
    out = []
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), 60))
        out.append(m)
        if on_message:
            await on_message(m)
        bench = m.get("data", {}).get("bench") if isinstance(m.get("data"), dict) else None
        if bench and bench["i"] == count - 1:
            return out


def events_of(messages):
    return [m for m in messages if m["seq"] > 0 and m["type"] == "log"]


def test_slow_joining_and_fast_clients_over_shared_buffers(start_service):
    """A burst spanning dozens of shared buffers (3,000 events of 1 KB, 16 per loop turn): fast clients get every
    event whole and in order; a client that reads nothing until the burst is over holds references to every buffer
    while the hub and the others move on, then reads exactly what the others got; a client that joins mid-burst
    with ?since= gets the rest, contiguous. (The queue bound is above the burst: nobody is dropped here; dropping
    is test_stream.py's slow-client test.)"""
    svc = start_service({"BENCH_EVENTS": "1", "WS_SEND_QUEUE_BYTES": str(16 << 20)})
    count = 3000
    slow = RawClient(svc.port, rcvbuf=4096)  # reads nothing until the end

    async def scenario():
        fast = [await websockets.connect(ws_url(svc), max_size=None, max_queue=None, ping_interval=None)
                for _ in range(3)]
        for ws in fast:
            assert json.loads(await ws.recv())["seq"] == 0  # the snapshot
        joined = asyncio.get_running_loop().create_future()

        async def join_mid_burst(m):
            if not joined.done() and m.get("seq", 0) >= 700:
                since = m["seq"]
                ws = await websockets.connect(ws_url(svc, f"?since={since}"), max_size=None, max_queue=None,
                                              ping_interval=None)
                joined.set_result((since, ws, asyncio.ensure_future(read_burst(ws, count))))

        burst(svc, count, 1000, 16)
        results = await asyncio.gather(read_burst(fast[0], count, join_mid_burst),
                                       *(read_burst(ws, count) for ws in fast[1:]))
        since, late_ws, late = await joined
        late_messages = await late
        for ws in fast + [late_ws]:
            await ws.close()
        return results, since, late_messages

    results, since, late = asyncio.run(scenario())
    witness = events_of(results[0])
    assert [m["data"]["bench"]["i"] for m in witness] == list(range(count))
    seqs = [m["seq"] for m in witness]
    assert seqs == list(range(seqs[0], seqs[0] + count))
    for other in results[1:]:
        assert events_of(other) == witness
    by_seq = {m["seq"]: m for m in witness}
    late_events = events_of(late)
    assert [m["seq"] for m in late_events] == list(range(since + 1, seqs[-1] + 1))
    assert all(by_seq[m["seq"]] == m for m in late_events)

    slow.sock.settimeout(30)
    got = []
    while len(got) < count:
        op, payload = slow.frame()
        assert op == 0x1
        m = json.loads(payload)
        if m["seq"] > 0:
            got.append(m)
    slow.close()
    assert got == witness


def test_events_larger_than_a_shared_buffer(start_service):
    """Events of 64 KB (frames with a 64-bit length, each larger than what is left of a shared buffer) between small
    ones arrive whole and in order."""
    svc = start_service({"BENCH_EVENTS": "1"})

    async def scenario():
        async with websockets.connect(ws_url(svc), max_size=None, max_queue=None, ping_interval=None) as ws:
            assert json.loads(await ws.recv())["seq"] == 0
            out = []
            for count, size, per_tick in ((40, 100, 7), (12, 65536, 4), (40, 100, 16)):
                burst(svc, count, size, per_tick)
                out.append((size, events_of(await read_burst(ws, count))))
            return out

    seq = None
    for size, events in asyncio.run(scenario()):
        assert [m["data"]["bench"]["i"] for m in events] == list(range(len(events)))
        for m in events:
            assert seq is None or m["seq"] == seq + 1
            seq = m["seq"]
            assert len(m["data"]["lines"][0]["message"]) == size
