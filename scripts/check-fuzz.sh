#!/bin/sh
# The fuzz targets for a short while: a clone of this tree configured in a
# directory of its own (the tree here is configured in place), `make fuzz`
# there (clang, libFuzzer, ASan + UBSan), then bench/fuzz.sh SECONDS on
# every target, each from its committed seed corpus.  Any finding (crash,
# sanitizer report, leak, hang) fails it.
#   scripts/check-fuzz.sh [SECONDS [DIR]]   (default 30 s a target, a new
#                                            temporary directory)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-30}
dir=${2:-$(mktemp -d "${TMPDIR:-/tmp}/pertop-fuzz-ci.XXXXXX")}
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang not found — install it (scripts/install-deps.sh --test)"
    exit 1
fi
git clone --quiet "$src" "$dir/src" || exit 1
cd "$dir/src" || exit 1
autoreconf -fi >/dev/null 2>&1 && ./configure >/dev/null || { echo "fuzz: configure failed"; exit 1; }
make -j2 fuzz >"$dir/build.log" 2>&1 || { tail -30 "$dir/build.log"; exit 1; }
bench/fuzz.sh "$secs"
rc=$?
[ "$rc" -eq 0 ] && rm -rf "$dir"
exit $rc
