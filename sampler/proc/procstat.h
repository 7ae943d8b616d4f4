/*
 * procstat.h - the target's process numbers from procfs, for the screen's
 * header, threads, memory and I/O panes: CPU time, memory and its parts,
 * faults, I/O bytes and syscalls, open descriptors, per-thread state and CPU,
 * and what each blocked thread is waiting in (syscall name and its file
 * descriptor resolved to a path, socket or pipe).
 *
 * A procstat collector keeps the previous reading so it can give rates
 * (per second, from CLOCK_MONOTONIC deltas) and a bounded RSS history.  It
 * never touches the target beyond reading procfs files, every read is
 * bounded, and a missing file (the process exited, no permission for
 * /proc/PID/io) leaves the field marked unavailable rather than failing the
 * whole reading.  Parsers take plain text so they can be unit-tested.
 * Called from one thread (the display's refresh), never the sampler.
 *
 * A collector reads only the groups its caller wants (PS_WANT_*, as htop's
 * columns declare the /proc files they need): a caller that shows the
 * process's CPU, memory and I/O does not pay for every thread's stat,
 * syscall and descriptor links.  A group not wanted stays zero (and its
 * valid flag false); out->measured says which groups were read.
 */
#ifndef PERTOP_PROCSTAT_H
#define PERTOP_PROCSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a reading reads.  /proc/PID/stat is read always: it says whether
 * the process is alive and how many threads it has (nthreads). */
enum procstat_want {
    PS_WANT_CPU = 1,        /* cpu_pct, minflt_ps, majflt_ps (from stat) */
    PS_WANT_MEM = 2,        /* mem, rss_growth_kib_s, the RSS history: status */
    PS_WANT_IO = 4,         /* io and its rates: /proc/PID/io */
    PS_WANT_THREADS = 8,    /* threads[], nthread_rows: task/ and each task's stat and schedstat */
    PS_WANT_WAITS = 16,     /* threads[].wait: each sleeper's syscall, the link of its
                             * descriptor, net tables for a socket (implies THREADS) */
    PS_WANT_FDS = 32,       /* nfds: /proc/PID/fd */
    PS_WANT_THREAD_IO = 64, /* threads[].io and its rates: each task's io (implies THREADS) */
    PS_WANT_ALL = 127,
};

#define PROCSTAT_MAX_THREADS 1024
#define PROCSTAT_HISTORY     120 /* RSS samples kept (one per reading) */
#define PROCSTAT_WAIT_FRAMES 12

struct procstat_mem {
    uint64_t rss_kib, anon_kib, file_kib, shmem_kib, swap_kib, hwm_kib, vsize_kib;
    bool valid;
};

struct procstat_io {
    uint64_t rchar, wchar, syscr, syscw, read_bytes, write_bytes;
    bool valid; /* false when /proc/PID/io cannot be read */
};

struct procstat_wait {
    bool blocked; /* in a syscall now (state S or D with a syscall number; also
                   * kept through a tracer's stop, t/T, that interrupts it) */
    long syscall_nr;
    const char *syscall; /* name ("read", "futex"...) or "syscall_NNN" */
    int fd;              /* first argument when the syscall takes a descriptor, else -1 */
    uint64_t args[2];    /* its first two arguments (futex: the address and the op) */
    char target[128];    /* what fd points to: a path (its tail when long), "pipe:[45]",
                          * "socket:[123] tcp 127.0.0.1:80 -> 10.0.0.2:5512",
                          * "socket:[124] tcp 127.0.0.1:80 listen", "socket:[125] unix /run/x",
                          * "anon_inode:[eventfd]", or "" */
    double blocked_s;    /* how long it has been seen blocked in this same syscall on the
                          * same fd: 0 at the first reading that sees it, then the sum of
                          * intervals (a call that returns and blocks again between two
                          * readings is not told apart) */
};

struct procstat_thread {
    pid_t tid;
    char name[16];
    char state;
    double cpu_pct;        /* of one CPU, since the previous reading */
    uint64_t utime, stime; /* clock ticks, cumulative */
    /* /proc/PID/task/TID/schedstat, cumulative ns: time on a CPU, and time
     * runnable but waiting for one (the run queue); sched_valid false when
     * the kernel has no schedstat (CONFIG_SCHED_INFO) */
    uint64_t sched_run_ns, sched_wait_ns;
    bool sched_valid;
    struct procstat_io io; /* per-thread /proc/PID/task/TID/io */
    double read_bps, write_bps, syscalls_ps;
    struct procstat_wait wait;
    /* Not procstat's: the caller that may unwind the target fills these
     * (the run figures): the blocked thread's innermost frames, as frame
     * ids of the caller's interner, leaf first. */
    uint32_t wait_frames[PROCSTAT_WAIT_FRAMES];
    uint8_t nwait_frames;
    /* for a thread waiting on a lock: the module and vaddr of the lock
     * word when a module holds it (wait_lock_module MODULE_NONE-like
     * UINT32_MAX when not), and the holder the lock names (0: unknown) */
    uint32_t wait_lock_module;
    uint64_t wait_lock_vaddr;
    pid_t wait_owner;
    uint32_t wait_owner_frame; /* the frame of the holder's latest on-CPU sample */
};

struct procstat_snapshot {
    uint64_t time_ns;  /* CLOCK_MONOTONIC of this reading */
    double interval_s; /* since the previous reading; 0 on the first: rates not known yet */
    bool alive;        /* false once the process is gone (or a zombie): then only
                        * time_ns and the RSS history are filled, every number is 0 */
    double cpu_pct;    /* whole process, can exceed 100 with threads */
    unsigned nthreads;
    unsigned nfds; /* open descriptors, 0 when unreadable or not wanted */
    struct procstat_mem mem;
    double rss_growth_kib_s;
    double minflt_ps, majflt_ps;
    struct procstat_io io;
    double read_bps, write_bps; /* rchar/wchar per second */
    double disk_read_bps, disk_write_bps;
    double syscr_ps, syscw_ps;
    unsigned measured;   /* PS_WANT_* read by this reading (0 when the process is gone) */
    unsigned procfs_ops; /* procfs lookups it made (files opened, directories listed or
                          * stat'ed, links read): what the reading cost */
    size_t nthread_rows; /* <= nthreads, cut at PROCSTAT_MAX_THREADS */
    struct procstat_thread threads[PROCSTAT_MAX_THREADS]; /* sorted by tid */
    size_t nhistory;                                      /* RSS history, oldest first */
    uint64_t rss_history_kib[PROCSTAT_HISTORY];
};

struct procstat;

/* NULL only for pid <= 0 or no memory: a process already gone gives a
 * collector whose readings say alive = false.  Holds /proc/PID open, so a
 * reused PID is never mistaken for the process. */
struct procstat *procstat_new(pid_t pid);
/* The same, reading only the groups in want (PS_WANT_*); procstat_new is
 * PS_WANT_ALL.  NULL with errno EINVAL for bits outside PS_WANT_ALL. */
struct procstat *procstat_new_want(pid_t pid, unsigned want);
void procstat_free(struct procstat *p);
/* Takes a reading now and fills out (rates against the previous reading).
 * Returns 0, also for a process that is gone (out->alive = false), or
 * -EINVAL for NULL arguments.  With PS_WANT_ALL about 3-4 small file reads
 * per thread; CPU|MEM|IO is three files whatever the thread count. */
int procstat_read(struct procstat *p, struct procstat_snapshot *out);

/* Parsers, exposed for tests.  Text need not be NUL-terminated. */
/* 0 and out->valid when VmRSS is there (parts missing stay 0); -ENOENT
 * without VmRSS (kernel thread, zombie), -EINVAL/-ERANGE when malformed. */
int procstat_parse_status(const char *text, size_t len, struct procstat_mem *out);
/* 0 and out->valid when all six counters parse, else -EINVAL/-ERANGE. */
int procstat_parse_io(const char *text, size_t len, struct procstat_io *out);
/* /proc/PID/task/TID/syscall: "nr arg1 ... sp pc", "running", or "-1 sp pc".
 * 0 with *nr >= 0 and args set; 0 with *nr = -1 (blocked outside a
 * syscall); -EAGAIN for "running"; -EINVAL/-ERANGE for anything else. */
int procstat_parse_syscall(const char *text, size_t len, long *nr, uint64_t args[6]);
/* The same, with the user stack pointer and program counter it gives. */
int procstat_parse_syscall_at(const char *text, size_t len, long *nr, uint64_t args[6],
                              uint64_t *sp, uint64_t *pc);
/* /proc/PID/task/TID/schedstat: "RUN_NS WAIT_NS TIMESLICES".  0, or
 * -EINVAL/-ERANGE. */
int procstat_parse_schedstat(const char *text, size_t len, uint64_t *run_ns, uint64_t *wait_ns);
/* The line of a net table's text (/proc/PID/net/tcp, tcp6, udp, udp6 or
 * unix, its header line first) for the socket of inode ino, described in
 * out as procstat_wait.target says ("socket:[123] tcp 127.0.0.1:80 listen");
 * false when no line names ino. */
enum {
    PROCSTAT_NET_TCP,
    PROCSTAT_NET_TCP6,
    PROCSTAT_NET_UDP,
    PROCSTAT_NET_UDP6,
    PROCSTAT_NET_UNIX,
    PROCSTAT_NET_NTABLES
};
bool procstat_net_describe(const char *text, size_t len, int table, uint64_t ino, char *out,
                           size_t size);
/* x86_64 syscall name (0..334, 424..470), NULL when unknown. */
const char *procstat_syscall_name(long nr);
/* Whether syscall nr takes a file descriptor as its first argument. */
bool procstat_syscall_takes_fd(long nr);

#endif
