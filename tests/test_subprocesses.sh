#!/bin/sh
# --subprocesses: a shell script whose work is in its children.  Two busy
# children one after the other both appear, each under its own process in
# --threads output, with the functions perf record finds in them; a child
# that forks a grandchild is followed too; children running when pertop
# attaches with --pid are found; nothing is left traced or stopped, and
# kill -9 of pertop leaves every child running.  Needs the perf_event
# engine (skipped where the kernel refuses it).
. "$(dirname "$0")/lib.sh"

"$PERTOP" --pid $$ --duration 0.2 --batch >/dev/null 2>"$TMP/probe.err"
if [ "$(default_engine "$TMP/probe.err")" != "perf (task-clock)" ]; then
    echo "SKIP: perf_event is refused here: --subprocesses needs it"
    exit 77
fi

# two busy children one after the other; the second through a subshell
# that forks it (a grandchild of the script)
cat >"$TMP/two.sh" <<EOF
#!/bin/sh
"$FIXTURE_DIR/cpu_mix" --seconds 2 >/dev/null
sh -c '"$FIXTURE_DIR/plt_vdso" plt >/dev/null & c=\$!; sleep 2; kill \$c; wait \$c; true'
EOF
chmod +x "$TMP/two.sh"

"$PERTOP" --subprocesses --rate 999 --batch --threads -o "$TMP/two.folded" -f folded \
    -- "$TMP/two.sh" >"$TMP/two.txt" 2>"$TMP/two.err"
check "launch: run exits 0 (the script's status)" [ $? -eq 0 ]
cm=$(sed -n 's/^cpu_mix-\([0-9]*\);.*/\1/p' "$TMP/two.folded" | sort -u)
pv=$(sed -n 's/^plt_vdso-\([0-9]*\);.*/\1/p' "$TMP/two.folded" | sort -u)
script=$(sed -n 's/^pid: *//p' "$TMP/two.txt")
check "launch: the first child is a process of its own (cpu_mix-${cm:-none})" \
    [ -n "$cm" ] && [ "$(echo "$cm" | wc -l)" -eq 1 ] && [ "$cm" != "$script" ]
check "launch: the grandchild too (plt_vdso-${pv:-none})" \
    [ -n "$pv" ] && [ "$(echo "$pv" | wc -l)" -eq 1 ] && [ "$pv" != "$cm" ]
check "launch: the first child's functions, under it" \
    grep -qE "^cpu_mix-$cm;cpu_mix-$cm;.*;compute_inner " "$TMP/two.folded"
check "launch: the grandchild's, under it" \
    grep -qE "^plt_vdso-$pv;plt_vdso-$pv;.*;plt_loop;labs(@plt)? " "$TMP/two.folded"
check "launch: the snapshot counts the processes" \
    grep -qE "^processes: +[3-9]" "$TMP/two.txt"
ci=$(folded_self_pct "$TMP/two.folded" compute_inner)
lb=$(folded_self_pct "$TMP/two.folded" labs)

# perf record follows a command's children by default: the same script,
# the same shares (two runs of a script that is the same each time)
if have_perf; then
    perf record -q -F 999 -o "$TMP/two.perf" -- "$TMP/two.sh" >/dev/null 2>&1
    pci=$(perf_self_pct "$TMP/two.perf" compute_inner)
    plb=$(perf_self_pct "$TMP/two.perf" labs)
    check "perf record says compute_inner ${pci:-?}%, pertop $ci% (±6)" within "$ci" "${pci:-0}" 6
    check "perf record says labs ${plb:-?}%, pertop $lb% (±6)" within "$lb" "${plb:-0}" 6
else
    echo "note: perf is not installed here: the side-by-side comparison is left out"
fi

# without the option the shell's own (idle) threads only
"$PERTOP" --rate 999 --batch -o "$TMP/one.folded" -f folded -- "$TMP/two.sh" >/dev/null 2>&1
check "without --subprocesses: none of the children's functions" \
    sh -c "! grep -qE 'compute_inner|plt_loop' '$TMP/one.folded'"

# --pid of a script whose busy child runs already
cat >"$TMP/long.sh" <<EOF
#!/bin/sh
echo "ready \$\$"
"$FIXTURE_DIR/cpu_mix" --threads 2 >/dev/null
EOF
chmod +x "$TMP/long.sh"
start_fixture "$TMP/long.sh"
S=$FIX_PID
sleep 0.3
C=$(pgrep -P "$S" cpu_mix | head -n1)
PIDS="$PIDS $C"
"$PERTOP" --pid "$S" --subprocesses --duration 2 --batch --threads -o "$TMP/long.folded" \
    -f folded >"$TMP/long.txt" 2>&1
check "--pid: run exits 0" [ $? -eq 0 ]
check "--pid: the child running already is found (cpu_mix-$C)" \
    grep -qE "^cpu_mix-$C;.*;compute_inner " "$TMP/long.folded"
check "--pid: its worker threads under it" grep -qE "^cpu_mix-$C;mixworker-[12]-[0-9]+;" \
    "$TMP/long.folded"
check "--pid: the script running and untraced afterwards" running_free "$S"
check "--pid: the child running and untraced afterwards" running_free "$C"

# without the option, the script waits and its child works: said, with
# the option that follows it (snapshot and screen)
"$PERTOP" --pid "$S" --duration 2 --batch >"$TMP/hint.txt" 2>&1
check "no option: the snapshot names the busy child and --subprocesses" \
    grep -qE "^children: +the work is in child processes \(cpu_mix $C: [0-9]+% CPU\).*--subprocesses" \
    "$TMP/hint.txt"
if command -v tmux >/dev/null 2>&1; then
    SOCK="pertop-sub-$$"
    tmux -L "$SOCK" -f /dev/null new-session -d -s h -x 150 -y 30 \
        "env TERM=xterm-256color LANG=C.UTF-8 $PERTOP --pid $S; sleep 60"
    check "no option: the screen says so under the header" \
        tmux_wait "$SOCK" h 10 "^note the work is in child processes \(cpu_mix $C"
    tmux -L "$SOCK" send-keys -t h q
    sleep 0.5
    tmux -L "$SOCK" new-session -d -s sub -x 150 -y 30 \
        "env TERM=xterm-256color LANG=C.UTF-8 $PERTOP --pid $S --subprocesses; sleep 60"
    check "screen: the threads pane's PID column holds the child's workers" \
        tmux_wait "$SOCK" sub 10 "^ *$C +[0-9]+ mixworker-"
    check "screen: the header counts the processes" \
        sh -c "tmux -L '$SOCK' capture-pane -p -t sub | grep -qE 'processes [2-9] +threads'"
    tmux -L "$SOCK" send-keys -t sub q
    sleep 0.5
    tmux -L "$SOCK" kill-server 2>/dev/null
fi

# kill -9 of pertop while it follows them: every process runs on
"$PERTOP" --pid "$S" --subprocesses --duration 30 --batch >/dev/null 2>&1 &
K=$!
sleep 1.5
kill -9 "$K"
wait "$K" 2>/dev/null
check "kill -9: the script running and untraced" running_free "$S"
check "kill -9: the child running and untraced" running_free "$C"
check "kill -9: the child still burning CPU" still_burning "$C"
for t in /proc/"$C"/task/*; do
    st=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' "$t/status" 2>/dev/null)
    case "$st" in
    T | t) fail "kill -9: thread ${t##*/} left stopped ($st)" ;;
    esac
done
kill -9 "$C" "$S" 2>/dev/null

# the ptrace engine follows one process: said, not done badly
"$PERTOP" --subprocesses --engine ptrace --batch -- true >/dev/null 2>"$TMP/pt.err"
check "ptrace: --subprocesses is a usage error" [ $? -eq 2 ]
check "ptrace: ... that says what to drop" grep -q "subprocesses.*perf_event.*drop" "$TMP/pt.err"
finish
