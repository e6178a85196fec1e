#!/usr/bin/env bash
# The stream's fan-out: the service against a bare batched writer (bench/ws_writer.c: epoll + one write per
# client per tick of the same frames) and a FastAPI/uvicorn broadcaster (bench/peer_fastapi.py), in one command.
#
#   bash bench/run_stream.sh
#
# For each client count, REPEAT rounds; in each round every server is started afresh on CPU SERVER_CPU (so its
# RSS is that of N clients and nothing before), then build/bench/ws_fanout on CPU LOAD_CPU opens N clients and
# asks for a burst of MESSAGES events of SIZE bytes, PER_TICK per loop iteration; latency is from the emit
# stamp to the read. The table shows median [min-max] deliveries/s and p99, and service/writer ratios.
#
# Environment (defaults): CLIENT_COUNTS="100 500 1000 2000 5000"  MESSAGES=1000  SIZE=200  PER_TICK=16
#   PEER_CLIENTS="100 1000"  PEER_MESSAGES=200   (FastAPI moves ~20-30k deliveries/s: fewer runs, fewer messages)
set -euo pipefail
BENCH_NAME=stream
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLIENT_COUNTS="${CLIENT_COUNTS:-100 500 1000 2000 5000}"
MESSAGES="${MESSAGES:-1000}"
SIZE="${SIZE:-200}"
PER_TICK="${PER_TICK:-16}"
PEER_CLIENTS="${PEER_CLIENTS:-100 1000}"
PEER_MESSAGES="${PEER_MESSAGES:-200}"
TSV="$BENCH_OUT/stream.tsv"
CLIENT="$REPO/build/bench/ws_fanout"

bench_build
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
max=0
for n in $CLIENT_COUNTS; do ((n > max)) && max=$n; done
if (($(ulimit -n) < max + 64)); then
    log "open files limited to $(ulimit -n): client counts above $(($(ulimit -n) - 64)) are skipped"
fi

start_server() { # kind port: sets SRV_PID
    local kind=$1 port=$2
    case $kind in
    service)
        start_service "$port" BENCH_EVENTS=1 MAX_WEBSOCKET_CONNECTIONS=100000 MAX_WEBSOCKET_CONNECTIONS_PER_IP=100000 \
            WS_KEEPALIVE_SECONDS=3600
        SRV_PID=$SERVICE_PID
        ;;
    writer)
        taskset -c "$SERVER_CPU" "$REPO/build/bench/ws_writer" "$port" >"$BENCH_WORK/writer.log" 2>&1 &
        SRV_PID=$!
        BENCH_PIDS+=("$SRV_PID")
        wait_http "$port" /health "$SRV_PID"
        ;;
    fastapi)
        taskset -c "$SERVER_CPU" "$PYTHON" -m uvicorn peer_fastapi:app --app-dir "$REPO/bench" --host 127.0.0.1 \
            --port "$port" --loop uvloop --http httptools --workers 1 --log-level warning --no-access-log \
            >"$BENCH_WORK/peer.log" 2>&1 &
        SRV_PID=$!
        BENCH_PIDS+=("$SRV_PID")
        wait_http "$port" /health "$SRV_PID"
        ;;
    esac
}

declare -A DPS P50 P99 RSS CPU
field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<" $1"; }

run_one() { # kind clients messages
    local kind=$1 n=$2 m=$3 port line
    port=$(free_port)
    start_server "$kind" "$port"
    line=$(taskset -c "$LOAD_CPU" timeout 360 "$CLIENT" --port "$port" --clients "$n" --messages "$m" --size "$SIZE" \
        --per-tick "$PER_TICK" --pid "$SRV_PID" --timeout 300 --label "$kind" 2>"$BENCH_WORK/client.err") || {
        log "$kind with $n clients failed: $line $(tail -2 "$BENCH_WORK/client.err")"
    }
    stop_pid "$SRV_PID"
    [[ -n "$line" ]] || return 0
    DPS[$kind,$n]+="$(field "$line" deliveries_per_s) "
    P50[$kind,$n]+="$(field "$line" p50_ms) "
    P99[$kind,$n]+="$(field "$line" p99_ms) "
    RSS[$kind,$n]+="$(field "$line" rss_mb) "
    CPU[$kind,$n]+="$(field "$line" cpu_ns_per_delivery) "
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$n" "$(field "$line" deliveries_per_s)" "$(field "$line" p50_ms)" \
        "$(field "$line" p99_ms)" "$(field "$line" rss_mb)" >>"$TSV.tmp"
}

: >"$TSV.tmp"
for rep in $(seq "$REPEAT"); do
    log "round $rep of $REPEAT"
    for n in $CLIENT_COUNTS; do
        (($(ulimit -n) >= n + 64)) || continue
        run_one service "$n" "$MESSAGES"
        run_one writer "$n" "$MESSAGES"
        [[ " $PEER_CLIENTS " == *" $n "* ]] && run_one fastapi "$n" "$PEER_MESSAGES"
    done
done
mv "$TSV.tmp" "$TSV"

echo
echo "Stream fan-out: $SIZE-byte events, $PER_TICK per tick, $MESSAGES per client (FastAPI $PEER_MESSAGES), server on CPU $SERVER_CPU, client on CPU $LOAD_CPU, $REPEAT runs (median [min-max])"
printf '%-7s %26s %26s %8s %22s %22s %7s %9s %9s %22s %16s\n' clients "service deliveries/s" "writer deliveries/s" \
    "ratio" "service p99 ms" "writer p99 ms" "p99 x" "svc RSS" "wr RSS" "fastapi deliveries/s" "CPU ns/deliv s/w"
for n in $CLIENT_COUNTS; do
    [[ -n "${DPS[service,$n]:-}" ]] || continue
    sd=$(median ${DPS[service,$n]}) wd=$(median ${DPS[writer,$n]:-0}) sp=$(median ${P99[service,$n]}) wp=$(median ${P99[writer,$n]:-0})
    sc=$(median ${CPU[service,$n]:-0}) wc=$(median ${CPU[writer,$n]:-0})
    printf '%-7s %26s %26s %8s %22s %22s %7s %9s %9s %22s %16s\n' "$n" "$(FMT=%.0f summary ${DPS[service,$n]})" \
        "$(FMT=%.0f summary ${DPS[writer,$n]:-})" "$(ratio "$sd" "$wd")" "$(FMT=%.1f summary ${P99[service,$n]})" \
        "$(FMT=%.1f summary ${P99[writer,$n]:-})" "$(ratio "$sp" "$wp")" "$(median ${RSS[service,$n]}) MB" \
        "$(median ${RSS[writer,$n]:-0}) MB" "$([[ -n "${DPS[fastapi,$n]:-}" ]] && FMT=%.0f summary ${DPS[fastapi,$n]} || echo -)" \
        "$sc / $wc"
done
echo "(ratio: service/writer deliveries; p99 x: service p99 / writer p99. RSS with N clients connected, before the burst."
echo " CPU ns/deliv: the server's CPU time over the burst (/proc/PID/schedstat) per delivery, service / writer.)"
