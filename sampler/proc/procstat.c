/*
 * procstat.c - the target's process numbers from procfs for the live screen.
 *
 * A reading opens a few small files per thread relative to a descriptor of
 * /proc/PID held since procstat_new: lookups stay short, and a PID reused by
 * another process after ours is gone can never be mistaken for it (the old
 * directory answers ENOENT/ESRCH for ever).  Every file goes into a fixed
 * buffer; every parser walks explicit lengths and accepts text cut short by a
 * task dying mid-read.  Nothing is allocated from a size read out of procfs.
 *
 * Per-thread wait: /proc/PID/task/TID/syscall is read only for threads that
 * sleep (S, D); it needs ptrace-read permission and answers "running" when the
 * thread woke meanwhile.  A descriptor is resolved with readlink, a socket
 * also through the target's own /proc/PID/net tables (its network namespace),
 * at most SOCKET_LOOKUPS per reading; the answer is reused for as long as the
 * thread stays blocked on the same descriptor.
 */
#include "sampler/proc/procstat.h"
#include "common/clock.h"
#include "common/readfile.h"
#include "sampler/proc/procfs.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OPEN_FLAGS      (O_RDONLY | O_CLOEXEC | O_NONBLOCK)
#define STAT_BUF        1024        /* stat, io, syscall of one task */
#define STATUS_BUF      8192        /* status; the Vm and Rss lines sit in the first 1 KiB */
#define NET_BUF         (64 * 1024) /* a net table is not read further than this */
#define MAX_FDS_COUNTED 65536       /* where counting /proc/PID/fd stops */
#define SOCKET_LOOKUPS  8           /* net-table searches per reading; the rest wait */
#define LINK_BUF        512

/*
 * x86_64 system calls by number, generated once from the kernel's
 * asm/unistd_64.h (0..334, 424..450) plus 451..470 from the kernel's
 * syscall_64.tbl; FD marks those whose first argument is a file descriptor
 * (for the *at calls that is the directory, AT_FDCWD shows as no descriptor).
 */
#define FD   true
#define NOFD false
static const struct {
    const char *name;
    bool fd_first;
} syscalls[] = {
    [0] = {"read", FD},
    [1] = {"write", FD},
    [2] = {"open", NOFD},
    [3] = {"close", FD},
    [4] = {"stat", NOFD},
    [5] = {"fstat", FD},
    [6] = {"lstat", NOFD},
    [7] = {"poll", NOFD},
    [8] = {"lseek", FD},
    [9] = {"mmap", NOFD},
    [10] = {"mprotect", NOFD},
    [11] = {"munmap", NOFD},
    [12] = {"brk", NOFD},
    [13] = {"rt_sigaction", NOFD},
    [14] = {"rt_sigprocmask", NOFD},
    [15] = {"rt_sigreturn", NOFD},
    [16] = {"ioctl", FD},
    [17] = {"pread64", FD},
    [18] = {"pwrite64", FD},
    [19] = {"readv", FD},
    [20] = {"writev", FD},
    [21] = {"access", NOFD},
    [22] = {"pipe", NOFD},
    [23] = {"select", NOFD},
    [24] = {"sched_yield", NOFD},
    [25] = {"mremap", NOFD},
    [26] = {"msync", NOFD},
    [27] = {"mincore", NOFD},
    [28] = {"madvise", NOFD},
    [29] = {"shmget", NOFD},
    [30] = {"shmat", NOFD},
    [31] = {"shmctl", NOFD},
    [32] = {"dup", FD},
    [33] = {"dup2", FD},
    [34] = {"pause", NOFD},
    [35] = {"nanosleep", NOFD},
    [36] = {"getitimer", NOFD},
    [37] = {"alarm", NOFD},
    [38] = {"setitimer", NOFD},
    [39] = {"getpid", NOFD},
    [40] = {"sendfile", FD},
    [41] = {"socket", NOFD},
    [42] = {"connect", FD},
    [43] = {"accept", FD},
    [44] = {"sendto", FD},
    [45] = {"recvfrom", FD},
    [46] = {"sendmsg", FD},
    [47] = {"recvmsg", FD},
    [48] = {"shutdown", FD},
    [49] = {"bind", FD},
    [50] = {"listen", FD},
    [51] = {"getsockname", FD},
    [52] = {"getpeername", FD},
    [53] = {"socketpair", NOFD},
    [54] = {"setsockopt", FD},
    [55] = {"getsockopt", FD},
    [56] = {"clone", NOFD},
    [57] = {"fork", NOFD},
    [58] = {"vfork", NOFD},
    [59] = {"execve", NOFD},
    [60] = {"exit", NOFD},
    [61] = {"wait4", NOFD},
    [62] = {"kill", NOFD},
    [63] = {"uname", NOFD},
    [64] = {"semget", NOFD},
    [65] = {"semop", NOFD},
    [66] = {"semctl", NOFD},
    [67] = {"shmdt", NOFD},
    [68] = {"msgget", NOFD},
    [69] = {"msgsnd", NOFD},
    [70] = {"msgrcv", NOFD},
    [71] = {"msgctl", NOFD},
    [72] = {"fcntl", FD},
    [73] = {"flock", FD},
    [74] = {"fsync", FD},
    [75] = {"fdatasync", FD},
    [76] = {"truncate", NOFD},
    [77] = {"ftruncate", FD},
    [78] = {"getdents", FD},
    [79] = {"getcwd", NOFD},
    [80] = {"chdir", NOFD},
    [81] = {"fchdir", FD},
    [82] = {"rename", NOFD},
    [83] = {"mkdir", NOFD},
    [84] = {"rmdir", NOFD},
    [85] = {"creat", NOFD},
    [86] = {"link", NOFD},
    [87] = {"unlink", NOFD},
    [88] = {"symlink", NOFD},
    [89] = {"readlink", NOFD},
    [90] = {"chmod", NOFD},
    [91] = {"fchmod", FD},
    [92] = {"chown", NOFD},
    [93] = {"fchown", FD},
    [94] = {"lchown", NOFD},
    [95] = {"umask", NOFD},
    [96] = {"gettimeofday", NOFD},
    [97] = {"getrlimit", NOFD},
    [98] = {"getrusage", NOFD},
    [99] = {"sysinfo", NOFD},
    [100] = {"times", NOFD},
    [101] = {"ptrace", NOFD},
    [102] = {"getuid", NOFD},
    [103] = {"syslog", NOFD},
    [104] = {"getgid", NOFD},
    [105] = {"setuid", NOFD},
    [106] = {"setgid", NOFD},
    [107] = {"geteuid", NOFD},
    [108] = {"getegid", NOFD},
    [109] = {"setpgid", NOFD},
    [110] = {"getppid", NOFD},
    [111] = {"getpgrp", NOFD},
    [112] = {"setsid", NOFD},
    [113] = {"setreuid", NOFD},
    [114] = {"setregid", NOFD},
    [115] = {"getgroups", NOFD},
    [116] = {"setgroups", NOFD},
    [117] = {"setresuid", NOFD},
    [118] = {"getresuid", NOFD},
    [119] = {"setresgid", NOFD},
    [120] = {"getresgid", NOFD},
    [121] = {"getpgid", NOFD},
    [122] = {"setfsuid", NOFD},
    [123] = {"setfsgid", NOFD},
    [124] = {"getsid", NOFD},
    [125] = {"capget", NOFD},
    [126] = {"capset", NOFD},
    [127] = {"rt_sigpending", NOFD},
    [128] = {"rt_sigtimedwait", NOFD},
    [129] = {"rt_sigqueueinfo", NOFD},
    [130] = {"rt_sigsuspend", NOFD},
    [131] = {"sigaltstack", NOFD},
    [132] = {"utime", NOFD},
    [133] = {"mknod", NOFD},
    [134] = {"uselib", NOFD},
    [135] = {"personality", NOFD},
    [136] = {"ustat", NOFD},
    [137] = {"statfs", NOFD},
    [138] = {"fstatfs", FD},
    [139] = {"sysfs", NOFD},
    [140] = {"getpriority", NOFD},
    [141] = {"setpriority", NOFD},
    [142] = {"sched_setparam", NOFD},
    [143] = {"sched_getparam", NOFD},
    [144] = {"sched_setscheduler", NOFD},
    [145] = {"sched_getscheduler", NOFD},
    [146] = {"sched_get_priority_max", NOFD},
    [147] = {"sched_get_priority_min", NOFD},
    [148] = {"sched_rr_get_interval", NOFD},
    [149] = {"mlock", NOFD},
    [150] = {"munlock", NOFD},
    [151] = {"mlockall", NOFD},
    [152] = {"munlockall", NOFD},
    [153] = {"vhangup", NOFD},
    [154] = {"modify_ldt", NOFD},
    [155] = {"pivot_root", NOFD},
    [156] = {"_sysctl", NOFD},
    [157] = {"prctl", NOFD},
    [158] = {"arch_prctl", NOFD},
    [159] = {"adjtimex", NOFD},
    [160] = {"setrlimit", NOFD},
    [161] = {"chroot", NOFD},
    [162] = {"sync", NOFD},
    [163] = {"acct", NOFD},
    [164] = {"settimeofday", NOFD},
    [165] = {"mount", NOFD},
    [166] = {"umount2", NOFD},
    [167] = {"swapon", NOFD},
    [168] = {"swapoff", NOFD},
    [169] = {"reboot", NOFD},
    [170] = {"sethostname", NOFD},
    [171] = {"setdomainname", NOFD},
    [172] = {"iopl", NOFD},
    [173] = {"ioperm", NOFD},
    [174] = {"create_module", NOFD},
    [175] = {"init_module", NOFD},
    [176] = {"delete_module", NOFD},
    [177] = {"get_kernel_syms", NOFD},
    [178] = {"query_module", NOFD},
    [179] = {"quotactl", NOFD},
    [180] = {"nfsservctl", NOFD},
    [181] = {"getpmsg", NOFD},
    [182] = {"putpmsg", NOFD},
    [183] = {"afs_syscall", NOFD},
    [184] = {"tuxcall", NOFD},
    [185] = {"security", NOFD},
    [186] = {"gettid", NOFD},
    [187] = {"readahead", FD},
    [188] = {"setxattr", NOFD},
    [189] = {"lsetxattr", NOFD},
    [190] = {"fsetxattr", FD},
    [191] = {"getxattr", NOFD},
    [192] = {"lgetxattr", NOFD},
    [193] = {"fgetxattr", FD},
    [194] = {"listxattr", NOFD},
    [195] = {"llistxattr", NOFD},
    [196] = {"flistxattr", FD},
    [197] = {"removexattr", NOFD},
    [198] = {"lremovexattr", NOFD},
    [199] = {"fremovexattr", FD},
    [200] = {"tkill", NOFD},
    [201] = {"time", NOFD},
    [202] = {"futex", NOFD},
    [203] = {"sched_setaffinity", NOFD},
    [204] = {"sched_getaffinity", NOFD},
    [205] = {"set_thread_area", NOFD},
    [206] = {"io_setup", NOFD},
    [207] = {"io_destroy", NOFD},
    [208] = {"io_getevents", NOFD},
    [209] = {"io_submit", NOFD},
    [210] = {"io_cancel", NOFD},
    [211] = {"get_thread_area", NOFD},
    [212] = {"lookup_dcookie", NOFD},
    [213] = {"epoll_create", NOFD},
    [214] = {"epoll_ctl_old", NOFD},
    [215] = {"epoll_wait_old", NOFD},
    [216] = {"remap_file_pages", NOFD},
    [217] = {"getdents64", FD},
    [218] = {"set_tid_address", NOFD},
    [219] = {"restart_syscall", NOFD},
    [220] = {"semtimedop", NOFD},
    [221] = {"fadvise64", FD},
    [222] = {"timer_create", NOFD},
    [223] = {"timer_settime", NOFD},
    [224] = {"timer_gettime", NOFD},
    [225] = {"timer_getoverrun", NOFD},
    [226] = {"timer_delete", NOFD},
    [227] = {"clock_settime", NOFD},
    [228] = {"clock_gettime", NOFD},
    [229] = {"clock_getres", NOFD},
    [230] = {"clock_nanosleep", NOFD},
    [231] = {"exit_group", NOFD},
    [232] = {"epoll_wait", FD},
    [233] = {"epoll_ctl", FD},
    [234] = {"tgkill", NOFD},
    [235] = {"utimes", NOFD},
    [236] = {"vserver", NOFD},
    [237] = {"mbind", NOFD},
    [238] = {"set_mempolicy", NOFD},
    [239] = {"get_mempolicy", NOFD},
    [240] = {"mq_open", NOFD},
    [241] = {"mq_unlink", NOFD},
    [242] = {"mq_timedsend", NOFD},
    [243] = {"mq_timedreceive", NOFD},
    [244] = {"mq_notify", NOFD},
    [245] = {"mq_getsetattr", NOFD},
    [246] = {"kexec_load", NOFD},
    [247] = {"waitid", NOFD},
    [248] = {"add_key", NOFD},
    [249] = {"request_key", NOFD},
    [250] = {"keyctl", NOFD},
    [251] = {"ioprio_set", NOFD},
    [252] = {"ioprio_get", NOFD},
    [253] = {"inotify_init", NOFD},
    [254] = {"inotify_add_watch", FD},
    [255] = {"inotify_rm_watch", FD},
    [256] = {"migrate_pages", NOFD},
    [257] = {"openat", FD},
    [258] = {"mkdirat", FD},
    [259] = {"mknodat", FD},
    [260] = {"fchownat", FD},
    [261] = {"futimesat", FD},
    [262] = {"newfstatat", FD},
    [263] = {"unlinkat", FD},
    [264] = {"renameat", FD},
    [265] = {"linkat", FD},
    [266] = {"symlinkat", NOFD},
    [267] = {"readlinkat", FD},
    [268] = {"fchmodat", FD},
    [269] = {"faccessat", FD},
    [270] = {"pselect6", NOFD},
    [271] = {"ppoll", NOFD},
    [272] = {"unshare", NOFD},
    [273] = {"set_robust_list", NOFD},
    [274] = {"get_robust_list", NOFD},
    [275] = {"splice", FD},
    [276] = {"tee", FD},
    [277] = {"sync_file_range", FD},
    [278] = {"vmsplice", FD},
    [279] = {"move_pages", NOFD},
    [280] = {"utimensat", FD},
    [281] = {"epoll_pwait", FD},
    [282] = {"signalfd", FD},
    [283] = {"timerfd_create", NOFD},
    [284] = {"eventfd", NOFD},
    [285] = {"fallocate", FD},
    [286] = {"timerfd_settime", FD},
    [287] = {"timerfd_gettime", FD},
    [288] = {"accept4", FD},
    [289] = {"signalfd4", FD},
    [290] = {"eventfd2", NOFD},
    [291] = {"epoll_create1", NOFD},
    [292] = {"dup3", FD},
    [293] = {"pipe2", NOFD},
    [294] = {"inotify_init1", NOFD},
    [295] = {"preadv", FD},
    [296] = {"pwritev", FD},
    [297] = {"rt_tgsigqueueinfo", NOFD},
    [298] = {"perf_event_open", NOFD},
    [299] = {"recvmmsg", FD},
    [300] = {"fanotify_init", NOFD},
    [301] = {"fanotify_mark", FD},
    [302] = {"prlimit64", NOFD},
    [303] = {"name_to_handle_at", FD},
    [304] = {"open_by_handle_at", FD},
    [305] = {"clock_adjtime", NOFD},
    [306] = {"syncfs", FD},
    [307] = {"sendmmsg", FD},
    [308] = {"setns", FD},
    [309] = {"getcpu", NOFD},
    [310] = {"process_vm_readv", NOFD},
    [311] = {"process_vm_writev", NOFD},
    [312] = {"kcmp", NOFD},
    [313] = {"finit_module", FD},
    [314] = {"sched_setattr", NOFD},
    [315] = {"sched_getattr", NOFD},
    [316] = {"renameat2", FD},
    [317] = {"seccomp", NOFD},
    [318] = {"getrandom", NOFD},
    [319] = {"memfd_create", NOFD},
    [320] = {"kexec_file_load", FD},
    [321] = {"bpf", NOFD},
    [322] = {"execveat", FD},
    [323] = {"userfaultfd", NOFD},
    [324] = {"membarrier", NOFD},
    [325] = {"mlock2", NOFD},
    [326] = {"copy_file_range", FD},
    [327] = {"preadv2", FD},
    [328] = {"pwritev2", FD},
    [329] = {"pkey_mprotect", NOFD},
    [330] = {"pkey_alloc", NOFD},
    [331] = {"pkey_free", NOFD},
    [332] = {"statx", FD},
    [333] = {"io_pgetevents", NOFD},
    [334] = {"rseq", NOFD},
    [424] = {"pidfd_send_signal", FD},
    [425] = {"io_uring_setup", NOFD},
    [426] = {"io_uring_enter", FD},
    [427] = {"io_uring_register", FD},
    [428] = {"open_tree", FD},
    [429] = {"move_mount", FD},
    [430] = {"fsopen", NOFD},
    [431] = {"fsconfig", FD},
    [432] = {"fsmount", FD},
    [433] = {"fspick", FD},
    [434] = {"pidfd_open", NOFD},
    [435] = {"clone3", NOFD},
    [436] = {"close_range", NOFD},
    [437] = {"openat2", NOFD},
    [438] = {"pidfd_getfd", FD},
    [439] = {"faccessat2", FD},
    [440] = {"process_madvise", FD},
    [441] = {"epoll_pwait2", FD},
    [442] = {"mount_setattr", FD},
    [443] = {"quotactl_fd", FD},
    [444] = {"landlock_create_ruleset", NOFD},
    [445] = {"landlock_add_rule", FD},
    [446] = {"landlock_restrict_self", FD},
    [447] = {"memfd_secret", NOFD},
    [448] = {"process_mrelease", FD},
    [449] = {"futex_waitv", NOFD},
    [450] = {"set_mempolicy_home_node", NOFD},
    [451] = {"cachestat", FD},
    [452] = {"fchmodat2", FD},
    [453] = {"map_shadow_stack", NOFD},
    [454] = {"futex_wake", NOFD},
    [455] = {"futex_wait", NOFD},
    [456] = {"futex_requeue", NOFD},
    [457] = {"statmount", NOFD},
    [458] = {"listmount", NOFD},
    [459] = {"lsm_get_self_attr", NOFD},
    [460] = {"lsm_set_self_attr", NOFD},
    [461] = {"lsm_list_modules", NOFD},
    [462] = {"mseal", NOFD},
    [463] = {"setxattrat", FD},
    [464] = {"getxattrat", FD},
    [465] = {"listxattrat", FD},
    [466] = {"removexattrat", FD},
    [467] = {"open_tree_attr", FD},
    [468] = {"file_getattr", FD},
    [469] = {"file_setattr", FD},
    [470] = {"listns", NOFD},
};
#undef FD
#undef NOFD

/* Names for the numbers the table lacks, so a wait always has a string that
 * outlives the snapshot (a const table, not a buffer inside it). */
#define UNK(n) [n] = "syscall_" #n
#define UNK10(t)                                                                                   \
    UNK(t##0), UNK(t##1), UNK(t##2), UNK(t##3), UNK(t##4), UNK(t##5), UNK(t##6), UNK(t##7),        \
        UNK(t##8), UNK(t##9)
#define UNK100(h)                                                                                  \
    UNK10(h##0), UNK10(h##1), UNK10(h##2), UNK10(h##3), UNK10(h##4), UNK10(h##5), UNK10(h##6),     \
        UNK10(h##7), UNK10(h##8), UNK10(h##9)
static const char *const unknown_names[] = {UNK100(3), UNK100(4), UNK10(50), UNK(510), UNK(511)};
#undef UNK
#undef UNK10
#undef UNK100

struct procstat {
    pid_t pid;
    int dirfd;     /* /proc/PID, -1 when the process was gone at procstat_new */
    unsigned want; /* PS_WANT_*: what each reading reads */
    unsigned ops;  /* procfs lookups of the current reading */
    long clk_tck;
    bool have_prev;
    uint64_t prev_ns, prev_ticks, prev_minflt, prev_majflt, prev_rss;
    struct procstat_io prev_io;
    size_t nprev;
    struct procstat_thread prev[PROCSTAT_MAX_THREADS]; /* sorted by tid */
    uint64_t hist[PROCSTAT_HISTORY];                   /* ring of RSS values */
    size_t hist_head, hist_n;
    unsigned lookups_left; /* socket searches left in this reading */
    pid_t tids[PROCSTAT_MAX_THREADS];
    char netbuf[NET_BUF];
};

/* ------------------------------------------------------------ syscalls */

const char *procstat_syscall_name(long nr)
{
    if (nr < 0 || (unsigned long)nr >= sizeof syscalls / sizeof syscalls[0])
        return NULL;
    return syscalls[nr].name;
}

bool procstat_syscall_takes_fd(long nr)
{
    return procstat_syscall_name(nr) != NULL && syscalls[nr].fd_first;
}

static const char *syscall_label(long nr)
{
    const char *name = procstat_syscall_name(nr);
    if (name)
        return name;
    if (nr >= 0 && (unsigned long)nr < sizeof unknown_names / sizeof unknown_names[0] &&
        unknown_names[nr])
        return unknown_names[nr];
    return "syscall_?";
}

/* ------------------------------------------------------------ parsers */

/* The line "Key:" in text, its value starting after the colon, or NULL. */
static const char *find_key(const char *text, size_t len, const char *key, const char **eol)
{
    size_t klen = strlen(key);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if ((size_t)(e - p) > klen && !memcmp(p, key, klen) && p[klen] == ':') {
            *eol = e;
            return p + klen + 1;
        }
        p = e + 1;
    }
    return NULL;
}

/* Unsigned decimal between p and end after blanks; rejects empty and
 * overflowing numbers and anything but blanks or " kB" after them. */
static int parse_u64_field(const char *p, const char *end, uint64_t *out)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p >= end || !isdigit((unsigned char)*p))
        return -EINVAL;
    uint64_t v = 0;
    for (; p < end && isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    while (p < end && *p == ' ')
        p++;
    if (p < end && !(end - p == 2 && !memcmp(p, "kB", 2)))
        return -EINVAL;
    *out = v;
    return 0;
}

static int key_u64(const char *text, size_t len, const char *key, uint64_t *out)
{
    const char *eol, *v = find_key(text, len, key, &eol);
    return v ? parse_u64_field(v, eol, out) : -ENOENT;
}

/* A "Key: value" field of a procfs file and where it goes in a struct. */
struct u64_field {
    const char *key;
    size_t off;
};

/* Fills the fields of dst named in f[0..n).  Fields from index
 * first_optional on may be missing (left 0).  Returns 0 or -errno. */
static int fill_u64_fields(const char *text, size_t len, const struct u64_field *f, size_t n,
                           size_t first_optional, void *dst)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        int rc = key_u64(text, len, f[i].key, &v);
        if (rc == -ENOENT && i >= first_optional)
            continue;
        if (rc < 0)
            return rc;
        memcpy((char *)dst + f[i].off, &v, sizeof v);
    }
    return 0;
}

int procstat_parse_status(const char *text, size_t len, struct procstat_mem *out)
{
    static const struct u64_field keys[] = {
        {"VmRSS", offsetof(struct procstat_mem, rss_kib)},
        {"RssAnon", offsetof(struct procstat_mem, anon_kib)},
        {"RssFile", offsetof(struct procstat_mem, file_kib)},
        {"RssShmem", offsetof(struct procstat_mem, shmem_kib)},
        {"VmSwap", offsetof(struct procstat_mem, swap_kib)},
        {"VmHWM", offsetof(struct procstat_mem, hwm_kib)},
        {"VmSize", offsetof(struct procstat_mem, vsize_kib)},
    };
    if (!text || !out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    /* Kernel threads and zombies have no Vm lines: VmRSS decides validity;
     * a part missing on an old kernel stays 0. */
    int rc = fill_u64_fields(text, len, keys, sizeof keys / sizeof keys[0], 1, out);
    if (rc < 0)
        return rc;
    out->valid = true;
    return 0;
}

int procstat_parse_io(const char *text, size_t len, struct procstat_io *out)
{
    static const struct u64_field keys[] = {
        {"rchar", offsetof(struct procstat_io, rchar)},
        {"wchar", offsetof(struct procstat_io, wchar)},
        {"syscr", offsetof(struct procstat_io, syscr)},
        {"syscw", offsetof(struct procstat_io, syscw)},
        {"read_bytes", offsetof(struct procstat_io, read_bytes)},
        {"write_bytes", offsetof(struct procstat_io, write_bytes)},
    };
    if (!text || !out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    size_t n = sizeof keys / sizeof keys[0];
    int rc = fill_u64_fields(text, len, keys, n, n, out);
    if (rc < 0) {
        memset(out, 0, sizeof *out);
        return rc == -ENOENT ? -EINVAL : rc;
    }
    out->valid = true;
    return 0;
}

/* "0x" and 1..16 hex digits, then a blank or the end. */
static int take_hex(const char **pp, const char *end, uint64_t *out)
{
    const char *p = *pp;
    while (p < end && *p == ' ')
        p++;
    if (end - p < 3 || p[0] != '0' || p[1] != 'x')
        return -EINVAL;
    p += 2;
    uint64_t v = 0;
    int digits = 0;
    for (; p < end && isxdigit((unsigned char)*p); p++, digits++) {
        int c = tolower((unsigned char)*p);
        v = v << 4 | (uint64_t)(isdigit(c) ? c - '0' : c - 'a' + 10);
    }
    if (digits == 0 || digits > 16 || (p < end && *p != ' '))
        return -EINVAL;
    *pp = p;
    *out = v;
    return 0;
}

/* The leading syscall number: -1 or 0..INT_MAX. */
static int take_nr(const char **pp, const char *end, long *nr)
{
    const char *p = *pp;
    bool neg = p < end && *p == '-';
    p += neg;
    if (p >= end || !isdigit((unsigned char)*p))
        return -EINVAL;
    long v = 0;
    for (; p < end && isdigit((unsigned char)*p); p++) {
        if (v > (INT_MAX - 9) / 10)
            return -ERANGE;
        v = v * 10 + (*p - '0');
    }
    if ((p < end && *p != ' ') || (neg && v != 1))
        return -EINVAL;
    *pp = p;
    *nr = neg ? -1 : v;
    return 0;
}

/* A decimal field and the spaces after it. */
static int take_dec(const char **pp, const char *end, uint64_t *out)
{
    const char *p = *pp;
    uint64_t v = 0;
    if (p >= end || *p < '0' || *p > '9')
        return -EINVAL;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return -ERANGE;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    while (p < end && *p == ' ')
        p++;
    *pp = p;
    *out = v;
    return 0;
}

int procstat_parse_schedstat(const char *text, size_t len, uint64_t *run_ns, uint64_t *wait_ns)
{
    const char *p = text, *end = text + len;
    uint64_t slices;
    int rc = take_dec(&p, end, run_ns);
    if (rc == 0)
        rc = take_dec(&p, end, wait_ns);
    if (rc == 0)
        rc = take_dec(&p, end, &slices);
    if (rc == 0 && p < end && *p != '\n')
        rc = -EINVAL;
    return rc;
}

int procstat_parse_syscall(const char *text, size_t len, long *nr, uint64_t args[6])
{
    uint64_t sp, pc;
    return procstat_parse_syscall_at(text, len, nr, args, &sp, &pc);
}

int procstat_parse_syscall_at(const char *text, size_t len, long *nr, uint64_t args[6],
                              uint64_t *sp, uint64_t *pc)
{
    if (!text || !nr || !args || !sp || !pc)
        return -EINVAL;
    const char *p = text, *end = text + len;
    while (end > p && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\0'))
        end--;
    memset(args, 0, 6 * sizeof args[0]);
    *nr = -1;
    if (end - p == 7 && !memcmp(p, "running", 7))
        return -EAGAIN;
    long n;
    int rc = take_nr(&p, end, &n);
    /* nr >= 0: six arguments, sp, pc; -1 (not in a syscall): sp, pc. */
    uint64_t v[8];
    int want = n >= 0 ? 8 : 2;
    for (int i = 0; rc == 0 && i < want; i++)
        rc = take_hex(&p, end, &v[i]);
    if (rc == 0 && p != end)
        rc = -EINVAL;
    if (rc < 0)
        return rc;
    *nr = n;
    if (n >= 0)
        memcpy(args, v, 6 * sizeof args[0]);
    *sp = v[want - 2];
    *pc = v[want - 1];
    return 0;
}

/* ------------------------------------------------------------ reading files */

/* Reads at most size-1 bytes of dirfd/rel into buf and NUL-terminates it;
 * returns the length or -errno.  O_NONBLOCK: procfs never blocks, but a
 * path that is not what we expect must not either.  whole: the file is one
 * record (stat, io, status, syscall) that the kernel hands over entirely in
 * the first read, so the read that would return 0 is saved (a third of the
 * syscalls per thread); net tables come a page at a time and are looped. */
static ssize_t read_rel(struct procstat *p, const char *rel, char *buf, size_t size, bool whole)
{
    p->ops++;
    int fd = openat(p->dirfd, rel, OPEN_FLAGS);
    if (fd < 0)
        return -errno;
    ssize_t n = readfile_buf(fd, buf, size, whole ? READFILE_ONCE : 0);
    close(fd);
    return n;
}

/* Field 20 of a stat line (num_threads), counted after the last ')'. */
static unsigned stat_num_threads(const char *text, size_t len)
{
    const char *p = text + len;
    while (p > text && p[-1] != ')')
        p--;
    if (p == text)
        return 0;
    const char *end = text + len;
    for (int field = 3; field < 20; field++) {
        while (p < end && *p == ' ')
            p++;
        while (p < end && *p != ' ')
            p++;
    }
    uint64_t v = 0;
    while (p < end && *p == ' ')
        p++;
    const char *e = p;
    while (e < end && isdigit((unsigned char)*e))
        e++;
    if (parse_u64_field(p, e, &v) < 0 || v > UINT_MAX)
        return 0;
    return (unsigned)v;
}

static int read_stat(struct procstat *p, struct proc_stat *st, unsigned *nthreads)
{
    char buf[STAT_BUF];
    ssize_t n = read_rel(p, "stat", buf, sizeof buf, true);
    if (n < 0)
        return (int)n;
    if (n == 0)
        return -ESRCH;
    *nthreads = stat_num_threads(buf, (size_t)n);
    return procfs_parse_stat(buf, (size_t)n, st);
}

static void read_mem(struct procstat *p, struct procstat_mem *mem)
{
    char buf[STATUS_BUF];
    ssize_t n = read_rel(p, "status", buf, sizeof buf, true);
    if (n <= 0 || procstat_parse_status(buf, (size_t)n, mem) < 0)
        memset(mem, 0, sizeof *mem);
}

static void read_io(struct procstat *p, const char *rel, struct procstat_io *io)
{
    char buf[STAT_BUF];
    ssize_t n = read_rel(p, rel, buf, sizeof buf, true);
    if (n <= 0 || procstat_parse_io(buf, (size_t)n, io) < 0)
        memset(io, 0, sizeof *io);
}

/* Open descriptors.  Since Linux 6.2 the size of /proc/PID/fd is the count;
 * before, count entries, stopping at MAX_FDS_COUNTED. */
static unsigned count_fds(struct procstat *p)
{
    struct stat sb;
    p->ops++;
    if (fstatat(p->dirfd, "fd", &sb, 0) == 0 && sb.st_size > 0)
        return sb.st_size > UINT_MAX ? UINT_MAX : (unsigned)sb.st_size;
    p->ops++;
    int fd = openat(p->dirfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    unsigned n = 0;
    struct dirent *e;
    while (n < MAX_FDS_COUNTED && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static size_t list_tids(struct procstat *p)
{
    p->ops++;
    int fd = openat(p->dirfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    size_t n = 0;
    struct dirent *e;
    while (n < PROCSTAT_MAX_THREADS && (e = readdir(d)) != NULL) {
        char *end;
        long v = strtol(e->d_name, &end, 10);
        if (isdigit((unsigned char)e->d_name[0]) && *end == '\0' && v > 0 && v <= INT_MAX)
            p->tids[n++] = (pid_t)v;
    }
    closedir(d);
    return n;
}

/* ------------------------------------------------------------ sockets */

/* "socket:[12345]" -> 12345; 0 for anything else. */
static uint64_t socket_inode(const char *target)
{
    uint64_t ino = 0;
    if (strncmp(target, "socket:[", 8) != 0)
        return 0;
    const char *p = target + 8;
    const char *close_br = strchr(p, ']');
    if (!close_br || close_br[1] != '\0' || parse_u64_field(p, close_br, &ino) < 0)
        return 0;
    return ino;
}

/* Splits a table line into up to max blank-separated fields. */
static int split(const char *p, const char *end, const char **f, size_t *flen, int max)
{
    int n = 0;
    while (n < max) {
        while (p < end && *p == ' ')
            p++;
        if (p >= end)
            break;
        f[n] = p;
        while (p < end && *p != ' ')
            p++;
        flen[n] = (size_t)(p - f[n]);
        n++;
    }
    return n;
}

static bool hex_u32(const char *p, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    if (n == 0 || n > 8)
        return false;
    for (size_t i = 0; i < n; i++) {
        int c = tolower((unsigned char)p[i]);
        if (!isxdigit(c))
            return false;
        v = v << 4 | (uint32_t)(isdigit(c) ? c - '0' : c - 'a' + 10);
    }
    *out = v;
    return true;
}

/* "0100007F:1F90" (v4) or 32 hex digits and a port (v6) -> "127.0.0.1:8080".
 * The kernel prints each 32-bit word of the address as a host-order number,
 * so copying the parsed words back gives the address bytes. */
static bool format_addr(const char *f, size_t len, bool v6, char *out, size_t size)
{
    size_t alen = v6 ? 32 : 8;
    unsigned char bytes[16];
    uint32_t word, port;
    if (len != alen + 5 || f[alen] != ':' || !hex_u32(f + alen + 1, 4, &port))
        return false;
    for (size_t w = 0; w < alen / 8; w++) {
        if (!hex_u32(f + 8 * w, 8, &word))
            return false;
        memcpy(bytes + 4 * w, &word, 4);
    }
    char ip[INET6_ADDRSTRLEN];
    if (!inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, ip, sizeof ip))
        return false;
    return snprintf(out, size, v6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)port) > 0;
}

static bool field_is_inode(const char *f, size_t len, uint64_t ino)
{
    uint64_t v;
    return parse_u64_field(f, f + len, &v) == 0 && v == ino;
}

/* One line of net/tcp, tcp6, udp or udp6: "sl local rem st ... uid timeout inode". */
static bool describe_inet(const char *line, const char *eol, uint64_t ino, const char *proto,
                          bool v6, char *out, size_t size)
{
    const char *f[10];
    size_t fl[10];
    char local[64], remote[64];
    if (split(line, eol, f, fl, 10) < 10 || !field_is_inode(f[9], fl[9], ino))
        return false;
    if (!format_addr(f[1], fl[1], v6, local, sizeof local) ||
        !format_addr(f[2], fl[2], v6, remote, sizeof remote))
        return false;
    bool listen = fl[3] == 2 && !memcmp(f[3], "0A", 2) && !strcmp(proto, "tcp");
    bool connected = !listen && !(fl[2] >= 4 && !memcmp(f[2] + fl[2] - 4, "0000", 4));
    int n =
        snprintf(out, size, "socket:[%" PRIu64 "] %s%s %s%s%s", ino, proto, v6 ? "6" : "", local,
                 listen      ? " listen"
                 : connected ? " -> "
                             : "",
                 connected ? remote : "");
    return n > 0;
}

/* One line of net/unix: "Num RefCount Protocol Flags Type St Inode [Path]". */
static bool describe_unix(const char *line, const char *eol, uint64_t ino, char *out, size_t size)
{
    const char *f[8];
    size_t fl[8];
    int n = split(line, eol, f, fl, 8);
    if (n < 7 || !field_is_inode(f[6], fl[6], ino))
        return false;
    /* The path runs to the end of the line (it may hold blanks). */
    int path_len = n == 8 ? (int)(eol - f[7]) : 0;
    if (path_len > 200)
        path_len = 200;
    return snprintf(out, size, "socket:[%" PRIu64 "] unix%s%.*s", ino, path_len ? " " : "",
                    path_len, n == 8 ? f[7] : "") > 0;
}

static const struct {
    const char *rel, *proto;
    bool v6;
} net_tables[PROCSTAT_NET_NTABLES] = {
    [PROCSTAT_NET_TCP] = {"net/tcp", "tcp", false},
    [PROCSTAT_NET_TCP6] = {"net/tcp6", "tcp", true},
    [PROCSTAT_NET_UDP] = {"net/udp", "udp", false},
    [PROCSTAT_NET_UDP6] = {"net/udp6", "udp", true},
    [PROCSTAT_NET_UNIX] = {"net/unix", "unix", false},
};

bool procstat_net_describe(const char *text, size_t len, int table, uint64_t ino, char *out,
                           size_t size)
{
    if (table < 0 || table >= PROCSTAT_NET_NTABLES)
        return false;
    const char *line = text, *end = text + len;
    /* The first line is the header; a cut last line simply fails to parse. */
    for (line = memchr(line, '\n', len); line && line < end;) {
        line++;
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *eol = nl ? nl : end;
        bool found = table == PROCSTAT_NET_UNIX
                         ? describe_unix(line, eol, ino, out, size)
                         : describe_inet(line, eol, ino, net_tables[table].proto,
                                         net_tables[table].v6, out, size);
        if (found)
            return true;
        line = nl;
    }
    return false;
}

/* Searches one net table (at most NET_BUF of it) for the socket's inode. */
static bool search_table(struct procstat *p, int table, uint64_t ino, char *out, size_t size)
{
    if (table < 0 || table >= PROCSTAT_NET_NTABLES)
        return false;
    ssize_t n = read_rel(p, net_tables[table].rel, p->netbuf, sizeof p->netbuf, false);
    return n > 0 && procstat_net_describe(p->netbuf, (size_t)n, table, ino, out, size);
}

static void describe_socket(struct procstat *p, uint64_t ino, char *out, size_t size)
{
    if (p->lookups_left == 0)
        return;
    p->lookups_left--;
    for (int t = 0; t < PROCSTAT_NET_NTABLES; t++)
        if (search_table(p, t, ino, out, size))
            return;
}

/* ------------------------------------------------------------ threads */

/* What descriptor fd of the target is: a path (its tail when too long),
 * "pipe:[N]", a described socket, "anon_inode:[eventfd]"... */
static void fd_target(struct procstat *p, int fd, char *out, size_t size)
{
    char rel[32], link[LINK_BUF];
    out[0] = '\0';
    snprintf(rel, sizeof rel, "fd/%d", fd);
    p->ops++;
    ssize_t n = readlinkat(p->dirfd, rel, link, sizeof link - 1);
    if (n <= 0)
        return;
    link[n] = '\0';
    size_t len = (size_t)n;
    if (len < size)
        memcpy(out, link, len + 1);
    else /* the file name is at the end: keep that */
        snprintf(out, size, "...%s", link + len - (size - 4));
    uint64_t ino = socket_inode(out);
    if (ino)
        describe_socket(p, ino, out, size);
}

/* A target worth keeping from the previous reading: resolved and not a bare
 * socket whose lookup was put off. */
static bool target_resolved(const char *target)
{
    return target[0] != '\0' && socket_inode(target) == 0;
}

static void thread_wait(struct procstat *p, struct procstat_thread *t,
                        const struct procstat_thread *old, double dt)
{
    struct procstat_wait *w = &t->wait;
    w->fd = -1;
    w->syscall_nr = -1;
    /* A tracer's stop (pertop's own sampler with idle threads) interrupts
     * the call, which restarts after: still the same wait for the user. */
    if ((t->state == 't' || t->state == 'T') && old && old->wait.blocked) {
        *w = old->wait;
        w->blocked_s += dt;
        return;
    }
    if (t->state != 'S' && t->state != 'D')
        return;
    char rel[48], buf[STAT_BUF];
    uint64_t args[6];
    long nr;
    snprintf(rel, sizeof rel, "task/%d/syscall", (int)t->tid);
    ssize_t n = read_rel(p, rel, buf, sizeof buf, true);
    if (n <= 0 || procstat_parse_syscall(buf, (size_t)n, &nr, args) < 0 || nr < 0)
        return;
    w->blocked = true;
    w->syscall_nr = nr;
    w->args[0] = args[0];
    w->args[1] = args[1];
    w->syscall = syscall_label(nr);
    if (procstat_syscall_takes_fd(nr) && args[0] <= INT_MAX)
        w->fd = (int)args[0];
    bool same = old && old->wait.blocked && old->wait.syscall_nr == nr && old->wait.fd == w->fd;
    w->blocked_s = same ? old->wait.blocked_s + dt : 0;
    if (same && target_resolved(old->wait.target))
        memcpy(w->target, old->wait.target, sizeof w->target);
    else if (w->fd >= 0)
        fd_target(p, w->fd, w->target, sizeof w->target);
}

static double rate(uint64_t now, uint64_t before, double dt)
{
    return dt > 0 && now >= before ? (double)(now - before) / dt : 0;
}

static void thread_rates(const struct procstat *p, struct procstat_thread *t,
                         const struct procstat_thread *old, double dt)
{
    if (!old || dt <= 0)
        return;
    t->cpu_pct = 100.0 * rate(t->utime + t->stime, old->utime + old->stime, dt) / p->clk_tck;
    if (!t->io.valid || !old->io.valid)
        return;
    t->read_bps = rate(t->io.rchar, old->io.rchar, dt);
    t->write_bps = rate(t->io.wchar, old->io.wchar, dt);
    t->syscalls_ps = rate(t->io.syscr + t->io.syscw, old->io.syscr + old->io.syscw, dt);
}

static int cmp_tid(const void *a, const void *b)
{
    pid_t x = ((const struct procstat_thread *)a)->tid;
    pid_t y = ((const struct procstat_thread *)b)->tid;
    return (x > y) - (x < y);
}

static const struct procstat_thread *prev_thread(const struct procstat *p, pid_t tid)
{
    struct procstat_thread key = {.tid = tid};
    return bsearch(&key, p->prev, p->nprev, sizeof p->prev[0], cmp_tid);
}

/* stat and io of one thread; false when it is gone. */
static bool read_thread(struct procstat *p, pid_t tid, struct procstat_thread *t)
{
    char rel[48], buf[STAT_BUF];
    struct proc_stat st;
    snprintf(rel, sizeof rel, "task/%d/stat", (int)tid);
    ssize_t n = read_rel(p, rel, buf, sizeof buf, true);
    if (n <= 0 || procfs_parse_stat(buf, (size_t)n, &st) < 0)
        return false;
    memset(t, 0, sizeof *t);
    t->tid = tid;
    memcpy(t->name, st.comm, sizeof t->name);
    t->state = st.state;
    t->utime = st.utime;
    t->stime = st.stime;
    if (p->want & PS_WANT_THREAD_IO) {
        snprintf(rel, sizeof rel, "task/%d/io", (int)tid);
        read_io(p, rel, &t->io);
    }
    snprintf(rel, sizeof rel, "task/%d/schedstat", (int)tid);
    n = read_rel(p, rel, buf, sizeof buf, true);
    t->sched_valid =
        n > 0 && procstat_parse_schedstat(buf, (size_t)n, &t->sched_run_ns, &t->sched_wait_ns) == 0;
    return true;
}

static void read_threads(struct procstat *p, struct procstat_snapshot *out, double dt)
{
    size_t ntids = list_tids(p), n = 0;
    for (size_t i = 0; i < ntids; i++)
        n += read_thread(p, p->tids[i], &out->threads[n]);
    qsort(out->threads, n, sizeof out->threads[0], cmp_tid);
    out->nthread_rows = n;
    for (size_t i = 0; i < n; i++) {
        struct procstat_thread *t = &out->threads[i];
        const struct procstat_thread *old = prev_thread(p, t->tid);
        t->wait.fd = -1; /* not measured reads as not blocked on anything */
        t->wait.syscall_nr = -1;
        if (p->want & PS_WANT_WAITS)
            thread_wait(p, t, old, dt);
        thread_rates(p, t, old, dt);
    }
}

/* ------------------------------------------------------------ the reading */

static void history_push(struct procstat *p, uint64_t rss)
{
    p->hist[(p->hist_head + p->hist_n) % PROCSTAT_HISTORY] = rss;
    if (p->hist_n < PROCSTAT_HISTORY)
        p->hist_n++;
    else
        p->hist_head = (p->hist_head + 1) % PROCSTAT_HISTORY;
}

static void history_copy(const struct procstat *p, struct procstat_snapshot *out)
{
    for (size_t i = 0; i < p->hist_n; i++)
        out->rss_history_kib[i] = p->hist[(p->hist_head + i) % PROCSTAT_HISTORY];
    out->nhistory = p->hist_n;
}

static bool is_dead_state(char s)
{
    return s == 'Z' || s == 'X' || s == 'x';
}

/* Process-wide rates against the previous reading. */
static void process_rates(const struct procstat *p, struct procstat_snapshot *out,
                          const struct proc_stat *st, double dt)
{
    if (!p->have_prev || dt <= 0)
        return;
    out->interval_s = dt;
    if (p->want & PS_WANT_CPU) {
        out->cpu_pct = 100.0 * rate(st->utime + st->stime, p->prev_ticks, dt) / p->clk_tck;
        out->minflt_ps = rate(st->minflt, p->prev_minflt, dt);
        out->majflt_ps = rate(st->majflt, p->prev_majflt, dt);
    }
    if (out->mem.valid && p->prev_rss)
        out->rss_growth_kib_s = ((double)out->mem.rss_kib - (double)p->prev_rss) / dt;
    const struct procstat_io *a = &out->io, *b = &p->prev_io;
    if (!a->valid || !b->valid)
        return;
    out->read_bps = rate(a->rchar, b->rchar, dt);
    out->write_bps = rate(a->wchar, b->wchar, dt);
    out->disk_read_bps = rate(a->read_bytes, b->read_bytes, dt);
    out->disk_write_bps = rate(a->write_bytes, b->write_bytes, dt);
    out->syscr_ps = rate(a->syscr, b->syscr, dt);
    out->syscw_ps = rate(a->syscw, b->syscw, dt);
}

static void remember(struct procstat *p, const struct procstat_snapshot *out,
                     const struct proc_stat *st)
{
    p->have_prev = true;
    p->prev_ns = out->time_ns;
    p->prev_ticks = st->utime + st->stime;
    p->prev_minflt = st->minflt;
    p->prev_majflt = st->majflt;
    p->prev_rss = out->mem.valid ? out->mem.rss_kib : 0;
    p->prev_io = out->io;
    p->nprev = out->nthread_rows;
    memcpy(p->prev, out->threads, p->nprev * sizeof p->prev[0]);
}

/* Whether the process is alive: its leader is not a zombie, or, for a
 * leader that called pthread_exit (a zombie while its threads run), one of
 * its threads is not.  Without the thread rows, stat's thread count says
 * so: a zombie leader still counts itself until the last thread exits. */
static bool is_alive(const struct procstat *p, const struct procstat_snapshot *out,
                     const struct proc_stat *st)
{
    if (!is_dead_state(st->state))
        return true;
    if (!(p->want & PS_WANT_THREADS))
        return out->nthreads > 1;
    for (size_t i = 0; i < out->nthread_rows; i++)
        if (!is_dead_state(out->threads[i].state))
            return true;
    return false;
}

/* The files of the wanted groups; stat was read already. */
static void read_wanted(struct procstat *p, struct procstat_snapshot *out, double dt)
{
    if (p->want & PS_WANT_MEM)
        read_mem(p, &out->mem);
    if (p->want & PS_WANT_IO)
        read_io(p, "io", &out->io);
    if (p->want & PS_WANT_FDS)
        out->nfds = count_fds(p);
    if (p->want & PS_WANT_THREADS)
        read_threads(p, out, dt);
}

int procstat_read(struct procstat *p, struct procstat_snapshot *out)
{
    if (!p || !out)
        return -EINVAL;
    memset(out, 0, offsetof(struct procstat_snapshot, threads));
    out->time_ns = clock_mono_ns();
    out->nhistory = 0;
    double dt = p->have_prev ? (double)(out->time_ns - p->prev_ns) / 1e9 : 0;
    p->lookups_left = SOCKET_LOOKUPS;
    p->ops = 0;

    struct proc_stat st;
    if (p->dirfd < 0 || read_stat(p, &st, &out->nthreads) < 0) {
        history_copy(p, out); /* gone: the graph stays, every number is 0 */
        out->procfs_ops = p->ops;
        return 0;
    }
    read_wanted(p, out, dt);
    out->alive = is_alive(p, out, &st);
    process_rates(p, out, &st, dt);
    if (out->mem.valid)
        history_push(p, out->mem.rss_kib);
    history_copy(p, out);
    remember(p, out, &st);
    out->measured = p->want;
    out->procfs_ops = p->ops;
    return 0;
}

struct procstat *procstat_new_want(pid_t pid, unsigned want)
{
    if (pid <= 0 || (want & ~(unsigned)PS_WANT_ALL)) {
        errno = EINVAL;
        return NULL;
    }
    struct procstat *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    char path[32];
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    p->pid = pid;
    /* a thread's wait is shown on its row: no rows, no waits */
    p->want = want & (PS_WANT_WAITS | PS_WANT_THREAD_IO) ? want | PS_WANT_THREADS : want;
    p->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    long tck = sysconf(_SC_CLK_TCK);
    p->clk_tck = tck > 0 ? tck : 100;
    return p;
}

struct procstat *procstat_new(pid_t pid)
{
    return procstat_new_want(pid, PS_WANT_ALL);
}

void procstat_free(struct procstat *p)
{
    if (!p)
        return;
    if (p->dirfd >= 0)
        close(p->dirfd);
    free(p);
}
