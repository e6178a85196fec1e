"""A whole life of the service under valgrind: runs, a cancel, bad requests, shutdown. No leak, no error."""
import shutil
import signal

import pytest

from conftest import BUILD, VALGRIND

pytestmark = pytest.mark.skipif(BUILD.name != "build" or shutil.which("valgrind") is None,
                                reason="valgrind runs on the plain build only (ASan replaces it there)")


def test_full_lifecycle_is_clean_under_valgrind(start_service):
    svc = start_service({"GENERATE_SECONDS": "1", "ANALYZE_SECONDS": "0.1"}, prefix=VALGRIND)
    run = svc.run(batch_count=3, rows_per_batch=1000)
    assert svc.wait_finished(run["run_id"], timeout=120)["status"] == "succeeded"
    assert svc.get(f"/api/v1/demo/runs/{run['run_id']}/report").status_code == 200
    assert svc.post("/api/v1/demo/run", data=b"{oops").status_code == 422
    assert svc.get("/api/v1/demo/history?limit=x").status_code == 422
    assert svc.get("/nope").status_code == 404
    second = svc.run(batch_count=2)
    assert svc.delete("/api/v1/demo/cancel").json()["cancelled"] is True
    third = svc.run(batch_count=2)  # still running when the service is told to stop
    assert third["run_id"] != second["run_id"]
    code = svc.stop(signal.SIGTERM, timeout=60)
    assert code == 0, svc.log()[-5000:]


def test_redis_lifecycle_is_clean_under_valgrind(start_service, redis_server):
    env = {"REDIS_URL": redis_server.url, "REDIS_PREFIX": "vg:", "LOCK_LEASE_SECONDS": "2",
           "GENERATE_SECONDS": "1", "ANALYZE_SECONDS": "0.1"}
    svc = start_service(env, prefix=VALGRIND, name="vg")
    peer = start_service(env, name="peer")  # a second replica, outside valgrind
    run = svc.run(batch_count=2)
    assert svc.wait_finished(run["run_id"], timeout=120)["status"] == "succeeded"
    assert peer.get("/api/v1/demo/history").json()[0]["run_id"] == run["run_id"]
    other = peer.run(batch_count=1)  # owned by the peer, read through Redis by the valgrind replica
    assert svc.get(f"/api/v1/demo/runs/{other['run_id']}").status_code == 200
    assert svc.get("/api/v1/demo/status").status_code == 200
    peer.wait_finished(other["run_id"])
    redis_server.stop()  # an outage, then shutdown while Redis is away
    assert svc.stop(signal.SIGTERM, timeout=60) == 0, svc.log()[-5000:]


def test_redis_late_is_clean_under_valgrind(start_service, tmp_path):
    """Issue 21: REDIS_REQUIRED=true waiting for Redis, and the memory fallback moving to Redis, under valgrind."""
    from conftest import RedisServer, wait_until
    redis = RedisServer(tmp_path / "redis", start=False)
    base = {"REDIS_URL": redis.url, "REDIS_PREFIX": "vgl:", "GENERATE_SECONDS": "0.5", "ANALYZE_SECONDS": "0.1"}
    try:
        required = start_service(dict(base, REDIS_REQUIRED="true"), prefix=VALGRIND, name="required", start=False)
        required.start(wait=False)
        fallback = start_service(base, prefix=VALGRIND, name="fallback")
        assert wait_until(required.listening, timeout=60), required.log()
        assert required.get("/health", timeout=30).status_code == 503
        assert required.post("/api/v1/demo/run", json={}, timeout=30).status_code == 503
        private = fallback.run(batch_count=1)
        assert fallback.wait_finished(private["run_id"], timeout=120)["status"] == "succeeded"
        redis.start()
        for svc in (required, fallback):
            assert wait_until(lambda: svc.get("/health", timeout=30).json().get("status") == "ok", 60), svc.log()
        shared = required.run(batch_count=1)
        assert fallback.run(batch_count=1)["run_id"] == shared["run_id"]
        assert fallback.wait_finished(shared["run_id"], timeout=120)["status"] == "succeeded"
        for svc in (required, fallback):
            assert svc.stop(signal.SIGTERM, timeout=60) == 0, svc.log()[-5000:]
    finally:
        redis.stop()


def test_resume_and_retry_lifecycle_is_clean_under_valgrind(start_service, tmp_path):
    """A task SIGKILLed once (retried: attempt 2), REPORT failing once (the run fails), then its resume (only REPORT
    runs, the rest cached), and the refusals of a resume: under valgrind, no leak, no error."""
    from conftest import TASK_BIN, write_wrapper
    killed, failed = tmp_path / "killed", tmp_path / "report-failed"
    wrapper = write_wrapper(tmp_path / "wrap.sh",
                            f'if [ "$1" = analyze ] && [ ! -e "{killed}" ]; then touch "{killed}"; kill -9 $$; fi\n'
                            f'if [ "$1" = report ] && [ ! -e "{failed}" ]; then touch "{failed}"; exit 7; fi\n'
                            f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": wrapper, "GENERATE_SECONDS": "0.2", "ANALYZE_SECONDS": "0.1"},
                        prefix=VALGRIND)
    old = svc.run(batch_count=2, rows_per_batch=50)["run_id"]
    detail = svc.wait_finished(old, timeout=120)
    assert detail["status"] == "failed" and "REPORT" in detail["message"], detail["message"]
    assert sorted(t["attempt"] for t in detail["tasks"]) == [1, 1, 1, 1, 2]
    r = svc.post(f"/api/v1/demo/runs/{old}/resume", timeout=30)
    assert r.status_code == 200, r.text
    new = svc.wait_finished(r.json()["run_id"], timeout=120)
    assert new["status"] == "succeeded", new["message"]
    assert sorted(t["state"] for t in new["tasks"]) == ["cached"] * 4 + ["succeeded"]
    assert svc.post(f"/api/v1/demo/runs/{new['run_id']}/resume", timeout=30).status_code == 409
    assert svc.post("/api/v1/demo/runs/r0123456789a/resume", timeout=30).status_code == 404
    assert svc.stop(signal.SIGTERM, timeout=60) == 0, svc.log()[-5000:]


def test_nextflow_resume_is_clean_under_valgrind(start_service, tmp_path):
    """EXECUTOR=nextflow on the Kubernetes API test server: a run failed at REPORT and its resume with Nextflow's
    cache (the session from the worker pods' label, `Cached process >` lines), under valgrind."""
    import sys
    from conftest import ROOT, TASK_BIN
    from kube_fixtures import Cluster
    sys.path.insert(0, str(ROOT / "tests" / "kube"))
    from nextflow_sim import NextflowSim
    with Cluster(tmp_path, "nextflow") as cluster:
        nf = NextflowSim(cluster.srv.sim, cluster.srv.store, str(cluster.volume), str(TASK_BIN))
        nf.scenario = {"fail": {"task": "REPORT", "exit_code": 3, "stderr": ["report: boom"]}}
        svc = start_service(cluster.env(GENERATE_SECONDS="0.2", ANALYZE_SECONDS="0.1"), prefix=VALGRIND)
        old = svc.run(batch_count=2)["run_id"]
        detail = svc.wait_finished(old, timeout=120)
        assert detail["status"] == "failed" and detail["nf_session"], detail
        nf.scenario = {}
        r = svc.post(f"/api/v1/demo/runs/{old}/resume", timeout=30)
        assert r.status_code == 200, r.text
        new = svc.wait_finished(r.json()["run_id"], timeout=120)
        assert new["status"] == "succeeded", new["message"]
        assert new["nf_session"] == detail["nf_session"]
        assert sorted(t["state"] for t in new["tasks"]) == ["cached"] * 4 + ["succeeded"]
        assert svc.stop(signal.SIGTERM, timeout=60) == 0, svc.log()[-5000:]


def test_stream_is_clean_under_valgrind(start_service):
    """Broadcasts in shared buffers (ws_frame_build_shared) under valgrind: a client reading everything, one that
    reads nothing and is dropped (1008) holding references to older buffers, one replaying with ?since=, then a
    shutdown with frames still queued. No invalid access, no leak."""
    import asyncio
    import json

    import requests
    import websockets

    from wsutil import RawClient

    svc = start_service({"BENCH_EVENTS": "1", "WS_SEND_QUEUE_BYTES": "65536"}, prefix=VALGRIND)
    url = f"ws://127.0.0.1:{svc.port}/api/v1/pipeline/stream"
    slow = RawClient(svc.port, rcvbuf=4096)
    count = 400

    async def scenario():
        async with websockets.connect(url, max_size=None, max_queue=None, ping_interval=None) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 60))["seq"] == 0
            r = requests.post(svc.url("/bench/burst"), json={"count": count, "size": 1000, "per_tick": 16},
                              timeout=30)
            assert r.status_code == 202
            seqs = []
            while len(seqs) < count:
                m = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if m["type"] == "log":
                    seqs.append(m["seq"])
        assert seqs == list(range(seqs[0], seqs[0] + count))
        async with websockets.connect(f"{url}?since={seqs[count // 2]}", max_size=None, max_queue=None,
                                      ping_interval=None) as ws:
            replay = [json.loads(await asyncio.wait_for(ws.recv(), 60))["seq"] for _ in range(count // 2 - 1)]
        assert replay == seqs[count // 2 + 1:]

    asyncio.run(scenario())
    lagging = RawClient(svc.port, rcvbuf=4096)  # reads nothing: still holds frames when the service stops
    requests.post(svc.url("/bench/burst"), json={"count": 100, "size": 1000, "per_tick": 16}, timeout=30)
    texts, code = slow.messages_until_close()
    assert code == 1008
    slow.close()
    code = svc.stop(signal.SIGTERM, timeout=60)
    lagging.close()
    assert code == 0, svc.log()[-5000:]
