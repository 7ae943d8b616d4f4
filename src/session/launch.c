/*
 * launch.c - starting the command (see launch.h).
 */
#include "src/session/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void close_if_open(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Opened before the fork, so a bad output path is reported as such. */
static int open_io(const struct launch_cfg *cfg, int *out_fd, int *in_fd, char *err, size_t errsz)
{
    if (cfg->output_path) {
        *out_fd = open(cfg->output_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (*out_fd < 0) {
            snprintf(err, errsz, "pertop: cannot write the command's output to %s: %s",
                     cfg->output_path, strerror(errno));
            return -EIO;
        }
    }
    if (cfg->stdin_null)
        *in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return 0;
}

/* In the child: dup2 clears close-on-exec on the copies. */
static void redirect_io(int out_fd, int in_fd)
{
    if (out_fd >= 0) {
        dup2(out_fd, STDOUT_FILENO);
        dup2(out_fd, STDERR_FILENO);
    }
    if (in_fd >= 0)
        dup2(in_fd, STDIN_FILENO);
}

static void child(const struct launch_cfg *cfg, const int go[2], const int ep[2], int out_fd,
                  int in_fd)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGCHLD, SIG_DFL);
    close(go[1]);
    close(ep[0]);
    redirect_io(out_fd, in_fd);
    char b;
    if (read(go[0], &b, 1) != 1)
        _exit(127); /* pertop went away before starting us */
    execvp(cfg->argv[0], cfg->argv);
    int e = errno;
    if (write(ep[1], &e, sizeof e) < 0)
        _exit(127);
    _exit(127);
}

int launch_fork(struct launch *l, const struct launch_cfg *cfg, char *err, size_t errsz)
{
    int go[2] = {-1, -1}, ep[2] = {-1, -1}, out_fd = -1, in_fd = -1;
    l->pid = 0;
    l->go_fd = l->err_fd = -1;
    int rc = open_io(cfg, &out_fd, &in_fd, err, errsz);
    if (rc < 0)
        return rc;
    pid_t pid = -1;
    if (pipe2(go, O_CLOEXEC) == 0 && pipe2(ep, O_CLOEXEC) == 0)
        pid = fork();
    rc = -errno;
    if (pid == 0)
        child(cfg, go, ep, out_fd, in_fd);
    close_if_open(&go[0]);
    close_if_open(&ep[1]);
    close_if_open(&out_fd);
    close_if_open(&in_fd);
    if (pid < 0) {
        close_if_open(&go[1]);
        close_if_open(&ep[0]);
        snprintf(err, errsz, "pertop: cannot start '%s': %s", cfg->argv[0], strerror(-rc));
        return rc;
    }
    *l = (struct launch){pid, go[1], ep[0]};
    return 0;
}

int launch_release(struct launch *l)
{
    int e = 0;
    if (write(l->go_fd, "g", 1) != 1)
        e = errno;
    close_if_open(&l->go_fd);
    ssize_t n;
    do
        n = read(l->err_fd, &e, sizeof e);
    while (n < 0 && errno == EINTR);
    close_if_open(&l->err_fd);
    return n == (ssize_t)sizeof e ? e : 0;
}

void launch_abort(struct launch *l)
{
    close_if_open(&l->go_fd);
    close_if_open(&l->err_fd);
}

int launch_reap(pid_t pid, bool terminate, int *status)
{
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == 0 && terminate) {
        kill(pid, SIGTERM);
        for (int i = 0; i < 300 && r == 0; i++) {
            usleep(10000);
            r = waitpid(pid, status, WNOHANG);
        }
    }
    return r == pid;
}
