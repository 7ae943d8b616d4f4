#!/bin/sh
# check-layers.sh [SRCDIR] - the layer rule of the source tree, checked.
#
#   ui -> src -> {symbols, sampler} -> common
#
# Every project include is spelled with its folder ("sampler/unwind/unwind.h"),
# from the one include root.  A folder may include its own layer and the
# layers below it, never one above:
#   common/   only common/
#   sampler/  common/ and sampler/
#   symbols/  common/ and symbols/
#   src/      common/, sampler/, symbols/ and src/; ui/ only from src/main.c,
#             the one composition root
#   ui/       common/, src/ and ui/ (it reads views, never the target)
# Only ui/screen.c includes curses.  The model (src/model/) does no I/O: it
# is pure data, so it is unit-testable with plain data.
# Prints one line per breach and exits 1 when there is any.
cd "${1:-.}" || exit 2
bad=0
breach() {
    echo "layering: $*"
    bad=1
}

allowed() { # FILE -> the include prefixes it may use
    case "$1" in
    common/*) echo "common" ;;
    sampler/*) echo "common sampler" ;;
    symbols/*) echo "common symbols" ;;
    src/main.c) echo "common sampler symbols src ui" ;;
    src/*) echo "common sampler symbols src" ;;
    ui/*) echo "common src ui" ;;
    esac
}

for f in $(find common sampler symbols src ui -name '*.[ch]' | sort); do
    ok_dirs=$(allowed "$f")
    # quoted includes, with their line numbers
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
        sed 's/^\([0-9]*\):.*"\([^"]*\)".*/\1 \2/' >"${TMPDIR:-/tmp}/layers.$$"
    while read -r line inc; do
        [ "$inc" = config.h ] && continue
        case "$inc" in
        */*) top=${inc%%/*} ;;
        *)
            breach "$f:$line: \"$inc\" has no folder (write it from the source root, e.g. \"sampler/capture.h\")"
            continue
            ;;
        esac
        [ -f "$inc" ] || {
            breach "$f:$line: \"$inc\" is not a file of the tree"
            continue
        }
        case " $ok_dirs " in
        *" $top "*) ;;
        *) breach "$f:$line: includes $inc: ${f%%/*}/ may not include $top/ (ui -> src -> {symbols, sampler} -> common)" ;;
        esac
    done <"${TMPDIR:-/tmp}/layers.$$"
    rm -f "${TMPDIR:-/tmp}/layers.$$"
    if [ "$f" != ui/screen.c ] && grep -qE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<n?cursesw?(/n?curses)?\.h>' "$f"; then
        breach "$f: includes curses: only ui/screen.c talks to the terminal"
    fi
done

# I/O in the model: calls that read or write files, streams or descriptors
io='\<(fopen|fdopen|freopen|fclose|fread|fwrite|fprintf|printf|puts|fputs|fputc|putchar|getline|fgets|open|openat|read|write|pread|pwrite|close|opendir|readdir|stat|lstat|fstat|mmap|process_vm_readv|ptrace|popen|system)[[:space:]]*\('
for f in $(find src/model -name '*.[ch]' | sort); do
    grep -nE "$io" "$f" | grep -vE '^[0-9]+:[[:space:]]*(\*|//|/\*)' | while IFS= read -r hit; do
        echo "layering: $f:${hit%%:*}: I/O in the model (src/model does no I/O): ${hit#*:}"
    done | grep . && bad=1
done

[ "$bad" -eq 0 ] && echo "layering: every include points down, the model does no I/O"
exit "$bad"
