"""CPU-bound Python target for bench/py_run.sh: its work runs at the bottom
of a 30-frame Python call chain; prints how long the work itself took, in
wall time and in the process's own CPU time (which other programs taking
the CPUs do not inflate, so a loaded machine still shows what a profiler
costs the target itself)."""
import sys
import time


def leaf(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) & 0xFFFFFFFF
    return x


def descend(depth, n):
    if depth == 0:
        return leaf(n)
    return descend(depth - 1, n) + 1


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    # 2.7 has no process_time; its clock() is the process CPU time there
    cpu = time.process_time if hasattr(time, "process_time") else time.clock
    t0, c0 = time.time(), cpu()
    for _ in range(rounds):
        descend(28, 20000)
    sys.stdout.write("work_seconds=%.6f\ncpu_seconds=%.6f\n" % (time.time() - t0, cpu() - c0))


main()
