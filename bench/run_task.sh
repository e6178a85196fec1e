#!/usr/bin/env bash
# pipeline-task generate and analyze against plain C loops (bench/plain_loops.c: xorshift, numbers formatted by
# hand into a 1 MiB buffer, fwrite; fread in 1 MiB blocks, parsed by hand), in one command.
#
#   bash bench/run_task.sh
#
# For each row count, REPEAT runs of each program, alternating, pinned to CPU SERVER_CPU, writing into a
# scratch directory on the same file system as the data directory would be. pipeline-task does more than the
# loops: it validates every line, writes to a temporary, fsyncs and renames. Table: median [min-max] ms, peak
# RSS, and plain/pipeline-task speed ratios (1.00 = as fast as the plain loop).
#
# Environment (defaults): ROWS="100 1000 10000 100000 1000000"  TASK_REPEAT=7
set -euo pipefail
BENCH_NAME=task
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS="${ROWS:-100 1000 10000 100000 1000000}"
TASK_REPEAT="${TASK_REPEAT:-7}"
((TASK_REPEAT >= 3)) || TASK_REPEAT=3
TSV="$BENCH_OUT/task.tsv"
TASK="$REPO/build/pipeline-task"
PLAIN="$REPO/build/bench/plain_loops"
DIR="$REPO/build/bench/task-scratch" # the repository's disk, like DATA_DIR (not a tmpfs)

bench_build
rm -rf "$DIR"
mkdir -p "$DIR"
trap 'rm -rf "$DIR"; bench_cleanup' EXIT

timeit() { taskset -c "$SERVER_CPU" "$PYTHON" "$REPO/bench/timeit.py" "$TASK_REPEAT" "$@"; }
ms() { awk -v s="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.2f [%.2f-%.2f]", s * 1000, a * 1000, b * 1000 }'; }

: >"$TSV"
echo
echo "pipeline-task vs plain C loops, $TASK_REPEAT runs each on CPU $SERVER_CPU (median [min-max] ms; ratio = plain / pipeline-task time)"
printf '%-9s %-8s %26s %26s %7s %12s %12s\n' rows step "pipeline-task ms" "plain loop ms" ratio "task RSS" "plain RSS"
for rows in $ROWS; do
    read -r tg tgmin tgmax tgrss < <(timeit "$TASK" generate --batch 1 --rows "$rows" --seed 42 --out "$DIR/batch_1.csv")
    read -r pg pgmin pgmax pgrss < <(timeit "$PLAIN" generate "$rows" "$DIR/plain.csv")
    read -r ta tamin tamax tarss < <(timeit "$TASK" analyze --in "$DIR/batch_1.csv" --out "$DIR/stats_1.json")
    read -r pa pamin pamax parss < <(timeit "$PLAIN" analyze "$DIR/batch_1.csv")
    printf '%-9s %-8s %26s %26s %7s %9s kB %9s kB\n' "$rows" generate "$(ms "$tg" "$tgmin" "$tgmax")" \
        "$(ms "$pg" "$pgmin" "$pgmax")" "$(ratio "$pg" "$tg")" "$tgrss" "$pgrss"
    printf '%-9s %-8s %26s %26s %7s %9s kB %9s kB\n' "$rows" analyze "$(ms "$ta" "$tamin" "$tamax")" \
        "$(ms "$pa" "$pamin" "$pamax")" "$(ratio "$pa" "$ta")" "$tarss" "$parss"
    printf '%s\tgenerate\t%s\t%s\t%s\t%s\n' "$rows" "$tg" "$pg" "$tgrss" "$pgrss" >>"$TSV"
    printf '%s\tanalyze\t%s\t%s\t%s\t%s\n' "$rows" "$ta" "$pa" "$tarss" "$parss" >>"$TSV"
done
