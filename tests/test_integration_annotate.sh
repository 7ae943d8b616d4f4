#!/bin/sh
# Source and instruction views in batch (--view source:NAME, asm:NAME) on
# fixtures with a known hottest line and instruction:
#  - annot_loop's divide_chain: its HOT-LINE (a chain of dependent 64-bit
#    divisions) is the hottest source line; the hottest instruction is the
#    div or the one right after it (skid: a sample taken while a
#    long-latency instruction retires lands on the next instruction, as
#    perf annotate also shows);
#  - run_annot, hot only through its calls: the call line carries incl.;
#  - a Python function's hot line in its .py source, and no machine code;
#  - a tree moved after the build: "source not found" with the hint, then
#    --source-path OLD=NEW finds it (launch mode: the target has exited
#    when the view is built, so the plain path is read).
. "$(dirname "$0")/lib.sh"

SRC=${SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
FIX_SRC="$SRC/tests/fixtures/annot_loop.c"
HOT=$(grep -n "HOT-LINE \*/" "$FIX_SRC" | cut -d: -f1)
END=$(($(grep -n "^    return x;" "$FIX_SRC" | cut -d: -f1) + 1)) # divide_chain's closing brace

# hottest_row FILE: the row with the most samples (rows with a share)
hottest_row() {
    awk '$2 ~ /%$/ && $1 + 0 > max { max = $1 + 0; row = $0 } END { print row }' "$1"
}

start_fixture "$FIXTURE_DIR/annot_loop"
P=$FIX_PID

"$PERTOP" --pid "$P" --batch --duration 3 --view source:divide_chain >"$TMP/src.txt" 2>"$TMP/src.err"
check "source view exits 0" [ $? -eq 0 ]
check "source view titled with the function and its file" \
    grep -q "^source: divide_chain .*annot_loop.c" "$TMP/src.txt"
row=$(hottest_row "$TMP/src.txt")
echo "hottest source row: $row"
check "hottest source line is the HOT-LINE ($HOT)" sh -c "echo '$row' | grep -q ' $HOT  .*HOT-LINE'"
check "the whole function is shown (its closing brace, line $END)" grep -q "^ *$END  }$" "$TMP/src.txt"

"$PERTOP" --pid "$P" --batch --duration 3 --view asm:divide_chain >"$TMP/asm.txt" 2>"$TMP/asm.err"
check "instruction view exits 0" [ $? -eq 0 ]
# instruction rows: "... ADDR: mnemonic operands"; the div and the next one
div_at=$(awk '/^ .*[0-9a-f]+: div/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9a-f]+:$/) { print $i; exit } }' "$TMP/asm.txt")
next_at=$(awk -v d="$div_at" '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9a-f]+:$/) { if (seen) { print $i; exit } if ($i == d) seen = 1 } }' "$TMP/asm.txt")
row=$(hottest_row "$TMP/asm.txt")
echo "div at $div_at, next $next_at; hottest instruction row: $row"
check "the listing holds the div of the HOT-LINE" [ -n "$div_at" ]
check "hottest instruction is the div or the one after it (skid)" \
    sh -c "echo '$row' | grep -q -e ' $div_at ' -e ' $next_at '"
check "source lines interleaved as comments" grep -q "; annot_loop.c:$HOT .*HOT-LINE" "$TMP/asm.txt"
check "the loop's back edge names its label" grep -q -- "-> \.L[0-9]" "$TMP/asm.txt"

"$PERTOP" --pid "$P" --batch --duration 2 --view source:run_annot >"$TMP/run.txt" 2>&1
check "run_annot: the call line carries incl. (no self)" \
    sh -c "awk '\$3 ~ /^divide_chain\\(/ && \$1 ~ /^[0-9]+\$/ && \$2 ~ /^[0-9]+\$/ { f = 1 } END { exit !f }' '$TMP/run.txt'"
"$PERTOP" --pid "$P" --batch --duration 2 --view asm:run_annot >"$TMP/runasm.txt" 2>&1
check "run_annot: the call instruction names its callee" grep -q "call.*<divide_chain>" "$TMP/runasm.txt"
kill -9 "$P"

# Python: the hot line of hot_leaf in py_mix.py
PYROOT=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
PY=$(ls -d "$PYROOT"/versions/3.12.*/bin/python3.12 2>/dev/null | head -n1)
[ -x "${PY:-}" ] || PY=$(command -v python3 || true)
if [ -n "$PY" ]; then
    SCRIPT="$SRC/tests/fixtures/py_mix.py"
    LEAF=$(grep -n "# LEAF_LINE" "$SCRIPT" | cut -d: -f1)
    start_fixture "$PY" "$SCRIPT"
    P=$FIX_PID
    "$PERTOP" --pid "$P" --batch --duration 3 --view source:hot_leaf >"$TMP/py.txt" 2>&1
    check "python source view exits 0" [ $? -eq 0 ]
    row=$(hottest_row "$TMP/py.txt")
    echo "python hottest row: $row"
    check "python: hot_leaf's hottest line is LEAF_LINE ($LEAF)" \
        sh -c "echo '$row' | grep -q ' $LEAF  .*# LEAF_LINE'"
    check "python: the source text is shown" grep -q "total += i \* i" "$TMP/py.txt"
    "$PERTOP" --pid "$P" --batch --duration 1 --view asm:hot_leaf >"$TMP/pyasm.txt" 2>&1
    check "python: no machine code, said plainly" \
        grep -q "no machine code for a Python function" "$TMP/pyasm.txt"
    kill -9 "$P"
else
    echo "skip: no python3 for the Python source view"
fi

# A tree moved after the build
mkdir -p "$TMP/tree" "$TMP/bin"
cp "$FIX_SRC" "$TMP/tree/annot_loop.c"
if ${CC:-cc} -O2 -g -o "$TMP/bin/annot_loop" "$TMP/tree/annot_loop.c" -lm; then
    mv "$TMP/tree" "$TMP/moved"
    "$PERTOP" --batch --duration 2 --view source:divide_chain -- "$TMP/bin/annot_loop" --seconds 3 \
        >"$TMP/moved.txt" 2>&1
    check "moved tree: says source not found, with the path" \
        grep -q "source not found: $TMP/tree/annot_loop.c" "$TMP/moved.txt"
    check "moved tree: hints at --source-path" grep -q -- "--source-path" "$TMP/moved.txt"
    "$PERTOP" --batch --duration 2 --view source:divide_chain --source-path "$TMP/tree=$TMP/moved" \
        -- "$TMP/bin/annot_loop" --seconds 3 >"$TMP/mapped.txt" 2>&1
    check "--source-path: the moved source is read" grep -q "HOT-LINE" "$TMP/mapped.txt"
    row=$(hottest_row "$TMP/mapped.txt")
    check "--source-path: the HOT-LINE is the hottest" sh -c "echo '$row' | grep -q HOT-LINE"
else
    echo "skip: no C compiler to build a moved tree"
fi

finish
