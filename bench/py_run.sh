#!/bin/sh
# pertop on a CPython workload whose work runs 30 Python frames deep
# (bench/pywork.py, single-threaded).  Runs alternate; each figure is the
# median of REPS:
#   - the workload alone;
#   - pertop at 99 Hz, merged stacks: slowdown, time stopped per sample,
#     and what reading the Python stack costs: the walk's time on the
#     sampler thread (read_us_per_walk, with its target reads) and the
#     sampler's CPU per sample against a --native run of the same rate;
#   - pertop --python at 99 Hz: slowdown;
#   - pertop --python --nonblocking --rate 10000: slowdown, usable samples
#     per second (walks not torn, over the whole run), torn %;
#   - `perf record -F 99 -g` on the same workload when perf is installed
#     (py-spy and Austin are not here): its slowdown, a fair native peer.
#   bench/py_run.sh [REPS] [PYTHON]     (from the build tree)
set -u
BUILD=${BUILD_DIR:-.}
PERTOP=$BUILD/pertop
HERE=$(dirname "$0")
REPS=${1:-5}
PY=${2:-$(command -v python3)}
ROUNDS=${PYWORK_ROUNDS:-2000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$(dirname "$0")/lib.sh"
work() { sed -n 's/^work_seconds=//p' "$1"; }
cpu() { sed -n 's/^cpu_seconds=//p' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
PERF=$(command -v perf || true)

# run MODE: one profiled run; figures appended to $TMP/<mode>.<field>
run() {
    mode=$1
    shift
    "$PERTOP" --batch --stats "$@" --command-output "$TMP/o" -- \
        "$PY" "$HERE/pywork.py" "$ROUNDS" >/dev/null 2>"$TMP/e"
    work "$TMP/o" >>"$TMP/$mode.work"
    cpu "$TMP/o" >>"$TMP/$mode.cpu"
    for f in stop_avg_us sampler_cpu_us_per_sample read_us_per_walk reads_per_walk \
        torn_pct walks torn elapsed; do
        v=$(field "$TMP/e" "$f")
        [ -n "$v" ] && echo "$v" >>"$TMP/$mode.$f"
    done
}

i=0
while [ "$i" -lt "$REPS" ]; do
    "$PY" "$HERE/pywork.py" "$ROUNDS" >"$TMP/o" && work "$TMP/o" >>"$TMP/alone.work" &&
        cpu "$TMP/o" >>"$TMP/alone.cpu"
    run merged --rate 99
    run native --rate 99 --native
    run python --rate 99 --python
    run nonblocking --rate 10000 --python --nonblocking
    # usable samples per second of this run: walks not torn over its length
    awk -v w="$(tail -n1 "$TMP/nonblocking.walks")" -v t="$(tail -n1 "$TMP/nonblocking.torn")" \
        -v e="$(tail -n1 "$TMP/nonblocking.elapsed")" \
        'BEGIN { printf "%.0f\n", (e > 0 ? (w - t) / e : 0) }' >>"$TMP/nonblocking.usable"
    if [ -n "$PERF" ]; then
        "$PERF" record -q -F 99 -g -o "$TMP/perf.data" -- "$PY" "$HERE/pywork.py" "$ROUNDS" \
            >"$TMP/o" 2>/dev/null && work "$TMP/o" >>"$TMP/perf.work" &&
            cpu "$TMP/o" >>"$TMP/perf.cpu"
    fi
    i=$((i + 1))
done

m() { median <"$TMP/$1"; }
alone=$(m alone.work)
acpu=$(m alone.cpu)
echo "$PY, pywork.py $ROUNDS rounds: work alone $alone s, $acpu s of its CPU (medians of $REPS alternating runs)"
echo "slowdown: wall time / alone (CPU time of the target / alone, which CPU taken by other programs does not inflate)"
slow() { printf '%s (%s)' "$(ratio "$(m "$1.work")" "$alone")" "$(ratio "$(m "$1.cpu")" "$acpu")"; }
printf 'merged  99 Hz: slowdown %s  stop/sample %s us  Python read %s us/walk (%s reads)  sampler CPU/sample %s us (--native %s us)\n' \
    "$(slow merged)" "$(m merged.stop_avg_us)" \
    "$(m merged.read_us_per_walk)" "$(m merged.reads_per_walk)" \
    "$(m merged.sampler_cpu_us_per_sample)" "$(m native.sampler_cpu_us_per_sample)"
printf -- '--python 99 Hz: slowdown %s  stop/sample %s us  Python read %s us/walk\n' \
    "$(slow python)" "$(m python.stop_avg_us)" \
    "$(m python.read_us_per_walk)"
printf -- '--python --nonblocking --rate 10000: slowdown %s  usable %s samples/s  torn %s%%  read %s us/walk  sampler CPU/sample %s us\n' \
    "$(slow nonblocking)" "$(m nonblocking.usable)" \
    "$(m nonblocking.torn_pct)" "$(m nonblocking.read_us_per_walk)" \
    "$(m nonblocking.sampler_cpu_us_per_sample)"
if [ -n "$PERF" ] && [ -s "$TMP/perf.work" ]; then
    printf 'perf record -F 99 -g: slowdown %s\n' "$(slow perf)"
else
    echo "perf record: not installed, no comparison"
fi
echo "targets: merged 99 Hz slowdown <= 1.01; Python read <= 20 us per 30-frame walk;"
echo "         --nonblocking >= 5000 usable samples/s at --rate 10000 with slowdown <= 1.02"
