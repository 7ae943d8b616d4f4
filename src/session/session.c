/*
 * session.c - wiring of one profiling session (see session.h): the parts
 * are made here and joined; each runs in its own module (sampling.c,
 * processing.c, runfigs.c, output.c, launch.c).
 */
#include "src/session/session.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/clock.h"
#include "sampler/capqueue.h"
#include "sampler/proc/procfs.h"
#include "sampler/perf/perfengine.h"
#include "sampler/ptrace/ptengine.h"
#include "sampler/python/pycode_reg.h"
#include "sampler/python/pylive.h"
#include "sampler/unwind/addrspace.h"
#include "sampler/unwind/modules.h"
#include "sampler/unwind/unwind.h"
#include "src/annotate/annotate.h"
#include "src/model/intern.h"
#include "src/model/model.h"
#include "src/session/output.h"
#include "src/session/processing.h"
#include "src/session/resolve.h"
#include "src/session/runfigs.h"
#include "src/session/sampling.h"
#include "src/session/session_int.h"
#include "symbols/kallsyms.h"
#include "symbols/symbolize.h"

#define INTERN_CAPACITY (1u << 20)
#define QUEUE_BYTES     (2u << 20) /* stack buffers in flight */

/* ------------------------------------------------------------ sampler */

static void describe_exit(struct session *s, int status)
{
    s->exit_status = status;
    if (status < 0)
        snprintf(s->exit_msg, sizeof s->exit_msg, "process %d exited", (int)s->pid);
    else if (WIFEXITED(status))
        snprintf(s->exit_msg, sizeof s->exit_msg, "process %d exited with status %d", (int)s->pid,
                 WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(s->exit_msg, sizeof s->exit_msg, "process %d was killed by signal %d (%s)",
                 (int)s->pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(s->exit_msg, sizeof s->exit_msg, "process %d exited", (int)s->pid);
}

/* Sampler thread: the target exec'd, its interpreter must be found again. */
static void on_exec(void *ctx)
{
    struct session *s = ctx;
    if (s->py)
        pysample_exec(s->py);
}

/* Sampler thread, under the sampling lock: the reader's figures. */
static void on_publish(void *ctx)
{
    struct session *s = ctx;
    if (!s->py)
        return;
    pthread_mutex_lock(&s->sync);
    pysample_get_stats(s->py, &s->pystats);
    pthread_mutex_unlock(&s->sync);
}

static unsigned exec_gen(void *ctx)
{
    return sampling_exec_gen(((struct session *)ctx)->smp);
}

static unsigned rate_now(void *ctx)
{
    return sampling_rate(((struct session *)ctx)->smp);
}

/* The CPython reader, before attaching.  With --pid the interpreter is
 * looked for now, so a problem is reported at once; a launched command has
 * not exec'd yet, so it is looked for while sampling. */
static void python_setup(struct session *s, struct engine_config *ec)
{
    if (!s->pyreg)
        return;
    s->py = pysample_new(s->pid, s->pyreg, s->cfg.gil, s->child != 0);
    if (!s->py) {
        snprintf(s->py_note, sizeof s->py_note, "pertop: out of memory for the Python reader");
        return;
    }
    ec->reader = s->py;
    if (s->cfg.nonblocking)
        return; /* the live-read engine looks for it and says so */
    ec->hooks = pysample_hooks(s->py);
    ec->prompt = true;
    if (s->child)
        return;
    int rc = pysample_find(s->py, s->py_note, sizeof s->py_note);
    /* a launched command may become a Python; a --pid target is one now */
    ec->prompt = rc > 0;
    if (rc == 0 && s->cfg.stacks == STACKS_PYTHON)
        snprintf(s->py_note, sizeof s->py_note,
                 "pertop: no CPython found in process %d — --python shows nothing; "
                 "try without it",
                 (int)s->pid);
}

/* The engine asked for; auto is perf, except for the live read. */
static const struct engine_ops *first_engine(const struct session *s)
{
    if (s->cfg.engine)
        return s->cfg.engine;
    if (s->cfg.nonblocking)
        return &python_live_engine_ops;
    if (s->cfg.engine_choice == ENGINE_PTRACE)
        return &ptrace_engine_ops;
    return &perf_engine_ops;
}

/* auto: perf refused (paranoid, capabilities, seccomp, no perf_event) is
 * no failure, ptrace samples instead and the screen says why. */
static bool fall_back(const struct session *s, const struct engine_ops *ops, int rc)
{
    return ops == &perf_engine_ops && s->cfg.engine_choice == ENGINE_AUTO &&
           (rc == -ENGINE_EPERM || rc == -ENGINE_EUNSUPPORTED);
}

static void note_fallback(struct session *s, const char *why)
{
    const char *w = strncmp(why, "pertop: ", 8) ? why : why + 8;
    snprintf(s->engine_note, sizeof s->engine_note,
             "perf_event sampling refused (%s) — sampling with ptrace, which stops each thread "
             "briefly; to allow perf: sysctl kernel.perf_event_paranoid=1, or grant CAP_PERFMON",
             w);
}

static int start_sampling(struct session *s, char *err, size_t errsz)
{
    struct sampling_cfg sc = {
        .ops = first_engine(s),
        .engine = {.pid = s->pid,
                   .launched = s->child != 0,
                   .stack_size = s->cfg.stack_size,
                   .idle = s->cfg.idle,
                   .rate_hz = s->cfg.rate_hz ? s->cfg.rate_hz : 99,
                   .kernel = s->ksyms != NULL,
                   .cpu_clock = s->cfg.cpu_clock,
                   .subprocesses = s->cfg.subprocesses},
        .q = s->q,
        .on_exec = on_exec,
        .on_publish = on_publish,
        .ctx = s,
    };
    /* --python unwinds nothing natively: registers only, no stack copy */
    if (s->cfg.stacks == STACKS_PYTHON)
        sc.engine.stack_size = 0;
    python_setup(s, &sc.engine);
    int rc = sampling_start(&s->smp, &sc, err, errsz);
    if (rc < 0 && s->cfg.subprocesses && fall_back(s, sc.ops, rc)) {
        /* ptrace follows one process: say so rather than profile less */
        char why[400];
        snprintf(why, sizeof why, "%s", strncmp(err, "pertop: ", 8) ? err : err + 8);
        snprintf(err, errsz,
                 "pertop: --subprocesses needs the perf_event engine, which was refused (%s) — "
                 "allow it with sysctl kernel.perf_event_paranoid=1 or CAP_PERFMON, or profile "
                 "each process with --pid",
                 why);
        return rc;
    }
    if (rc < 0 && fall_back(s, sc.ops, rc)) {
        note_fallback(s, err);
        sampling_free(s->smp);
        s->smp = NULL;
        sc.ops = &ptrace_engine_ops;
        rc = sampling_start(&s->smp, &sc, err, errsz);
    }
    s->engine = sc.ops;
    return rc;
}

/* Kernel symbols for the kernel frames, when they are wanted and the
 * kernel shows its addresses (kptr_restrict); else no kernel frames. */
static void load_kernel_symbols(struct session *s)
{
    char err[256];
    if (!s->cfg.kernel || s->cfg.nonblocking || s->cfg.stacks == STACKS_PYTHON ||
        first_engine(s) != &perf_engine_ops)
        return;
    if (kallsyms_defer(&s->ksyms, NULL, err, sizeof err) == 0 && kallsyms_usable(s->ksyms))
        return;
    kallsyms_free(s->ksyms);
    s->ksyms = NULL;
}

/* ------------------------------------------------------------ set-up */

static int alloc_parts(struct session *s, char *err, size_t errsz)
{
    struct model_limits lim;
    model_limits_default(&lim);
    size_t slots = QUEUE_BYTES / s->cfg.stack_size;
    s->q = capqueue_new(slots < 16 ? 16 : slots, s->cfg.stack_size);
    s->reg = modreg_new();
    s->in = intern_new(INTERN_CAPACITY);
    s->model = model_new(&lim);
    if (s->cfg.stacks != STACKS_NATIVE)
        s->pyreg = pycode_reg_new(PYCODE_REG_DEFAULT);
    if (!s->q || !s->reg || !s->in || !s->model || (s->cfg.stacks != STACKS_NATIVE && !s->pyreg)) {
        snprintf(err, errsz, "pertop: out of memory while setting up");
        return -ENOMEM;
    }
    return 0;
}

static int attach_exit_code(int rc)
{
    switch (-rc) {
    case ENGINE_ENOTARGET:
        return EXIT_NO_TARGET;
    case ENGINE_EPERM:
    case ENGINE_ETRACED:
        return EXIT_NO_PERMISSION;
    default:
        return EXIT_FAILURE_INTERNAL;
    }
}

/* Symbolizer, address space and unwinder, then the processing thread.
 * Needs the target's pid (known only after a launch). */
static int start_processing(struct session *s, char *err, size_t errsz)
{
    char root[64];
    snprintf(root, sizeof root, "/proc/%d/root", (int)s->pid);
    s->sym = sym_new(root);
    s->res = s->sym ? resolver_native_new(s->in, s->reg, s->sym) : NULL;
    if (!s->res) {
        snprintf(err, errsz, "pertop: out of memory while setting up the symbolizer");
        return -1;
    }
    resolver_native_set_python(s->res, s->pyreg, s->py, s->cfg.full_filenames);
    resolver_native_set_kernel(s->res, s->ksyms);
    resolver_native_set_target(s->res, s->pid);
    s->as = as_new(s->pid, s->reg, err, errsz);
    if (!s->as)
        return -1;
    if (s->cfg.stacks != STACKS_PYTHON) {
        s->uw = unwind_new(s->as, s->cfg.max_depth, err, errsz);
        if (!s->uw)
            return -1;
    }
    s->figs = runfigs_new(s->pid);
    struct processing_cfg pc = {.q = s->q,
                                .as = s->as,
                                .uw = s->uw,
                                .reg = s->reg,
                                .in = s->in,
                                .model = s->model,
                                .model_lock = &s->lock,
                                .py = s->py,
                                .fold_python = s->cfg.stacks == STACKS_MERGED,
                                .figs = s->figs,
                                .subprocesses = s->cfg.subprocesses,
                                .max_depth = s->cfg.max_depth,
                                .exec_gen = exec_gen,
                                .rate_hz = rate_now,
                                .ctx = s};
    return processing_start(&s->proc, &pc, err, errsz);
}

static int start_threads(struct session *s, char *err, size_t errsz, int *exit_code)
{
    if (s->cfg.command) {
        struct launch_cfg lc = {s->cfg.command, s->cfg.command_output, s->cfg.command_stdin_null};
        int lrc = launch_fork(&s->launch, &lc, err, errsz);
        if (lrc < 0) {
            *exit_code = lrc == -EIO ? EXIT_OUTPUT : EXIT_LAUNCH;
            return -1;
        }
        s->child = s->pid = s->launch.pid;
    }
    load_kernel_symbols(s);
    int rc = start_sampling(s, err, errsz);
    if (rc < 0) {
        *exit_code = attach_exit_code(rc);
        launch_abort(&s->launch); /* the child reads EOF and exits */
        return -1;
    }
    /* the maps are read before a launched command runs: one that exits at
     * once must not leave them unreadable (its exec is seen later) */
    if (start_processing(s, err, errsz) < 0) {
        launch_abort(&s->launch);
        return -1;
    }
    if (s->child) {
        int e = launch_release(&s->launch);
        if (e) {
            snprintf(err, errsz, "pertop: cannot run '%s': %s — check the command name and PATH",
                     s->cfg.command[0], strerror(e));
            *exit_code = EXIT_LAUNCH;
            return -1;
        }
    }
    pthread_mutex_lock(&s->sync);
    cpumeter_start(&s->cpu, s->pid);
    pthread_mutex_unlock(&s->sync);
    sampling_go(s->smp);
    return 0;
}

static void join_command(struct session *s)
{
    size_t used = 0;
    for (char **a = s->cfg.command; *a && used + 1 < sizeof s->cmdline; a++) {
        int n = snprintf(s->cmdline + used, sizeof s->cmdline - used, "%s%s", used ? " " : "", *a);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (used >= sizeof s->cmdline)
        used = sizeof s->cmdline - 1;
    s->cmdline[used] = '\0';
}

int session_start(struct session **out, const struct session_config *cfg, char *err, size_t errsz,
                  int *exit_code)
{
    *out = NULL;
    *exit_code = EXIT_FAILURE_INTERNAL;
    struct session *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errsz, "pertop: out of memory");
        return -ENOMEM;
    }
    s->exit_status = -1;
    s->cfg = *cfg;
    s->native_all = cfg->native_all;
    s->pid = cfg->pid;
    s->launch = (struct launch){0, -1, -1};
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->sync, NULL);
    pthread_mutex_init(&s->verdict_lock, NULL);
    if (cfg->command)
        join_command(s);
    else if (procfs_cmdline(s->pid, s->cmdline, sizeof s->cmdline) < 0)
        s->cmdline[0] = '\0';
    int rc = -1;
    if (alloc_parts(s, err, errsz) == 0)
        rc = start_threads(s, err, errsz, exit_code);
    if (rc < 0) {
        session_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

/* ------------------------------------------------------------ running */

bool session_target_exited(struct session *s)
{
    return s->smp && sampling_exited(s->smp);
}

double session_elapsed(struct session *s)
{
    if (!s->smp)
        return 0.0;
    struct sampling_figs f;
    sampling_get(s->smp, &f);
    uint64_t t0 = f.t0_ns, t1 = f.t_end_ns ? f.t_end_ns : clock_mono_ns();
    return t0 && t1 > t0 ? (double)(t1 - t0) / 1e9 : 0.0;
}

pid_t session_pid(const struct session *s)
{
    return s->pid;
}

/* The sampler thread has ended: how the target ended, if it did. */
static void note_exit(struct session *s)
{
    struct sampling_figs f;
    sampling_get(s->smp, &f);
    pthread_mutex_lock(&s->sync);
    if (f.exited && !(s->child && f.exit_status < 0))
        describe_exit(s, f.exit_status);
    pthread_mutex_unlock(&s->sync);
}

static void reap_child(struct session *s, bool terminate)
{
    int status;
    if (s->child && launch_reap(s->child, terminate, &status)) {
        pthread_mutex_lock(&s->sync);
        if (!s->exit_msg[0])
            describe_exit(s, status);
        pthread_mutex_unlock(&s->sync);
    }
    s->child = 0;
}

void session_stop(struct session *s)
{
    if (s->stopped)
        return;
    s->stopped = true;
    if (s->smp) {
        sampling_stop(s->smp); /* detaches before returning; closes the queue */
        pthread_mutex_lock(&s->sync);
        cpumeter_freeze(&s->cpu); /* the target runs on, unsampled */
        pthread_mutex_unlock(&s->sync);
        note_exit(s);
    } else if (s->q) {
        capqueue_close(s->q);
    }
    processing_join(s->proc);
    runfigs_take(s->figs); /* the last reading, while a --pid target still runs */
    pthread_mutex_lock(&s->verdict_lock);
    s->verdict_ns = 0; /* the final outputs judge the whole run */
    pthread_mutex_unlock(&s->verdict_lock);
    reap_child(s, !session_target_exited(s));
}

int session_write(struct session *s, FILE *f, enum output_format fmt, bool threads)
{
    struct run_info run;
    session_run_info(s, &run);
    pthread_mutex_lock(&s->lock);
    uint32_t upto = intern_count(s->in);
    pthread_mutex_unlock(&s->lock);
    /* symbolize outside the lock: the processing thread keeps going */
    resolver_native_prepare(s->res, upto);
    struct resolver r = resolver_native_iface(s->res);
    pthread_mutex_lock(&s->lock);
    struct model *m = session_view_model(s);
    pthread_mutex_unlock(&s->lock);
    struct output_src src = {.model = m,
                             .in = s->in,
                             .lock = &s->lock,
                             .reg = s->reg,
                             .r = &r,
                             .run = &run,
                             .figs = s->figs,
                             .baseline = s->baseline,
                             .baseline_name = s->cfg.baseline_name,
                             .rows = s->cfg.rows,
                             .line_numbers = !s->cfg.no_line_numbers};
    return output_write(f, &src, fmt, threads);
}

void session_set_baseline(struct session *s, const struct profile *p)
{
    s->baseline = p;
}

int session_run_figures(struct session *s, struct prof_meta *out)
{
    runfigs_meta(s->figs, out);
    return 0;
}

void session_set_rate(struct session *s, unsigned hz)
{
    if (hz < RATE_MIN)
        hz = RATE_MIN;
    if (hz > RATE_MAX)
        hz = RATE_MAX;
    sampling_set_rate(s->smp, hz);
}

unsigned session_rate(struct session *s)
{
    return s->smp ? sampling_rate(s->smp) : s->cfg.rate_hz;
}

void session_zero(struct session *s)
{
    pthread_mutex_lock(&s->lock);
    if (s->proc)
        processing_zero(s->proc);
    else
        model_zero(s->model);
    pthread_mutex_unlock(&s->lock);
}

void session_set_native_all(struct session *s, bool on)
{
    pthread_mutex_lock(&s->lock);
    s->native_all = on;
    pthread_mutex_unlock(&s->lock);
}

bool session_native_all(struct session *s)
{
    pthread_mutex_lock(&s->lock);
    bool on = s->native_all;
    pthread_mutex_unlock(&s->lock);
    return on;
}

bool session_folds_python(struct session *s)
{
    pthread_mutex_lock(&s->lock);
    bool on = s->proc && processing_folds(s->proc);
    pthread_mutex_unlock(&s->lock);
    return on;
}

const char *session_python_note(const struct session *s)
{
    return s->py_note;
}

void session_free(struct session *s)
{
    if (!s)
        return;
    session_stop(s);
    sampling_free(s->smp);
    processing_free(s->proc);
    annot_env_free(s->annot);
    resolver_native_free(s->res);
    pysample_free(s->py);
    pycode_reg_free(s->pyreg);
    sym_free(s->sym);
    unwind_free(s->uw);
    as_free(s->as);
    model_free(s->model);
    intern_free(s->in);
    modreg_free(s->reg);
    capqueue_free(s->q);
    runfigs_free(s->figs);
    kallsyms_free(s->ksyms);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->sync);
    pthread_mutex_destroy(&s->verdict_lock);
    free(s);
}
