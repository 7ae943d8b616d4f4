/*
 * blocked.c - a blocked thread's user stack from procfs (see blocked.h).
 */
#include "sampler/proc/blocked.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/readfile.h"
#include "sampler/proc/procfs.h"
#include "sampler/proc/procstat.h"
#include "sampler/proc/remote.h"

#define MIN_STACK 256u /* less than this is no stack worth unwinding */

static int read_syscall(pid_t pid, pid_t tid, long *nr, uint64_t *sp, uint64_t *pc)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = readfile_buf(fd, buf, sizeof buf, READFILE_ONCE);
    close(fd);
    if (n < 0)
        return (int)n;
    uint64_t args[6];
    return procstat_parse_syscall_at(buf, (size_t)n, nr, args, sp, pc);
}

/* As much of [sp, sp + want) as is mapped: the top of the stack may be
 * nearer than want. */
static uint32_t read_stack(pid_t pid, uint64_t sp, uint8_t *buf, uint32_t want)
{
    for (uint32_t n = want; n >= MIN_STACK; n /= 2)
        if (remote_read(pid, sp, buf, n) == 0)
            return n;
    return 0;
}

int blocked_capture(pid_t pid, pid_t tid, struct capture *c, uint32_t stack_size)
{
    struct proc_stat st;
    int rc = procfs_read_stat(pid, tid, &st);
    if (rc < 0)
        return rc;
    if (st.state != 'S' && st.state != 'D')
        return -EAGAIN;
    long nr;
    uint64_t sp, pc;
    rc = read_syscall(pid, tid, &nr, &sp, &pc);
    if (rc < 0)
        return rc;
    if (nr < 0 || !sp || !pc)
        return -EAGAIN;
    memset(&c->regs, 0, sizeof c->regs);
    c->regs.rip = pc;
    c->regs.rsp = sp;
    c->tid = tid;
    c->state = st.state;
    c->stack_addr = sp;
    uint32_t want = stack_size < c->stack_cap ? stack_size : c->stack_cap;
    c->stack_len = want ? read_stack(pid, sp, c->stack, want) : 0;
    if (c->stack_len < want)
        c->flags |= CAPTURE_STACK_SHORT;
    return 0;
}
