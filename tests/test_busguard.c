/*
 * test_busguard.c - a file truncated under its mapping: reading past its
 * new end gives zeros and is counted, instead of SIGBUS; a SIGBUS that is
 * not about a mapping still reaches the handler installed before the
 * guard (a child process shows it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/busguard.h"

static void test_truncated_mapping_reads_zeros(void **state)
{
    (void)state;
    assert_int_equal(busguard_install(), 0);
    long page = sysconf(_SC_PAGESIZE);
    char path[] = "/tmp/pertop-busguard-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    char *buf = malloc((size_t)page * 4);
    memset(buf, 'x', (size_t)page * 4);
    assert_int_equal(write(fd, buf, (size_t)page * 4), page * 4);
    free(buf);
    volatile char *m = mmap(NULL, (size_t)page * 4, PROT_READ, MAP_PRIVATE, fd, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(m[3 * page], 'x');
    assert_int_equal(ftruncate(fd, page), 0); /* cut to its first page */
    uint64_t before = busguard_hits();
    assert_int_equal(m[0], 'x');          /* still in the file */
    assert_int_equal(m[2 * page + 5], 0); /* past the end: zeros */
    assert_int_equal(m[3 * page], 0);
    assert_int_equal(busguard_hits() - before, 2);
    assert_int_equal(m[2 * page + 6], 0); /* the same page: no new fault */
    assert_int_equal(busguard_hits() - before, 2);
    munmap((void *)m, (size_t)page * 4);
    close(fd);
}

static volatile sig_atomic_t chained;

static void earlier(int sig)
{
    (void)sig;
    chained = 1;
    _exit(42); /* what a crash handler does after restoring the terminal */
}

static void test_other_sigbus_is_chained(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGBUS, earlier);
        busguard_install();
        raise(SIGBUS); /* not a mapping's: si_code SI_TKILL */
        _exit(1);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 42);
    /* without an earlier handler: the default action, death by SIGBUS */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL);
        busguard_install();
        raise(SIGBUS);
        _exit(1);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGBUS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_mapping_reads_zeros),
        cmocka_unit_test(test_other_sigbus_is_chained),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
