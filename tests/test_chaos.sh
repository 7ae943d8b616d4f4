#!/bin/sh
# Chaos: pertop killed with -9, SIGINT, SIGTERM and SIGHUP at random
# moments while it samples a multi-threaded target with either engine
# (CHAOS_CYCLES of each, 20 by default; bench/chaos.sh runs 1,000): every
# thread must end running or sleeping (R or S, never t or T), untraced,
# its CPU time advancing.  Then the target's own SIGALRM and SIGPROF
# timers keep their rates within 2% while it is sampled (ptrace's SIGPROF
# is measured only, see below), and pertop's
# descriptors do not grow over thousands of thread births.  Prints the
# table "fault cycles violations".
. "$(dirname "$0")/lib.sh"

CYCLES=${CHAOS_CYCLES:-20}
start_fixture "$FIXTURE_DIR/cpu_mix" --threads 3
P=$FIX_PID

# every_thread_free PID: each thread R or S, the process untraced
every_thread_free() {
    [ "$(tracer_of "$1")" = 0 ] || return 1
    for t in /proc/"$1"/task/*; do
        st=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' "$t/status" 2>/dev/null)
        case "$st" in R | S | "") ;; *) return 1 ;; esac
    done
}

# a pause of 50-900 ms, from awk's generator seeded by the cycle
pause_of() { awk -v s="$1" 'BEGIN { srand(s); printf "%.3f", 0.05 + 0.85 * rand() }'; }

TABLE=""
for sig in KILL INT TERM HUP; do
    bad=0
    i=0
    while [ "$i" -lt "$CYCLES" ]; do
        eng=perf
        [ $((i % 2)) -eq 1 ] && eng=ptrace
        "$PERTOP" --pid "$P" --engine "$eng" --rate 999 --batch >/dev/null 2>&1 &
        T=$!
        sleep "$(pause_of "$i$sig")"
        kill -"$sig" "$T" 2>/dev/null
        wait "$T" 2>/dev/null
        # a pertop that outlives SIGHUP or SIGTERM is a violation too
        if [ -e "/proc/$T" ] || ! every_thread_free "$P"; then
            bad=$((bad + 1))
            echo "violation: SIG$sig cycle $i ($eng): $(cat /proc/"$P"/task/*/stat 2>/dev/null |
                awk '{ printf "%s", $3 }') tracer $(tracer_of "$P")"
            kill -9 "$T" 2>/dev/null
        fi
        i=$((i + 1))
    done
    check "SIG$sig x$CYCLES: every thread running, untraced, after each" [ "$bad" -eq 0 ]
    TABLE="$TABLE
SIG$sig $CYCLES $bad"
done
check "the target still burns CPU after all of them" still_burning "$P"
kill -9 "$P"

# the target's own timers: their rates profiled against unprofiled
start_fixture "$FIXTURE_DIR/timers" "$TMP/timers"
P=$FIX_PID
field() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1"; }
# rates BEFORE AFTER: "alrm per wall-ms prof per cpu-ms" between readings
rates() {
    awk -v a0="$(field "$1" alrm)" -v a1="$(field "$2" alrm)" -v w0="$(field "$1" wall_ms)" \
        -v w1="$(field "$2" wall_ms)" -v p0="$(field "$1" prof)" -v p1="$(field "$2" prof)" \
        -v c0="$(field "$1" cpu_ms)" -v c1="$(field "$2" cpu_ms)" \
        'BEGIN { printf "%.4f %.4f", (a1 - a0) / (w1 - w0), (p1 - p0) / (c1 - c0) }'
}
sleep 0.5
cp "$TMP/timers" "$TMP/t0"
sleep 2.5
cp "$TMP/timers" "$TMP/t1"
base=$(rates "$TMP/t0" "$TMP/t1")
bad=0
for eng in perf ptrace; do
    cp "$TMP/timers" "$TMP/t2"
    "$PERTOP" --pid "$P" --engine "$eng" --rate 999 --duration 2.5 --batch >/dev/null 2>&1
    cp "$TMP/timers" "$TMP/t3"
    got=$(rates "$TMP/t2" "$TMP/t3")
    for k in 1 2; do
        b=$(echo "$base" | cut -d' ' -f$k)
        g=$(echo "$got" | cut -d' ' -f$k)
        name=$([ "$k" = 1 ] && echo SIGALRM || echo SIGPROF)
        ok=$(awk -v b="$b" -v g="$g" \
            'BEGIN { d = g - b; if (d < 0) d = -d; print (b > 0 && d <= 0.02 * b) }')
        # ptrace's SIGPROF is measured, not asserted: its stops move the
        # target's CPU time between timer ticks (4% more on an idle
        # machine) and, on a loaded one, SIGPROFs were seen to coalesce
        # while a thread sat in a stop (17% of them left in one run);
        # the perf engine, the default, stops nothing
        if [ "$eng" = ptrace ] && [ "$k" = 2 ]; then
            echo "measured: ptrace: the target's SIGPROF rate $g, unprofiled $b"
            continue
        fi
        check "$eng: the target's $name rate $g, unprofiled $b (within 2%)" [ "$ok" = 1 ]
        [ "$ok" = 1 ] || bad=$((bad + 1))
    done
done
TABLE="$TABLE
timers(perf:alrm+prof,ptrace:alrm) 3 $bad"
kill -9 "$P"

# descriptors over thread births: bench/churn creates ~10,000 threads a
# second; pertop's open descriptors after 1 s and after 4 s
bad=0
for eng in perf ptrace; do
    "$BUILD_DIR/bench/churn" --threads 100000000 >/dev/null &
    C=$!
    PIDS="$PIDS $C"
    sleep 0.3
    "$PERTOP" --pid "$C" --engine "$eng" --duration 5 --batch >/dev/null 2>&1 &
    T=$!
    sleep 1
    n1=$(ls "/proc/$T/fd" 2>/dev/null | wc -l)
    sleep 3
    n2=$(ls "/proc/$T/fd" 2>/dev/null | wc -l)
    wait "$T"
    kill -9 "$C"
    check "$eng: pertop's descriptors over thread churn: $n1 at 1 s, $n2 at 4 s (+8 at most)" \
        [ "$n1" -gt 0 ] && [ "$n2" -le $((n1 + 8)) ]
    [ "$n1" -gt 0 ] && [ "$n2" -le $((n1 + 8)) ] || bad=$((bad + 1))
done
TABLE="$TABLE
fd-leak(perf,ptrace) 2 $bad"

echo "chaos table (fault cycles violations):$TABLE"
finish
