#!/bin/sh
# bench/chaos.sh [CYCLES]: tests/test_chaos.sh with CYCLES kills of each
# signal (default 1000): pertop killed with -9, INT, TERM and HUP at random
# moments, alternating the engines, then the timer and descriptor checks.
# Prints the table "fault cycles violations".  About 1 s a cycle
# (1000 of each signal: about 70 minutes), measured in make check.
cd "$(dirname "$0")/.." || exit 1
[ -x ./pertop ] || { echo "chaos: build first (make)"; exit 1; }
PERTOP=$(pwd)/pertop FIXTURE_DIR=$(pwd)/tests/fixtures BUILD_DIR=$(pwd) SRC_DIR=$(pwd) \
    CHAOS_CYCLES=${1:-1000} sh tests/test_chaos.sh | sed -n '/^chaos table/,$p;/^violation/p'
