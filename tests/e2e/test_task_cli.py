"""Black-box tests of pipeline-task, the program each workflow task runs.

The binary is $PIPELINE_BUILD/pipeline-task (default build/) relative to the repository root.
Every test works in its own tmp_path; nothing here asserts on how long anything takes.
"""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys

import pytest

from conftest import average2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TASK = os.path.join(ROOT, os.environ.get("PIPELINE_BUILD", "build"), "pipeline-task")

LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z \S")
RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ROW = re.compile(r"^(\d+),(\d+),(\d+)$")


def run(*args, cwd=None, env=None, timeout=120):
    return subprocess.run([TASK, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def ok(*args, **kw):
    p = run(*args, **kw)
    assert p.returncode == 0, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def rows_of(path):
    with open(path) as f:
        return [tuple(map(int, ROW.match(line.rstrip("\n")).groups())) for line in f]


def stats_of(path):
    """What analyze must find in a CSV, computed here independently."""
    rows = rows_of(path)
    total = sum(r[1] for r in rows)
    return {"file": os.path.basename(path), "lines": len(rows), "sum": total,
            "average": average2(total, len(rows))}


def no_temporaries(directory):
    return [n for n in os.listdir(directory) if ".tmp." in n] == []


@pytest.fixture(scope="session", autouse=True)
def binary_exists():
    assert os.access(TASK, os.X_OK), f"{TASK} is not built (make {os.path.relpath(TASK, ROOT)})"


# ---- help and usage --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["--help"], ["-h"], ["help"], ["generate", "--help"], ["analyze", "-h"],
                                  ["report", "--help"], ["exec", "--help"]])
def test_help_exits_0_and_names_every_subcommand(args):
    p = ok(*args)
    for word in ("generate", "analyze", "report", "exec", "--batch", "--rows", "--seed", "--sleep", "--out", "--in",
                 "PIPELINE_PARENT_PID", "70", "127"):
        assert word in p.stdout
    assert p.stderr == ""


def test_no_subcommand_prints_usage_and_exits_2():
    p = run()
    assert p.returncode == 2
    assert "Usage" in p.stderr and "--help" in p.stderr
    assert p.stdout == ""


@pytest.mark.parametrize("args", [
    ["frobnicate"],
    ["generate"],
    ["generate", "--batch", "13"],
    ["generate", "--batch", "0"],
    ["generate", "--batch", "1", "--rows", "0"],
    ["generate", "--batch", "1", "--rows", "1000001"],
    ["generate", "--batch", "1", "--rows", "abc"],
    ["generate", "--batch", "1", "--rows", "10x"],
    ["generate", "--batch", "1", "--seed", "-1"],
    ["generate", "--batch", "1", "--seed", "4294967296"],
    ["generate", "--batch", "1", "--sleep", "-1"],
    ["generate", "--batch", "1", "--sleep", "3601"],
    ["generate", "--batch", "1", "--sleep", "nan"],
    ["generate", "--batch", "1", "--bogus", "1"],
    ["generate", "--batch"],
    ["generate", "--batch", "1", "stray"],
    ["analyze"],
    ["analyze", "--in", "x.csv", "--batch", "99"],
    ["report"],
    ["report", "--sleep", "soon", "s.json"],
    ["exec"],
])
def test_bad_arguments_exit_2_with_a_hint(tmp_path, args):
    p = run(*args, cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("pipeline-task: ")
    assert "--help" in p.stderr
    assert os.listdir(tmp_path) == []


# ---- generate --------------------------------------------------------------------------------------------------

def test_generate_default_file_rows_and_ranges(tmp_path):
    p = ok("generate", "--batch", "3", cwd=tmp_path)
    lines = p.stdout.splitlines()
    assert all(LOG_LINE.match(line) for line in lines), lines
    assert lines[0].endswith(" Generating batch 3...")
    assert "100 rows written to batch_3.csv" in lines[-1]
    assert os.listdir(tmp_path) == ["batch_3.csv"]
    data = (tmp_path / "batch_3.csv").read_bytes()
    assert data.endswith(b"\n")
    rows = rows_of(tmp_path / "batch_3.csv")
    assert len(rows) == 100
    for b, v, w in rows:
        assert b == 3 and 0 <= v <= 999 and 0 <= w <= 99


def test_generate_spreads_over_the_whole_range(tmp_path):
    out = tmp_path / "b.csv"
    ok("generate", "--batch", "1", "--rows", "20000", "--seed", "7", "--out", out)
    rows = rows_of(out)
    v = [r[1] for r in rows]
    w = [r[2] for r in rows]
    assert (min(v), max(v), min(w), max(w)) == (0, 999, 0, 99)
    assert len(set(v)) == 1000 and len(set(w)) == 100
    assert 480 < sum(v) / len(v) < 520


def test_generate_same_seed_same_bytes_other_seed_or_batch_differs(tmp_path):
    def gen(name, batch, seed):
        ok("generate", "--batch", batch, "--seed", seed, "--rows", "500", "--out", tmp_path / name)
        return (tmp_path / name).read_bytes()

    a = gen("a.csv", 2, 1234)
    assert gen("b.csv", 2, 1234) == a
    assert gen("c.csv", 2, 1235) != a
    other_batch = gen("d.csv", 3, 1234)
    assert [r[1:] for r in rows_of(tmp_path / "d.csv")] != [r[1:] for r in rows_of(tmp_path / "a.csv")]
    assert other_batch != a


# The exact bytes of known seeds, pinned: a faster writer must not change a single one (the 1,000,000-row case
# also covers the generator's rare rejection draws and every number width).
@pytest.mark.parametrize("batch,rows,seed,sha256", [
    (1, 100, 42, "374257204f0f549aba6e25c03919e275f4f4016c59e9dd3b58930a65951c341e"),
    (12, 12345, 0, "b21284d74717296ff9e3e3eb99e9cae3a61c75c2a1efa861ee6a5a6252e9fe12"),
    (7, 1000000, 4294967295, "fe4799d52d0d4857c9f6f9fc310ffe89c36b352dd939e7ef53a416e7f6c22707"),
])
def test_generate_output_is_pinned_by_checksum(tmp_path, batch, rows, seed, sha256):
    out = tmp_path / "b.csv"
    ok("generate", "--batch", batch, "--rows", rows, "--seed", seed, "--out", out)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == sha256


def test_options_in_any_order_and_equals_form(tmp_path):
    ok("generate", "--out=x.csv", "--rows", "5", "--seed=9", "--batch", "4", cwd=tmp_path)
    ok("generate", "--batch=4", "--seed", "9", "--out", "y.csv", "--rows=5", cwd=tmp_path)
    assert (tmp_path / "x.csv").read_bytes() == (tmp_path / "y.csv").read_bytes()
    assert len(rows_of(tmp_path / "x.csv")) == 5


def test_generate_unwritable_output_exits_1(tmp_path):
    p = run("generate", "--batch", "1", "--out", tmp_path / "missing" / "x.csv")
    assert p.returncode == 1
    assert p.stderr.startswith("pipeline-task: generate: ")


def test_failed_rename_leaves_no_temporary(tmp_path):
    (tmp_path / "dir").mkdir()
    p = run("generate", "--batch", "1", "--out", tmp_path / "dir")
    assert p.returncode == 1
    assert "dir" in p.stderr
    assert no_temporaries(tmp_path)


# ---- analyze ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rows", [1, 100, 12345])
def test_analyze_matches_an_independent_computation(tmp_path, rows):
    ok("generate", "--batch", "5", "--rows", rows, "--seed", rows, cwd=tmp_path)
    p = ok("analyze", "--in", tmp_path / "batch_5.csv")
    assert p.stdout.splitlines()[0].endswith(" Analyzing batch 5...")
    stats_path = tmp_path / "stats_batch_5.json"
    stats = json.loads(stats_path.read_text())
    assert list(stats) == ["file", "lines", "sum", "average"]
    assert stats == stats_of(tmp_path / "batch_5.csv")
    summary = p.stdout.splitlines()[-1]
    assert f"{stats['lines']} lines" in summary and f"sum {stats['sum']}" in summary
    assert no_temporaries(tmp_path)


def test_analyze_average_keeps_two_decimals(tmp_path):
    # 3 rows, sum 1000: 333.333... is written as 333.33
    (tmp_path / "batch_2.csv").write_text("2,500,1\n2,250,2\n2,250,3\n")
    ok("analyze", "--in", "batch_2.csv", cwd=tmp_path)
    text = (tmp_path / "stats_batch_2.json").read_text()
    assert '"average":333.33' in text.replace(" ", "")


def test_analyze_empty_file_and_last_line_without_newline(tmp_path):
    (tmp_path / "batch_1.csv").write_text("")
    ok("analyze", "--in", "batch_1.csv", cwd=tmp_path)
    assert json.loads((tmp_path / "stats_batch_1.json").read_text()) == \
        {"file": "batch_1.csv", "lines": 0, "sum": 0, "average": 0}
    (tmp_path / "batch_2.csv").write_text("2,10,1\n2,20,2")
    ok("analyze", "--in", "batch_2.csv", cwd=tmp_path)
    assert json.loads((tmp_path / "stats_batch_2.json").read_text())["sum"] == 30


def test_analyze_names_the_batch_from_option_file_name_or_first_row(tmp_path):
    (tmp_path / "data.csv").write_text("7,1,1\n")
    p = ok("analyze", "--in", "data.csv", cwd=tmp_path)
    assert " Analyzing batch 7..." in p.stdout
    assert json.loads((tmp_path / "stats_data.json").read_text())["file"] == "data.csv"
    p = ok("analyze", "--in", "data.csv", "--batch", "9", "--out", "s.json", cwd=tmp_path)
    assert " Analyzing batch 9..." in p.stdout
    (tmp_path / "batch_11.csv").write_text("7,1,1\n")
    p = ok("analyze", "--in", "batch_11.csv", cwd=tmp_path)
    assert " Analyzing batch 11..." in p.stdout


@pytest.mark.parametrize("content,bad_line", [
    ("1,2,3\n1,1000,3\n", 2),
    ("1,2,3\n1,2,100\n", 2),
    ("1,2,3\n2,2,3\n", 2),       # batch column changes
    ("1,2,3\n\n", 2),            # empty line
    ("1,2\n", 1),
    ("1,2,3,4\n", 1),
    ("1,2,3\r\n", 1),
    ("1,-2,3\n", 1),
    ("1, 2,3\n", 1),
    ("x,2,3\n", 1),
    ("1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3x\n", 5),
    ("1,2,3\n" + "9" * 200 + "\n", 2),
])
def test_malformed_csv_exits_1_naming_file_and_line(tmp_path, content, bad_line):
    (tmp_path / "batch_1.csv").write_text(content)
    p = run("analyze", "--in", "batch_1.csv", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr.startswith("pipeline-task: analyze: batch_1.csv")
    assert f"line {bad_line}" in p.stderr
    assert sorted(os.listdir(tmp_path)) == ["batch_1.csv"]


# The reader takes lines out of 1 MiB blocks, the usual ones on a fast path: a bad line well past the first
# block, or right at a block's edge, is still named by its number, and unusual but valid lines still count.
GOOD = "10,123,45\n" * 150000  # 1.5 MB


@pytest.mark.parametrize("tail,bad_line", [
    ("10,1000,4\n", 150001),
    ("1,2,3\n", 150001),              # a batch that is a prefix of line 1's
    ("10,2,3" + "4" * 70 + "\n", 150001),  # too long
    ("10,2,3\n10,2,", 150002),        # the last line, without newline, cut short
])
def test_analyze_names_a_bad_line_far_into_a_large_file(tmp_path, tail, bad_line):
    (tmp_path / "batch_10.csv").write_text(GOOD + tail)
    p = run("analyze", "--in", "batch_10.csv", cwd=tmp_path)
    assert p.returncode == 1
    assert f"batch_10.csv: line {bad_line}:" in p.stderr, p.stderr


def test_analyze_large_file_with_unusual_valid_lines(tmp_path):
    edge = 1 << 20
    head = "3,1,1\n" * (edge // 6) + "3,7,8\n"  # a line across the first block's edge
    content = head + "3,007,08\n03,5,5\n3,999,99\n" * 1000 + "3,0,0"
    path = tmp_path / "batch_3.csv"
    path.write_text(content)
    ok("analyze", "--in", "batch_3.csv", cwd=tmp_path)
    assert json.loads((tmp_path / "stats_batch_3.json").read_text()) == stats_of(path)


def test_analyze_missing_input_exits_1(tmp_path):
    p = run("analyze", "--in", "batch_4.csv", cwd=tmp_path)
    assert p.returncode == 1
    assert "batch_4.csv" in p.stderr
    assert os.listdir(tmp_path) == []


# ---- report ----------------------------------------------------------------------------------------------------

def test_report_totals_match_the_stats_files(tmp_path):
    stats_files = []
    for batch in (1, 2, 3):
        ok("generate", "--batch", batch, "--rows", 50 * batch, cwd=tmp_path)
        ok("analyze", "--in", f"batch_{batch}.csv", cwd=tmp_path)
        stats_files.append(f"stats_batch_{batch}.json")
    stats_files.reverse()  # the report keeps argument order
    p = ok("report", *stats_files, cwd=tmp_path)
    assert p.stdout.splitlines()[0].endswith(" Generating report for 3 batches...")
    report = json.loads((tmp_path / "report.json").read_text())
    stats = [json.loads((tmp_path / f).read_text()) for f in stats_files]
    assert list(report) == ["batches", "timestamp", "total_batches", "total_records", "total_sum", "average_value"]
    assert report["batches"] == stats
    assert report["total_batches"] == 3
    assert report["total_records"] == sum(s["lines"] for s in stats) == 300
    assert report["total_sum"] == sum(s["sum"] for s in stats)
    assert report["average_value"] == average2(report["total_sum"], report["total_records"])
    assert RFC3339_MS.match(report["timestamp"]), report["timestamp"]
    assert no_temporaries(tmp_path)


def test_report_with_no_records_has_average_0(tmp_path):
    (tmp_path / "s.json").write_text('{"file":"batch_1.csv","lines":0,"sum":0,"average":0}')
    ok("report", "--out", "r.json", "s.json", cwd=tmp_path)
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["total_records"], report["total_sum"], report["average_value"]) == (0, 0, 0)


@pytest.mark.parametrize("content", [
    '{"file":"b.csv","lines":"10","sum":5,"average":0.5}',
    '{"file":"b.csv","lines":10,"sum":5.5,"average":0.5}',
    '{"file":"b.csv","lines":10,"sum":5,"average":"0.5"}',
    '{"file":7,"lines":10,"sum":5,"average":0.5}',
    '{"lines":10,"sum":5,"average":0.5}',
    '{"file":"b.csv","lines":-1,"sum":5,"average":0.5}',
    '[{"file":"b.csv","lines":10,"sum":5,"average":0.5}]',
    "not json",
    "",
])
def test_report_rejects_a_bad_stats_file(tmp_path, content):
    (tmp_path / "good.json").write_text('{"file":"a.csv","lines":1,"sum":5,"average":5}')
    (tmp_path / "bad.json").write_text(content)
    p = run("report", "good.json", "bad.json", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr.startswith("pipeline-task: report: ") and "bad.json" in p.stderr
    assert sorted(os.listdir(tmp_path)) == ["bad.json", "good.json"]


def test_report_missing_stats_file_exits_1(tmp_path):
    p = run("report", "nope.json", cwd=tmp_path)
    assert p.returncode == 1 and "nope.json" in p.stderr


# ---- a million rows in constant memory -------------------------------------------------------------------------

# Runs the task as the only child of a fresh interpreter, whose RUSAGE_CHILDREN then is the task's own peak.
MAXRSS_WRAPPER = """
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_kib(*args):
    p = subprocess.run([sys.executable, "-c", MAXRSS_WRAPPER, TASK, *map(str, args)], capture_output=True,
                       text=True, timeout=600)
    rc, kib = map(int, p.stdout.split())
    assert rc == 0, p.stderr
    return kib


def test_million_rows_generate_and_analyze_in_small_memory(tmp_path):
    csv = tmp_path / "batch_12.csv"
    assert peak_rss_kib("generate", "--batch", 12, "--rows", 1000000, "--out", csv) < 64 * 1024
    assert peak_rss_kib("analyze", "--in", csv) < 64 * 1024
    with open(csv) as f:
        n = total = 0
        for line in f:
            n += 1
            total += int(line.split(",")[1])
    assert n == 1000000
    stats = json.loads((tmp_path / "stats_batch_12.json").read_text())
    assert stats == {"file": "batch_12.csv", "lines": n, "sum": total, "average": average2(total, n)}


def test_million_rows_logs_progress_every_tenth(tmp_path):
    p = ok("generate", "--batch", 2, "--rows", 1000000, "--out", tmp_path / "b.csv")
    progress = [line.split(" ", 1)[1] for line in p.stdout.splitlines() if "/1000000 rows" in line]
    assert progress == [f"batch 2: {k * 100000}/1000000 rows" for k in range(1, 10)]


# ---- the pause and cancellation --------------------------------------------------------------------------------

def start(*args, cwd):
    return subprocess.Popen([TASK, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_sleep_pauses_inside_the_process(tmp_path):
    p = start("generate", "--batch", 1, "--sleep", "0.2", cwd=tmp_path)
    try:
        first = p.stdout.readline()
        assert first.endswith(" Generating batch 1...\n")
        assert p.poll() is None  # paused: still alive, nothing written yet
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert os.listdir(tmp_path) == ["batch_1.csv"]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("args", [
    ["generate", "--batch", 1, "--sleep", 60],
    ["analyze", "--in", "batch_1.csv", "--out", "stats.json", "--sleep", "60"],
    ["report", "--out", "report.json", "--sleep", "60.5", "stats_batch_1.json"],
])
def test_sigterm_during_the_pause_kills_without_output(tmp_path, args):
    (tmp_path / "input").mkdir()
    inputs = tmp_path / "input"
    (inputs / "batch_1.csv").write_text("1,5,5\n")
    (inputs / "stats_batch_1.json").write_text('{"file":"batch_1.csv","lines":1,"sum":5,"average":5}')
    before = sorted(os.listdir(inputs))
    p = start(*args, cwd=inputs)
    try:
        assert p.stdout.readline() != ""  # the first log line comes before the pause
        assert p.poll() is None
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)
        assert p.returncode == -signal.SIGTERM
        assert sorted(os.listdir(inputs)) == before
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


# ---- the parent-death guard and exec ---------------------------------------------------------------------------

def test_exec_runs_the_program_with_its_args_and_exit_code(tmp_path):
    p = run("exec", "sh", "-c", 'printf "%s|" "$0" "$@"; exit 7', "zero", "a b", "--help", "")
    assert p.returncode == 7
    assert p.stdout == "zero|a b|--help||"
    assert ok("exec", "true").stdout == ""


def test_exec_missing_program_exits_127(tmp_path):
    p = run("exec", tmp_path / "no-such-program")
    assert p.returncode == 127
    assert p.stderr.startswith("pipeline-task: exec: ")


def test_exec_program_inherits_the_parent_death_signal():
    # PR_GET_PDEATHSIG is 2; ctypes reads the setting from inside the exec'd interpreter.
    code = ("import ctypes, ctypes.util; libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True); "
            "sig = ctypes.c_int(); libc.prctl(2, ctypes.byref(sig), 0, 0, 0); print(sig.value)")
    p = ok("exec", sys.executable, "-c", code)
    assert int(p.stdout) == signal.SIGKILL


def env_with_parent(pid):
    env = dict(os.environ)
    env["PIPELINE_PARENT_PID"] = str(pid)
    return env


def test_parent_pid_that_is_not_the_parent_exits_70(tmp_path):
    not_parent = 1 if os.getpid() != 1 else os.getpid() + 1
    p = run("exec", "true", env=env_with_parent(not_parent))
    assert p.returncode == 70
    assert p.stderr.startswith("pipeline-task: exec: ")

def test_task_below_a_wrapper_accepts_a_live_parent(tmp_path):
    # A task started by a wrapper script has the wrapper's child as parent, not the named process; the task
    # only refuses to start when its parent died before it could ask to die with it.
    p = run("generate", "--batch", 1, cwd=tmp_path, env=env_with_parent(1 if os.getpid() != 1 else 2))
    assert p.returncode == 0
    assert os.listdir(tmp_path) == ["batch_1.csv"]


def test_parent_pid_that_is_the_parent_runs(tmp_path):
    env = env_with_parent(os.getpid())
    assert run("exec", "sh", "-c", "exit 3", env=env).returncode == 3
    ok("generate", "--batch", 1, cwd=tmp_path, env=env)
    assert os.listdir(tmp_path) == ["batch_1.csv"]


# ---- under a subreaper that is not PID 1 ------------------------------------------------------------------------
# systemd --user and some CI harnesses adopt orphans themselves: a task whose parent died is then not a child of
# PID 1, and must still see that its parent is gone.

SUBREAPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "subreaper.py")


def under_subreaper(*args):
    p = subprocess.run([sys.executable, SUBREAPER, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("command", [["generate", "--batch", "1", "--sleep", "30", "--out={tmp}/b.csv"],
                                     ["exec", "sleep", "30"]])
def test_task_whose_parent_died_before_it_started_exits_under_a_subreaper(tmp_path, command):
    # the parent (named in PIPELINE_PARENT_PID) dies before the task asks to die with it
    result = under_subreaper("orphan", 1, TASK, *(a.format(tmp=tmp_path) for a in command))
    assert result["exit"] == 70
    assert not (tmp_path / "b.csv").exists()


def test_task_below_a_wrapper_whose_parent_died_exits_under_a_subreaper(tmp_path):
    # the named process lives on, but the task's own parent (a wrapper's process) died before the task's guard:
    # the task is no longer below the named process
    result = under_subreaper("orphan", 2, TASK, "generate", "--batch", "1", "--sleep", "30",
                             f"--out={tmp_path}/b.csv")
    assert result["exit"] == 70
    assert not (tmp_path / "b.csv").exists()


def test_tasks_die_with_the_service_under_a_subreaper(tmp_path):
    result = under_subreaper("service", os.environ.get("PIPELINE_BUILD", "build"), tmp_path / "svc")
    assert len(result["tasks"]) >= 3
    assert result["left"] == []


def test_task_below_a_wrapper_runs_only_below_the_named_process(tmp_path):
    # the task's parent is a shell; the named process must be an ancestor of that shell
    script = f'"{TASK}" generate --batch 1 --out="$1"; echo "exit $?"'
    below = subprocess.run(["sh", "-c", script, "sh", tmp_path / "a.csv"], env=env_with_parent(os.getpid()),
                           capture_output=True, text=True, timeout=60)
    assert below.stdout.splitlines()[-1] == "exit 0" and (tmp_path / "a.csv").exists(), below.stderr
    stranger = subprocess.Popen(["sleep", "60"])  # alive, but not above the task
    try:
        aside = subprocess.run(["sh", "-c", script, "sh", tmp_path / "b.csv"], env=env_with_parent(stranger.pid),
                               capture_output=True, text=True, timeout=60)
    finally:
        stranger.kill()
        stranger.wait()
    assert aside.stdout.splitlines()[-1] == "exit 70", aside.stderr
    assert not (tmp_path / "b.csv").exists()


def test_mkdir_creates_the_missing_folders_of_the_output(tmp_path):
    """--mkdir (every command): the task makes its output's folders itself, as its own user (a task pod's runtime
    would make a missing working directory as root)."""
    out = tmp_path / "results" / "r1" / "batch_1.csv"
    ok("generate", "--mkdir", "--batch", "1", "--rows", "3", "--out", out)
    ok("analyze", "--mkdir", "--in", out, "--out", tmp_path / "s" / "stats_batch_1.json")
    ok("report", "--mkdir", "--out", tmp_path / "r" / "report.json", tmp_path / "s" / "stats_batch_1.json")
    assert (tmp_path / "r" / "report.json").exists()
    ok("generate", "--mkdir", "--batch", "1", "--out", out)  # folders already there
    (tmp_path / "file").write_text("x")
    p = run("generate", "--mkdir", "--batch", "1", "--out", tmp_path / "file" / "x.csv")
    assert p.returncode == 1 and "cannot create the folder" in p.stderr, p.stderr
    p = run("generate", "--mkdir=yes", "--batch", "1")
    assert p.returncode == 2 and "takes no value" in p.stderr, p.stderr
