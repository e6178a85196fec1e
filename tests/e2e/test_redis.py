"""Replicas sharing one real redis-server behave as one service: one lock, one history, one event stream,
recovery from a dead replica, and Redis trouble survived."""
import asyncio
import concurrent.futures
import json
import signal
import time

import requests

from conftest import processes_mentioning, wait_until
from wsutil import collect

TERMINAL = ("succeeded", "failed", "cancelled", "unknown")


def replica_env(redis_server, prefix, **extra):
    env = {"REDIS_URL": redis_server.url, "REDIS_PREFIX": prefix, "LOCK_LEASE_SECONDS": "2"}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def test_unreachable_redis_at_startup_falls_back_to_memory(start_service):
    from conftest import free_port
    svc = start_service({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    health = svc.get("/health").json()  # the private store is not what was configured: degraded, and why
    assert {k: health[k] for k in ("status", "store", "executor")} == {"status": "degraded", "store": "memory",
                                                                        "executor": "local"}
    assert "memory store" in health["detail"]
    assert "unreachable" in svc.log() and "memory store" in svc.log()
    run = svc.run(batch_count=1)
    assert svc.wait_finished(run["run_id"])["status"] == "succeeded"


def test_twenty_concurrent_posts_on_two_replicas_start_one_run(start_service, redis_server):
    env = replica_env(redis_server, "t1:", GENERATE_SECONDS=1)
    a, b = start_service(env, name="a"), start_service(env, name="b")
    assert a.get("/health").json()["store"] == "redis"

    def post(i):
        svc = a if i % 2 == 0 else b
        return requests.post(svc.url("/api/v1/demo/run"), json={"batch_count": 2}, timeout=20).json()

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, range(20)))
    assert len({x["run_id"] for x in answers}) == 1, answers
    assert sum(1 for x in answers if not x["attached"]) == 1
    run_id = answers[0]["run_id"]
    # exactly one replica runs it
    owners = [s for s in (a, b) if f"run {run_id}: queued -> starting" in s.log()]
    assert len(owners) == 1
    detail = b.wait_finished(run_id)
    assert detail["status"] == "succeeded"
    for svc in (a, b):
        history = svc.get("/api/v1/demo/history").json()
        assert [h["run_id"] for h in history] == [run_id]
        assert svc.get(f"/api/v1/demo/runs/{run_id}").json()["demo_metrics"]["total_batches"] == 2
        report = svc.get(f"/api/v1/demo/runs/{run_id}/report")
        assert report.status_code == 200 and json.loads(report.content)["total_batches"] == 2


def test_non_owner_answers_like_the_owner_and_cancels_on_it(start_service, redis_server):
    env = replica_env(redis_server, "t2:", GENERATE_SECONDS=60)
    a, b = start_service(env, name="a"), start_service(env, name="b")
    run = a.run(batch_count=3)
    assert wait_until(lambda: len(processes_mentioning(str(a.data_dir))) == 3)
    for path in ("/api/v1/demo/status", "/api/v1/demo/active"):
        sa, sb = a.get(path).json(), b.get(path).json()
        assert sb["active"] is True and sb["run"]["run_id"] == run["run_id"]
        assert sa["run"] == sb["run"]
        assert sb["parallel_workers_active"] == 3
    assert b.get(f"/api/v1/demo/runs/{run['run_id']}").json()["status"] == "running"
    attached = b.run(batch_count=1)
    assert attached["run_id"] == run["run_id"] and attached["attached"] is True
    # cancel on the replica that does not run it
    answer = b.delete("/api/v1/demo/cancel", timeout=30).json()
    assert answer["run_id"] == run["run_id"] and answer["status"] == "cancelled" and answer["cancelled"] is True
    assert wait_until(lambda: processes_mentioning(str(a.data_dir)) == [])
    assert a.get(f"/api/v1/demo/runs/{run['run_id']}").json()["status"] == "cancelled"
    assert b.delete("/api/v1/demo/cancel").json()["cancelled"] is False


def test_history_and_status_survive_a_restart(start_service, redis_server):
    env = replica_env(redis_server, "t3:")
    a = start_service(env, name="a")
    ids = []
    for _ in range(2):
        run = a.run(batch_count=1, triggered_by="before restart")
        a.wait_finished(run["run_id"])
        ids.append(run["run_id"])
    assert a.stop() == 0
    a.start()
    history = a.get("/api/v1/demo/history").json()
    assert [h["run_id"] for h in history] == ids[::-1]
    assert history[0]["triggered_by"] == "before restart" and history[0]["demo_metrics"]["total_batches"] == 1
    status = a.get("/api/v1/demo/status").json()
    assert status["active"] is False and status["run"]["run_id"] == ids[-1]


def test_stream_on_b_shows_the_whole_run_owned_by_a(start_service, redis_server):
    env = replica_env(redis_server, "t4:", GENERATE_SECONDS=0.3, ANALYZE_SECONDS=0.2)
    a, b = start_service(env, name="a"), start_service(env, name="b")

    async def watch():
        on_a = asyncio.ensure_future(collect(f"ws://127.0.0.1:{a.port}/api/v1/pipeline/stream"))
        on_b = asyncio.ensure_future(collect(f"ws://127.0.0.1:{b.port}/api/v1/pipeline/stream"))
        await asyncio.sleep(0.5)
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: requests.post(a.url("/api/v1/demo/run"), json={"batch_count": 3}, timeout=10))
        return await on_a, await on_b

    seen_a, seen_b = asyncio.run(watch())
    body = lambda ms: [(m["seq"], m["type"], json.dumps(m["data"], sort_keys=True)) for m in ms[1:]]
    assert body(seen_b) == body(seen_a)  # the same messages, the same seq, the same order
    seqs = [m["seq"] for m in seen_b[1:]]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert seen_b[0]["seq"] == seqs[0] - 1  # the snapshot's seq leads into the first broadcast
    assert seen_b[-1]["type"] == "complete" and seen_b[-1]["data"]["status"] == "succeeded"
    assert [m["type"] for m in seen_b].count("complete") == 1


def test_owner_killed_mid_run_then_run_fails_and_a_new_one_starts(start_service, redis_server):
    env = replica_env(redis_server, "t5:", GENERATE_SECONDS=60)
    a, b = start_service(env, name="a"), start_service(env, name="b")
    run = a.run(batch_count=2)
    assert wait_until(lambda: len(processes_mentioning(str(a.data_dir))) == 2)
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    assert wait_until(lambda: processes_mentioning(str(a.data_dir)) == [])  # its tasks died with it
    # within one lease (2 s) a new run may start on b; the orphan ends failed
    deadline = time.monotonic() + 15
    started = None
    while time.monotonic() < deadline:
        answer = b.post("/api/v1/demo/run", json={"batch_count": 1}).json()
        if answer["run_id"] != run["run_id"]:
            started = answer
            break
        time.sleep(0.2)
    assert started is not None and started["attached"] is False
    old = b.get(f"/api/v1/demo/runs/{run['run_id']}").json()
    assert old["status"] == "failed" and "orchestrator lost" in old["message"]
    assert old["finished_at"] is not None
    b.delete("/api/v1/demo/cancel")


def test_orphan_is_ended_without_a_new_request(start_service, redis_server):
    env = replica_env(redis_server, "t6:", GENERATE_SECONDS=60)
    a, b = start_service(env, name="a"), start_service(env, name="b")
    run = a.run(batch_count=1)
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    # b finds the run without a lease on its own, twice a check apart, and ends it
    status = wait_until(lambda: b.get(f"/api/v1/demo/runs/{run['run_id']}").json()["status"] in TERMINAL,
                        timeout=20)
    assert status
    detail = b.get(f"/api/v1/demo/runs/{run['run_id']}").json()
    assert detail["status"] == "failed"
    assert b.get("/api/v1/demo/status").json()["active"] is False
    assert b.get("/api/v1/demo/history").json()[0]["run_id"] == run["run_id"]


def test_orphan_whose_record_cannot_be_read_is_ended_and_frees_the_lock(start_service, redis_server):
    """The dead owner's record in Redis is garbage (a newer version's, a corrupted write): the replica that claims the
    orphan cannot adopt it, and must not sit on its lock either: it ends the run as failed and a new run starts."""
    env = replica_env(redis_server, "t6b:", GENERATE_SECONDS=60)
    a, b = start_service(env, name="a"), start_service(env, name="b")
    run = a.run(batch_count=1)
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    client = redis_server.client()
    key = f"{{t6b:}}run:{run['run_id']}"  # the prefix is a hash tag (one slot in a cluster)
    assert client.get(key) is not None
    client.set(key, '{"run_id": 42, "status": ')
    assert wait_until(lambda: b.get(f"/api/v1/demo/runs/{run['run_id']}").status_code == 200 and
                      b.get(f"/api/v1/demo/runs/{run['run_id']}").json()["status"] == "failed", timeout=20)
    detail = b.get(f"/api/v1/demo/runs/{run['run_id']}").json()
    assert "could not be read" in detail["message"]
    assert b.get("/api/v1/demo/status").json()["active"] is False
    new = b.run(batch_count=1)
    assert new["run_id"] != run["run_id"] and new["attached"] is False
    b.delete("/api/v1/demo/cancel")
    assert "its record cannot be read" in b.log()


def test_redis_restart_mid_run(start_service, redis_server):
    env = replica_env(redis_server, "t7:", GENERATE_SECONDS=2, ANALYZE_SECONDS=1)
    a, b = start_service(env, name="a"), start_service(env, name="b")
    run = a.run(batch_count=2)
    redis_server.stop()
    assert wait_until(lambda: a.get("/health").json()["status"] == "degraded", timeout=10)
    # the owner still answers about its run, nothing crashes
    assert a.get("/api/v1/demo/status").json()["run"]["run_id"] == run["run_id"]
    time.sleep(1)
    redis_server.start()  # empty: Redis lost everything
    assert wait_until(lambda: a.get("/health").json()["status"] == "ok", timeout=15)
    assert wait_until(lambda: b.get("/health").json()["status"] == "ok", timeout=15)
    detail = a.wait_finished(run["run_id"], timeout=30)
    assert detail["status"] == "succeeded"
    # the final state reached Redis: the other replica sees it
    assert wait_until(lambda: b.get(f"/api/v1/demo/runs/{run['run_id']}").status_code == 200, timeout=10)
    assert b.get(f"/api/v1/demo/runs/{run['run_id']}").json()["status"] == "succeeded"
    assert b.get("/api/v1/demo/history").json()[0]["run_id"] == run["run_id"]
    # and the lock is free again
    assert b.run(batch_count=1)["attached"] is False


def test_redis_down_when_idle_gives_503_then_recovers(start_service, redis_server):
    env = replica_env(redis_server, "t8:")
    a = start_service(env, name="a")
    redis_server.stop()
    assert wait_until(lambda: a.get("/health").json()["status"] == "degraded", timeout=10)
    r = a.post("/api/v1/demo/run", json={"batch_count": 1})
    assert r.status_code == 503 and r.headers.get("retry-after")
    assert a.get("/api/v1/demo/history").status_code == 503
    redis_server.start()
    assert wait_until(lambda: a.get("/health").json()["status"] == "ok", timeout=15)
    run = a.run(batch_count=1)
    assert a.wait_finished(run["run_id"])["status"] == "succeeded"


def test_redis_password_and_db_from_the_url(start_service, redis_server):
    client = redis_server.client()
    client.config_set("requirepass", "s3cr3t")
    env = {"REDIS_URL": f"redis://:s3cr3t@127.0.0.1:{redis_server.port}/3", "REDIS_PREFIX": "t9:"}
    a = start_service(env, name="a")
    assert a.get("/health").json()["store"] == "redis"
    run = a.run(batch_count=1)
    a.wait_finished(run["run_id"])
    import redis
    authed = redis.Redis(port=redis_server.port, password="s3cr3t", db=3, decode_responses=True)
    assert authed.zrange("{t9:}finished", 0, -1) == [run["run_id"]]  # keys carry the prefix as a hash tag
    assert redis.Redis(port=redis_server.port, password="s3cr3t", db=0).keys("*t9:*") == []


def test_sigterm_of_the_owner_records_the_cancelled_run(start_service, redis_server):
    env = replica_env(redis_server, "t10:", GENERATE_SECONDS=60)
    a, b = start_service(env, name="a"), start_service(env, name="b")
    run = a.run(batch_count=2)
    assert wait_until(lambda: len(processes_mentioning(str(a.data_dir))) == 2)
    assert a.stop() == 0
    detail = b.get(f"/api/v1/demo/runs/{run['run_id']}").json()
    assert detail["status"] == "cancelled" and "shutting down" in detail["message"]
    assert b.get("/api/v1/demo/status").json()["active"] is False
    assert b.run(batch_count=1)["attached"] is False  # the lock was released, not left to expire
