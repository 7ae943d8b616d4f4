/*
 * test_remote.c - the one bounded read of another process's memory
 * (remote_read, remote_read_ptr) and the walkers' read through a reader
 * (pyf_read, pyf_read_ptr): exact copies, the bounds refused before any
 * system call, short reads as -EFAULT, and words zeroed on failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sampler/proc/remote.h"
#include "sampler/python/pyframes.h"

static uint64_t addr_of(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static void test_reads_self_exactly(void **state)
{
    (void)state;
    static const char text[] = "the target's bytes";
    char buf[sizeof text];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(remote_read(getpid(), addr_of(text), buf, sizeof text), 0);
    assert_memory_equal(buf, text, sizeof text);

    uint64_t word = 0x1122334455667788ull, v = 1;
    assert_int_equal(remote_read_ptr(getpid(), addr_of(&word), &v), 0);
    assert_true(v == word);
    /* nothing to copy is not an error (and makes no system call) */
    assert_int_equal(remote_read(getpid(), addr_of(text), buf, 0), 0);
}

static void test_reads_a_child(void **state)
{
    (void)state;
    static volatile uint64_t secret = 0;
    secret = 0xfeedfacecafebeefull;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        secret = 0x0123456789abcdefull; /* the child's copy differs from ours */
        pause();
        _exit(0);
    }
    uint64_t v = 0;
    int rc = -1;
    for (int i = 0; i < 200 && v != 0x0123456789abcdefull; i++) {
        rc = remote_read_ptr(pid, addr_of((const void *)&secret), &v);
        usleep(5000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(rc, 0);
    assert_true(v == 0x0123456789abcdefull);
    assert_true(secret == 0xfeedfacecafebeefull);
}

static void test_bounds_refused(void **state)
{
    (void)state;
    char buf[16];
    uint64_t v = 7;
    assert_int_equal(remote_check(0, 8), -EFAULT);
    assert_int_equal(remote_check(UINT64_MAX - 3, 8), -EFAULT); /* wraps */
    assert_int_equal(remote_check(UINT64_MAX - 7, 8), -EFAULT); /* ends at 2^64: wraps to 0 */
    assert_int_equal(remote_check(UINT64_MAX - 8, 8), 0);       /* ends at the last byte */
    assert_int_equal(remote_check(0x1000, REMOTE_READ_MAX), 0);
    assert_int_equal(remote_check(0x1000, REMOTE_READ_MAX + 1), -E2BIG);
    assert_int_equal(remote_check(0x1000, SIZE_MAX), -E2BIG);

    assert_int_equal(remote_read(getpid(), 0, buf, sizeof buf), -EFAULT);
    assert_int_equal(remote_read(getpid(), UINT64_MAX - 3, buf, 8), -EFAULT);
    assert_int_equal(remote_read_ptr(getpid(), 0, &v), -EFAULT);
    assert_true(v == 0);
}

/* Exactly REMOTE_READ_MAX is read whole; one byte more is refused. */
static void test_exact_cap(void **state)
{
    (void)state;
    size_t n = REMOTE_READ_MAX;
    unsigned char *src = malloc(n + 1), *dst = malloc(n + 1);
    assert_non_null(src);
    assert_non_null(dst);
    for (size_t i = 0; i <= n; i++)
        src[i] = (unsigned char)(i * 7);
    assert_int_equal(remote_read(getpid(), addr_of(src), dst, n), 0);
    assert_memory_equal(src, dst, n);
    assert_int_equal(remote_read(getpid(), addr_of(src), dst, n + 1), -E2BIG);
    free(src);
    free(dst);
}

/* A range that runs into an unmapped page is -EFAULT, not a short copy;
 * a word there is zeroed. */
static void test_short_read_is_efault(void **state)
{
    (void)state;
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *p =
        mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 0xab, (size_t)page);
    assert_int_equal(munmap(p + page, (size_t)page), 0);
    unsigned char buf[64];
    assert_int_equal(remote_read(getpid(), addr_of(p + page - 32), buf, 32), 0);
    assert_int_equal(remote_read(getpid(), addr_of(p + page - 32), buf, 64), -EFAULT);
    assert_int_equal(remote_read(getpid(), addr_of(p + page), buf, 8), -EFAULT);
    uint64_t v = 99;
    assert_int_equal(remote_read_ptr(getpid(), addr_of(p + page - 4), &v), -EFAULT);
    assert_true(v == 0);
    munmap(p, (size_t)page);
}

static void test_gone_process(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    uint64_t x = 5, v = 1;
    assert_int_equal(remote_read_ptr(pid, addr_of(&x), &v), -ESRCH);
    assert_true(v == 0);
}

/* ------------------------------------------------------------ pyf_read */

struct fake {
    int calls;
    int rc;       /* what the reader answers */
    size_t wrote; /* bytes it writes before answering */
};

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    struct fake *f = ctx;
    (void)addr;
    f->calls++;
    memset(buf, 0x5a, f->wrote < len ? f->wrote : len);
    return f->rc;
}

static void test_pyf_read_bounds_before_reader(void **state)
{
    (void)state;
    struct fake f = {0, 0, 8};
    struct pyf_target t;
    memset(&t, 0, sizeof t);
    t.mem.read = fake_read;
    t.mem.ctx = &f;
    uint8_t buf[8];
    uint64_t v = 3;

    assert_int_equal(pyf_read(&t, 0x1000, buf, sizeof buf), 0);
    assert_int_equal(f.calls, 1);
    assert_int_equal(buf[7], 0x5a);
    /* refused without asking the reader */
    assert_int_equal(pyf_read(&t, 0, buf, sizeof buf), -EFAULT);
    assert_int_equal(pyf_read(&t, UINT64_MAX - 2, buf, sizeof buf), -EFAULT);
    assert_int_equal(pyf_read(&t, 0x1000, buf, REMOTE_READ_MAX + 1), -E2BIG);
    assert_int_equal(pyf_read_ptr(&t, 0, &v), -EFAULT);
    assert_true(v == 0);
    assert_int_equal(f.calls, 1);

    /* a reader that fails after writing half the word: *v is still 0 */
    f.rc = -EIO;
    f.wrote = 4;
    v = 3;
    assert_int_equal(pyf_read_ptr(&t, 0x2000, &v), -EIO);
    assert_true(v == 0);
    f.rc = 0;
    f.wrote = 8;
    assert_int_equal(pyf_read_ptr(&t, 0x2000, &v), 0);
    assert_true(v == 0x5a5a5a5a5a5a5a5aull);
}

/* pyread_pid is remote_read on the pid ctx points to. */
static void test_pyread_pid(void **state)
{
    (void)state;
    pid_t self = getpid();
    uint64_t x = 42, v = 0;
    assert_int_equal(pyread_pid(&self, addr_of(&x), &v, sizeof v), 0);
    assert_true(v == 42);
    assert_int_equal(pyread_pid(&self, 0, &v, sizeof v), -EFAULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_self_exactly),
        cmocka_unit_test(test_reads_a_child),
        cmocka_unit_test(test_bounds_refused),
        cmocka_unit_test(test_exact_cap),
        cmocka_unit_test(test_short_read_is_efault),
        cmocka_unit_test(test_gone_process),
        cmocka_unit_test(test_pyf_read_bounds_before_reader),
        cmocka_unit_test(test_pyread_pid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
