"""The rate limiter from outside: X-Forwarded-For counts only from TRUSTED_PROXIES (the right-most untrusted
address), and a flood of distinct client addresses does not turn limiting off for a client that keeps trying."""
import requests

PATH = "/api/v1/demo/preview"


def codes(svc, n, xff=None):
    headers = {"X-Forwarded-For": xff} if xff else {}
    return [svc.get(PATH, headers=headers).status_code for _ in range(n)]


def test_forwarded_for_ignored_without_trusted_proxies(start_service):
    svc = start_service({"RATE_LIMIT_PER_MINUTE": "3"})
    got = [svc.get(PATH, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(5)]
    assert got == [200, 200, 200, 429, 429]  # one budget: the peer's


def test_trusted_proxy_gives_each_client_its_budget(start_service):
    svc = start_service({"RATE_LIMIT_PER_MINUTE": "3", "TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1, ::1"})
    assert codes(svc, 4, "198.51.100.1") == [200, 200, 200, 429]
    assert codes(svc, 4, "198.51.100.2") == [200, 200, 200, 429]
    # a forged left part does not help: the proxy's own hop (the right-most untrusted) counts
    assert codes(svc, 1, "203.0.113.9, 198.51.100.1") == [429]
    # behind two trusted proxies, IPv6 client
    assert codes(svc, 4, "2001:db8::5, 10.1.2.3") == [200, 200, 200, 429]
    # no header: the proxy itself is the client
    assert codes(svc, 4) == [200, 200, 200, 429]
    r = svc.get(PATH, headers={"X-Forwarded-For": "198.51.100.2"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_full_table_still_limits_a_returning_client(start_service):
    """9,000 client addresses (more than the table holds) through a trusted proxy; the offender, trying again
    now and then, stays limited (the table forgets the least recently seen, it does not fail open)."""
    svc = start_service({"RATE_LIMIT_PER_MINUTE": "2", "TRUSTED_PROXIES": "127.0.0.1"})
    offender = "203.0.113.66"
    assert codes(svc, 3, offender) == [200, 200, 429]
    s = requests.Session()
    url = svc.url(PATH)
    for i in range(9000):
        xff = f"2001:db8:{i >> 8:x}:{i & 0xff:x}::1"  # distinct /64 networks
        assert s.get(url, headers={"X-Forwarded-For": xff}, timeout=10).status_code == 200
        if i % 500 == 0:
            assert s.get(url, headers={"X-Forwarded-For": offender}, timeout=10).status_code == 429, i
    s.close()
    assert codes(svc, 1, offender) == [429]
