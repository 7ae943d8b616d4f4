#!/bin/sh
# pertop on a CPython workload: the slowdown of a single-threaded Python
# program whose work runs 30 Python frames deep, alone and under pertop at
# 99 Hz with merged stacks and with --python, and the time the thread is
# stopped per sample (which includes reading the Python frames).  Runs
# alternate; medians of REPS.
#   bench/py_run.sh [REPS] [PYTHON]     (from the build tree)
set -u
BUILD=${BUILD_DIR:-.}
PERTOP=$BUILD/pertop
HERE=$(dirname "$0")
REPS=${1:-5}
PY=${2:-$(command -v python3)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
work() { sed -n 's/^work_seconds=//p' "$1"; }
field() { grep -o "$2=[0-9.]*" "$1" | cut -d= -f2; }

i=0
while [ "$i" -lt "$REPS" ]; do
    "$PY" "$HERE/pywork.py" >"$TMP/o" && work "$TMP/o" >>"$TMP/alone"
    for mode in merged python; do
        extra=""
        [ "$mode" = python ] && extra="--python"
        "$PERTOP" --rate 99 --batch --stats $extra --command-output "$TMP/o" -- \
            "$PY" "$HERE/pywork.py" >/dev/null 2>"$TMP/e"
        work "$TMP/o" >>"$TMP/$mode"
        field "$TMP/e" stop_avg_us >>"$TMP/stop.$mode"
        field "$TMP/e" processing_cpu_us_per_sample >>"$TMP/proc.$mode"
    done
    i=$((i + 1))
done
alone=$(median <"$TMP/alone")
echo "$PY: work alone $alone s (median of $REPS)"
for mode in merged python; do
    m=$(median <"$TMP/$mode")
    printf '%-8s slowdown %s  stop/sample %s us  processing/sample %s us\n' "$mode" \
        "$(awk -v a="$m" -v b="$alone" 'BEGIN { printf "%.3f", a / b }')" \
        "$(median <"$TMP/stop.$mode")" "$(median <"$TMP/proc.$mode")"
done
echo "targets: slowdown <= 1.01 at 99 Hz merged; reading a 30-frame Python stack <= 20 us"
