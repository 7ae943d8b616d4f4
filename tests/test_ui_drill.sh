#!/bin/sh
# Drill-down on the live screen, in a real terminal under tmux: from the hot
# list, / filters to a fixture function, Enter opens its function view with
# its caller, v and a open its source and instructions with counts, n jumps
# to the hottest, s snapshots the view, Esc goes back to the list, T opens
# the call tree and H its hottest path, Z and d zoom and Esc unzooms.
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux is not installed"; exit 77; }

SOCK="pertop-drill-$$"
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

wait_gone() {
    s=$1 n=$(($2 * 5)) pat=$3
    while [ "$n" -gt 0 ]; do
        cap "$s" | grep -qE -- "$pat" || return 0
        sleep 0.2
        n=$((n - 1))
    done
    return 1
}

start_fixture "$FIXTURE_DIR/cpu_mix"
P=$FIX_PID
mkdir "$TMP/snaps"
$T new-session -d -s d -x 120 -y 40 \
    "env TERM=xterm-256color LANG=C.UTF-8 $PERTOP --pid $P --snapshot-dir $TMP/snaps; echo \$? >$TMP/d.exit; sleep 600"
check "screen up" wait_for d 15 "compute_inner +cpu_mix"

# / filter to compute_middle, Enter: its function view with its caller
$T send-keys -t d / c o m p u t e _ m i d Enter
check "filter leaves compute_middle" wait_for d 5 "^ *[0-9.]+% +[0-9.]+% +[0-9.:s]+ compute_middle "
$T send-keys -t d Enter
check "Enter: the function view of compute_middle" wait_for d 5 "^hot > compute_middle +self [0-9.]+%"
check "its caller compute_outer brings all its samples" \
    wait_for d 5 "^ +[0-9]+ +100\.0% +[0-9.]+% +compute_outer"
check "its callee compute_inner with a share" wait_for d 5 "^ +[0-9]+ +[0-9.]+% +[0-9.]+% +compute_inner"
check "the status line shows the view's keys" wait_for d 5 "EscBack"

# s: a snapshot of the view on screen
$T send-keys -t d s
check "s: snapshot written" wait_for d 5 "snapshot written to .*pertop-$P-"
snap=$(ls -t "$TMP"/snaps/pertop-"$P"-*.txt 2>/dev/null | head -n1)
check "the snapshot holds the function view" grep -q "^Callers of compute_middle" "${snap:-/dev/null}"
check "the snapshot holds its caller" grep -qE "100\.0% .*compute_outer" "${snap:-/dev/null}"

# Enter on the caller moves the view there; Esc comes back
$T send-keys -t d Down Enter
check "Enter on a caller: its view" wait_for d 5 "^hot > compute_middle > compute_outer +self"
$T send-keys -t d Escape
check "Esc: back to compute_middle" wait_for d 5 "^hot > compute_middle +self"

# v: source with per-line counts, n: the hottest line
$T send-keys -t d v
check "v: the source view" wait_for d 10 "^source: compute_middle"
check "a hot line with its count" wait_for d 5 "^ +[0-9]+ +[0-9.]+% .*SPIN\(w_middle"
$T send-keys -t d n
check "n: no complaint (there is a hot line)" wait_gone d 2 "no line or instruction"

# a: instructions with counts
$T send-keys -t d a
check "a: the instruction view" wait_for d 10 "^asm: compute_middle"
check "an instruction with a count" wait_for d 5 "^ +[0-9]+ +[0-9.]+% +[0-9a-f]+: "
$T send-keys -t d s
sleep 1
snap=$(ls -t "$TMP"/snaps/pertop-"$P"-*.txt 2>/dev/null | head -n1)
check "the snapshot holds the instructions" grep -qE "^ +[0-9]+ +[0-9.]+% +[0-9a-f]+: " "${snap:-/dev/null}"

# Esc back to the list
$T send-keys -t d Escape Escape Escape
check "Esc Esc Esc: the list again" wait_for d 5 "SELF% +TOTAL%"
check "no view left on screen" wait_gone d 3 "^Callers of"

# Enter on a thread: the function it is in now
$T send-keys -t d Escape Tab
sleep 0.5
$T send-keys -t d Enter
check "Enter on a thread: the function it runs now" \
    wait_for d 5 "^hot > (compute_inner|compute_middle|compute_outer|parse_input|mix_bits|run_cycle) +self"
$T send-keys -t d Escape Tab Tab Tab
check "back on the list" wait_for d 5 "SELF% +TOTAL%"

# T: the call tree, opened on its hottest path; - closes, H opens it again.
# The path runs to a row without children: when a timer interrupt's kernel
# frames sit under compute_inner in the window, its row is open ("- ").
$T send-keys -t d Escape T
check "T: the call tree" wait_for d 5 "^Call tree \(top down"
check "the tree opens on its hottest path, down to compute_inner" \
    wait_for d 5 "^ +[0-9.]+% +[0-9.]+% +[0-9.]+% {14,}(- )?compute_inner"
$T send-keys -t d -
check "- on the top row closes it" wait_for d 5 "^ +[0-9.]+% +[0-9.]+% +[0-9.]+% +\+ _start"
$T send-keys -t d H
check "H: the hottest path down to compute_inner" \
    wait_for d 5 "^ +[0-9.]+% +[0-9.]+% +[0-9.]+% {14,}(- )?compute_inner"
check "with main and run_cycle on the way" wait_for d 2 "- run_cycle"
$T send-keys -t d s
sleep 1
snap=$(ls -t "$TMP"/snaps/pertop-"$P"-*.txt 2>/dev/null | head -n1)
check "the snapshot holds the tree" grep -q "^Call tree (top down" "${snap:-/dev/null}"

# S: the whole profile in --format (text here) next to the snapshots
$T send-keys -t d S
check "S: the profile is written" wait_for d 10 "profile written to .*pertop-$P-[0-9-]+\.txt"
prof=$(cap d | sed -nE 's/.*profile written to ([^ ]+\.txt).*/\1/p' | head -n1)
check "S: the file is the text profile" grep -q "compute_inner" "${prof:-/dev/null}"

# Z on a row: the view narrows to its subtree, the header says so
# (keys as letters: tmux's End and Home may reach the screen as Esc + text)
$T send-keys -t d j j j j j j
sleep 0.5
$T send-keys -t d Z
check "Z: the zoom is in the header" wait_for d 5 "zoom under "
$T send-keys -t d Escape Escape
check "Esc, Esc: the zoom is gone" wait_gone d 5 "zoom under "

# d on the hot list: the module of the function under the cursor
$T send-keys -t d k d
check "d: zoom into the module" wait_for d 5 "zoom module cpu_mix"
$T send-keys -t d Escape
check "Esc: whole process again" wait_gone d 5 "zoom module"

$T send-keys -t d q
n=50
while [ ! -s "$TMP/d.exit" ] && [ "$n" -gt 0 ]; do sleep 0.2; n=$((n - 1)); done
check "q quits with status 0" [ "$(cat "$TMP/d.exit" 2>/dev/null)" = 0 ]
check "target still running" running_free "$P"
kill -9 "$P"
finish
