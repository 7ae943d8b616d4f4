/*
 * procfs.c - bounded readers of /proc.
 *
 * Every file is read into a fixed stack buffer; the parsers walk that text
 * with explicit lengths and never trust it to be NUL-terminated, complete or
 * well formed (a thread can name itself "x) R 1 2" and /proc text can be cut
 * short when the task dies mid-read).
 */
#include "sampler/proc/procfs.h"
#include "common/readfile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PF_KTHREAD_FLAG 0x00200000u
#define STAT_BUF        1024 /* comm (<= 64 for kernel threads) + 50 numbers */
#define STATUS_BUF      4096 /* the Tgid/TracerPid lines sit in the first 500 bytes */

/* A cursor over text that is not NUL-terminated. */
struct cur {
    const char *p, *end;
};

static void skip_spaces(struct cur *c)
{
    while (c->p < c->end && *c->p == ' ')
        c->p++;
}

/* Unsigned decimal field; rejects empty, non-digit and overflowing input. */
static int take_u64(struct cur *c, uint64_t *out)
{
    skip_spaces(c);
    if (c->p >= c->end || !isdigit((unsigned char)*c->p))
        return -EINVAL;
    uint64_t v = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        unsigned d = (unsigned)(*c->p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
        c->p++;
    }
    if (c->p < c->end && *c->p != ' ' && *c->p != '\n')
        return -EINVAL;
    *out = v;
    return 0;
}

/* Any field we do not keep (some are signed, e.g. tty_nr or nice). */
static int skip_field(struct cur *c)
{
    skip_spaces(c);
    const char *start = c->p;
    while (c->p < c->end && *c->p != ' ' && *c->p != '\n')
        c->p++;
    return c->p > start ? 0 : -EINVAL;
}

static int take_pid(struct cur *c, pid_t *out)
{
    uint64_t v;
    int rc = take_u64(c, &v);
    if (rc < 0)
        return rc;
    if (v > INT_MAX)
        return -ERANGE;
    *out = (pid_t)v;
    return 0;
}

/* Fields after the comm, numbered as in proc(5): 3 state ... 22 starttime. */
static int parse_stat_tail(struct cur *c, struct proc_stat *out)
{
    skip_spaces(c);
    if (c->p >= c->end || !isalpha((unsigned char)*c->p))
        return -EINVAL;
    out->state = *c->p++;
    if (c->p < c->end && *c->p != ' ')
        return -EINVAL;

    uint64_t skip;
    int rc = take_pid(c, &out->ppid); /* 4 */
    for (int f = 5; rc == 0 && f <= 8; f++)
        rc = skip_field(c); /* pgrp session tty_nr tpgid */
    if (rc == 0)
        rc = take_u64(c, &out->flags); /* 9 */
    if (rc == 0)
        rc = take_u64(c, &out->minflt); /* 10 */
    if (rc == 0)
        rc = take_u64(c, &skip); /* 11 cminflt */
    if (rc == 0)
        rc = take_u64(c, &out->majflt); /* 12 */
    if (rc == 0)
        rc = take_u64(c, &skip); /* 13 cmajflt */
    if (rc == 0)
        rc = take_u64(c, &out->utime); /* 14 */
    if (rc == 0)
        rc = take_u64(c, &out->stime); /* 15 */
    for (int f = 16; rc == 0 && f <= 21; f++)
        rc = skip_field(c); /* cutime cstime priority nice num_threads itrealvalue */
    if (rc == 0)
        rc = take_u64(c, &out->starttime); /* 22 */
    return rc;
}

int procfs_parse_stat(const char *text, size_t len, struct proc_stat *out)
{
    if (!text || !out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    const char *open = memchr(text, '(', len);
    const char *close = NULL;
    /* The comm is arbitrary bytes: only the LAST ')' ends it. */
    for (const char *p = text + len; p > text; p--) {
        if (p[-1] == ')') {
            close = p - 1;
            break;
        }
    }
    if (!open || !close || close < open)
        return -EINVAL;

    struct cur c = {text, open};
    int rc = take_pid(&c, &out->pid);
    if (rc < 0)
        return rc;
    if (out->pid <= 0)
        return -EINVAL;

    size_t n = (size_t)(close - open - 1);
    if (n >= sizeof out->comm)
        n = sizeof out->comm - 1;
    memcpy(out->comm, open + 1, n);
    out->comm[n] = '\0';

    c = (struct cur){close + 1, text + len};
    return parse_stat_tail(&c, out);
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = readfile_buf(fd, buf, size, 0);
    close(fd);
    return n;
}

int procfs_pread_stat(int fd, struct proc_stat *out)
{
    char buf[STAT_BUF];
    /* One pread: a stat file is produced whole by the kernel on each read. */
    ssize_t n;
    do
        n = pread(fd, buf, sizeof buf, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -ESRCH; /* the task is gone */
    return procfs_parse_stat(buf, (size_t)n, out);
}

int procfs_exit_fd(pid_t pid)
{
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}

int procfs_exit_fd_ready(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, 0);
    while (r < 0 && errno == EINTR);
    return r == 1 && (p.revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
}

int procfs_read_stat(pid_t pid, pid_t tid, struct proc_stat *out)
{
    char path[64], buf[STAT_BUF];
    if (pid <= 0)
        return -EINVAL;
    if (tid > 0)
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    else
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    ssize_t n = read_file(path, buf, sizeof buf);
    if (n < 0)
        return (int)n;
    if (n == 0)
        return -ESRCH;
    return procfs_parse_stat(buf, (size_t)n, out);
}

int procfs_cmdline(pid_t pid, char *buf, size_t len)
{
    char path[64];
    if (pid <= 0 || !buf || len == 0)
        return -EINVAL;
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    ssize_t n = read_file(path, buf, len);
    if (n < 0) {
        buf[0] = '\0';
        return (int)n;
    }
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return (int)n;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

int procfs_list_tasks(pid_t pid, pid_t *tids, size_t max)
{
    char path[64];
    if (pid <= 0)
        return -EINVAL;
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    size_t n = 0;
    struct dirent *e;
    while (n < max && n < INT_MAX && (e = readdir(d)) != NULL) {
        if (!all_digits(e->d_name))
            continue;
        long v = strtol(e->d_name, NULL, 10);
        if (v > 0 && v <= INT_MAX)
            tids[n++] = (pid_t)v;
    }
    closedir(d);
    return (int)n;
}

int procfs_children(pid_t pid, pid_t *out, size_t max)
{
    pid_t tids[256];
    int nt = procfs_list_tasks(pid, tids, sizeof tids / sizeof tids[0]);
    if (nt < 0)
        return nt;
    size_t n = 0;
    for (int i = 0; i < nt && n < max; i++) {
        char path[96], buf[4096];
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)tids[i]);
        ssize_t len = read_file(path, buf, sizeof buf - 1);
        if (len <= 0)
            continue;
        buf[len] = '\0'; /* "123 456 " */
        for (char *p = buf, *end; len > 0 && n < max && p < buf + len; p = end) {
            long v = strtol(p, &end, 10);
            if (end == p)
                break;
            if (v > 0 && v <= INT_MAX)
                out[n++] = (pid_t)v;
        }
    }
    return (int)n;
}

int procfs_parse_status_field(const char *text, size_t len, const char *key)
{
    size_t klen = strlen(key);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        if ((size_t)(eol - p) > klen && !memcmp(p, key, klen) && p[klen] == ':') {
            struct cur c = {p + klen + 1, eol};
            while (c.p < c.end && *c.p == '\t')
                c.p++;
            pid_t v;
            return take_pid(&c, &v) == 0 ? v : -EINVAL;
        }
        p = eol + 1;
    }
    return -ENOENT;
}

static int status_field(pid_t pid, const char *key)
{
    char path[64], buf[STATUS_BUF];
    if (pid <= 0)
        return -EINVAL;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    ssize_t n = read_file(path, buf, sizeof buf);
    if (n < 0)
        return (int)n;
    return procfs_parse_status_field(buf, (size_t)n, key);
}

int procfs_tracer_pid(pid_t pid)
{
    return status_field(pid, "TracerPid");
}

int procfs_tgid(pid_t pid)
{
    return status_field(pid, "Tgid");
}

bool procfs_is_kernel_thread(const struct proc_stat *st)
{
    /* PF_KTHREAD is authoritative; kthreadd (pid 2) is the parent of all
     * other kernel threads.  A user process whose parent is kthreadd (a
     * usermode helper) has neither. */
    return (st->flags & PF_KTHREAD_FLAG) != 0 || st->pid == 2;
}
