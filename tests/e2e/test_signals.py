"""What the service inherits from whoever starts it: ignored signals and the signal mask survive exec. Started with
SIGCHLD ignored (the kernel would reap its tasks and their exit status would be lost) and with SIGTERM and SIGINT
blocked, it must still run tasks to the end and stop on SIGTERM. Nothing here asserts a timing."""
import signal
import sys

# execs its arguments with SIGCHLD ignored and SIGTERM, SIGINT blocked, as a careless supervisor might
HOSTILE = [sys.executable if sys.executable.startswith("/usr/bin/") else "/usr/bin/python3", "-c",
           "import os, signal, sys\n"
           "signal.signal(signal.SIGCHLD, signal.SIG_IGN)\n"
           "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})\n"
           "os.execv(sys.argv[1], sys.argv[1:])\n"]


def test_runs_end_when_started_with_sigchld_ignored(start_service):
    svc = start_service(prefix=HOSTILE)
    for batches in (1, 3):
        run = svc.run(batch_count=batches, rows_per_batch=20)
        detail = svc.wait_finished(run["run_id"], timeout=60)
        assert detail["status"] == "succeeded", detail
    assert svc.get("/health").status_code == 200


def test_sigterm_stops_it_when_started_with_sigterm_blocked(start_service):
    svc = start_service(prefix=HOSTILE)
    assert svc.stop(signal.SIGTERM, timeout=20) == 0
    assert "SIGTERM received" in svc.log()
