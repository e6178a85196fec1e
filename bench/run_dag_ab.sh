#!/usr/bin/env bash
# The demo DAG, this tree against another revision, runs alternating on one CPU (bench/dag_ab.py): what a change
# costs the DAG, told apart from what the machine does meanwhile.
#
#   bash bench/run_dag_ab.sh [REV]        REV defaults to the last release tag, else HEAD~1
#
# REV is built in a temporary git worktree (release build, its own pipeline-task). Environment (defaults):
#   POINTS="12x100 12x10000 12x1000000"  ROUNDS=60 (at 1,000,000 rows: ROUNDS/6, at least 5)
set -euo pipefail
BENCH_NAME=dag_ab
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REV="${1:-$(git -C "$REPO" describe --tags --abbrev=0 2>/dev/null || echo HEAD~1)}"
POINTS="${POINTS:-12x100 12x10000 12x1000000}"
ROUNDS="${ROUNDS:-60}"

bench_build
OTHER="$BENCH_WORK/other"
log "building $REV in a worktree"
git -C "$REPO" worktree add --detach "$OTHER" "$REV" >/dev/null 2>&1
trap 'git -C "$REPO" worktree remove --force "$OTHER" >/dev/null 2>&1 || true; bench_cleanup' EXIT
timeout 900 make -C "$OTHER" --no-print-directory -j2 build/pipeline-orchestrator build/pipeline-task >/dev/null

echo "A = $REV ($(git -C "$REPO" rev-parse --short "$REV")), B = this tree ($(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet || echo ', with changes'))"
for p in $POINTS; do
    n=${p%x*} rows=${p#*x} r=$ROUNDS
    ((rows >= 1000000)) && r=$((ROUNDS / 6 > 5 ? ROUNDS / 6 : 5))
    taskset -c "$LOAD_CPU" "$PYTHON" "$REPO/bench/dag_ab.py" "$OTHER/build/pipeline-orchestrator" \
        "$REPO/build/pipeline-orchestrator" "$n" "$rows" "$r" "$SERVER_CPU"
done
