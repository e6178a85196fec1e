"""The README's two commands: `make run` installs what building and running need, nothing of the test suite."""
import subprocess

from conftest import ROOT

TEST_ONLY = ("chromium", "prometheus", "valgrind", "redis-server", "python3-pytest", "libcmocka-dev")


def make_dry_run(target):
    p = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_make_run_installs_no_test_tools():
    out = make_dry_run("run")
    installs = [line for line in out.splitlines() if "deps.sh" in line]
    assert installs, out
    assert any("libh2o-dev" in line for line in installs)
    for pkg in TEST_ONLY:
        assert not any(pkg in line.split() for line in installs), f"make run installs {pkg}"
    assert "pipeline-orchestrator" in out


def test_make_test_installs_the_test_tools():
    installs = " ".join(line for line in make_dry_run("test").splitlines() if "deps.sh" in line).split()
    for pkg in TEST_ONLY + ("libh2o-dev",):
        assert pkg in installs, f"make test does not install {pkg}"


def test_readme_points_to_documents_in_the_repository():
    """A user who clones the repository has everything the README links to (no ../shared)."""
    import re
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), f"README links to {target}, which is not in the repository"
    api = (ROOT / "docs" / "API.md").read_text()
    for path in ("/api/v1/demo/run", "/api/v1/demo/preview", "/api/v1/demo/status", "/api/v1/demo/active",
                 "/api/v1/demo/cancel", "/api/v1/demo/history", "/api/v1/demo/runs/{run_id}/report",
                 "/api/v1/demo/metrics", "/api/v1/pipeline/stream", "/healthz", "/openapi.json"):
        assert path in api, f"docs/API.md does not document {path}"


# Each folder of src/ may include only from the folders below it: http → core → exec, store, kube → model → util.
LAYERS = {
    "util": set(),
    "model": {"util"},
    "kube": {"model", "util"},
    "store": {"model", "util"},
    "exec": {"kube", "model", "util"},
    "core": {"exec", "store", "kube", "model", "util"},
    "http": {"core", "exec", "store", "kube", "model", "util"},
}


def test_includes_go_one_way():
    import re
    wrong = []
    for folder, allowed in LAYERS.items():
        for path in sorted((ROOT / "src" / folder).glob("*.[ch]")):
            for used in re.findall(r'^#include "([a-z_]+)/', path.read_text(), re.M):
                if used != folder and used not in allowed:
                    wrong.append(f"src/{folder}/{path.name} includes {used}/")
    assert not wrong, "\n".join(wrong)
    assert {p.name for p in (ROOT / "src").iterdir() if p.is_dir()} - {"task"} == set(LAYERS)


def test_the_harness_does_not_take_another_process_for_the_service(tmp_path):
    """A service that cannot listen (its port taken by something that answers /healthz too) is reported as failed
    to start, not taken for ready: parallel test workers must never talk to each other's services."""
    import http.server
    import threading

    import pytest

    from conftest import Service

    class Healthy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    svc = Service(tmp_path / "svc", start=False)
    svc.port = other.server_address[1]
    svc.env["PORT"] = str(svc.port)
    try:
        with pytest.raises(AssertionError, match="address already in use"):
            svc.start()
    finally:
        other.shutdown()
        if svc.proc and svc.proc.poll() is None:
            svc.proc.kill()
