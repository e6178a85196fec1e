"""Hostile bytes on the wire: bad request lines, huge headers, truncated bodies, invalid UTF-8, deep JSON.
After every kind the service still answers, and the status codes are never a 500."""
import random
import socket
import time

import pytest


def exchange(port, payload, read_timeout=3.0, close_write=True):
    """Sends raw bytes, reads whatever comes back until the server closes or goes quiet."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(read_timeout)
    try:
        try:
            s.sendall(payload)
            if close_write:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may hang up first on oversized input: that is an answer too
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)
    finally:
        s.close()


def status_of(response):
    if not response.startswith(b"HTTP/1."):
        return None
    return int(response.split(b" ", 2)[1])


def post_raw(body, extra=b""):
    return (b"POST /api/v1/demo/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + extra +
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)


def garbage_cases(rng):
    """200 hostile requests of many kinds, reproducible from the seed."""
    kinds = [
        lambda: b"GARBAGE\r\n\r\n",
        lambda: b"GET\r\n\r\n",
        lambda: b"GET / HTTP/9.9\r\n\r\n",
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 2000))),
        lambda: b"\x00\x01\x02\x03\r\n\r\n",
        lambda: b"GET /" + b"a" * rng.randint(10000, 200000) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        lambda: b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * rng.randint(70000, 300000) + b"\r\n\r\n",
        lambda: b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(rng.randint(100, 3000))) + b"\r\n",
        lambda: b"POST /api/v1/demo/run HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"batch",
        lambda: b"POST /api/v1/demo/run HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}",
        lambda: b"POST /api/v1/demo/run HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
        lambda: b"POST /api/v1/demo/run HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
        lambda: b"POST /api/v1/demo/run HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        lambda: b"POST /api/v1/demo/run HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"ba",
        lambda: post_raw(b'{"triggered_by": "\xff\xfe\xfd"}'),
        lambda: post_raw(b'{"batch_count": 1, "triggered_by": "\xc3\x28"}'),
        lambda: post_raw(b"[" * 10000 + b"]" * 10000),
        lambda: post_raw(b'{"a":' * 10000 + b"1" + b"}" * 10000),
        lambda: post_raw(b'{"batch_count": 1e999}'),
        lambda: post_raw(b'{"batch_count": 99999999999999999999999999}'),
        lambda: post_raw(b'{"batch_count": NaN}'),
        lambda: post_raw(b'"just a string"'),
        lambda: post_raw(b"\x00" * 64),
        lambda: post_raw(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 5000)))),
        lambda: b"GET /api/v1/demo/preview?batch_count=%ff%fe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        lambda: b"GET /api/v1/demo/runs/%00%2e%2e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        lambda: b"GET /api/v1/demo/runs/../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        lambda: b"GET /api/v1/pipeline/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        lambda: b"DELETE /api/v1/demo/cancel HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xff\r\nConnection: close\r\n\r\n",
        lambda: b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        lambda: b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
        lambda: b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ]
    cases = [(i % len(kinds), kinds[i % len(kinds)]()) for i in range(len(kinds))]
    while len(cases) < 200:
        k = rng.randrange(len(kinds))
        cases.append((k, kinds[k]()))
    return cases


def test_two_hundred_garbage_requests_then_still_serving(start_service):
    svc = start_service({"GENERATE_SECONDS": "0"})
    rng = random.Random(20261129)
    statuses = []
    for i, (kind, payload) in enumerate(garbage_cases(rng)):
        response = exchange(svc.port, payload)
        code = status_of(response)
        statuses.append(code)
        assert code is None or code < 500, f"case {i} (kind {kind}) got {code}: {response[:300]!r}"
        if i % 20 == 0:
            assert svc.get("/healthz").status_code == 200, f"not serving after case {i}"
    assert svc.proc.poll() is None, "the service died"
    assert svc.get("/healthz").json()["status"] == "ok"
    # at least the well-formed-but-bad requests got real answers
    assert statuses.count(422) >= 10 and statuses.count(400) + statuses.count(413) >= 5
    # and it still does real work
    run = svc.run(batch_count=1)
    assert svc.wait_finished(run["run_id"])["status"] == "succeeded"


def test_slowloris_does_not_block_others(service):
    """A client that sends half a request and waits must not delay anyone else."""
    hung = socket.create_connection(("127.0.0.1", service.port))
    hung.sendall(b"POST /api/v1/demo/run HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
    try:
        for _ in range(5):
            assert service.get("/healthz", timeout=5).status_code == 200
    finally:
        hung.close()


def test_many_idle_connections_then_serving(service):
    socks = [socket.create_connection(("127.0.0.1", service.port)) for _ in range(300)]
    try:
        assert service.get("/api/v1/demo/status", timeout=5).status_code == 200
    finally:
        for s in socks:
            s.close()
    time.sleep(0.2)
    assert service.get("/healthz").status_code == 200
