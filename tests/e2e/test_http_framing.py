"""HTTP/1.1 framing (RFC 9112 §6.3) on raw sockets: conflicting Content-Length headers and Content-Length with
Transfer-Encoding are answered 400 and the connection is closed (nothing after them is read as a request),
oversized heads get 431, every response carries X-Content-Type-Options: nosniff."""
import json
import socket


def exchange(port, payload, timeout=5.0):
    """Sends raw bytes (without closing our side) and reads until the server closes; returns (bytes, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    chunks, closed = [], False
    try:
        s.sendall(payload)
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not data:
                closed = True
                break
            chunks.append(data)
    finally:
        s.close()
    return b"".join(chunks), closed


def responses(raw):
    """Splits a byte stream of HTTP/1.1 responses (each with Content-Length) into (status, headers, body)."""
    out = []
    while raw.startswith(b"HTTP/1."):
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers[k.strip().lower().decode()] = v.strip().decode()
        n = int(headers.get("content-length", "0"))
        out.append((status, headers, rest[:n]))
        raw = rest[n:]
    return out


SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def test_conflicting_content_lengths_are_400_and_close(service):
    body = b"{}" + SMUGGLED
    raw, closed = exchange(service.port, b"POST /api/v1/demo/preview HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    got = responses(raw)
    assert closed, raw
    assert len(got) == 1, f"the rest of the body was read as a request: {raw!r}"
    status, headers, payload = got[0]
    assert status == 400 and headers["connection"] == "close"
    assert json.loads(payload)["detail"] == "Conflicting Content-Length headers"
    assert service.get("/healthz").status_code == 200


def test_equal_repeated_content_length_is_accepted(service):
    raw, _ = exchange(service.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n")
    assert [r[0] for r in responses(raw)] == [200]


def test_content_length_with_transfer_encoding_is_400_and_close(service):
    for order in (b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                  b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"):
        raw, closed = exchange(service.port, b"POST /api/v1/demo/preview HTTP/1.1\r\nHost: x\r\n" + order +
                               b"\r\n2\r\n{}\r\n0\r\n\r\n" + SMUGGLED)
        got = responses(raw)
        assert closed and len(got) == 1, raw
        assert got[0][0] == 400 and got[0][1]["connection"] == "close"
        assert "Transfer-Encoding" in json.loads(got[0][2])["detail"]


def test_two_transfer_encodings_are_400(service):
    raw, closed = exchange(service.port, b"POST /api/v1/demo/preview HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" + SMUGGLED)
    got = responses(raw)
    assert closed and [r[0] for r in got] == [400], raw


def test_chunked_alone_still_works(service):
    raw, _ = exchange(service.port, b"POST /api/v1/demo/run HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      b"Connection: close\r\n\r\n3\r\n{\"b\r\n0\r\n\r\n")
    got = responses(raw)
    assert [r[0] for r in got] == [422]  # parsed as the body '{"b': malformed JSON, not a framing error


def test_large_head_is_431_json(service):
    raw, closed = exchange(service.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40000 + b"\r\n\r\n")
    got = responses(raw)
    assert closed and len(got) == 1
    status, headers, payload = got[0]
    assert status == 431 and headers["content-type"].startswith("application/json")
    assert "detail" in json.loads(payload)
    assert service.get("/healthz").status_code == 200


def test_every_response_says_nosniff(service):
    for path, expected in (("/healthz", 200), ("/", 200), ("/nope", 404), ("/api/v1/demo/preview?batch_count=0", 422),
                           ("/api/v1/demo/runs/zzz", 404)):
        r = service.get(path)
        assert r.status_code == expected
        assert r.headers.get("X-Content-Type-Options") == "nosniff", path
    r = service.post("/api/v1/demo/run", data=b"x" * (70 * 1024))  # answered by h2o itself (413)
    assert r.status_code == 413 and r.headers.get("X-Content-Type-Options") == "nosniff"
    r = service.session.options(service.url("/api/v1/demo/run"), timeout=10)
    assert r.status_code == 204 and r.headers.get("X-Content-Type-Options") == "nosniff"


def test_malformed_request_line_gets_h2o_plain_400_and_close(service):
    """The documented exception: h2o 2.2.5 writes this answer itself before any filter runs."""
    raw, closed = exchange(service.port, b"GARBAGE\r\n\r\n")
    assert closed and raw.startswith(b"HTTP/1.1 400 ")
    assert service.get("/healthz").status_code == 200
