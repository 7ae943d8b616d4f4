#!/bin/sh
# check-format.sh [SRCDIR] - every C and C++ file of the tree as .clang-format
# writes it.  Prints what differs and exits 1 when anything does; apply with
#   clang-format -i $(git ls-files '*.[ch]' '*.cc')
cd "${1:-.}" || exit 2
if ! command -v clang-format >/dev/null 2>&1; then
    echo "format: clang-format not found — install it (apt-get install clang-format)"
    exit 1
fi
files=$(find common sampler symbols src ui tests demo bench fuzz \( -name '*.[ch]' -o -name '*.cc' \) | sort)
if clang-format --dry-run -Werror $files; then
    echo "format: $(echo "$files" | wc -l) files as .clang-format writes them"
    exit 0
fi
echo "format: the files above differ from .clang-format — run clang-format -i on them"
exit 1
