/*
 * main.c - pertop's entry: command line, signals, the display loop, and the
 * final output.  The only place with process-wide wiring: signal masks are
 * set here before any thread starts, and signals are read synchronously from
 * a signalfd, so no handler touches shared state.
 */
#include <errno.h>
#include <libgen.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ui/batchview.h"
#include "src/cli.h"
#include "config.h"
#include "src/profile/diff.h"
#include "common/busguard.h"
#include "common/outfile.h"
#include "ui/plain.h"
#include "src/profile/profile.h"
#include "src/session/session.h"
#include "ui/tui.h"

static void on_sigchld(int sig)
{
    (void)sig; /* a handler, so SIGCHLD is never discarded as ignored */
}

/* Blocks the signals pertop handles in every thread to come; returns a
 * signalfd for the stop signals and SIGWINCH (so a resize wakes the
 * screen's poll, whichever thread the kernel picked). */
static int setup_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_sigchld;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* a file size limit hit while writing --output must fail the write
     * (and remove the temporary file), not kill pertop half-way */
    signal(SIGXFSZ, SIG_IGN);
    /* a target's file truncated while pertop has it mapped: zeros, not death */
    busguard_install();

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sigdelset(&set, SIGCHLD);
    return signalfd(-1, &set, SFD_CLOEXEC);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Each module file of the target is held open for the session: make room. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Refuse an unwritable --output before attaching, not after the run. */
static int check_output_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int rc = access(dirname(copy), W_OK) == 0 ? 0 : -errno;
    free(copy);
    return rc;
}

struct output_ctx {
    struct session *s;
    const struct cli_opts *o;
};

static int fill_output(FILE *f, void *arg)
{
    const struct output_ctx *c = arg;
    char verr[700];
    /* a batch --view goes to the file as to stdout (its NAME error is told
     * once, for stdout) */
    int wrc = c->o->batch && batchview_wanted(c->o)
                  ? batchview_print(c->s, c->o, f, verr, sizeof verr)
                  : session_write(c->s, f, c->o->format, c->o->threads);
    return wrc < 0 && wrc != -ENOENT ? -EIO : 0;
}

/* Never a half-written file under the final name (src/outfile.h). */
static int write_output(struct session *s, const struct cli_opts *o)
{
    struct output_ctx c = {s, o};
    int rc = outfile_write(o->output, fill_output, &c);
    if (rc < 0)
        fprintf(stderr, "pertop: cannot write %s: %s — check the path and free space\n", o->output,
                strerror(-rc));
    return rc;
}

struct batch_ctx {
    struct session *s;
    const struct cli_opts *o;
    int view_rc; /* batchview_print's: -ENOENT when NAME matched nothing */
    char err[700];
};

static int fill_batch(FILE *f, void *arg)
{
    struct batch_ctx *c = arg;
    if (!batchview_wanted(c->o))
        return session_write(c->s, f, FORMAT_TEXT, false) < 0 ? -EIO : 0;
    c->view_rc = batchview_print(c->s, c->o, f, c->err, sizeof c->err);
    if (c->view_rc == -ENOMEM)
        return -ENOMEM;
    return ferror(f) ? -EIO : 0;
}

/* --batch: the snapshot (or --view) on stdout.  A write that fails (a
 * full disk) is said, with its reason, and gives the output's exit code;
 * a reader that stopped reading (`| head`: EPIPE, SIGPIPE is ignored) is
 * no failure. */
static int write_batch(struct session *s, const struct cli_opts *o)
{
    struct batch_ctx c = {.s = s, .o = o};
    fflush(stdout);
    int rc = outfile_write_fd(STDOUT_FILENO, fill_batch, &c);
    if (rc == -ENOMEM) {
        fprintf(stderr, "%s\n", c.err[0] ? c.err : "pertop: out of memory writing the snapshot");
        return EXIT_OUTPUT;
    }
    if (rc < 0 && rc != -EPIPE) {
        fprintf(stderr,
                "pertop: cannot write the %s to standard output: %s — check where it goes "
                "and its free space\n",
                batchview_wanted(o) ? "--view output" : "snapshot", strerror(-rc));
        return EXIT_OUTPUT;
    }
    if (c.view_rc == -ENOENT) {
        fprintf(stderr, "%s\n", c.err);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static void print_python_stats(const struct session_stats *st, double elapsed_s)
{
    if (!st->py_walks)
        return;
    double pw = 1.0 / (double)st->py_walks;
    fprintf(stderr,
            "pertop: python stats: walks=%llu torn=%llu torn_pct=%.2f retries=%llu "
            "read_us_per_walk=%.2f reads_per_walk=%.2f usable_per_s=%.1f refinds=%llu\n",
            (unsigned long long)st->py_walks, (unsigned long long)st->py_walk_torn,
            100.0 * (double)st->py_walk_torn * pw, (unsigned long long)st->py_retries,
            (double)st->py_walk_ns * pw / 1e3, (double)st->py_reads * pw,
            elapsed_s > 0 ? (double)(st->py_walks - st->py_walk_torn) / elapsed_s : 0.0,
            (unsigned long long)st->py_refinds);
}

static void print_stats(struct session *s)
{
    struct session_stats st;
    session_get_stats(s, &st);
    struct run_info run;
    session_run_info(s, &run);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double per = st.captured ? 1.0 / (double)st.captured : 0.0;
    char eng[96];
    fprintf(stderr, "pertop: stats: engine=%s%s%s\n", run_info_engine(&run, eng, sizeof eng),
            run.engine_note[0] ? " — " : "", run.engine_note);
    fprintf(stderr,
            "pertop: stats: elapsed=%.3fs rounds=%llu rate=%.1fHz samples=%llu processed=%llu "
            "lost=%llu failed=%llu truncated=%llu threads=%u stop_avg_us=%.1f stop_max_us=%.1f "
            "stop_median_us=%.1f target_cpu_s=%.2f "
            "sampler_cpu_us_per_sample=%.1f processing_cpu_us_per_sample=%.1f pertop_cpu_s=%.3f "
            "maxrss_kib=%ld\n",
            run.elapsed_s, (unsigned long long)st.rounds, run.rate_achieved,
            (unsigned long long)st.captured, (unsigned long long)run.samples,
            (unsigned long long)run.lost, (unsigned long long)st.failed,
            (unsigned long long)run.truncated, run.threads_seen, st.stop_ns_total * per / 1e3,
            st.stop_ns_max / 1e3, st.stop_ns_median / 1e3, st.target_cpu_s,
            st.sampler_cpu_ns * per / 1e3, st.processing_cpu_ns * per / 1e3,
            (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6,
            ru.ru_maxrss);
    print_python_stats(&st, run.elapsed_s);
}

/* Waits for the end: a stop signal, the target exiting, or --duration. */
static void run_loop(struct session *s, const struct cli_opts *o, int sfd)
{
    double start = mono_s();
    double next_show = start + o->interval_s;
    for (;;) {
        double t = mono_s();
        if (session_target_exited(s))
            return;
        if (o->duration_s > 0 && t - start >= o->duration_s)
            return;
        double until = o->batch ? t + 0.1 : next_show;
        if (o->duration_s > 0 && start + o->duration_s < until)
            until = start + o->duration_s;
        if (until - t > 0.1)
            until = t + 0.1; /* notice the target exiting promptly */
        struct pollfd p = {.fd = sfd, .events = POLLIN};
        int ms = (int)((until - t) * 1000.0) + 1;
        if (poll(&p, 1, ms) > 0) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo != SIGWINCH)
                return;
        }
        if (!o->batch && mono_s() >= next_show) {
            plain_show(s, o, stdout);
            next_show += o->interval_s;
        }
    }
}

/* The full screen when a person is watching: stdout and stdin are a
 * terminal and --batch was not given. */
static struct session_config session_config_of(const struct cli_opts *o)
{
    return (struct session_config){.pid = o->pid,
                                   .command = o->command,
                                   .command_output = o->command_output,
                                   .command_stdin_null = o->command_stdin_null,
                                   .rate_hz = o->rate_hz,
                                   .idle = o->idle,
                                   .stack_size = o->stack_size,
                                   .max_depth = o->max_depth,
                                   .stacks = o->stacks,
                                   .gil = o->gil,
                                   .nonblocking = o->nonblocking,
                                   .full_filenames = o->full_filenames,
                                   .no_line_numbers = o->no_line_numbers,
                                   .native_all = o->native_all,
                                   .subprocesses = o->subprocesses,
                                   .rows = o->rows,
                                   .baseline_name = o->baseline,
                                   .source_maps = o->source_maps,
                                   .nsource_maps = o->nsource_maps,
                                   .engine_choice = o->engine,
                                   .cpu_clock = o->cpu_clock,
                                   .kernel = !o->no_kernel};
}

static bool use_screen(const struct cli_opts *o)
{
    return !o->batch && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
}

/* A launched command that ended on its own passes its status through, as
 * perf record and time do: its exit code, or 128 + the signal that killed
 * it.  One that pertop stopped (a signal to pertop, --duration, q) does not:
 * its status says what pertop did, not what the command did. */
static int command_code(const struct run_info *run)
{
    if (!run->exited || run->exit_status < 0)
        return EXIT_OK;
    if (WIFEXITED(run->exit_status))
        return WEXITSTATUS(run->exit_status);
    if (WIFSIGNALED(run->exit_status))
        return 128 + WTERMSIG(run->exit_status);
    return EXIT_OK;
}

static int finish(struct session *s, const struct cli_opts *o, bool screen)
{
    bool ended_alone = o->command && session_target_exited(s);
    session_stop(s); /* the target is detached and running from here on */
    int code = EXIT_OK;
    struct run_info run;
    session_run_info(s, &run);
    if (run.exit_msg[0])
        fprintf(stderr, "pertop: %s after %.1f s\n", run.exit_msg, run.elapsed_s);
    if (o->batch) {
        code = write_batch(s, o);
    } else if (!screen) {
        plain_show(s, o, stdout);
    }
    if (o->output && write_output(s, o) < 0 && code == EXIT_OK)
        code = EXIT_OUTPUT;
    if (o->stats)
        print_stats(s);
    return code == EXIT_OK && ended_alone ? command_code(&run) : code;
}

struct diff_ctx {
    const struct diff_table *t;
    const struct profile *before, *after;
    const struct cli_diff_opts *d;
};

static int fill_diff(FILE *f, void *arg)
{
    const struct diff_ctx *c = arg;
    return diff_write_text(f, c->t, c->before, c->after, c->d->before, c->d->after, c->d->rows);
}

/* `pertop diff BEFORE AFTER`: both profiles read whole first, so a bad
 * one stops before anything is printed. */
static int run_diff(int argc, char **argv)
{
    struct cli_diff_opts d;
    char err[512];
    switch (cli_parse_diff(argc, argv, &d, err, sizeof err)) {
    case CLI_HELP:
        fputs(cli_usage(), stdout);
        return EXIT_OK;
    case CLI_RUN:
        break;
    default:
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    setlocale(LC_NUMERIC, "C");
    struct profile *before = NULL, *after = NULL;
    int code = EXIT_USAGE;
    if (profile_load(d.before, &before, err, sizeof err) < 0 ||
        profile_load(d.after, &after, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    struct diff_table t;
    if (diff_profiles(before, after, &t) < 0) {
        fprintf(stderr, "pertop diff: out of memory comparing %s and %s\n", d.before, d.after);
        code = EXIT_FAILURE_INTERNAL;
        goto out;
    }
    struct diff_ctx c = {&t, before, after, &d};
    fflush(stdout);
    int wrc = outfile_write_fd(STDOUT_FILENO, fill_diff, &c);
    code = wrc < 0 ? EXIT_OUTPUT : EXIT_OK;
    if (wrc < 0)
        fprintf(stderr, "pertop diff: cannot write the comparison: %s\n", strerror(-wrc));
    diff_table_free(&t);
out:
    profile_free(before);
    profile_free(after);
    return code;
}

int main(int argc, char **argv)
{
    struct cli_opts o;
    char err[512];
    if (argc >= 2 && strcmp(argv[1], "diff") == 0)
        return run_diff(argc - 1, argv + 1);
    switch (cli_parse(argc, argv, &o, err, sizeof err)) {
    case CLI_HELP:
        fputs(cli_usage(), stdout);
        return EXIT_OK;
    case CLI_VERSION:
        printf("pertop %s\n", PACKAGE_VERSION);
        return EXIT_OK;
    case CLI_ERROR:
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    case CLI_RUN:
        break;
    }
    int orc = o.output ? check_output_dir(o.output) : 0;
    if (orc < 0) {
        fprintf(stderr, "pertop: cannot write %s: %s — choose a writable folder\n", o.output,
                strerror(-orc));
        return EXIT_OUTPUT;
    }
    if (o.snapshot_dir && access(o.snapshot_dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "pertop: cannot write snapshots in %s: %s — choose a writable folder\n",
                o.snapshot_dir, strerror(errno));
        return EXIT_OUTPUT;
    }
    /* a bad baseline stops here, before the target is touched */
    struct profile *baseline = NULL;
    if (o.baseline && profile_load(o.baseline, &baseline, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    /* the screen draws UTF-8 only where the locale says so; numbers keep
     * their C form so text output parses the same everywhere */
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
    raise_fd_limit();
    int sfd = setup_signals();
    if (sfd < 0) {
        fprintf(stderr, "pertop: cannot set up signal handling: %s\n", strerror(errno));
        profile_free(baseline);
        return EXIT_FAILURE_INTERNAL;
    }
    bool screen = use_screen(&o);
    if (screen && o.command) {
        /* the screen owns the terminal: a launched command writing to it
         * would scroll and garble the screen, reading from it steal keys */
        if (!o.command_output)
            o.command_output = "/dev/null";
        o.command_stdin_null = true;
    }
    struct session *s;
    int code;
    struct session_config sc = session_config_of(&o);
    if (session_start(&s, &sc, err, sizeof err, &code) < 0) {
        fprintf(stderr, "%s\n", err);
        profile_free(baseline);
        return code;
    }
    session_set_baseline(s, baseline);
    struct run_info run;
    session_run_info(s, &run);
    if (run.engine_note[0])
        fprintf(stderr, "pertop: %s\n", run.engine_note);
    /* the screen shows the note in its header; stderr would be overdrawn */
    if (session_python_note(s)[0] && !screen)
        fprintf(stderr, "%s\n", session_python_note(s));
    if (screen && tui_run(s, &o, sfd) == TUI_NO_TERMINAL)
        screen = false;
    if (!screen)
        run_loop(s, &o, sfd);
    code = finish(s, &o, screen);
    session_free(s);
    profile_free(baseline);
    close(sfd);
    return code;
}
