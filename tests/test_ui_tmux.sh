#!/bin/sh
# The live screen in a real terminal: tmux runs pertop in a 120x40 window;
# the pane is captured and checked, keys are sent and their effects
# checked, the window is resized, and q leaves the target running.
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux is not installed"; exit 77; }

SOCK="pertop-test-$$"
T="tmux -L $SOCK -f /dev/null"
trap '$T kill-server 2>/dev/null; cleanup' EXIT

cap() { $T capture-pane -p -t "$1" 2>/dev/null; }

# wait_for SESSION SECONDS PATTERN: polls the pane until PATTERN (ERE) shows
wait_for() {
    s=$1 n=$(($2 * 5)) pat=$3
    while [ "$n" -gt 0 ]; do
        cap "$s" | grep -qE -- "$pat" && return 0
        sleep 0.2
        n=$((n - 1))
    done
    echo "--- pane $s while waiting for: $pat"
    cap "$s"
    return 1
}

# never_shows SESSION SECONDS PATTERN: PATTERN does not show for that long
never_shows() {
    n=$(($2 * 5))
    while [ "$n" -gt 0 ]; do
        if cap "$1" | grep -qE -- "$3"; then
            cap "$1"
            return 1
        fi
        sleep 0.2
        n=$((n - 1))
    done
    return 0
}

# wait_joined SESSION SECONDS PATTERN: as wait_for, over the pane's lines
# joined (a wrapped line's words may fall on either side of the break)
wait_joined() {
    s=$1 n=$(($2 * 5)) pat=$3
    while [ "$n" -gt 0 ]; do
        cap "$s" | sed 's/^ *//' | tr '\n' ' ' | grep -qE -- "$pat" && return 0
        sleep 0.2
        n=$((n - 1))
    done
    cap "$s"
    return 1
}

# wait_gone SESSION SECONDS PATTERN
wait_gone() {
    s=$1 n=$(($2 * 5)) pat=$3
    while [ "$n" -gt 0 ]; do
        cap "$s" | grep -qE -- "$pat" || return 0
        sleep 0.2
        n=$((n - 1))
    done
    return 1
}

# start_screen SESSION ARGS...: pertop on the screen in a 120x40 window
start_screen() {
    s=$1
    shift
    $T new-session -d -s "$s" -x 120 -y 40 \
        "env TERM=xterm-256color LANG=C.UTF-8 $PERTOP $*; echo \$? >$TMP/$s.exit; sleep 600"
}

# hot_rows SESSION: the hot-function rows (they start with self% total%)
hot_rows() {
    cap "$1" | grep -E '^ *[0-9]+\.[0-9]% +[0-9]+\.[0-9]% '
}

first_hot_is() {
    n=$(($2 * 5))
    while [ "$n" -gt 0 ]; do
        hot_rows "$1" | head -n1 | grep -q " $3 " && return 0
        sleep 0.2
        n=$((n - 1))
    done
    hot_rows "$1" | head -n3
    return 1
}

only_hot() {
    rows=$(hot_rows "$1")
    [ -n "$rows" ] && ! echo "$rows" | grep -vq "$2"
}

# ------------------------------------------------------------ cpu_mix
start_fixture "$FIXTURE_DIR/cpu_mix" --threads 2
P=$FIX_PID
mkdir "$TMP/snaps"
# the engine the screen will show: perf by default, ptrace only where the
# kernel refuses perf_event (a short batch run says which on stderr, which
# the screen draws over; before the screen, as ptrace allows one tracer)
"$PERTOP" --pid "$P" --duration 0.2 --batch >/dev/null 2>"$TMP/probe.err"
want=$(default_engine "$TMP/probe.err")
start_screen cpu "--pid $P --snapshot-dir $TMP/snaps"

check "header shows the pid" wait_for cpu 15 "PID $P "
check "the hottest function comes first: compute_inner" first_hot_is cpu 20 compute_inner
check "hot row has file:line and module" wait_for cpu 5 "compute_inner +cpu_mix\.c:[0-9]+ +cpu_mix"
check "threads pane names mixworker-1" wait_for cpu 10 "^ *[0-9]+ mixworker-1 +R "
check "threads pane shows what a thread runs now" \
    wait_for cpu 5 "mixworker-2 +[RS] +[0-9.]+ +[0-9.]+ (compute_|parse_input|mix_bits|checksum_block|run_cycle)"
check "the verdict line under the header names the bottleneck" \
    wait_for cpu 15 "^verdict (\(1 of [0-9]+, S writes all\) )?CPU( starvation)? [0-9]+%: (compute_inner|parse_input|compute_|mix_bits)"
check "CPU bar with a percentage" wait_for cpu 5 "CPU\[\|+ *\] +[0-9]+\.[0-9]%"
check "memory pane with RSS" wait_for cpu 5 "RSS [0-9.]+[KMG] +peak [0-9.]+[KMG]"
check "I/O pane with open fds" wait_for cpu 5 "fds [0-9]+"
check "rate asked and achieved" wait_for cpu 5 "rate 99 Hz asked, [0-9]+\.[0-9] achieved"
check "the engine next to the rate: ${want%% *}" wait_for cpu 5 "[0-9] achieved \(${want%% *}\)"
check "status line lists the keys" wait_for cpu 5 "hHelp qQuit"

# / filters as you type, Esc clears
$T send-keys -t cpu / p a r s
check "filter shows in the header" wait_for cpu 5 "filter pars_"
sleep 0.5
check "filter leaves only parse_input in the hot pane" only_hot cpu parse_input
$T send-keys -t cpu Escape
check "Esc clears the filter" wait_gone cpu 5 "filter pars"
check "all functions back after Esc" wait_for cpu 5 "compute_inner +cpu_mix"

# t limits to the thread under the threads cursor
$T send-keys -t cpu t
check "t limits to one thread" wait_for cpu 5 "thread (cpu_mix|mixworker-[12]) \([0-9]+\)"
tname=$(cap cpu | sed -nE 's/.*thread (cpu_mix|mixworker-[12]) \(([0-9]+)\).*/\2/p' | head -n1)
check "threads pane shows only that thread" sh -c \
    "sleep 1.5; [ \$($T capture-pane -p -t cpu | grep -cE '^ *[0-9]+ (cpu_mix|mixworker-[12]) +[RS] ') -eq 1 ]"
$T send-keys -t cpu t
check "t again: all threads" wait_for cpu 5 "thread all"

# 2: hot functions full screen
$T send-keys -t cpu 2
check "layout 2 hides the threads pane" wait_gone cpu 5 "NOW IN"
check "layout 2 hides the memory pane" wait_gone cpu 5 " Memory"
check "layout 2 keeps the hot functions" wait_for cpu 5 "SELF% +TOTAL%"

# s: snapshot of the views on screen
$T send-keys -t cpu s
check "s shows where the snapshot went" wait_for cpu 5 "snapshot written to .*pertop-$P-[0-9]{8}-[0-9]{6}\.txt"
snap=$(ls "$TMP"/snaps/pertop-"$P"-*.txt 2>/dev/null | head -n1)
check "snapshot file exists ($snap)" [ -s "$snap" ]
check "snapshot has the header" grep -q "PID $P " "$snap"
check "snapshot has the hot functions" grep -qE "compute_inner +cpu_mix\.c:[0-9]+" "$snap"
check "snapshot has only the panes on screen" sh -c "! grep -q 'NOW IN' '$snap'"
check "snapshot is plain text" sh -c "! grep -q \"\$(printf '\\033')\" '$snap'"

# resize: the screen redraws for the new size
$T send-keys -t cpu 1
$T resize-window -t cpu -x 80 -y 24
check "after resize to 80x24 the status line is on row 24" sh -c \
    "for i in \$(seq 50); do $T capture-pane -p -t cpu | sed -n 24p | grep -q 'hHelp' && exit 0; sleep 0.2; done; exit 1"
check "80x24 shows every pane" wait_for cpu 5 "NOW IN" && check "80x24 memory pane" wait_for cpu 5 " Memory"
check "80x24 lines fit" sh -c "[ \$($T capture-pane -p -t cpu | LC_ALL=C.UTF-8 wc -L) -le 80 ]"
$T resize-window -t cpu -x 120 -y 40
check "back to 120x40 redraws" sh -c \
    "for i in \$(seq 50); do $T capture-pane -p -t cpu | sed -n 40p | grep -q 'hHelp' && exit 0; sleep 0.2; done; exit 1"

# Enter drills down into the function under the cursor; Esc comes back
# (tests/test_ui_drill.sh checks the views themselves)
$T send-keys -t cpu Enter
check "Enter opens the function view" wait_for cpu 5 "^Callers of "
$T send-keys -t cpu Escape
check "Esc returns to the panes" wait_for cpu 5 "NOW IN"

# q: quit, target left running
$T send-keys -t cpu q
n=50
while [ ! -s "$TMP/cpu.exit" ] && [ "$n" -gt 0 ]; do sleep 0.2; n=$((n - 1)); done
check "q quits pertop with status 0" [ "$(cat "$TMP/cpu.exit" 2>/dev/null)" = 0 ]
check "target still running after q" running_free "$P"
check "target keeps burning CPU" still_burning "$P"
kill -9 "$P"

# ------------------------------------------------------------ exit, Ctrl-C
# launch mode: the target exits, the last views stay until q
# (through a shell that prints once the screen is up, then execs the fixture:
# the output must not reach the screen, and the exec must be followed)
printf 'sleep 1\necho LEAKED-OUTPUT\nexec "%s" --seconds 3\n' "$FIXTURE_DIR/cpu_mix" >"$TMP/noisy.sh"
start_screen ex "-- sh $TMP/noisy.sh"
check "the launched command's output stays off the screen" never_shows ex 4 LEAKED-OUTPUT
# output behind curses' back scrolls the terminal: the header leaves line 1
check "the header is still on the first line" sh -c "$T capture-pane -p -t ex | head -n1 | grep -q '^PID '"
check "launched target exiting is marked" wait_for ex 20 "process exited"
check "the last views stay after the exit" wait_for ex 8 "compute_inner +cpu_mix"
sleep 6 # longer than the recent window: the views must not empty out
check "the views still stand 6 s later" wait_for ex 2 "compute_inner +cpu_mix"
$T send-keys -t ex q
n=50
while [ ! -s "$TMP/ex.exit" ] && [ "$n" -gt 0 ]; do sleep 0.2; n=$((n - 1)); done
check "q after the exit: status 0" [ "$(cat "$TMP/ex.exit" 2>/dev/null)" = 0 ]

# Ctrl-C: pertop ends, the terminal is restored, the target runs on
start_fixture "$FIXTURE_DIR/cpu_mix"
C=$FIX_PID
start_screen cc "--pid $C"
check "screen up for Ctrl-C" wait_for cc 15 "PID $C "
$T send-keys -t cc C-c
n=50
while [ ! -s "$TMP/cc.exit" ] && [ "$n" -gt 0 ]; do sleep 0.2; n=$((n - 1)); done
check "Ctrl-C ends pertop with status 0" [ "$(cat "$TMP/cc.exit" 2>/dev/null)" = 0 ]
check "Ctrl-C leaves the screen (terminal restored)" wait_gone cc 5 "hHelp qQuit"
check "target still running after Ctrl-C" running_free "$C"
kill -9 "$C"

# ------------------------------------------------------------ verdict
# six threads on one mutex: the screen says so, with the function that waits
start_fixture "$FIXTURE_DIR/bottleneck" --lock
L=$FIX_PID
start_screen lock "--pid $L"
check "lock: the verdict line says lock contention in locked_work" \
    wait_for lock 15 "^verdict .*Lock contention [0-9]+%: locked_work \(bottleneck\.c:[0-9]+\): blocked in futex on the lock b"
$T send-keys -t lock D
check "lock: D shows the findings in full, the holder too (wrapped)" \
    wait_joined lock 5 "held by worker-[0-9]+"
check "lock: ... and what the holder last ran" wait_for lock 2 "last seen in spin_for"
check "lock: D's title" wait_for lock 2 "^Verdict: what the bottleneck is"
check "lock: the finding's evidence, the waiting thread's stack" \
    wait_for lock 5 "stack: .*worker > locked_work > pthread_mutex_lock"
check "lock: the cursor on the first finding" wait_for lock 2 "^> Lock contention"
$T send-keys -t lock Enter
check "lock: Enter on the finding opens locked_work's function view" \
    wait_for lock 5 "^Callers of locked_work"
check "lock: ... whose callees show what the holder does (spin_for)" \
    wait_for lock 5 "[0-9.]+% +spin_for "
$T send-keys -t lock Escape
check "lock: Esc back to the panes" wait_for lock 5 "^ *SELF% +TOTAL%"
$T send-keys -t lock D
check "lock: D again" wait_for lock 5 "^Verdict: what the bottleneck is"
$T send-keys -t lock x
check "lock: any other key leaves D for the panes" wait_for lock 5 "^ *SELF% +TOTAL%"
$T send-keys -t lock q
kill -9 "$L"

# ------------------------------------------------------------ memio
if [ -x "$FIXTURE_DIR/memio" ]; then
    start_fixture "$FIXTURE_DIR/memio" --seconds 120
    M=$FIX_PID
    start_screen mem "--pid $M --idle"
    check "memio: RSS grows" wait_for mem 15 "growth \+[0-9.]+[KM]/s"
    check "memio: --idle samples with the default engine too: ${want%% *}" \
        wait_for mem 5 "achieved \(${want%% *}\)"
    check "memio: writes about 1 MiB/s" wait_for mem 15 "write (9[0-9]{2}(\.[0-9])?K|1\.[0-9]M)/s"
    check "memio: reads about 1 MiB/s" wait_for mem 15 "read (9[0-9]{2}(\.[0-9])?K|1\.[0-9]M)/s"
    check "memio: minor faults per second" wait_for mem 5 "minor [1-9][0-9]*"
    check "memio: RSS graph drawn in braille" sh -c "$T capture-pane -p -t mem | grep -qF '⣿'"
    $T send-keys -t mem 4
    check "layout 4: memory and I/O full width" wait_for mem 5 "BLOCKED IN"
    check "memio: blocker blocked in read on a pipe" wait_for mem 15 "blocker +read +[0-9]+ +[0-9.:s]+ pipe:"
    check "memio: netwait blocked in accept on a socket" \
        wait_for mem 10 "netwait +accept4? +[0-9]+ +[0-9.:s]+ socket:"
    check "memio: the sleeping main thread shows as blocked too" \
        wait_for mem 5 "memio +(clock_nanosleep|restart_syscall|nanosleep)"
    $T send-keys -t mem q
    n=50
    while [ ! -s "$TMP/mem.exit" ] && [ "$n" -gt 0 ]; do sleep 0.2; n=$((n - 1)); done
    check "memio: q quits with status 0" [ "$(cat "$TMP/mem.exit" 2>/dev/null)" = 0 ]
    check "memio: target still running after q" running_free "$M"
    kill -9 "$M"
fi

finish
