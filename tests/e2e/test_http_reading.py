"""Bytes that arrive while h2o answers a request (src/http/h2o_reading.c) must never touch the buffer the request
being answered points into. The answers here are deferred on purpose: the report route reads its file off the loop,
so h2o holds the request (method, path, headers) while more input comes in behind it. Run against the ASan build
too (make test does), where a use-after-free is a report in the log and fails the test; with the release build a
wrong or missing answer fails it. Nothing here asserts a timing."""
import random
import socket
import threading
import time

from test_http_io import read_response

REPORT = "/api/v1/demo/runs/r0123456789a/report"  # no such run: a 404, found off the loop


def request(path, header_bytes=0, method="GET", body=b""):
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
    if header_bytes:
        head += "X-Pad: " + "p" * header_bytes + "\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_all(s, count):
    buf, answers = b"", []
    for _ in range(count):
        status, _, body, buf = read_response(s, buf)
        answers.append((status, body))
    return answers, buf


def test_large_requests_behind_a_deferred_answer_in_one_send(service):
    # the reviewer's probe: a deferred answer with a 10 KB header, then in the same send a 20 KB one
    s = connect(service.port)
    try:
        s.sendall(request(REPORT, 10 * 1024) + request(REPORT, 20 * 1024))
        answers, rest = read_all(s, 2)
        assert [a[0] for a in answers] == [404, 404]
        assert all(b'"detail"' in body for _, body in answers)
        assert rest == b""
    finally:
        s.close()
    assert service.get("/health").status_code == 200


def test_input_grows_while_a_deferred_answer_is_pending(service):
    # the second request arrives in pieces after the first (deferred) one, and grows to 28 KB (the head limit is 32 KiB)
    for _ in range(10):
        s = connect(service.port)
        try:
            s.sendall(request(REPORT, 8 * 1024))
            second = request(REPORT, 28 * 1024) + request("/health")
            for i in range(0, len(second), 4096):
                s.sendall(second[i:i + 4096])
            answers, _ = read_all(s, 3)
            assert [a[0] for a in answers] == [404, 404, 200]
        finally:
            s.close()
    assert service.get("/health").status_code == 200


def test_a_body_behind_a_deferred_answer(service):
    # a POST (refused: batch_count 0) whose body comes while the report ahead of it is still being read off the loop
    body = b'{"batch_count": 0}'
    s = connect(service.port)
    try:
        s.sendall(request(REPORT, 4096))
        s.sendall(request("/api/v1/demo/run", 16 * 1024, method="POST", body=body)[:-5])
        time.sleep(0.02)
        s.sendall(body[-5:])
        answers, _ = read_all(s, 2)
        assert answers[0][0] == 404
        assert answers[1][0] in (400, 422) and b'"detail"' in answers[1][1]
    finally:
        s.close()


def test_the_end_of_input_behind_a_deferred_answer(service):
    # the peer sends its requests and closes its side while the first answer is deferred: every answer comes
    for _ in range(20):
        s = connect(service.port)
        try:
            s.sendall(request(REPORT, 2048))
            s.sendall(request("/health") + request(REPORT))
            s.shutdown(socket.SHUT_WR)
            answers, rest = read_all(s, 3)
            assert [a[0] for a in answers] == [404, 200, 404]
            assert rest == b"" and s.recv(100) == b""
        finally:
            s.close()


def test_pipelined_requests_split_at_every_byte_boundary(service):
    # deferred and immediate answers interleaved; each connection cuts the same bytes at another place, many at once
    seq = [request(REPORT, 300), request("/health"), request(REPORT), request("/api/v1/demo/preview", 100),
           request(REPORT, 1500)]
    data = b"".join(seq)
    expected = [404, 200, 404, 200, 404]
    failures = []

    def one(cut):
        try:
            s = connect(service.port)
            try:
                s.sendall(data[:cut])
                if cut % 3 == 0:
                    time.sleep(0.002)  # let the first part be read (and its answer start) alone
                s.sendall(data[cut:])
                answers, rest = read_all(s, len(seq))
                if [a[0] for a in answers] != expected or rest != b"":
                    failures.append((cut, [a[0] for a in answers], rest[:80]))
            finally:
                s.close()
        except OSError as e:
            failures.append((cut, repr(e)))

    cuts = list(range(1, len(data)))
    for i in range(0, len(cuts), 40):
        threads = [threading.Thread(target=one, args=(c,)) for c in cuts[i:i + 40]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not failures, failures[:5]
    assert service.get("/health").status_code == 200


def test_random_chunking_with_deferred_answers_on_many_connections(service):
    # 30 connections, each sending 12 requests (a third of them deferred, some with large headers) in random
    # pieces with short pauses; every answer comes, in order
    rng = random.Random(1607)
    failures = []

    def one(seed):
        r = random.Random(seed)
        kinds = [r.choice(["report", "report-big", "health", "preview"]) for _ in range(12)]
        reqs = {"report": request(REPORT), "report-big": request(REPORT, r.randrange(4000, 30000)),
                "health": request("/health"), "preview": request("/api/v1/demo/preview")}
        want = {"report": 404, "report-big": 404, "health": 200, "preview": 200}
        data = b"".join(reqs[k] for k in kinds)
        try:
            s = connect(service.port)
            try:
                i = 0
                while i < len(data):
                    n = r.choice([1, 2, 7, 100, 1000, 5000, 70000])
                    s.sendall(data[i:i + n])
                    i += n
                    if r.random() < 0.2:
                        time.sleep(0.001)
                answers, rest = read_all(s, len(kinds))
                if [a[0] for a in answers] != [want[k] for k in kinds] or rest != b"":
                    failures.append((seed, kinds, [a[0] for a in answers]))
            finally:
                s.close()
        except OSError as e:
            failures.append((seed, repr(e)))

    threads = [threading.Thread(target=one, args=(rng.randrange(1 << 30),)) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not failures, failures[:3]
    assert service.get("/health").status_code == 200
