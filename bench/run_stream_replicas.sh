#!/usr/bin/env bash
# The stream across replicas: events emitted on one replica reach the clients of two replicas sharing one Redis
# (REDIS_URL, no proxy), against one replica with the memory store and all the clients (goal 1's set-up), in one
# command.
#
#   bash bench/run_stream_replicas.sh
#
# Each round: (1) one replica, memory store, CLIENTS clients, a burst of MESSAGES events; (2) Redis on LOAD_CPU and
# two replicas, both on SERVER_CPU (the same CPU budget as one), CLIENTS/2 clients on each; the burst is asked of
# replica A and every client of both must get every event, in order (ws_fanout checks seq and index: a lost or
# reordered event fails the run). Deliveries/s count every client; Redis CPU is its utime+stime over the burst
# (/proc), per event. Then memory: the service's and the bare writer's RSS idle and with 100, 1,000 and 10,000
# clients connected (MEMORY_COUNTS), as bytes per client.
#
# Environment (defaults): CLIENTS=1000  MESSAGES=1000  SIZE=200  PER_TICK=16  MEMORY_COUNTS="100 1000 10000"
set -euo pipefail
BENCH_NAME=replicas
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLIENTS="${CLIENTS:-1000}"
MESSAGES="${MESSAGES:-1000}"
SIZE="${SIZE:-200}"
PER_TICK="${PER_TICK:-16}"
MEMORY_COUNTS="${MEMORY_COUNTS:-100 1000 10000}"
TSV="$BENCH_OUT/stream_replicas.tsv"
CLIENT="$REPO/build/bench/ws_fanout"
STREAM_ENV=(BENCH_EVENTS=1 MAX_WEBSOCKET_CONNECTIONS=100000 MAX_WEBSOCKET_CONNECTIONS_PER_IP=100000
    WS_KEEPALIVE_SECONDS=3600)

bench_build
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
command -v redis-server >/dev/null || { log "redis-server is missing (apt-get install redis-server)"; exit 1; }

field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<" $1"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_redis() { # sets REDIS_PID, REDIS_PORT
    REDIS_PORT=$(free_port)
    taskset -c "$LOAD_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$BENCH_WORK" >"$BENCH_WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    BENCH_PIDS+=("$REDIS_PID")
    for _ in $(seq 100); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    log "redis did not start"
    return 1
}

declare -A DPS P99 GAPS
: >"$TSV.tmp"

single_round() {
    local port line
    port=$(free_port)
    start_service "$port" "${STREAM_ENV[@]}"
    line=$(taskset -c "$LOAD_CPU" timeout 360 "$CLIENT" --port "$port" --clients "$CLIENTS" --messages "$MESSAGES" \
        --size "$SIZE" --per-tick "$PER_TICK" --pid "$SERVICE_PID" --timeout 300 --label single 2>"$BENCH_WORK/c.err") ||
        log "single replica: $line $(tail -2 "$BENCH_WORK/c.err")"
    stop_pid "$SERVICE_PID"
    [[ -n "$line" ]] || return 0
    DPS[single]+="$(field "$line" deliveries_per_s) "
    P99[single]+="$(field "$line" p99_ms) "
    printf 'single\t%s\t%s\t%s\t-\n' "$CLIENTS" "$(field "$line" deliveries_per_s)" "$(field "$line" p99_ms)" >>"$TSV.tmp"
}

replicas_round() {
    local half=$((CLIENTS / 2)) pa pb pid_a pid_b la lb ready="$BENCH_WORK/ready.$RANDOM" c0 c1
    start_redis
    pa=$(free_port)
    start_service "$pa" "${STREAM_ENV[@]}" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" REDIS_REQUIRED=true
    pid_a=$SERVICE_PID
    pb=$(free_port)
    start_service "$pb" "${STREAM_ENV[@]}" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" REDIS_REQUIRED=true
    pid_b=$SERVICE_PID
    rm -f "$ready"
    # B's clients connect first and say so; A's clients then connect and A is asked for the burst
    taskset -c "$LOAD_CPU" timeout 360 "$CLIENT" --port "$pb" --clients "$half" --messages "$MESSAGES" --size "$SIZE" \
        --per-tick "$PER_TICK" --pid "$pid_b" --timeout 300 --label replica-b --no-burst --ready-file "$ready" \
        >"$BENCH_WORK/b.out" 2>"$BENCH_WORK/b.err" &
    local fan_b=$!
    BENCH_PIDS+=("$fan_b")
    c0=$(cpu_ticks "$REDIS_PID")
    la=$(taskset -c "$LOAD_CPU" timeout 360 "$CLIENT" --port "$pa" --clients "$half" --messages "$MESSAGES" \
        --size "$SIZE" --per-tick "$PER_TICK" --pid "$pid_a" --timeout 300 --label replica-a --wait-file "$ready" \
        2>"$BENCH_WORK/a.err") || log "replica A: $la $(tail -2 "$BENCH_WORK/a.err")"
    wait "$fan_b" || log "replica B: $(cat "$BENCH_WORK/b.out") $(tail -2 "$BENCH_WORK/b.err")"
    c1=$(cpu_ticks "$REDIS_PID")
    lb=$(cat "$BENCH_WORK/b.out")
    stop_pid "$pid_a"
    stop_pid "$pid_b"
    stop_pid "$REDIS_PID"
    [[ -n "$la" && -n "$lb" ]] || return 0
    local da db sa sb total secs dps gaps redis_ms
    da=$(field "$la" delivered) db=$(field "$lb" delivered) sa=$(field "$la" seconds) sb=$(field "$lb" seconds)
    total=$((da + db))
    secs=$(awk -v a="$sa" -v b="$sb" 'BEGIN { print (a > b ? a : b) }')
    dps=$(awk -v t="$total" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", t / s; else print 0 }')
    gaps=$(($(field "$la" seq_gaps) + $(field "$lb" seq_gaps) + $(field "$la" out_of_order) + $(field "$lb" out_of_order) + $(field "$la" missing) + $(field "$lb" missing)))
    redis_ms=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", t * 1000 / hz }')
    DPS[replicas]+="$dps "
    P99[replicas]+="$(awk -v a="$(field "$la" p99_ms)" -v b="$(field "$lb" p99_ms)" 'BEGIN { print (a > b ? a : b) }') "
    GAPS[replicas]+="$gaps "
    DPS[redis_ms]+="$redis_ms "
    printf 'replicas\t%s\t%s\t%s\t%s\n' "$CLIENTS" "$dps" "$(field "$la" p99_ms)/$(field "$lb" p99_ms)" "$redis_ms" >>"$TSV.tmp"
    log "replicas: A $(field "$la" delivered) in $sa s, B $(field "$lb" delivered) in $sb s, lost/reordered $gaps, Redis CPU $redis_ms ms"
}

for rep in $(seq "$REPEAT"); do
    log "round $rep of $REPEAT"
    single_round
    replicas_round
done

declare -A RSS0 RSSN
memory_one() { # kind n
    local kind=$1 n=$2 port line pid idle
    port=$(free_port)
    if [[ $kind == service ]]; then
        start_service "$port" "${STREAM_ENV[@]}"
        pid=$SERVICE_PID
    else
        taskset -c "$SERVER_CPU" "$REPO/build/bench/ws_writer" "$port" >"$BENCH_WORK/writer.log" 2>&1 &
        pid=$!
        BENCH_PIDS+=("$pid")
        wait_http "$port" /health "$pid"
    fi
    idle=$(rss_kb "$pid")
    line=$(taskset -c "$LOAD_CPU" timeout 360 "$CLIENT" --port "$port" --clients "$n" --messages 1 --size "$SIZE" \
        --pid "$pid" --timeout 300 --label mem 2>"$BENCH_WORK/m.err") || log "memory $kind $n: $(tail -2 "$BENCH_WORK/m.err")"
    stop_pid "$pid"
    RSS0[$kind,$n]+="$idle "
    RSSN[$kind,$n]+="$(field "$line" rss_mb) "
    printf 'memory-%s\t%s\t%s\t%s\t-\n' "$kind" "$n" "$idle" "$(field "$line" rss_mb)" >>"$TSV.tmp"
}
for rep in $(seq 3); do
    for n in $MEMORY_COUNTS; do
        (($(ulimit -n) >= n + 64)) || { log "open files limited to $(ulimit -n): $n clients skipped"; continue; }
        memory_one service "$n"
        memory_one writer "$n"
    done
done
mv "$TSV.tmp" "$TSV"

echo
echo "Stream across replicas: $SIZE-byte events, $PER_TICK per tick, $MESSAGES per client, $CLIENTS clients; servers on CPU $SERVER_CPU, Redis and clients on CPU $LOAD_CPU, $REPEAT runs (median [min-max])"
printf '%-44s %28s %22s\n' "set-up" "deliveries/s (all clients)" "p99 ms (worst side)"
printf '%-44s %28s %22s\n' "one replica, memory store, $CLIENTS clients" "$(FMT=%.0f summary ${DPS[single]:-})" "$(FMT=%.1f summary ${P99[single]:-})"
printf '%-44s %28s %22s\n' "two replicas + Redis, $((CLIENTS / 2)) clients each" "$(FMT=%.0f summary ${DPS[replicas]:-})" "$(FMT=%.1f summary ${P99[replicas]:-})"
echo "ratio (two replicas / one): $(ratio "$(median ${DPS[replicas]:-})" "$(median ${DPS[single]:-})")"
echo "events lost or reordered (seq, index, missing), per round: ${GAPS[replicas]:-none measured}"
echo "Redis CPU over a burst: $(FMT=%.0f summary ${DPS[redis_ms]:-}) ms for $MESSAGES events"
echo
echo "Memory: RSS idle and with N clients connected (median of 3), bytes per client = (RSS with N - idle) / N"
printf '%-8s %14s %14s %16s %14s %14s %16s\n' clients "service idle" "service N" "service B/client" "writer idle" "writer N" "writer B/client"
for n in $MEMORY_COUNTS; do
    [[ -n "${RSSN[service,$n]:-}" ]] || continue
    si=$(median ${RSS0[service,$n]}) sn=$(median ${RSSN[service,$n]}) wi=$(median ${RSS0[writer,$n]}) wn=$(median ${RSSN[writer,$n]})
    printf '%-8s %11.1f MB %11.1f MB %16.0f %11.1f MB %11.1f MB %16.0f\n' "$n" "$(awk -v k="$si" 'BEGIN{print k/1024}')" "$sn" \
        "$(awk -v k="$si" -v m="$sn" -v n="$n" 'BEGIN{print (m*1048576 - k*1024)/n}')" "$(awk -v k="$wi" 'BEGIN{print k/1024}')" "$wn" \
        "$(awk -v k="$wi" -v m="$wn" -v n="$n" 'BEGIN{print (m*1048576 - k*1024)/n}')"
done
