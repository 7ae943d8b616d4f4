#!/bin/sh
# The unit tests under AddressSanitizer and UBSan, then the integration
# tests that run pertop on real targets: a clone of this tree built with
# --enable-sanitizers in a directory of its own (the tree here is
# configured in place, so it cannot host a second build).  Any report
# fails it: the sanitizers abort the test, or pertop exits non-zero.
#   scripts/check-sanitizers.sh [DIR]   (default: a new temporary directory)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$(mktemp -d "${TMPDIR:-/tmp}/pertop-san.XXXXXX")}
git clone --quiet "$src" "$dir/src" || exit 1
cd "$dir/src" || exit 1
autoreconf -fi >/dev/null 2>&1 && ./configure --enable-werror --enable-sanitizers >/dev/null ||
    { echo "sanitizers: configure failed"; exit 1; }
make -j2 >"$dir/build.log" 2>&1 || { tail -30 "$dir/build.log"; exit 1; }
units=$(sed -n '/^UNIT_TESTS = /,/^$/p' Makefile.am | grep -o 'tests/test_[a-z_0-9]*' | tr '\n' ' ')
# a test of huge sizes wants NULL back from malloc, not an abort
ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1:abort_on_error=0}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS
make -j2 check TESTS="$units" >"$dir/check.log" 2>&1
rc=$?
pass=$(sed -n 's/^# PASS: *//p' test-suite.log)
fail=$(sed -n 's/^# FAIL: *//p' test-suite.log)
[ "$rc" -ne 0 ] && cat test-suite.log
echo "sanitizer unit tests (ASan + UBSan): ${pass:-0} passed, ${fail:-0} failed"
# pertop itself under the sanitizers on real targets: an ASan or UBSan
# report, or a leak at exit, fails the run and so the test that ran it
integration="tests/test_integration_cpu.sh tests/test_integration_native.sh tests/test_badinput.sh
    tests/test_faults.sh tests/test_export_web.sh tests/test_export_pprof.sh tests/test_sigstop.sh
    tests/test_hostile_names.sh tests/test_subprocesses.sh"
make -j2 check TESTS="$(echo $integration)" >"$dir/check-integration.log" 2>&1
irc=$?
pass=$(sed -n 's/^# PASS: *//p' test-suite.log)
fail=$(sed -n 's/^# FAIL: *//p' test-suite.log)
[ "$irc" -ne 0 ] && cat test-suite.log
echo "sanitizer integration tests (ASan + UBSan): ${pass:-0} passed, ${fail:-0} failed"
[ "$irc" -ne 0 ] && rc=$irc
[ "$rc" -eq 0 ] && rm -rf "$dir"
exit $rc
