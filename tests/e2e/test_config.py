"""Start-up configuration: a bad value stops the service with exit code 2 and names the variable."""
import subprocess

import pytest

from conftest import SERVICE_BIN, Service


@pytest.mark.parametrize("name,value", [
    ("PORT", "0"), ("PORT", "http"), ("MAX_BATCH_COUNT", "13"), ("DEFAULT_BATCH_COUNT", "0"),
    ("GENERATE_SECONDS", "-1"), ("ANALYZE_SECONDS", "soon"), ("ROWS_PER_BATCH", "0"), ("LOCAL_PARALLELISM", "0"),
    ("RUN_HISTORY_LIMIT", "0"), ("RUN_TTL_MINUTES", "-5"), ("RATE_LIMIT_PER_MINUTE", "-1"), ("LOG_FORMAT", "xml"),
    ("EXECUTOR", "docker"), ("REDIS_URL", "http://localhost"), ("WORKER_MEMORY", "lots"),
    ("TRUSTED_PROXIES", "10.0.0.0/8,not-an-address"), ("RESULTS_KEEP", "many"),
])
def test_bad_value_exits_2_naming_the_variable(tmp_path, name, value):
    svc = Service(tmp_path, env={name: value}, start=False)
    p = subprocess.run([str(SERVICE_BIN)], cwd=tmp_path, env=svc.env, capture_output=True, text=True, timeout=10)
    assert p.returncode == 2
    assert name in p.stderr
    assert "expected" in p.stderr or "must" in p.stderr


def test_default_beyond_max_exits_2(tmp_path):
    svc = Service(tmp_path, env={"MAX_BATCH_COUNT": "3", "DEFAULT_BATCH_COUNT": "5"}, start=False)
    p = subprocess.run([str(SERVICE_BIN)], cwd=tmp_path, env=svc.env, capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "DEFAULT_BATCH_COUNT" in p.stderr


def test_dotenv_is_read_and_environment_wins(start_service):
    svc = start_service(start=False)
    (svc.workdir / ".env").write_text("# settings\nexport DEFAULT_BATCH_COUNT=3\nRUN_HISTORY_LIMIT='2'\n"
                                      "MAX_BATCH_COUNT=9 # a comment\n")
    svc.env["MAX_BATCH_COUNT"] = "8"  # the real environment wins over .env
    svc.start()
    assert svc.get("/api/v1/demo/preview").json()["batch_count"] == 3
    assert svc.get("/api/v1/demo/preview?batch_count=8").status_code == 200
    assert svc.get("/api/v1/demo/preview?batch_count=9").status_code == 422


def test_bad_dotenv_line_exits_2(tmp_path):
    svc = Service(tmp_path, start=False)
    (tmp_path / ".env").write_text("PORT=8000\nthis line is wrong\n")
    p = subprocess.run([str(SERVICE_BIN)], cwd=tmp_path, env=svc.env, capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and ".env line 2" in p.stderr


def test_port_in_use_exits_non_zero_with_message(start_service, tmp_path):
    first = start_service()
    other = Service(tmp_path / "other", env={"PORT": first.port}, start=False)
    p = subprocess.run([str(SERVICE_BIN)], cwd=other.workdir, env=other.env, capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 1
    assert "cannot listen" in p.stderr


def test_json_logs(start_service):
    import json
    svc = start_service({"LOG_FORMAT": "json"})
    run = svc.run(batch_count=1)
    svc.wait_finished(run["run_id"])
    svc.stop()
    lines = [l for l in svc.log().splitlines() if l.strip()]
    records = [json.loads(l) for l in lines]
    assert all({"ts", "level", "area", "msg"} <= set(r) for r in records)
    assert any(run["run_id"] in r["msg"] for r in records)


def test_help_lists_every_variable_and_docs_agree():
    """--help prints the variables the service reads; .env.example and the README's table have each of them."""
    import re
    from conftest import ROOT
    p = subprocess.run([str(SERVICE_BIN), "--help"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0
    names = re.findall(r"^  ([A-Z][A-Z0-9_]+) +default", p.stdout, re.M)
    assert len(names) > 20 and "REDIS_URL" in names
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in names:
        assert re.search(rf"^{name}=", example, re.M), f"{name} is missing from .env.example"
        assert f"`{name}`" in readme, f"{name} is missing from the README's configuration table"
    # and the other way round: nothing documented that the service does not read
    for name in re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.M):
        assert name in names, f".env.example sets {name}, which the service does not read"
    table_rows = [l for l in readme.splitlines() if l.startswith("| `") and "|" in l[3:]]
    for row in table_rows:
        for name in re.findall(r"`([A-Z][A-Z0-9_]{2,})`", row.split("|")[1]):
            assert name in names, f"the README's configuration table has {name}, which the service does not read"


def test_version_and_unknown_arguments():
    """--version prints the VERSION file's number; any other argument is refused (exit 2), never ignored."""
    from conftest import ROOT
    version = (ROOT / "VERSION").read_text().strip()
    for flag in ("--version", "-V"):
        p = subprocess.run([str(SERVICE_BIN), flag], capture_output=True, text=True, timeout=10)
        assert p.returncode == 0 and p.stdout.strip() == f"pipeline-orchestrator {version}"
    for args in (["--port", "8000"], ["serve"], ["--help", "extra"], ["--version", "-V"]):
        p = subprocess.run([str(SERVICE_BIN)] + args, capture_output=True, text=True, timeout=10)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "unknown argument" in p.stderr and args[-1 if args[0] in ("--help", "--version") else 0] in p.stderr


@pytest.mark.parametrize("name,value", [
    ("HOST", "not-an-ip"), ("HOST", "localhost"), ("HOST", ""), ("ALLOWED_ORIGINS", "example.org"),
    ("ALLOWED_ORIGINS", "https://a.example/path"), ("ALLOWED_ORIGINS", ""), ("GENERATE_SECONDS", "1e-5"),
    ("ANALYZE_SECONDS", "0x10"),
])
def test_bad_host_origins_and_seconds_exit_2(tmp_path, name, value):
    """Checked with the rest of the configuration: exit 2 and a message, never an abort (HOST once gave 134)."""
    svc = Service(tmp_path, env={name: value}, start=False)
    p = subprocess.run([str(SERVICE_BIN)], cwd=tmp_path, env=svc.env, capture_output=True, text=True, timeout=10)
    assert p.returncode == 2, p.stderr
    assert name in p.stderr and "expected" in p.stderr


def test_ipv6_host_and_origin_list_start(start_service):
    svc = start_service({"HOST": "::", "ALLOWED_ORIGINS": "https://a.example, http://localhost:8000"})
    r = svc.get("/health", headers={"Origin": "http://localhost:8000"})
    assert r.status_code == 200 and r.headers.get("access-control-allow-origin") == "http://localhost:8000"


@pytest.mark.parametrize("generate,analyze", [("0.00001", "0"), ("0.000000001", "0.5"), ("0", "0.000001")])
def test_tiny_pauses_reach_the_task_and_the_run_succeeds(start_service, generate, analyze):
    """GENERATE_SECONDS=0.00001 used to reach pipeline-task as 1e-05, which it refuses: every run failed."""
    svc = start_service({"GENERATE_SECONDS": generate, "ANALYZE_SECONDS": analyze})
    run = svc.run(batch_count=2)
    assert svc.wait_finished(run["run_id"])["status"] == "succeeded"


@pytest.mark.parametrize("value,expected", [("3600", "3600"), ("0.00001", "0.00001"), ("2.50", "2.5"), ("0", "0")])
def test_seconds_at_the_edges_reach_the_task_as_plain_decimals(start_service, tmp_path, value, expected):
    """What the task gets for the largest, smallest and odd values: a form pipeline-task takes."""
    from conftest import TASK_BIN, write_wrapper
    args_file = tmp_path / "args.txt"
    wrapper = write_wrapper(tmp_path / "wrap.sh", f'echo "$@" >> "{args_file}"\nexit 1\n')
    svc = start_service({"GENERATE_SECONDS": value, "TASK_PROGRAM": wrapper})
    run = svc.run(batch_count=1)
    svc.wait_finished(run["run_id"])
    sleeps = [a for a in args_file.read_text().split() if a.startswith("--sleep=")]
    assert sleeps == [f"--sleep={expected}"]
    # and the real task program takes it (--rows=1 keeps it small; the pause itself is not waited for here)
    if float(expected) < 1:
        p = subprocess.run([str(TASK_BIN), "generate", "--batch=1", "--rows=1", f"--sleep={expected}",
                            f"--out={tmp_path / 'b.csv'}"], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("name,value", [("QUOTA_CPU", "1K"), ("WORKER_CPU", "0x10"), ("QUOTA_MEMORY", "0x1p4"),
                                        ("CONTROLLER_MEMORY", "8Ei")])
def test_a_quantity_outside_the_kubernetes_grammar_exits_2(tmp_path, name, value):
    """The API server would refuse these (1K: no such suffix; hexadecimal; past 2^63-1): so does start-up."""
    svc = Service(tmp_path, env={name: value}, start=False)
    p = subprocess.run([str(SERVICE_BIN)], cwd=tmp_path, env=svc.env, capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and name in p.stderr, p.stderr


def test_every_quantity_of_the_kubernetes_grammar_is_accepted(start_service):
    svc = start_service({"WORKER_CPU": "100u", "WORKER_MEMORY": "128974848000m", "CONTROLLER_CPU": "1Ki",
                         "CONTROLLER_MEMORY": "1E", "QUOTA_CPU": "1k", "QUOTA_MEMORY": "1Pi"})
    p = svc.get("/api/v1/demo/preview?batch_count=2").json()
    assert p["resource_usage"]["worker_cpu_per_pod"] == "100u"
    assert p["resource_usage"]["worker_memory_per_pod"] == "128974848000m"
    assert p["homelab_quota"]["available_cpu"] == "1k" and p["homelab_quota"]["available_memory"] == "1Pi"
    assert p["resource_usage"]["peak_cpu"] == pytest.approx(1024 + 2 * 0.001)
