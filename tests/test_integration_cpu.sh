#!/bin/sh
# The designed CPU mix of tests/fixtures/cpu_mix comes out of pertop within
# 5 points, with full stacks, inlined frames, named threads and launch mode.
. "$(dirname "$0")/lib.sh"

start_fixture "$FIXTURE_DIR/cpu_mix"
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 6 --rate 499 --batch --stats --output "$TMP/mix.folded" \
    --format folded >"$TMP/mix.txt" 2>"$TMP/mix.err"
check "batch run exits 0" [ $? -eq 0 ]
check "the ${TEST_ENGINE:-perf} engine sampled" grep -q "stats: engine=${TEST_ENGINE:-perf}" "$TMP/mix.err"
check "folded output written" [ -s "$TMP/mix.folded" ]
total=$(folded_total "$TMP/mix.folded")
check "enough samples ($total)" [ "${total:-0}" -ge 800 ]

check_mix "$TMP/mix.folded" ""

main_pct=$(folded_with_pct "$TMP/mix.folded" main)
check "stacks reaching main: $main_pct% (>= 98%)" at_least "$main_pct" 98
check "compute_inner under main;run_cycle;compute_outer;compute_middle" \
    grep -q "main;run_cycle;compute_outer;compute_middle;compute_inner " "$TMP/mix.folded"
check "inlined mix_bits is its own frame under checksum_block" \
    grep -q "run_cycle;checksum_block;mix_bits " "$TMP/mix.folded"

# the text snapshot
check "snapshot header names the pid" grep -qE "pid: +$P" "$TMP/mix.txt"
check "snapshot has the hot table" grep -q "compute_inner.*cpu_mix.c:[0-9]" "$TMP/mix.txt"
check "snapshot shows the inline function with file:line" grep -q "mix_bits.*cpu_mix.c:[0-9]" "$TMP/mix.txt"
check "snapshot has hottest stacks" grep -qi "hottest stacks" "$TMP/mix.txt"
first=$(grep -m1 -E '^ *[0-9.]+% ' "$TMP/mix.txt")
check "hottest function first: $first" sh -c "echo '$first' | grep -q compute_inner"
check "target still running after detach" running_free "$P"
check "target keeps burning CPU" still_burning "$P"

# the header names the engine that sampled: perf by default, ptrace when
# asked for (no note then: it is the one asked for)
want=$(default_engine "$TMP/mix.err")
if [ -n "${TEST_ENGINE:-}" ]; then
    check "snapshot header: engine $TEST_ENGINE, as asked" grep -qE "^engine: +$TEST_ENGINE" \
        "$TMP/mix.txt"
elif [ "$want" = ptrace ]; then
    check "snapshot header: engine $want by default" grep -qxF "engine:     $want" "$TMP/mix.txt"
    check "snapshot header: why not perf" grep -q "^engine note: perf_event sampling refused" \
        "$TMP/mix.txt"
else
    check "snapshot header: engine $want by default" grep -qxF "engine:     $want" "$TMP/mix.txt"
    check "snapshot header: no engine note when perf samples" \
        sh -c "! grep -q '^engine note:' '$TMP/mix.txt'"
    "$PERTOP" --pid "$P" --duration 1 --clock cpu-clock --batch >"$TMP/cc.txt" 2>"$TMP/cc.err"
    check "--clock cpu-clock: the header says so" grep -qxF "engine:     perf (cpu-clock)" \
        "$TMP/cc.txt"
fi
"$PERTOP" --pid "$P" --duration 1 --engine ptrace --batch >"$TMP/pt.txt" 2>"$TMP/pt.err"
check "--engine ptrace exits 0" [ $? -eq 0 ]
check "--engine ptrace: the header says ptrace" grep -qxF "engine:     ptrace" "$TMP/pt.txt"
# asked for, ptrace has no note, unless its stops were slow (then it says so)
check "--engine ptrace: no engine note but a slow-stop warning" \
    sh -c "! grep '^engine note:' '$TMP/pt.txt' | grep -qv 'to stop (over'"
kill -9 "$P"

# named threads, thread as the root frame
start_fixture "$FIXTURE_DIR/cpu_mix" --threads 2
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 2 --batch -o "$TMP/thr.folded" -f folded --threads >/dev/null 2>&1
check "threads run exits 0" [ $? -eq 0 ]
check "thread mixworker-1 is a root frame" grep -qE "^mixworker-1-[0-9]+;" "$TMP/thr.folded"
check "thread mixworker-2 is a root frame" grep -qE "^mixworker-2-[0-9]+;" "$TMP/thr.folded"
check "main thread is a root frame" grep -qE "^cpu_mix-$P;" "$TMP/thr.folded"
check "worker stacks start in a thread entry" grep -qE "^mixworker-1-[0-9]+;.*(clone|start_thread).*;worker;run_cycle" "$TMP/thr.folded"
kill -9 "$P"

# launch mode: profile until the command exits
"$PERTOP" --batch -o "$TMP/launch.folded" -f folded -- "$FIXTURE_DIR/cpu_mix" --seconds 2 \
    >"$TMP/launch.txt" 2>"$TMP/launch.err"
check "launch mode exits 0" [ $? -eq 0 ]
check "launch mode says the command exited" grep -q "exited with status 0" "$TMP/launch.err"
check "launch mode profile has compute_inner" grep -q "compute_inner" "$TMP/launch.folded"
launch_total=$(folded_total "$TMP/launch.folded")
# the samples follow the command's CPU time, which a loaded machine cuts:
# the rate per CPU-second says whether every one of them was sampled
launch_hz=$(sed -n 's/^rate: .* \([0-9.]*\) Hz achieved.*/\1/p' "$TMP/launch.txt")
check "launch mode sampled to the end ($launch_total samples, ${launch_hz:-?} Hz per CPU-second)" \
    sh -c "[ '${launch_total:-0}' -ge 30 ] && awk -v r='${launch_hz:-0}' 'BEGIN { exit !(r >= 85) }'"

# the launched command's output can go to a file
"$PERTOP" --batch --command-output "$TMP/cmd.out" -- "$FIXTURE_DIR/cpu_mix" --seconds 1 \
    >"$TMP/co.txt" 2>&1
check "--command-output: exits 0" [ $? -eq 0 ]
check "--command-output: the command's output is in the file" grep -q "^ready" "$TMP/cmd.out"
check "--command-output: and not in pertop's" sh -c "! grep -q '^ready' '$TMP/co.txt'"

finish
