#!/usr/bin/env bash
# Instructions the service executes per stream event, under callgrind: steady on a loaded machine, where the
# deliveries/s of bench/run_stream.sh move by ±15 % from run to run.
#
#   bash bench/callgrind_stream.sh            (REPO=<another tree> to measure that tree's build/)
#
# The service runs under valgrind --tool=callgrind with BENCH_EVENTS=1; build/bench/ws_fanout opens CLIENTS clients
# and asks for a burst of MESSAGES events (SIZE bytes, PER_TICK per loop turn), then the service stops. The same is
# done with 1 event; per event = (Ir with MESSAGES - Ir with 1) / (MESSAGES - 1): start-up and connecting cancel out.
#
# Environment (defaults): CLIENTS=100  MESSAGES=2000  SIZE=200  PER_TICK=16
set -euo pipefail
BENCH_NAME=callgrind
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPO="${TREE:-$REPO}"

CLIENTS="${CLIENTS:-100}"
MESSAGES="${MESSAGES:-2000}"
SIZE="${SIZE:-200}"
PER_TICK="${PER_TICK:-16}"

ir_of() { # messages: prints the service's total Ir for a run with that many events
    local m=$1 port out pid
    port=$(free_port)
    out="$BENCH_WORK/callgrind.$m.out"
    mkdir -p "$BENCH_WORK/data.$port"
    env HOST=127.0.0.1 PORT="$port" DATA_DIR="$BENCH_WORK/data.$port" RATE_LIMIT_PER_MINUTE=0 LOG_LEVEL=warn \
        BENCH_EVENTS=1 MAX_WEBSOCKET_CONNECTIONS=100000 MAX_WEBSOCKET_CONNECTIONS_PER_IP=100000 \
        WS_KEEPALIVE_SECONDS=3600 valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$REPO/build/pipeline-orchestrator" >>"$BENCH_WORK/service.log" 2>&1 &
    pid=$!
    BENCH_PIDS+=("$pid")
    wait_http "$port" /healthz "$pid"
    "$REPO/build/bench/ws_fanout" --port "$port" --clients "$CLIENTS" --messages "$m" --size "$SIZE" \
        --per-tick "$PER_TICK" --timeout 600 --label callgrind >/dev/null 2>>"$BENCH_WORK/client.err"
    kill -TERM "$pid"
    wait "$pid" || true
    awk '/^summary:/ {print $2}' "$out"
}

bench_build
many=$(ir_of "$MESSAGES")
one=$(ir_of 1)
echo "callgrind: $CLIENTS clients, $SIZE-byte events, $PER_TICK per turn: Ir with $MESSAGES events $many, with 1 event" \
    "$one, per event $(((many - one) / (MESSAGES - 1)))"
