"""REDIS_URL set, Redis not there yet at start-up (issue 21, point 1): replicas never split.
REDIS_REQUIRED=true: a replica starts unavailable (health 503 with the reason, runs and cancels refused with 503)
and serves as soon as Redis answers, without a restart. REDIS_REQUIRED=false: a private memory store (health
`degraded`, with the reason), left for Redis at the first moment no run is active. Each scenario is repeated with
Redis coming up at different moments."""
import threading
import time

import pytest

from conftest import RedisServer, wait_until


def started(svc):
    """Starts a service whose health is not 200 yet: ready once its log says it listens."""
    svc.start(wait=False)
    assert wait_until(svc.listening, timeout=30), svc.log()
    return svc


def hammer(services, until, answers):
    """POST /run to every service in turn until `until()`; keeps (replica, status, body)."""
    while not until():
        for svc in services:
            try:
                r = svc.session.post(svc.url("/api/v1/demo/run"), json={"batch_count": 1}, timeout=15)
                answers.append((svc.workdir.name, r.status_code, r.json()))
            except Exception as e:  # noqa: BLE001 - a refused connection is an answer too
                answers.append((svc.workdir.name, 0, str(e)))
        time.sleep(0.02)


@pytest.mark.parametrize("up_after", [0.0, 0.4, 1.2, 2.5])
def test_required_replicas_wait_for_redis_and_never_split(start_service, tmp_path, up_after):
    redis = RedisServer(tmp_path / "redis", start=False)
    env = {"REDIS_URL": redis.url, "REDIS_PREFIX": "req:", "REDIS_REQUIRED": "true", "GENERATE_SECONDS": "30",
           "LOCK_LEASE_SECONDS": "3"}
    try:
        a = started(start_service(env, name="a", start=False))
        b = started(start_service(env, name="b", start=False))
        for svc in (a, b):
            h = svc.get("/health")
            assert h.status_code == 503, h.text
            body = h.json()
            assert body["status"] == "degraded" and body["store"] == "redis" and "REDIS_REQUIRED" in body["detail"]
            assert svc.get("/healthz").status_code == 503
            r = svc.post("/api/v1/demo/run", json={"batch_count": 1})
            assert r.status_code == 503 and isinstance(r.json()["detail"], str), r.text
            c = svc.delete("/api/v1/demo/cancel")
            assert c.status_code == 503 and isinstance(c.json()["detail"], str), c.text
        # requests to both replicas all along while Redis comes up
        answers, t0 = [], time.monotonic()
        done = lambda: time.monotonic() - t0 > up_after + 1 and len({x[0] for x in answers if x[1] == 200}) == 2  # noqa
        hammers = [threading.Thread(target=hammer, args=([a, b], done, answers)) for _ in range(2)]
        for t in hammers:
            t.start()
        time.sleep(up_after)
        redis.start()
        for t in hammers:
            t.join(timeout=60)
        ok = [x for x in answers if x[1] == 200]
        assert {x[0] for x in ok} == {"a", "b"}, answers[-10:]
        assert len({x[2]["run_id"] for x in ok}) == 1, ok  # never two active runs
        assert len([x for x in ok if x[2]["attached"] is False]) == 1
        assert all(x[1] in (200, 503) for x in answers), [x for x in answers if x[1] not in (200, 503)]
        for svc in (a, b):  # serving, without a restart
            assert wait_until(lambda: svc.get("/health").status_code == 200, timeout=10)
            assert svc.get("/health").json() == {"status": "ok", "store": "redis", "executor": "local"}
            assert "listening on" in svc.log() and svc.log().count("listening on") == 1
        assert a.delete("/api/v1/demo/cancel", timeout=30).json()["cancelled"] is True
    finally:
        redis.stop()


@pytest.mark.parametrize("moment", ["before_the_run", "during_the_run", "after_the_run"])
def test_fallback_moves_to_redis_when_no_run_is_active(start_service, tmp_path, moment):
    redis = RedisServer(tmp_path / "redis", start=False)
    env = {"REDIS_URL": redis.url, "REDIS_PREFIX": "fb:", "GENERATE_SECONDS": "2", "LOCK_LEASE_SECONDS": "3"}
    try:
        a = start_service(env, name="a")
        h = a.get("/health")
        assert h.status_code == 200, h.text
        assert h.json()["status"] == "degraded" and h.json()["store"] == "memory" and "memory" in h.json()["detail"]
        on_redis = lambda: a.get("/health").json() == {"status": "ok", "store": "redis", "executor": "local"}  # noqa
        if moment == "before_the_run":
            redis.start()
            assert wait_until(on_redis, timeout=15), a.log()
        private = a.run(batch_count=1)
        if moment == "during_the_run":
            time.sleep(0.3)
            redis.start()
            time.sleep(1)  # Redis answers (the fallback retries at most every 3 s): the run keeps the memory store
            assert a.get("/api/v1/demo/status").json()["active"] is True
            assert a.get("/health").json()["store"] == "memory"
        assert a.wait_finished(private["run_id"])["status"] == "succeeded"
        if moment == "after_the_run":
            redis.start()
        assert wait_until(on_redis, timeout=15), a.log()
        # another replica sees the run that ended on the private store, and no two runs are ever active
        b = start_service(env, name="b")
        assert private["run_id"] in [r["run_id"] for r in b.get("/api/v1/demo/history").json()]
        answers = []
        threads = [threading.Thread(target=lambda s=s: answers.append(s.run(batch_count=1))) for s in (a, b, a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len({x["run_id"] for x in answers}) == 1 and private["run_id"] not in {x["run_id"] for x in answers}
        assert [x["attached"] for x in answers].count(False) == 1
        assert b.wait_finished(answers[0]["run_id"])["status"] == "succeeded"
    finally:
        redis.stop()


def test_seq_keeps_rising_when_the_fallback_moves_to_redis(start_service, tmp_path):
    """Events numbered on the private store come before those numbered by Redis: a client sees no seq go back."""
    redis = RedisServer(tmp_path / "redis", start=False)
    env = {"REDIS_URL": redis.url, "REDIS_PREFIX": "sq:"}
    try:
        a = start_service(env, name="a")
        run = a.run(batch_count=3)
        a.wait_finished(run["run_id"])
        import asyncio
        from wsutil import collect
        url = f"ws://127.0.0.1:{a.port}/api/v1/pipeline/stream"
        before = asyncio.run(collect(url, until_type="status", max_messages=1, timeout=10))[0]["seq"]
        assert before > 5
        redis.start()
        assert wait_until(lambda: a.get("/health").json()["store"] == "redis", timeout=15), a.log()
        nxt = a.run(batch_count=1)
        a.wait_finished(nxt["run_id"])
        after = asyncio.run(collect(url, until_type="status", max_messages=1, timeout=10))[0]["seq"]
        assert after > before
    finally:
        redis.stop()
