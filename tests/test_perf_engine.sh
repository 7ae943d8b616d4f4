#!/bin/sh
# The perf_event engine against what really happened (each fixture measures
# its own design) and against perf record on the same program: a loop that
# makes a system call every ~20 us, contention for the CPUs, off-CPU waits,
# threads, exec and kernel frames; the fallback to ptrace when perf_event is
# refused; nothing left behind by a pertop killed with -9.
. "$(dirname "$0")/lib.sh"

design_of() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" "$1"; }
engine_of() { sed -n 's/^pertop: stats: engine=\([a-z-]*\).*/\1/p' "$1" | head -n1; }

# --- a CPU loop with a cheap system call every ~20 us ----------------------
start_fixture "$FIXTURE_DIR/sysmix" --syscalls "$TMP/sys.design"
P=$FIX_PID
sleep 0.5 # the design file is written every 100 ms
# design_window BEFORE AFTER: compute_chunk's share between two readings
design_window() {
    awk -v a0="$(design_of "$1" compute_ns)" -v b0="$(design_of "$1" total_ns)" \
        -v a1="$(design_of "$2" compute_ns)" -v b1="$(design_of "$2" total_ns)" \
        'BEGIN { if (b1 > b0) printf "%.2f", 100 * (a1 - a0) / (b1 - b0); else print 0 }'
}
cp "$TMP/sys.design" "$TMP/sys.before"
# perf record over the same seconds as pertop: the machine's load moves the
# design, so both must see the same interval
RP=
if have_perf; then
    perf record -q -F 999 -p "$P" -o "$TMP/sys.perf" -- sleep 4 >/dev/null 2>&1 &
    RP=$!
fi
"$PERTOP" --pid "$P" --rate 999 --duration 4 --batch --stats -o "$TMP/sys.folded" -f folded \
    >/dev/null 2>"$TMP/sys.err"
check "syscall loop: run exits 0" [ $? -eq 0 ]
[ -n "$RP" ] && wait "$RP"
check "syscall loop: the perf engine sampled ($(engine_of "$TMP/sys.err"))" \
    [ "$(engine_of "$TMP/sys.err")" = perf ]
design=$(design_window "$TMP/sys.before" "$TMP/sys.design")
got=$(folded_self_pct "$TMP/sys.folded" compute_chunk)
check "syscall loop: compute_chunk $got%, designed $design% (±3)" within "$got" "${design:-0}" 3
rate=$(sed -n 's/.*stats: elapsed=.* rate=\([0-9.]*\)Hz.*/\1/p' "$TMP/sys.err")
check "syscall loop: achieved ${rate:-?} Hz per CPU-second of 999 asked (>= 90%)" at_least "${rate:-0}" 899
sc=$(folded_self_pct "$TMP/sys.folded" syscall)
check "syscall loop: no skid to libc's syscall ($sc% self)" at_least 10 "$sc"
check "syscall loop: the kernel's side is under cheap_syscall" \
    grep -qE "cheap_syscall;syscall;.*(__x64_sys_getppid|do_syscall_64)" "$TMP/sys.folded"
if [ -n "$RP" ]; then
    pp=$(perf_self_pct "$TMP/sys.perf" compute_chunk)
    check "syscall loop: perf record says compute_chunk ${pp:-?}%, pertop $got% (±3)" \
        within "$got" "${pp:-0}" 3
else
    echo "note: perf is not installed here: the side-by-side comparison is left out"
fi
# the ptrace engine on the same loop: its stops are measured, and a median
# past 200 us is said, with what to do
"$PERTOP" --pid "$P" --engine ptrace --rate 999 --duration 2 --batch --stats >"$TMP/pt.txt" \
    2>"$TMP/pt.err"
med=$(sed -n 's/.*stop_median_us=\([0-9.]*\).*/\1/p' "$TMP/pt.err")
if at_least "${med:-0}" 200.1; then
    check "ptrace: median stop ${med} us is warned of in the snapshot" \
        grep -q "^engine note: .*median.*to stop.*skid" "$TMP/pt.txt"
else
    check "ptrace: median stop ${med:-?} us, no warning" sh -c "! grep -q 'to stop (over' '$TMP/pt.txt'"
fi
check "ptrace: the median is measured" at_least "${med:-0}" 0.1
kill -9 "$P"

# --- the CPU mix while 3 spinners compete for the 2 cores -------------------
start_fixture "$FIXTURE_DIR/cpu_mix"
P=$FIX_PID
for i in 1 2 3; do start_fixture "$FIXTURE_DIR/sysmix" --spin; done
"$PERTOP" --pid "$P" --rate 499 --duration 6 --batch -o "$TMP/cont.folded" -f folded \
    >/dev/null 2>&1
check "contention: run exits 0" [ $? -eq 0 ]
check_mix "$TMP/cont.folded" "contention: "
for p in $PIDS; do kill -9 "$p" 2>/dev/null; done

# --- off-CPU: 30% computing, 70% asleep, and a thread blocked since before ---
start_fixture "$FIXTURE_DIR/sysmix" --offcpu "$TMP/off.design"
P=$FIX_PID
sleep 1.2
"$PERTOP" --pid "$P" --idle --duration 5 --batch --threads -o "$TMP/off.folded" -f folded \
    >/dev/null 2>&1
check "off-CPU: run exits 0" [ $? -eq 0 ]
grep '^worker-' "$TMP/off.folded" >"$TMP/worker.folded"
wt=$(folded_total "$TMP/worker.folded")
# at 99 Hz a thread stands for 99 samples a second, asleep or not
check "off-CPU: the worker has its wall-clock samples ($wt in 5 s at 99 Hz)" at_least "$wt" 400
for part in compute:compute_part sleep:sleep_part; do
    want=$(design_of "$TMP/off.design" "${part%%:*}_pct")
    got=$(folded_with_pct "$TMP/worker.folded" "${part#*:}")
    check "off-CPU: ${part#*:} $got% of the worker's time, measured $want% (±5)" \
        within "$got" "${want:-0}" 5
done
check "off-CPU: the sleeping stack ends in the sleep's system call" \
    grep -qE "sleep_part;(__nanosleep;)?(__)?clock_nanosleep;.*__x64_sys_clock_nanosleep" \
    "$TMP/worker.folded"
check "off-CPU: the main thread, blocked in pthread_join since before the attach, shows" \
    grep -qE "^sysmix-$P;.*main;.*pthread_clockjoin" "$TMP/off.folded"
kill -9 "$P"

# --- a thread started after the attach, an exec after the attach ------------
start_fixture "$FIXTURE_DIR/sysmix" --late "$TMP/late.flag"
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 3 --batch --threads -o "$TMP/late.folded" -f folded \
    >/dev/null 2>&1
check "late thread: it was started during the run" [ -s "$TMP/late.flag" ]
check "late thread: named, with its own function" \
    grep -qE "^late_worker-[0-9]+;.*late_worker;late_work;spin_forever " "$TMP/late.folded"
kill -9 "$P"

# threads born after the attach, each in 1 ms bursts every 10 ms: their
# inherited contexts must not pass one thread's clock to the next (a sample
# every 10 ms of the thread's own CPU time, so each thread's count follows
# its CPU time; without the unclone, threads got 60-150% of the rate)
MANY=$(dirname "$FIXTURE_DIR")/../bench/many
"$PERTOP" --rate 99 --batch --threads -o "$TMP/many.folded" -f folded \
    -- "$MANY" --threads 20 --cycles 400 --cpu "$TMP/many.cpu" >/dev/null 2>&1
check "born threads: run exits 0" [ $? -eq 0 ]
spread=$(awk 'NR == FNR { cpu[$1] = $2; next }
    { n = $NF; t = $0; sub(/;.*/, "", t); sub(/.*-/, "", t); got[t] += n }
    END { min = -1; for (t in cpu) if (cpu[t] > 0.1) { r = got[t] / cpu[t]; k++
              if (min < 0 || r < min) min = r; if (r > max) max = r }
          printf "%d %.1f %.1f\n", k, min, max }' "$TMP/many.cpu" "$TMP/many.folded")
set -- $spread
check "born threads: all 20 measured (${1:-0})" [ "${1:-0}" -eq 20 ]
check "born threads: the fewest samples per CPU-second ${2:-?} Hz (>= 85% of 99)" at_least "${2:-0}" 84
check "born threads: the most ${3:-?} Hz (<= 105% of 99)" at_least 104 "${3:-999}"

start_fixture "$FIXTURE_DIR/sysmix" --exec-into "$FIXTURE_DIR/cpu_mix"
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 3 --batch -o "$TMP/exec.folded" -f folded >/dev/null 2>&1
check "exec: run exits 0" [ $? -eq 0 ]
check "exec: the program before is named" grep -q "main;before_exec" "$TMP/exec.folded"
check "exec: the program after is named" grep -q "main;run_cycle;compute_outer" "$TMP/exec.folded"
kill -9 "$P"

# --- kernel frames under a read, and --no-kernel ----------------------------
head -c 8388608 /dev/urandom >"$TMP/data.bin"
start_fixture "$FIXTURE_DIR/sysmix" --read "$TMP/data.bin"
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 2 --batch -o "$TMP/read.folded" -f folded >/dev/null 2>&1
check "kernel: the kernel's read path under read_file" \
    grep -qE "read_file;(__libc_read|read);.*(ksys_read|vfs_read)" "$TMP/read.folded"
"$PERTOP" --pid "$P" --duration 2 --batch --no-kernel -o "$TMP/nok.folded" -f folded \
    >/dev/null 2>&1
check "kernel: --no-kernel run exits 0" [ $? -eq 0 ]
check "kernel: --no-kernel keeps read_file" grep -q "read_file" "$TMP/nok.folded"
check "kernel: --no-kernel has no kernel frame" \
    sh -c "! grep -qE 'ksys_read|vfs_read|entry_SYSCALL|do_syscall_64' '$TMP/nok.folded'"
kill -9 "$P"

# --- the vDSO, named from the image mapped in the target -------------------
start_fixture "$FIXTURE_DIR/sysmix" --clock
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 2 --batch -o "$TMP/vdso.folded" -f folded >/dev/null 2>&1
check "vdso: run exits 0" [ $? -eq 0 ]
check "vdso: clock_gettime's vDSO function is named under read_clock" \
    grep -qE "read_clock;(clock_gettime;)?(__vdso_)?clock_gettime[; ]" "$TMP/vdso.folded"
check "vdso: no vDSO entry frame left as an offset" \
    sh -c "! grep -qE 'read_clock;(clock_gettime;)?\\[vdso\\]\\+0x' '$TMP/vdso.folded'"
kill -9 "$P"

# --- perf_event refused: auto samples with ptrace and says why --------------
start_fixture "$FIXTURE_DIR/cpu_mix"
P=$FIX_PID
"$FIXTURE_DIR/deny_perf" "$PERTOP" --pid "$P" --duration 1 --batch --stats \
    >"$TMP/deny.txt" 2>"$TMP/deny.err"
check "refused: auto still runs (exit $?)" [ $? -eq 0 ]
check "refused: the ptrace engine sampled" [ "$(engine_of "$TMP/deny.err")" = ptrace ]
check "refused: it says why and how to allow perf" \
    grep -q "perf_event sampling refused.*perf_event_paranoid" "$TMP/deny.err"
check "refused: the profile is there" grep -q compute_inner "$TMP/deny.txt"
check "refused: target running, untraced" running_free "$P"
"$FIXTURE_DIR/deny_perf" "$PERTOP" --pid "$P" --duration 1 --batch --engine perf \
    >/dev/null 2>"$TMP/deny2.err"
rc=$?
check "refused: --engine perf fails (exit $rc) with a message: $(head -c 160 "$TMP/deny2.err")" \
    sh -c "[ $rc -ne 0 ] && grep -q 'perf' '$TMP/deny2.err'"

# --- pertop killed with -9 leaves no event and the target as it was --------
"$PERTOP" --pid "$P" --idle --batch --duration 30 >/dev/null 2>&1 &
K=$!
sleep 1.5
nev=$(ls -l "/proc/$K/fd" 2>/dev/null | grep -c perf_event)
check "kill -9: pertop held perf events while running ($nev)" at_least "$nev" 1
kill -9 "$K"
wait "$K" 2>/dev/null
sleep 0.2
check "kill -9: the target holds no event" \
    sh -c "! ls -l /proc/$P/fd 2>/dev/null | grep -q perf_event"
check "kill -9: target running, untraced" running_free "$P"
check "kill -9: target keeps burning CPU" still_burning "$P"
kill -9 "$P"

finish
