"""The Redis store's Lua scripts on a real redis-server: called by hash (EVALSHA, loaded once per connection),
reloaded after SCRIPT FLUSH, every key they touch carries the prefix as a hash tag (one cluster slot) and is
declared in KEYS (Redis Cluster's rule), and the history key of another type is survived. MONITOR shows what
really ran."""
import json
import pathlib
import re
import signal
import subprocess
import time

from conftest import processes_mentioning, wait_until
from test_redis import TERMINAL, replica_env

LINE = re.compile(r'^\d+\.\d+ \[\d+ (lua|[^\]]+)\] (.*)$')
ROOT = pathlib.Path(__file__).resolve().parents[2]
ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')

# Commands whose first argument is a key or a channel, as the store uses them; MGET: every argument.
KEYED = {"GET", "SET", "DEL", "EXISTS", "INCR", "PEXPIRE", "LRANGE", "LREM", "LPUSH", "LTRIM", "PUBLISH",
         "SUBSCRIBE", "TYPE", "ZADD", "ZREVRANGE", "ZRANGE", "ZREMRANGEBYRANK", "ZREM", "MGET"}


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


def keys_of(verb, args):
    return args if verb == "MGET" else args[:1]


def check_keys(cmds, prefix):
    """Every key a script touches was declared in the KEYS of its call; every key carries the hash tag. Returns
    the calls (verb, declared keys)."""
    calls, declared, undeclared = [], None, []
    for is_lua, verb, args in cmds:
        if not is_lua:
            if verb in ("EVALSHA", "EVAL"):
                declared = set(args[2:2 + int(args[1])])
                calls.append((verb, args[0], declared))
                assert all(k.startswith(prefix) for k in declared), args
            elif verb in KEYED:
                assert all(k.startswith(prefix) for k in keys_of(verb, args)), (verb, args)
            continue
        assert declared is not None, (verb, args)
        for key in keys_of(verb, args) if verb in KEYED else ():
            assert key.startswith(prefix), (verb, args)  # same hash tag: the same cluster slot
            if key not in declared:
                undeclared.append((verb, key))
    assert undeclared == []
    return calls


def test_scripts_by_hash_and_every_key_declared(start_service, redis_server, tmp_path):
    """The paths where a script reads a run record by an id it found in Redis: the lock holder's (a POST on
    another replica attaches), the active and the newest finished run (status on a replica that does not own
    them), an orphan's (a POST after its owner died), a claimed orphan (ended by the orphan check)."""
    log = tmp_path / "monitor.log"
    mon = monitor(redis_server, log)
    try:
        time.sleep(0.3)
        env = replica_env(redis_server, "ks:", GENERATE_SECONDS=0.5, ANALYZE_SECONDS=0.2)
        a, b = start_service(env, name="a"), start_service(env, name="b")
        run = a.run(batch_count=2)
        attached = b.run(batch_count=1)
        assert attached["run_id"] == run["run_id"] and attached["attached"] is True
        assert b.get("/api/v1/demo/status").json()["run"]["run_id"] == run["run_id"]
        assert a.wait_finished(run["run_id"])["status"] == "succeeded"
        assert b.get("/api/v1/demo/status").json()["run"]["run_id"] == run["run_id"]
        assert [h["run_id"] for h in b.get("/api/v1/demo/history").json()] == [run["run_id"]]
        # an orphan taken over by a POST
        slow = replica_env(redis_server, "ks:", GENERATE_SECONDS=60)
        c = start_service(slow, name="c")
        orphan = c.run(batch_count=1)
        assert wait_until(lambda: len(processes_mentioning(str(c.data_dir))) == 1)
        c.proc.send_signal(signal.SIGKILL)
        c.proc.wait()
        deadline, started = time.monotonic() + 15, None
        while time.monotonic() < deadline and started is None:
            answer = b.post("/api/v1/demo/run", json={"batch_count": 1}).json()
            if answer["run_id"] != orphan["run_id"]:
                started = answer
            time.sleep(0.1)
        assert started is not None and started["attached"] is False
        assert b.get(f"/api/v1/demo/runs/{orphan['run_id']}").json()["status"] == "failed"
        assert b.wait_finished(started["run_id"])["status"] == "succeeded"
        # an orphan claimed and ended by the orphan check, without a request
        d = start_service(slow, name="d")
        lost = d.run(batch_count=1)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        assert wait_until(lambda: a.get(f"/api/v1/demo/runs/{lost['run_id']}").json()["status"] in TERMINAL,
                          timeout=20)
        history = [h["run_id"] for h in a.get("/api/v1/demo/history").json()]
        assert history == [lost["run_id"], started["run_id"], orphan["run_id"], run["run_id"]]
        a.stop()
        b.stop()
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
    assert 0 < len(loads) <= 8 * 4  # at most one per script (8) and connection (four replicas, no reconnect)
    calls = check_keys(cmds, "{ks:}")
    # the calls that declared run keys of other runs (the holder's, the orphan's, the status's records) ran
    run_key = re.compile(r"\{ks:\}run:r[0-9a-f]{11}")
    others = [c for c in calls if sum(1 for k in c[2] if run_key.fullmatch(k)) >= 2]
    assert others, calls
    # the list of older versions is only looked at (to copy it once when there is no sorted set yet), never written
    assert {(lua, verb) for lua, verb, args in cmds if args and args[0] == "{ks:}history"} <= {(False, "LRANGE")}


def test_undeclared_key_is_caught():
    """The check above can fail: a script that reads a key it was not given is reported."""
    cmds = [(False, "EVALSHA", ["abc", "1", "{ks:}active"]), (True, "GET", ["{ks:}active"]),
            (True, "GET", ["{ks:}run:r0123456789a"])]
    try:
        check_keys(cmds, "{ks:}")
    except AssertionError:
        return
    raise AssertionError("an undeclared key went unnoticed")


def test_history_key_of_another_type_is_replaced(start_service, redis_server):
    """A {prefix}finished that is not a sorted set (written by something else) reads as an empty history and the
    next finished run replaces it; the list {prefix}history of older versions is left alone."""
    client = redis_server.client()
    client.rpush("{wt:}finished", "r0123456789a")
    client.rpush("{wt:}history", "r0123456789b")
    a = start_service(replica_env(redis_server, "wt:"), name="a")
    history = a.get("/api/v1/demo/history")
    assert history.status_code == 200 and history.json() == []
    assert a.get("/api/v1/demo/status").json()["active"] is False
    assert "is not a sorted set" in a.log()
    run = a.run(batch_count=1)
    assert a.wait_finished(run["run_id"])["status"] == "succeeded"
    assert wait_until(lambda: "was not a sorted set" in a.log())
    assert [h["run_id"] for h in a.get("/api/v1/demo/history").json()] == [run["run_id"]]
    assert client.type("{wt:}finished") in (b"zset", "zset")
    assert client.lrange("{wt:}history", 0, -1) in ([b"r0123456789b"], ["r0123456789b"])
    assert "WRONGTYPE" not in a.log().replace("not a sorted set", "")


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


def test_history_of_an_older_version_is_copied(start_service, redis_server):
    """Older versions kept the history as a list {prefix}history (newest first): with no {prefix}finished yet, a
    replica copies it (the runs whose records remain, scored by their end time) and leaves the list alone."""
    client = redis_server.client()
    env = replica_env(redis_server, "mg:")
    a = start_service(env, name="a")
    ids = []
    for _ in range(3):
        run = a.run(batch_count=1)
        assert a.wait_finished(run["run_id"])["status"] == "succeeded"
        ids.append(run["run_id"])
    assert a.stop() == 0
    # what an older version left: the list, newest first, and no sorted set
    client.delete("{mg:}finished")
    client.rpush("{mg:}history", *ids[::-1], "r0123456789c")  # the last one's record expired
    a.start()
    assert wait_until(lambda: [h["run_id"] for h in a.get("/api/v1/demo/history").json()] == ids[::-1])
    assert "copied into {mg:}finished: 3 runs" in a.log()
    assert [x if isinstance(x, str) else x.decode() for x in client.lrange("{mg:}history", 0, -1)] == \
        ids[::-1] + ["r0123456789c"]
    # once there is a sorted set, the list is not read again
    assert a.stop() == 0
    a.start()
    assert a.get("/api/v1/demo/history").json()[0]["run_id"] == ids[-1]
    assert a.log().count("copied into {mg:}finished") == 1


def script_text(name):
    """A script's text as the C compiler sees it: the string literals of redis_scripts.h (and the macro it uses)."""
    src = (ROOT / "src" / "store" / "redis_scripts.h").read_text()
    strings = lambda body: "".join(s.encode().decode("unicode_escape") for s in re.findall(r'"((?:[^"\\]|\\.)*)"',
                                                                                             body))
    run_key = strings(re.search(r"#define SCRIPT_RUN_KEY(.*?)\n\n", src, re.S).group(1))
    body = re.search(r"static const char %s\[\] =(.*?);\n" % name, src, re.S).group(1)
    return (run_key if "SCRIPT_RUN_KEY" in body else "") + strings(body)


def test_finish_orders_the_history_by_end_time(redis_server):
    """A run recorded late (its replica waited for Redis) goes to its place by end time, not on top; the history
    keeps the newest `limit`; the records trimmed out of it stay until their TTL."""
    client = redis_server.client()
    finish = client.register_script(script_text("SCRIPT_FINISH"))
    keys = lambda run_id: ["{o:}lock", "{o:}active", "{o:}run:" + run_id, "{o:}finished", "{o:}report:" + run_id]

    def record(run_id, ended):
        rec = json.dumps({"id": run_id, "status": "succeeded", "owner": "a", "finished_ms": ended})
        return finish(keys=keys(run_id), args=["", run_id, rec, 3, 60000, "", "a", "0", ended])

    for run_id, ended in (("r00000000001", 1000), ("r00000000003", 3000), ("r00000000002", 2000),
                          ("r00000000004", 4000), ("r00000000000", 500)):
        assert record(run_id, ended) == 1
    newest = [x.decode() if isinstance(x, bytes) else x for x in client.zrevrange("{o:}finished", 0, -1)]
    assert newest == ["r00000000004", "r00000000003", "r00000000002"]
    assert client.exists("{o:}run:r00000000001") and 0 < client.pttl("{o:}run:r00000000001") <= 60000
