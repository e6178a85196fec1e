"""Black-box harness: starts the real service binary on a free port with its own DATA_DIR and talks to it
over real sockets. Every service a test starts is stopped (TERM, then KILL) and its log is printed when the
test fails; a sanitizer report in the log fails the test."""
import os
import pathlib
import random
import signal
import socket
import subprocess
import time

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / os.environ.get("PIPELINE_BUILD", "build")
SERVICE_BIN = BUILD / "pipeline-orchestrator"
TASK_BIN = BUILD / "pipeline-task"
# a whole life of the service under valgrind: no leak, no error (exit code 99 otherwise)
VALGRIND = ["valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99"]
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


_handed_out = set()


def free_port():
    """A port on 127.0.0.1 that nothing listens on, from this pytest-xdist worker's own share of 20000-31999: below
    the kernel's ephemeral ports (32768-60999), so no outgoing connection takes it, and never the same port in two
    workers (a port picked with bind(0) and closed can go to another worker before its service binds it)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
    count = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    span = 12000 // count
    low = 20000 + (int(worker) if worker.isdigit() else 0) % count * span
    for _ in range(1000):
        port = random.randrange(low, low + span)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        if len(_handed_out) > span // 2:
            _handed_out.clear()  # long ago: those services are gone
        return port
    raise AssertionError(f"no free port in {low}-{low + span - 1}")


class Service:
    """One running pipeline-orchestrator process."""

    def __init__(self, workdir, env=None, start=True, prefix=()):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / "service.log"
        self.log_from = 0  # where the current start's lines begin in the log
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATA_DIR": str(self.data_dir),
            "GENERATE_SECONDS": "0",
            "ANALYZE_SECONDS": "0",
            "RATE_LIMIT_PER_MINUTE": "0",
            "CANCEL_GRACE_SECONDS": "2",
            "ASAN_OPTIONS": "detect_leaks=1:exitcode=23:abort_on_error=0",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
            "LSAN_OPTIONS": "suppressions=" + str(ROOT / "tests" / "lsan.supp"),
        }
        self.env.update({k: str(v) for k, v in (env or {}).items()})
        self.prefix = list(prefix)  # e.g. a valgrind command line
        self.proc = None
        self.session = requests.Session()
        if start:
            self.start()

    def start(self, wait=True):
        self.log_from = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.prefix + [str(SERVICE_BIN)], cwd=self.workdir, env=self.env,
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited with {self.proc.returncode}:\n{self.log()}")
            try:
                # the answer must come from this process: it has said it listens (another one may have the port)
                if requests.get(self.url("/healthz"), timeout=1).status_code == 200 and self.listening():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AssertionError("service did not become ready:\n" + self.log())

    def listening(self):
        if self.env.get("LOG_LEVEL", "info") not in ("debug", "info"):
            return self.proc.poll() is None  # the line below is not logged
        try:
            return b"listening on" in self.log_path.read_bytes()[self.log_from:]
        except FileNotFoundError:
            return False

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path, **kw):
        kw.setdefault("timeout", 15)
        return self.session.get(self.url(path), **kw)

    def post(self, path, **kw):
        kw.setdefault("timeout", 15)
        return self.session.post(self.url(path), **kw)

    def delete(self, path, **kw):
        kw.setdefault("timeout", 15)
        return self.session.delete(self.url(path), **kw)

    def run(self, **body):
        r = self.post("/api/v1/demo/run", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    def wait_finished(self, run_id, timeout=60):
        """Polls the run until it is terminal; returns its detail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.get(f"/api/v1/demo/runs/{run_id}")
            if r.status_code == 200 and r.json()["status"] in ("succeeded", "failed", "cancelled", "unknown"):
                return r.json()
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} did not finish:\n{self.log()}")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signals the service and waits for it; returns its exit code (KILL after the timeout)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"service did not exit within {timeout}s of {sig}:\n{self.log()}")
        finally:
            self.session.close()

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def sanitizer_errors(self):
        text = self.log()
        return [m for m in SANITIZER_MARKERS if m in text]


def processes_mentioning(needle):
    """Pids of live (non-zombie) processes whose command line contains `needle`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmd and state != "Z":
            found.append(int(entry))
    return found


def rss_kib(pid):
    """The resident memory of process `pid`, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_until(predicate, timeout=10, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def start_service(tmp_path, request):
    """start_service(**env) -> Service; each is stopped after the test, its log shown if the test failed."""
    services = []

    def factory(env=None, start=True, name=None, prefix=()):
        svc = Service(tmp_path / (name or f"svc{len(services)}"), env=env, start=start, prefix=prefix)
        services.append(svc)
        return svc

    yield factory
    problems = []
    for svc in services:
        try:
            svc.stop()
        except AssertionError as e:
            problems.append(str(e))
        if svc.sanitizer_errors():
            problems.append(f"sanitizer report in the service log:\n{svc.log()}")
        leftovers = processes_mentioning(str(svc.data_dir))
        if leftovers:
            for pid in leftovers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            problems.append(f"task processes outlived the service: {leftovers}")
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed or problems:
        for svc in services:
            print(f"\n----- service log ({svc.workdir}) -----\n{svc.log()[-20000:]}")
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def service(start_service):
    return start_service()


def average2(total, count):
    """total / count rounded half up to 2 decimals, exactly (as the task program computes it)."""
    return (200 * total + count) // (2 * count) / 100 if count else 0


class RedisServer:
    """A real redis-server on a free port, in the test's folder, without persistence unless asked."""

    def __init__(self, workdir, persist=False, start=True):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.persist = persist
        self.proc = None
        if start:  # else later (a Redis that comes up late: its port is known before)
            self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
                "--save", "", "--appendonly", "yes" if self.persist else "no"]
        self.proc = subprocess.Popen(args, stdout=open(self.workdir / "redis.log", "ab"), stderr=subprocess.STDOUT)
        import redis
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def client(self):
        import redis
        return redis.Redis(port=self.port, socket_timeout=5, decode_responses=True)

    def kill(self):
        """SIGKILL: no persistence, no goodbye (the next start() is an empty Redis)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


NODE_TOOLS = ROOT / "build" / "npm-tests"  # `make node-tools` installs tests/node/package.json here


def run_node(script, *args, timeout=120, env=None):
    """Runs a tests/node script with the pinned Node.js tools (load them with
    createRequire(process.env.NODE_TOOLS + "/package.json")). Returns the CompletedProcess."""
    assert (NODE_TOOLS / "node_modules").is_dir(), "run `make node-tools` first"
    full_env = dict(os.environ, NODE_TOOLS=str(NODE_TOOLS))
    full_env.update(env or {})
    return subprocess.run(["node", str(ROOT / "tests" / "node" / script), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def write_wrapper(path, body):
    """An executable shell script (a TASK_PROGRAM wrapper) with `body` after the #! line."""
    import stat
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path
