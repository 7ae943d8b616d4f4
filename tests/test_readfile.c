/*
 * test_readfile.c - reading a descriptor or a file to its end, bounded:
 * empty files, a file exactly at the cap and one byte over it, pipes that
 * grow the buffer by doubling, reads interrupted by a signal (EINTR), and
 * the fixed-buffer reader with and without READFILE_ONCE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/readfile.h"

/* A temporary file holding n bytes of a known pattern; its path in path. */
static int temp_file(size_t n, char *path, size_t size)
{
    snprintf(path, size, "/tmp/pertop-readfile-%d-XXXXXX", (int)getpid());
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char block[4096];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (char)('a' + i % 26);
    for (size_t done = 0; done < n;) {
        size_t k = n - done < sizeof block ? n - done : sizeof block;
        assert_int_equal(write(fd, block, k), (ssize_t)k);
        done += k;
    }
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static void assert_pattern(const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != (char)('a' + i % 4096 % 26))
            fail_msg("byte %zu: %d", i, buf[i]);
    assert_int_equal(buf[n], '\0');
}

static void test_empty(void **state)
{
    (void)state;
    char path[64], *buf = (char *)1;
    size_t len = 7;
    int fd = temp_file(0, path, sizeof path);
    assert_int_equal(readfile_fd(fd, 100, &buf, &len), 0);
    assert_non_null(buf);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    free(buf);
    /* a cap of 0 still reads an empty file */
    assert_int_equal(readfile_path(path, 0, &buf, &len), 0);
    assert_int_equal(len, 0);
    free(buf);
    close(fd);
    unlink(path);
}

static void test_exact_cap_and_one_over(void **state)
{
    (void)state;
    char path[64], *buf;
    size_t len;
    int fd = temp_file(10000, path, sizeof path);
    assert_int_equal(readfile_fd(fd, 10000, &buf, &len), 0);
    assert_int_equal(len, 10000);
    assert_pattern(buf, len);
    free(buf);
    close(fd);

    assert_int_equal(readfile_path(path, 9999, &buf, &len), -EFBIG);
    assert_null(buf);
    assert_int_equal(len, 0);
    assert_int_equal(readfile_path(path, 0, &buf, &len), -EFBIG);
    unlink(path);
}

/* A writer thread: n pattern bytes into a pipe in small writes, with a
 * pause first so that the reader blocks (and can be interrupted). */
struct feeder {
    int fd;
    size_t n;
    int pause_ms;
};

static void *feed(void *arg)
{
    struct feeder *f = arg;
    char block[1000];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = 0;
    if (f->pause_ms)
        usleep((useconds_t)f->pause_ms * 1000);
    for (size_t done = 0; done < f->n;) {
        size_t k = f->n - done < sizeof block ? f->n - done : sizeof block;
        for (size_t i = 0; i < k; i++)
            block[i] = (char)('a' + (done + i) % 4096 % 26);
        if (write(f->fd, block, k) != (ssize_t)k)
            break;
        done += k;
    }
    close(f->fd);
    return NULL;
}

static int read_pipe(size_t n, size_t max, int pause_ms, char **buf, size_t *len)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct feeder f = {p[1], n, pause_ms};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, feed, &f), 0);
    int rc = readfile_fd(p[0], max, buf, len);
    close(p[0]); /* a writer still going gets EPIPE and stops */
    pthread_join(th, NULL);
    return rc;
}

static void test_pipe_grows_by_doubling(void **state)
{
    (void)state;
    char *buf;
    size_t len;
    /* five times the first buffer: it doubles 64 -> 128 -> 256 -> 512 KiB */
    size_t n = 5 * READFILE_FIRST + 123;
    assert_int_equal(read_pipe(n, 1u << 20, 0, &buf, &len), 0);
    assert_int_equal(len, n);
    assert_pattern(buf, len);
    free(buf);
    /* a pipe exactly at the cap, then one byte over it */
    assert_int_equal(read_pipe(3 * READFILE_FIRST, 3 * READFILE_FIRST, 0, &buf, &len), 0);
    assert_int_equal(len, 3 * READFILE_FIRST);
    free(buf);
    assert_int_equal(read_pipe(3 * READFILE_FIRST + 1, 3 * READFILE_FIRST, 0, &buf, &len), -EFBIG);
    assert_null(buf);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* A signal without SA_RESTART makes the blocked read fail with EINTR; the
 * reading goes on and returns every byte. */
static void test_eintr(void **state)
{
    (void)state;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART */
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    struct itimerval it = {{0, 20000}, {0, 20000}}; /* every 20 ms */
    alarms = 0;
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);

    char *buf;
    size_t len;
    int rc = read_pipe(2000, 4096, 200, &buf, &len);

    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(len, 2000);
    assert_pattern(buf, len);
    free(buf);
    assert_true(alarms >= 3); /* the reader was interrupted while it waited */

    /* the fixed-buffer reader too */
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct feeder f = {p[1], 50, 200};
    pthread_t th;
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    alarms = 0;
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
    assert_int_equal(pthread_create(&th, NULL, feed, &f), 0);
    char small[128];
    ssize_t n = readfile_buf(p[0], small, sizeof small, 0);
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);
    pthread_join(th, NULL);
    close(p[0]);
    assert_int_equal(n, 50);
    assert_pattern(small, 50);
    assert_true(alarms >= 3);
}

static void test_errors(void **state)
{
    (void)state;
    char *buf = (char *)1;
    size_t len = 1;
    assert_int_equal(readfile_path("/nonexistent/pertop", 100, &buf, &len), -ENOENT);
    assert_null(buf);
    assert_int_equal(len, 0);
    assert_int_equal(readfile_path("/tmp", 100, &buf, &len), -EISDIR);
    assert_null(buf);
    assert_int_equal(readfile_fd(-1, 100, &buf, &len), -EBADF);
    char small[4];
    assert_int_equal(readfile_buf(-1, small, sizeof small, 0), -EBADF);
    assert_int_equal(readfile_buf(0, small, 0, 0), -EINVAL);
}

/* A procfs file: no size to go by, read to its end. */
static void test_procfs_file(void **state)
{
    (void)state;
    char *buf;
    size_t len;
    assert_int_equal(readfile_path("/proc/self/maps", 1u << 20, &buf, &len), 0);
    assert_true(len > 0);
    assert_int_equal(strlen(buf), len);
    assert_non_null(strstr(buf, "[stack]"));
    free(buf);
    /* a cap over the hard one is clamped, not an error */
    assert_int_equal(readfile_path("/proc/self/stat", SIZE_MAX, &buf, &len), 0);
    assert_true(len > 0);
    free(buf);
}

static void test_buf(void **state)
{
    (void)state;
    char path[64], buf[16];
    int fd = temp_file(100, path, sizeof path);
    /* at most size - 1 bytes, NUL-terminated */
    assert_int_equal(readfile_buf(fd, buf, sizeof buf, 0), 15);
    assert_pattern(buf, 15);
    close(fd);
    fd = open(path, O_RDONLY);
    assert_int_equal(readfile_buf(fd, buf, 1, 0), 0);
    assert_string_equal(buf, "");
    close(fd);
    unlink(path);

    /* READFILE_ONCE: the first read that returns data, not the second */
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "abc", 3), 3);
    assert_int_equal(write(p[1], "def", 3), 3);
    char big[64];
    assert_int_equal(readfile_buf(p[0], big, 4, READFILE_ONCE), 3);
    assert_string_equal(big, "abc");
    close(p[1]);
    assert_int_equal(readfile_buf(p[0], big, sizeof big, 0), 3); /* the rest, to the end */
    assert_string_equal(big, "def");
    assert_int_equal(readfile_buf(p[0], big, sizeof big, READFILE_ONCE), 0); /* at the end */
    close(p[0]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a writer whose reader stopped early gets EPIPE */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_exact_cap_and_one_over),
        cmocka_unit_test(test_pipe_grows_by_doubling),
        cmocka_unit_test(test_eintr),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_procfs_file),
        cmocka_unit_test(test_buf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
