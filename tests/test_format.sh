#!/bin/sh
# Every source file as .clang-format writes it (scripts/check-format.sh).
here=$(cd "$(dirname "$0")/.." && pwd)
exec sh "$here/scripts/check-format.sh" "$here"
