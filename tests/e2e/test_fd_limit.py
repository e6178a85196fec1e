"""File-descriptor exhaustion: with a low `ulimit -n` and a flood of connections, the clients that cannot be
served get a prompt close (not a hang), the failures are logged and counted in /metrics, and /health answers again
once the flood ends."""
import re
import resource
import socket
import subprocess

from conftest import SERVICE_BIN, wait_until

LIMIT = 96


def low_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def metric(svc, name):
    m = re.search(rf"^{name} (\d+)$", svc.get("/metrics").text, re.M)
    return int(m.group(1)) if m else None


def test_fd_exhaustion_closes_promptly_counts_and_recovers(start_service):
    svc = start_service(start=False)
    svc.log_file = open(svc.log_path, "ab")
    svc.proc = subprocess.Popen([str(SERVICE_BIN)], cwd=svc.workdir, env=svc.env, stdout=svc.log_file, stderr=subprocess.STDOUT,
                                preexec_fn=low_nofile)
    svc.wait_ready()
    assert metric(svc, "process_max_fds") == LIMIT  # the hard limit is the ceiling
    assert metric(svc, "pipeline_http_accept_failures_total") == 0
    svc.session.close()

    flood = []
    try:
        for _ in range(3 * LIMIT):
            s = socket.create_connection(("127.0.0.1", svc.port), timeout=10)
            flood.append(s)
        # the late ones cannot be served: they are closed by the service, they do not hang
        closed = 0
        for s in flood[-LIMIT:]:
            s.settimeout(10)
            try:
                closed += s.recv(1) == b""
            except ConnectionResetError:
                closed += 1
            except socket.timeout:
                pass
        assert closed >= LIMIT // 2, f"only {closed} of the last {LIMIT} flood connections were closed"
    finally:
        for s in flood:
            s.close()

    assert wait_until(lambda: _health_ok(svc), timeout=20), "health did not come back after the flood"
    assert metric(svc, "pipeline_http_accept_failures_total") > 0
    assert "cannot accept connections" in svc.log()
    run = svc.run(batch_count=2)  # and it still does real work (pipes for its tasks)
    assert svc.wait_finished(run["run_id"])["status"] == "succeeded"


def _health_ok(svc):
    try:
        return svc.get("/health", timeout=2).status_code == 200
    except Exception:
        return False
