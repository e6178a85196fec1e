#!/usr/bin/env bash
# `make bench`: every area in turn (HTTP, pipeline-task, the DAG, the stream), then the plots. The transcript
# goes to build/bench/results/bench.txt as well. About 10 minutes.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${BENCH_OUT:-$REPO/build/bench/results}"
mkdir -p "$OUT"
start=$(date +%s)
{
    echo "make bench, $(date -u +%FT%TZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    for area in http task dag stream stream_replicas; do
        bash "$REPO/bench/run_$area.sh"
    done
    echo
    echo "all areas in $(($(date +%s) - start)) s"
} 2>&1 | tee "$OUT/bench.txt"
bash "$REPO/bench/plot.sh"
