"""Failures, cancel, shutdown and the service's own death: runs always end, processes never outlive them."""
import os
import signal
import time

from conftest import write_wrapper, TASK_BIN, processes_mentioning, wait_until




def test_cancel_stops_every_task_process(start_service):
    svc = start_service({"GENERATE_SECONDS": "60"})
    run = svc.run(batch_count=6)
    assert wait_until(lambda: len(processes_mentioning(str(svc.data_dir))) == 6, timeout=10)
    r = svc.delete("/api/v1/demo/cancel")
    assert r.status_code == 200
    body = r.json()
    assert body["run_id"] == run["run_id"] and body["status"] == "cancelled" and body["cancelled"] is True
    assert processes_mentioning(str(svc.data_dir)) == []
    detail = svc.get(f"/api/v1/demo/runs/{run['run_id']}").json()
    assert detail["status"] == "cancelled" and detail["finished_at"] is not None
    assert detail["demo_metrics"] is None
    assert svc.get("/api/v1/demo/history").json()[0]["status"] == "cancelled"


def test_cancel_kills_a_task_that_ignores_sigterm(start_service, tmp_path):
    wrapper = write_wrapper(tmp_path / "stubborn.sh",
                            f'trap "" TERM\n"{TASK_BIN}" "$@" &\nwait $!\nwait $!\nexit $?\n')
    svc = start_service({"GENERATE_SECONDS": "60", "TASK_PROGRAM": wrapper, "CANCEL_GRACE_SECONDS": "1"})
    svc.run(batch_count=2)
    assert wait_until(lambda: len(processes_mentioning(str(svc.data_dir))) >= 4, timeout=10)
    body = svc.delete("/api/v1/demo/cancel").json()
    assert body["status"] == "cancelled"
    assert wait_until(lambda: processes_mentioning(str(svc.data_dir)) == [], timeout=5)


def test_failing_task_fails_the_run(start_service, tmp_path):
    wrapper = write_wrapper(tmp_path / "fail_analyze_2.sh",
                            'case "$1 $2" in\n'
                            '  "analyze --batch=2") echo "boom: disk on fire" >&2; exit 3;;\n'
                            'esac\n'
                            f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": wrapper, "GENERATE_SECONDS": "0", "ANALYZE_SECONDS": "1"})
    run = svc.run(batch_count=3)
    detail = svc.wait_finished(run["run_id"])
    assert detail["status"] == "failed"
    assert "ANALYZE (2)" in detail["message"]
    assert "exit code 3" in detail["message"] and "boom: disk on fire" in detail["message"]
    assert detail["demo_metrics"] is None
    assert processes_mentioning(str(svc.data_dir)) == []
    assert not (svc.data_dir / "results" / run["run_id"] / "report.json").exists()
    # the failure frees the lock: a new run starts
    again = svc.run(batch_count=1)
    assert again["attached"] is False


def test_task_killed_by_signal_fails_the_run(start_service, tmp_path):
    wrapper = write_wrapper(tmp_path / "selfkill.sh",
                            'if [ "$1 $2" = "generate --batch=1" ]; then kill -9 $$; fi\n'
                            f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": wrapper})
    run = svc.run(batch_count=2)
    detail = svc.wait_finished(run["run_id"])
    assert detail["status"] == "failed"
    assert "GENERATE (1)" in detail["message"] and "signal 9" in detail["message"]


def test_missing_task_program_fails_cleanly(start_service, tmp_path):
    svc = start_service({"TASK_PROGRAM": str(tmp_path / "does-not-exist")})
    run = svc.run(batch_count=1)
    detail = svc.wait_finished(run["run_id"])
    assert detail["status"] == "failed" and detail["message"]
    assert svc.get("/healthz").status_code == 200


def test_sigterm_during_run_cancels_and_exits_zero(start_service):
    svc = start_service({"GENERATE_SECONDS": "60"})
    run = svc.run(batch_count=4)
    assert wait_until(lambda: len(processes_mentioning(str(svc.data_dir))) == 4, timeout=10)
    started = time.monotonic()
    assert svc.stop(signal.SIGTERM, timeout=10) == 0
    assert time.monotonic() - started < 10
    assert processes_mentioning(str(svc.data_dir)) == []
    log = svc.log()
    assert f"run {run['run_id']}: running -> cancelled" in log


def test_sigint_when_idle_exits_zero(service):
    assert service.stop(signal.SIGINT) == 0


def test_sigkill_of_the_service_takes_its_tasks_along(start_service, tmp_path):
    # a wrapper that does not exec: the shell is the service's child, pipeline-task its grandchild
    wrapper = write_wrapper(tmp_path / "wrap.sh", f'"{TASK_BIN}" "$@"\nexit $?\n')
    svc = start_service({"GENERATE_SECONDS": "60", "TASK_PROGRAM": wrapper})
    svc.run(batch_count=3)
    assert wait_until(lambda: len(processes_mentioning(str(svc.data_dir))) >= 6, timeout=10)
    svc.proc.send_signal(signal.SIGKILL)
    svc.proc.wait()
    assert wait_until(lambda: processes_mentioning(str(svc.data_dir)) == [], timeout=10)


def test_restart_after_sigkill_serves_again(start_service):
    svc = start_service({"GENERATE_SECONDS": "60"})
    svc.run(batch_count=2)
    svc.proc.send_signal(signal.SIGKILL)
    svc.proc.wait()
    svc.start()
    status = svc.get("/api/v1/demo/status").json()
    assert status["active"] is False
    run = svc.run(batch_count=1)
    assert run["attached"] is False


def test_task_output_lines_are_sanitised(start_service, tmp_path):
    wrapper = write_wrapper(tmp_path / "noisy.sh",
                            'printf "2026-11-29T10:00:00.5Z  stamped line\\n"\n'
                            'printf "bad utf8 \\377\\376 here\\r\\n"\n'
                            'head -c 10000 /dev/zero | tr "\\0" x; echo\n'
                            f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": wrapper})
    run = svc.run(batch_count=1)
    detail = svc.wait_finished(run["run_id"])
    assert detail["status"] == "succeeded"
    preview = svc.get("/api/v1/demo/status").json()["log_preview"]
    assert preview  # the status stays valid JSON whatever the tasks print
    assert os.path.exists(svc.data_dir / "results" / run["run_id"] / "report.json")
