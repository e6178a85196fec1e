"""Stream clients that misbehave: one that sends pings and never reads (its pongs count against the send-queue
bound, and the service stops reading from it), and task processes that must hold no client socket."""
import os
import socket
import time

from conftest import processes_mentioning, wait_until
from wsutil import RawClient


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


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
    assert grown_mib < 16, f"RSS grew by {grown_mib:.1f} MiB after {sent / 2**20:.1f} MiB of pings"
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
