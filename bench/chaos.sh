#!/bin/sh
# bench/chaos.sh [CYCLES]: tests/test_chaos.sh with CYCLES kills of each
# signal (default 1000): pertop killed with -9, INT, TERM and HUP at random
# moments, alternating the engines, then the timer and descriptor checks.
# Prints the table "fault cycles violations".  Takes about 5 s a cycle
# per signal (1000: about 5 hours).
cd "$(dirname "$0")/.." || exit 1
[ -x ./pertop ] || { echo "chaos: build first (make)"; exit 1; }
PERTOP=$(pwd)/pertop FIXTURE_DIR=$(pwd)/tests/fixtures BUILD_DIR=$(pwd) SRC_DIR=$(pwd) \
    CHAOS_CYCLES=${1:-1000} sh tests/test_chaos.sh | sed -n '/^chaos table/,$p;/^violation/p'
