#!/bin/sh
# Runs one test under a lock.  The tests that measure CPU shares against a
# designed mix run alone (exclusive lock): other busy tests beside it on a
# 2-core machine would preempt the fixture, and a ptrace sampler sees a
# preempted thread at its preemption point, which skews the shares it
# measures.  Every other test takes the lock shared and runs in parallel.
lock=${TEST_LOCK:-tests/.cpu-lock}
case "$*" in
*test_integration_cpu* | *test_integration_drill* | *test_perf_engine*) mode=-x ;;
*) mode=-s ;;
esac
if command -v flock >/dev/null 2>&1; then
    exec flock "$mode" "$lock" "$@"
fi
exec "$@"
