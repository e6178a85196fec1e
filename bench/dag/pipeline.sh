#!/usr/bin/env bash
# The demo workflow as a plain shell script: the same pipeline-task commands the service runs, GENERATE x N in
# parallel, then ANALYZE x N in parallel, then REPORT. The floor the service's DAG is compared with.
#
#   bench/dag/pipeline.sh PIPELINE_TASK RESULTS_DIR BATCHES ROWS [SEED]
set -euo pipefail
task=$1 dir=$2 n=$3 rows=$4 seed=${5:-42}
mkdir -p "$dir"
for b in $(seq "$n"); do
    "$task" generate --batch="$b" --rows="$rows" --seed="$seed" --out="$dir/batch_$b.csv" >/dev/null &
done
wait
for b in $(seq "$n"); do
    "$task" analyze --batch="$b" --in="$dir/batch_$b.csv" --out="$dir/stats_batch_$b.json" >/dev/null &
done
wait
stats=()
for b in $(seq "$n"); do stats+=("$dir/stats_batch_$b.json"); done
"$task" report --out="$dir/report.json" "${stats[@]}" >/dev/null
