/*
 * blocked.h - the user stack of a blocked thread, read without stopping it.
 *
 * A thread asleep in a system call does not touch its user stack, and
 * /proc/PID/task/TID/syscall gives the stack pointer and program counter it
 * entered the kernel with.  That is enough for the CFI unwinder to walk
 * most stacks; the other registers are unknown (0), so a frame whose CFA
 * needs one ends the walk there.  The perf engine uses it for threads that
 * were already blocked when it attached: no switch-out sample will ever
 * come for a wait that began before.
 *
 * Reading the syscall file needs the right to trace the thread (the same
 * as reading its memory); the kernel answers "running" unless the thread
 * is truly off the CPU, so what is read is stable.
 */
#ifndef PERTOP_BLOCKED_H
#define PERTOP_BLOCKED_H

#include <stdint.h>
#include <sys/types.h>

#include "sampler/capture.h"

/* 0 with c's tid, state (S or D), regs.rip/rsp (the rest 0), stack and
 * stack_len filled (at most stack_size bytes, fewer near the stack's top:
 * CAPTURE_STACK_SHORT); -EAGAIN when the thread runs or waits outside a
 * system call; another negative errno when it cannot be read. */
int blocked_capture(pid_t pid, pid_t tid, struct capture *c, uint32_t stack_size);

#endif
