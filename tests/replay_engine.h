/*
 * replay_engine.h - a scripted engine (engine.h) for testing the session.
 *
 * Contract:
 *   - A test makes a replay, scripts events on it (captures, thread names,
 *     lost samples, an exec, the target's exit) and passes replay_ops(r) as
 *     session_config.engine.  The session's sampler thread then plays the
 *     events in order, as a self-timed engine would (ENGINE_SELF_TIMED):
 *     every round and every wait plays whatever is due.
 *   - Events may be added before session_start or while the session runs;
 *     they are played within one wait of being added.
 *   - An exec is a barrier: nothing after it is played until the session
 *     called ack_exec (wait answers ENGINE_EXECED until then).  An exit
 *     ends the play: wait answers ENGINE_EXITED, exit_status the status
 *     given, and later events are never played.
 *   - A scripted capture is never lost: on a full queue the replay waits
 *     for room.  Only REPLAY lost events count as lost (engine_stats.lost).
 *   - The replay records what the session called (attach, detach, ack_exec,
 *     set_rate, the engine_config of the attach) for the test to assert.
 *   - The engine state is the replay itself: detach does not free it.  Free
 *     it with replay_free after session_free.  One replay at a time drives
 *     a session (attach cannot be told which replay: replay_ops picks it).
 *   - Captures are x86_64 registers with an optional stack copy; the test
 *     chooses IPs of its own functions and a target forked from itself, so
 *     the session's maps and symbols name them.
 */
#ifndef PERTOP_TESTS_REPLAY_ENGINE_H
#define PERTOP_TESTS_REPLAY_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampler/capture.h"
#include "sampler/engine.h"

#define REPLAY_RATES_MAX 16

struct replay;

/* A stack taken in this process: registers and a copy of the stack from
 * rsp up (replay_stack_here).  Freed by replay_stack_free. */
struct replay_stack {
    struct capture_regs regs;
    uint8_t *bytes;
    uint32_t len;
};

/* What the session asked of the engine, so far. */
struct replay_calls {
    unsigned attach, detach, ack_exec;
    unsigned rounds; /* round calls */
    unsigned nrates; /* set_rate calls; the first REPLAY_RATES_MAX kept */
    unsigned rates[REPLAY_RATES_MAX];
    struct engine_config cfg; /* as given to the last attach */
};

struct replay *replay_new(void);
void replay_free(struct replay *r);

/* The engine to put in session_config.engine; r is the replay it plays. */
const struct engine_ops *replay_ops(struct replay *r);

/* attach fails with -err and msg (err != ENGINE_OK), counted all the same. */
void replay_fail_attach(struct replay *r, enum engine_error err, const char *msg);

/* One capture of tid with only its pc known (a leaf frame: rsp points at
 * nothing copied).  flags are added to CAPTURE_ONCPU (CAPTURE_MAPS_CHANGED). */
void replay_capture(struct replay *r, pid_t tid, uint64_t ip, uint32_t flags);
/* One capture of tid from a stack taken with replay_stack_here (copied). */
void replay_capture_stack(struct replay *r, pid_t tid, const struct replay_stack *st,
                          uint32_t flags);
/* Captures of tid from now on carry this name (as perf's COMM does). */
void replay_name(struct replay *r, pid_t tid, const char *name);
/* n samples the engine could not deliver (the kernel's LOST). */
void replay_lost(struct replay *r, uint64_t n);
/* The target exec'd. */
void replay_exec(struct replay *r);
/* The target exited with wait status status (as waitpid gives it). */
void replay_exit(struct replay *r, int status);

/* Waits until every event added so far was played (an exec acknowledged)
 * or the play ended at an exit; false after timeout_ms. */
bool replay_wait_played(struct replay *r, int timeout_ms);
/* Waits until set_rate was called n times in all; false after timeout_ms. */
bool replay_wait_rates(struct replay *r, unsigned n, int timeout_ms);
void replay_get_calls(struct replay *r, struct replay_calls *out);

/* The registers and stack of the function that expands it, from rsp up to
 * max bytes (less at the top of the thread's stack).  A macro so the pc and
 * rsp are the expanding function's own; the caller's frames are above rsp.
 * The registers are stored through memory: a register operand could be one
 * of the registers read. */
#define replay_stack_here(st, max)                                                                 \
    do {                                                                                           \
        struct capture_regs *r_ = &(st)->regs;                                                     \
        __asm__ volatile("leaq 0(%%rip), %%rax\n\t"                                                \
                         "movq %%rax, %c[ip](%0)\n\t"                                              \
                         "movq %%rsp, %c[sp](%0)\n\t"                                              \
                         "movq %%rbp, %c[bp](%0)\n\t"                                              \
                         "movq %%rbx, %c[bx](%0)\n\t"                                              \
                         "movq %%r12, %c[r12](%0)\n\t"                                             \
                         "movq %%r13, %c[r13](%0)\n\t"                                             \
                         "movq %%r14, %c[r14](%0)\n\t"                                             \
                         "movq %%r15, %c[r15](%0)\n\t"                                             \
                         :                                                                         \
                         : "r"(r_), [ip] "i"(offsetof(struct capture_regs, rip)),                  \
                           [sp] "i"(offsetof(struct capture_regs, rsp)),                           \
                           [bp] "i"(offsetof(struct capture_regs, rbp)),                           \
                           [bx] "i"(offsetof(struct capture_regs, rbx)),                           \
                           [r12] "i"(offsetof(struct capture_regs, r12)),                          \
                           [r13] "i"(offsetof(struct capture_regs, r13)),                          \
                           [r14] "i"(offsetof(struct capture_regs, r14)),                          \
                           [r15] "i"(offsetof(struct capture_regs, r15))                           \
                         : "rax", "memory");                                                       \
        replay_stack_copy((st), (max));                                                            \
    } while (0)

/* The stack copy of replay_stack_here, from st->regs.rsp up; 0 or -1. */
int replay_stack_copy(struct replay_stack *st, uint32_t max);
void replay_stack_free(struct replay_stack *st);

#endif
