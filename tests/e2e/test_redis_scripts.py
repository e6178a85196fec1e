"""The Redis store's Lua scripts on a real redis-server: called by hash (EVALSHA, loaded once per connection),
reloaded after SCRIPT FLUSH, and every key they touch carries the prefix as a hash tag (one cluster slot). MONITOR
shows what really ran."""
import re
import subprocess
import time

from conftest import wait_until
from test_redis import replica_env

LINE = re.compile(r'^\d+\.\d+ \[\d+ (lua|[^\]]+)\] (.*)$')
ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')

# Commands whose first argument is a key or a channel, as the store uses them.
KEYED = {"GET", "SET", "DEL", "EXISTS", "INCR", "PEXPIRE", "LRANGE", "LREM", "LPUSH", "LTRIM", "PUBLISH",
         "SUBSCRIBE"}


def monitor(redis_server, path):
    return subprocess.Popen(["redis-cli", "-p", str(redis_server.port), "monitor"], stdout=open(path, "wb"),
                            stderr=subprocess.STDOUT)


def parse(path):
    out = []
    for line in path.read_text(errors="replace").splitlines():
        m = LINE.match(line)
        if m:
            args = [a.encode().decode("unicode_escape") for a in ARG.findall(m.group(2))]
            if args:
                out.append((m.group(1) == "lua", args[0].upper(), args[1:]))
    return out


def test_scripts_by_hash_and_every_key_in_one_slot(start_service, redis_server, tmp_path):
    log = tmp_path / "monitor.log"
    mon = monitor(redis_server, log)
    try:
        time.sleep(0.3)
        a = start_service(replica_env(redis_server, "ks:"), name="a")
        run = a.run(batch_count=2)
        assert a.wait_finished(run["run_id"])["status"] == "succeeded"
        a.get("/api/v1/demo/history")
        a.get("/api/v1/demo/status")
        a.stop()
        time.sleep(0.3)
    finally:
        mon.terminate()
        mon.wait()
    cmds = parse(log)
    assert len(cmds) > 50, log.read_text()[:2000]
    service = [c for c in cmds if not c[0] and c[1] not in ("PING", "INFO", "CLIENT", "HELLO", "COMMAND")]
    verbs = [c[1] for c in service]
    assert "EVALSHA" in verbs and "EVAL" not in verbs  # the text is sent by SCRIPT LOAD, once per connection
    loads = [c for c in service if c[1] == "SCRIPT"]
    assert 0 < len(loads) <= 12
    declared = None
    undeclared = []
    for is_lua, verb, args in cmds:
        if not is_lua:
            if verb == "EVALSHA":
                n = int(args[1])
                declared = set(args[2:2 + n])
                assert all(k.startswith("{ks:}") for k in declared), args
            elif verb in KEYED:
                assert args[0].startswith("{ks:}"), (verb, args)
            continue
        if verb in KEYED:
            key = args[0]
            assert key.startswith("{ks:}"), (verb, args)  # same hash tag: the same cluster slot
            if declared is not None and key not in declared:
                undeclared.append((verb, key))
    # what a script reads by a name it found in Redis (a run's record) is read-only and in the same slot; nothing
    # is written to a key that was not declared
    assert all(verb == "GET" and re.fullmatch(r"\{ks:\}run:r[0-9a-f]{11}", key) for verb, key in undeclared), \
        undeclared


def test_script_flush_mid_run_is_survived(start_service, redis_server):
    client = redis_server.client()
    env = replica_env(redis_server, "fl:", GENERATE_SECONDS="1", ANALYZE_SECONDS="0.5")
    a, b = start_service(env, name="a"), start_service(env, name="b")
    run = a.run(batch_count=3)
    assert client.info("commandstats").get("cmdstat_eval", {}).get("calls", 0) == 0
    for _ in range(3):
        time.sleep(0.4)
        client.script_flush()
    assert a.wait_finished(run["run_id"])["status"] == "succeeded"
    # the calls that met NOSCRIPT went again as EVAL and put the scripts back
    assert client.info("commandstats")["cmdstat_eval"]["calls"] >= 1
    for svc in (a, b):
        history = svc.get("/api/v1/demo/history").json()
        assert history[0]["run_id"] == run["run_id"] and history[0]["status"] == "succeeded"
        assert svc.get(f"/api/v1/demo/runs/{run['run_id']}/report").status_code == 200
    # and the next run works as before
    client.script_flush()
    run2 = b.run(batch_count=1)
    assert b.wait_finished(run2["run_id"])["status"] == "succeeded"
    assert wait_until(lambda: a.get("/api/v1/demo/history").json()[0]["run_id"] == run2["run_id"], timeout=10)
