/*
 * test_procstat.c - the procfs numbers of the live screen.
 *
 * Parsers on real-looking and broken text; the x86_64 syscall table; then
 * live readings: of the memio fixture (memory and I/O at known rates, a
 * thread blocked on a pipe, one in accept() on 127.0.0.1), of this process
 * (threads blocked on a unix and a UDP socket), of processes that are gone,
 * and the time one reading of a 1000-thread process takes.
 *
 * FIXTURE_DIR is set by make; without it the fixture is compiled from the
 * source next to this file into /tmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sampler/proc/procstat.h"

#define KIB 1024.0
#define MIB (1024.0 * 1024.0)

/* ------------------------------------------------------------ parsers */

static const char STATUS_TEXT[] = "Name:\tmemio\n"
                                  "Umask:\t0022\n"
                                  "State:\tS (sleeping)\n"
                                  "Tgid:\t4242\n"
                                  "Pid:\t4242\n"
                                  "PPid:\t77\n"
                                  "TracerPid:\t0\n"
                                  "FDSize:\t64\n"
                                  "VmPeak:\t  289012 kB\n"
                                  "VmSize:\t  288996 kB\n"
                                  "VmLck:\t       0 kB\n"
                                  "VmPin:\t       0 kB\n"
                                  "VmHWM:\t   12345 kB\n"
                                  "VmRSS:\t   11804 kB\n"
                                  "RssAnon:\t   10388 kB\n"
                                  "RssFile:\t    1400 kB\n"
                                  "RssShmem:\t      16 kB\n"
                                  "VmData:\t  270432 kB\n"
                                  "VmStk:\t     132 kB\n"
                                  "VmExe:\t       8 kB\n"
                                  "VmLib:\t    1764 kB\n"
                                  "VmPTE:\t      92 kB\n"
                                  "VmSwap:\t     512 kB\n"
                                  "HugetlbPages:\t       0 kB\n"
                                  "Threads:\t3\n"
                                  "voluntary_ctxt_switches:\t150\n";

static void test_parse_status(void **state)
{
    (void)state;
    struct procstat_mem m;
    assert_int_equal(procstat_parse_status(STATUS_TEXT, strlen(STATUS_TEXT), &m), 0);
    assert_true(m.valid);
    assert_int_equal(m.rss_kib, 11804);
    assert_int_equal(m.anon_kib, 10388);
    assert_int_equal(m.file_kib, 1400);
    assert_int_equal(m.shmem_kib, 16);
    assert_int_equal(m.swap_kib, 512);
    assert_int_equal(m.hwm_kib, 12345);
    assert_int_equal(m.vsize_kib, 288996);
}

static void test_parse_status_broken(void **state)
{
    (void)state;
    struct procstat_mem m;
    /* A kernel thread or a zombie: no Vm lines at all. */
    const char *kthread = "Name:\tkworker/0:1\nState:\tI (idle)\nTgid:\t12\nThreads:\t1\n";
    assert_int_equal(procstat_parse_status(kthread, strlen(kthread), &m), -ENOENT);
    assert_false(m.valid);

    const char *garbage = "VmRSS:\t  12x4 kB\n";
    assert_int_equal(procstat_parse_status(garbage, strlen(garbage), &m), -EINVAL);
    assert_false(m.valid);
    const char *huge = "VmRSS:\t99999999999999999999999 kB\n";
    assert_int_equal(procstat_parse_status(huge, strlen(huge), &m), -ERANGE);
    const char *empty = "VmRSS:\t\n";
    assert_int_equal(procstat_parse_status(empty, strlen(empty), &m), -EINVAL);
    /* "VmRSSx:" is another key, not VmRSS. */
    const char *other = "VmRSSx:\t5 kB\n";
    assert_int_equal(procstat_parse_status(other, strlen(other), &m), -ENOENT);

    /* Cut short after VmRSS (the task died mid-read): what is there counts,
     * and nothing past len is looked at. */
    const char *cut = strstr(STATUS_TEXT, "RssAnon");
    assert_int_equal(procstat_parse_status(STATUS_TEXT, (size_t)(cut - STATUS_TEXT), &m), 0);
    assert_int_equal(m.rss_kib, 11804);
    assert_int_equal(m.anon_kib, 0);
    assert_int_equal(m.hwm_kib, 12345);
    /* Cut inside the VmRSS number: "  118" parses as 118, the len is obeyed. */
    const char *rss = strstr(STATUS_TEXT, "VmRSS");
    assert_int_equal(procstat_parse_status(STATUS_TEXT, (size_t)(rss - STATUS_TEXT) + 13, &m), 0);
    assert_int_equal(m.rss_kib, 118);
}

static const char IO_TEXT[] = "rchar: 1048576\n"
                              "wchar: 2097152\n"
                              "syscr: 16\n"
                              "syscw: 32\n"
                              "read_bytes: 4096\n"
                              "write_bytes: 8192\n"
                              "cancelled_write_bytes: 0\n";

static void test_parse_io(void **state)
{
    (void)state;
    struct procstat_io io;
    assert_int_equal(procstat_parse_io(IO_TEXT, strlen(IO_TEXT), &io), 0);
    assert_true(io.valid);
    assert_int_equal(io.rchar, 1048576);
    assert_int_equal(io.wchar, 2097152);
    assert_int_equal(io.syscr, 16);
    assert_int_equal(io.syscw, 32);
    assert_int_equal(io.read_bytes, 4096);
    assert_int_equal(io.write_bytes, 8192);

    /* Missing counters, garbage, empty: not valid, all zero. */
    const char *part = "rchar: 1\nwchar: 2\n";
    assert_int_equal(procstat_parse_io(part, strlen(part), &io), -EINVAL);
    assert_false(io.valid);
    assert_int_equal(io.rchar, 0);
    char bad[sizeof IO_TEXT];
    memcpy(bad, IO_TEXT, sizeof bad);
    bad[strlen("rchar: 10")] = 'z';
    assert_int_equal(procstat_parse_io(bad, strlen(bad), &io), -EINVAL);
    assert_false(io.valid);
    assert_int_equal(procstat_parse_io("", 0, &io), -EINVAL);
    /* Cut before write_bytes. */
    size_t cut = (size_t)(strstr(IO_TEXT, "write_bytes") - IO_TEXT);
    assert_int_equal(procstat_parse_io(IO_TEXT, cut, &io), -EINVAL);
}

static int parse_sc(const char *s, long *nr, uint64_t args[6])
{
    return procstat_parse_syscall(s, strlen(s), nr, args);
}

static void test_parse_syscall(void **state)
{
    (void)state;
    long nr = 99;
    uint64_t a[6];
    assert_int_equal(parse_sc("0 0x5 0x7ffd1234 0x1 0x0 0x0 0x0 0x7ffd0000 0x7f00aa\n", &nr, a), 0);
    assert_int_equal(nr, 0);
    assert_int_equal(a[0], 5);
    assert_int_equal(a[1], 0x7ffd1234);
    assert_int_equal(a[2], 1);
    /* AT_FDCWD as the kernel prints it: the whole register. */
    assert_int_equal(parse_sc("257 0xffffffffffffff9c 0x1 0x2 0x3 0x4 0x5 0x6 0x7", &nr, a), 0);
    assert_int_equal(nr, 257);
    assert_true(a[0] == 0xffffffffffffff9cull);
    assert_int_equal(a[5], 5);

    /* Blocked, but not in a system call (e.g. a page fault). */
    nr = 7;
    assert_int_equal(parse_sc("-1 0x7ffd0000 0x401000\n", &nr, a), 0);
    assert_int_equal(nr, -1);
    assert_int_equal(a[0], 0);

    /* The stack pointer and program counter, in and outside a call. */
    uint64_t sp = 0, pc = 0;
    const char *in = "0 0x5 0x7ffd1234 0x1 0x0 0x0 0x0 0x7ffd0000 0x7f00aa\n";
    assert_int_equal(procstat_parse_syscall_at(in, strlen(in), &nr, a, &sp, &pc), 0);
    assert_true(sp == 0x7ffd0000 && pc == 0x7f00aa);
    const char *out = "-1 0x7ffc0000 0x401000";
    assert_int_equal(procstat_parse_syscall_at(out, strlen(out), &nr, a, &sp, &pc), 0);
    assert_true(sp == 0x7ffc0000 && pc == 0x401000);

    nr = 7;
    assert_int_equal(parse_sc("running\n", &nr, a), -EAGAIN);
    assert_int_equal(nr, -1);
    assert_int_equal(parse_sc("running", &nr, a), -EAGAIN);

    const char *bad[] = {
        "",
        "\n",
        "runningx\n",
        "abc 0x1 0x2\n",
        "0 0x5 0x1 0x1\n",                                     /* too few fields */
        "0 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8 0x9\n",             /* too many */
        "0 5 1 1 0 0 0 1 2\n",                                 /* no 0x */
        "0 0x 0x1 0x1 0x0 0x0 0x0 0x1 0x2\n",                  /* no digits */
        "0 0x12345678901234567 0x1 0x1 0x0 0x0 0x0 0x1 0x2\n", /* 17 digits */
        "0 0x5g 0x1 0x1 0x0 0x0 0x0 0x1 0x2\n",
        "-2 0x1 0x2\n",
        "-1 0x1\n",
        "99999999999999999999 0x1 0x1 0x1 0x0 0x0 0x0 0x1 0x2\n",
        "1x 0x1 0x1 0x1 0x0 0x0 0x0 0x1 0x2\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nr = 7;
        int rc = parse_sc(bad[i], &nr, a);
        if (rc >= 0)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(nr, -1);
    }
    /* Not NUL-terminated: the length is obeyed. */
    const char text[] = "1 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8 trailing";
    assert_int_equal(procstat_parse_syscall(text, strlen(text) - 9, &nr, a), 0);
    assert_int_equal(nr, 1);
}

static void test_syscall_table(void **state)
{
    (void)state;
    static const struct {
        long nr;
        const char *name;
        bool fd;
    } want[] = {
        {0, "read", true},
        {1, "write", true},
        {3, "close", true},
        {7, "poll", false},
        {17, "pread64", true},
        {20, "writev", true},
        {23, "select", false},
        {35, "nanosleep", false},
        {42, "connect", true},
        {43, "accept", true},
        {45, "recvfrom", true},
        {47, "recvmsg", true},
        {61, "wait4", false},
        {72, "fcntl", true},
        {73, "flock", true},
        {74, "fsync", true},
        {75, "fdatasync", true},
        {16, "ioctl", true},
        {8, "lseek", true},
        {202, "futex", false},
        {217, "getdents64", true},
        {230, "clock_nanosleep", false},
        {232, "epoll_wait", true},
        {270, "pselect6", false},
        {271, "ppoll", false},
        {281, "epoll_pwait", true},
        {288, "accept4", true},
        {334, "rseq", false},
        {424, "pidfd_send_signal", true},
        {435, "clone3", false},
        {441, "epoll_pwait2", true},
        {450, "set_mempolicy_home_node", false},
        {455, "futex_wait", false},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *name = procstat_syscall_name(want[i].nr);
        if (!name || strcmp(name, want[i].name))
            fail_msg("%ld: want %s, got %s", want[i].nr, want[i].name, name ? name : "NULL");
        if (procstat_syscall_takes_fd(want[i].nr) != want[i].fd)
            fail_msg("%s: takes_fd should be %d", want[i].name, want[i].fd);
    }
    /* Every number of both ranges is named. */
    for (long nr = 0; nr <= 334; nr++)
        assert_non_null(procstat_syscall_name(nr));
    for (long nr = 424; nr <= 450; nr++)
        assert_non_null(procstat_syscall_name(nr));
    assert_null(procstat_syscall_name(-1));
    assert_null(procstat_syscall_name(335));
    assert_null(procstat_syscall_name(400));
    assert_null(procstat_syscall_name(100000));
    assert_false(procstat_syscall_takes_fd(-1));
    assert_false(procstat_syscall_takes_fd(400));
    assert_false(procstat_syscall_takes_fd(1L << 40));
}

/* ------------------------------------------------------------ helpers */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static const char *memio_path(void)
{
#ifdef FIXTURE_DIR
    return FIXTURE_DIR "/memio";
#else
    /* Built by hand: compile the fixture next to this source into /tmp. */
    static char path[64];
    char src[512], cmd[1024];
    const char *slash = strrchr(__FILE__, '/');
    snprintf(src, sizeof src, "%.*sfixtures/memio.c", slash ? (int)(slash - __FILE__ + 1) : 0,
             __FILE__);
    snprintf(path, sizeof path, "/tmp/pertop-memio-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "cc -O2 -g -pthread -o %s %s", path, src);
    if (access(src, R_OK) != 0 || system(cmd) != 0)
        return NULL;
    return path;
#endif
}

/* Starts memio with its stdout on a pipe and waits for "ready PID". */
static pid_t spawn_memio(const char *seconds, const char *threads)
{
    const char *path = memio_path();
    if (!path || access(path, X_OK) != 0)
        return -1;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(path, path, "--seconds", seconds, "--threads", threads, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[64] = "";
    ssize_t n = read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    int ready = 0;
    if (n <= 0 || sscanf(line, "ready %d", &ready) != 1 || ready != pid) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("memio did not start: \"%s\"", line);
    }
#ifndef FIXTURE_DIR
    unlink(path); /* the copy built for this run */
#endif
    return pid;
}

static void stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static const struct procstat_thread *thread_named(const struct procstat_snapshot *s,
                                                  const char *name)
{
    for (size_t i = 0; i < s->nthread_rows; i++)
        if (!strcmp(s->threads[i].name, name))
            return &s->threads[i];
    return NULL;
}

static struct procstat_snapshot *new_snap(void)
{
    struct procstat_snapshot *s = malloc(sizeof *s);
    assert_non_null(s);
    return s;
}

/* ------------------------------------------------------------ memio */

static void assert_waits(const struct procstat_snapshot *s)
{
    const struct procstat_thread *b = thread_named(s, "blocker");
    const struct procstat_thread *n = thread_named(s, "netwait");
    assert_non_null(b);
    assert_non_null(n);
    assert_true(b->wait.blocked);
    assert_string_equal(b->wait.syscall, "read");
    assert_true(b->wait.fd >= 0);
    if (strncmp(b->wait.target, "pipe:[", 6) != 0)
        fail_msg("blocker's target: \"%s\"", b->wait.target);
    assert_true(n->wait.blocked);
    if (strcmp(n->wait.syscall, "accept") && strcmp(n->wait.syscall, "accept4"))
        fail_msg("netwait's syscall: %s", n->wait.syscall);
    if (strncmp(n->wait.target, "socket:[", 8) || !strstr(n->wait.target, " tcp 127.0.0.1:") ||
        !strstr(n->wait.target, "listen"))
        fail_msg("netwait's target: \"%s\"", n->wait.target);
}

static void test_memio_live(void **state)
{
    (void)state;
    pid_t pid = spawn_memio("30", "0");
    if (pid < 0)
        skip();
    struct procstat *p = procstat_new(pid);
    assert_non_null(p);
    struct procstat_snapshot *a = new_snap(), *b = new_snap();
    sleep_ms(300); /* let the threads reach their blocking calls */
    assert_int_equal(procstat_read(p, a), 0);
    sleep_ms(2000);
    assert_int_equal(procstat_read(p, b), 0);

    assert_true(a->alive && b->alive);
    assert_true(a->interval_s == 0);
    assert_true(b->interval_s > 1.9 && b->interval_s < 3);
    assert_int_equal(b->nthreads, 3);
    assert_int_equal(b->nthread_rows, 3);
    assert_int_equal(b->threads[0].tid, pid); /* sorted by tid: the leader first */
    assert_true(b->nfds >= 6);                /* 0-2, file, socket, pipe x2 */

    /* Memory: 2 MiB/s designed; the RSS delta and the reported rate agree. */
    assert_true(a->mem.valid && b->mem.valid);
    double growth = ((double)b->mem.rss_kib - (double)a->mem.rss_kib) / b->interval_s;
    print_message("rss %" PRIu64 " -> %" PRIu64 " KiB: %.0f KiB/s (reported %.0f), anon %" PRIu64
                  " KiB, hwm %" PRIu64 " KiB\n",
                  a->mem.rss_kib, b->mem.rss_kib, growth, b->rss_growth_kib_s, b->mem.anon_kib,
                  b->mem.hwm_kib);
    assert_true(growth > 1024 && growth < 4096);
    assert_true(b->rss_growth_kib_s > 1024 && b->rss_growth_kib_s < 4096);
    assert_true(b->mem.anon_kib > a->mem.anon_kib + 2048);
    assert_true(b->mem.hwm_kib >= b->mem.rss_kib);
    assert_true(b->mem.vsize_kib > 256 * 1024); /* the reserved region */
    assert_true(b->minflt_ps > 256);            /* 512 new pages a second */

    /* I/O: 1 MiB/s written and read back, in 64 KiB calls. */
    assert_true(b->io.valid);
    print_message("write %.0f B/s, read %.0f B/s, syscw %.1f/s, cpu %.1f%%\n", b->write_bps,
                  b->read_bps, b->syscw_ps, b->cpu_pct);
    assert_true(b->write_bps > MIB / 3 && b->write_bps < 3 * MIB);
    assert_true(b->read_bps > MIB / 3 && b->read_bps < 3 * MIB);
    assert_true(b->syscw_ps > 4 && b->syscw_ps < 64);
    assert_true(b->cpu_pct >= 0 && b->cpu_pct < 100);
    const struct procstat_thread *main_t = &b->threads[0];
    assert_true(main_t->io.valid);
    assert_true(main_t->write_bps > MIB / 3 && main_t->write_bps < 3 * MIB);
    assert_true(main_t->syscalls_ps > 8);

    /* Waits, and their age growing by the interval. */
    assert_waits(a);
    assert_waits(b);
    const struct procstat_thread *b0 = thread_named(a, "blocker");
    const struct procstat_thread *b1 = thread_named(b, "blocker");
    assert_string_equal(b0->wait.target, b1->wait.target);
    assert_true(b0->wait.blocked_s >= 0 && b0->wait.blocked_s < 0.5);
    assert_true(b1->wait.blocked_s >= b0->wait.blocked_s + 1.9);
    assert_true(thread_named(b, "netwait")->wait.blocked_s >= 1.9);
    print_message("blocker: %s fd %d %s %.1f s; netwait: %s %s\n", b1->wait.syscall, b1->wait.fd,
                  b1->wait.target, b1->wait.blocked_s, thread_named(b, "netwait")->wait.syscall,
                  thread_named(b, "netwait")->wait.target);

    /* RSS history: one entry per reading, oldest first. */
    assert_int_equal(a->nhistory, 1);
    assert_int_equal(b->nhistory, 2);
    assert_int_equal(b->rss_history_kib[0], a->mem.rss_kib);
    assert_int_equal(b->rss_history_kib[1], b->mem.rss_kib);

    /* Stopped (as by a tracer): the waits carry on, their age too. */
    kill(pid, SIGSTOP);
    sleep_ms(300);
    assert_int_equal(procstat_read(p, a), 0);
    kill(pid, SIGCONT);
    const struct procstat_thread *bs = thread_named(a, "blocker");
    assert_non_null(bs);
    assert_int_equal(bs->state, 'T');
    assert_true(bs->wait.blocked);
    assert_string_equal(bs->wait.syscall, "read");
    assert_true(bs->wait.blocked_s > b1->wait.blocked_s);

    procstat_free(p);
    free(a);
    free(b);
    stop(pid);
}

static void test_history_is_bounded(void **state)
{
    (void)state;
    struct procstat *p = procstat_new(getpid());
    assert_non_null(p);
    struct procstat_snapshot *s = new_snap();
    for (int i = 0; i < PROCSTAT_HISTORY + 5; i++)
        assert_int_equal(procstat_read(p, s), 0);
    assert_true(s->alive);
    assert_int_equal(s->nhistory, PROCSTAT_HISTORY);
    assert_int_equal(s->rss_history_kib[PROCSTAT_HISTORY - 1], s->mem.rss_kib);
    procstat_free(p);
    free(s);
}

/* ------------------------------------------------------------ this process */

struct sockwait {
    int fd;
    const char *name;
    bool use_recv;
};

static void *sock_waiter(void *arg)
{
    struct sockwait *w = arg;
    char c;
    pthread_setname_np(pthread_self(), w->name);
    if (w->use_recv)
        recvfrom(w->fd, &c, 1, 0, NULL, NULL);
    else
        accept(w->fd, NULL, NULL);
    return NULL;
}

/* Unix and UDP sockets, described from this process's own net tables. */
static void test_socket_targets(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/pertop-ps-%d.sock", (int)getpid());
    unlink(path);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    memcpy(un.sun_path, path, strlen(path) + 1);
    int ufd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(ufd, (struct sockaddr *)&un, sizeof un), 0);
    assert_int_equal(listen(ufd, 1), 0);
    struct sockaddr_in in = {.sin_family = AF_INET};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int dfd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_int_equal(bind(dfd, (struct sockaddr *)&in, sizeof in), 0);

    struct sockwait wu = {ufd, "unixwait", false}, wd = {dfd, "udpwait", true};
    pthread_t tu, td;
    assert_int_equal(pthread_create(&tu, NULL, sock_waiter, &wu), 0);
    assert_int_equal(pthread_create(&td, NULL, sock_waiter, &wd), 0);
    sleep_ms(200);

    struct procstat *p = procstat_new(getpid());
    struct procstat_snapshot *s = new_snap();
    assert_int_equal(procstat_read(p, s), 0);
    const struct procstat_thread *u = thread_named(s, "unixwait");
    const struct procstat_thread *d = thread_named(s, "udpwait");
    assert_non_null(u);
    assert_non_null(d);
    print_message("%s: %s\n%s: %s\n", u->wait.syscall, u->wait.target, d->wait.syscall,
                  d->wait.target);
    assert_true(u->wait.blocked);
    assert_int_equal(u->wait.fd, ufd);
    char want[128];
    snprintf(want, sizeof want, " unix %s", path);
    if (strncmp(u->wait.target, "socket:[", 8) || !strstr(u->wait.target, want))
        fail_msg("unix target: \"%s\"", u->wait.target);
    assert_true(d->wait.blocked);
    assert_string_equal(d->wait.syscall, "recvfrom");
    if (strncmp(d->wait.target, "socket:[", 8) || !strstr(d->wait.target, " udp 127.0.0.1:"))
        fail_msg("udp target: \"%s\"", d->wait.target);

    /* Wake both: a connection for accept, a datagram for recvfrom. */
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&un, sizeof un), 0);
    socklen_t len = sizeof in;
    assert_int_equal(getsockname(dfd, (struct sockaddr *)&in, &len), 0);
    assert_int_equal(sendto(dfd, "x", 1, 0, (struct sockaddr *)&in, len), 1);
    pthread_join(tu, NULL);
    pthread_join(td, NULL);
    close(c);
    close(ufd);
    close(dfd);
    unlink(path);
    procstat_free(p);
    free(s);
}

/* ------------------------------------------------------------ gone */

static void test_exited_process(void **state)
{
    (void)state;
    struct procstat_snapshot *s = new_snap();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    struct procstat *p = procstat_new(pid);
    assert_non_null(p);
    assert_int_equal(procstat_read(p, s), 0);
    assert_true(s->alive);
    assert_int_equal(s->nthread_rows, 1);

    /* A zombie is gone for the user. */
    kill(pid, SIGKILL);
    siginfo_t si;
    assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0); /* not reaped */
    assert_int_equal(procstat_read(p, s), 0);
    assert_false(s->alive);

    /* Reaped: the files vanish; the history stays. */
    waitpid(pid, NULL, 0);
    assert_int_equal(procstat_read(p, s), 0);
    assert_false(s->alive);
    assert_int_equal(s->nthread_rows, 0);
    assert_int_equal(s->nhistory, 1);
    assert_true(s->cpu_pct == 0);
    procstat_free(p);

    /* Never there (or already gone before procstat_new). */
    p = procstat_new(pid);
    assert_non_null(p);
    assert_int_equal(procstat_read(p, s), 0);
    assert_false(s->alive);
    assert_int_equal(s->nhistory, 0);
    procstat_free(p);

    assert_null(procstat_new(0));
    assert_int_equal(procstat_read(NULL, s), -EINVAL);
    procstat_free(NULL);
    free(s);
}

/* ------------------------------------------------------------ wanted groups */

#define CPU_MEM_IO (PS_WANT_CPU | PS_WANT_MEM | PS_WANT_IO)

/* What the run figures read: the process's CPU, memory and I/O from three
 * files (stat, status, io), and nothing per thread: no task's stat, no
 * sleeper's syscall, no descriptor link or net table behind its wait. */
static void test_want_cpu_mem_io(void **state)
{
    (void)state;
    pid_t pid = spawn_memio("30", "0");
    if (pid < 0)
        skip();
    struct procstat *all = procstat_new(pid), *few = procstat_new_want(pid, CPU_MEM_IO);
    assert_non_null(all);
    assert_non_null(few);
    struct procstat_snapshot *s = new_snap(), *a = new_snap(), *b = new_snap();
    sleep_ms(300); /* let the threads reach their blocking calls */
    assert_int_equal(procstat_read(all, s), 0);
    assert_int_equal(procstat_read(few, a), 0);
    sleep_ms(2000);
    assert_int_equal(procstat_read(few, b), 0);

    /* The full reading, for comparison: rows and their waits, and at least
     * stat, status, io, fd, task/, two files per thread, the sleepers'
     * syscall files and their descriptors' links. */
    assert_int_equal(s->measured, PS_WANT_ALL);
    assert_int_equal(s->nthread_rows, 3);
    assert_waits(s);
    print_message("lookups per reading: all %u, cpu|mem|io %u\n", s->procfs_ops, b->procfs_ops);
    assert_true(s->procfs_ops >= 5 + 3 * 2 + 2 + 2);

    /* CPU|MEM|IO: exactly the three files, whatever the threads do. */
    assert_int_equal(a->procfs_ops, 3);
    assert_int_equal(b->procfs_ops, 3);
    assert_int_equal(b->measured, CPU_MEM_IO);
    assert_true(b->alive);
    assert_int_equal(b->nthreads, 3); /* from stat, read always */
    assert_int_equal(b->nthread_rows, 0);
    assert_int_equal(b->nfds, 0); /* not wanted */
    assert_null(thread_named(b, "blocker"));

    /* ...and still CPU, RSS and I/O, with their rates. */
    assert_true(b->interval_s > 1.9 && b->interval_s < 3);
    assert_true(b->cpu_pct >= 0 && b->cpu_pct < 100);
    assert_true(b->minflt_ps > 256); /* 512 new pages a second */
    assert_true(a->mem.valid && b->mem.valid);
    assert_true(b->mem.rss_kib > a->mem.rss_kib + 2048);
    assert_true(b->rss_growth_kib_s > 1024 && b->rss_growth_kib_s < 4096);
    assert_int_equal(b->nhistory, 2);
    assert_int_equal(b->rss_history_kib[1], b->mem.rss_kib);
    assert_true(b->io.valid);
    assert_true(b->io.wchar > a->io.wchar);
    assert_true(b->write_bps > MIB / 3 && b->write_bps < 3 * MIB);
    assert_true(b->read_bps > MIB / 3 && b->read_bps < 3 * MIB);

    procstat_free(all);
    procstat_free(few);
    free(s);
    free(a);
    free(b);
    stop(pid);
}

/* Each group alone reads its files and fills its fields; the rest stay 0. */
static void test_want_each_group(void **state)
{
    (void)state;
    pid_t pid = spawn_memio("30", "0");
    if (pid < 0)
        skip();
    struct procstat_snapshot *s = new_snap();
    sleep_ms(300);

    /* nothing but stat: alive and the thread count */
    struct procstat *p = procstat_new_want(pid, 0);
    assert_non_null(p);
    assert_int_equal(procstat_read(p, s), 0);
    assert_int_equal(s->procfs_ops, 1);
    assert_int_equal(s->measured, 0);
    assert_true(s->alive);
    assert_int_equal(s->nthreads, 3);
    assert_false(s->mem.valid);
    assert_false(s->io.valid);
    assert_int_equal(s->nthread_rows, 0);
    assert_int_equal(s->nhistory, 0); /* no memory read, no RSS history */
    procstat_free(p);

    /* rows without waits: task/ and two files a thread (stat, schedstat), no syscall */
    p = procstat_new_want(pid, PS_WANT_THREADS);
    assert_int_equal(procstat_read(p, s), 0);
    assert_int_equal(s->procfs_ops, 1 + 1 + 3 * 2);
    assert_int_equal(s->nthread_rows, 3);
    const struct procstat_thread *bl = thread_named(s, "blocker");
    assert_non_null(bl);
    assert_false(bl->io.valid); /* each thread's io is a group of its own */
    procstat_free(p);

    /* and with it, a third file a thread; the rows come with it */
    p = procstat_new_want(pid, PS_WANT_THREAD_IO);
    assert_int_equal(procstat_read(p, s), 0);
    assert_int_equal(s->procfs_ops, 1 + 1 + 3 * 3);
    assert_int_equal(s->measured, PS_WANT_THREAD_IO | PS_WANT_THREADS);
    bl = thread_named(s, "blocker");
    assert_non_null(bl);
    assert_true(bl->io.valid);
    assert_false(bl->wait.blocked);
    assert_int_equal(bl->wait.fd, -1);
    assert_string_equal(bl->wait.target, "");
    procstat_free(p);

    /* waits bring their rows */
    p = procstat_new_want(pid, PS_WANT_WAITS);
    assert_int_equal(procstat_read(p, s), 0);
    assert_int_equal(s->measured, PS_WANT_WAITS | PS_WANT_THREADS);
    assert_waits(s);
    procstat_free(p);

    /* descriptors: /proc/PID/fd alone */
    p = procstat_new_want(pid, PS_WANT_FDS);
    assert_int_equal(procstat_read(p, s), 0);
    assert_true(s->nfds >= 6);
    assert_true(s->procfs_ops >= 2 && s->procfs_ops <= 3); /* its size, or its listing */
    procstat_free(p);

    /* memory without CPU: no CPU figures even with a previous reading */
    p = procstat_new_want(pid, PS_WANT_MEM);
    assert_int_equal(procstat_read(p, s), 0);
    sleep_ms(500);
    assert_int_equal(procstat_read(p, s), 0);
    assert_int_equal(s->procfs_ops, 2);
    assert_true(s->interval_s > 0.4);
    assert_true(s->mem.valid && s->mem.rss_kib > 0);
    assert_true(s->cpu_pct == 0 && s->minflt_ps == 0);
    assert_false(s->io.valid);
    assert_int_equal(s->nhistory, 2);
    procstat_free(p);

    /* bits outside PS_WANT_ALL */
    errno = 0;
    assert_null(procstat_new_want(pid, PS_WANT_ALL + 1));
    assert_int_equal(errno, EINVAL);
    assert_null(procstat_new_want(0, PS_WANT_CPU));
    free(s);
    stop(pid);
}

static void *outlive_leader(void *arg)
{
    (void)arg;
    sleep_ms(800);
    return NULL;
}

/* A leader that called pthread_exit is a zombie while its thread runs: the
 * process is alive, with or without the thread rows to tell. */
static void test_want_zombie_leader(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, outlive_leader, NULL) != 0)
            _exit(1);
        pthread_exit(NULL);
    }
    struct procstat *all = procstat_new(pid), *few = procstat_new_want(pid, CPU_MEM_IO);
    struct procstat_snapshot *s = new_snap();
    sleep_ms(300);
    assert_int_equal(procstat_read(few, s), 0);
    assert_true(s->alive);
    assert_int_equal(s->nthreads, 2); /* the zombie leader counts itself */
    assert_int_equal(procstat_read(all, s), 0);
    assert_true(s->alive);
    sleep_ms(1000); /* the thread has ended: a zombie process, not reaped yet */
    assert_int_equal(procstat_read(few, s), 0);
    assert_false(s->alive);
    assert_int_equal(procstat_read(all, s), 0);
    assert_false(s->alive);
    waitpid(pid, NULL, 0);
    procstat_free(all);
    procstat_free(few);
    free(s);
}

/* ------------------------------------------------------------ cost */

/* Milliseconds per reading of pid, over n readings after a first one. */
static double ms_per_reading(pid_t pid, int n, struct procstat_snapshot *s)
{
    struct procstat *p = procstat_new(pid);
    assert_non_null(p);
    assert_int_equal(procstat_read(p, s), 0);
    uint64_t t0 = mono_ns();
    for (int i = 0; i < n; i++)
        assert_int_equal(procstat_read(p, s), 0);
    double ms = (double)(mono_ns() - t0) / 1e6 / n;
    procstat_free(p);
    return ms;
}

/* The process of this machine with the most threads. */
static pid_t largest_process(unsigned *nthreads)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t best = getpid();
    *nthreads = 0;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], buf[4096];
        int pid = atoi(e->d_name);
        if (pid <= 0)
            continue;
        snprintf(path, sizeof path, "/proc/%d/status", pid);
        FILE *f = fopen(path, "r");
        unsigned t = 0;
        while (f && fgets(buf, sizeof buf, f))
            if (sscanf(buf, "Threads: %u", &t) == 1)
                break;
        if (f)
            fclose(f);
        if (t > *nthreads) {
            *nthreads = t;
            best = pid;
        }
    }
    if (d)
        closedir(d);
    return best;
}

static void test_reading_cost(void **state)
{
    (void)state;
    struct procstat_snapshot *s = new_snap();
    unsigned nt;
    pid_t big = largest_process(&nt);
    double ms = ms_per_reading(big, 5, s);
    print_message("largest process here: PID %d, %u threads: %.2f ms per reading\n", (int)big, nt,
                  ms);

    pid_t pid = spawn_memio("30", "1000");
    if (pid < 0) {
        free(s);
        skip();
    }
    sleep_ms(500);
    ms = ms_per_reading(pid, 5, s);
    print_message("memio with 1003 threads: %.2f ms per reading (%zu rows, %u threads)\n", ms,
                  s->nthread_rows, s->nthreads);
    assert_int_equal(s->nthreads, 1003);
    assert_int_equal(s->nthread_rows, 1003);
    size_t blocked = 0;
    for (size_t i = 0; i < s->nthread_rows; i++)
        blocked += s->threads[i].wait.blocked;
    assert_true(blocked >= 1000);
    /* A generous ceiling: a reading at 1 Hz must leave the screen free. */
    assert_true(ms < 500);
    stop(pid);
    free(s);
}

static void test_parse_schedstat(void **state)
{
    (void)state;
    uint64_t run, wait;
    const char *ok = "123456789 987654321 42\n";
    assert_int_equal(procstat_parse_schedstat(ok, strlen(ok), &run, &wait), 0);
    assert_true(run == 123456789ull && wait == 987654321ull);
    assert_int_equal(procstat_parse_schedstat("5 6 7", 5, &run, &wait), 0);
    assert_true(run == 5 && wait == 6);
    const char *bad[] = {"", "1 2", "1 x 3\n", "-1 2 3\n", "1 2 3 junk\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(procstat_parse_schedstat(bad[i], strlen(bad[i]), &run, &wait), -EINVAL);
    const char *big = "99999999999999999999 1 1\n";
    assert_int_equal(procstat_parse_schedstat(big, strlen(big), &run, &wait), -ERANGE);
    /* the length, not a NUL, ends the text */
    assert_int_equal(procstat_parse_schedstat("7 8 9 10", 5, &run, &wait), 0);
    assert_true(run == 7 && wait == 8);
}

/* The net tables' parser on its own: the line of an inode, or none. */
static void test_net_describe(void **state)
{
    (void)state;
    char out[128];
    const char *hdr = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
                      "   uid  timeout inode\n";
    char tcp[512];
    snprintf(tcp, sizeof tcp,
             "%s   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000"
             "     0        0 111 1 0\n"
             "   1: 0100007F:1F90 0200000A:1588 01 00000000:00000000 00:00000000 00000000"
             "     0        0 222 1 0\n",
             hdr);
    assert_true(procstat_net_describe(tcp, strlen(tcp), PROCSTAT_NET_TCP, 111, out, sizeof out));
    assert_string_equal(out, "socket:[111] tcp 127.0.0.1:8080 listen");
    assert_true(procstat_net_describe(tcp, strlen(tcp), PROCSTAT_NET_TCP, 222, out, sizeof out));
    assert_string_equal(out, "socket:[222] tcp 127.0.0.1:8080 -> 10.0.0.2:5512");
    assert_false(procstat_net_describe(tcp, strlen(tcp), PROCSTAT_NET_TCP, 333, out, sizeof out));
    /* the header line is never a socket's; a table cut mid-line fails there */
    assert_false(procstat_net_describe(hdr, strlen(hdr), PROCSTAT_NET_TCP, 0, out, sizeof out));
    assert_false(
        procstat_net_describe(tcp, strlen(hdr) + 30, PROCSTAT_NET_TCP, 111, out, sizeof out));
    assert_false(
        procstat_net_describe(tcp, strlen(tcp), PROCSTAT_NET_NTABLES, 111, out, sizeof out));
    const char *unx = "Num       RefCount Protocol Flags    Type St Inode Path\n"
                      "0000000000000000: 00000002 00000000 00010000 0001 01 444 /run/a b\n";
    assert_true(procstat_net_describe(unx, strlen(unx), PROCSTAT_NET_UNIX, 444, out, sizeof out));
    assert_string_equal(out, "socket:[444] unix /run/a b");
}

/* This process's own threads carry their schedstat when the kernel has it. */
static void test_own_schedstat(void **state)
{
    (void)state;
    struct procstat *p = procstat_new(getpid());
    assert_non_null(p);
    struct procstat_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    volatile uint64_t x = 0;
    for (int i = 0; i < 5000000; i++)
        x += (uint64_t)i;
    assert_int_equal(procstat_read(p, s), 0);
    assert_true(s->nthread_rows >= 1);
    if (access("/proc/self/schedstat", R_OK) != 0) {
        free(s);
        procstat_free(p);
        skip();
    }
    assert_true(s->threads[0].sched_valid);
    assert_true(s->threads[0].sched_run_ns > 1000000); /* the loop above ran */
    free(s);
    procstat_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_status),       cmocka_unit_test(test_parse_status_broken),
        cmocka_unit_test(test_parse_io),           cmocka_unit_test(test_parse_syscall),
        cmocka_unit_test(test_syscall_table),      cmocka_unit_test(test_memio_live),
        cmocka_unit_test(test_history_is_bounded), cmocka_unit_test(test_socket_targets),
        cmocka_unit_test(test_exited_process),     cmocka_unit_test(test_want_cpu_mem_io),
        cmocka_unit_test(test_want_each_group),    cmocka_unit_test(test_want_zombie_leader),
        cmocka_unit_test(test_reading_cost),       cmocka_unit_test(test_parse_schedstat),
        cmocka_unit_test(test_own_schedstat),      cmocka_unit_test(test_net_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
