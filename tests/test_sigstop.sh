#!/bin/sh
# Job control while pertop is attached: a SIGSTOP to the target stops every
# one of its threads at once and holds them until SIGCONT, with either
# engine, at a high rate; then sampling goes on, and pertop leaves the
# target running and untraced.  A traced thread in a group-stop shows 't'
# (the ptrace engine holds it with PTRACE_LISTEN); untraced it shows 'T'.
. "$(dirname "$0")/lib.sh"

# thread_states PID: one letter per thread, e.g. "SRRRR"
thread_states() {
    for st in /proc/"$1"/task/*/stat; do
        awk '{ sub(/.*\) /, ""); printf "%s", $1 }' "$st" 2>/dev/null
    done
}

# only_states PID LETTERS: every thread is in one of LETTERS (e.g. Tt)
only_states() {
    s=$(thread_states "$1")
    [ -n "$s" ] && [ -z "$(printf '%s' "$s" | tr -d "$2")" ]
}

# thread_ticks PID: "tid:utime+stime" per thread, one a line
thread_ticks() {
    for t in /proc/"$1"/task/*; do
        awk -v tid="${t##*/}" '{ sub(/.*\) /, ""); print tid ":" $12 + $13 }' "$t/stat" 2>/dev/null
    done
}

# every_spinner_ran BEFORE AFTER: each thread but the (sleeping) main one
# has more CPU time in AFTER than in BEFORE
every_spinner_ran() {
    awk -F: -v main="$P" 'NR == FNR { a[$1] = $2; next }
        $1 != main { n++; if (!($1 in a) || $2 <= a[$1]) bad++ }
        END { exit !(n == 4 && bad == 0) }' "$1" "$2"
}

# traced: pertop's sampler thread is the tracer (TracerPid is its tid)
traced() {
    tp=$(tracer_of "$P")
    [ -n "$tp" ] && [ "$tp" != 0 ]
}

start_fixture "$FIXTURE_DIR/spinners" --threads 4
P=$FIX_PID
check "fixture: 5 threads, running" [ "$(thread_states "$P" | wc -c)" -eq 5 ]

for eng in ptrace perf; do
    if [ "$eng" = ptrace ]; then stopped=Tt; else stopped=T; fi
    "$PERTOP" --pid "$P" --engine "$eng" --rate 999 --batch -d 60 >"$TMP/$eng.txt" \
        2>"$TMP/$eng.err" &
    T=$!
    # the ptrace engine has attached once it traces the main thread
    i=0
    while [ "$eng" = ptrace ] && ! traced && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    sleep 1
    check "$eng: attached and sampling" kill -0 "$T"
    c=1
    while [ $c -le 3 ]; do
        kill -STOP "$P"
        sleep 0.5
        check "$eng stop #$c: every thread stopped ($(thread_states "$P"))" \
            only_states "$P" "$stopped"
        a=$(cpu_ticks "$P")
        sleep 1
        b=$(cpu_ticks "$P")
        check "$eng stop #$c: no CPU time while stopped ($a -> $b ticks)" [ "$a" -eq "$b" ]
        kill -CONT "$P"
        sleep 0.3
        thread_ticks "$P" >"$TMP/before"
        sleep 1
        thread_ticks "$P" >"$TMP/after"
        check "$eng cont #$c: every spinner runs again ($(thread_states "$P"))" \
            every_spinner_ran "$TMP/before" "$TMP/after"
        c=$((c + 1))
    done
    [ "$eng" = ptrace ] && check "ptrace: still attached after the stops" traced
    kill -INT "$T"
    wait "$T"
    rc=$?
    check "$eng: pertop exits 0 (got $rc)" [ "$rc" -eq 0 ]
    check "$eng: snapshot of the run printed" grep -q "spin" "$TMP/$eng.txt"
    sleep 0.2
    check "$eng: target untraced after pertop (TracerPid $(tracer_of "$P"))" [ "$(tracer_of "$P")" = 0 ]
    check "$eng: every thread R or S after pertop ($(thread_states "$P"))" only_states "$P" RS
done

# pertop leaving while the user holds the target stopped: it stays stopped
# (no longer traced: 'T'), and SIGCONT alone lets it go on
"$PERTOP" --pid "$P" --engine ptrace --rate 999 --batch -d 60 >/dev/null 2>&1 &
T=$!
sleep 1
kill -STOP "$P"
sleep 0.5
kill -INT "$T"
wait "$T"
sleep 0.2
check "detach while stopped: untraced" [ "$(tracer_of "$P")" = 0 ]
check "detach while stopped: still stopped ($(thread_states "$P"))" only_states "$P" T
kill -CONT "$P"
sleep 0.3
check "detach while stopped: SIGCONT lets it run ($(thread_states "$P"))" still_burning "$P"

finish
