/*
 * remote.h - one bounded read of another process's memory.
 *
 * Contract:
 *   - remote_read() copies exactly len bytes at addr of process pid into buf
 *     with one process_vm_readv: 0, or a negative errno.  A short read is
 *     -EFAULT (the range runs into an unmapped page): the caller never sees
 *     half a struct.  buf may be left partly written on failure.
 *   - Every address and length comes from the target, so none is trusted:
 *     address 0, a range that wraps past 2^64 (-EFAULT) and a length above
 *     REMOTE_READ_MAX (-E2BIG) are refused before any system call.
 *     remote_check() is that policy alone, for readers that do not go
 *     through a pid (a test's fake address space).
 *   - remote_read_ptr() reads one 64-bit word and sets *v to 0 on failure,
 *     so a failed read never leaves stale data in *v.
 * Needs the permission ptrace would need, nothing else; thread-safe.
 */
#ifndef PERTOP_REMOTE_H
#define PERTOP_REMOTE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The largest single read: well above any struct or table pertop reads in
 * one go (64 KiB line tables), well below a size that could be a garbage
 * length read out of the target. */
#define REMOTE_READ_MAX (1u << 20)

/* 0 when [addr, addr + len) may be asked for, else -EFAULT or -E2BIG. */
static inline int remote_check(uint64_t addr, size_t len)
{
    if (len > REMOTE_READ_MAX)
        return -E2BIG;
    if (!addr || addr + len < addr)
        return -EFAULT;
    return 0;
}

int remote_read(pid_t pid, uint64_t addr, void *buf, size_t len);
int remote_read_ptr(pid_t pid, uint64_t addr, uint64_t *v);

#endif
