#!/bin/sh
# pertop benchmark: the target's slowdown under pertop and under
# `perf record --call-graph dwarf`, at 99 Hz and 999 Hz, plus pertop's stop
# time and CPU per sample.  Runs alternate (alone, pertop, perf, ...) and
# every figure is the median of REPS runs; the machine is noisy.
#   bench/run.sh [REPS]          (default 5; run from the build tree)
#   bench/run.sh --memory [SECS] pertop's RSS after SECS (default 600) at 999 Hz
set -u
BUILD=${BUILD_DIR:-.}
PERTOP=$BUILD/pertop
WORK=$BUILD/bench/work
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [ "${1:-}" = "--memory" ]; then
    secs=${2:-600}
    "$WORK" --rounds 100000000 >/dev/null &
    W=$!
    "$PERTOP" --pid "$W" --rate 999 --batch --duration "$secs" --stats >/dev/null 2>"$TMP/m.err" &
    P=$!
    sleep $((secs - 1))
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$P/status" 2>/dev/null)
    wait "$P"
    kill "$W"
    awk -v s="$secs" -v r="${rss:-0}" 'BEGIN { printf "pertop RSS after %s s at 999 Hz, while sampling: %.1f MiB\n", s - 1, r / 1024 }'
    grep -o 'maxrss_kib=[0-9]*' "$TMP/m.err" |
        awk -F= '{ printf "pertop max RSS, the final output included: %.1f MiB\n", $2 / 1024 }'
    exit 0
fi

REPS=${1:-5}
. "$(dirname "$0")/lib.sh"
work_time() { sed -n 's/^work_seconds=//p' "$1"; }

have_perf=0
perf record -o "$TMP/probe.data" -e task-clock true >/dev/null 2>&1 && have_perf=1

i=0
while [ "$i" -lt "$REPS" ]; do
    "$WORK" >"$TMP/o" && work_time "$TMP/o" >>"$TMP/alone"
    for hz in 99 999; do
        "$PERTOP" --rate "$hz" --batch --stats -- "$WORK" >"$TMP/o" 2>"$TMP/e"
        work_time "$TMP/o" >>"$TMP/pertop.$hz"
        field "$TMP/e" stop_avg_us >>"$TMP/stop.$hz"
        a=$(field "$TMP/e" sampler_cpu_us_per_sample)
        b=$(field "$TMP/e" processing_cpu_us_per_sample)
        echo "$a" >>"$TMP/scpu.$hz"
        echo "$b" >>"$TMP/pcpu.$hz"
        awk -v a="$a" -v b="$b" 'BEGIN { print a + b }' >>"$TMP/cpu.$hz"
        if [ "$have_perf" -eq 1 ]; then
            perf record -q -e task-clock -F "$hz" --call-graph dwarf,16384 -o "$TMP/perf.data" \
                -- "$WORK" >"$TMP/o" 2>/dev/null
            work_time "$TMP/o" >>"$TMP/perf.$hz"
        fi
    done
    i=$((i + 1))
done

alone=$(median <"$TMP/alone")
echo "target alone: median work time $alone s over $REPS runs"
printf '%-8s %-22s %-22s %-18s %-26s\n' rate "pertop slowdown" "perf dwarf slowdown" "stop/sample (us)" "pertop CPU/sample (us)"
for hz in 99 999; do
    p=$(median <"$TMP/pertop.$hz")
    pr=$(awk -v a="$p" -v b="$alone" 'BEGIN { printf "%.3f", a / b }')
    if [ -s "$TMP/perf.$hz" ]; then
        f=$(median <"$TMP/perf.$hz")
        fr=$(awk -v a="$f" -v b="$alone" 'BEGIN { printf "%.3f", a / b }')
    else
        fr="n/a"
    fi
    st=$(median <"$TMP/stop.$hz")
    cpu=$(median <"$TMP/cpu.$hz")
    sc=$(median <"$TMP/scpu.$hz")
    pc=$(median <"$TMP/pcpu.$hz")
    printf '%-8s %-22s %-22s %-18s %-26s\n' "${hz}Hz" "$pr" "$fr" "$st" "$cpu (sampler $sc + unwind/aggregate $pc)"
done
echo "targets: slowdown at 99 Hz <= 1.01; stop <= 40 us; pertop CPU <= 20 us per sample (20-frame stack)"
