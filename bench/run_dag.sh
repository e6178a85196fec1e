#!/usr/bin/env bash
# The demo DAG end to end: the service against a bash script running the same pipeline-task commands with `&`
# and `wait` (bench/dag/pipeline.sh) and snakemake -j12 (Debian's, bench/dag/Snakefile), in one command.
#
#   bash bench/run_dag.sh
#
# The service runs with no demo pauses (GENERATE_SECONDS=0 ANALYZE_SECONDS=0); one run is the time from
# POST /api/v1/demo/run to that run's `complete` message on the stream (bench/dag_client.py, on CPU LOAD_CPU).
# The service, the script and snakemake each run on CPU SERVER_CPU with every task they start (children inherit
# the pinning): the same single CPU for the same work. For each point a fresh service, then REPEAT runs of each.
# Peak RSS: the service process's VmHWM after its runs; for the script and snakemake, /usr/bin/time's maximum
# over the process tree (the tasks included).
#
# Environment (defaults): BATCHES="1 2 4 8 12" (100 rows)  ROWS="100 1000 10000 100000 1000000" (12 batches)
#   SNAKEMAKE_POINTS="12x100 12x1000000"  which points also run snakemake (~1.5 s a run)
set -euo pipefail
BENCH_NAME=dag
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BATCHES="${BATCHES:-1 2 4 8 12}"
ROWS="${ROWS:-100 1000 10000 100000 1000000}"
SNAKEMAKE_POINTS="${SNAKEMAKE_POINTS:-12x100 12x1000000}"
TSV="$BENCH_OUT/dag.tsv"
TASK="$REPO/build/pipeline-task"

bench_build
command -v snakemake >/dev/null || log "snakemake is missing: its column stays empty"

run_script() { # batches rows -> "seconds rss_kb" per run
    local n=$1 rows=$2 dir="$BENCH_WORK/script" out
    for _ in $(seq "$REPEAT"); do
        rm -rf "$dir"
        out=$(taskset -c "$SERVER_CPU" /usr/bin/time -f "%e %M" bash -c '
            s=$(date +%s.%N); bash "$0" "$1" "$2" "$3" "$4"; e=$(date +%s.%N); echo "$s $e" >&2' \
            "$REPO/bench/dag/pipeline.sh" "$TASK" "$dir" "$n" "$rows" 2>&1 >/dev/null | tail -2 | tr '\n' ' ')
        awk '{ printf "%.6f %s\n", $2 - $1, $4 }' <<<"$out"
    done
}

run_snakemake() { # batches rows
    local n=$1 rows=$2 dir="$BENCH_WORK/snake" out
    for _ in $(seq "$REPEAT"); do
        rm -rf "$dir"
        mkdir -p "$dir"
        out=$(taskset -c "$SERVER_CPU" /usr/bin/time -f "%e %M" bash -c '
            s=$(date +%s.%N); snakemake -j12 -s "$0" -d "$1" --quiet --config task="$2" batches="$3" rows="$4" >/dev/null 2>&1
            e=$(date +%s.%N); echo "$s $e" >&2' \
            "$REPO/bench/dag/Snakefile" "$dir" "$TASK" "$n" "$rows" 2>&1 >/dev/null | tail -2 | tr '\n' ' ')
        awk '{ printf "%.6f %s\n", $2 - $1, $4 }' <<<"$out"
    done
}

declare -A T RSSK
: >"$TSV"
point() { # batches rows
    local n=$1 rows=$2 port lines
    port=$(free_port)
    start_service "$port" GENERATE_SECONDS=0 ANALYZE_SECONDS=0
    lines=$(taskset -c "$LOAD_CPU" "$PYTHON" "$REPO/bench/dag_client.py" "$port" "$n" "$rows" "$REPEAT")
    T[service,$n,$rows]=$(awk '{print $1}' <<<"$lines" | tr '\n' ' ')
    grep -qv succeeded <<<"$lines" && log "a service run did not succeed: $lines"
    RSSK[service,$n,$rows]=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVICE_PID/status")
    stop_pid "$SERVICE_PID"
    lines=$(run_script "$n" "$rows")
    T[script,$n,$rows]=$(awk '{print $1}' <<<"$lines" | tr '\n' ' ')
    RSSK[script,$n,$rows]=$(awk '{print $2}' <<<"$lines" | sort -n | tail -1)
    if [[ " $SNAKEMAKE_POINTS " == *" ${n}x$rows "* ]] && command -v snakemake >/dev/null; then
        lines=$(run_snakemake "$n" "$rows")
        T[snakemake,$n,$rows]=$(awk '{print $1}' <<<"$lines" | tr '\n' ' ')
        RSSK[snakemake,$n,$rows]=$(awk '{print $2}' <<<"$lines" | sort -n | tail -1)
    fi
    local s
    for s in service script snakemake; do
        [[ -n "${T[$s,$n,$rows]:-}" ]] || continue
        printf '%s\t%s\t%s\t%s\t%s\n' "$s" "$n" "$rows" "$(median ${T[$s,$n,$rows]})" "${RSSK[$s,$n,$rows]}" >>"$TSV"
    done
}

points=()
for n in $BATCHES; do points+=("$n 100"); done
for rows in $ROWS; do [[ " ${points[*]} " == *" 12 $rows "* ]] || points+=("12 $rows"); done
for p in "${points[@]}"; do
    log "point: $p (batches rows)"
    point $p
done

echo
echo "Demo DAG, no pauses: POST to \`complete\` (service) vs bench/dag/pipeline.sh vs snakemake -j12, each on CPU $SERVER_CPU with its tasks, $REPEAT runs (median [min-max] ms)"
printf '%-8s %-8s %24s %24s %24s %8s %9s %9s %9s\n' batches rows "service ms" "script ms" "snakemake ms" "svc/scr" \
    "svc RSS" "scr RSS" "smk RSS"
for p in "${points[@]}"; do
    read -r n rows <<<"$p"
    ms() { [[ -n "${1:-}" ]] && FMT=%.1f summary $(awk '{ for (i = 1; i <= NF; i++) print $i * 1000 }' <<<"$1") || echo -; }
    kb() { [[ -n "${1:-}" ]] && awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }' || echo -; }
    printf '%-8s %-8s %24s %24s %24s %8s %9s %9s %9s\n' "$n" "$rows" "$(ms "${T[service,$n,$rows]:-}")" \
        "$(ms "${T[script,$n,$rows]:-}")" "$(ms "${T[snakemake,$n,$rows]:-}")" \
        "$(ratio "$(median ${T[service,$n,$rows]})" "$(median ${T[script,$n,$rows]})")" \
        "$(kb "${RSSK[service,$n,$rows]:-}")" "$(kb "${RSSK[script,$n,$rows]:-}")" "$(kb "${RSSK[snakemake,$n,$rows]:-}")"
done
echo "(svc/scr: service time / script time; below 1.00 the service is faster. RSS: see the header of this script.)"
