#!/usr/bin/env bash
# Plots the figures the bench/run_*.sh scripts wrote ($BENCH_OUT/*.tsv) into docs/perf/*.png with gnuplot.
#
#   bash bench/plot.sh            (after make bench, or any of the run_*.sh scripts: a missing .tsv is skipped)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_OUT="${BENCH_OUT:-$REPO/build/bench/results}"
OUT="${PLOT_OUT:-$REPO/docs/perf}"
mkdir -p "$OUT"
TMP="$(mktemp -d /tmp/plot.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
command -v gnuplot >/dev/null || { echo "gnuplot is missing (Debian: gnuplot-nox)" >&2; exit 2; }

# medians KEYCOLS VALCOL FILTER_AWK < tsv: "key... median" per distinct key, sorted by the last key numerically
medians() {
    awk -F'\t' -v keys="$1" -v val="$2" "$3"' {
        n = split(keys, k, ","); key = ""
        for (i = 1; i <= n; i++) key = key (i > 1 ? "\t" : "") $k[i]
        v[key] = v[key] " " $val
    }
    END {
        for (key in v) {
            m = split(substr(v[key], 2), a, " ")
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
            med = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
            print key "\t" med
        }
    }' | sort -t$'\t' -k"${4:-1}","${4:-1}"n
}

STYLE='set terminal pngcairo size 900,540 font "sans,11" noenhanced; set grid; set key top left; set style data linespoints'

if [[ -s "$BENCH_OUT/http.tsv" ]]; then
    for s in service nginx fastapi; do
        medians 3 4 "\$1 == \"$s\" && \$2 == \"/health\"" 1 <"$BENCH_OUT/http.tsv" >"$TMP/http.$s"
    done
    gnuplot -e "$STYLE; set output '$OUT/http_rps.png';
        set title 'GET /health, keep-alive: requests/s by connections (wrk -t1, server on 1 CPU, median of runs)';
        set xlabel 'connections'; set ylabel 'requests/s'; set logscale x; set yrange [0:*];
        plot '$TMP/http.service' u 1:2 t 'this service' lw 2 pt 7, '$TMP/http.nginx' u 1:2 t 'nginx (same bytes)' lw 2 pt 5,
             '$TMP/http.fastapi' u 1:2 t 'FastAPI/uvicorn' lw 2 pt 9"
fi

if [[ -s "$BENCH_OUT/dag.tsv" ]]; then
    for s in service script snakemake; do
        awk -F'\t' -v s=$s '$1 == s && $3 == 100 { print $2 "\t" $4 * 1000 "\t" $5 / 1024 }' "$BENCH_OUT/dag.tsv" | sort -n >"$TMP/dagb.$s"
        awk -F'\t' -v s=$s '$1 == s && $2 == 12 { print $3 "\t" $4 * 1000 "\t" $5 / 1024 }' "$BENCH_OUT/dag.tsv" | sort -n >"$TMP/dagr.$s"
    done
    gnuplot -e "$STYLE; set output '$OUT/dag_batches.png'; set multiplot layout 1,2 title 'Demo DAG, 100 rows per batch, no pauses (1 CPU with its tasks)';
        set xlabel 'batch_count'; set ylabel 'wall time (ms)'; set yrange [0:*];
        plot '$TMP/dagb.service' u 1:2 t 'service: POST to complete' lw 2 pt 7, '$TMP/dagb.script' u 1:2 t 'bash script (& and wait)' lw 2 pt 5;
        set ylabel 'peak RSS (MB)';
        plot '$TMP/dagb.service' u 1:3 t 'service process' lw 2 pt 7, '$TMP/dagb.script' u 1:3 t 'script tree (tasks included)' lw 2 pt 5;
        unset multiplot"
    gnuplot -e "$STYLE; set output '$OUT/dag_rows.png'; set multiplot layout 1,2 title 'Demo DAG, 12 batches, no pauses (1 CPU with its tasks)';
        set xlabel 'rows per batch'; set logscale x; set ylabel 'wall time (ms)'; set logscale y;
        plot '$TMP/dagr.service' u 1:2 t 'service' lw 2 pt 7, '$TMP/dagr.script' u 1:2 t 'bash script' lw 2 pt 5,
             '$TMP/dagr.snakemake' u 1:2 t 'snakemake -j12' lw 2 pt 9;
        unset logscale y; set ylabel 'peak RSS (MB)'; set yrange [0:*];
        plot '$TMP/dagr.service' u 1:3 t 'service process' lw 2 pt 7, '$TMP/dagr.script' u 1:3 t 'script tree' lw 2 pt 5,
             '$TMP/dagr.snakemake' u 1:3 t 'snakemake tree' lw 2 pt 9;
        unset multiplot"
fi

if [[ -s "$BENCH_OUT/stream.tsv" ]]; then
    for s in service writer fastapi; do
        for col in 3 4 5 6; do
            medians 2 $col "\$1 == \"$s\"" 1 <"$BENCH_OUT/stream.tsv" >"$TMP/stream.$s.$col"
        done
    done
    gnuplot -e "$STYLE; set output '$OUT/stream.png'; set multiplot layout 1,2 title 'Stream fan-out, 200-byte events, 16 per tick (server on 1 CPU)';
        set xlabel 'clients'; set logscale x; set ylabel 'latency (ms)'; set logscale y;
        plot '$TMP/stream.service.5' u 1:2 t 'service p99' lw 2 pt 7, '$TMP/stream.service.4' u 1:2 t 'service p50' lw 1 pt 6 dt 2,
             '$TMP/stream.writer.5' u 1:2 t 'bare writer p99' lw 2 pt 5, '$TMP/stream.writer.4' u 1:2 t 'bare writer p50' lw 1 pt 4 dt 2,
             '$TMP/stream.fastapi.5' u 1:2 t 'FastAPI p99' lw 2 pt 9;
        unset logscale y; set ylabel 'RSS with N clients (MB)'; set yrange [0:*];
        plot '$TMP/stream.service.6' u 1:2 t 'service' lw 2 pt 7, '$TMP/stream.writer.6' u 1:2 t 'bare writer' lw 2 pt 5,
             '$TMP/stream.fastapi.6' u 1:2 t 'FastAPI' lw 2 pt 9;
        unset multiplot"
fi

if [[ -s "$BENCH_OUT/task.tsv" ]]; then
    for step in generate analyze; do
        awk -F'\t' -v s=$step '$2 == s { print $1 "\t" $3 * 1000 "\t" $4 * 1000 }' "$BENCH_OUT/task.tsv" | sort -n >"$TMP/task.$step"
    done
    gnuplot -e "$STYLE; set output '$OUT/task.png'; set title 'pipeline-task vs plain C loops (1 CPU, median)';
        set xlabel 'rows'; set logscale xy; set ylabel 'wall time (ms)';
        plot '$TMP/task.generate' u 1:2 t 'pipeline-task generate' lw 2 pt 7, '$TMP/task.generate' u 1:3 t 'plain loop generate' lw 2 pt 6 dt 2,
             '$TMP/task.analyze' u 1:2 t 'pipeline-task analyze' lw 2 pt 5, '$TMP/task.analyze' u 1:3 t 'plain loop analyze' lw 2 pt 4 dt 2"
fi
ls "$OUT"/*.png 2>/dev/null
