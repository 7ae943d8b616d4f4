# Shared helpers for the integration tests (sourced).  Each test script
# starts the fixtures it needs and kills them on exit.
set -u
PERTOP=${PERTOP:-./pertop}
FIXTURE_DIR=${FIXTURE_DIR:-tests/fixtures}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pertop-test.XXXXXX")
# TEST_ENGINE=ptrace runs a whole test with that engine: every pertop
# command line gets --engine (pertop diff, which samples nothing, does not)
if [ -n "${TEST_ENGINE:-}" ]; then
    real=$(cd "$(dirname "$PERTOP")" && pwd)/$(basename "$PERTOP")
    PERTOP="$TMP/pertop-$TEST_ENGINE"
    printf '#!/bin/sh\ncase "${1:-}" in diff) exec "%s" "$@" ;; esac\nexec "%s" --engine %s "$@"\n' \
        "$real" "$real" "$TEST_ENGINE" >"$PERTOP"
    chmod +x "$PERTOP"
fi
PIDS=""
FAILS=0
CHECKS=0

cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

# start_fixture NAME ARGS... : starts it in the background, waits for its
# "ready" line, sets FIX_PID.
start_fixture() {
    FIXN=$((${FIXN:-0} + 1))
    fifo="$TMP/ready.$FIXN"
    mkfifo "$fifo"
    "$@" >"$fifo" 2>&1 &
    FIX_PID=$!
    PIDS="$PIDS $FIX_PID"
    if ! timeout 10 head -n1 "$fifo" | grep -q ready; then
        echo "FAIL: fixture $1 did not start"
        exit 1
    fi
    # keep draining its output so it never blocks on a full pipe
    cat "$fifo" >/dev/null &
}

ok() {
    CHECKS=$((CHECKS + 1))
    echo "ok: $*"
}

fail() {
    CHECKS=$((CHECKS + 1))
    FAILS=$((FAILS + 1))
    echo "FAIL: $*"
}

check() {
    desc=$1
    shift
    if "$@"; then ok "$desc"; else fail "$desc"; fi
}

# proc_state PID -> one letter (R S D T t Z ...), empty when gone
proc_state() {
    sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' "/proc/$1/status" 2>/dev/null
}

tracer_of() {
    sed -n 's/^TracerPid:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null
}

# running_free PID: alive, not stopped, not traced
running_free() {
    st=$(proc_state "$1")
    [ -n "$st" ] && [ "$st" != "t" ] && [ "$st" != "T" ] && [ "$(tracer_of "$1")" = "0" ]
}

# cpu_ticks PID: utime+stime
cpu_ticks() {
    awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null
}

# still_burning PID: it keeps consuming CPU
still_burning() {
    a=$(cpu_ticks "$1")
    sleep 0.5
    b=$(cpu_ticks "$1")
    [ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ]
}

finish() {
    echo "$((CHECKS - FAILS)) passed, $FAILS failed"
    [ "$FAILS" -eq 0 ]
    exit $?
}

# Folded-profile queries.  A line is "f1;f2;...;fn COUNT" (frames may hold
# spaces, the count follows the last one).
# folded_self_pct FILE FUNC: % of samples whose innermost frame is FUNC
folded_self_pct() {
    awk -v fn="$2" '{ n = $NF; s = substr($0, 1, length($0) - length($NF) - 1);
        k = split(s, f, ";"); tot += n; if (f[k] == fn) hit += n }
        END { printf "%.1f", tot ? 100 * hit / tot : 0 }' "$1"
}
# folded_with_pct FILE FUNC: % of samples with FUNC anywhere on the stack
folded_with_pct() {
    awk -v fn="$2" '{ n = $NF; s = substr($0, 1, length($0) - length($NF) - 1);
        k = split(s, f, ";"); tot += n; for (i = 1; i <= k; i++) if (f[i] == fn) { hit += n; break } }
        END { printf "%.1f", tot ? 100 * hit / tot : 0 }' "$1"
}
# folded_total FILE: samples in the file
folded_total() {
    awk '{ tot += $NF } END { print tot + 0 }' "$1"
}
# within A B TOL: |A - B| <= TOL (decimals)
within() {
    awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}
# at_least A B: A >= B (decimals)
at_least() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'
}
# default_engine ERRFILE: the engine a run without --engine must have
# sampled with, from its stderr: perf on task-clock, or ptrace when the
# kernel refused perf_event (the run says so there, and why)
default_engine() {
    if grep -q "perf_event sampling refused" "$1"; then echo ptrace; else echo "perf (task-clock)"; fi
}
# check_mix FOLDED LABEL: the self shares of tests/fixtures/cpu_mix's
# functions within 5 points of their design
check_mix() {
    for pair in compute_inner:30 parse_input:25 compute_middle:20 mix_bits:15 compute_outer:10; do
        fn=${pair%%:*}
        want=${pair#*:}
        got=$(folded_self_pct "$1" "$fn")
        check "$2self of $fn is $got%, designed $want% (±5)" within "$got" "$want" 5
    done
}
# perf record beside pertop, for the side-by-side checks (never perf record
# -o /dev/null: perf renames an existing output to .old and writes a
# regular file in its place)
have_perf() { command -v perf >/dev/null 2>&1 && perf record -q -o "$TMP/probe.perf" -- true >/dev/null 2>&1; }
# perf_self_pct DATA SYMBOL: perf report's self share of SYMBOL
perf_self_pct() {
    perf report -i "$1" --stdio --no-children --sort sym -q 2>/dev/null |
        awk -v fn="$2" '$NF == fn { sub(/%/, "", $1); print $1; exit }'
}
# pyenv_python X.Y: pyenv's interpreter for X.Y (any micro version), or
# nothing when it is not installed
pyenv_python() {
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    for d in "$root"/versions/"$1".*; do
        [ -x "$d/bin/python$1" ] && { echo "$d/bin/python$1"; return; }
    done
}
# tmux_wait SOCK SESSION SECONDS ERE: polls the pane until a line matches;
# on a timeout shows the pane's first lines
tmux_wait() {
    n=$(($3 * 5))
    while [ "$n" -gt 0 ]; do
        tmux -L "$1" capture-pane -p -t "$2" 2>/dev/null | grep -qE -- "$4" && return 0
        sleep 0.2
        n=$((n - 1))
    done
    tmux -L "$1" capture-pane -p -t "$2" 2>/dev/null | head -12
    return 1
}
