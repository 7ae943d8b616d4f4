#!/bin/sh
# Demangled C++ names, and a stripped binary still named from .dynsym.
. "$(dirname "$0")/lib.sh"

start_fixture "$FIXTURE_DIR/cxx_mix"
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 2 --batch -o "$TMP/cxx.folded" -f folded >"$TMP/cxx.txt" 2>&1
check "C++ run exits 0" [ $? -eq 0 ]
check "demangled method shapes::Grid<double>::relax(int)" \
    grep -qF "shapes::Grid<double>::relax(int)" "$TMP/cxx.folded"
check "demangled template shapes::accumulate<int>(int)" \
    grep -qF "accumulate<int>(int)" "$TMP/cxx.folded"
check "no mangled names left" sh -c "! grep -q '_ZN6shapes' '$TMP/cxx.folded'"
check "C++ stacks reach main" grep -qF "main;shapes::Grid<double>::relax(int)" "$TMP/cxx.folded"
check "text snapshot shows the C++ source file" grep -q "cxx_mix.cc:[0-9]" "$TMP/cxx.txt"
kill -9 "$P"

# libc's own symbols come from its separate debug file (libc6-dbg installs it
# under /usr/lib/debug/.build-id, the -dbgsym layout)
if dpkg-query -W -f='${Status}' libc6-dbg 2>/dev/null | grep -q "ok installed"; then
    check "libc frames named from the build-id debug file" \
        grep -q "__libc_start_call_main;main;" "$TMP/cxx.folded"
else
    echo "skip: libc6-dbg not installed, no separate debug file to find"
fi

start_fixture "$FIXTURE_DIR/cpu_mix_stripped"
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 2 --batch -o "$TMP/strip.folded" -f folded >"$TMP/strip.txt" 2>&1
check "stripped run exits 0" [ $? -eq 0 ]
check "stripped binary: compute_inner named from .dynsym" grep -q ";compute_inner " "$TMP/strip.folded"
check "stripped binary: stacks still reach main" grep -q "main;run_cycle" "$TMP/strip.folded"
kill -9 "$P"

# PLT stubs and the vDSO named as perf names them: labs@plt (never _init),
# __vdso_clock_gettime (never [vdso]+0x...), with perf record beside
# pertop over the same seconds, their self shares within 5 points
for mode in plt vdso; do
    start_fixture "$FIXTURE_DIR/plt_vdso" "$mode"
    P=$FIX_PID
    RP=
    if have_perf; then
        perf record -q -F 999 -p "$P" -o "$TMP/$mode.perf" -- sleep 3 >/dev/null 2>&1 &
        RP=$!
    fi
    "$PERTOP" --pid "$P" --rate 999 --duration 3 --batch -o "$TMP/$mode.folded" -f folded \
        >/dev/null 2>&1
    check "$mode: run exits 0" [ $? -eq 0 ]
    [ -n "$RP" ] && wait "$RP"
    if [ "$mode" = plt ]; then
        stub=labs@plt
        check "plt: no frame named _init" sh -c "! grep -qE '(^|;)_init[; ]' '$TMP/plt.folded'"
    else
        stub=__vdso_clock_gettime
        check "vdso: no [vdso]+0x frame" sh -c "! grep -q 'vdso\]+0x' '$TMP/vdso.folded'"
    fi
    got=$(folded_self_pct "$TMP/$mode.folded" "$stub")
    check "$mode: $stub self $got% (>= 5)" at_least "$got" 5
    if [ -n "$RP" ]; then
        pp=$(perf_self_pct "$TMP/$mode.perf" "$stub")
        check "$mode: perf record says $stub ${pp:-?}%, pertop $got% (±5)" within "$got" "${pp:-0}" 5
    fi
    kill -9 "$P"
done

# a library loaded with dlopen after attaching: its frames are still named
# (SIGUSR1 makes it load the plugin; the signal passes through the sampler)
start_fixture "$FIXTURE_DIR/dlopen_mix" "$FIXTURE_DIR/libplugin.so"
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 30 --batch -o "$TMP/dl.folded" -f folded >/dev/null 2>&1 &
T=$!
sleep 1.5
kill -USR1 "$P"
sleep 1.5
kill -INT "$T"
wait "$T"
check "dlopen run exits 0" [ $? -eq 0 ]
check "code from before the dlopen is named" grep -q "main;before_plugin " "$TMP/dl.folded"
check "the plugin loaded later is named" grep -q "main;plugin_hot_loop " "$TMP/dl.folded"
check "no unknown frames for the plugin" sh -c "! grep -q 'unknown' '$TMP/dl.folded'"
kill -9 "$P"

finish
