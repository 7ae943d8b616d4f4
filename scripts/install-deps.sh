#!/bin/sh
# Installs what pertop needs to build and test on Debian 12 (bookworm), and
# nothing that is already there.  Runs apt-get through sudo when not root.
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   build and test dependencies
#   scripts/install-deps.sh --bench  test dependencies and the benchmarks'
#                                    (redis for bench/engines.sh)
set -eu

build_pkgs="build-essential autoconf automake pkg-config libncurses-dev libunwind-dev
libdw-dev libelf-dev libcmocka-dev libiberty-dev libcapstone-dev zlib1g-dev"
test_pkgs="tmux python3 linux-perf binutils gdb libc6-dbg golang-go clang-format
clang libclang-rt-14-dev"

bench_pkgs="redis-server redis-tools"

pkgs=$build_pkgs
mode=${1:-}
[ "$mode" = "--test" ] && pkgs="$build_pkgs $test_pkgs"
[ "$mode" = "--bench" ] && pkgs="$build_pkgs $test_pkgs $bench_pkgs" && mode=--test
# speedscope output is validated against the speedscope npm package's
# schema: node and npm from Debian, unless another install is on PATH
if [ "$mode" = "--test" ] &&
    { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
    pkgs="$pkgs nodejs npm"
fi

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "pertop: installing:$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
