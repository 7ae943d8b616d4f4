/*
 * launch.h - starting the command of `pertop -- COMMAND`.
 *
 * The child is forked and waits for a "go" on a pipe before it execs, so
 * the sampler can attach before the command runs a single instruction; an
 * exec failure comes back on a close-on-exec pipe.  Its stdout and stderr
 * can go to a file, its stdin to /dev/null (the screen owns the terminal).
 * Called from the session's thread only.
 */
#ifndef PERTOP_LAUNCH_H
#define PERTOP_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct launch_cfg {
    char **argv;             /* NULL-terminated */
    const char *output_path; /* NULL: inherit stdout and stderr */
    bool stdin_null;
};

struct launch {
    pid_t pid;
    int go_fd, err_fd; /* -1 once released or aborted */
};

/* Forks the child, held before its exec.  0, or -EIO when the output file
 * cannot be opened, or another -errno; err says what and what to do. */
int launch_fork(struct launch *l, const struct launch_cfg *cfg, char *err, size_t errsz);
/* Lets the child exec.  0, or the exec's errno (the child has exited). */
int launch_release(struct launch *l);
/* Gives up before the exec: the child reads EOF and exits 127. */
void launch_abort(struct launch *l);
/* Reaps the child if it has exited (with terminate: SIGTERM first, up to
 * 3 s, as perf record does with its command).  1 and *status when reaped,
 * else 0. */
int launch_reap(pid_t pid, bool terminate, int *status);

#endif
