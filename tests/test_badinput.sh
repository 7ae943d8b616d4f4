#!/bin/sh
# Bad input: one clear line on stderr, the documented exit code, nothing left
# attached.
. "$(dirname "$0")/lib.sh"

# expect_fail CODE PATTERN ARGS... : pertop exits CODE, stderr is one line
# matching PATTERN (extended regex).
expect_fail() {
    code=$1 pat=$2
    shift 2
    "$PERTOP" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    lines=$(wc -l <"$TMP/err")
    if [ "$rc" -eq "$code" ] && [ "$lines" -eq 1 ] && grep -qE "$pat" "$TMP/err"; then
        ok "pertop $* -> exit $rc: $(cat "$TMP/err")"
    else
        fail "pertop $* -> exit $rc (want $code), stderr: $(cat "$TMP/err")"
    fi
}

expect_fail 2 "rate" --rate 0 --pid 1
expect_fail 2 "rate" --rate 1000000 --pid 1
expect_fail 2 "duration" --duration -1 --pid 1
expect_fail 2 "unknown option" --bogus --pid 1
expect_fail 2 "stack-size" --stack-size 100 --pid 1
expect_fail 2 "format" --format xml --pid 1
expect_fail 2 "nothing to profile"
expect_fail 2 "pid" --pid abc
expect_fail 2 "nonblocking reads Python frames only.*add --python" --nonblocking --pid 1
expect_fail 2 "nonblocking reads Python frames only.*add --python" --nonblocking --native --pid 1

# a PID that does not exist
nopid=4194000
while [ -e "/proc/$nopid" ]; do nopid=$((nopid + 1)); done
expect_fail 3 "no process with PID $nopid" --pid "$nopid" --batch --duration 1
expect_fail 3 "no process with PID $nopid" --pid "$nopid" --python --nonblocking --batch \
    --duration 1

# a kernel thread
expect_fail 3 "kernel thread" --pid 2 --batch --duration 1

# a zombie: its parent never reaps it
sh -c 'sleep 0.2 & exec sleep 30' &
zparent=$!
PIDS="$PIDS $zparent"
sleep 0.6
zpid=$(pgrep -P "$zparent" | head -n1)
check "made a zombie ($zpid)" [ "$(proc_state "$zpid")" = "Z" ]
expect_fail 3 "zombie" --pid "$zpid" --batch --duration 1

# a command that cannot be run
expect_fail 5 "cannot run" --batch --duration 1 -- /nonexistent/program

# a command output that cannot be written
expect_fail 6 "cannot write the command's output" --batch --command-output /nonexistent/x.log \
    -- "$FIXTURE_DIR/cpu_mix" --seconds 1

# an output that cannot be written
start_fixture "$FIXTURE_DIR/sleeper"
S=$FIX_PID
expect_fail 6 "cannot write" --pid "$S" --batch --duration 1 -o /nonexistent/dir/out.txt
check "sleeper untouched after output failure" running_free "$S"
# standard output on a full device: the snapshot would be lost, so say so
for view in hot tree; do
    "$PERTOP" --pid "$S" --batch --duration 1 --view "$view" >/dev/full 2>"$TMP/full.err"
    rc=$?
    check "--view $view to a full stdout -> exit 6 (got $rc)" [ "$rc" -eq 6 ]
    check "--view $view to a full stdout says why: $(cat "$TMP/full.err")" \
        grep -qE "cannot write the (snapshot|--view output) to standard output: No space left on device" \
        "$TMP/full.err"
done
printf 'main;run 3\n' >"$TMP/a.folded"
"$PERTOP" diff "$TMP/a.folded" "$TMP/a.folded" >/dev/full 2>"$TMP/full.err"
rc=$?
check "diff to a full stdout -> exit 6 (got $rc): $(cat "$TMP/full.err")" \
    sh -c "[ $rc -eq 6 ] && grep -q 'No space left on device' '$TMP/full.err'"
check "sleeper untouched after the full stdout" running_free "$S"
# --nonblocking on a process that is not a Python: nothing it could read
expect_fail 3 "no CPython found in process $S.*--nonblocking" --pid "$S" --python --nonblocking \
    --batch --duration 1
check "sleeper untouched after --nonblocking refused it" running_free "$S"

# no permission: an unprivileged user may not trace root's process
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid=65534 --regid=65534 --clear-groups "$PERTOP" --pid "$S" --batch \
        --duration 1 >"$TMP/out" 2>"$TMP/err"
    rc=$?
    check "no permission -> exit 4 (got $rc)" [ "$rc" -eq 4 ]
    check "no permission message says what to do: $(cat "$TMP/err")" \
        grep -qE "root|CAP_SYS_PTRACE|ptrace_scope" "$TMP/err"
    check "sleeper untouched after permission failure" running_free "$S"
else
    echo "skip: permission test needs root and setpriv"
fi

# already traced by a debugger
if command -v gdb >/dev/null; then
    gdb -q -batch -p "$S" -ex 'shell sleep 4' >/dev/null 2>&1 &
    G=$!
    PIDS="$PIDS $G"
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        t=$(tracer_of "$S")
        [ -n "$t" ] && [ "$t" != 0 ] && break
        sleep 0.1
    done
    expect_fail 4 "already traced.*gdb" --pid "$S" --engine ptrace --batch --duration 1
    wait "$G" 2>/dev/null
    sleep 0.2
    check "sleeper free again after gdb left" running_free "$S"
else
    echo "skip: gdb not installed"
fi

# the target exits mid-run: pertop says so, still writes snapshot and output
start_fixture "$FIXTURE_DIR/sleeper" --exit-after 2
E=$FIX_PID
"$PERTOP" --pid "$E" --duration 20 --batch --idle -o "$TMP/exit.folded" -f folded \
    >"$TMP/exit.txt" 2>"$TMP/exit.err"
rc=$?
check "target exiting mid-run -> exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "says the process exited: $(cat "$TMP/exit.err")" grep -q "process $E exited" "$TMP/exit.err"
check "snapshot still printed" grep -qE "pid: +$E" "$TMP/exit.txt"
check "folded output still written" [ -s "$TMP/exit.folded" ]
check "idle mode saw the waiting thread" grep -qE "wait_for_pipe|read" "$TMP/exit.folded"

finish
