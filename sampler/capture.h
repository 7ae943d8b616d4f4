/*
 * capture.h - one sample of one thread, as the sampler took it.
 *
 * A capture is everything the unwinder needs, copied out of the target while
 * the thread was stopped: registers and the top of the user stack.  After the
 * capture nothing reads the live target again for this sample.  Captures live
 * in the slots of a capture queue (capqueue.h); the stack buffer belongs to
 * the slot and is sized once, at start-up, to the configured stack size.
 * For a CPython thread the capture also holds its Python frames, read in the
 * same stop (py_*), so native and Python stacks agree.
 */
#ifndef PERTOP_CAPTURE_H
#define PERTOP_CAPTURE_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#define CAPTURE_STACK_DEFAULT (16u * 1024u)
#define CAPTURE_STACK_MIN     (1u * 1024u)
#define CAPTURE_STACK_MAX     (64u * 1024u)
#define CAPTURE_COMM_LEN      64  /* the OS keeps 15 bytes; Python names are longer */
#define CAPTURE_PY_MAX        128 /* Python frames kept per sample (deeper: truncated) */
#define CAPTURE_KERN_MAX      64  /* kernel frames kept per sample (the innermost) */

/* Capture flags. */
enum {
    CAPTURE_ONCPU = 1u << 0,       /* thread was R when sampled */
    CAPTURE_STACK_SHORT = 1u << 1, /* stack read stopped before stack_size */
    CAPTURE_PY = 1u << 2,          /* the thread has a Python thread state: py_* valid */
    CAPTURE_PY_TORN = 1u << 3,     /* the frame chain was torn, cyclic or unreadable */
    CAPTURE_PY_TRUNC = 1u << 4,    /* more than CAPTURE_PY_MAX Python frames */
    CAPTURE_PY_GIL = 1u << 5,      /* the thread held the GIL */
    CAPTURE_STOPPED = 1u << 6,     /* the thread was stopped while captured */
    CAPTURE_MAPS_CHANGED = 1u << 7 /* the target mapped code since the last capture */
};

/* The user registers the unwinder needs, x86_64, in pertop's own layout:
 * ptrace gives them as a user_regs_struct, perf_event as an array in the
 * order of its register mask; both fill this. */
struct capture_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, eflags;
};

static inline void capture_regs_from_user(struct capture_regs *r, const struct user_regs_struct *u)
{
    *r = (struct capture_regs){u->rax, u->rbx, u->rcx, u->rdx, u->rsi, u->rdi,
                               u->rbp, u->rsp, u->r8,  u->r9,  u->r10, u->r11,
                               u->r12, u->r13, u->r14, u->r15, u->rip, u->eflags};
}

/* One Python frame: the sampler fills code and line while the thread is
 * stopped, and id (a code registry id, see src/pycode_reg.h) right after it
 * resumes the thread, while the walker's names are still valid. */
struct capture_pyframe {
    uint64_t code;  /* code object address in the target */
    int32_t line;   /* -1 when unknown */
    uint32_t id;    /* code registry id */
    uint32_t entry; /* outermost frame of one eval-loop run (pyf_frame.entry) */
};

struct capture {
    pid_t pid; /* the process, when the engine follows several; 0: the target */
    pid_t tid;
    char state;                  /* procfs state letter: R S D T t Z X I */
    char comm[CAPTURE_COMM_LEN]; /* thread name, NUL-terminated */
    uint32_t flags;              /* CAPTURE_* */
    uint64_t time_ns;            /* CLOCK_MONOTONIC when captured */
    uint64_t stop_ns;            /* how long the thread was stopped */
    struct capture_regs regs;    /* user registers */
    uint64_t stack_addr;         /* target address of stack[0] (= regs.rsp) */
    uint32_t stack_len;          /* valid bytes in stack */
    uint32_t stack_cap;          /* capacity of stack */
    uint8_t *stack;              /* copy of [stack_addr, stack_addr+stack_len) */
    uint64_t weight_ns;          /* thread time this sample stands for; 0: one period */
    uint32_t kern_n;             /* kernel frames in kern, innermost first */
    uint64_t kern[CAPTURE_KERN_MAX];
    uint32_t py_n; /* Python frames in py, innermost first */
    struct capture_pyframe py[CAPTURE_PY_MAX];
};

#endif
