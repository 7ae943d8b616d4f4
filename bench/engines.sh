#!/bin/sh
# pertop's engines against perf record --call-graph dwarf, in the same run:
# every configuration alternates with the others and with the target alone,
# and every figure is the median of REPS runs (the machine is noisy; run
# nothing else meanwhile).  Run from the build tree:
#   bench/engines.sh [REPS] [SECTION...]
# Sections (all by default):
#   slowdown  bench/work (20-frame CPU loop): slowdown at 99, 999, 9999 Hz
#             (perf engine, ptrace engine at 99/999, perf record), pertop's
#             CPU per sample (whole process) and its RSS
#   steady    pertop's CPU per sample and RSS once running (999 Hz, --pid,
#             from 4 s after the attach to a second before the end of 20 s)
#   rate      achieved samples per CPU-second at 999 Hz, 1, 3 and 8 threads
#   many      200 threads each wanting 10% of a CPU (20 CPUs' worth: on a
#             small machine they also wait for one), 99 Hz: lowest per-thread rate,
#             throughput loss (perf and ptrace engines, perf record)
#   churn     ~10,000 short threads a second, 999 Hz: slowdown, truncated
#   redis     redis-server under redis-benchmark (SET/GET): throughput loss
#             at 99 Hz, with --idle, and perf record (skipped when absent:
#             scripts/install-deps.sh --bench installs it)
set -u
BUILD=${BUILD_DIR:-.}
PERTOP=$BUILD/pertop
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; [ -n "${RPID:-}" ] && kill "$RPID" 2>/dev/null' EXIT
REPS=${1:-5}
[ $# -gt 0 ] && shift
SECTIONS=${*:-slowdown steady rate many churn redis}

. "$(dirname "$0")/lib.sh"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.3f", a / b }'; }
have_perf=0
perf record -q -o "$TMP/probe.data" -e task-clock -- true >/dev/null 2>&1 && have_perf=1
# perf_run HZ CMD...: the command under perf record, DWARF stacks as pertop takes them
perf_run() {
    hz=$1
    shift
    perf record -q -e task-clock -F "$hz" --call-graph dwarf,16384 -o "$TMP/perf.data" -- "$@" \
        2>/dev/null
}
# pertop_cpu ERR: pertop's whole-process CPU per sample, from its --stats
pertop_cpu() {
    awk -v s="$(field "$1" samples)" -v u="$(field "$1" sampler_cpu_us_per_sample)" \
        -v p="$(field "$1" processing_cpu_us_per_sample)" 'BEGIN { printf "%.1f\n", u + p }'
}

section_slowdown() {
    W="$BUILD/bench/work"
    i=0
    while [ "$i" -lt "$REPS" ]; do
        "$W" >"$TMP/o" && field "$TMP/o" work_seconds >>"$TMP/sd.alone"
        for hz in 99 999 9999; do
            "$PERTOP" --rate "$hz" --batch --stats -- "$W" >"$TMP/o" 2>"$TMP/e"
            field "$TMP/o" work_seconds >>"$TMP/sd.perf.$hz"
            pertop_cpu "$TMP/e" >>"$TMP/sd.cpu.$hz"
            field "$TMP/e" maxrss_kib >>"$TMP/sd.rss.$hz"
            if [ "$hz" -lt 9999 ]; then
                "$PERTOP" --engine ptrace --rate "$hz" --batch -- "$W" >"$TMP/o" 2>/dev/null
                field "$TMP/o" work_seconds >>"$TMP/sd.ptrace.$hz"
            fi
            if [ "$have_perf" -eq 1 ]; then
                perf_run "$hz" "$W" >"$TMP/o" && field "$TMP/o" work_seconds >>"$TMP/sd.rec.$hz"
            fi
        done
        i=$((i + 1))
    done
    alone=$(median <"$TMP/sd.alone")
    echo "== slowdown: bench/work alone $alone s (median of $REPS)"
    printf '%-7s %-12s %-12s %-14s %-20s %-10s\n' rate "pertop perf" "pertop ptrace" "perf record" "pertop CPU/sample us" "RSS MiB"
    for hz in 99 999 9999; do
        p=$(ratio "$(median <"$TMP/sd.perf.$hz")" "$alone")
        t=$( [ -s "$TMP/sd.ptrace.$hz" ] && ratio "$(median <"$TMP/sd.ptrace.$hz")" "$alone" || echo -)
        r=$( [ -s "$TMP/sd.rec.$hz" ] && ratio "$(median <"$TMP/sd.rec.$hz")" "$alone" || echo n/a)
        rss=$(median <"$TMP/sd.rss.$hz" | awk '{ printf "%.1f", $1 / 1024 }')
        printf '%-7s %-12s %-12s %-14s %-20s %-10s\n' "$hz" "$p" "$t" "$r" "$(median <"$TMP/sd.cpu.$hz")" "$rss"
    done
    echo "targets: 99 Hz <= 1.005; 999 and 9999 Hz <= perf record's; CPU <= 10 us/sample"
}

# cpu_ns PID: the CPU time of every thread of PID so far, in ns (schedstat)
cpu_ns() {
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# steady_run SECONDS: pertop --pid on the endless work target at 999 Hz;
# pertop's CPU and the target's between 4 s after the attach and a second
# before the end, so start-up, the final output and what pertop does once
# (reading the kernel's symbols at the first kernel frame) stay out.
# Prints "PERTOP_NS TARGET_NS RATE RSS_KIB" (RATE: samples per target
# CPU-second over the run, from --stats; RSS while sampling).
steady_run() {
    "$PERTOP" --pid "$SW" --rate 999 --batch --stats -d "$1" -o "$TMP/st.txt" >/dev/null 2>"$TMP/st.err" &
    sp=$!
    sleep 4
    p0=$(cpu_ns "$sp")
    t0=$(cpu_ns "$SW")
    sleep $(($1 - 5))
    p1=$(cpu_ns "$sp")
    t1=$(cpu_ns "$SW")
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$sp/status" 2>/dev/null)
    wait "$sp"
    rate=$(awk -v s="$(field "$TMP/st.err" samples)" -v c="$(field "$TMP/st.err" target_cpu_s)" \
        'BEGIN { printf "%.1f", (c > 0 ? s / c : 0) }')
    echo "$((p1 - p0)) $((t1 - t0)) $rate ${rss:-0}"
}

# Steady state: what a long session costs per sample once running, and the
# resident memory while sampling.
section_steady() {
    "$BUILD/bench/work" --rounds 1000000000 >/dev/null &
    SW=$!
    sleep 0.5
    i=0
    while [ "$i" -lt "$REPS" ]; do
        steady_run 20 >"$TMP/st.one"
        awk '{ printf "%.2f\n", ($3 > 0 && $2 > 0 ? $1 / ($2 / 1e9 * $3) / 1e3 : 0) }' "$TMP/st.one" >>"$TMP/steady.cpu"
        awk '{ printf "%.1f\n", $4 / 1024 }' "$TMP/st.one" >>"$TMP/steady.rss"
        i=$((i + 1))
    done
    kill "$SW"
    echo "== steady state, --pid on bench/work at 999 Hz (median of $REPS)"
    echo "pertop CPU per sample (whole process, from 4 s after the attach to 1 s before the end of 20): $(median <"$TMP/steady.cpu") us"
    echo "pertop RSS while sampling: $(median <"$TMP/steady.rss") MiB"
    echo "targets: <= 10 us per sample; <= 30 MiB (after 10 minutes: bench/run.sh --memory 600)"
}

section_rate() {
    W="$BUILD/bench/work"
    for t in 1 3 8; do
        i=0
        while [ "$i" -lt "$REPS" ]; do
            "$PERTOP" --rate 999 --batch --stats -- "$W" --threads "$t" --rounds $((3000 * t)) \
                >"$TMP/o" 2>"$TMP/e"
            awk -v s="$(field "$TMP/e" samples)" -v c="$(field "$TMP/o" cpu_seconds)" \
                'BEGIN { printf "%.1f\n", (c > 0 ? s / c : 0) }' >>"$TMP/rate.$t"
            i=$((i + 1))
        done
    done
    echo "== achieved rate at 999 Hz: samples per CPU-second of the target (median of $REPS)"
    for t in 1 3 8; do
        m=$(median <"$TMP/rate.$t")
        printf '%s threads: %s Hz (%s%% of 999)\n' "$t" "$m" "$(awk -v m="$m" 'BEGIN { printf "%.1f", 100 * m / 999 }')"
    done
    echo "target: >= 99% of 999 Hz"
}

# many_rate FOLDED CPUFILE: "MEAN MIN": samples per CPU-second over all the
# threads, and of the thread with the fewest (with ~5 samples a thread the
# lowest is mostly chance: perf record's spread is as wide)
many_rate() {
    awk 'NR == FNR { cpu[$1] = $2; tc += $2; next }
        { n = $NF; root = $0; sub(/ [0-9]+$/, "", root); sub(/;.*/, "", root); sub(/.*-/, "", root); got[root] += n }
        END { min = -1; for (t in cpu) { s += got[t]; if (cpu[t] > 0.02) { r = got[t] / cpu[t]; if (min < 0 || r < min) min = r } }
              printf "%.1f %.1f\n", tc ? s / tc : 0, min }' "$2" "$1"
}
# perf_many_rate DATA CPUFILE: the same figures from perf record's samples
perf_many_rate() {
    perf script -i "$1" -F tid 2>/dev/null | awk '{ print "thread-" $1 " 1" }' >"$TMP/pm.folded"
    many_rate "$TMP/pm.folded" "$2"
}

section_many() {
    M="$BUILD/bench/many"
    # A clock sample comes every full period of a thread's CPU time, so a
    # thread loses on average half a period at the end of its life: with
    # 10 ms of CPU a second per thread (200 threads, 2 cores) it takes
    # 20 periods of CPU, 20 s, before that is under 5% of every thread.
    CYCLES=${MANY_CYCLES:-250}
    i=0
    while [ "$i" -lt "$REPS" ]; do
        "$M" --cycles "$CYCLES" >"$TMP/o" && field "$TMP/o" work_seconds >>"$TMP/many.alone"
        for eng in perf ptrace; do
            "$PERTOP" --engine "$eng" --rate 99 --batch --threads -o "$TMP/m.folded" -f folded \
                -- "$M" --cycles "$CYCLES" --cpu "$TMP/m.cpu" >"$TMP/o" 2>/dev/null
            field "$TMP/o" work_seconds >>"$TMP/many.$eng"
            many_rate "$TMP/m.folded" "$TMP/m.cpu" >>"$TMP/many.rate.$eng"
        done
        if [ "$have_perf" -eq 1 ]; then
            perf_run 99 "$M" --cycles "$CYCLES" --cpu "$TMP/m.cpu" >"$TMP/o" && field "$TMP/o" work_seconds >>"$TMP/many.rec"
            perf_many_rate "$TMP/perf.data" "$TMP/m.cpu" >>"$TMP/many.rate.rec"
        fi
        i=$((i + 1))
    done
    alone=$(median <"$TMP/many.alone")
    echo "== 200 threads each busy 10%, 99 Hz (alone $alone s, median of $REPS)"
    for eng in perf ptrace rec; do
        [ -s "$TMP/many.$eng" ] || continue
        loss=$(awk -v a="$(median <"$TMP/many.$eng")" -v b="$alone" 'BEGIN { printf "%.1f", 100 * (a / b - 1) }')
        mean=$(cut -d' ' -f1 "$TMP/many.rate.$eng" | median)
        low=$(cut -d' ' -f2 "$TMP/many.rate.$eng" | median)
        printf '%-14s rate over all threads %s Hz (%s%% of 99), lowest thread %s Hz, throughput loss %s%%\n' \
            "$([ "$eng" = rec ] && echo "perf record" || echo "pertop $eng")" "$mean" \
            "$(awk -v m="$mean" 'BEGIN { printf "%.0f", 100 * m / 99 }')" "$low" "$loss"
    done
    echo "targets: every thread >= 95% of the rate; loss <= 1%"
}

section_churn() {
    C="$BUILD/bench/churn"
    i=0
    while [ "$i" -lt "$REPS" ]; do
        "$C" >"$TMP/o" && field "$TMP/o" work_seconds >>"$TMP/ch.alone"
        "$PERTOP" --rate 999 --batch --stats -- "$C" >"$TMP/o" 2>"$TMP/e"
        field "$TMP/o" work_seconds >>"$TMP/ch.pertop"
        awk -v t="$(field "$TMP/e" truncated)" -v s="$(field "$TMP/e" samples)" \
            'BEGIN { printf "%.2f\n", s ? 100 * t / s : 0 }' >>"$TMP/ch.trunc"
        if [ "$have_perf" -eq 1 ]; then
            perf_run 999 "$C" >"$TMP/o" && field "$TMP/o" work_seconds >>"$TMP/ch.rec"
        fi
        i=$((i + 1))
    done
    alone=$(median <"$TMP/ch.alone")
    echo "== thread churn (50,000 short threads, $(awk -v a="$alone" 'BEGIN { printf "%.0f", 50000 / a }')/s alone), 999 Hz, median of $REPS"
    printf 'pertop: slowdown %s, truncated stacks %s%%\n' "$(ratio "$(median <"$TMP/ch.pertop")" "$alone")" "$(median <"$TMP/ch.trunc")"
    [ -s "$TMP/ch.rec" ] && printf 'perf record: slowdown %s\n' "$(ratio "$(median <"$TMP/ch.rec")" "$alone")"
    echo "targets: slowdown no worse than perf record's; < 1% truncated"
}

# redis_ops: requests per second of one redis-benchmark run (SET and GET)
redis_ops() {
    redis-benchmark -p 6399 -q -n 100000 -t set,get -P 1 2>/dev/null |
        awk '/requests per second/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "requests") s += $i; n++ }
            END { printf "%.0f\n", n ? s / n : 0 }'
}

section_redis() {
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-benchmark >/dev/null 2>&1; then
        echo "== redis: redis-server is not installed (scripts/install-deps.sh --bench): skipped"
        return
    fi
    redis-server --port 6399 --save '' --appendonly no >/dev/null 2>&1 &
    RPID=$!
    sleep 1
    i=0
    while [ "$i" -lt "$REPS" ]; do
        redis_ops >>"$TMP/r.alone"
        for mode in on idle; do
            flag=$([ "$mode" = idle ] && echo --idle)
            # shellcheck disable=SC2086
            "$PERTOP" --pid "$RPID" --rate 99 $flag --batch --duration 60 >/dev/null 2>&1 &
            K=$!
            sleep 1
            redis_ops >>"$TMP/r.$mode"
            kill -INT "$K" 2>/dev/null
            wait "$K" 2>/dev/null
        done
        if [ "$have_perf" -eq 1 ]; then
            perf record -q -e task-clock -F 99 --call-graph dwarf,16384 -p "$RPID" -o "$TMP/perf.data" \
                2>/dev/null &
            K=$!
            sleep 1
            redis_ops >>"$TMP/r.rec"
            kill -INT "$K" 2>/dev/null
            wait "$K" 2>/dev/null
        fi
        i=$((i + 1))
    done
    kill "$RPID" 2>/dev/null
    RPID=
    alone=$(median <"$TMP/r.alone")
    loss() { awk -v a="$(median <"$1")" -v b="$alone" 'BEGIN { printf "%.1f", 100 * (1 - a / b) }'; }
    echo "== redis-server under redis-benchmark (SET/GET, loopback): $alone requests/s alone, median of $REPS"
    printf 'pertop 99 Hz: loss %s%%; pertop --idle 99 Hz: loss %s%%' "$(loss "$TMP/r.on")" "$(loss "$TMP/r.idle")"
    [ -s "$TMP/r.rec" ] && printf '; perf record 99 Hz: loss %s%%' "$(loss "$TMP/r.rec")"
    echo
    echo "targets: 99 Hz <= 2% and no worse than perf record's; --idle <= 3%"
}

for s in $SECTIONS; do
    "section_$s"
done
