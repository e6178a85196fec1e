"""Stream clients that misbehave: one that sends pings and never reads (its pongs count against the send-queue
bound, and the service stops reading from it), and task processes that must hold no client socket."""
import os
import socket
import time

import pytest

from conftest import processes_mentioning, rss_kib, wait_until
from wsutil import RawClient


def test_ping_flood_without_reading_is_bounded(start_service):
    svc = start_service({"WS_SEND_QUEUE_BYTES": "65536"})
    client = RawClient(svc.port, rcvbuf=4096)
    op, _ = client.frame()  # the snapshot
    before = rss_kib(svc.proc.pid)
    client.sock.setblocking(False)
    mask = b"\x00\x00\x00\x00"
    ping = bytes([0x89, 0x80 | 125]) + mask + b"p" * 125  # masked ping, 125-byte payload (masked with zeros)
    burst = ping * 512
    sent, deadline = 0, time.monotonic() + 20
    stalled_since = None
    while sent < 40 * 1024 * 1024 and time.monotonic() < deadline:
        try:
            n = client.sock.send(burst)
            sent += n
            stalled_since = None
        except BlockingIOError:
            # the service stopped reading from us (or is slow): once it stays stalled for a while, stop
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 2:
                break
            time.sleep(0.01)
        except OSError:
            break  # it closed the connection: fine
    grown_mib = (rss_kib(svc.proc.pid) - before) / 1024
    assert grown_mib < 32, f"RSS grew by {grown_mib:.1f} MiB after {sent / 2**20:.1f} MiB of pings"
    # the service is still serving everyone else
    assert svc.get("/health").status_code == 200
    # and the flooder is dropped as too slow once it reads again: 1008 after what was queued
    client.sock.setblocking(True)
    client.sock.settimeout(20)
    code = None
    try:
        while True:
            op, payload = client.frame()
            if op == 0x8:
                code = int.from_bytes(payload[:2], "big")
                break
    except (ConnectionError, OSError):
        pass
    assert code in (1008, None), code
    assert wait_until(lambda: '"dropping a slow client' in svc.log() or "dropping a slow client" in svc.log(), 10)
    client.close()


def socket_fds(pid):
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        if int(fd) <= 2:
            continue  # stdin, and the stdout/stderr pipes the service reads
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            found.append((fd, target))
    return found


def test_tasks_hold_no_client_socket(start_service):
    svc = start_service({"GENERATE_SECONDS": "3"})
    clients = [RawClient(svc.port) for _ in range(3)]
    for c in clients:
        c.frame()
    keepalive = socket.create_connection(("127.0.0.1", svc.port))  # an idle HTTP connection too
    run = svc.run(batch_count=2)
    pids = wait_until(lambda: processes_mentioning(str(svc.data_dir)), 10)
    assert pids, "no task process seen"
    for pid in pids:
        try:
            assert socket_fds(pid) == [], f"task {pid} holds sockets"
        except FileNotFoundError:
            pass  # it ended meanwhile
    svc.delete("/api/v1/demo/cancel")
    svc.wait_finished(run["run_id"])
    keepalive.close()
    for c in clients:
        c.close()


def test_origin_not_allowed_cannot_open_the_stream(start_service):
    import requests
    svc = start_service({"ALLOWED_ORIGINS": "https://dash.example"})
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    r = requests.get(svc.url("/api/v1/pipeline/stream"), headers={**headers, "Origin": "https://evil.example"},
                     timeout=5)
    assert r.status_code == 403 and "Origin" in r.json()["detail"]
    # the listed origin, and a client that sends none (not a browser), get in
    for extra in ({"Origin": "https://dash.example"}, {}):
        r = requests.get(svc.url("/api/v1/pipeline/stream"), headers={**headers, **extra}, timeout=5, stream=True)
        assert r.status_code == 101
        r.close()


def test_one_address_cannot_take_every_slot(start_service):
    svc = start_service({"MAX_WEBSOCKET_CONNECTIONS_PER_IP": "3", "MAX_WEBSOCKET_CONNECTIONS": "50"})
    kept = [RawClient(svc.port) for _ in range(3)]
    for c in kept:
        assert c.frame()[0] == 0x1
    extra = RawClient(svc.port)
    texts, code = extra.messages_until_close()
    assert code == 1013 and texts == []
    kept[0].close()  # a slot of this address frees up
    assert wait_until(lambda: svc.get("/health").status_code == 200 and _opens(svc), 10)
    for c in kept[1:]:
        c.close()


def _opens(svc):
    c = RawClient(svc.port)
    try:
        op, _ = c.frame()
        return op == 0x1
    except (ConnectionError, OSError):
        return False
    finally:
        c.close()


def test_frame_header_without_payload_is_dropped(start_service):
    svc = start_service()
    c = RawClient(svc.port)
    c.frame()
    c.sock.sendall(bytes([0x81, 0x80 | 100]) + b"\x00\x00\x00\x00" + b"x" * 10)  # 10 of 100 payload bytes
    c.sock.settimeout(30)
    texts, code = c.messages_until_close()
    assert code == 1008
    assert "frame unfinished" in svc.log()



@pytest.mark.parametrize("frame", [
    bytes([0x89, 0x80 | 126]) + (200).to_bytes(2, "big") + b"\x00" * 4 + b"p" * 200,  # ping over 125 bytes
    bytes([0x09, 0x80 | 4]) + b"\x00" * 4 + b"ping",  # fragmented ping (no FIN)
])
def test_invalid_control_frames_get_1002(start_service, frame):
    svc = start_service()
    c = RawClient(svc.port)
    c.frame()
    c.sock.sendall(frame)
    texts, code = c.messages_until_close()
    assert code == 1002
    assert svc.get("/health").status_code == 200
