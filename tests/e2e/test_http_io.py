"""How HTTP connections are read and written (src/http/h2o_reading.c): libuv keeps reading while h2o answers a
request, and a response goes out in one writev when the socket takes it. Pipelined requests, more input than
the bound kept while paused, a peer that stops sending, a large response to a slow reader, and a WebSocket frame
sent together with its upgrade. Nothing here asserts a timing."""
import os
import socket
import threading
import time

from wsutil import RawClient


def read_response(sock, buf):
    """One HTTP/1.1 response (with Content-Length) from sock; returns (status, headers, body, rest of buf)."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"closed before a response; had {buf[:200]!r}")
        buf += data
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(b":", 1)
        headers[k.strip().lower().decode()] = v.strip().decode()
    n = int(headers["content-length"])
    while len(buf) < n:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed inside a body")
        buf += data
    return status, headers, buf[:n], buf[n:]


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    return s


def test_pipelined_requests_are_answered_in_order(service):
    paths = ["/health", "/healthz", "/api/v1/demo/preview", "/no/such/path"] * 15
    s = connect(service.port)
    try:
        s.sendall(b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in paths))
        buf = b""
        statuses = []
        for p in paths:
            status, _, body, buf = read_response(s, buf)
            statuses.append(status)
            if p == "/api/v1/demo/preview":
                assert b'"batch_count"' in body
        assert statuses == [200, 200, 200, 404] * 15
    finally:
        s.close()


def test_more_pipelined_input_than_is_kept_while_a_request_is_answered(service):
    # about 400 KB of requests, beyond HTTP_READING_PAUSED_MAX (256 KiB): reading stops and resumes
    count = 10000
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    s = connect(service.port)
    sender = threading.Thread(target=lambda: s.sendall(request * count), daemon=True)
    sender.start()
    try:
        buf = b""
        for _ in range(count):
            status, _, _, buf = read_response(s, buf)
            assert status == 200
        sender.join(15)
        assert not sender.is_alive()
    finally:
        s.close()
    assert service.get("/health").status_code == 200


def test_a_request_then_the_end_of_input_still_gets_its_answer(service):
    for _ in range(20):
        s = connect(service.port)
        try:
            s.sendall(b"GET /api/v1/demo/preview HTTP/1.1\r\nHost: x\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            status, _, body, rest = read_response(s, b"")
            assert status == 200 and b'"batch_count"' in body
            assert rest == b"" and s.recv(100) == b""  # then the server closes
        finally:
            s.close()


def test_a_request_in_pieces_with_pauses(service):
    s = connect(service.port)
    try:
        req = b"GET /api/v1/demo/preview HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\n\r\n"
        for i in range(0, len(req), 7):
            s.sendall(req[i:i + 7])
            time.sleep(0.01)
        status, _, body, _ = read_response(s, b"")
        assert status == 200 and b'"batch_count"' in body
    finally:
        s.close()


def test_a_large_response_to_a_slow_reader_then_the_next_request(service):
    path = "/vendor/swagger-ui-bundle.js"
    expected = service.get(path).content
    assert len(expected) > 500000
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the server's writev cannot take it all at once
    s.settimeout(15)
    s.connect(("127.0.0.1", service.port))
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(0.3)  # let the server fill the socket and wait for it to drain
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(1024)
        for _ in range(20):  # slowly at first
            buf += s.recv(1024)
            time.sleep(0.005)
        status, _, body, buf = read_response(s, buf)
        assert status == 200 and body == expected
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, body, _ = read_response(s, buf)
        assert status == 200 and b'"status":"ok"' in body
    finally:
        s.close()


def test_many_connections_each_with_several_requests(service):
    socks = [connect(service.port) for _ in range(100)]
    try:
        for round_ in range(3):
            for s in socks:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            for s in socks:
                status, _, _, rest = read_response(s, b"")
                assert status == 200 and rest == b""
    finally:
        for s in socks:
            s.close()
    assert service.get("/health").status_code == 200


def test_a_websocket_frame_sent_with_the_upgrade_is_read(service):
    # a ping right behind the upgrade request, in one write: it reaches the stream, which answers with a pong
    payload = os.urandom(8)
    mask = os.urandom(4)
    ping = bytes([0x89, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

    class Eager(RawClient):
        def __init__(self, port):
            real = socket.socket.sendall

            def sendall_with_ping(sock_self, data, *a):
                return real(sock_self, data + ping, *a)

            socket.socket.sendall = sendall_with_ping
            try:
                super().__init__(port)
            finally:
                socket.socket.sendall = real

    c = Eager(service.port)
    try:
        assert c.status == 101
        for _ in range(1000):
            op, data = c.frame()
            if op == 0xA:
                assert data == payload
                break
        else:
            raise AssertionError("no pong")
    finally:
        c.close()
