#!/bin/sh
# Faults: pertop killed -9 while attached, stopped by signals, and launch
# mode's Ctrl-C.  The target must always be left running and untraced.
. "$(dirname "$0")/lib.sh"

start_fixture "$FIXTURE_DIR/cpu_mix" --threads 2
P=$FIX_PID

# kill -9 at random moments, at a high rate so some kills land mid-stop
i=0
while [ $i -lt 8 ]; do
    "$PERTOP" --pid "$P" --rate 999 --batch >/dev/null 2>&1 &
    T=$!
    sleep "0.$((3 + i))"
    kill -9 "$T"
    wait "$T" 2>/dev/null
    sleep 0.05
    check "kill -9 #$i: target running, not stopped, not traced" running_free "$P"
    i=$((i + 1))
done
check "target still burns CPU after the kills" still_burning "$P"
for t in /proc/"$P"/task/*; do
    tid=${t##*/}
    st=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' "$t/status")
    check "thread $tid not stopped (state $st)" [ "$st" != t ] && [ "$st" != T ]
done

# SIGINT, SIGTERM, SIGHUP: detach cleanly, still print the snapshot
for sig in INT TERM HUP; do
    "$PERTOP" --pid "$P" --batch >"$TMP/sig.txt" 2>"$TMP/sig.err" &
    T=$!
    sleep 1
    kill -s "$sig" "$T"
    wait "$T"
    rc=$?
    check "SIG$sig: pertop exits 0 (got $rc)" [ "$rc" -eq 0 ]
    # run_cycle is on every stack of cpu_mix: on a loaded machine pertop may
    # sample for a tenth of a second only, too few samples for one leaf
    check "SIG$sig: snapshot printed" grep -q "run_cycle" "$TMP/sig.txt"
    check "SIG$sig: target running and untraced" running_free "$P"
done
kill -9 "$P"

# launch mode: interrupting pertop stops the command too, as perf record does
"$PERTOP" --batch -- "$FIXTURE_DIR/cpu_mix" >"$TMP/l.txt" 2>"$TMP/l.err" &
T=$!
sleep 1.5
C=$(pgrep -P "$T" | head -n1)
check "launched command runs as pertop's child ($C)" [ -n "$C" ]
kill -INT "$T"
wait "$T"
rc=$?
check "launch + SIGINT: pertop exits 0 (got $rc)" [ "$rc" -eq 0 ]
sleep 0.2
check "launch + SIGINT: command stopped too" [ ! -e "/proc/$C" ]
check "launch + SIGINT: snapshot printed" grep -q "compute_inner" "$TMP/l.txt"

# a full filesystem while writing an export: the reason is said, exit 6,
# and nothing is left under the final name or as a temporary
FULL="$TMP/full"
mkdir -p "$FULL"
if mount -t tmpfs -o size=64k tmpfs "$FULL" 2>/dev/null; then
    head -c 60000 /dev/zero >"$FULL/filler" 2>/dev/null
    "$PERTOP" --batch -d 1 -o "$FULL/p.svg" -f svg -- "$FIXTURE_DIR/cpu_mix" >/dev/null \
        2>"$TMP/full.err"
    rc=$?
    check "full disk: exit 6 (got $rc)" [ "$rc" -eq 6 ]
    check "full disk: says No space left on device" grep -q "No space left on device" "$TMP/full.err"
    check "full disk: no file left behind" sh -c "! ls '$FULL' | grep -q '^p.svg'"
    # every other format, on a disk with no room left at all
    head -c 100000 /dev/zero >"$FULL/filler2" 2>/dev/null
    for fmt in text folded speedscope report pprof; do
        "$PERTOP" --batch -d 0.5 -o "$FULL/p.$fmt" -f "$fmt" -- "$FIXTURE_DIR/cpu_mix" \
            >/dev/null 2>"$TMP/full.err"
        rc=$?
        check "full disk, $fmt: exit 6 (got $rc)" [ "$rc" -eq 6 ]
        check "full disk, $fmt: says No space left on device" \
            grep -q "cannot write $FULL/p.$fmt: No space left on device" "$TMP/full.err"
    done
    check "full disk: no file left behind by any format" sh -c "! ls '$FULL' | grep -q '^p\.'"
    umount "$FULL"
else
    echo "note: cannot mount a small tmpfs here: the full-disk case is left out"
fi

# a command that exits at once: its maps are read before it runs, so 20
# of them in a row all end with its status, never "cannot read the memory
# map" (seen 4 times in 20 under the sanitizers before)
bad=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    eng=perf
    [ $((i % 2)) -eq 0 ] && eng=ptrace
    "$PERTOP" --engine "$eng" --batch -- sh -c 'exit 7' >/dev/null 2>"$TMP/quick.err"
    rc=$?
    [ "$rc" -eq 7 ] || { bad=$((bad + 1)); cat "$TMP/quick.err"; }
done
check "launch: a command that exits at once, 20 times: its status each time ($bad not)" \
    [ "$bad" -eq 0 ]

# a command that ends on its own passes its status through, as perf record
# and time do; pertop's own failures keep pertop's codes
for eng in perf ptrace; do
    "$PERTOP" --engine "$eng" --batch -- sh -c 'exit 7' >/dev/null 2>&1
    rc=$?
    check "launch ($eng): the command's exit 7 is pertop's (got $rc)" [ "$rc" -eq 7 ]
    "$PERTOP" --engine "$eng" --batch -- sh -c 'kill -TERM $$' >/dev/null 2>&1
    rc=$?
    check "launch ($eng): killed by SIGTERM gives 143 (got $rc)" [ "$rc" -eq 143 ]
    # ending before --duration is ending on its own too
    "$PERTOP" --engine "$eng" --batch --duration 5 -- sh -c 'exit 7' >/dev/null 2>&1
    rc=$?
    check "launch ($eng) --duration 5: exit 7 passed through (got $rc)" [ "$rc" -eq 7 ]
    "$PERTOP" --engine "$eng" --batch --duration 5 -- sh -c 'kill -KILL $$' >/dev/null 2>&1
    rc=$?
    check "launch ($eng) --duration 5: killed by SIGKILL gives 137 (got $rc)" [ "$rc" -eq 137 ]
    "$PERTOP" --engine "$eng" --batch --duration 5 -- true >/dev/null 2>&1
    rc=$?
    check "launch ($eng) --duration 5: a command that succeeds gives 0 (got $rc)" [ "$rc" -eq 0 ]
done
"$PERTOP" --batch -d 1 -- sleep 30 >/dev/null 2>&1
rc=$?
check "launch: a command pertop stops at --duration gives 0 (got $rc)" [ "$rc" -eq 0 ]
"$PERTOP" --batch -o "$TMP/no/such/dir/p.txt" -- sh -c 'exit 7' >/dev/null 2>&1
rc=$?
check "launch: pertop's own failure keeps its code 6 (got $rc)" [ "$rc" -eq 6 ]

finish
