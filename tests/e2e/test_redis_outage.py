"""A run that ends while Redis is away is recorded once Redis is back, whatever Redis then holds (here: nothing,
it was killed without persistence). Repeated with the outage landing before, during and after the run's end, so
that the write in flight when Redis dies is covered too (a run once vanished in 2 of 4 tries)."""
import time

import pytest

from conftest import wait_until

TERMINAL = ("succeeded", "failed", "cancelled", "unknown")

# (GENERATE_SECONDS, seconds after the POST at which redis-server is killed): the run takes about GENERATE_SECONDS
CASES = [(2, 0.2), (2, 0.8), (2, 1.4), (2, 1.8), (2, 1.95), (2, 2.05), (2, 2.2), (2, 2.6), (2, 3.2),
         (4, 0.3), (4, 0.6)]


@pytest.mark.parametrize("generate,kill_after", CASES)
def test_run_ending_around_a_redis_outage_is_recorded(start_service, redis_server, generate, kill_after):
    svc = start_service({"REDIS_URL": redis_server.url, "REDIS_PREFIX": "out:", "LOCK_LEASE_SECONDS": "2",
                         "GENERATE_SECONDS": generate})
    posted = time.monotonic()
    run = svc.run(batch_count=2)
    time.sleep(max(0.0, posted + kill_after - time.monotonic()))
    redis_server.kill()
    time.sleep(3)
    redis_server.start()  # empty
    assert wait_until(lambda: svc.get("/health").json()["status"] == "ok", timeout=20), svc.log()

    def recorded():
        r = svc.get(f"/api/v1/demo/runs/{run['run_id']}")
        return r.status_code == 200 and r.json()["status"] in TERMINAL and r
    detail = wait_until(recorded, timeout=30)
    assert detail, f"run {run['run_id']} was lost:\n{svc.log()}"
    assert detail.json()["status"] == "succeeded"
    history = wait_until(lambda: svc.get("/api/v1/demo/history").json(), timeout=10)
    assert [h["run_id"] for h in history] == [run["run_id"]]
    assert list(redis_server.client().scan_iter(match=f"*out:*run:{run['run_id']}")), "no record in Redis"
    # nothing is stuck: the lock is free for the next run
    nxt = svc.run(batch_count=1)
    assert nxt["attached"] is False and nxt["run_id"] != run["run_id"]
    assert svc.wait_finished(nxt["run_id"])["status"] == "succeeded"


@pytest.mark.parametrize("answer", ["error", "held"])
def test_shutdown_while_a_queued_run_waits_for_the_lock(start_service, redis_server, answer):
    """SIGTERM while a POST waits for the lock: when the lock answers (held by another replica, or an error because
    Redis stopped answering), the shutdown goes on at once instead of waiting out its deadline."""
    import signal
    import threading
    env = {"REDIS_URL": redis_server.url, "REDIS_PREFIX": "sd:", "LOCK_LEASE_SECONDS": "5", "GENERATE_SECONDS": "20"}
    if answer == "held":
        owner = start_service(env, name="owner")
        held = owner.run(batch_count=1)
    svc = start_service(env, name="b")
    redis_server.proc.send_signal(signal.SIGSTOP)  # the lock attempt waits for an answer
    try:
        replies = []
        poster = threading.Thread(target=lambda: replies.append(
            svc.session.post(svc.url("/api/v1/demo/run"), json={"batch_count": 1}, timeout=30)))
        poster.start()
        time.sleep(0.5)
        svc.proc.send_signal(signal.SIGTERM)
        if answer == "held":
            time.sleep(0.5)
            redis_server.proc.send_signal(signal.SIGCONT)  # the answer: another run holds the lock
        code = svc.proc.wait(timeout=30)
        poster.join(timeout=30)
    finally:
        redis_server.proc.send_signal(signal.SIGCONT)
    assert code == 0, svc.log()
    assert "shutdown deadline reached" not in svc.log(), svc.log()
    assert replies and replies[0].status_code == 503  # told at once that the service is going away
    if answer == "held":
        assert owner.get("/api/v1/demo/status").json()["run"]["run_id"] == held["run_id"]
        owner.delete("/api/v1/demo/cancel")


def test_subscription_stays_up_after_a_redis_restart(start_service, redis_server):
    """A PING on the subscribed connection is answered in pub/sub form: the connection was once dropped as
    'overdue' every 4 s forever after a Redis restart. Now nothing is waited for there."""
    svc = start_service({"REDIS_URL": redis_server.url, "REDIS_PREFIX": "sub:"})
    redis_server.kill()
    time.sleep(1)
    redis_server.start()
    assert wait_until(lambda: svc.get("/health").json()["status"] == "ok", 20), svc.log()
    time.sleep(10)  # two and a half watchdog periods of the old failure
    assert "a reply is overdue" not in svc.log(), svc.log()
    assert svc.get("/health").json()["status"] == "ok"
