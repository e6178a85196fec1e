"""Faults kept as tests, each bounded and stopping what it started: SIGKILL of a task, of the service and of
Redis mid-run (each at several moments), the disk filling up mid-run, and 1,000 start/cancel cycles watched for
leaks of descriptors, processes, memory and disk."""
import os
import signal
import subprocess
import time

import pytest

from conftest import TASK_BIN, processes_mentioning, rss_kib, wait_until, write_wrapper
from test_redis import replica_env

TERMINAL = ("succeeded", "failed", "cancelled", "unknown")


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def task_pids(svc, word):
    """Task processes of this service whose command line has `word` as an argument."""
    return [p for p in processes_mentioning(str(svc.data_dir)) if f" {word} " in cmdline(p) + " "]


def assert_serving_and_clean(svc):
    assert svc.proc.poll() is None, "the service died"
    assert svc.get("/health").json()["status"] == "ok"
    assert wait_until(lambda: processes_mentioning(str(svc.data_dir)) == [], timeout=10)
    run = svc.run(batch_count=1)
    assert svc.wait_finished(run["run_id"])["status"] == "succeeded"


# ---- SIGKILL of a task ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", ["generate", "analyze", "report"])
def test_sigkill_of_a_task(start_service, tmp_path, stage):
    # the report has no demo pause of its own: the wrapper gives it one, before exec, while the marker exists
    marker = tmp_path / "pause-report"
    marker.touch()
    wrapper = write_wrapper(tmp_path / "wrap.sh", f'if [ "$1" = report ] && [ -e "{marker}" ]; then sleep 30; fi\n'
                                                  f'exec "{TASK_BIN}" "$@"\n')
    # TASK_RETRIES=0: a task killed from outside fails the run at once (test_retry.py: with retries it runs again)
    svc = start_service({"TASK_PROGRAM": wrapper, "GENERATE_SECONDS": "1", "ANALYZE_SECONDS": "3"
                         if stage == "analyze" else "0", "TASK_RETRIES": "0"})
    run = svc.run(batch_count=2)
    pids = wait_until(lambda: task_pids(svc, stage), timeout=20)
    assert pids, f"no {stage} task seen"
    os.kill(pids[0], signal.SIGKILL)
    marker.unlink()
    detail = svc.wait_finished(run["run_id"])
    assert detail["status"] == "failed"
    assert stage.upper() in detail["message"] and "signal 9" in detail["message"], detail["message"]
    assert_serving_and_clean(svc)


# ---- SIGKILL of the service ----------------------------------------------------------------------------------

@pytest.mark.parametrize("moment", ["at_start", "generate", "analyze"])
def test_sigkill_of_the_service(start_service, moment):
    svc = start_service({"GENERATE_SECONDS": "1", "ANALYZE_SECONDS": "30", "ROWS_PER_BATCH": "1000"})
    run = svc.run(batch_count=3)
    if moment != "at_start":
        assert wait_until(lambda: task_pids(svc, moment), timeout=20)
    svc.proc.send_signal(signal.SIGKILL)
    svc.proc.wait()
    assert wait_until(lambda: processes_mentioning(str(svc.data_dir)) == [], timeout=10), "tasks outlived it"
    svc.env.update({"GENERATE_SECONDS": "0", "ANALYZE_SECONDS": "0"})
    svc.start()
    status = svc.get("/api/v1/demo/status").json()
    assert status["active"] is False
    results = svc.data_dir / "results"
    assert wait_until(lambda: not any(".tmp." in f for _, _, fs in os.walk(results) for f in fs), timeout=10)
    assert os.listdir(svc.data_dir / "work") == []
    assert svc.get(f"/api/v1/demo/runs/{run['run_id']}").status_code in (200, 404)
    assert_serving_and_clean(svc)


# ---- SIGKILL of Redis ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("moment", ["generate", "analyze", "between_runs"])
def test_sigkill_of_redis(start_service, redis_server, moment):
    # the run outlasts the outage (a reply overdue by 3 s is how a dead Redis is noticed): a run that ends while
    # Redis is away is the subject of the store's own outage tests
    env = replica_env(redis_server, f"k{moment}:", GENERATE_SECONDS="1", ANALYZE_SECONDS="6")
    a = start_service(env, name="a")
    if moment == "between_runs":
        first = a.run(batch_count=1)
        a.wait_finished(first["run_id"])
    run = a.run(batch_count=2)
    if moment != "between_runs":
        assert wait_until(lambda: task_pids(a, moment), timeout=20)
    redis_server.proc.kill()
    redis_server.proc.wait()
    assert wait_until(lambda: a.get("/health").json()["status"] == "degraded", timeout=10)
    assert a.get("/api/v1/demo/status").status_code == 200  # still answers
    redis_server.start()  # empty: SIGKILL lost everything
    assert wait_until(lambda: a.get("/health").json()["status"] == "ok", timeout=15)
    assert a.wait_finished(run["run_id"], timeout=60)["status"] == "succeeded"
    assert wait_until(lambda: a.get("/api/v1/demo/history").json()[:1] and
                      a.get("/api/v1/demo/history").json()[0]["run_id"] == run["run_id"], timeout=15)
    assert_serving_and_clean(a)


# ---- disk full -----------------------------------------------------------------------------------------------

def test_disk_full_mid_run(start_service, tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)], capture_output=True,
                       text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({p.stderr.strip() or p.returncode}): needs root and "
                    "CAP_SYS_ADMIN")
    try:
        svc = start_service({"DATA_DIR": str(mnt / "data"), "ROWS_PER_BATCH": "200000", "GENERATE_SECONDS": "0"})
        run = svc.run(batch_count=4)
        detail = svc.wait_finished(run["run_id"], timeout=60)
        assert detail["status"] == "failed"
        assert "GENERATE" in detail["message"] or "ANALYZE" in detail["message"], detail["message"]
        assert svc.proc.poll() is None and svc.get("/health").status_code == 200
        assert wait_until(lambda: processes_mentioning(str(svc.data_dir)) == [], timeout=10)
        # a task that met ENOSPC removed its temporary file
        assert not any(".tmp." in f for _, _, fs in os.walk(mnt) for f in fs)
        # the service keeps answering, and a run that fits still runs once space is back
        for d in (mnt / "data" / "results").iterdir():
            subprocess.run(["rm", "-rf", str(d)], check=True)
        small = svc.run(batch_count=1, rows_per_batch=10)
        assert svc.wait_finished(small["run_id"])["status"] == "succeeded"
        svc.stop()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


# ---- 1,000 start/cancel cycles -------------------------------------------------------------------------------

def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def disk_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def metric(svc, name):
    for line in svc.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def test_thousand_start_cancel_cycles(start_service):
    """1,000 cycles, then on until the stream's replay ring is full (it holds 16,384 broadcasts, so memory grows
    until then by design), then 300 more: memory must not grow in those. Bounded at 60 s (fewer cycles under
    sanitizers, where memory is not judged: ASan's quarantine grows on its own). Descriptors and task processes
    come back to where they were, the disk holds nothing new."""
    svc = start_service({"GENERATE_SECONDS": "30", "CANCEL_GRACE_SECONDS": "1"})
    pid = svc.proc.pid
    sanitized = "asan" in os.environ.get("PIPELINE_BUILD", "")
    fds0, disk0 = open_fds(pid), disk_bytes(svc.data_dir)
    cycles, full_at, rss = 0, None, {}
    deadline = time.monotonic() + 60

    def cycle():
        run = svc.run(batch_count=1)
        answer = svc.delete("/api/v1/demo/cancel").json()
        assert answer["status"] == "cancelled" and answer["run_id"] == run["run_id"], answer

    while time.monotonic() < deadline:
        cycle()
        cycles += 1
        if cycles % 100 == 0:
            rss[cycles] = rss_kib(pid)
            if full_at is None and cycles >= 1000 and metric(svc, "pipeline_websocket_broadcasts_total") > 16384:
                full_at = cycles
        if full_at is not None and cycles >= full_at + 300:
            break
    rss[cycles] = rss_kib(pid)
    fds1 = open_fds(pid)
    assert wait_until(lambda: processes_mentioning(str(svc.data_dir)) == [], timeout=10)
    assert wait_until(lambda: list((svc.data_dir / "results").iterdir()) == [], timeout=20)
    disk1 = disk_bytes(svc.data_dir)
    print(f"\n{cycles} start/cancel cycles (replay ring full at {full_at}): fds {fds0} -> {fds1}, "
          f"RSS KiB {rss}, disk bytes {disk0} -> {disk1}")
    assert cycles >= (200 if sanitized else 1000), f"only {cycles} cycles in 60 s"
    assert fds1 <= fds0 + 4, (fds0, fds1)  # keep-alive connections of the test client may come and go
    if not sanitized:
        assert full_at is not None, f"the replay ring did not fill in 60 s ({cycles} cycles)"
        assert rss[cycles] - rss[full_at] < 1024, f"memory still grows after the ring is full: {rss}"
    assert disk1 <= disk0 + 4096
    assert os.listdir(svc.data_dir / "work") == []
    assert len(svc.get("/api/v1/demo/history").json()) == 5
