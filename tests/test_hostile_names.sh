#!/bin/sh
# No terminal injection: names the target controls - a Python function
# named with terminal escapes, a thread whose Python and OS names hold
# control bytes, code from a file whose path holds a newline - reach no
# output raw: the text snapshot, folded, speedscope (JSON), SVG (XML), the
# report (Markdown), pprof's strings and the live screen (whose title an
# OSC sequence would change).  Needs CPython 3.12 (code.replace with a
# qualified name).
. "$(dirname "$0")/lib.sh"

PY=$(pyenv_python 3.12)
if [ -z "$PY" ]; then
    echo "SKIP: pyenv 3.12 is not installed"
    exit 77
fi
start_fixture "$PY" "$SRC_DIR/tests/fixtures/py_hostile.py"
P=$FIX_PID

# raw_controls FILE: lines with a control byte other than tab and newline
raw_controls() {
    LC_ALL=C grep -c "$(printf '[\001-\010\013-\037\177]')" "$1"
}

for f in text folded speedscope svg report pprof; do
    extra=
    case $f in folded | svg) extra=--threads ;; esac
    # shellcheck disable=SC2086
    "$PERTOP" --pid "$P" --duration 2 --batch $extra -f "$f" -o "$TMP/out.$f" >"$TMP/stdout.$f" \
        2>"$TMP/stderr.$f"
    check "$f: run exits 0" [ $? -eq 0 ]
    check "$f: nothing raw on pertop's standard output or error" \
        sh -c "[ \"\$(cat '$TMP/stdout.$f' '$TMP/stderr.$f' | LC_ALL=C grep -c \"\$(printf '[\001-\010\013-\037\177]')\")\" = 0 ]"
    [ "$f" = pprof ] && continue
    check "$f: no raw control byte in the file ($(raw_controls "$TMP/out.$f") lines)" \
        [ "$(raw_controls "$TMP/out.$f")" = 0 ]
done
check "folded: the evil function is there, replaced" grep -q '?\[2J?\]0:pwned?evil' "$TMP/out.folded"
check "folded: its file's newline replaced" grep -q 'bad?name?\[31m\.py' "$TMP/out.folded"
check "folded: the thread's Python name replaced" grep -qE '^thr\?\]0:pwned\?\?\[5m-[0-9]+;' \
    "$TMP/out.folded"
check "text: the evil function in the hot table" grep -q 'pwned?evil' "$TMP/out.text"
check "speedscope: valid JSON" python3 -c 'import json, sys; json.load(open(sys.argv[1]))' \
    "$TMP/out.speedscope"
check "svg: well-formed XML" python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' \
    "$TMP/out.svg"
check "pprof: no control byte in any string" python3 -c '
import gzip, sys
def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
        if c < 0x80: return v, i
p = gzip.decompress(open(sys.argv[1], "rb").read())
i, bad, n = 0, 0, 0
while i < len(p):
    k, i = varint(p, i)
    if k & 7 == 0: _, i = varint(p, i)
    elif k & 7 == 2:
        ln, i = varint(p, i)
        if k >> 3 == 6:
            n += 1
            bad += any(c < 0x20 or c == 0x7f for c in p[i:i + ln])
        i += ln
    elif k & 7 == 1: i += 8
    elif k & 7 == 5: i += 4
    else: sys.exit("bad wire type")
sys.exit(not (n > 0 and bad == 0))' "$TMP/out.pprof"

# the screen: the names drawn replaced, the terminal's title untouched
if command -v tmux >/dev/null 2>&1; then
    SOCK="pertop-hostile-$$"
    tmux -L "$SOCK" -f /dev/null new-session -d -s h -x 160 -y 40 \
        "env TERM=xterm-256color LANG=C.UTF-8 $PERTOP --pid $P; sleep 60"
    check "screen: the evil function drawn, replaced" tmux_wait "$SOCK" h 15 'pwned\?evil'
    check "screen: the thread drawn by its name, replaced" tmux_wait "$SOCK" h 10 'thr\?\]0:pwned|thr\?'
    title=$(tmux -L "$SOCK" display -p -t h '#{pane_title}')
    check "screen: the terminal title untouched ($title)" sh -c "! echo '$title' | grep -q pwned"
    tmux -L "$SOCK" send-keys -t h q
    sleep 0.5
    tmux -L "$SOCK" kill-server 2>/dev/null
fi
check "target running and untraced afterwards" running_free "$P"
finish
