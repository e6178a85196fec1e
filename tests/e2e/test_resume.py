"""POST /api/v1/demo/runs/{run_id}/resume, black-box: a new run with the old one's parameters whose verified tasks are
`cached` (hard-linked into its results folder, never started), the rest run as usual; refusals 404, 409 (a run
active, a run that succeeded), 410 (results gone); resumed_from in the run, the history and the stream; two
replicas sharing Redis."""
import asyncio
import re
import shutil

from conftest import TASK_BIN, wait_until, write_wrapper
from test_faults import task_pids
from wsutil import collect

TERMINAL = ("succeeded", "failed", "cancelled", "unknown")


def counting_wrapper(tmp_path, fail_report_once=False):
    """A TASK_PROGRAM that notes every start ("<subcommand> <args>") in calls.txt; with fail_report_once, REPORT
    exits 7 the first time."""
    calls = tmp_path / "calls.txt"
    marker = tmp_path / "report-failed-once"
    body = f'echo "$*" >> "{calls}"\n'
    if fail_report_once:
        body += f'if [ "$1" = report ] && [ ! -e "{marker}" ]; then touch "{marker}"; echo "report: boom" >&2; exit 7; fi\n'
    body += f'exec "{TASK_BIN}" "$@"\n'
    return write_wrapper(tmp_path / "wrap.sh", body), calls


def starts(calls):
    return [line.split()[0] for line in calls.read_text().splitlines()] if calls.exists() else []


def states(detail):
    return {(t["name"], t["batch"]): t["state"] for t in detail["tasks"]}


def resume(svc, run_id, **kw):
    return svc.post(f"/api/v1/demo/runs/{run_id}/resume", **kw)


def without_timestamp(data):
    return re.sub(rb'"timestamp": ?"[^"]*"', b'"timestamp":""', data)


def test_failed_at_report_resumed_runs_only_report(start_service, tmp_path):
    wrapper, calls = counting_wrapper(tmp_path, fail_report_once=True)
    svc = start_service({"TASK_PROGRAM": wrapper})
    old = svc.run(batch_count=3, rows_per_batch=40, seed=11)["run_id"]
    detail = svc.wait_finished(old)
    assert detail["status"] == "failed" and "REPORT" in detail["message"]
    assert detail["resumed_from"] is None
    calls.unlink()

    r = resume(svc, old)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert set(answer) == {"run_id", "status", "attached", "job_name", "websocket_url", "resumed_from"}
    assert answer["resumed_from"] == old and answer["run_id"] != old and answer["attached"] is False
    new = svc.wait_finished(answer["run_id"])
    assert new["status"] == "succeeded", new["message"]
    assert new["resumed_from"] == old
    assert starts(calls) == ["report"]  # only REPORT ran
    st = states(new)
    assert st.pop(("REPORT", 0)) == "succeeded"
    assert set(st.values()) == {"cached"}
    assert new["progress_percent"] == 100
    assert new["demo_metrics"]["worker_pods_spawned"] == 1 and new["demo_metrics"]["total_records"] == 120
    # the old run stays readable: its files were linked, never moved
    results = svc.data_dir / "results"
    for name in ("batch_1.csv", "stats_batch_3.json"):
        assert (results / old / name).read_bytes() == (results / answer["run_id"] / name).read_bytes()
    # the report equals a clean run's with the same seed (but for its time)
    svc2 = start_service(name="clean")
    clean = svc2.run(batch_count=3, rows_per_batch=40, seed=11)["run_id"]
    assert svc2.wait_finished(clean)["status"] == "succeeded"
    mine = (results / answer["run_id"] / "report.json").read_bytes()
    theirs = (svc2.data_dir / "results" / clean / "report.json").read_bytes()
    assert without_timestamp(mine) == without_timestamp(theirs)
    # history and /runs carry resumed_from
    hist = {h["run_id"]: h for h in svc.get("/api/v1/demo/history").json()}
    assert hist[answer["run_id"]]["resumed_from"] == old and hist[old]["resumed_from"] is None
    # a resume of the resumed run: it succeeded
    r = resume(svc, answer["run_id"])
    assert r.status_code == 409 and "succeeded" in r.json()["detail"]


def test_cancelled_after_generate_resumed_runs_no_generate(start_service, tmp_path):
    marker = tmp_path / "hold-analyze"
    marker.touch()
    calls = tmp_path / "calls.txt"
    wrapper = write_wrapper(tmp_path / "wrap.sh", f'echo "$*" >> "{calls}"\n'
                                                  f'if [ "$1" = analyze ] && [ -e "{marker}" ]; then sleep 30; fi\n'
                                                  f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": wrapper, "CANCEL_GRACE_SECONDS": "1"})
    old = svc.run(batch_count=2, seed=3)["run_id"]
    assert wait_until(lambda: len(task_pids(svc, "analyze")) == 2, timeout=20)
    assert svc.delete("/api/v1/demo/cancel", timeout=30).json()["status"] == "cancelled"
    marker.unlink()
    calls.unlink()
    answer = resume(svc, old).json()
    new = svc.wait_finished(answer["run_id"])
    assert new["status"] == "succeeded", new["message"]
    assert "generate" not in starts(calls)
    assert sorted(starts(calls)) == ["analyze", "analyze", "report"]
    st = states(new)
    assert st[("GENERATE", 1)] == st[("GENERATE", 2)] == "cached"
    assert st[("ANALYZE", 1)] == "succeeded" and st[("REPORT", 0)] == "succeeded"


def test_corrupted_batch_reruns_its_generate_and_analyze(start_service, tmp_path):
    wrapper, calls = counting_wrapper(tmp_path, fail_report_once=True)
    svc = start_service({"TASK_PROGRAM": wrapper})
    old = svc.run(batch_count=3, seed=9)["run_id"]
    assert svc.wait_finished(old)["status"] == "failed"
    batch2 = svc.data_dir / "results" / old / "batch_2.csv"
    data = batch2.read_bytes()
    batch2.write_bytes(data[:-2] + (b"9\n" if data[-2:-1] != b"9" else b"8\n"))  # same size, other content
    calls.unlink()
    answer = resume(svc, old).json()
    new = svc.wait_finished(answer["run_id"])
    assert new["status"] == "succeeded", new["message"]
    ran = calls.read_text().splitlines()
    assert sorted(line.split()[0] for line in ran) == ["analyze", "generate", "report"]
    assert any(line.startswith("generate --batch=2 ") for line in ran)
    st = states(new)
    assert st[("GENERATE", 2)] == st[("ANALYZE", 2)] == "succeeded"
    assert st[("GENERATE", 1)] == st[("ANALYZE", 3)] == "cached"
    # the rerun wrote the batch again as the seed makes it; the corrupted file of the old run is untouched
    assert (svc.data_dir / "results" / answer["run_id"] / "batch_2.csv").read_bytes() == data
    assert batch2.read_bytes() != data
    assert "GENERATE (2) runs again: batch_2.csv changed" in svc.log()


def test_batch_changed_during_the_run_is_not_reused(start_service, tmp_path):
    """An output rewritten after its task ended but before the run failed (here by the failing REPORT itself, same
    size, other bytes): what was recorded is the file as its task left it, so the resume runs that task again, and
    what read it."""
    calls = tmp_path / "calls.txt"
    marker = tmp_path / "report-failed-once"
    body = (f'echo "$*" >> "{calls}"\n'
            f'if [ "$1" = report ] && [ ! -e "{marker}" ]; then touch "{marker}"\n'
            '  for a in "$@"; do case "$a" in --out=*) dir=$(dirname "${a#--out=}");; esac; done\n'
            '  printf 9 | dd of="$dir/batch_1.csv" bs=1 seek=0 conv=notrunc status=none\n'
            '  echo "report: boom" >&2; exit 7\n'
            'fi\n'
            f'exec "{TASK_BIN}" "$@"\n')
    wrapper = write_wrapper(tmp_path / "wrap.sh", body)
    svc = start_service({"TASK_PROGRAM": wrapper})
    old = svc.run(batch_count=3, seed=9)["run_id"]
    assert svc.wait_finished(old)["status"] == "failed"
    assert (svc.data_dir / "results" / old / "batch_1.csv").read_bytes().startswith(b"9")
    calls.unlink()
    answer = resume(svc, old).json()
    new = svc.wait_finished(answer["run_id"])
    assert new["status"] == "succeeded", new["message"]
    ran = sorted(line.split()[0] for line in calls.read_text().splitlines())
    assert ran == ["analyze", "generate", "report"]
    st = states(new)
    assert st[("GENERATE", 1)] == st[("ANALYZE", 1)] == "succeeded"
    assert st[("GENERATE", 2)] == st[("ANALYZE", 3)] == "cached"
    assert "the output of task 0 is not recorded (changed since the task ended)" in svc.log()


def test_refusals(start_service, tmp_path):
    wrapper, _ = counting_wrapper(tmp_path, fail_report_once=True)
    svc = start_service({"TASK_PROGRAM": wrapper, "GENERATE_SECONDS": "0"})
    r = resume(svc, "r0123456789a")
    assert r.status_code == 404 and r.json()["detail"]
    assert resume(svc, "nonsense").status_code == 404
    failed = svc.run(batch_count=1)["run_id"]
    assert svc.wait_finished(failed)["status"] == "failed"
    ok = svc.run(batch_count=1)["run_id"]
    assert svc.wait_finished(ok)["status"] == "succeeded"
    r = resume(svc, ok)
    assert r.status_code == 409 and "succeeded" in r.json()["detail"]
    # a run active: 409 naming it
    svc.env["GENERATE_SECONDS"] = "30"
    svc.stop()
    svc.start()
    r = resume(svc, failed)
    assert r.status_code == 404  # the memory store's history is gone with the process


def test_refusal_while_active_and_when_results_gone(start_service, tmp_path):
    wrapper, _ = counting_wrapper(tmp_path, fail_report_once=True)
    marker = tmp_path / "hold"
    hold = write_wrapper(tmp_path / "hold.sh", f'if [ -e "{marker}" ]; then sleep 30; fi\nexec "{wrapper}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": hold, "CANCEL_GRACE_SECONDS": "0"})
    failed = svc.run(batch_count=1)["run_id"]
    assert svc.wait_finished(failed)["status"] == "failed"
    marker.touch()
    active = svc.run(batch_count=1)["run_id"]
    r = resume(svc, failed)
    assert r.status_code == 409 and active in r.json()["detail"], r.text
    assert r.json()["active_run_id"] == active
    svc.delete("/api/v1/demo/cancel", timeout=30)
    marker.unlink()
    assert svc.wait_finished(active)["status"] == "cancelled"
    shutil.rmtree(svc.data_dir / "results" / failed)
    r = resume(svc, failed)
    assert r.status_code == 410 and "gone" in r.json()["detail"], r.text
    # the cancelled one, which ended before any task did (its empty folder went at once), runs everything again
    assert not (svc.data_dir / "results" / active).exists()
    r = resume(svc, active)
    assert r.status_code == 200, r.text
    assert svc.wait_finished(r.json()["run_id"])["status"] == "succeeded"


def test_resume_needs_the_token(start_service, tmp_path):
    svc = start_service({"API_TOKEN": "s3cret"})
    r = resume(svc, "r0123456789a")
    assert r.status_code == 401
    r = resume(svc, "r0123456789a", headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 404


def test_stream_carries_resumed_from_and_cached(start_service, tmp_path):
    wrapper, _ = counting_wrapper(tmp_path, fail_report_once=True)
    svc = start_service({"TASK_PROGRAM": wrapper})
    old = svc.run(batch_count=2)["run_id"]
    assert svc.wait_finished(old)["status"] == "failed"

    async def go():
        task = asyncio.ensure_future(collect(f"ws://127.0.0.1:{svc.port}/api/v1/pipeline/stream",
                                             until_type="complete", timeout=30))
        await asyncio.sleep(0.3)
        answer = await asyncio.get_running_loop().run_in_executor(None, lambda: resume(svc, old).json())
        return answer, await task
    answer, messages = asyncio.run(go())
    complete = [m for m in messages if m["type"] == "complete"][0]
    assert complete["data"]["run"]["resumed_from"] == old
    assert complete["data"]["status"] == "succeeded"
    statuses = [m for m in messages if m["type"] == "status" and m["run_id"] == answer["run_id"]]
    assert statuses and all(m["data"]["run"]["resumed_from"] == old for m in statuses)
    cached = [m["data"]["task"] for m in messages if m["type"] == "progress" and m["data"].get("task", {}).get("state")
              == "cached"]
    assert len(cached) == 4
    first = [m for m in messages if m["type"] == "progress"][-1]["data"]
    assert first["completed"] == 5 and first["total"] == 5


def test_two_replicas_resume_on_one_cancel_from_the_other(start_service, redis_server, tmp_path):
    """Both replicas share one DATA_DIR (as pods share a volume) and one Redis: a run resumed on A is seen on B,
    with resumed_from, and B cancels it; while it runs, B refuses another resume with 409 naming it."""
    from test_redis import replica_env
    wrapper, _ = counting_wrapper(tmp_path, fail_report_once=True)
    marker = tmp_path / "hold"
    hold = write_wrapper(tmp_path / "hold.sh", f'if [ "$1" = report ] && [ -e "{marker}" ]; then sleep 30; fi\n'
                                               f'exec "{wrapper}" "$@"\n')
    data = tmp_path / "shared-data"
    env = replica_env(redis_server, "resume:", TASK_PROGRAM=hold, DATA_DIR=data, CANCEL_GRACE_SECONDS="1")
    a = start_service(env, name="a")
    b = start_service(env, name="b")
    old = a.run(batch_count=2, seed=4)["run_id"]
    assert a.wait_finished(old)["status"] == "failed"
    marker.touch()
    r = resume(a, old)
    assert r.status_code == 200, r.text
    new = r.json()["run_id"]
    seen = wait_until(lambda: b.get(f"/api/v1/demo/runs/{new}").json(), timeout=10)
    assert seen["resumed_from"] == old
    assert wait_until(lambda: b.get("/api/v1/demo/status").json()["run"]["run_id"] == new, timeout=10)
    r = resume(b, old)
    assert r.status_code == 409 and new in r.json()["detail"], r.text
    answer = b.delete("/api/v1/demo/cancel", timeout=30).json()
    assert answer["run_id"] == new and answer["status"] == "cancelled", answer
    detail = a.wait_finished(new)
    assert detail["status"] == "cancelled" and detail["resumed_from"] == old
    hist = {h["run_id"]: h for h in b.get("/api/v1/demo/history").json()}
    assert hist[new]["resumed_from"] == old
    marker.unlink()


def test_kubernetes_failed_at_report_resumed_creates_only_the_report_pod(start_service, tmp_path):
    """EXECUTOR=kubernetes on the Kubernetes API test server: the outputs are on the work volume the service mounts
    (WORK_MOUNT), recorded and checked as the local executor's; the resume creates one pod, REPORT's."""
    import sys
    from kube_fixtures import Cluster
    from conftest import ROOT
    sys.path.insert(0, str(ROOT / "tests" / "kube"))
    from pod_runner_sim import PodRunnerSim
    with Cluster(tmp_path, "kubernetes", GENERATE_SECONDS="0.2", ANALYZE_SECONDS="0.2") as cluster:
        sim = PodRunnerSim(cluster.srv.sim, cluster.srv.store, str(cluster.volume), str(TASK_BIN))
        sim.scenario = {"fail": {"REPORT": {"exit_code": 3, "logs": ["report: boom"]}}}
        svc = start_service(cluster.env())
        old = svc.run(batch_count=2, rows_per_batch=25, seed=8)["run_id"]
        detail = svc.wait_finished(old, timeout=60)
        assert detail["status"] == "failed" and "REPORT" in detail["message"], detail["message"]
        assert sorted(sim.created) == sorted([f"{old}-generate-1", f"{old}-generate-2", f"{old}-analyze-1",
                                              f"{old}-analyze-2", f"{old}-report"])
        sim.scenario = {}
        sim.created.clear()
        r = resume(svc, old)
        assert r.status_code == 200, r.text
        new = r.json()["run_id"]
        detail = svc.wait_finished(new, timeout=60)
        assert detail["status"] == "succeeded", detail["message"]
        assert sim.created == [f"{new}-report"]
        st = states(detail)
        assert st.pop(("REPORT", 0)) == "succeeded" and set(st.values()) == {"cached"}
        assert detail["resumed_from"] == old and detail["nf_session"] is None
        assert detail["demo_metrics"]["worker_pods_spawned"] == 1 and detail["demo_metrics"]["total_records"] == 50
        results = cluster.volume / "results"
        assert (results / old / "batch_2.csv").read_bytes() == (results / new / "batch_2.csv").read_bytes()
        assert svc.get(f"/api/v1/demo/runs/{new}/report").json()["total_records"] == 50
