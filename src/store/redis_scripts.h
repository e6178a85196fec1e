/*
 * The Lua scripts of the Redis store. Each runs atomically in Redis, so the rules about the one active run hold
 * across replicas without any other locking. Keys (prefix P): P lock (token "<replica>|<run id>", with a lease),
 * P active (the active run's id), P run:<id> (its record), P history (ids, newest first), P report:<id>,
 * P seq (the event counter); channels P events and P control.
 */
#ifndef STORE_REDIS_SCRIPTS_H
#define STORE_REDIS_SCRIPTS_H

/* KEYS: lock, active, run:<id>. ARGV: token, lease ms, run id, record, prefix.
 * {1, orphan record or ""} when taken; {0, holder record or ""} when another run holds the lock. */
static const char SCRIPT_ACQUIRE[] =
    "local holder = redis.call('GET', KEYS[1])\n"
    "if holder then\n"
    "  local id = string.match(holder, '|(r%x+)$')\n"
    "  local rec = id and redis.call('GET', ARGV[5] .. 'run:' .. id)\n"
    "  return {0, rec or ''}\n"
    "end\n"
    "local orphan = redis.call('GET', KEYS[2])\n"
    "local orphan_rec = false\n"
    "if orphan and orphan ~= ARGV[3] then orphan_rec = redis.call('GET', ARGV[5] .. 'run:' .. orphan) end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "redis.call('SET', KEYS[2], ARGV[3])\n"
    "redis.call('SET', KEYS[3], ARGV[4])\n"
    "return {1, orphan_rec or ''}\n";

/* KEYS: lock, active, run:<id>. ARGV: token, lease ms, run id.
 * 1 when the lease is ours (extended, or taken back after an outage that lost it); 0 when the run is no longer
 * ours (another run holds the lock, or the run was ended by a replica that found it orphaned). */
static const char SCRIPT_RENEW[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
    "if cur then return 0 end\n"
    "local active = redis.call('GET', KEYS[2])\n"
    "if active and active ~= ARGV[3] then return 0 end\n"
    "local rec = redis.call('GET', KEYS[3])\n"
    "if rec then\n"
    "  local ok, run = pcall(cjson.decode, rec)\n"
    "  if ok and (run.status == 'succeeded' or run.status == 'failed' or run.status == 'cancelled' or\n"
    "             run.status == 'unknown') then return 0 end\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "redis.call('SET', KEYS[2], ARGV[3])\n"
    "return 1\n";

/* KEYS: active, run:<id>. ARGV: run id, record. Writes the record while the run is the active one. */
static const char SCRIPT_SAVE_ACTIVE[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2]) return 1 end\n"
    "return 0\n";

/* KEYS: lock, active, run:<id>, history, report:<id>. ARGV: token ("" when the lock is not ours), run id, record,
 * history limit, ttl ms, report ("" when none), this replica, restore ("1": only if Redis has no record of the run,
 * as after a restart that lost everything), the run's finished ms, key prefix. The run goes into history at its
 * place by end time (a write that waited for Redis may be older than runs recorded meanwhile); the lock and active
 * go if ours. A final record that another replica wrote (it ended the run as orphaned while this one could not
 * reach Redis) wins over this one; anything else (none after a restart, an active record) is replaced.
 * 1 written, 2 another replica's record kept, 3 nothing to restore. */
static const char SCRIPT_FINISH[] =
    "local cur = redis.call('GET', KEYS[3])\n"
    "if cur and ARGV[8] == '1' then return 3 end\n"
    "local keep = false\n"
    "if cur then\n"
    "  local ok, run = pcall(cjson.decode, cur)\n"
    "  keep = ok and type(run) == 'table' and run.owner ~= ARGV[7] and (run.status == 'succeeded' or\n"
    "         run.status == 'failed' or run.status == 'cancelled' or run.status == 'unknown')\n"
    "end\n"
    "if not keep then redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[5]) end\n"
    "if ARGV[6] ~= '' then redis.call('SET', KEYS[5], ARGV[6], 'PX', ARGV[5]) end\n"
    "redis.call('LREM', KEYS[4], 0, ARGV[2])\n"
    "local mine = tonumber(ARGV[9])\n"
    "local placed = false\n"
    "for _, h in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do\n"
    "  local rec = redis.call('GET', ARGV[10] .. 'run:' .. h)\n"
    "  local ok, other = pcall(cjson.decode, rec or '')\n"
    "  if not (ok and type(other) == 'table' and tonumber(other.finished_ms) and\n"
    "          tonumber(other.finished_ms) > mine) then\n"
    "    redis.call('LINSERT', KEYS[4], 'BEFORE', h, ARGV[2])\n"
    "    placed = true\n"
    "    break\n"
    "  end\n"
    "end\n"
    "if not placed then redis.call('RPUSH', KEYS[4], ARGV[2]) end\n"
    "redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[4]) - 1)\n"
    "redis.call('PEXPIRE', KEYS[4], ARGV[5])\n"
    "if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end\n"
    "if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
    "return keep and 2 or 1\n";

/* KEYS: active, history, lock. ARGV: prefix. {active record or "", newest finished record or "", lock held (0/1)}. */
static const char SCRIPT_LOAD_STATUS[] = "local id = redis.call('GET', KEYS[1])\n"
                                         "local rec = id and redis.call('GET', ARGV[1] .. 'run:' .. id)\n"
                                         "local last = false\n"
                                         "for _, h in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do\n"
                                         "  local r = redis.call('GET', ARGV[1] .. 'run:' .. h)\n"
                                         "  if r then last = r break end\n"
                                         "end\n"
                                         "return {rec or '', last or '', redis.call('EXISTS', KEYS[3])}\n";

/* KEYS: history. ARGV: prefix, limit. The records of the newest finished runs; ids whose record expired go. */
static const char SCRIPT_LOAD_HISTORY[] = "local out = {}\n"
                                          "for _, h in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do\n"
                                          "  local r = redis.call('GET', ARGV[1] .. 'run:' .. h)\n"
                                          "  if r then\n"
                                          "    if #out < tonumber(ARGV[2]) then out[#out + 1] = r end\n"
                                          "  else redis.call('LREM', KEYS[1], 0, h) end\n"
                                          "end\n"
                                          "return out\n";

/* KEYS: seq, events channel. ARGV: type, run id, ts ms, data, replica. Numbers the event and publishes
 * "<seq> <ts> <type> <run id> <replica> <data>". */
static const char SCRIPT_PUBLISH[] =
    "local seq = redis.call('INCR', KEYS[1])\n"
    "redis.call('PUBLISH', KEYS[2], seq .. ' ' .. ARGV[3] .. ' ' .. ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. ARGV[5] ..\n"
    "           ' ' .. ARGV[4])\n"
    "return seq\n";

/* KEYS: seq. ARGV: a seq handed out locally during an outage. The counter never goes back. */
static const char SCRIPT_SEQ_AT_LEAST[] =
    "local cur = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end\n"
    "return cur\n";

/* KEYS: active, lock. ARGV: candidate id (or ""), token, lease ms, prefix.
 * An active run without a lock is an orphan: {id, ""} when it is not the candidate; when it is, it is claimed (its
 * lock taken with the token) and {id, record} returned. {"", ""} when there is no orphan. */
static const char SCRIPT_FIND_ORPHAN[] = "local id = redis.call('GET', KEYS[1])\n"
                                         "if not id or redis.call('EXISTS', KEYS[2]) == 1 then return {'', ''} end\n"
                                         "if id ~= ARGV[1] then return {id, ''} end\n"
                                         "redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])\n"
                                         "local rec = redis.call('GET', ARGV[4] .. 'run:' .. id)\n"
                                         "if not rec then redis.call('DEL', KEYS[1]) redis.call('DEL', KEYS[2]) end\n"
                                         "return {id, rec or ''}\n";

#endif
