#!/usr/bin/env bash
# WebSocket fan-out: the service against a FastAPI peer, in one command.
#
#   bash bench/run_ws_fanout.sh
#
# For each server (the service, then bench/peer_fastapi.py under uvicorn with uvloop and httptools, one worker)
# and each client count, it starts the server afresh pinned to CPU 0 (so the RSS figure is that of N clients
# and nothing before), waits for /health, and runs build/bench/ws_fanout pinned to CPU 1: N clients, a burst
# of MESSAGES events of SIZE bytes, latency from the emit stamp to the read. Then it prints a table.
# Nothing is asserted: the figures are for reading. Everything it starts is stopped on the way out.
#
# Environment (defaults):
#   CLIENT_COUNTS="100 1000 5000"  MESSAGES=1000  SIZE=200  PER_TICK=16
#   PEER_LARGE_CLIENTS=5000 PEER_LARGE_MESSAGES=200  from that many clients on, the peer gets fewer messages
#                                   per client (at ~20k deliveries/s, 5,000 x 1,000 would take ~5 minutes)
#   RUN_TIMEOUT=300                 seconds one client run may take before it gives up
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLIENT_COUNTS="${CLIENT_COUNTS:-100 1000 5000}"
MESSAGES="${MESSAGES:-1000}"
SIZE="${SIZE:-200}"
PER_TICK="${PER_TICK:-16}"
PEER_LARGE_CLIENTS="${PEER_LARGE_CLIENTS:-5000}"
PEER_LARGE_MESSAGES="${PEER_LARGE_MESSAGES:-200}"
RUN_TIMEOUT="${RUN_TIMEOUT:-300}"
PYTHON=/usr/bin/python3
CLIENT="$REPO/build/bench/ws_fanout"
SERVER_CPU=0
CLIENT_CPU=1

WORK="$(mktemp -d /tmp/ws_fanout.XXXXXX)"
SERVER_PID=""
CLIENT_PID=""

log() { printf '[ws_fanout] %s\n' "$*" >&2; }

# ---- stopping what we started ----------------------------------------------------------------------------------

# TERM, then KILL if it does not go within 10 s; only ever the one process this script started.
stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    local pid="$SERVER_PID"
    SERVER_PID=""
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    if [[ -n "$CLIENT_PID" ]]; then
        kill -TERM "$CLIENT_PID" 2>/dev/null || true
        wait "$CLIENT_PID" 2>/dev/null || true
    fi
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- set-up ----------------------------------------------------------------------------------------------------

install_missing() {
    local missing=()
    for p in python3-fastapi python3-uvicorn python3-uvloop python3-httptools curl; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing ${missing[*]}"
    timeout 600 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq "${missing[@]}" >/dev/null
}

build() {
    log "building the service and the client"
    timeout 600 make -C "$REPO" --no-print-directory >/dev/null
    mkdir -p "$REPO/build/bench"
    cc -O2 -Wall -Wextra -Werror -o "$CLIENT" "$REPO/bench/ws_fanout.c"
}

# Every client is a descriptor on each side; the hard limit may be below 65536 in a container.
raise_nofile() {
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    local need=0
    for n in $CLIENT_COUNTS; do ((n > need)) && need=$n; done
    if (($(ulimit -n) < need + 64)); then
        log "warning: open files limited to $(ulimit -n), below the $need clients asked for"
    fi
}

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- the servers -----------------------------------------------------------------------------------------------

start_service() {
    local port=$1 data="$WORK/data.$1"
    mkdir -p "$data"
    HOST=127.0.0.1 PORT="$port" DATA_DIR="$data" BENCH_EVENTS=1 MAX_WEBSOCKET_CONNECTIONS=10000 MAX_WEBSOCKET_CONNECTIONS_PER_IP=10000 \
        RATE_LIMIT_PER_MINUTE=0 WS_KEEPALIVE_SECONDS=3600 LOG_LEVEL=warn \
        taskset -c "$SERVER_CPU" "$REPO/build/pipeline-orchestrator" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
}

start_peer() {
    local port=$1
    taskset -c "$SERVER_CPU" "$PYTHON" -m uvicorn peer_fastapi:app --app-dir "$REPO/bench" \
        --host 127.0.0.1 --port "$port" --loop uvloop --http httptools --workers 1 --log-level warning \
        >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
}

wait_health() {
    local port=$1
    for _ in $(seq 300); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            log "the server exited during start-up:"
            cat "$WORK/server.log" >&2
            return 1
        fi
        curl -sf --max-time 1 "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    log "no /health on port $port after 30 s"
    return 1
}

# ---- one run ---------------------------------------------------------------------------------------------------

# The value of `key` in a line of key=value pairs (empty when absent).
field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<" $1"; }

declare -A RESULT # RESULT[server,clients] = the client's line, or FAILED(...)

run_one() {
    local server=$1 clients=$2 messages=$3 port
    port=$(free_port)
    "start_$server" "$port"
    if ! wait_health "$port"; then
        stop_server
        RESULT[$server,$clients]="FAILED(start)"
        return
    fi
    log "$server: $clients clients x $messages messages of $SIZE bytes (port $port, pid $SERVER_PID)"
    local line rc=0
    # in the background and waited for: a signal to this script then interrupts the wait at once
    taskset -c "$CLIENT_CPU" timeout $((RUN_TIMEOUT + 60)) "$CLIENT" --port "$port" --clients "$clients" \
        --messages "$messages" --size "$SIZE" --per-tick "$PER_TICK" --pid "$SERVER_PID" \
        --timeout "$RUN_TIMEOUT" --label "$server" >"$WORK/client.out" &
    CLIENT_PID=$!
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=""
    line=$(cat "$WORK/client.out")
    echo "$line"
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        log "$server died during the run; its log:"
        cat "$WORK/server.log" >&2
        [[ $rc -ne 0 ]] || rc=1
    fi
    stop_server
    if [[ -s "$WORK/server.log" ]]; then
        log "$server log (last lines):"
        tail -n 5 "$WORK/server.log" >&2
    fi
    if [[ $rc -ne 0 || -z "$line" ]]; then
        RESULT[$server,$clients]="FAILED(rc=$rc) $line"
    else
        RESULT[$server,$clients]="$line"
    fi
}

peer_messages() {
    local clients=$1
    if ((clients >= PEER_LARGE_CLIENTS && PEER_LARGE_MESSAGES < MESSAGES)); then
        echo "$PEER_LARGE_MESSAGES"
    else
        echo "$MESSAGES"
    fi
}

# ---- the table -------------------------------------------------------------------------------------------------

cell() { # server clients key
    local r="${RESULT[$1,$2]:-}"
    if [[ -z "$r" ]]; then echo "-"; return; fi
    local v
    v=$(field "$r" "$3")
    [[ "$r" == FAILED* ]] && v="${v:-?}!"
    echo "${v:--}"
}

print_table() {
    echo
    echo "WebSocket fan-out: $SIZE-byte events, per_tick=$PER_TICK, server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU"
    printf '%-8s %9s %14s %14s %7s %17s %17s %8s %8s\n' clients "msgs s/p" "service del/s" "peer del/s" ratio \
        "service p50/p99" "peer p50/p99" "svc RSS" "peer RSS"
    for n in $CLIENT_COUNTS; do
        local sd pd ratio
        sd=$(cell service "$n" deliveries_per_s)
        pd=$(cell peer "$n" deliveries_per_s)
        ratio=$(awk -v a="${sd%!}" -v b="${pd%!}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1fx", a / b; else print "-" }')
        printf '%-8s %9s %14s %14s %7s %17s %17s %8s %8s\n' "$n" \
            "$(cell service "$n" messages)/$(cell peer "$n" messages)" "$sd" "$pd" "$ratio" \
            "$(cell service "$n" p50_ms)/$(cell service "$n" p99_ms) ms" "$(cell peer "$n" p50_ms)/$(cell peer "$n" p99_ms) ms" \
            "$(cell service "$n" rss_mb) MB" "$(cell peer "$n" rss_mb) MB"
    done
    echo "(RSS: the server's VmRSS with N clients connected, before the burst. A trailing ! marks a failed run.)"
    for n in $CLIENT_COUNTS; do
        local pm
        pm=$(peer_messages "$n")
        [[ "$pm" == "$MESSAGES" ]] || echo "(peer at $n clients: $pm messages per client instead of $MESSAGES, to stay within a few minutes)"
    done
    for key in "${!RESULT[@]}"; do
        [[ "${RESULT[$key]}" == FAILED* ]] && echo "FAILED: $key: ${RESULT[$key]}"
    done
    return 0
}

# ---- main ------------------------------------------------------------------------------------------------------

install_missing
build
raise_nofile
for n in $CLIENT_COUNTS; do
    run_one service "$n" "$MESSAGES"
done
for n in $CLIENT_COUNTS; do
    run_one peer "$n" "$(peer_messages "$n")"
done
print_table
