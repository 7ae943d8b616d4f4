#!/bin/sh
# CPython stacks merged with native frames, for every CPython on the
# machine (pyenv's 2.7 and 3.6-3.13, Debian's python3.11): the fixture's
# hot function and its leaf, at the right lines, inside the interpreter's
# native frames.  A version that is not installed is reported as skipped and
# never counted as passed; none at all: exit 77 (skipped).
. "$(dirname "$0")/lib.sh"

SRC=${SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
SCRIPT="$SRC/tests/fixtures/py_mix.py"
LEAF_LINE=$(grep -n "# LEAF_LINE" "$SCRIPT" | cut -d: -f1)
HOT_LINE=$(grep -n "# HOT_LINE" "$SCRIPT" | cut -d: -f1)
TESTED=0

# The interpreter of pyenv for X.Y (any micro version), or nothing.

# pct_calls FILE: % of samples in which hot_leaf is called by hot_fn (up to
# 3.10 the interpreter's own call frames stay between the two)
pct_calls() {
    awk '{ n = $NF; tot += n; if ($0 ~ /;hot_fn;(.*;)?hot_leaf[; ]/) hit += n }
        END { printf "%.1f", tot ? 100 * hit / tot : 0 }' "$1"
}

# pct_native_root FILE: % of samples with a native start frame below hot_fn
pct_native_root() {
    awk '{ n = $NF; tot += n;
        if ($0 ~ /(^|;)(main|Py_RunMain|Py_Main|Py_BytesMain|_start)(;.*)?;hot_fn;/) hit += n }
        END { printf "%.1f", tot ? 100 * hit / tot : 0 }' "$1"
}

# main_only FILE: the main thread's stacks of a --threads folded file, the
# thread frame dropped.  The shares below are of the main thread: on an
# overloaded machine the sleeping background thread, woken and waiting for
# a CPU or the GIL, is runnable (R) much of the time and takes samples.
main_only() {
    sed -n 's/^MainThread-[0-9]*;//p' "$1" | bare
}
# bare: folded Python frames without their " (file.py:LINE)"
bare() { sed -E 's/ \([^;()]*:[0-9]+\)//g'; }

# show_top FILE: the 3 heaviest stacks of a folded file, for a failed check
show_top() {
    echo "--- heaviest stacks of $(basename "$1"):"
    sort -t' ' -k2 -nr "$1" 2>/dev/null | awk '{ n = $NF; s = $0; sub(/ [0-9]+$/, "", s);
        k = split(s, f, ";"); printf "  %s  ...%s;%s;%s\n", n, f[k-2], f[k-1], f[k] }' | head -3
}

one_python() {
    name=$1
    py=$2
    if [ -z "$py" ] || [ ! -x "$py" ]; then
        echo "skip: $name not installed"
        return
    fi
    TESTED=$((TESTED + 1))
    out="$TMP/$name"
    start_fixture "$py" "$SCRIPT"
    P=$FIX_PID
    "$PERTOP" --pid "$P" --duration 3 --batch --output "$out.all.folded" --format folded \
        --threads >"$out.txt" 2>"$out.err"
    check "$name: batch run exits 0" [ $? -eq 0 ]
    main_only "$out.all.folded" >"$out.folded"
    check "$name: the main thread's samples" [ -s "$out.folded" ]
    check "$name: the snapshot names the interpreter" grep -q "^python: *CPython" "$out.txt"
    calls=$(pct_calls "$out.folded")
    check "$name: hot_fn calling hot_leaf in $calls% of samples (>= 60)" at_least "$calls" 60
    at_least "$calls" 60 || show_top "$out.folded"
    # a sample whose Python frames could not be read keeps its eval frame
    evals=$(awk '{ n = $NF; tot += n; if ($0 ~ /(_PyEval_EvalFrameDefault|PyEval_EvalFrameEx)[; ]/) hit += n }
        END { printf "%.1f", tot ? 100 * hit / tot : 0 }' "$out.folded")
    check "$name: eval-loop frames replaced (left in $evals%, <= 5)" at_least 5 "$evals"
    nat=$(pct_native_root "$out.folded")
    check "$name: native start frames below the Python ones in $nat% (>= 60)" at_least "$nat" 60
    check "$name: folded names the leaf py-spy's way, hot_leaf (py_mix.py:$LEAF_LINE)" \
        grep -q ";hot_leaf (py_mix.py:$LEAF_LINE)[; ]" "$out.all.folded"
    check "$name: snapshot shows hot_leaf (py_mix.py:$LEAF_LINE)" \
        grep -q "hot_leaf (py_mix.py:$LEAF_LINE)" "$out.txt"
    check "$name: snapshot shows hot_fn (py_mix.py:$HOT_LINE)" \
        grep -q "hot_fn (py_mix.py:$HOT_LINE)" "$out.txt"

    # Python frames only: the leaf is the innermost frame
    "$PERTOP" --pid "$P" --duration 1 --python --batch --output "$out.py.all.folded" \
        --format folded --threads >/dev/null 2>&1
    main_only "$out.py.all.folded" >"$out.py.folded"
    self=$(folded_self_pct "$out.py.folded" hot_leaf)
    check "$name: --python: hot_leaf innermost in $self% (>= 60)" at_least "$self" 60
    at_least "$self" 60 || show_top "$out.py.folded"
    check "$name: --python: no native frame" sh -c "! grep -q Py_RunMain '$out.py.folded'"

    # --nonblocking: the same frames, read without ever stopping or tracing
    # the target; torn reads are counted in the header, not shown
    "$PERTOP" --pid "$P" --duration 2.5 --python --nonblocking --rate 999 --batch \
        --output "$out.nb.all.folded" --format folded --threads >"$out.nb.txt" 2>"$out.nb.err" &
    NB=$!
    sleep 0.7
    check "$name: --nonblocking: target neither traced nor stopped while sampled" \
        running_free "$P"
    wait "$NB"
    check "$name: --nonblocking exits 0" [ $? -eq 0 ]
    main_only "$out.nb.all.folded" >"$out.nb.folded"
    self=$(folded_self_pct "$out.nb.folded" hot_leaf)
    check "$name: --nonblocking: hot_leaf innermost in $self% (>= 60)" at_least "$self" 60
    calls=$(pct_calls "$out.nb.folded")
    check "$name: --nonblocking: hot_fn calling hot_leaf in $calls% (>= 60)" at_least "$calls" 60
    check "$name: --nonblocking: hot_leaf (py_mix.py:$LEAF_LINE)" \
        grep -q "hot_leaf (py_mix.py:$LEAF_LINE)" "$out.nb.txt"
    check "$name: --nonblocking: hot_fn (py_mix.py:$HOT_LINE)" \
        grep -q "hot_fn (py_mix.py:$HOT_LINE)" "$out.nb.txt"
    check "$name: --nonblocking: torn reads counted in the header" \
        grep -q "^python: .*nonblocking, [0-9]* samples .* [0-9]* torn reads dropped" "$out.nb.txt"

    # the sleeping background thread, with --idle and threads as roots
    "$PERTOP" --pid "$P" --duration 2 --idle --python --batch --output "$out.bg.folded" \
        --format folded --threads >/dev/null 2>&1
    check "$name: the background thread's frames" grep -q ";background " "$out.bg.folded"
    # thread names from threading (the OS names are the interpreter's own),
    # whole: longer than the 15 bytes an OS thread name holds
    check "$name: the main thread named MainThread (threading's name)" \
        grep -q "^MainThread-$P;" "$out.bg.folded"
    check "$name: the background thread named py-background-worker" \
        grep -q "^py-background-worker-[0-9]*;.*;background " "$out.bg.folded"
    "$PERTOP" --pid "$P" --duration 1 --idle --python --nonblocking --batch \
        --output "$out.nbbg.folded" --format folded --threads >/dev/null 2>&1
    check "$name: --nonblocking: the background thread by its Python name" \
        grep -q "^py-background-worker-[0-9]*;.*;background " "$out.nbbg.folded"
    check "$name: target still running after detach" running_free "$P"
    kill -9 "$P"
}

for v in 2.7 3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13; do
    one_python "pyenv-$v" "$(pyenv_python "$v")"
done
one_python debian-3.11 /usr/bin/python3.11

# Python called back from C (map): each eval-loop run is marked (3.11 by the
# frame's is_entry, 3.12+ by CPython's shim frame), so both runs merge in
# place, C frames between them.
for v in 3.11 3.12 3.13; do
    py=$(pyenv_python "$v")
    if [ -z "$py" ]; then
        echo "skip: pyenv-$v not installed"
        continue
    fi
    start_fixture "$py" "$SRC/tests/fixtures/py_cmix.py"
    P=$FIX_PID
    "$PERTOP" --pid "$P" --duration 2 --batch --native-all -o "$TMP/cm$v.folded" -f folded \
        >"$TMP/cm$v.txt" 2>&1
    check "pyenv-$v: C-mediated call run exits 0" [ $? -eq 0 ]
    pct=$(bare <"$TMP/cm$v.folded" | awk '{ n = $NF; t += n; if ($0 ~ /;via_c;.*map_next;.*;leaf[; ]/) h += n }
        END { printf "%.1f", t ? 100 * h / t : 0 }')
    check "pyenv-$v: --native-all: via_c, then map's C frames, then leaf in $pct% (>= 60)" \
        at_least "$pct" 60
    # Python-first (the default): map's C frames are the interpreter's own,
    # so they fold into via_c, which then calls leaf directly.
    "$PERTOP" --pid "$P" --duration 2 --batch -o "$TMP/cmf$v.folded" -f folded >/dev/null 2>&1
    pct=$(bare <"$TMP/cmf$v.folded" | awk '{ n = $NF; t += n; if ($0 ~ /;via_c;leaf[; ]/) h += n }
        END { printf "%.1f", t ? 100 * h / t : 0 }')
    check "pyenv-$v: python-first: via_c calling leaf directly in $pct% (>= 60)" at_least "$pct" 60
    unm=$(sed -n 's/.*(\([0-9]*\) unmerged.*/\1/p' "$TMP/cm$v.txt")
    check "pyenv-$v: no unmerged samples (got ${unm:-?})" [ "${unm:-1}" -le 3 ]
    kill -9 "$P"
done

# The target execs a new interpreter (--pid): found again after the exec,
# in the default mode (ptrace sees the exec) and with --nonblocking (the
# old interpreter's thread list stops reading right).
PY312=$(pyenv_python 3.12)
if [ -n "$PY312" ]; then
    for mode in merged nonblocking; do
        extra=""
        [ "$mode" = nonblocking ] && extra="--python --nonblocking"
        start_fixture "$PY312" "$SRC/tests/fixtures/py_exec.py"
        P=$FIX_PID
        # shellcheck disable=SC2086
        "$PERTOP" --pid "$P" --duration 4 --batch $extra -o "$TMP/exec.$mode.folded" -f folded \
            >/dev/null 2>&1
        check "exec ($mode): before_exec seen" grep -q ";before_exec" "$TMP/exec.$mode.folded"
        check "exec ($mode): after_exec seen: the new interpreter was found" \
            grep -q ";after_exec" "$TMP/exec.$mode.folded"
        kill -9 "$P"
    done

    # An embedding program that dlopens libpython after pertop attached.
    lib=$(dirname "$(dirname "$PY312")")/lib
    inc=$(dirname "$(dirname "$PY312")")/include/python3.12
    cat >"$TMP/late.c" <<'CEOF'
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    sleep(1);
    void *py = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
    if (!py)
        return 1;
    void (*init)(void) = (void (*)(void))dlsym(py, "Py_Initialize");
    int (*run)(const char *) = (int (*)(const char *))dlsym(py, "PyRun_SimpleString");
    init();
    return run("def late_hot():\n    while True:\n        sum(range(1000))\nlate_hot()\n");
}
CEOF
    if [ -r "$inc/Python.h" ] && cc -o "$TMP/late" "$TMP/late.c" -ldl 2>"$TMP/late.cc"; then
        start_fixture "$TMP/late" "$lib/libpython3.12.so.1.0"
        P=$FIX_PID
        "$PERTOP" --pid "$P" --duration 4 --batch -o "$TMP/late.folded" -f folded \
            >"$TMP/late.txt" 2>&1
        check "libpython dlopen'ed after attaching: its Python frames (late_hot)" \
            grep -q "late_hot" "$TMP/late.folded"
        kill -9 "$P"
    else
        echo "skip: cannot build the late-dlopen embedder"
    fi
else
    echo "skip: exec and late dlopen need pyenv 3.12"
fi

# Not a Python: --python says so, and native profiling is unaffected.
start_fixture "$FIXTURE_DIR/cpu_mix"
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 1 --python --batch >/dev/null 2>"$TMP/nopy.err"
check "--python on a native process exits 0" [ $? -eq 0 ]
check "--python on a native process says no CPython was found" \
    grep -q "no CPython found" "$TMP/nopy.err"
"$PERTOP" --pid "$P" --duration 1 --batch -o "$TMP/nat.folded" -f folded >/dev/null 2>&1
check "native process: native frames as before" grep -q "compute_inner" "$TMP/nat.folded"
kill -9 "$P"

# A Python pertop does not know: a clear message, native frames as usual.
start_fixture "$FIXTURE_DIR/fake_python"
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 1 --batch -o "$TMP/fake.folded" -f folded >/dev/null \
    2>"$TMP/fake.err"
check "unknown Python version: exits 0" [ $? -eq 0 ]
check "unknown Python version: says which and what pertop does" \
    grep -q "Python 3.14, which this pertop does not know.*native frames only" "$TMP/fake.err"
check "unknown Python version: native frames profiled" grep -q "fake_work" "$TMP/fake.folded"
kill -9 "$P"

# The live screen: the interpreter and its counts on the header's rate
# line, and why Python frames are missing shown there, not on stderr
# (which the screen would overdraw).
if command -v tmux >/dev/null 2>&1 && [ -n "$PY312" ]; then
    SOCK="pertop-py-$$"
    start_fixture "$PY312" "$SCRIPT"
    P=$FIX_PID
    tmux -L "$SOCK" -f /dev/null new-session -d -s nb -x 150 -y 40 \
        "env TERM=xterm-256color LANG=C.UTF-8 $PERTOP --pid $P --python --nonblocking --rate 999; sleep 60"
    check "screen: rate line names CPython 3.12 with Python samples and torn reads" \
        tmux_wait "$SOCK" nb 5 "rate .*CPython 3\.12\.[0-9]+ py [1-9][0-9]* torn \(dropped\) [0-9]+"
    check "screen: the threads go by their Python names" \
        tmux_wait "$SOCK" nb 5 "py-background-w"
    tmux -L "$SOCK" send-keys -t nb q
    kill -9 "$P"
    start_fixture "$FIXTURE_DIR/fake_python"
    P=$FIX_PID
    tmux -L "$SOCK" -f /dev/null new-session -d -s fake -x 150 -y 40 \
        "env TERM=xterm-256color LANG=C.UTF-8 $PERTOP --pid $P 2>$TMP/fake.screen.err; sleep 60"
    check "screen: an unknown Python version said on the header" \
        tmux_wait "$SOCK" fake 5 "rate .*python .*runs Python 3\.14, which this pertop does not know"
    tmux -L "$SOCK" send-keys -t fake q
    sleep 0.5
    check "screen: the note not written under the screen" \
        sh -c "! grep -q 'does not know' '$TMP/fake.screen.err'"
    kill -9 "$P"
    tmux -L "$SOCK" kill-server 2>/dev/null
else
    echo "skip: the screen checks need tmux and pyenv 3.12"
fi

if [ "$TESTED" -eq 0 ]; then
    echo "skip: no CPython on this machine"
    exit 77
fi
echo "$TESTED interpreters tested"
finish
