/*
 * report.h - the Markdown performance report (--format report), and the run
 * figures it rests on (CPU, memory, I/O and waits from procfs readings).
 *
 * The report is meant to be pasted into an issue or a pull request:
 *   ## Performance Analysis: COMMAND
 *   ### Baseline    duration, the engine (and why it is not the one asked
 *                   for), samples, CPU % of the process, RSS at the end and
 *                   its peak (VmHWM), I/O rates
 *   ### Bottleneck  the top functions (self and total %, file:line, module)
 *                   and the hottest stacks, root first, in code blocks
 *   ### Waits       when --idle was given or a thread was seen blocked in a
 *                   system call: which thread waits in which call on what
 *   ### Memory      when it matters (REPORT_MEM_*): RSS growth, peak, faults
 *   ### I/O         when it matters (REPORT_IO_*): read and write rates
 *   ### Result      with a baseline profile: before/after figures (from the
 *                   baseline's meta when it has them) and the functions
 *                   whose share moved most (diff.h)
 * Every number says its unit; percentages of samples are of all samples.
 * Text from the target (names, paths) is written so it cannot break the
 * Markdown: names, paths, modules and thread names go in code spans (with
 * '`' turned into '\'' and '|' escaped in tables), the command in the title
 * has the characters that format a line escaped, control bytes and invalid
 * UTF-8 become U+FFFD.
 *
 * Run figures: the session takes a procstat reading when sampling starts,
 * every 250 ms while it runs (up to 2 s for a process that is slow to read),
 * and one at the end, and adds each to
 * a report_figs (report_figs_add, pure).  A reading of a process already
 * gone adds nothing, so for a launched command that exits, the figures end
 * at the last reading before its exit (at most a second early).
 *
 * report_write is a pure writer over plain data (tables, figures, the
 * baseline profile); called by session_write.  0, -ENOMEM or -EIO.
 */
#ifndef PERTOP_REPORT_H
#define PERTOP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "sampler/proc/procstat.h"
#include "src/profile/profile.h"
#include "src/session/resolve.h"
#include "src/model/runinfo.h"
#include "src/model/verdict.h"
#include "src/model/view.h"

/* ### Memory is written when one of these holds over the run. */
#define REPORT_MEM_GROWTH_KIB  4096          /* RSS grew by at least 4 MiB ... */
#define REPORT_MEM_GROWTH_FRAC 0.10          /* ... and by 10% of its first value */
#define REPORT_MEM_PEAK_KIB    (1024 * 1024) /* peak (VmHWM) of 1 GiB or more */
#define REPORT_MEM_MAJFLT_PS   10.0          /* major faults per second, on average */
/* ### I/O is written when one of these holds over the run. */
#define REPORT_IO_BPS      (256.0 * 1024) /* read + write bytes per second */
#define REPORT_IO_CALLS_PS 1000.0         /* read + write system calls per second */

#define REPORT_WAITS_MAX   32  /* distinct (thread, call, target) kept */
#define REPORT_THREADS_MAX 512 /* threads whose time the verdict counts */
/* A stack deeper than this is shown as its 10 outermost and its innermost
 * frames around a line saying how many were left out. */
#define REPORT_STACK_FRAMES 40
#define REPORT_STACK_ROOTS  10

/* Threads of one name blocked in one call on one target are one entry, so
 * a pool of a thousand idle workers is one line, not a thousand. */
struct report_wait {
    pid_t tid;       /* the first thread seen there */
    char thread[16]; /* the threads' name */
    char syscall[32];
    char target[128];          /* procstat's description of the descriptor, or "" */
    unsigned seen;             /* readings that found one of them blocked there */
    unsigned threads;          /* most of them found there in one reading */
    double longest_s;          /* longest time one was seen blocked in it without a break */
    unsigned now, now_reading; /* how many in reading number now_reading */
    enum verdict_wait kind;    /* the kind of wait the call is */
    uint32_t frames[PROCSTAT_WAIT_FRAMES]; /* the latest stack read there, leaf first */
    uint8_t nframes;
    uint32_t lock_module; /* a lock: where its word is (UINT32_MAX: no module's) */
    uint64_t lock_vaddr;
    pid_t owner;          /* the lock's holder when last seen, 0 unknown */
    uint32_t owner_frame; /* the frame it last ran in, UINT32_MAX unknown */
    char owner_doing[48]; /* "on a CPU", "blocked in fsync"... */
};

/* One thread's time over the readings, for the verdict. */
struct report_thread {
    pid_t tid;
    char name[16];
    uint64_t first_ns, last_ns;   /* its first and last reading */
    uint64_t run0, run1;          /* schedstat: on a CPU, at those readings */
    uint64_t runq0, runq1;        /* schedstat: waiting for a CPU */
    bool sched;                   /* schedstat known (else CPU from cpu_pct) */
    double cpu_s;                 /* from cpu_pct, for the kernels without schedstat */
    unsigned readings;            /* readings that saw it */
    unsigned blocked[WAIT_KINDS]; /* of them, blocked in each kind of call */
    int16_t wait[WAIT_KINDS];     /* the waits entry it was last seen in, per kind; -1 none */
};

struct report_figs {
    unsigned readings; /* readings of the live process */
    double span_s;     /* from the first of them to the last */
    double cpu_s;      /* CPU time the process used in that span */
    uint64_t rss_first_kib, rss_last_kib, hwm_kib, swap_kib;
    double minflt, majflt; /* faults in the span */
    bool io_valid;         /* io_first and io_last readable */
    struct procstat_io io_first, io_last;
    double io_span_s; /* between io_first and io_last */
    uint64_t first_ns, io_first_ns;
    unsigned threads_max;
    struct report_wait waits[REPORT_WAITS_MAX];
    size_t nwaits;
    unsigned waits_dropped; /* observations that found the table full */
    struct report_thread threads[REPORT_THREADS_MAX];
    size_t nthreads;
    unsigned threads_dropped; /* threads seen once the table was full */
};

/* Adds one reading (of the collector the figures come from: its rates are
 * against the previous reading).  A reading of a dead process is ignored. */
void report_figs_add(struct report_figs *f, const struct procstat_snapshot *s);
/* Averages over the run into out's CPU, RSS and I/O fields (have_* set when
 * known); the other fields are left alone. */
void report_figs_meta(const struct report_figs *f, struct prof_meta *out);

struct report_in {
    const struct run_info *run;       /* the run: command, engine, samples, how it ended */
    const struct report_figs *figs;   /* NULL when there were no readings */
    const struct hot_table *hot;      /* by self, descending */
    const struct stack_table *stacks; /* merged over threads, heaviest first */
    /* per thread (rows with a tid), for each thread's hottest function in
     * the verdict; NULL: not named */
    const struct stack_table *thread_stacks;
    const struct resolver *r;
    size_t max_rows;                /* functions in the table (default 10) */
    size_t max_stacks;              /* stacks shown (default 3) */
    const struct profile *baseline; /* NULL without --baseline */
    const char *baseline_name;      /* its file name */
};

int report_write(FILE *f, const struct report_in *in);

/* The verdict of a run: its figures' threads and waits, the on-CPU table
 * and stacks (either may be NULL: no function named from them); into out,
 * up to max; how many findings. */
size_t report_verdict(const struct report_figs *figs, const struct hot_table *hot,
                      const struct stack_table *st, const struct stack_table *per_thread,
                      const struct resolver *r, struct verdict_finding *out, size_t max);
/* One finding as one line of plain text (the snapshot, the screen):
 * "CPU 98% compute_inner (mix.c:42): 70.0% of the on-CPU samples ...". */
void report_verdict_line(const struct verdict_finding *f, char *buf, size_t size);

/* The evidence behind finding f, as one line of frames root first
 * ("main > serve > read_request > read"), the innermost ten: for a wait
 * (I/O, lock, GIL) the stack of the thread blocked there, else the
 * heaviest stack of st through the finding's function.  False (buf "")
 * when neither has it. */
bool report_evidence(const struct report_figs *g, const struct stack_table *st,
                     const struct resolver *r, const struct verdict_finding *f, char *buf,
                     size_t size);

/* How report_put_text writes text from the target for Markdown.  In every
 * mode control bytes and invalid UTF-8 become U+FFFD. */
enum md_mode {
    MD_CODE,  /* inside a code span or block: '`' becomes '\'' */
    MD_CELL,  /* inside a code span in a table cell: also '|' escaped */
    MD_PLAIN, /* running text: \ ` * _ < > [ ] | ~ # backslash-escaped */
    MD_TEXT,  /* not Markdown at all (pertop diff's text): nothing escaped */
};
void report_put_text(FILE *f, const char *s, enum md_mode mode);

#endif
