/*
 * The Lua scripts of the Redis store. Each runs atomically in Redis, so the rules about the one active run hold
 * across replicas without any other locking. Keys (prefix P, a hash tag: every key in one cluster slot):
 * P lock (token "<replica>|<run id>", with a lease), P active (the active run's id), P run:<id> (its record),
 * P finished (a sorted set: ids of finished runs scored by their end time in ms; it replaced the list P history of
 * older versions, copied once by store_redis_migrate.c), P report:<id>, P seq (the event counter); channels
 * P events and P control.
 *
 * A script touches only keys given in KEYS (Redis Cluster's and Redis 7's rule). A run record whose id a script
 * finds in Redis (the lock holder's, an orphan's, the newest finished run's) is read only if the caller declared
 * its key among the trailing "run keys" of KEYS: otherwise the script changes nothing and answers
 * {-1, id, ...}, the ids it needs; the caller calls again with those keys declared (a bounded number of times:
 * store_redis__need). Since the script checks again what the ids are, a change between the calls is seen.
 */
#ifndef STORE_REDIS_SCRIPTS_H
#define STORE_REDIS_SCRIPTS_H

/* The answer of a script that needs run keys it was not given. */
#define SCRIPT_NEED (-1)

/* Lua: run_key(prefix, first, id): the key of run `id` if KEYS[first..] declares it, else nil; ids that are not
 * run ids (bad data) have no record (false). */
#define SCRIPT_RUN_KEY                                                                                                 \
    "local function run_key(p, first, id)\n"                                                                           \
    "  if #id ~= 12 or not string.match(id, '^r[0-9a-f]+$') then return false end\n"                                   \
    "  local k = p .. 'run:' .. id\n"                                                                                  \
    "  for i = first, #KEYS do if KEYS[i] == k then return k end end\n"                                                \
    "  return nil\n"                                                                                                   \
    "end\n"

/* KEYS: lock, active, run:<id>, run keys. ARGV: token, lease ms, run id, record, prefix.
 * {1, orphan record or ""} when taken; {0, holder record or ""} when another run holds the lock; {-1, id} when the
 * holder's or the orphan's record is needed. */
/* clang-format off */
static const char SCRIPT_ACQUIRE[] =
    SCRIPT_RUN_KEY
    "local holder = redis.call('GET', KEYS[1])\n"
    "if holder then\n"
    "  local id = string.match(holder, '|([^|]*)$') or ''\n"
    "  local k = run_key(ARGV[5], 4, id)\n"
    "  if k == nil then return {-1, id} end\n"
    "  return {0, k and redis.call('GET', k) or ''}\n"
    "end\n"
    "local orphan = redis.call('GET', KEYS[2])\n"
    "local orphan_rec = false\n"
    "if orphan and orphan ~= ARGV[3] then\n"
    "  local k = run_key(ARGV[5], 4, orphan)\n"
    "  if k == nil then return {-1, orphan} end\n"
    "  orphan_rec = k and redis.call('GET', k)\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "redis.call('SET', KEYS[2], ARGV[3])\n"
    "redis.call('SET', KEYS[3], ARGV[4])\n"
    "return {1, orphan_rec or ''}\n";
/* clang-format on */

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

/* KEYS: lock, active, run:<id>, finished, report:<id>. ARGV: token ("" when the lock is not ours), run id, record,
 * history limit, ttl ms, report ("" when none), this replica, restore ("1": only if Redis has no record of the run,
 * as after a restart that lost everything), the run's finished ms. The run goes into the finished set scored by its
 * end time (a write that waited for Redis may be older than runs recorded meanwhile), which keeps the newest
 * `limit`; records that leave it expire by their TTL. The lock and active go if ours. A final record that another
 * replica wrote (it ended the run as orphaned while this one could not reach Redis) wins over this one; anything
 * else (none after a restart, an active record) is replaced. 1 written, 2 another replica's record kept, 3 nothing
 * to restore; +10 when the finished key was not a sorted set (written by something else) and was replaced. */
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
    "local replaced = 0\n"
    "local t = redis.call('TYPE', KEYS[4]).ok\n"
    "if t ~= 'zset' and t ~= 'none' then redis.call('DEL', KEYS[4]) replaced = 10 end\n"
    "redis.call('ZADD', KEYS[4], ARGV[9], ARGV[2])\n"
    "redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(tonumber(ARGV[4]) + 1))\n"
    "redis.call('PEXPIRE', KEYS[4], ARGV[5])\n"
    "if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end\n"
    "if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
    "return (keep and 2 or 1) + replaced\n";

/* KEYS: active, finished, lock, run keys. ARGV: prefix.
 * {1, active record or "", newest finished record or "", lock held (0/1), their ids or ""}; {-1, ids...} when it
 * needs the active run's record or the finished ones down to the newest that has a record (at most 8 at a time).
 * A finished key of another type (not written by this version) reads as empty. */
/* clang-format off */
static const char SCRIPT_LOAD_STATUS[] =
    SCRIPT_RUN_KEY
    "local need = {}\n"
    "local id = redis.call('GET', KEYS[1])\n"
    "local rec = false\n"
    "if id then\n"
    "  local k = run_key(ARGV[1], 4, id)\n"
    "  if k == nil then need[#need + 1] = id elseif k then rec = redis.call('GET', k) end\n"
    "end\n"
    "local last, last_id = false, ''\n"
    "local ids = {}\n"
    "if redis.call('TYPE', KEYS[2]).ok == 'zset' then ids = redis.call('ZREVRANGE', KEYS[2], 0, -1) end\n"
    "for _, h in ipairs(ids) do\n"
    "  local k = run_key(ARGV[1], 4, h)\n"
    "  if k == nil then\n"
    "    need[#need + 1] = h\n"
    "    if #need >= 8 then break end\n"
    "  elseif k then\n"
    "    last = redis.call('GET', k)\n"
    "    if last then last_id = h break end\n"
    "  end\n"
    "end\n"
    "if #need > 0 then table.insert(need, 1, -1) return need end\n"
    "return {1, rec or '', last or '', redis.call('EXISTS', KEYS[3]), rec and id or '', last_id}\n";
/* clang-format on */

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

/* KEYS: lock, active, run:<id>. ARGV: token, run id, record, control channel. A handover: while the lock is ours
 * and the run is the active one, its record is written and its lock deleted (the run is then an orphan any replica
 * may claim at once), and "release <id>" goes to every replica. 1 done, 0 not ours. */
static const char SCRIPT_RELEASE[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end\n"
    "redis.call('SET', KEYS[3], ARGV[3])\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('PUBLISH', ARGV[4], 'release ' .. ARGV[2])\n"
    "return 1\n";

/* KEYS: active, lock, run:<candidate> (any run key when there is none). ARGV: candidate id (or ""), token, lease ms.
 * An active run without a lock is an orphan: {id, ""} when it is not the candidate; when it is, it is claimed (its
 * lock taken with the token) and {id, record} returned. {"", ""} when there is no orphan. */
static const char SCRIPT_FIND_ORPHAN[] = "local id = redis.call('GET', KEYS[1])\n"
                                         "if not id or redis.call('EXISTS', KEYS[2]) == 1 then return {'', ''} end\n"
                                         "if id ~= ARGV[1] or id == '' then return {id, ''} end\n"
                                         "redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])\n"
                                         "local rec = redis.call('GET', KEYS[3])\n"
                                         "if not rec then redis.call('DEL', KEYS[1]) redis.call('DEL', KEYS[2]) end\n"
                                         "return {id, rec or ''}\n";

#endif
