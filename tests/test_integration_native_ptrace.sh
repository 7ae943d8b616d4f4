#!/bin/sh
# The native unwinding tests (C++, dlopen, stripped, debug_frame...) again
# with the ptrace engine.
TEST_ENGINE=ptrace
export TEST_ENGINE
exec sh "$(dirname "$0")/test_integration_native.sh"
