/*
 * fuzz_procfs.c - the parsers of the target's procfs files.
 *
 * Byte 0 picks the parser, the rest is the file's text: 0 maps (then
 * lookups in what was parsed), 1 stat, 2 status fields (TracerPid, Tgid),
 * 3 status memory lines, 4 io, 5 syscall, 6 schedstat, 7-11 the net
 * tables tcp, tcp6, udp, udp6, unix (searched for socket inode 12345 and
 * for the first number of its last line).  A finding (crash, ASan or
 * UBSan report, leak, hang) is a bug in a parser: a process controls its
 * command name, its mapped paths and its sockets' addresses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/proc/maps.h"
#include "sampler/proc/procfs.h"
#include "sampler/proc/procstat.h"

static uint64_t maps(const char *t, size_t n)
{
    struct maps m;
    uint64_t sum = 0;
    if (maps_parse(t, n, &m) < 0)
        return 0;
    for (size_t i = 0; i < m.n; i++) {
        const struct map_entry *e = &m.v[i];
        sum += strlen(e->path) + strlen(e->perms) + maps_is_exec(e);
        const struct map_entry *f = maps_find(&m, e->start);
        sum += f ? f->start : 0;
        f = maps_find(&m, e->end - 1);
        sum += f ? f->end : 0;
    }
    maps_find(&m, 0);
    maps_find(&m, UINT64_MAX);
    maps_free(&m);
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0] % 12;
    size_t n = size - 1;
    /* a copy of exactly n bytes, so that a read past the end is seen; the
     * readers NUL-terminate what they read, so some parsers may rely on it:
     * those get the NUL too, outside n */
    char *t = malloc(n + 1);
    if (!t)
        return 0;
    memcpy(t, data + 1, n);
    t[n] = '\0';
    volatile uint64_t sink = 0;
    switch (sel) {
    case 0:
        sink += maps(t, n);
        break;
    case 1: {
        struct proc_stat st;
        if (procfs_parse_stat(t, n, &st) == 0)
            sink += strlen(st.comm) + procfs_is_kernel_thread(&st);
        break;
    }
    case 2:
        sink += (uint64_t)procfs_parse_status_field(t, n, "TracerPid");
        sink += (uint64_t)procfs_parse_status_field(t, n, "Tgid");
        break;
    case 3: {
        struct procstat_mem m;
        sink += (uint64_t)procstat_parse_status(t, n, &m);
        break;
    }
    case 4: {
        struct procstat_io io;
        sink += (uint64_t)procstat_parse_io(t, n, &io);
        break;
    }
    case 5: {
        long nr;
        uint64_t args[6], sp, pc;
        if (procstat_parse_syscall_at(t, n, &nr, args, &sp, &pc) == 0 && nr >= 0) {
            const char *name = procstat_syscall_name(nr);
            sink += (name ? strlen(name) : 0) + procstat_syscall_takes_fd(nr);
        }
        sink += (uint64_t)procstat_parse_syscall(t, n, &nr, args);
        break;
    }
    case 6: {
        uint64_t run, wait;
        sink += (uint64_t)procstat_parse_schedstat(t, n, &run, &wait);
        break;
    }
    default: {
        char out[128];
        int table = PROCSTAT_NET_TCP + (int)(sel - 7);
        if (procstat_net_describe(t, n, table, 12345, out, sizeof out))
            sink += strlen(out);
        /* the first number of the last line, whatever it is */
        const char *last = n ? memrchr(t, '\n', n) : NULL;
        uint64_t ino = last ? strtoull(last + 1, NULL, 10) : 0;
        if (procstat_net_describe(t, n, table, ino, out, sizeof out))
            sink += strlen(out);
        break;
    }
    }
    free(t);
    (void)sink;
    return 0;
}
