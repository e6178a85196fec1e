"""Stream clients that misbehave: one that sends pings and never reads (its pongs count against the send-queue
bound, and the service stops reading from it), and task processes that must hold no client socket."""
import json
import os
import socket
import struct
import subprocess
import sys
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


def _outcome(client):
    """"open" when the stream's first message came, else the close code (None when the TCP just ended)."""
    try:
        op, payload = client.frame()
    except (ConnectionError, OSError):
        return None
    if op == 0x1:
        return "open"
    return struct.unpack("!H", payload[:2])[0] if op == 0x8 and len(payload) >= 2 else None


def _open_all(svc, forwarded_for, **kw):
    """One stream per X-Forwarded-For value (None: no header), opened one after another; their outcomes."""
    clients, outcomes = [], []
    for xff in forwarded_for:
        c = RawClient(svc.port, headers={"X-Forwarded-For": xff} if xff else None, **kw)
        clients.append(c)
        outcomes.append(_outcome(c))
    return clients, outcomes


def test_cap_counts_each_client_behind_a_trusted_proxy(start_service):
    # Behind a proxy every viewer comes from the proxy's address: the cap must count the forwarded client.
    svc = start_service({"TRUSTED_PROXIES": "127.0.0.1", "MAX_WEBSOCKET_CONNECTIONS_PER_IP": "2",
                         "MAX_WEBSOCKET_CONNECTIONS": "50"})
    clients, outcomes = _open_all(svc, ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4",
                                        "198.51.100.1", "198.51.100.1"])
    assert outcomes == ["open"] * 5 + [1013]
    # the right-most address the trusted proxy appended is the client; what the client wrote left of it is not
    more, outcomes = _open_all(svc, ["198.51.100.1, 198.51.100.9", "198.51.100.2, 198.51.100.1"])
    assert outcomes == ["open", 1013]
    for c in clients + more:
        c.close()


def test_cap_counts_an_ipv6_client_by_its_64(start_service):
    # like the rate limiter: one host usually holds a whole /64
    svc = start_service({"TRUSTED_PROXIES": "127.0.0.1", "MAX_WEBSOCKET_CONNECTIONS_PER_IP": "2",
                         "MAX_WEBSOCKET_CONNECTIONS": "50"})
    clients, outcomes = _open_all(svc, ["2001:db8:1:2::a", "[2001:db8:1:2:ffff::b]:443", "2001:db8:1:2::c",
                                        "2001:db8:1:3::a", "::ffff:198.51.100.1", "198.51.100.1",
                                        "198.51.100.1"])
    # the third of the /64 is refused, another /64 is not; ::ffff:a.b.c.d is the IPv4 client a.b.c.d
    assert outcomes == ["open", "open", 1013, "open", "open", "open", 1013]
    for c in clients:
        c.close()


@pytest.mark.parametrize("trusted", ["", "10.0.0.0/8"])
def test_cap_ignores_forwarded_for_from_an_untrusted_peer(start_service, trusted):
    # a client that is not a trusted proxy cannot escape the cap by writing X-Forwarded-For itself
    svc = start_service({"TRUSTED_PROXIES": trusted, "MAX_WEBSOCKET_CONNECTIONS_PER_IP": "2",
                         "MAX_WEBSOCKET_CONNECTIONS": "50"})
    clients, outcomes = _open_all(svc, ["198.51.100.1", "198.51.100.2", "198.51.100.3", None])
    assert outcomes == ["open", "open", 1013, 1013]
    for c in clients:
        c.close()


def test_cap_counts_a_direct_ipv6_peer_by_its_64():
    # Several addresses of one /64 need a network of their own: a network namespace (root, `unshare -n`).
    probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ipv6_cap_probe.py")
    try:
        ready = subprocess.run(["unshare", "-n", "ip", "-6", "addr", "show", "dev", "lo"], capture_output=True,
                               timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        ready = None
    if ready is None or ready.returncode != 0:
        pytest.skip("no private network namespace here (needs root and `unshare -n`) to hold a /64 of addresses")
    p = subprocess.run(["unshare", "-n", sys.executable, probe], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ))
    assert p.returncode == 0, f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    result = json.loads(p.stdout.strip().splitlines()[-1])
    if result.get("skip"):
        pytest.skip(result["skip"])
    assert result["sanitizer"] == [], result["log"]
    # 2001:db8:1::a and ::b share a /64 (cap 2: the third is refused), 2001:db8:2::a is another client
    assert result["outcomes"] == ["open", "open", 1013, "open"], result["log"]


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


def _raw_frame(opcode, payload, fin=True):
    """A masked client frame (payload under 126 bytes), FIN as asked."""
    mask = os.urandom(4)
    return (bytes([(0x80 if fin else 0) | opcode, 0x80 | len(payload)]) + mask
            + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def _pong(c, payload):
    """Reads frames until the pong for `payload` (texts may come first); fails on a close."""
    while True:
        op, data = c.frame()
        assert op != 0x8, f"closed: {data!r}"
        if op == 0xA:
            assert data == payload
            return


def test_client_frames_across_idle_pauses(start_service):
    """What a client says is read the same whether it comes at once or with pauses between frames, inside a
    fragmented message or inside a frame (the reader keeps its state only while something is under way)."""
    svc = start_service()
    c = RawClient(svc.port)
    c.frame()  # the snapshot
    for i in range(3):  # pings with idle pauses between them
        c.send(0x9, b"p%d" % i)
        _pong(c, b"p%d" % i)
        time.sleep(0.2)
    # a fragmented text message, with pauses and a ping between its fragments
    c.sock.sendall(_raw_frame(0x1, b"abc", fin=False))
    time.sleep(0.2)
    c.sock.sendall(_raw_frame(0x9, b"mid"))
    _pong(c, b"mid")
    time.sleep(0.2)
    c.sock.sendall(_raw_frame(0x0, b"def", fin=False))
    time.sleep(0.2)
    c.sock.sendall(_raw_frame(0x0, b"ghi", fin=True))
    # a ping cut in two writes with a pause
    ping = _raw_frame(0x9, b"split")
    c.sock.sendall(ping[:3])
    time.sleep(0.3)
    c.sock.sendall(ping[3:])
    _pong(c, b"split")
    # still a viewer: it gets the next broadcast
    assert svc.post("/api/v1/demo/run", json={"batch_count": 1}).status_code == 200
    c.sock.settimeout(20)
    while True:
        op, data = c.frame()
        assert op != 0x8
        if op == 0x1 and json.loads(data)["type"] in ("status", "progress"):
            break
    c.close()
    assert svc.get("/health").status_code == 200
