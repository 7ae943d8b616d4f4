#!/bin/sh
# pprof export read back by the real pprof tool (same top functions and
# counts as pertop's own text output, build-ids in the mappings, thread
# labels, run comments); `pertop diff` and --baseline on two runs of
# cpu_mix with different mixes; bad input to diff and --baseline; a write
# that fails leaves no file behind.  Without go, the read-back checks are
# skipped and the test exits 77 (SKIP), never a pass.
. "$(dirname "$0")/lib.sh"

HAVE_GO=0
command -v go >/dev/null 2>&1 && go tool pprof -h >/dev/null 2>&1 && HAVE_GO=1
export HOME="${HOME:-$TMP}" GOCACHE="$TMP/gocache" GOFLAGS=-mod=mod

# --- one run, two outputs: text on stdout, pprof in the file
start_fixture "$FIXTURE_DIR/cpu_mix"
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 4 --rate 499 --batch -o "$TMP/run.pb.gz" -f pprof \
    >"$TMP/run.txt" 2>"$TMP/run.err"
check "pprof run exits 0" [ $? -eq 0 ]
check "pprof file is gzip" sh -c "head -c2 '$TMP/run.pb.gz' | od -An -tx1 | grep -q '1f 8b'"
check "no temporary file left" sh -c "! ls '$TMP'/run.pb.gz.tmp* 2>/dev/null"
check "target running after the export" running_free "$P"

# pertop's own hot table: "SELF% TOTAL% SAMPLES FUNCTION ..." rows, top 5
awk '/^ SELF%/ { on = 1; next } on && /^ *[0-9.]+%/ { print $4, $3; if (++n == 5) exit }' \
    "$TMP/run.txt" >"$TMP/top.pertop"
check "pertop's top 5 read ($(tr '\n' ' ' <"$TMP/top.pertop"))" [ "$(wc -l <"$TMP/top.pertop")" -eq 5 ]

if [ "$HAVE_GO" -eq 1 ]; then
    # counts, not time: the same numbers pertop shows, so the order and
    # the counts must match exactly (ties aside: cpu_mix's shares are 5
    # points apart, far more than a run's noise)
    go tool pprof -top -nodecount=5 -sample_index=samples "$TMP/run.pb.gz" \
        >"$TMP/top.go.raw" 2>"$TMP/go.err"
    check "go tool pprof reads the file" [ $? -eq 0 ]
    awk '/^ *flat/ { on = 1; next } on && NF >= 6 { print $6, $1 }' "$TMP/top.go.raw" \
        >"$TMP/top.go"
    check "same top 5, same order and self counts: $(tr '\n' ' ' <"$TMP/top.go")" \
        cmp -s "$TMP/top.pertop" "$TMP/top.go"
    go tool pprof -top -nodecount=5 "$TMP/run.pb.gz" >"$TMP/top.cpu" 2>>"$TMP/go.err"
    check "cpu time is the default sample type" grep -q "^Type: cpu" "$TMP/top.cpu"

    go tool pprof -raw "$TMP/run.pb.gz" >"$TMP/raw" 2>>"$TMP/go.err"
    bid=$(readelf -n "$FIXTURE_DIR/cpu_mix" | sed -n 's/.*Build ID: *//p')
    check "cpu_mix has a build-id ($bid)" [ -n "$bid" ]
    check "its mapping carries the build-id" grep -qE "cpu_mix $bid" "$TMP/raw"
    libc_bid=$(grep -E "libc\.so\.6 [0-9a-f]{40}" "$TMP/raw")
    check "libc's mapping carries a build-id" [ -n "$libc_bid" ]
    check "thread label on samples" grep -q "thread:\[$P\]" "$TMP/raw"
    check "thread_name label on samples" grep -q "thread_name:\[cpu_mix\]" "$TMP/raw"
    check "run comments" grep -q "Comment: pertop.command=.*cpu_mix" "$TMP/raw"
    want=$(default_engine "$TMP/run.err")
    check "run comments name the engine ($want)" grep -qF "Comment: pertop.engine=$want" "$TMP/raw"
    check "period type and period" grep -qE "^Period: [0-9]+" "$TMP/raw"
    check "file:line in the locations" grep -qE "compute_inner .*cpu_mix.c:[0-9]+" "$TMP/raw"
    # one location, two lines: mix_bits inlined into checksum_block, innermost first
    check "inlined mix_bits and its caller in one location" awk '
        prev ~ /M=[0-9]+ mix_bits .*cpu_mix.c:[0-9]+/ && /^ +checksum_block .*cpu_mix.c:[0-9]+/ { hit = 1 }
        { prev = $0 } END { exit !hit }' "$TMP/raw"

    # Python frames: locations with address 0 and no mapping, the function
    # and its line (a real interpreter binary, not a pyenv shell shim)
    PY=""
    for c in /usr/bin/python3.11 /usr/bin/python3; do
        [ -x "$c" ] && [ "$(head -c4 "$c" | od -An -c | tr -d ' ')" = "177ELF" ] && { PY=$c; break; }
    done
    SRC=${SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
    if [ -n "$PY" ]; then
        start_fixture "$PY" "$SRC/tests/fixtures/py_mix.py"
        PYP=$FIX_PID
        "$PERTOP" --pid "$PYP" --duration 2 --rate 499 --batch -o "$TMP/py.pb.gz" -f pprof \
            >"$TMP/py.txt" 2>&1
        check "Python run exits 0" [ $? -eq 0 ]
        go tool pprof -raw "$TMP/py.pb.gz" >"$TMP/py.raw" 2>>"$TMP/go.err"
        leaf_line=$(grep -n "# LEAF_LINE" "$SRC/tests/fixtures/py_mix.py" | cut -d: -f1)
        check "Python frame: address 0, no mapping, hot_leaf at py_mix.py:$leaf_line" \
            grep -qE "^ +[0-9]+: 0x0 hot_leaf py_mix.py:$leaf_line s=" "$TMP/py.raw"
        ptop=$(awk '/^ SELF%/ { getline; print $4; exit }' "$TMP/py.txt")
        gtop=$(go tool pprof -top -nodecount=1 -sample_index=samples "$TMP/py.pb.gz" 2>/dev/null |
            awk '/^ *flat/ { getline; print $6; exit }')
        check "Python: the same hottest function ($ptop, $gtop)" [ "${ptop:-none}" = "${gtop:-missing}" ]
        kill -9 "$PYP"
    else
        echo "SKIP: no CPython binary: Python frames in pprof not checked"
    fi
else
    echo "SKIP: go tool pprof not installed (scripts/install-deps.sh --test): pprof read-back not checked"
fi

# --- pertop reads its own pprof back: same self counts as the text
"$PERTOP" diff --rows 0 "$TMP/run.pb.gz" "$TMP/run.pb.gz" >"$TMP/self.diff" 2>&1
check "diff of a profile with itself exits 0" [ $? -eq 0 ]
check "... and shows no change" sh -c "! awk 'NR > 6 && NF >= 7 && (\$3 != \"+0.0\" || \$6 != \"+0.0\")' '$TMP/self.diff' | grep -q ."
check "... and the run's samples and duration" grep -qE "^before .*: [0-9]+ samples in 4\.[0-9] s" "$TMP/self.diff"

# --- two mixes: before folded (default mix), after pprof (compute_inner
# 30 -> 10, parse_input 25 -> 45).  The diff's numbers must be exactly
# those of the two runs (the before file, the after run's own text
# output); the designed change is checked only for its direction, as a
# ptrace sampler on a loaded 2-core machine skews shares by many points
# (test_integration_cpu.sh, which checks shares, runs alone for that).
"$PERTOP" --pid "$P" --duration 3 --rate 499 --batch -o "$TMP/before.folded" -f folded \
    >/dev/null 2>&1
kill -9 "$P"
start_fixture "$FIXTURE_DIR/cpu_mix" --mix 10,20,10,45,15
P2=$FIX_PID
"$PERTOP" --pid "$P2" --duration 3 --rate 499 --batch -o "$TMP/after.pb.gz" -f pprof \
    >"$TMP/after.txt" 2>&1
"$PERTOP" diff "$TMP/before.folded" "$TMP/after.pb.gz" >"$TMP/mix.diff" 2>"$TMP/mix.err"
check "diff exits 0" [ $? -eq 0 ]
# text_self FILE FUNC: the SELF% of FUNC in a text snapshot
text_self() { awk -v fn="$2" '/^ SELF%/ { on = 1; next } on && $4 == fn { sub(/%/, "", $1); print $1; exit }' "$1"; }
# col FUNC N: column N of FUNC's row in the diff
col() { awk -v fn="$1" -v n="$2" 'NR > 6 && $NF == fn { print $n; exit }' "$TMP/mix.diff"; }
for fn in compute_inner parse_input compute_middle; do
    b=$(folded_self_pct "$TMP/before.folded" "$fn")
    a=$(text_self "$TMP/after.txt" "$fn")
    check "$fn: before $(col $fn 1) = $b (the folded file), after $(col $fn 2) = $a (the run's text)" \
        [ "$(col $fn 1)/$(col $fn 2)" = "$b/${a:-none}" ]
    check "$fn: change $(col $fn 3) = after - before" within "$(col $fn 3)" "$(echo "$a $b" | awk '{ print $1 - $2 }')" 0.11
done
ci=$(col compute_inner 3)
pi=$(col parse_input 3)
check "compute_inner went down: $ci (designed -20)" at_least "-5" "$ci"
check "parse_input went up: $pi (designed +20)" at_least "$pi" 5
check "rows sorted by the size of the self change" awk 'NR > 6 && NF >= 7 && $3 ~ /^[-+]?[0-9.]+$/ {
        d = $3 < 0 ? -$3 : $3; if (NR > 7 && d > last + 1e-9) bad = 1; last = d }
    END { exit bad }' "$TMP/mix.diff"
check "totals at the top" grep -qE "^before .*before.folded: [0-9]+ samples" "$TMP/mix.diff"
check "the pprof's run figures come back (CPU %)" grep -qE "^after .*after.pb.gz: [0-9]+ samples in [0-9.]+ s, CPU [0-9.]+%" "$TMP/mix.diff"

# renamed function: one gone, one new
sed 's/parse_input/parse_input_v2/' "$TMP/before.folded" >"$TMP/renamed.folded"
"$PERTOP" diff "$TMP/before.folded" "$TMP/renamed.folded" >"$TMP/ren.diff" 2>&1
check "renamed function is new" grep -qE "new +parse_input_v2$" "$TMP/ren.diff"
check "old name is gone" grep -qE "gone +parse_input$" "$TMP/ren.diff"

# --- --baseline: the text output gets VS.BASE against the before run
"$PERTOP" --pid "$P2" --duration 2 --rate 499 --batch --baseline "$TMP/before.folded" \
    >"$TMP/base.txt" 2>&1
check "--baseline run exits 0" [ $? -eq 0 ]
check "VS.BASE column" grep -q "SAMPLES  VS.BASE  FUNCTION" "$TMP/base.txt"
cell=$(awk '$5 == "compute_inner" { print $4; exit }' "$TMP/base.txt")
now=$(awk '$5 == "compute_inner" { sub(/%/, "", $1); print $1; exit }' "$TMP/base.txt")
was=$(folded_self_pct "$TMP/before.folded" compute_inner)
check "compute_inner against the baseline: $cell = $now - $was" \
    within "${cell:-99}" "$(echo "$now $was" | awk '{ print $1 - $2 }')" 0.11
check "target running after the --baseline run" running_free "$P2"

# the live screen in tmux: the hot table gets the VS.BASE column
if command -v tmux >/dev/null 2>&1; then
    T="tmux -L pertop-pprof-$$ -f /dev/null"
    $T new-session -d -s base -x 120 -y 40 \
        "env TERM=xterm-256color LANG=C.UTF-8 $PERTOP --pid $P2 --rate 499 --baseline $TMP/before.folded; sleep 600"
    n=50
    while [ "$n" -gt 0 ] && ! $T capture-pane -p -t base | grep -qE "compute_inner"; do
        sleep 0.2
        n=$((n - 1))
    done
    sleep 3 # a few refreshes: enough samples for the shares to settle
    $T capture-pane -p -t base >"$TMP/screen.txt"
    check "screen: VS.BASE column in the hot table" grep -q "SELF-T VS.BASE FUNCTION" "$TMP/screen.txt"
    scell=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "compute_inner") { print $i; exit } }' \
        "$TMP/screen.txt")
    snow=$(awk '/compute_inner/ { sub(/%/, "", $1); print $1; exit }' "$TMP/screen.txt")
    check "screen: compute_inner against the baseline: $scell = $snow - $was" \
        within "${scell:-99}" "$(echo "$snow $was" | awk '{ print $1 - $2 }')" 0.11
    $T send-keys -t base q
    sleep 1
    $T kill-server 2>/dev/null
    check "target running after the screen quit" running_free "$P2"
else
    echo "SKIP: tmux not installed: the screen's VS.BASE column not checked"
fi
kill -9 "$P2"

# --- bad input: one line, exit 2, nothing attached
expect_fail() {
    code=$1 pat=$2
    shift 2
    "$PERTOP" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ "$rc" -eq "$code" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -qE "$pat" "$TMP/err"; then
        ok "pertop $* -> exit $rc: $(cat "$TMP/err")"
    else
        fail "pertop $* -> exit $rc (want $code), stderr: $(cat "$TMP/err")"
    fi
}
: >"$TMP/empty"
head -c 200 "$TMP/after.pb.gz" >"$TMP/cut.pb.gz"
printf '\001\002\003garbage\000\377' >"$TMP/junk.bin"
printf 'main;run 3\nmain;run\n' >"$TMP/bad.folded"
expect_fail 2 "empty: empty file" diff "$TMP/empty" "$TMP/before.folded"
expect_fail 2 "cut\.pb\.gz: corrupt pprof data \(gzip" diff "$TMP/before.folded" "$TMP/cut.pb.gz"
expect_fail 2 "junk\.bin: corrupt pprof data" diff "$TMP/junk.bin" "$TMP/before.folded"
expect_fail 2 "bad\.folded:2: not a folded stack line" diff "$TMP/bad.folded" "$TMP/before.folded"
printf 'main;run 99999999999999999999\n' >"$TMP/huge.folded"
expect_fail 2 "huge\.folded:1: the sample count is too large .* correct that line" diff "$TMP/huge.folded" "$TMP/before.folded"
# an escape sequence in a name is text, not binary, and never reaches the
# terminal raw
printf 'main;\033[2Jrun 3\n' >"$TMP/esc.folded"
"$PERTOP" diff "$TMP/esc.folded" "$TMP/esc.folded" >"$TMP/esc.out" 2>&1
check "diff of a folded file with an escape byte works (exit $?)" grep -q "run" "$TMP/esc.out"
check "diff: the escape byte is not written" sh -c "! grep -q \"$(printf '\033')\" '$TMP/esc.out'"
# so are other control bytes (BEL, SOH) in names: told by the lines'
# counts, not taken for a binary pprof
printf 'main;ring\007bell 3\nmain;x\001y 1\n' >"$TMP/ctl.folded"
"$PERTOP" diff "$TMP/ctl.folded" "$TMP/ctl.folded" >"$TMP/ctl.out" 2>&1
rc=$?
check "diff of a folded file with BEL and SOH bytes works (exit $rc)" \
    sh -c "[ $rc -eq 0 ] && grep -q 'ring.bell' '$TMP/ctl.out' && ! grep -q 'corrupt' '$TMP/ctl.out'"
check "diff: the BEL and SOH bytes are not written" \
    sh -c "! grep -q \"$(printf '[\001\007]')\" '$TMP/ctl.out'"
expect_fail 2 "cannot read .*nothere.*No such file" diff "$TMP/nothere" "$TMP/before.folded"
expect_fail 2 "expected two profiles" diff "$TMP/before.folded"
expect_fail 2 "invalid --rows" diff --rows x "$TMP/before.folded" "$TMP/before.folded"
expect_fail 2 "unknown --format 'pprof2'" --format pprof2 --pid 1

start_fixture "$FIXTURE_DIR/sleeper"
S=$FIX_PID
expect_fail 2 "cut\.pb\.gz: corrupt pprof data" --pid "$S" --batch --duration 1 \
    --baseline "$TMP/cut.pb.gz"
expect_fail 2 "empty file" --pid "$S" --batch --duration 1 --baseline "$TMP/empty"
check "sleeper never traced by a bad --baseline" running_free "$S"

# a write that fails half-way (file size limit): exit 6, nothing under the
# final name, no temporary file left
mkdir -p "$TMP/big"
(
    ulimit -f 1
    exec "$PERTOP" --pid "$S" --batch --duration 1 --idle -o "$TMP/big/out.txt" -f text
) >/dev/null 2>"$TMP/fsz.err"
rc=$?
check "failed write exits 6 (got $rc: $(cat "$TMP/fsz.err"))" [ "$rc" -eq 6 ]
check "nothing left under the final name or as a temporary" \
    sh -c "[ -z \"\$(ls -A '$TMP/big')\" ]"
check "sleeper untouched after the failed write" running_free "$S"

if [ "$HAVE_GO" -eq 0 ]; then
    echo "$((CHECKS - FAILS)) passed, $FAILS failed; pprof read-back skipped"
    [ "$FAILS" -eq 0 ] && exit 77
    exit 1
fi
finish
