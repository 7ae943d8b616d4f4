#!/bin/sh
# The Python-first merged view, for every CPython on the machine (pyenv's
# 2.7 and 3.6-3.13, Debian's python3.11), on tests/fixtures/py_first.py:
# py_leaf is pure Python that keeps the interpreter's own C code busy, so by
# default it must lead the hot table with at least 80% of the self share it
# has under --python, while squeeze's zlib (a C extension) keeps rows of its
# own; --native-all shows the interpreter's frames again.  Folded output
# names the leaf py-spy's way at its line.  A version that is not installed
# is reported as skipped and never counted; none at all: exit 77.
. "$(dirname "$0")/lib.sh"

SRC=${SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
SCRIPT="$SRC/tests/fixtures/py_first.py"
LEAF_LINE=$(grep -n "# PY_LEAF_LINE" "$SCRIPT" | cut -d: -f1)
TESTED=0


# hot_rows SNAPSHOT: the hot table's rows, "SELF% FUNCTION MODULE" each
hot_rows() {
    awk '/^ SELF%/ { on = 1; next } on && /^$/ { exit }
        on && $1 ~ /%$/ { sub(/%/, "", $1); print $1, $4, $NF }' "$1"
}

# self_of SNAPSHOT FUNC: the SELF% of FUNC's row, 0 when it has none
self_of() {
    hot_rows "$1" | awk -v fn="$2" '$2 == fn { print $1; found = 1; exit }
        END { if (!found) print 0 }'
}

# has_row SNAPSHOT ERE: a hot-table row with self time whose function or
# module matches ERE
has_row() {
    hot_rows "$1" | awk -v re="$2" '$1 > 0 && ($2 ~ re || $3 ~ re) { f = 1 } END { exit !f }'
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

    "$PERTOP" --pid "$P" --duration 3 --batch -o "$out.folded" -f folded >"$out.txt" 2>&1
    check "$name: default run exits 0" [ $? -eq 0 ]
    first=$(hot_rows "$out.txt" | head -n1 | cut -d' ' -f2)
    check "$name: py_leaf is the first row of the hot table (got ${first:-none})" \
        [ "$first" = py_leaf ]
    check "$name: the snapshot says the frames are python-first" \
        grep -q "^frames: *python-first" "$out.txt"
    check "$name: zlib keeps rows of its own" has_row "$out.txt" '(libz|zlib)'
    # libz is stripped: its static functions (deflate's loops) have no
    # symbol, so each is one frame named by its entry, where its .eh_frame
    # entry begins, not one frame per address
    libz=$(awk '$NF ~ /\/libz\.so/ { print $NF; exit }' "/proc/$P/maps")
    if [ -n "$libz" ]; then
        grep -o 'libz\.so[0-9.]*+0x[0-9a-f]*' "$out.folded" | sed 's/.*+0x//' | sort -u >"$out.unnamed"
        readelf --debug-dump=frames "$libz" 2>/dev/null |
            sed -n 's/.* FDE .*pc=0*\([0-9a-f]*\)\.\..*/\1/p' | sort -u >"$out.fdes"
        check "$name: libz's unnamed code is grouped by function ($(wc -l <"$out.unnamed") entries)" \
            sh -c "[ -s '$out.fdes' ] && [ -z \"\$(comm -23 '$out.unnamed' '$out.fdes')\" ]"
    fi
    leaf=$(folded_self_pct "$out.folded" "py_leaf ($(basename "$SCRIPT"):$LEAF_LINE)")
    check "$name: folded: py_leaf (py_first.py:$LEAF_LINE) innermost in $leaf% (>= 50)" \
        at_least "$leaf" 50

    "$PERTOP" --pid "$P" --duration 3 --batch --python >"$out.py.txt" 2>&1
    check "$name: --python run exits 0" [ $? -eq 0 ]
    def=$(self_of "$out.txt" py_leaf)
    pyonly=$(self_of "$out.py.txt" py_leaf)
    want=$(awk -v p="$pyonly" 'BEGIN { printf "%.1f", 0.8 * p }')
    check "$name: py_leaf self $def% >= 80% of its --python self $pyonly% ($want%)" \
        at_least "$def" "$want"

    "$PERTOP" --pid "$P" --duration 2 --batch --native-all -o "$out.all.folded" -f folded \
        >"$out.all.txt" 2>&1
    check "$name: --native-all run exits 0" [ $? -eq 0 ]
    check "$name: --native-all: the interpreter's own functions have self time" \
        has_row "$out.all.txt" '(libpython|python[0-9])'
    check "$name: --native-all: the snapshot says every native frame is kept" \
        grep -q "^frames: *every native frame" "$out.all.txt"
    allself=$(self_of "$out.all.txt" py_leaf)
    check "$name: --native-all: py_leaf's self share drops ($allself% < $def%)" \
        awk -v a="$allself" -v b="$def" 'BEGIN { exit !(a < b) }'

    "$PERTOP" --pid "$P" --duration 2 --batch --no-line-numbers -o "$out.nl.folded" -f folded \
        >/dev/null 2>&1
    nl=$(folded_self_pct "$out.nl.folded" "py_leaf ($(basename "$SCRIPT"))")
    check "$name: --no-line-numbers: py_leaf (py_first.py) innermost in $nl% (>= 50)" \
        at_least "$nl" 50
    check "$name: target running and untraced afterwards" running_free "$P"
    kill -9 "$P"
}

for v in 2.7 3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13; do
    one_python "pyenv-$v" "$(pyenv_python "$v")"
done
one_python debian-3.11 /usr/bin/python3.11

# Every export names the Python function and carries its file and line in
# its own fields: speedscope's frame file/line, pprof's Function filename
# and Line line, SVG's data-loc.
PY312=$(pyenv_python 3.12)
if [ -n "$PY312" ] && command -v python3 >/dev/null 2>&1; then
    start_fixture "$PY312" "$SCRIPT"
    P=$FIX_PID
    for f in speedscope pprof svg; do
        "$PERTOP" --pid "$P" --duration 2 --batch -f "$f" -o "$TMP/ex.$f" >/dev/null 2>&1
        check "exports: $f run exits 0" [ $? -eq 0 ]
    done
    check "exports: speedscope frame py_leaf with file py_first.py and its def line" \
        python3 -c '
import json, sys
fr = json.load(open(sys.argv[1]))["shared"]["frames"]
sys.exit(not any(x["name"] == "py_leaf" and x.get("file") == "py_first.py"
                 and x.get("line") == int(sys.argv[2]) for x in fr))' "$TMP/ex.speedscope" \
        "$(grep -n '^def py_leaf' "$SCRIPT" | cut -d: -f1)"
    check "exports: pprof Function py_leaf, filename py_first.py, a Line at $LEAF_LINE" \
        python3 -c '
import gzip, sys
def fields(b):
    i = 0
    while i < len(b):
        k = 0; s = 0
        while True:
            c = b[i]; i += 1; k |= (c & 0x7f) << s; s += 7
            if c < 0x80: break
        f, t = k >> 3, k & 7
        if t == 0:
            v = 0; s = 0
            while True:
                c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
                if c < 0x80: break
            yield f, v
        elif t == 2:
            n = 0; s = 0
            while True:
                c = b[i]; i += 1; n |= (c & 0x7f) << s; s += 7
                if c < 0x80: break
            yield f, b[i:i + n]; i += n
        elif t == 5: i += 4
        elif t == 1: i += 8
        else: raise SystemExit("bad wire type")
p = gzip.decompress(open(sys.argv[1], "rb").read())
strs = [v for f, v in fields(p) if f == 6]
funcs = {}
for f, v in fields(p):
    if f == 5:
        d = dict(fields(v)); funcs[d.get(1)] = (strs[d.get(2, 0)], strs[d.get(4, 0)])
lines = set()
for f, v in fields(p):
    if f == 4:
        for g, w in fields(v):
            if g == 4:
                d = dict(fields(w)); lines.add((funcs.get(d.get(1)), d.get(2)))
sys.exit(not ((b"py_leaf", b"py_first.py"), int(sys.argv[2])) in lines)' "$TMP/ex.pprof" "$LEAF_LINE"
    check "exports: SVG py_leaf with data-loc py_first.py:LINE" \
        grep -qE '<g [^>]*data-loc="py_first\.py:[0-9]+"><title>py_leaf ' "$TMP/ex.svg"
    kill -9 "$P"
fi

# The live screen: the header says which frames are shown; i switches.
# first_row SOCK SESSION SECONDS ERE: the hot table's first row matches
first_row() {
    n=$(($3 * 5))
    while [ "$n" -gt 0 ]; do
        tmux -L "$1" capture-pane -p -t "$2" 2>/dev/null |
            grep -E '^ *[0-9]+\.[0-9]% +[0-9]+\.[0-9]% ' | head -n1 | grep -qE -- "$4" && return 0
        sleep 0.2
        n=$((n - 1))
    done
    tmux -L "$1" capture-pane -p -t "$2" 2>/dev/null | head -16
    return 1
}
if command -v tmux >/dev/null 2>&1 && [ -n "$PY312" ]; then
    SOCK="pertop-pyfirst-$$"
    start_fixture "$PY312" "$SCRIPT"
    P=$FIX_PID
    tmux -L "$SOCK" -f /dev/null new-session -d -s pf -x 160 -y 40 \
        "env TERM=xterm-256color LANG=C.UTF-8 $PERTOP --pid $P; sleep 60"
    check "screen: the header says frames python-first" tmux_wait "$SOCK" pf 15 "frames python-first"
    check "screen: py_leaf is the first hot row" first_row "$SOCK" pf 15 " py_leaf "
    check "screen: the status line lists i" tmux_wait "$SOCK" pf 5 "iPyNative"
    tmux -L "$SOCK" send-keys -t pf i
    check "screen: i shows every native frame (header)" tmux_wait "$SOCK" pf 5 "frames all native"
    check "screen: ... py_leaf's self share falls under 50%" \
        tmux_wait "$SOCK" pf 10 "^ *[1-4]?[0-9]\.[0-9]% +[0-9]+\.[0-9]% +[0-9.]+s py_leaf "
    check "screen: ... and the interpreter's functions have rows" \
        tmux_wait "$SOCK" pf 5 "^ *[0-9]+\.[0-9]% +[0-9]+\.[0-9]% .* libpython3\.12"
    tmux -L "$SOCK" send-keys -t pf i
    check "screen: i again: python-first" tmux_wait "$SOCK" pf 5 "frames python-first"
    check "screen: py_leaf first again" first_row "$SOCK" pf 10 " py_leaf "
    tmux -L "$SOCK" send-keys -t pf h
    check "screen: the help lists i" tmux_wait "$SOCK" pf 5 "^ *i +CPython"
    tmux -L "$SOCK" send-keys -t pf q
    sleep 0.5
    check "screen: target running and untraced after q" running_free "$P"
    kill -9 "$P"
    tmux -L "$SOCK" kill-server 2>/dev/null
else
    echo "skip: the screen checks need tmux and pyenv 3.12"
fi

if [ "$TESTED" -eq 0 ]; then
    echo "skip: no CPython installed"
    exit 77
fi
echo "$TESTED interpreters tested"
finish
