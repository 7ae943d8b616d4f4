#!/bin/sh
# Drill-down views in batch on tests/fixtures/cpu_mix, whose call graph is
# known: main -> run_cycle -> compute_outer (10%) -> compute_middle (20%)
# -> compute_inner (30%); run_cycle -> parse_input (25%); run_cycle ->
# checksum_block -> mix_bits (15%, inlined).  --view callers:NAME, tree,
# inverted, source:NAME and asm:NAME; --thread and --module zoom; bad
# --view input.
#
# Shares are checked within TOL points of the design: like
# test_integration_cpu this test measures the designed mix, so run-test.sh
# gives it the machine alone (a preempted fixture skews what any sampler
# sees).
. "$(dirname "$0")/lib.sh"
TOL=${DRILL_TOL:-5}

start_fixture "$FIXTURE_DIR/cpu_mix"
P=$FIX_PID

run() { # run NAME ARGS...: a 3 s batch run at 499 Hz; NAME.out, NAME.err, NAME.rc
    n=$1
    shift
    "$PERTOP" --pid "$P" --duration 3 --rate 499 --batch "$@" >"$TMP/$n.out" 2>"$TMP/$n.err"
    echo $? >"$TMP/$n.rc"
}
rc() { cat "$TMP/$1.rc"; }
# pct_of FILE SECTION FUNC: the %FUNC column of FUNC's row in a section of
# the function view ("Callers" or "Callees")
pct_of() {
    awk -v sec="$2" -v fn="$3" '$1 == "Callers" || $1 == "Callees" { in_s = ($1 == sec); next }
        in_s && $4 == fn { sub(/%/, "", $2); print $2; exit }' "$1"
}
# tree_col FILE FUNC: TOTAL% of FUNC's first row, and its indent (column of the name)
tree_pct() {
    awk -v fn="$2" '$NF == fn || $(NF-1) == fn { for (i = 1; i <= NF; i++) if ($i == fn) break;
        if (i <= NF && $1 ~ /%$/) { sub(/%/, "", $1); print $1; exit } }' "$1"
}
tree_indent() {
    awk -v fn="$2" '{ i = index($0, " " fn " "); if (!i) i = index($0, " " fn); if (i && $1 ~ /%$/ &&
        substr($0, i + 1 + length(fn), 1) ~ /^( |$)/) { print i; exit } }' "$1"
}
# samples of the view (its title: "of N samples") and of the run (the summary line)
view_samples() { sed -n 's/.* of \([0-9][0-9]*\) samples.*/\1/p' "$1" | head -n1; }
run_samples() { sed -n 's/^pertop: PID .*  \([0-9][0-9]*\) samples$/\1/p' "$1" | head -n1; }

# ---------------------------------------------------------------- callers and callees
run callers --view callers:compute_middle
check "callers view exits 0" [ "$(rc callers)" -eq 0 ]
check "callers view titled with the function" grep -q "^compute_middle  self " "$TMP/callers.out"
got=$(pct_of "$TMP/callers.out" Callers compute_outer)
check "compute_outer brings 100% of compute_middle's samples ($got%)" within "${got:-0}" 100 0.5
got=$(pct_of "$TMP/callers.out" Callees compute_inner)
check "compute_inner takes 60% of compute_middle's samples ($got%, ±$TOL)" within "${got:-0}" 60 "$TOL"
got=$(pct_of "$TMP/callers.out" Callees "[self]")
check "compute_middle's own share is 40% ($got%, ±$TOL)" within "${got:-0}" 40 "$TOL"
run callers2 --view callers:parse_input
got=$(pct_of "$TMP/callers2.out" Callers run_cycle)
check "parse_input is called by run_cycle ($got%)" within "${got:-0}" 100 0.5
run callers3 --view callers:mix_bits
got=$(pct_of "$TMP/callers3.out" Callers checksum_block)
check "inlined mix_bits is called by checksum_block ($got%)" within "${got:-0}" 100 0.5

# ---------------------------------------------------------------- call trees
run tree --view tree --output "$TMP/tree.file"
check "tree view exits 0" [ "$(rc tree)" -eq 0 ]
check "tree view titled" grep -q "^Call tree (top down" "$TMP/tree.out"
for pair in run_cycle:100 compute_outer:60 compute_middle:50 compute_inner:30 parse_input:25 checksum_block:15; do
    fn=${pair%%:*}
    want=${pair#*:}
    got=$(tree_pct "$TMP/tree.out" "$fn")
    check "tree: $fn total $got%, designed $want% (±$TOL)" within "${got:-0}" "$want" "$TOL"
done
prev=0
for fn in main run_cycle compute_outer compute_middle compute_inner; do
    ind=$(tree_indent "$TMP/tree.out" "$fn")
    check "tree: $fn nested below the one before (column ${ind:-none} > $prev)" [ "${ind:-0}" -gt "$prev" ]
    prev=${ind:-0}
done
check "tree: rows below 0.5% are left out" sh -c "! grep -E '^ +0\.[0-4]%' '$TMP/tree.out'"
check "--output holds the same view" cmp -s "$TMP/tree.out" "$TMP/tree.file"

run inv --view inverted
check "inverted view exits 0" [ "$(rc inv)" -eq 0 ]
first=$(grep -m1 -E '^ *[0-9.]+% ' "$TMP/inv.out")
# compute_inner (30%) and parse_input (25%) are close: a loaded machine may
# swap them, so the order is checked, not which one wins
check "inverted: a hot leaf first ($first)" sh -c "echo '$first' | grep -qE 'compute_inner|parse_input'"
# top-level rows (not indented: marker or name right after the three
# percentage columns) biggest first
check "inverted: leaves sorted by their share" awk '
    $1 ~ /^[0-9.]+%$/ && match(substr($0, 26), /[^ ]/) <= 2 { v = $1; sub(/%/, "", v)
        if (seen && v + 0 > last + 0) bad = 1; last = v; seen++ }
    END { exit bad || seen < 3 }' "$TMP/inv.out"
got=$(tree_pct "$TMP/inv.out" compute_inner)
check "inverted: compute_inner $got% (30 ±$TOL)" within "${got:-0}" 30 "$TOL"
ci=$(tree_indent "$TMP/inv.out" compute_inner)
cm=$(tree_indent "$TMP/inv.out" compute_middle)
check "inverted: compute_middle is a caller below compute_inner" [ "${cm:-0}" -gt "${ci:-999}" ]

# ---------------------------------------------------------------- zoom
run mod --view tree --module libc.so.6
check "module zoom exits 0" [ "$(rc mod)" -eq 0 ]
check "module zoom is shown" grep -q "^Zoom: module libc.so.6" "$TMP/mod.out"
vs=$(view_samples "$TMP/mod.out")
rs=$(run_samples "$TMP/mod.out")
check "module zoom to libc: few samples ($vs of $rs)" \
    awk -v a="${vs:-0}" -v b="${rs:-1}" 'BEGIN { exit !(b > 100 && a < 0.05 * b) }'
run mod2 --module cpu_mix
check "module zoom on the hot view: cpu_mix's functions" grep -q "compute_inner" "$TMP/mod2.out"
check "module zoom on the hot view: no self time in libc" \
    sh -c "! grep -E '^ *([1-9][0-9]*\.[0-9]|0\.[1-9])% .*libc\.so\.6' '$TMP/mod2.out'"

# a worker thread: the thread zoom keeps its samples only
kill -9 "$P"
start_fixture "$FIXTURE_DIR/cpu_mix" --threads 1
P=$FIX_PID
W=""
for t in /proc/$P/task/*; do
    [ "$(cat "$t/comm" 2>/dev/null)" = "mixworker-1" ] && W=${t##*/}
done
check "worker thread found ($W)" [ -n "$W" ]
run thr --view tree --thread "$W"
check "thread zoom exits 0" [ "$(rc thr)" -eq 0 ]
check "thread zoom is shown" grep -q "^Zoom: thread $W" "$TMP/thr.out"
vs=$(view_samples "$TMP/thr.out")
rs=$(run_samples "$TMP/thr.out")
check "thread zoom: about half the samples ($vs of $rs)" \
    awk -v a="${vs:-0}" -v b="${rs:-1}" 'BEGIN { exit !(a > 0.3 * b && a < 0.7 * b) }'
check "thread zoom: the worker's stack (worker -> run_cycle)" grep -q " worker " "$TMP/thr.out"
check "thread zoom: not main's stack" sh -c "! grep -q ' main ' '$TMP/thr.out'"
got=$(tree_pct "$TMP/thr.out" compute_inner)
check "thread zoom: compute_inner still 30% of the thread ($got%, ±$TOL)" within "${got:-0}" 30 "$TOL"


# ---------------------------------------------------------------- source and instructions
run src --view source:compute_inner
check "source view exits 0" [ "$(rc src)" -eq 0 ]
check "source view: the hot loop line has samples" \
    grep -qE '^ +[0-9]+ +[0-9.]+% .*SPIN\(w_inner' "$TMP/src.out"
run asm --view asm:compute_inner
check "asm view exits 0" [ "$(rc asm)" -eq 0 ]
check "asm view: an instruction with samples" grep -qE '^ +[0-9]+ +[0-9.]+% +([0-9]+ +)?[0-9a-f]+: ' "$TMP/asm.out"

# ---------------------------------------------------------------- names that do not fit
run amb --view callers:compute
check "ambiguous NAME exits 2" [ "$(rc amb)" -eq 2 ]
check "ambiguous NAME lists candidates" grep -q "matches 3 functions: .*compute_inner" "$TMP/amb.err"
check "ambiguous NAME: the hot view was printed instead" grep -q "^Hot functions" "$TMP/amb.out"
run none --view callers:no_such_function
check "unknown NAME exits 2" [ "$(rc none)" -eq 2 ]
check "unknown NAME says so" grep -q "no sampled function matches 'no_such_function'" "$TMP/none.err"
check "target still running after all that" running_free "$P"
kill -9 "$P"

# ---------------------------------------------------------------- Python frames
# py_mix.py: hot_fn calls hot_leaf; Python functions drill like native ones
PY=$(command -v python3.11 || command -v python3)
PYFIX="${SRC_DIR:-$(dirname "$0")/..}/tests/fixtures/py_mix.py"
if [ -n "$PY" ] && [ -r "$PYFIX" ]; then
    start_fixture "$PY" "$PYFIX"
    P=$FIX_PID
    run py --view callers:hot_leaf
    check "Python: callers view exits 0" [ "$(rc py)" -eq 0 ]
    got=$(pct_of "$TMP/py.out" Callers hot_fn)
    check "Python: hot_leaf is called by hot_fn ($got%)" within "${got:-0}" 100 0.5
    run pytree --view tree
    check "Python: the tree nests hot_leaf below hot_fn" \
        [ "$(tree_indent "$TMP/pytree.out" hot_leaf)" -gt "$(tree_indent "$TMP/pytree.out" hot_fn)" ]
    kill -9 "$P"
else
    echo "skip: no python3 for the Python part"
fi

# ---------------------------------------------------------------- bad --view input
bad() { # bad DESC PATTERN ARGS...: exit 2 with PATTERN on stderr, nothing started
    d=$1 pat=$2
    shift 2
    "$PERTOP" "$@" >"$TMP/bad.out" 2>"$TMP/bad.err"
    r=$?
    check "$d: exit 2 (got $r)" [ "$r" -eq 2 ]
    check "$d: says why" grep -q -- "$pat" "$TMP/bad.err"
    check "$d: one line" [ "$(wc -l <"$TMP/bad.err")" -eq 1 ]
}
bad "unknown view" "invalid --view 'flame'" --batch --view flame -- true
bad "empty NAME" "invalid --view 'callers:'" --batch --view callers: -- true
bad "NAME view without --batch" "needs --batch" --view source:main -- true
bad "view with folded" "cannot go with --format folded" --batch --view tree -o x -f folded -- true
bad "bad thread" "invalid --thread 'abc'" --batch --thread abc -- true
bad "empty module" "needs a module name" --batch --module "" -- true

finish
