/*
 * procfs.h - small, bounded readers of /proc for the sampler and the session.
 *
 * Each reader takes a buffer or a struct and never allocates from sizes read
 * out of procfs.  The parsing halves (procfs_parse_*) take plain text so they
 * can be unit-tested.
 */
#ifndef PERTOP_PROCFS_H
#define PERTOP_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_stat {
    pid_t pid;
    char comm[16];
    char state;
    pid_t ppid;
    uint64_t utime, stime; /* clock ticks */
    uint64_t minflt, majflt;
    uint64_t starttime;
    uint64_t flags; /* PF_* (PF_KTHREAD = 0x00200000) */
};

/* Parse the text of /proc/PID/stat or /proc/PID/task/TID/stat (comm may hold
 * spaces and parentheses). */
int procfs_parse_stat(const char *text, size_t len, struct proc_stat *out);
/* Read and parse /proc/PID/stat (tid <= 0) or /proc/PID/task/TID/stat.
 * Returns 0, -errno from open/read (-ENOENT: no such task; -ESRCH: it died
 * while being read) or -EINVAL/-ERANGE for text that does not parse. */
int procfs_read_stat(pid_t pid, pid_t tid, struct proc_stat *out);
/* Re-read an already open stat file with one pread at offset 0 (the
 * sampler keeps one open per thread so a sample costs a single syscall). */
int procfs_pread_stat(int fd, struct proc_stat *out);

/* A descriptor that turns readable once process pid has exited (a pidfd:
 * the whole process, not a leader that left its threads running), or
 * -errno where the kernel has none (before 5.3) or the process is gone.
 * Asking it costs one poll, where a stat read costs open, read and close. */
int procfs_exit_fd(pid_t pid);
/* 1 when the process behind an exit fd has exited, 0 while it runs. */
int procfs_exit_fd_ready(int fd);

/* Command line with NULs turned into spaces, truncated to len-1; returns its
 * length (0 for kernel threads and zombies) or -errno. */
int procfs_cmdline(pid_t pid, char *buf, size_t len);

/* Fills tids (up to max) from /proc/PID/task; returns count or -errno.  A
 * count of max may mean the list was cut. */
int procfs_list_tasks(pid_t pid, pid_t *tids, size_t max);
/* The child processes of pid (every thread's, /proc/PID/task/TID/children),
 * at most max: the count, or -errno. */
int procfs_children(pid_t pid, pid_t *out, size_t max);

/* TracerPid from /proc/PID/status (0 when not traced), or -errno. */
int procfs_tracer_pid(pid_t pid);
/* Tgid from /proc/PID/status: the process a thread id belongs to. */
int procfs_tgid(pid_t pid);
/* Parsing half of the two above: the non-negative decimal value of the
 * "Key:" line in status text, -ENOENT when absent, -EINVAL when malformed. */
int procfs_parse_status_field(const char *text, size_t len, const char *key);

/* true when st describes a kernel thread (PF_KTHREAD set, or kthreadd).
 * Callers without flags may add: empty cmdline and ppid 2. */
bool procfs_is_kernel_thread(const struct proc_stat *st);

#endif
