#!/usr/bin/env bash
# HTTP: the service against nginx serving the same bytes and a FastAPI/uvicorn peer, in one command.
#
#   bash bench/run_http.sh
#
# Each server runs alone on CPU SERVER_CPU (nginx: one worker; uvicorn: one worker, uvloop, httptools); wrk
# (one thread) on CPU LOAD_CPU. nginx answers GET /health and GET /api/v1/demo/preview with `return 200` and the
# exact bodies the service gives (fetched from it first), so both send the same bytes. Runs alternate between
# the servers, REPEAT times each; the table shows median [min-max] req/s and p99, and service/nginx ratios.
# System calls per request: strace -c -f on the server during one wrk run (the count, not the speed, matters).
#
# Environment (defaults): CONNS="50 200"  SWEEP="1 10 50 200 500" (/health only, for the plot)  DURATION=2
set -euo pipefail
BENCH_NAME=http
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNS="${CONNS:-50 200}"
SWEEP="${SWEEP:-1 10 50 200 500}"
DURATION="${DURATION:-2}"
PATHS="/health /api/v1/demo/preview"
TSV="$BENCH_OUT/http.tsv"

bench_build
ulimit -n 65536 2>/dev/null || true
for tool in wrk nginx strace; do
    command -v "$tool" >/dev/null || { log "$tool is missing (make deps installs it)"; exit 2; }
done

# ---- the servers ----------------------------------------------------------------------------------------------
SVC_PORT=$(free_port)
start_service "$SVC_PORT"
NGX_DIR="$BENCH_WORK/nginx"
mkdir -p "$NGX_DIR/logs"
curl -sf "http://127.0.0.1:$SVC_PORT/health" >"$NGX_DIR/health.json"
curl -sf "http://127.0.0.1:$SVC_PORT/api/v1/demo/preview" >"$NGX_DIR/preview.json"
if grep -q "[\$']" "$NGX_DIR/health.json" "$NGX_DIR/preview.json"; then
    log "a body holds \$ or ': it cannot go into nginx's return directive as is"
    exit 2
fi
NGX_PORT=$(free_port)
cat >"$NGX_DIR/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process on;
pid $NGX_DIR/nginx.pid;
error_log $NGX_DIR/logs/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:$NGX_PORT backlog=511;
        default_type "application/json; charset=utf-8";
        location = /health { return 200 '$(cat "$NGX_DIR/health.json")'; }
        location = /healthz { return 200 '$(cat "$NGX_DIR/health.json")'; }
        location = /api/v1/demo/preview { return 200 '$(cat "$NGX_DIR/preview.json")'; }
    }
}
CONF
taskset -c "$SERVER_CPU" nginx -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" >"$NGX_DIR/logs/out.log" 2>&1 &
NGX_PID=$!
BENCH_PIDS+=("$NGX_PID")
wait_http "$NGX_PORT" /health "$NGX_PID"
NGX_WORKER=$(pgrep -P "$NGX_PID" | head -1)
cmp -s <(curl -sf "http://127.0.0.1:$NGX_PORT/api/v1/demo/preview") "$NGX_DIR/preview.json" ||
    { log "nginx does not serve the service's bytes"; exit 2; }

PEER_PORT=$(free_port)
PEER_PREVIEW_FILE="$NGX_DIR/preview.json" taskset -c "$SERVER_CPU" "$PYTHON" -m uvicorn peer_fastapi:app \
    --app-dir "$REPO/bench" --host 127.0.0.1 --port "$PEER_PORT" --loop uvloop --http httptools --workers 1 \
    --log-level warning --no-access-log >"$BENCH_WORK/peer.log" 2>&1 &
PEER_PID=$!
BENCH_PIDS+=("$PEER_PID")
wait_http "$PEER_PORT" /health "$PEER_PID"

declare -A PORT=([service]=$SVC_PORT [nginx]=$NGX_PORT [fastapi]=$PEER_PORT)
declare -A PID=([service]=$SERVICE_PID [nginx]=$NGX_WORKER [fastapi]=$PEER_PID)
declare -A IDLE_RSS
for s in service nginx fastapi; do IDLE_RSS[$s]=$(rss_kb "${PID[$s]}"); done

# ---- measuring ------------------------------------------------------------------------------------------------
declare -A RPS P99 CPU # RPS[server,path,conns] = "v1 v2 v3"

# CPU time (user + system, clock ticks) the process has used so far
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

# one wrk run; appends req/s, p99 (ms) and the server's CPU microseconds per request (the figure other work on
# the machine disturbs least: it counts only what the server process itself spent)
measure() {
    local server=$1 path=$2 conns=$3 out rps p99 c0 c1 reqs
    c0=$(cpu_ticks "${PID[$server]}")
    out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d"${DURATION}s" --latency \
        "http://127.0.0.1:${PORT[$server]}$path" 2>&1)
    c1=$(cpu_ticks "${PID[$server]}")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    CPU[$server,$path,$conns]+="$(awk -v a="$c0" -v b="$c1" -v r="${reqs:-0}" -v t="$TICK" 'BEGIN { if (r > 0) printf "%.2f", (b - a) * 1e6 / t / r; else print 0 }') "
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) sub(/ms/, "", v); else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 } print v }' <<<"$out")
    RPS[$server,$path,$conns]+="${rps:-0} "
    P99[$server,$path,$conns]+="${p99:-0} "
    printf '%s\t%s\t%s\t%s\t%s\n' "$server" "$path" "$conns" "${rps:-0}" "${p99:-0}" >>"$TSV.tmp"
}

: >"$TSV.tmp"
all_conns=$(printf '%s\n' $CONNS $SWEEP | sort -n | uniq)
for rep in $(seq "$REPEAT"); do
    log "round $rep of $REPEAT"
    for conns in $all_conns; do
        for path in $PATHS; do
            [[ " $CONNS " == *" $conns "* || "$path" == /health ]] || continue
            for server in service nginx; do measure "$server" "$path" "$conns"; done
            [[ " $CONNS " == *" $conns "* ]] && measure fastapi "$path" "$conns"
        done
    done
done
mv "$TSV.tmp" "$TSV"

# system calls per request, /health at the first of CONNS connections
syscalls_per_request() {
    local server=$1 conns=${CONNS%% *} out reqs calls
    timeout $((DURATION + 3)) strace -c -f -p "${PID[$server]}" -o "$BENCH_WORK/strace.$server" 2>/dev/null &
    local spid=$!
    sleep 0.5
    out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d"${DURATION}s" "http://127.0.0.1:${PORT[$server]}/health" 2>&1)
    wait "$spid" 2>/dev/null || true
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    calls=$(awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { n += $4 } END { print n + 0 }' "$BENCH_WORK/strace.$server")
    awk -v c="$calls" -v r="$reqs" 'BEGIN { if (r > 0) printf "%.2f", c / r; else print "-" }'
}
declare -A SYSCALLS
for s in service nginx fastapi; do SYSCALLS[$s]=$(syscalls_per_request "$s"); done

# ---- the table ------------------------------------------------------------------------------------------------
echo
echo "HTTP keep-alive GETs: wrk -t1 -d${DURATION}s on CPU $LOAD_CPU, each server alone on CPU $SERVER_CPU, $REPEAT runs each (median [min-max])"
printf '%-22s %6s %24s %24s %24s %8s %8s\n' path conns "service req/s" "nginx req/s" "fastapi req/s" "svc/ngx" "svc/fapi"
for path in $PATHS; do
    for conns in $CONNS; do
        s=$(median ${RPS[service,$path,$conns]}) n=$(median ${RPS[nginx,$path,$conns]}) f=$(median ${RPS[fastapi,$path,$conns]})
        printf '%-22s %6s %24s %24s %24s %8s %8s\n' "$path" "$conns" "$(FMT=%.0f summary ${RPS[service,$path,$conns]})" \
            "$(FMT=%.0f summary ${RPS[nginx,$path,$conns]})" "$(FMT=%.0f summary ${RPS[fastapi,$path,$conns]})" \
            "$(ratio "$s" "$n")" "$(ratio "$s" "$f")"
    done
done
echo
printf '%-22s %6s %20s %20s %20s\n' "p99 latency (ms)" conns service nginx fastapi
for path in $PATHS; do
    for conns in $CONNS; do
        printf '%-22s %6s %20s %20s %20s\n' "$path" "$conns" "$(FMT=%.2f summary ${P99[service,$path,$conns]})" \
            "$(FMT=%.2f summary ${P99[nginx,$path,$conns]})" "$(FMT=%.2f summary ${P99[fastapi,$path,$conns]})"
    done
done
echo
printf '%-22s %6s %20s %20s %20s %9s\n' "CPU us per request" conns service nginx fastapi "ngx/svc"
for path in $PATHS; do
    for conns in $CONNS; do
        printf '%-22s %6s %20s %20s %20s %9s\n' "$path" "$conns" "$(FMT=%.1f summary ${CPU[service,$path,$conns]})" \
            "$(FMT=%.1f summary ${CPU[nginx,$path,$conns]})" "$(FMT=%.1f summary ${CPU[fastapi,$path,$conns]})" \
            "$(ratio "$(median ${CPU[nginx,$path,$conns]})" "$(median ${CPU[service,$path,$conns]})")"
    done
done
echo "(ngx/svc: nginx's CPU per request / the service's: the throughput ratio the two would have alone on a CPU)"
echo
printf '/health req/s by connections (median):'
for conns in $all_conns; do
    printf '  %s: %.0f vs nginx %.0f' "$conns" "$(median ${RPS[service,/health,$conns]})" "$(median ${RPS[nginx,/health,$conns]})"
done
echo
echo "system calls per request (strace -c -f, /health, ${CONNS%% *} connections): service ${SYSCALLS[service]}, nginx ${SYSCALLS[nginx]}, fastapi ${SYSCALLS[fastapi]}"
awk -v s="${IDLE_RSS[service]}" -v n="${IDLE_RSS[nginx]}" -v f="${IDLE_RSS[fastapi]}" 'BEGIN { printf "idle RSS: service %.1f MB, nginx worker %.1f MB, fastapi %.1f MB\n", s / 1024, n / 1024, f / 1024 }'
