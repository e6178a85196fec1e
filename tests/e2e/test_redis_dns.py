"""The Redis host name is resolved off the loop (libuv's thread pool), never by hiredis's blocking getaddrinfo:
while a DNS server sits on the lookup of a reconnect, the service keeps answering. The service runs in its own
mount namespace whose /etc/resolv.conf names a DNS server of the test's."""
import shutil
import socket
import struct
import threading

import pytest

from conftest import wait_until

DNS_IP = "127.0.0.9"


class HoldingDns:
    """Answers A queries for any name with 127.0.0.1 (AAAA with no address), or holds them while `hold` is set."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((DNS_IP, 53))
        self.sock.settimeout(0.2)
        self.hold = threading.Event()
        self.held = []
        self.queries = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def answer(query):
        qid, _flags, _qd = struct.unpack("!HHH", query[:6])
        end = 12
        while query[end] != 0:
            end += query[end] + 1
        question = query[12:end + 5]
        qtype = struct.unpack("!H", query[end + 1:end + 3])[0]
        records = b""
        if qtype == 1:
            records = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 0, 4) + socket.inet_aton("127.0.0.1")
        return struct.pack("!HHHHHH", qid, 0x8180, 1, 1 if records else 0, 0, 0) + question + records

    def serve(self):
        while not self.stopping:
            if not self.hold.is_set():
                for query, peer in self.held:
                    self.sock.sendto(self.answer(query), peer)
                self.held = []
            try:
                query, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            self.queries += 1
            if self.hold.is_set():
                self.held.append((query, peer))
            else:
                self.sock.sendto(self.answer(query), peer)

    def close(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def dns():
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is needed to give the service its own resolv.conf")
    try:
        server = HoldingDns()
    except OSError as e:
        pytest.skip(f"cannot serve DNS on {DNS_IP}:53: {e}")
    yield server
    server.close()


def test_a_held_dns_lookup_does_not_freeze_the_service(start_service, redis_server, dns, tmp_path):
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(f"nameserver {DNS_IP}\noptions timeout:30 attempts:1\n")
    prefix = ["unshare", "-m", "sh", "-c", f'mount --bind "{resolv}" /etc/resolv.conf && exec "$0"']
    svc = start_service({"REDIS_URL": f"redis://redis.test:{redis_server.port}/0"}, prefix=prefix)
    assert wait_until(lambda: svc.get("/health").json()["store"] == "redis", 10), svc.log()
    assert wait_until(lambda: svc.get("/health").json()["status"] == "ok", 10), svc.log()
    dns.hold.set()
    seen = dns.queries
    redis_server.client().execute_command("CLIENT", "KILL", "TYPE", "normal")
    redis_server.client().execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    assert wait_until(lambda: dns.queries > seen, 10), "the service did not look the name up again"
    # the lookup is held by the DNS server: the service still serves
    for _ in range(3):
        r = svc.get("/health", timeout=5)
        assert r.status_code == 200 and r.json()["status"] == "degraded"
    assert svc.get("/api/v1/demo/preview", timeout=5).status_code == 200
    dns.hold.clear()
    assert wait_until(lambda: svc.get("/health").json()["status"] == "ok", 15), svc.log()
    run = svc.run(batch_count=1)
    assert svc.wait_finished(run["run_id"])["status"] == "succeeded"
