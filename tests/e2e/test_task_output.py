"""Task output is untrusted bytes: whatever a task writes (invalid UTF-8, a multi-byte character cut by a line
or tail limit, server paths), the run's record, status, the stream and the service's own log stay whole JSON."""
import asyncio
import json

import pytest

from conftest import TASK_BIN, write_wrapper
from wsutil import collect

REPLACEMENT = "\ufffd"


def failing_wrapper(tmp_path, stderr_bytes_cmd):
    """GENERATE (1) writes what `stderr_bytes_cmd` prints to stderr and exits 3; every other task is real."""
    return write_wrapper(tmp_path / "wrap.sh",
                         'case "$1 $2" in\n'
                         f'  "generate --batch=1") {{ {stderr_bytes_cmd}; }} >&2; exit 3;;\n'
                         'esac\n'
                         f'exec "{TASK_BIN}" "$@"\n')


def run_and_watch(svc, batches=1):
    async def go():
        ws = asyncio.ensure_future(collect(svc.url("/api/v1/pipeline/stream").replace("http", "ws"), timeout=60))
        await asyncio.sleep(0.3)
        run = await asyncio.get_running_loop().run_in_executor(None, lambda: svc.run(batch_count=batches))
        return run, await ws
    return asyncio.run(go())


def check_failed_run_is_whole(svc, run, messages, must_contain):
    types = [m["type"] for m in messages if m.get("run_id") == run["run_id"]]
    assert "error" in types and "complete" in types, types
    error = next(m for m in messages if m["type"] == "error")
    assert error["data"]["stage"] == "GENERATE (1)"
    assert must_contain in error["data"]["message"]
    statuses = [m["data"]["status"] for m in messages if m["type"] == "status" and m["run_id"] == run["run_id"]]
    assert statuses[-1] == "failed"
    complete = next(m for m in messages if m["type"] == "complete")
    assert complete["data"]["status"] == "failed"
    detail = svc.get(f"/api/v1/demo/runs/{run['run_id']}")
    assert detail.status_code == 200, detail.text
    assert detail.json()["status"] == "failed" and must_contain in detail.json()["message"]
    status = svc.get("/api/v1/demo/status").json()
    assert status["run"] is not None and status["run"]["run_id"] == run["run_id"]
    assert svc.get("/api/v1/demo/history").json()[0]["run_id"] == run["run_id"]
    return detail.json()


def test_invalid_utf8_on_stderr(start_service, tmp_path):
    wrapper = failing_wrapper(tmp_path, r"printf 'bad \377\376 bytes\n'")
    svc = start_service({"TASK_PROGRAM": wrapper, "LOG_FORMAT": "json"})
    run, messages = run_and_watch(svc)
    detail = check_failed_run_is_whole(svc, run, messages, f"bad {REPLACEMENT}{REPLACEMENT} bytes")
    assert "exit code 3" in detail["message"]
    svc.stop()
    records = [json.loads(line) for line in svc.log().splitlines() if line.strip()]
    assert any(run["run_id"] in r["msg"] and "exit code 3" in r["msg"] for r in records), svc.log()


@pytest.mark.parametrize("prefix_len", [200, 201, 202, 203])
def test_tail_cut_inside_a_character(start_service, tmp_path, prefix_len):
    """The failure message keeps the tail of stderr, cut at a byte limit: never in the middle of a character."""
    wrapper = failing_wrapper(tmp_path, f"printf '%{prefix_len}s' x; printf '\\342\\202\\254%.0s' $(seq 300); echo")
    svc = start_service({"TASK_PROGRAM": wrapper})
    run, messages = run_and_watch(svc)
    check_failed_run_is_whole(svc, run, messages, "\u20ac")


def test_long_line_cut_inside_a_character(start_service, tmp_path):
    """A stdout line past 4 KiB is cut; a character split by the cut becomes U+FFFD, the line stays."""
    wrapper = write_wrapper(tmp_path / "wrap.sh",
                            'case "$1 $2" in\n'
                            '  "generate --batch=1") printf x; printf "\\303\\251%.0s" $(seq 3000); echo;;\n'
                            'esac\n'
                            f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"TASK_PROGRAM": wrapper})
    run, messages = run_and_watch(svc)
    assert run and messages[-1]["type"] == "complete" and messages[-1]["data"]["status"] == "succeeded"
    lines = [l for m in messages if m["type"] == "log" for l in m["data"]["lines"] if l["message"].startswith("x\u00e9")]
    assert lines, "the long line was not streamed"
    assert lines[0]["message"].endswith("[line truncated]")
    assert len(lines[0]["message"].encode()) < 4096 + 32


def test_failure_messages_hide_server_paths(start_service, tmp_path):
    """A task that names its files in its error: readers see them relative to DATA_DIR."""
    wrapper = failing_wrapper(tmp_path, 'echo "cannot write $*"')
    svc = start_service({"TASK_PROGRAM": wrapper})
    run, messages = run_and_watch(svc)
    data_dir = str(svc.data_dir)
    detail = check_failed_run_is_whole(svc, run, messages, f"--out=results/{run['run_id']}/batch_1.csv")
    assert data_dir not in detail["message"]
    assert data_dir not in json.dumps(messages)
    assert data_dir not in json.dumps(svc.get("/api/v1/demo/status").json())
