/*
 * perfev.h - the perf_event mechanism under the perf sampling engine: the
 * attribute, the events and their mmap'd rings, and the parser of what the
 * kernel writes there.  No unwinding, no symbols, no policy.
 *
 * Owns: every perf_event fd it opens, every ring it maps, one 64 KiB
 * scratch buffer per set.  Promises: nothing allocated per record; ring
 * contents are treated as untrusted (every length is checked against the
 * record and the ring; a record whose framing is broken makes the reader
 * skip to data_head and count it corrupt, never crash or spin); every call
 * returns 0 (or a count) or a negative errno and leaves a user-facing
 * message (what happened, why, what to do) in the caller's buffer.
 * Called by: the perf engine adapter (src/session), from one thread per set.
 * Not thread-safe: one set, one thread.
 *
 * Two layouts, chosen by perfev_config.inherit:
 *   inherit (default)  one event per (thread, online CPU) with inherit=1,
 *                      all of one CPU writing into one ring (SET_OUTPUT):
 *                      threads created later are followed by the kernel,
 *                      with no gap, and their records land in the ring of
 *                      the CPU they ran on, carrying their own tid.  The
 *                      kernel refuses to mmap an inherited per-task event
 *                      (cpu == -1) with EINVAL, hence per CPU.  Costs
 *                      threads x CPUs fds.  The CPUs are those online at
 *                      perfev_open: one brought online later is not seen.
 *   per thread         one event and one ring per thread (cpu = -1).  A new
 *                      thread shows up as a PERF_RECORD_FORK in its
 *                      creator's ring; the caller adds it with
 *                      perfev_add_thread, and what it did before that is not
 *                      seen.  A thread's ring is closed once it hung up and
 *                      was drained, so thread churn does not pile up fds.
 * Records of different rings are not ordered with each other: merge by
 * time (CLOCK_MONOTONIC ns, as common/clock.h) if order matters.  In the
 * inherit layout each CPU's event of a thread has its own timer, so the
 * gaps between one thread's samples are irregular when it migrates; the
 * rate over time is the period's.
 *
 * x86_64 only: on other architectures perfev_probe and perfev_open return
 * -ENOSYS (the register set is arch-specific).
 */
#ifndef PERTOP_PERFEV_H
#define PERTOP_PERFEV_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ------------------------------------------------------------ attribute */

enum perfev_event {
    PERFEV_TASK_CLOCK = 0,   /* thread CPU time: the profiler's event */
    PERFEV_CPU_CLOCK,        /* wall clock on the CPU while running */
    PERFEV_CONTEXT_SWITCHES, /* one per switch out: where threads block */
    PERFEV_PAGE_FAULTS,
};

/* The user registers sampled, in the order of regs[] in a sample: what a
 * CFI unwinder needs (perf_regs.h numbering, low bit first). */
enum perfev_reg {
    PERFEV_REG_AX,
    PERFEV_REG_BX,
    PERFEV_REG_CX,
    PERFEV_REG_DX,
    PERFEV_REG_SI,
    PERFEV_REG_DI,
    PERFEV_REG_BP,
    PERFEV_REG_SP,
    PERFEV_REG_IP,
    PERFEV_REG_FLAGS,
    PERFEV_REG_CS,
    PERFEV_REG_SS,
    PERFEV_REG_R8,
    PERFEV_REG_R9,
    PERFEV_REG_R10,
    PERFEV_REG_R11,
    PERFEV_REG_R12,
    PERFEV_REG_R13,
    PERFEV_REG_R14,
    PERFEV_REG_R15,
    PERFEV_NR_REGS
};

#define PERFEV_STACK_MAX    65528u /* the kernel's cap: a record size is a u16 */
#define PERFEV_RATE_DEFAULT 999u
#define PERFEV_RING_KIB_DEF 256u
#define PERFEV_RING_KIB_MAX (64u * 1024u)
#define PERFEV_SCRATCH_SIZE 65536u /* a record never exceeds its u16 size */
#define PERFEV_MAX_CPUS     1024

struct perfev_config {
    enum perfev_event event;
    /* Period: for the clocks, ns of (thread) CPU time between samples; for
     * the counts, events per sample.  0: clocks take 1e9 / rate_hz, counts
     * take 1. */
    uint64_t period;
    uint32_t rate_hz;    /* clocks with period 0; 0 means PERFEV_RATE_DEFAULT */
    uint32_t stack_size; /* user stack bytes per sample: rounded down to a multiple
                            of 8, clamped to PERFEV_STACK_MAX; 0: registers only */
    bool kernel;         /* sample in the kernel too, with a kernel callchain
                            (user callchain excluded: we unwind user space).
                            context-switches always samples in the kernel (it
                            is counted there): it needs paranoid <= 1 or
                            CAP_PERFMON even without this */
    bool count_kernel;   /* without kernel: the clock still runs in the kernel,
                            its samples charged to the user registers (the
                            system call that entered it); false: user time only
                            (all paranoid 2 allows) */
    bool context_switch; /* PERF_RECORD_SWITCH records on every switch in/out */
    bool inherit;        /* the inherit layout (see above); else per thread */
    bool follow_forks;   /* inherit into child processes too, not only threads */
    uint32_t ring_kib;   /* data part of each ring: rounded up to a power of two
                            pages; 0: PERFEV_RING_KIB_DEF */
    uint32_t wakeup_pct; /* poll wakes when a ring is this % full; 0: 50 */
    bool wakeup_each;    /* poll wakes at every sample instead (wakeup_pct
                            unused): a reader of the target's memory after
                            the sample must read it before the thread moves on */
};

/* Fills cfg with the defaults: task-clock at 999 Hz, 16 KiB of stack, user
 * only, inherit, 256 KiB rings. */
void perfev_config_default(struct perfev_config *cfg);

/* The period cfg asks for (the rule above), never 0. */
uint64_t perfev_config_period(const struct perfev_config *cfg);

/* Builds the attribute: sample_type IP|TID|TIME|PERIOD|REGS_USER
 * (+STACK_USER with a stack, +CALLCHAIN with kernel), the registers above,
 * CLOCK_MONOTONIC, sample_id_all, comm/comm_exec/mmap/mmap2/task, disabled,
 * wakeup by watermark.  Returns 0, or -EINVAL for a config out of range
 * (message in err). */
int perfev_build_attr(const struct perfev_config *cfg, struct perf_event_attr *attr, char *err,
                      size_t errsz);

/* 0 when perf_event sampling with user registers and stack can be used
 * here (opens, maps and closes a task-clock event on the calling thread);
 * else -errno and why, with what to do, in why. */
int perfev_probe(char *why, size_t whysz);

/* Makes thread tid's inherited events its own: a thread born after the
 * events were opened shares a cloned context with its siblings, and the
 * kernel swaps such contexts between threads at a context switch instead
 * of switching events, so each thread's clock (the CPU time to its next
 * sample) passes to the next thread on that CPU and per-thread sample
 * counts drift from per-thread CPU time (half the rate or double it, for
 * threads that run in short bursts).  Opening any event on a task unclones
 * its context for good, so this opens a dummy event on tid and closes it
 * at once.  0, or -errno (-ESRCH: the thread is gone). */
int perfev_unclone(pid_t tid);

/* ------------------------------------------------------------ records */

/* What the parser needs to know of the attribute to lay out a record. */
struct perfev_layout {
    uint64_t sample_type;
    uint64_t regs_mask;
    uint32_t nr_regs; /* popcount of regs_mask */
    uint32_t id_size; /* bytes of the sample_id trailer on non-sample records */
    bool sample_id_all;
};

/* The layout records of attr have. */
void perfev_layout_of(const struct perf_event_attr *attr, struct perfev_layout *out);

enum perfev_kind {
    PERFEV_REC_SAMPLE,
    PERFEV_REC_COMM,
    PERFEV_REC_FORK,
    PERFEV_REC_EXIT,
    PERFEV_REC_MMAP2,
    PERFEV_REC_LOST, /* PERF_RECORD_LOST and PERF_RECORD_LOST_SAMPLES */
    PERFEV_REC_SWITCH,
    PERFEV_REC_THROTTLE,
    PERFEV_REC_UNTHROTTLE,
    PERFEV_REC_OTHER, /* any other type: header and raw bytes only */
    PERFEV_REC_NKINDS
};

/* The sample_id trailer (sample_id_all) of a non-sample record, as far as
 * the layout has it (has_tid, has_time). */
struct perfev_id {
    uint32_t pid, tid;
    uint64_t time;
    bool has_tid, has_time;
};

struct perfev_sample {
    uint32_t pid, tid;
    uint64_t time; /* CLOCK_MONOTONIC ns */
    uint64_t ip;
    uint64_t period;
    bool in_kernel; /* the sample hit in the kernel (misc cpumode) */
    /* Kernel callchain, PERF_CONTEXT_* markers and the user part left out:
     * the innermost frame first.  nr 0 without CALLCHAIN. */
    const uint64_t *kchain;
    uint32_t kchain_nr;
    /* User registers: abi is PERF_SAMPLE_REGS_ABI_* (NONE: none sampled,
     * e.g. a kernel thread); regs[i] is the i-th register set in regs_mask,
     * i.e. enum perfev_reg with the set perfev_build_attr asks for. */
    uint64_t regs_abi;
    const uint64_t *regs;
    uint32_t nr_regs;
    /* Copy of the user stack from regs[SP] up: stack_size bytes reserved,
     * of which the first stack_dyn bytes are valid (dyn_size); always
     * contiguous, even when the record wrapped around the ring. */
    const uint8_t *stack;
    uint64_t stack_size;
    uint64_t stack_dyn;
};

struct perfev_comm {
    uint32_t pid, tid;
    const char *name; /* NUL-terminated inside the record */
    bool exec;        /* the rename came from an exec */
};

struct perfev_task { /* FORK and EXIT */
    uint32_t pid, ppid, tid, ptid;
    uint64_t time;
};

struct perfev_mmap2 {
    uint32_t pid, tid;
    uint64_t addr, len, pgoff;
    uint32_t maj, min; /* 0 when the kernel sent a build id instead */
    uint64_t ino, ino_generation;
    uint32_t prot, flags; /* PROT_*, MAP_* */
    const char *filename; /* NUL-terminated inside the record */
};

struct perfev_switch {
    bool out;                              /* switched out (else in) */
    bool preempt;                          /* out while still runnable (preempted), not blocked */
    uint32_t next_prev_pid, next_prev_tid; /* CPU-wide records only, else 0 */
};

struct perfev_throttle {
    uint64_t time, id, stream_id;
};

/* One record, as parsed.  Pointers point into the ring (the common case,
 * no copy) or into the set's scratch copy (a record that wrapped around the
 * end of the ring): valid until the next perfev_ring_next or perfev_ring_end
 * on that ring, so copy what must outlive it. */
struct perfev_record {
    enum perfev_kind kind;
    uint32_t type; /* PERF_RECORD_* */
    uint16_t misc;
    uint16_t size;
    struct perfev_id id; /* trailer of non-sample records; the sample's own for
                            samples */
    union {
        struct perfev_sample sample;
        struct perfev_comm comm;
        struct perfev_task task;
        struct perfev_mmap2 mmap2;
        uint64_t lost; /* records lost by the kernel (ring full) */
        struct perfev_switch sw;
        struct perfev_throttle throttle;
        struct {
            const uint8_t *data; /* the bytes after the header */
            uint32_t size;
        } raw;
    } u;
};

/* Counters: records seen by kind, and what went wrong. */
struct perfev_stats {
    uint64_t records[PERFEV_REC_NKINDS];
    uint64_t lost;      /* sum of the lost counts the kernel reported */
    uint64_t throttled; /* THROTTLE records: the kernel lowered the rate */
    uint64_t corrupt;   /* records skipped as malformed (framing or content) */
    uint64_t bytes;     /* ring bytes consumed */
    uint64_t wrapped;   /* records copied to scratch because they wrapped */
};

/* Parses one record of len bytes at rec (8-byte aligned).  0, or -EINVAL
 * for a record whose contents do not fit its size.  Exposed for tests and
 * for replaying saved records. */
int perfev_parse(const struct perfev_layout *lay, const void *rec, size_t len,
                 struct perfev_record *out);

/* One mmap'd ring (or a synthetic one in memory, for tests).  The fields are
 * the reader's state: read them, do not write them. */
struct perfev_ring {
    struct perf_event_mmap_page *meta;
    uint8_t *data;
    uint64_t size;  /* power of two */
    uint64_t head;  /* data_head as read by perfev_ring_begin */
    uint64_t tail;  /* next record to read */
    size_t map_len; /* 0 for a ring perfev does not own */
    const struct perfev_layout *lay;
    uint8_t *scratch; /* PERFEV_SCRATCH_SIZE bytes */
    struct perfev_stats *stats;
};

/* A ring over memory the caller owns: meta is a zeroed perf_event_mmap_page
 * (or any page) followed at data by size bytes (a power of two >= 8). */
int perfev_ring_init(struct perfev_ring *r, void *meta, void *data, uint64_t size,
                     const struct perfev_layout *lay, uint8_t *scratch, struct perfev_stats *stats);
/* Reads data_head (acquire); returns the bytes waiting. */
uint64_t perfev_ring_begin(struct perfev_ring *r);
/* The next record up to the head read by begin: 1 and *out filled, or 0
 * when there is none left.  Malformed framing (size 0, not a multiple of 8,
 * past the head, larger than the ring) skips to the head, counted corrupt;
 * a record whose contents do not fit is skipped alone, counted corrupt. */
int perfev_ring_next(struct perfev_ring *r, struct perfev_record *out);
/* Hands what was read back to the kernel: data_tail = tail (release). */
void perfev_ring_end(struct perfev_ring *r);

/* ------------------------------------------------------------ event sets */

struct perfev_set;

/* An empty set for cfg (attribute built and checked, CPUs listed for the
 * inherit layout).  0 or -errno with a message. */
int perfev_open(struct perfev_set **out, const struct perfev_config *cfg, char *err, size_t errsz);

/* Opens events on every thread of pid (/proc/PID/task, listed again until no
 * new thread shows up, so a thread created meanwhile is not missed; in the
 * inherit layout one that was already inherited, as a FORK record waiting
 * in a ring shows, is not opened twice).  Enables the set first: only live
 * events write those FORK records.  Threads that exit meanwhile are
 * skipped.  -ESRCH when the process is gone, other -errno as
 * perfev_add_thread. */
int perfev_attach_process(struct perfev_set *s, pid_t pid, char *err, size_t errsz);

/* Opens the event(s) of one thread, maps its ring(s), and enables them if
 * the set is enabled.  -ESRCH (thread exited: not fatal), -EACCES/-EPERM
 * (not allowed: message names perf_event_paranoid), -ENOENT/-EOPNOTSUPP
 * (event not supported), -EMFILE/-ENFILE (raise ulimit -n), -EEXIST (already
 * in the set), ...  Nothing of the thread is left open on failure. */
int perfev_add_thread(struct perfev_set *s, pid_t tid, char *err, size_t errsz);

/* True when tid has events of its own in the set (inherited threads have
 * none: the kernel follows them). */
bool perfev_has_thread(const struct perfev_set *s, pid_t tid);

/* Starts / stops sampling on every event (and their inherited children). */
int perfev_enable(struct perfev_set *s, char *err, size_t errsz);
int perfev_disable(struct perfev_set *s, char *err, size_t errsz);

/* Changes the period of every event the set opened (PERF_EVENT_IOC_PERIOD);
 * threads added later get it too.  Reliable in the per-thread layout only.
 * In the inherit layout (seen on 6.18) the kernel does not pass the period
 * on to the events it inherited to threads created since attach, and which
 * thread ends up with the new period varies from run to run (the original
 * thread may keep the old one and the inherited one get the new): what the
 * kernel's swapping of cloned event contexts at a context switch between
 * two threads of one family would do, so the period seems to follow a
 * context, not a thread.  To
 * change the rate of an inherit set reliably, close it and attach again
 * with the new period.  Either way the period field of task-clock and
 * cpu-clock samples keeps saying the period the event was opened with (the
 * kernel never updates it for its hrtimer events): weight samples by the
 * period you set, not by that field. */
int perfev_set_period(struct perfev_set *s, uint64_t period, char *err, size_t errsz);

/* Waits up to timeout_ms (-1: forever) for a ring to pass its watermark or
 * an event to hang up (its thread exited).  Returns the number of rings
 * ready (0 on timeout) or -errno (-EINTR passed on).  POLLIN is reported
 * once per wakeup: drain after it returns, whatever it returned. */
int perfev_poll(struct perfev_set *s, int timeout_ms);
/* The same over several sets at once (NULL entries skipped; sets[0] not
 * NULL): one wait for whichever ring fills first. */
int perfev_poll_sets(struct perfev_set *const *sets, size_t nsets, int timeout_ms);

/* Called by perfev_drain for each record; return non-zero to stop (the
 * record counts as read).  It must not add threads to, close or free the
 * set: note what to do and do it after perfev_drain returns. */
typedef int (*perfev_record_fn)(void *ctx, const struct perfev_record *rec);

/* Reads every ring once, up to the head it finds, handing each record to fn,
 * and gives the space back.  Returns the number of records handed out, or
 * fn's non-zero value if it stopped.  Rings of threads that hung up are
 * closed after their last record (per-thread layout). */
long perfev_drain(struct perfev_set *s, perfev_record_fn fn, void *ctx);

/* The rings, for a caller that iterates itself with perfev_ring_begin/next/
 * end.  The pointer is valid until the next call that adds or closes. */
size_t perfev_nr_rings(const struct perfev_set *s);
struct perfev_ring *perfev_ring_at(struct perfev_set *s, size_t i);

/* Counters since perfev_open, and the set's shape. */
void perfev_get_stats(const struct perfev_set *s, struct perfev_stats *out);
size_t perfev_nr_events(const struct perfev_set *s);
const struct perf_event_attr *perfev_attr(const struct perfev_set *s);
const struct perfev_layout *perfev_layout(const struct perfev_set *s);

/* Closes every event and unmaps every ring; the set stays valid and empty
 * (stats kept), so a second call does nothing.  NULL is ignored. */
void perfev_close(struct perfev_set *s);
/* perfev_close, then frees s.  NULL is ignored. */
void perfev_free(struct perfev_set *s);

/* The name of a record kind ("sample", "comm", ...), for messages. */
const char *perfev_kind_name(enum perfev_kind k);

#endif
