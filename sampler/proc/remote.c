/*
 * remote.c - one bounded read of another process's memory (see remote.h).
 */
#include "sampler/proc/remote.h"

#include <sys/uio.h>

int remote_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
    int rc = remote_check(addr, len);
    if (rc < 0)
        return rc;
    if (len == 0)
        return 0; /* nothing to copy: no system call */
    struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EFAULT;
}

int remote_read_ptr(pid_t pid, uint64_t addr, uint64_t *v)
{
    *v = 0;
    int rc = remote_read(pid, addr, v, sizeof *v);
    if (rc < 0)
        *v = 0; /* a short read may have copied part of the word */
    return rc;
}
