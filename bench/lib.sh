# Shared by the bench/run_*.sh scripts (sourced, not run): starting and stopping what a script starts, pinning,
# ports, and "median [min-max]" summaries. Nothing here asserts anything: the figures are for reading.
#
# Every script pins the server under test to SERVER_CPU and the load to LOAD_CPU, repeats each measurement
# REPEAT times (at least 3), and writes its raw figures as tab-separated lines to $BENCH_OUT/<area>.tsv for
# bench/plot.sh.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=/usr/bin/python3
SERVER_CPU="${SERVER_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
REPEAT="${REPEAT:-5}"
((REPEAT >= 3)) || REPEAT=3
BENCH_OUT="${BENCH_OUT:-$REPO/build/bench/results}"
mkdir -p "$BENCH_OUT" "$REPO/build/bench"

BENCH_WORK="$(mktemp -d /tmp/bench.XXXXXX)"
BENCH_PIDS=() # every background process a script started (stopped on the way out, only these)

log() { printf '[%s] %s\n' "$BENCH_NAME" "$*" >&2; }

# Stops one process this script started: TERM, then KILL after 10 s.
stop_pid() {
    local pid=$1
    [[ -n "$pid" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do
        stop_pid "$pid"
    done
    rm -rf "$BENCH_WORK"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http PORT PATH PID: until PATH answers 200, PID dies (1) or 30 s pass (1).
wait_http() {
    local port=$1 path=$2 pid=$3
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || { log "process $pid exited during start-up"; return 1; }
        curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:$port$path" && return 0
        sleep 0.1
    done
    log "no answer on port $port$path after 30 s"
    return 1
}

# build: the service, pipeline-task, and the C helpers of bench/.
bench_build() {
    log "building"
    timeout 900 make -C "$REPO" --no-print-directory -j2 all >/dev/null
    local c
    for c in ws_fanout plain_loops ws_writer; do
        if [[ -f "$REPO/bench/$c.c" ]]; then
            cc -O2 -Wall -Wextra -Werror -o "$REPO/build/bench/$c" "$REPO/bench/$c.c"
        fi
    done
}

# start_service PORT [VAR=VALUE...]: the service on CPU SERVER_CPU; sets SERVICE_PID.
start_service() {
    local port=$1
    shift
    local data="$BENCH_WORK/data.$port"
    mkdir -p "$data"
    env HOST=127.0.0.1 PORT="$port" DATA_DIR="$data" RATE_LIMIT_PER_MINUTE=0 LOG_LEVEL=warn "$@" \
        taskset -c "$SERVER_CPU" "$REPO/build/pipeline-orchestrator" >>"$BENCH_WORK/service.log" 2>&1 &
    SERVICE_PID=$!
    BENCH_PIDS+=("$SERVICE_PID")
    wait_http "$port" /healthz "$SERVICE_PID"
}

# rss_kb PID: resident set size now (kB).
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# summary VALUE...: "median [min-max]" (numbers printed with %g unless FMT is set).
summary() {
    printf '%s\n' "$@" | sort -g | awk -v fmt="${FMT:-%g}" '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "-"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf(fmt " [" fmt "-" fmt "]\n", m, v[1], v[NR])
        }'
}

# median VALUE...: the median alone.
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B with 2 decimals ("-" when either is 0 or missing).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

# now_s: seconds since the epoch with nanoseconds.
now_s() { date +%s.%N; }
