/*
 * test_outfile.c - files written whole or not at all, and why not: the
 * content under the final name only after a clean close, no temporary left
 * on failure, and the errno of the write that failed (EFBIG past a size
 * limit, ENOSPC on a full device) rather than a bare EIO, also when stdio
 * has nothing left to flush by the time the writer gives up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/outfile.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/pertop-outfile-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    if (d) {
        char path[512];
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
    return 0;
}

/* Entries in the test folder. */
static int entries(void)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* A writer as the exporters are: it writes, then reports the stream's
 * error flag as -EIO. */
struct writer {
    size_t bytes;  /* written with one fwrite (bigger than stdio's buffer: direct) */
    int own_error; /* returned instead, when not 0 */
};

static int fill(FILE *f, void *arg)
{
    const struct writer *w = arg;
    char *buf = malloc(w->bytes);
    assert_non_null(buf);
    memset(buf, 'x', w->bytes);
    fwrite(buf, 1, w->bytes, f);
    free(buf);
    if (w->own_error)
        return w->own_error;
    return ferror(f) ? -EIO : 0;
}

static void test_written_whole(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/p.svg", dir);
    struct writer w = {.bytes = 100000};
    assert_int_equal(outfile_write(path, fill, &w), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 100000);
    assert_int_equal(entries(), 1); /* no temporary beside it */
}

/* In a shared folder another user may plant symlinks: at the temporary
 * name pertop would have used (path.tmpPID) and at the final name.  Neither
 * is written through; the file gets the umask's mode, not mkstemp's 0600. */
static void test_no_write_through_links(void **state)
{
    (void)state;
    char path[128], victim[128], trap[160];
    snprintf(path, sizeof path, "%s/out.folded", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(trap, sizeof trap, "%s.tmp%d", path, (int)getpid());
    FILE *v = fopen(victim, "w");
    assert_non_null(v);
    fputs("precious\n", v);
    fclose(v);
    assert_int_equal(symlink(victim, trap), 0);
    assert_int_equal(symlink(victim, path), 0);
    mode_t old = umask(022);
    struct writer w = {.bytes = 1000};
    assert_int_equal(outfile_write(path, fill, &w), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(victim, &st), 0);
    assert_int_equal(st.st_size, 9); /* "precious\n", untouched */
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode)); /* the link at the final name replaced */
    assert_int_equal(st.st_size, 1000);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(entries(), 3); /* victim, the trap, the profile: no temporary */
}

/* Past RLIMIT_FSIZE a write fails with EFBIG; the writer's one big fwrite
 * goes out directly, so nothing is left in the buffer for a flush to fail
 * on again: only the failed write itself knew why. */
static void test_write_errno_kept(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/big.svg", dir);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 8192;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    struct writer w = {.bytes = 1 << 20};
    int rc = outfile_write(path, fill, &w);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -EFBIG);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(entries(), 0);
}

/* The writer's own failure is its own, even when a write failed too. */
static void test_fill_error(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/p.folded", dir);
    struct writer w = {.bytes = 10, .own_error = -ENOMEM};
    assert_int_equal(outfile_write(path, fill, &w), -ENOMEM);
    assert_int_equal(entries(), 0);
}

static void test_no_folder(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/no/such/p.txt", dir);
    struct writer w = {.bytes = 10};
    assert_int_equal(outfile_write(path, fill, &w), -ENOENT);
}

/* stdout on a full device: small output is only written at the end, by
 * the flush, and says ENOSPC there; the descriptor stays open. */
static void test_fd_full(void **state)
{
    (void)state;
    int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        skip();
    struct writer small = {.bytes = 100}, big = {.bytes = 1 << 20};
    assert_int_equal(outfile_write_fd(fd, fill, &small), -ENOSPC);
    assert_int_equal(outfile_write_fd(fd, fill, &big), -ENOSPC);
    assert_true(fcntl(fd, F_GETFD) >= 0);
    close(fd);
    fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(outfile_write_fd(fd, fill, &big), 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_written_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_errno_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_write_through_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fd_full, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
