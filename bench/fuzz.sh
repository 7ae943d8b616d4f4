#!/bin/sh
# fuzz.sh SECONDS [TARGET...] - runs each libFuzzer target of fuzz/ (built by
# `make fuzz` into fuzz/build/) for SECONDS seconds on a copy of its seed
# corpus fuzz/corpus/TARGET (the committed corpus is not grown), one target
# at a time, under nice.  Prints one row per target: executions, seconds,
# and findings (crash-, leak-, timeout-, oom- files of libFuzzer), and exits
# 1 when any target has a finding, 2 on a usage or build problem.  A
# finding's input and log are kept under the printed directory.
#   FUZZ_BUILD=DIR    where the fuzz_* binaries are (default fuzz/build)
#   FUZZ_NICE=CMD     the prefix of each run (default "nice -n 19"; "" none)
#   FUZZ_OPTS=OPTS    more libFuzzer options (-jobs, -dict, -max_len...)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
all="folded pprof pyframes pylines cfi symtab procfs demangle perfring"
[ $# -ge 1 ] || { echo "usage: bench/fuzz.sh SECONDS [TARGET...]   targets: $all" >&2; exit 2; }
secs=$1
shift
case "$secs" in '' | *[!0-9]*) echo "fuzz: SECONDS must be a number, not '$secs'" >&2; exit 2 ;; esac
targets=${*:-$all}
build=${FUZZ_BUILD:-$here/fuzz/build}
nice_cmd=${FUZZ_NICE-nice -n 19}
for t in $targets; do
    [ -x "$build/fuzz_$t" ] || { echo "fuzz: $build/fuzz_$t not built — run make fuzz (targets: $all)" >&2; exit 2; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/pertop-fuzz.XXXXXX")
# leaks count as findings; UBSan aborts (the targets are built with
# -fno-sanitize-recover); a NULL from a huge malloc is what the code expects
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

printf '%-10s %14s %8s %9s %s\n' target executions seconds findings exec/s
bad=0
total_exec=0
for t in $targets; do
    corpus=$work/$t/corpus
    arts=$work/$t/findings
    mkdir -p "$corpus" "$arts"
    [ -d "$here/fuzz/corpus/$t" ] && cp "$here/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null
    start=$(date +%s)
    # -timeout: an input that runs this long is a hang, a finding
    $nice_cmd "$build/fuzz_$t" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 \
        -print_final_stats=1 -artifact_prefix="$arts/" ${FUZZ_OPTS:-} "$corpus" \
        >"$work/$t/log" 2>&1
    rc=$?
    end=$(date +%s)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log" | tail -1)
    found=$(find "$arts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' -o -name 'slow-unit-*' \) | wc -l)
    # a run that died without an artifact (a sanitizer abort outside an input) counts too
    [ "$rc" -ne 0 ] && [ "$found" -eq 0 ] && found=1
    dt=$((end - start))
    [ "$dt" -gt 0 ] || dt=1
    printf '%-10s %14s %8s %9s %s\n' "$t" "${execs:-?}" "$dt" "$found" "$(( ${execs:-0} / dt ))"
    total_exec=$((total_exec + ${execs:-0}))
    if [ "$found" -ne 0 ]; then
        bad=1
        grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' \
            "$work/$t/log" | sed 's/^/    /'
    fi
done
if [ "$bad" -ne 0 ]; then
    echo "fuzz: findings above; inputs and logs in $work/TARGET/ (reproduce: $build/fuzz_TARGET FILE)"
    exit 1
fi
echo "fuzz: $total_exec executions, no findings"
rm -rf "$work"
exit 0
