/*
 * test_procfs.c - the /proc parsers on hostile text, and the readers on this
 * process's own /proc entries.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sampler/proc/procfs.h"

/* A real line (kernel 6.x layout), fields 1..52. */
#define STAT_TAIL                                                                                  \
    " R 77 4242 4242 34816 4242 4194560 1234 0 56 0 789 321 0 0 20 0 3 0 987654 12345678 "         \
    "400 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

static int parse(const char *s, struct proc_stat *st)
{
    return procfs_parse_stat(s, strlen(s), st);
}

static void test_parse_plain_stat(void **state)
{
    (void)state;
    struct proc_stat st;
    assert_int_equal(parse("4242 (cpu_mix)" STAT_TAIL, &st), 0);
    assert_int_equal(st.pid, 4242);
    assert_string_equal(st.comm, "cpu_mix");
    assert_int_equal(st.state, 'R');
    assert_int_equal(st.ppid, 77);
    assert_int_equal(st.flags, 4194560);
    assert_int_equal(st.minflt, 1234);
    assert_int_equal(st.majflt, 56);
    assert_int_equal(st.utime, 789);
    assert_int_equal(st.stime, 321);
    assert_int_equal(st.starttime, 987654);
    assert_false(procfs_is_kernel_thread(&st));
}

static void test_parse_comm_with_parens_and_spaces(void **state)
{
    (void)state;
    struct proc_stat st;
    assert_int_equal(parse("12 ((a) b)" STAT_TAIL, &st), 0);
    assert_string_equal(st.comm, "(a) b");
    assert_int_equal(st.state, 'R');
    assert_int_equal(st.ppid, 77);

    /* A name crafted to look like the fields that follow. */
    assert_int_equal(parse("13 (x) S 1 2 3 4)" STAT_TAIL, &st), 0);
    assert_string_equal(st.comm, "x) S 1 2 3 4");
    assert_int_equal(st.state, 'R');
    assert_int_equal(st.starttime, 987654);

    assert_int_equal(parse("14 ()" STAT_TAIL, &st), 0);
    assert_string_equal(st.comm, "");
}

static void test_parse_long_comm_is_truncated(void **state)
{
    (void)state;
    struct proc_stat st;
    /* Kernel threads can show names longer than TASK_COMM_LEN. */
    assert_int_equal(parse("99 (kworker/u8:1-events_unbound_long_name)" STAT_TAIL, &st), 0);
    assert_int_equal(strlen(st.comm), sizeof st.comm - 1);
    assert_memory_equal(st.comm, "kworker/u8:1-ev", sizeof st.comm);
}

static void test_parse_kernel_thread(void **state)
{
    (void)state;
    struct proc_stat st;
    assert_int_equal(parse("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 3 0 0 20 0 1 0 1 0 0 "
                           "18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 0 0 0 0 0\n",
                           &st),
                     0);
    assert_int_equal(st.pid, 2);
    assert_int_equal(st.ppid, 0);
    assert_true(procfs_is_kernel_thread(&st));
    /* A kworker: child of kthreadd with PF_KTHREAD (0x00200000). */
    assert_int_equal(
        parse("57 (kworker/0:1) I 2 0 0 0 -1 69238880 0 0 0 0 0 8 0 0 20 0 1 0 12 0 0", &st), 0);
    assert_true(procfs_is_kernel_thread(&st));
}

static void test_parse_rejects_garbage(void **state)
{
    (void)state;
    struct proc_stat st;
    const char *bad[] = {
        "",
        "garbage",
        "4242 cpu_mix R 1 2 3",         /* no parentheses */
        "4242 (cpu_mix R 77 4242 4242", /* no ')' */
        "4242 cpu_mix) R 77 4242 4242", /* no '(' */
        "(cpu_mix)" STAT_TAIL,          /* no pid */
        "-5 (x)" STAT_TAIL,             /* negative pid */
        "0 (x)" STAT_TAIL,              /* pid 0 */
        "4242 (cpu_mix)",               /* nothing after comm */
        "4242 (cpu_mix) R",             /* truncated after state */
        "4242 (cpu_mix) R 77 4242 4242 34816 4242 4194560 1234 0 56 0 789", /* cut at utime */
        "4242 (cpu_mix) 7 77 4242 4242 34816 4242 4194560 1234 0 56 0 789 321 0 0 20 0 3 0 98",
        "4242 (cpu_mix) RR 77 4242 4242 34816 4242 4194560 1234 0 56 0 789 321 0 0 20 0 3 0 98",
        "4242 (cpu_mix) R 7x7 4242 4242 34816 4242 4194560 1234 0 56 0 789 321 0 0 20 0 3 0 98",
        "4242 (cpu_mix) R 77 4242 4242 34816 4242 -4194560 1234 0 56 0 789 321 0 0 20 0 3 0 98",
        "99999999999 (x)" STAT_TAIL, /* pid beyond int */
        /* flags beyond 64 bits */
        ("4242 (x) R 77 4242 4242 34816 4242 99999999999999999999999 1234 0 56 0 789 321 0 0 20 "
         "0 3 0 98"),
        /* ppid beyond int */
        "4242 (x) R 2147483648 4242 4242 34816 4242 1 1234 0 56 0 789 321 0 0 20 0 3 0 98",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i], &st);
        if (rc >= 0)
            fail_msg("accepted bad stat #%zu: \"%s\"", i, bad[i]);
    }
    assert_true(procfs_parse_stat(NULL, 10, &st) < 0);
}

static void test_parse_honours_length_not_nul(void **state)
{
    (void)state;
    struct proc_stat st;
    char text[] = "4242 (cpu_mix)" STAT_TAIL;
    /* Cut inside the comm: the ')' beyond len must not be seen. */
    assert_true(procfs_parse_stat(text, 10, &st) < 0);
    /* No NUL anywhere in a buffer that is exactly the line. */
    size_t n = strlen(text);
    char *exact = malloc(n);
    assert_non_null(exact);
    memcpy(exact, text, n);
    assert_int_equal(procfs_parse_stat(exact, n, &st), 0);
    assert_int_equal(st.starttime, 987654);
    free(exact);
}

static void test_parse_max_values(void **state)
{
    (void)state;
    struct proc_stat st;
    assert_int_equal(parse("2147483647 (x) D 2147483647 1 1 0 -1 18446744073709551615 1 0 1 0 "
                           "18446744073709551615 0 0 0 20 0 1 0 18446744073709551615",
                           &st),
                     0);
    assert_int_equal(st.pid, 2147483647);
    assert_int_equal(st.state, 'D');
    assert_true(st.flags == UINT64_MAX);
    assert_true(st.utime == UINT64_MAX);
    assert_true(st.starttime == UINT64_MAX);
}

static void test_parse_status_field(void **state)
{
    (void)state;
    const char *status = "Name:\tgdb\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t77\n"
                         "Ngid:\t0\nPid:\t78\nPPid:\t1\nTracerPid:\t4242\nUid:\t0\t0\t0\t0\n";
    size_t n = strlen(status);
    assert_int_equal(procfs_parse_status_field(status, n, "TracerPid"), 4242);
    assert_int_equal(procfs_parse_status_field(status, n, "Tgid"), 77);
    assert_int_equal(procfs_parse_status_field(status, n, "Pid"), 78);
    assert_int_equal(procfs_parse_status_field(status, n, "Missing"), -ENOENT);
    assert_true(procfs_parse_status_field(status, n, "Name") < 0); /* not a number */
    /* Cut just after "TracerPid:\t": no digits. */
    const char *cut = strstr(status, "TracerPid:") + strlen("TracerPid:\t");
    assert_true(procfs_parse_status_field(status, (size_t)(cut - status), "TracerPid") < 0);
    const char *huge = "TracerPid:\t99999999999999999999\n";
    assert_true(procfs_parse_status_field(huge, strlen(huge), "TracerPid") < 0);
}

static void test_read_own_stat(void **state)
{
    (void)state;
    prctl(PR_SET_NAME, "procfs (t) x", 0, 0, 0);
    struct proc_stat st;
    assert_int_equal(procfs_read_stat(getpid(), 0, &st), 0);
    assert_int_equal(st.pid, getpid());
    assert_int_equal(st.ppid, getppid());
    assert_int_equal(st.state, 'R'); /* we are reading it */
    assert_string_equal(st.comm, "procfs (t) x");
    assert_false(procfs_is_kernel_thread(&st));

    struct proc_stat task;
    assert_int_equal(procfs_read_stat(getpid(), getpid(), &task), 0);
    assert_int_equal(task.pid, getpid());

    int fd = open("/proc/self/stat", O_RDONLY);
    assert_true(fd >= 0);
    for (int i = 0; i < 3; i++) { /* pread re-reads fresh values each time */
        assert_int_equal(procfs_pread_stat(fd, &task), 0);
        assert_int_equal(task.pid, getpid());
    }
    close(fd);

    assert_int_equal(procfs_read_stat(2, 0, &st), 0);
    assert_true(procfs_is_kernel_thread(&st));
    assert_int_equal(procfs_read_stat(INT32_MAX, 0, &st), -ENOENT);
}

static void *idle_thread(void *arg)
{
    pthread_barrier_t *b = arg;
    pthread_barrier_wait(b); /* started */
    pthread_barrier_wait(b); /* listed: may exit */
    return NULL;
}

static void test_list_own_tasks(void **state)
{
    (void)state;
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, 3);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, idle_thread, &b), 0);
    pthread_barrier_wait(&b);

    pid_t tids[16];
    int n = procfs_list_tasks(getpid(), tids, 16);
    assert_int_equal(n, 3);
    int found_main = 0;
    for (int i = 0; i < n; i++) {
        if (tids[i] == getpid())
            found_main++;
        assert_int_equal(procfs_tgid(tids[i]), getpid());
    }
    assert_int_equal(found_main, 1);
    assert_int_equal(procfs_list_tasks(getpid(), tids, 2), 2); /* bounded */

    pthread_barrier_wait(&b);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&b);
    assert_int_equal(procfs_list_tasks(INT32_MAX, tids, 16), -ENOENT);
}

static void test_cmdline_and_tracer(void **state)
{
    (void)state;
    char buf[4096];
    int n = procfs_cmdline(getpid(), buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal((int)strlen(buf), n);
    /* argv[0] comes first, then a space where its NUL was. */
    size_t a0 = strlen(program_invocation_name);
    assert_memory_equal(buf, program_invocation_name, a0);
    assert_true(buf[a0] == '\0' || buf[a0] == ' ');

    char small[5];
    assert_int_equal(procfs_cmdline(getpid(), small, sizeof small), 4);
    assert_int_equal(small[4], '\0');

    assert_int_equal(procfs_cmdline(2, buf, sizeof buf), 0); /* kernel thread */
    assert_true(procfs_cmdline(INT32_MAX, buf, sizeof buf) < 0);

    assert_int_equal(procfs_tracer_pid(getpid()), 0);
    assert_true(procfs_tracer_pid(INT32_MAX) < 0);
}

static int exit_pipe[2];

static void *wait_for_eof(void *arg)
{
    (void)arg;
    char c;
    while (read(exit_pipe[0], &c, 1) > 0)
        ;
    return NULL;
}

/* Waits up to 5 s for pred(pid) to hold. */
static bool within_5s(bool (*pred)(pid_t, int), pid_t pid, int fd)
{
    for (int i = 0; i < 500; i++) {
        if (pred(pid, fd))
            return true;
        usleep(10000);
    }
    return false;
}

static bool leader_is_zombie(pid_t pid, int fd)
{
    (void)fd;
    struct proc_stat ps;
    return procfs_read_stat(pid, 0, &ps) == 0 && ps.state == 'Z';
}

static bool exit_fd_ready(pid_t pid, int fd)
{
    (void)pid;
    return procfs_exit_fd_ready(fd) == 1;
}

/* The exit fd stands for the whole process: a leader that left with
 * pthread_exit (a zombie in /proc/PID/stat) while a thread runs is not an
 * exit; the last thread leaving is, before anyone reaps the process. */
static void test_exit_fd_is_the_whole_process(void **state)
{
    (void)state;
    assert_int_equal(pipe(exit_pipe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(exit_pipe[1]);
        pthread_t t;
        if (pthread_create(&t, NULL, wait_for_eof, NULL) != 0)
            _exit(1);
        pthread_exit(NULL);
    }
    close(exit_pipe[0]);
    int fd = procfs_exit_fd(pid);
    if (fd == -ENOSYS) {
        close(exit_pipe[1]);
        waitpid(pid, NULL, 0);
        skip();
    }
    assert_true(fd >= 0);
    assert_true(within_5s(leader_is_zombie, pid, fd));
    assert_int_equal(procfs_exit_fd_ready(fd), 0);
    close(exit_pipe[1]); /* the thread reads EOF and the process ends */
    assert_true(within_5s(exit_fd_ready, pid, fd));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(fd);
    assert_true(procfs_exit_fd(INT32_MAX) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_plain_stat),
        cmocka_unit_test(test_parse_comm_with_parens_and_spaces),
        cmocka_unit_test(test_parse_long_comm_is_truncated),
        cmocka_unit_test(test_parse_kernel_thread),
        cmocka_unit_test(test_parse_rejects_garbage),
        cmocka_unit_test(test_parse_honours_length_not_nul),
        cmocka_unit_test(test_parse_max_values),
        cmocka_unit_test(test_parse_status_field),
        cmocka_unit_test(test_read_own_stat),
        cmocka_unit_test(test_list_own_tasks),
        cmocka_unit_test(test_cmdline_and_tracer),
        cmocka_unit_test(test_exit_fd_is_the_whole_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
