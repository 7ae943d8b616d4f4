#!/bin/sh
# The CPU accuracy test again with the ptrace engine, the fallback when
# perf_event is refused: its shares must hold too.
TEST_ENGINE=ptrace
export TEST_ENGINE
exec sh "$(dirname "$0")/test_integration_cpu.sh"
