/*
 * session.c - wiring of one profiling session (see session.h).
 */
#include "src/session/session.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sampler/unwind/addrspace.h"
#include "src/annotate/annotate.h"
#include "sampler/capqueue.h"
#include "common/clock.h"
#include "config.h"
#include "src/profile/diff.h"
#include "src/export/export_pprof.h"
#include "src/export/export_speedscope.h"
#include "src/export/export_svg.h"
#include "src/model/intern.h"
#include "src/model/liveview.h"
#include "src/model/model.h"
#include "sampler/unwind/modules.h"
#include "sampler/proc/procfs.h"
#include "sampler/proc/procstat.h"
#include "src/profile/profile.h"
#include "sampler/ptrace/ptsampler.h"
#include "sampler/python/pycode_reg.h"
#include "sampler/python/pysample.h"
#include "src/export/report.h"
#include "src/session/resolve.h"
#include "src/export/snapshot.h"
#include "symbols/symbolize.h"
#include "sampler/unwind/unwind.h"

#define INTERN_CAPACITY (1u << 20)
#define QUEUE_BYTES     (2u << 20)   /* stack buffers in flight */
#define REFRESH_MIN_NS  200000000ull /* re-read maps at most 5 times a second */
#define WAIT_SLICE_NS   50000000ull  /* how often the sampler checks for stop */
#define LEAF_SLOTS      8192u        /* threads whose latest leaf is kept (2x max threads) */
#define MERGED_MAX      (UNWIND_DEPTH_MAX + 1 + CAPTURE_PY_MAX)
#define FIGS_MIN_NS     250000000ull      /* run figures: a procstat reading every 250 ms, */
#define FIGS_MAX_NS     1000000000ull     /* up to 1 s for a process whose reading is slow */
#define PY_MARK         (MODULE_NONE - 1) /* in mods[]: a Python frame, vaddr = id << 32 | line */
#define NB_ALIVE_NS     10000000ull       /* --nonblocking: is the target still there, this often */
#define NB_PUBLISH_NS   50000000ull       /* --nonblocking: statistics copied this often */

enum run_state { RUN_WAIT, RUN_GO, RUN_ABORT };

struct session {
    struct cli_opts opts;
    pid_t pid;
    pid_t child; /* launched command, 0 when attached by --pid */
    char cmdline[1024];

    struct capqueue *q;
    struct modreg *reg;
    struct addrspace *as;
    struct unwinder *uw;
    struct interner *in;
    struct model *model;
    struct symbolizer *sym;
    struct native_resolver *res;
    frame_id overflow_frame, truncated_frame, unknown_frame;
    struct pycode_reg *pyreg; /* NULL with --native */
    struct pysample *py;      /* made by the sampler thread before attaching */
    char py_note[512];        /* why Python frames are missing, for the user */
    pthread_mutex_t lock;     /* model, interner and leaves */
    struct lv_leaf *leaves;   /* open addressing by tid, LEAF_SLOTS, tid 0 = empty */
    size_t nleaves;
    atomic_uint rate_hz; /* the screen may change it while sampling */

    pthread_t sampler_th, proc_th;
    bool sampler_started, proc_started, stopped;
    atomic_bool stop;
    atomic_bool exited;
    atomic_uint exec_gen;

    /* attach hand-off between the sampler thread and session_start */
    pthread_mutex_t sync;
    pthread_cond_t cond;
    int attach_done; /* 0 pending, 1 done */
    int attach_rc;
    char attach_err[512];
    enum run_state run;

    /* statistics, written by their threads under sync */
    struct ptsampler_stats pstats;
    uint64_t processed, truncated;
    uint64_t py_samples, py_unmerged, py_torn;
    uint64_t nb_torn;              /* --nonblocking: torn walks, dropped */
    struct pysample_stats pystats; /* copied from the sampler thread */
    uint64_t sampler_cpu_ns, processing_cpu_ns;
    int exit_status;
    char exit_msg[160];
    uint64_t t0_ns, t_end_ns;

    /* run figures (report.h): procstat readings by the processing thread
     * while it runs, then by the caller; figs under sync */
    struct procstat *figs_ps;
    struct procstat_snapshot *figs_snap;
    uint64_t figs_last_ns, figs_every_ns;
    struct report_figs figs;
    const struct profile *baseline; /* --baseline, owned by the caller */
    struct annot_env *annot;        /* made by session_annot_env */
};

/* xorshift64*: jitter only, not security. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ull;
}

/* ------------------------------------------------------------ sampler */

static void describe_exit(struct session *s, int status)
{
    s->exit_status = status;
    if (WIFEXITED(status))
        snprintf(s->exit_msg, sizeof s->exit_msg, "process %d exited with status %d", (int)s->pid,
                 WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(s->exit_msg, sizeof s->exit_msg, "process %d was killed by signal %d (%s)",
                 (int)s->pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(s->exit_msg, sizeof s->exit_msg, "process %d exited", (int)s->pid);
}

static void publish_stats(struct session *s, struct ptsampler *ps)
{
    pthread_mutex_lock(&s->sync);
    ptsampler_get_stats(ps, &s->pstats);
    if (s->py)
        pysample_get_stats(s->py, &s->pystats);
    pthread_mutex_unlock(&s->sync);
}

/* Handles events until deadline, in slices so a stop request is seen soon.
 * Returns false when the target is gone. */
static bool wait_until(struct session *s, struct ptsampler *ps, uint64_t deadline)
{
    for (;;) {
        uint64_t t = clock_mono_ns();
        if (t >= deadline || atomic_load(&s->stop))
            return true;
        uint64_t slice = deadline - t < WAIT_SLICE_NS ? deadline : t + WAIT_SLICE_NS;
        enum ptsampler_state st = ptsampler_wait(ps, slice);
        if (st == PTS_EXITED)
            return false;
        if (st == PTS_EXECED) {
            atomic_fetch_add(&s->exec_gen, 1);
            if (s->py)
                pysample_exec(s->py); /* a new program: find its interpreter again */
            ptsampler_ack_exec(ps);
        }
    }
}

/* Whether the start has been decided: *go true to sample, false to give
 * up (aborted or stopped). */
static bool run_decided(struct session *s, bool *go)
{
    pthread_mutex_lock(&s->sync);
    enum run_state r = s->run;
    pthread_mutex_unlock(&s->sync);
    *go = r == RUN_GO;
    return *go || r == RUN_ABORT || atomic_load(&s->stop);
}

/* Before sampling starts (launch mode: until the command has exec'd), keep
 * handling events so the target is never held up. */
static bool wait_for_go(struct session *s, struct ptsampler *ps)
{
    bool go;
    while (!run_decided(s, &go)) {
        if (!wait_until(s, ps, clock_mono_ns() + 2000000ull)) {
            atomic_store(&s->exited, true);
            return false;
        }
    }
    return go;
}

static void sample_loop(struct session *s, struct ptsampler *ps)
{
    uint64_t rnd = clock_mono_ns() ^ ((uint64_t)s->pid << 32) ^ 0x9e3779b97f4a7c15ull;
    uint64_t next = clock_mono_ns();
    while (!atomic_load(&s->stop)) {
        uint64_t period = 1000000000ull / atomic_load(&s->rate_hz);
        ptsampler_sample(ps, s->q);
        /* +-10% jitter keeps the clock out of lockstep with the target */
        uint64_t jitter = period / 5 ? next_random(&rnd) % (period / 5) : 0;
        next += period - period / 10 + jitter;
        uint64_t t = clock_mono_ns();
        if (next < t)
            next = t; /* fell behind: do not burst to catch up */
        if (!wait_until(s, ps, next)) {
            atomic_store(&s->exited, true);
            break;
        }
        publish_stats(s, ps);
    }
}

/* The Python reader, before attaching: its hooks go into the config.  With
 * --pid the interpreter is looked for now, so a problem is reported at
 * once; a launched command has not exec'd yet, so it is looked for while
 * sampling. */
static void python_setup(struct session *s, struct ptsampler_config *cfg)
{
    if (!s->pyreg)
        return;
    s->py = pysample_new(s->pid, s->pyreg, s->opts.gil, s->child != 0);
    if (!s->py) {
        snprintf(s->py_note, sizeof s->py_note, "pertop: out of memory for the Python reader");
        return;
    }
    cfg->hooks = pysample_hooks(s->py);
    if (s->child)
        return;
    int rc = pysample_find(s->py, s->py_note, sizeof s->py_note);
    if (rc == 0 && s->opts.stacks == STACKS_PYTHON)
        snprintf(s->py_note, sizeof s->py_note,
                 "pertop: no CPython found in process %d — --python shows nothing; "
                 "try without it",
                 (int)s->pid);
}

/* ------------------------------------------------- nonblocking sampler */

/* --python --nonblocking: nothing is ever stopped and nothing attached
 * (process_vm_readv needs the same permission as ptrace, no more); the
 * reader finds the threads in the interpreter's own list.  Before
 * sampling: the interpreter found (--pid) and its memory readable. */
static int nb_attach(struct session *s, char *err, size_t errsz)
{
    s->py = pysample_new(s->pid, s->pyreg, s->opts.gil, s->child != 0);
    if (!s->py) {
        snprintf(err, errsz, "pertop: out of memory for the Python reader");
        return -ENOMEM;
    }
    if (s->child)
        return 0; /* not exec'd yet: looked for while sampling */
    if (!pysample_nb_alive(s->py)) {
        snprintf(err, errsz, "pertop: no process with PID %d — check the PID with ps or pgrep",
                 (int)s->pid);
        return -ESRCH;
    }
    int rc = pysample_find(s->py, err, errsz);
    if (rc == 0) {
        snprintf(err, errsz,
                 "pertop: no CPython found in process %d — --nonblocking reads Python frames "
                 "only; drop --nonblocking and --python to profile its native frames",
                 (int)s->pid);
        return -ESRCH;
    }
    return rc < 0 ? rc : pysample_nb_check(s->py, err, errsz);
}

static void nb_publish(struct session *s, const struct pysample_nb_counts *nc)
{
    pthread_mutex_lock(&s->sync);
    s->pstats.rounds = nc->rounds;
    s->pstats.samples = nc->samples;
    s->pstats.lost = nc->lost;
    s->pstats.skipped_idle = nc->skipped_idle;
    s->pstats.failed = nc->failed;
    s->pstats.threads = nc->threads;
    if (nc->threads > s->pstats.threads_seen)
        s->pstats.threads_seen = nc->threads;
    s->nb_torn = nc->torn;
    pysample_get_stats(s->py, &s->pystats);
    pthread_mutex_unlock(&s->sync);
}

static void nb_sleep_until(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000ull), (long)(t % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static bool nb_wait_for_go(struct session *s)
{
    bool go;
    while (!run_decided(s, &go))
        nb_sleep_until(clock_mono_ns() + 2000000ull);
    return go;
}

static void nb_loop(struct session *s)
{
    struct pysample_nb_counts nc = {0};
    uint64_t rnd = clock_mono_ns() ^ ((uint64_t)s->pid << 32) ^ 0x9e3779b97f4a7c15ull;
    uint64_t next = clock_mono_ns(), alive_at = 0, published_at = 0;
    /* 10 kHz means 100 us sleeps: the default 50 us timer slack would
     * cost half the rate */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    while (!atomic_load(&s->stop)) {
        uint64_t period = 1000000000ull / atomic_load(&s->rate_hz);
        pysample_nb_round(s->py, s->q, s->opts.idle, &nc);
        uint64_t t = clock_mono_ns();
        if (t - alive_at >= NB_ALIVE_NS) {
            alive_at = t;
            if (!pysample_nb_alive(s->py)) {
                if (!s->child)
                    snprintf(s->exit_msg, sizeof s->exit_msg, "process %d exited", (int)s->pid);
                atomic_store(&s->exited, true);
                break;
            }
        }
        if (t - published_at >= NB_PUBLISH_NS) {
            published_at = t;
            nb_publish(s, &nc);
        }
        uint64_t jitter = period / 5 ? next_random(&rnd) % (period / 5) : 0;
        next += period - period / 10 + jitter;
        if (next < t)
            next = t; /* fell behind: do not burst to catch up */
        nb_sleep_until(next);
    }
    nb_publish(s, &nc);
}

/* Tells session_start, waiting in wait_attached, how the attach went. */
static void publish_attach(struct session *s, int rc, const char *err)
{
    pthread_mutex_lock(&s->sync);
    s->attach_rc = rc;
    snprintf(s->attach_err, sizeof s->attach_err, "%s", err);
    s->attach_done = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->sync);
}

static void *nb_sampler_main(struct session *s)
{
    char err[512] = "";
    int rc = nb_attach(s, err, sizeof err);

    publish_attach(s, rc, err);
    if (rc >= 0 && nb_wait_for_go(s)) {
        s->t0_ns = clock_mono_ns();
        nb_loop(s);
    }
    pthread_mutex_lock(&s->sync);
    s->t_end_ns = clock_mono_ns();
    s->sampler_cpu_ns = clock_thread_cpu_ns();
    pthread_mutex_unlock(&s->sync);
    capqueue_close(s->q);
    return NULL;
}

static void *sampler_main(void *arg)
{
    struct session *s = arg;
    if (s->opts.nonblocking)
        return nb_sampler_main(s);
    struct ptsampler_config cfg = {
        .pid = s->pid, .stack_size = s->opts.stack_size, .idle = s->opts.idle};
    /* --python unwinds nothing natively: registers only, no stack copy */
    if (s->opts.stacks == STACKS_PYTHON)
        cfg.stack_size = 0;
    python_setup(s, &cfg);
    struct ptsampler *ps = NULL;
    char err[512] = "";
    int rc = ptsampler_attach(&ps, &cfg, err, sizeof err);

    publish_attach(s, rc, err);
    if (rc < 0) {
        capqueue_close(s->q);
        return NULL;
    }
    if (wait_for_go(s, ps)) {
        s->t0_ns = clock_mono_ns();
        sample_loop(s, ps);
    }
    publish_stats(s, ps);
    pthread_mutex_lock(&s->sync);
    if (atomic_load(&s->exited))
        describe_exit(s, ptsampler_exit_status(ps));
    s->t_end_ns = clock_mono_ns();
    s->sampler_cpu_ns = clock_thread_cpu_ns();
    pthread_mutex_unlock(&s->sync);
    ptsampler_detach(ps);
    capqueue_close(s->q);
    return NULL;
}

/* --------------------------------------------------------- processing */

struct proc_ctx {
    struct unwind_result ur;
    uint32_t mods[MERGED_MAX];
    uint64_t vaddrs[MERGED_MAX];
    uint32_t nat_mods[UNWIND_DEPTH_MAX + 1]; /* native frames before merging */
    uint64_t nat_vaddrs[UNWIND_DEPTH_MAX + 1];
    bool is_eval[UNWIND_DEPTH_MAX + 1];
    frame_id frames[MERGED_MAX];
    uint8_t modpy[MODREG_MAX]; /* 0 not checked, 1 not the interpreter's file, 2 it is */
    uint64_t last_refresh_ns;
    unsigned seen_exec_gen;
    unsigned seen_py_gen; /* pysample_generation: the interpreter's file may change */
};

static const struct as_region *find_region(struct session *s, struct proc_ctx *p, uint64_t addr)
{
    const struct as_region *r = as_find(s->as, addr);
    if (r)
        return r;
    uint64_t t = clock_mono_ns();
    if (t - p->last_refresh_ns < REFRESH_MIN_NS)
        return NULL;
    p->last_refresh_ns = t; /* a miss: maybe a dlopen since the last read */
    if (as_refresh(s->as) < 0)
        return NULL;
    return as_find(s->as, addr);
}

/* Turns the unwound pcs into (module, vaddr) pairs; MODULE_NONE = unknown. */
static size_t locate_frames(struct session *s, struct proc_ctx *p)
{
    size_t n = p->ur.n;
    for (size_t i = 0; i < n; i++) {
        /* return addresses point after the call: look up the call itself */
        uint64_t addr = i == 0 ? p->ur.pcs[i] : p->ur.pcs[i] - 1;
        const struct as_region *r = find_region(s, p, addr);
        if (r && r->img) {
            p->nat_mods[i] = r->img->module_id;
            p->nat_vaddrs[i] = addr - r->bias;
        } else {
            p->nat_mods[i] = MODULE_NONE;
            p->nat_vaddrs[i] = addr;
        }
    }
    return n;
}

/* Is module mod the file that holds the interpreter?  Cached per module:
 * the answer is a string compare, asked for every frame. */
static bool is_python_module(struct session *s, struct proc_ctx *p, uint32_t mod)
{
    if (mod >= MODREG_MAX || !pysample_ready(s->py))
        return false;
    if (pysample_generation(s->py) != p->seen_py_gen) {
        p->seen_py_gen = pysample_generation(s->py); /* found again after an exec */
        memset(p->modpy, 0, sizeof p->modpy);
    }
    if (!p->modpy[mod]) {
        const struct module *m = modreg_get(s->reg, mod);
        p->modpy[mod] = m && strcmp(m->name, pysample_module_path(s->py)) == 0 ? 2 : 1;
    }
    return p->modpy[mod] == 2;
}

/* Marks the eval-loop frames; returns how many. */
static size_t mark_eval(struct session *s, struct proc_ctx *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        p->is_eval[i] =
            is_python_module(s, p, p->nat_mods[i]) && pysample_is_eval(s->py, p->nat_vaddrs[i]);
        k += p->is_eval[i];
    }
    return k;
}

static void put_native(struct proc_ctx *p, size_t *o, size_t i)
{
    p->mods[*o] = p->nat_mods[i];
    p->vaddrs[*o] = p->nat_vaddrs[i];
    (*o)++;
}

static void put_python(struct proc_ctx *p, size_t *o, const struct capture_pyframe *f)
{
    p->mods[*o] = PY_MARK;
    p->vaddrs[*o] = (uint64_t)f->id << 32 | (uint32_t)f->line;
    (*o)++;
}

/*
 * The merged stack, innermost first, into mods/vaddrs.  Each eval-loop
 * frame is replaced by the Python frames it runs: one each when the counts
 * agree (up to 3.10 every Python call has its own eval frame), all of them
 * when there is a single eval frame (3.11+ runs Python-to-Python calls in
 * one).  Otherwise the frames cannot be placed without the entry markers
 * of each interpreter frame: both stacks are kept, Python frames innermost,
 * and *unmerged is set.  n native frames, none when --python.
 */
/* Runs of Python frames that each eval-loop invocation runs (3.12+ marks
 * the outermost frame of each run); 0 when the chain carries no marks. */
static size_t count_runs(const struct capture *c)
{
    size_t runs = 0;
    for (size_t j = 0; j < c->py_n; j++)
        runs += c->py[j].entry != 0;
    return runs;
}

/* Each eval frame, innermost first, takes the next run of Python frames:
 * up to and including the next frame marked as a run's entry. */
static size_t merge_runs(struct proc_ctx *p, const struct capture *c, size_t n)
{
    size_t o = 0, next = 0;
    for (size_t i = 0; i < n; i++) {
        if (!p->is_eval[i]) {
            put_native(p, &o, i);
            continue;
        }
        while (next < c->py_n) {
            bool last = c->py[next].entry != 0;
            put_python(p, &o, &c->py[next++]);
            if (last)
                break;
        }
    }
    return o;
}

static size_t merge_frames(struct session *s, struct proc_ctx *p, const struct capture *c, size_t n,
                           bool *unmerged)
{
    size_t m = (c->flags & CAPTURE_PY) ? c->py_n : 0, o = 0;
    size_t k = m && n ? mark_eval(s, p, n) : 0;
    *unmerged = false;
    if (m && n && k > 1 && k != m && count_runs(c) == k)
        return merge_runs(p, c, n);
    if (m && n && (k == m || k == 1)) {
        size_t next = 0; /* next Python frame, innermost first */
        for (size_t i = 0; i < n; i++) {
            if (!p->is_eval[i]) {
                put_native(p, &o, i);
                continue;
            }
            size_t take = k == m ? 1 : m;
            for (size_t j = 0; j < take && next < m; j++)
                put_python(p, &o, &c->py[next++]);
        }
        return o;
    }
    for (size_t j = 0; j < m; j++)
        put_python(p, &o, &c->py[j]);
    for (size_t i = 0; i < n; i++)
        put_native(p, &o, i);
    *unmerged = m && n;
    return o;
}

/* The node of a thread's latest sample, for the screen's "function it is in
 * now".  A full table just stops remembering new threads. */
static void remember_leaf(struct session *s, pid_t tid, uint32_t node)
{
    uint32_t i = ((uint32_t)tid * 2654435761u) & (LEAF_SLOTS - 1);
    for (;; i = (i + 1) & (LEAF_SLOTS - 1)) {
        struct lv_leaf *e = &s->leaves[i];
        if (e->tid == tid) {
            e->node = node;
            return;
        }
        if (e->tid == 0)
            break;
    }
    if (s->nleaves * 2 >= LEAF_SLOTS)
        return;
    s->leaves[i] = (struct lv_leaf){tid, node};
    s->nleaves++;
}

static void add_sample(struct session *s, struct proc_ctx *p, const struct capture *c, size_t n,
                       bool truncated)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        if (p->mods[i] == PY_MARK)
            p->frames[i] = intern_frame(s->in, FRAME_PYTHON, (uint32_t)(p->vaddrs[i] >> 32),
                                        (uint32_t)p->vaddrs[i]);
        else
            p->frames[i] = p->mods[i] == MODULE_NONE
                               ? s->unknown_frame
                               : intern_frame(s->in, FRAME_NATIVE, p->mods[i], p->vaddrs[i]);
    }
    if (truncated)
        p->frames[n++] = s->truncated_frame;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (p->frames[i] != FRAME_NONE)
            p->frames[kept++] = p->frames[i];
    frame_id tf = intern_frame(s->in, FRAME_THREAD, 0, (uint64_t)c->tid);
    uint32_t kind = c->state == 'R' ? SAMPLE_ONCPU : SAMPLE_WAITING;
    if (truncated)
        kind |= SAMPLE_TRUNCATED;
    uint32_t leaf = model_add(s->model, c->tid, c->comm, c->state, tf, p->frames, kept, kind,
                              c->time_ns, s->overflow_frame);
    remember_leaf(s, c->tid, leaf);
    pthread_mutex_unlock(&s->lock);
}

static void process_one(struct session *s, struct proc_ctx *p, struct capture *c)
{
    unsigned gen = atomic_load(&s->exec_gen);
    if (gen != p->seen_exec_gen) {
        p->seen_exec_gen = gen; /* exec: a new program, new maps */
        memset(p->modpy, 0, sizeof p->modpy);
        as_refresh(s->as);
        p->last_refresh_ns = clock_mono_ns();
    }
    size_t n = 0;
    bool truncated = false, unmerged = false;
    if (s->opts.stacks != STACKS_PYTHON) {
        unwind_capture(s->uw, c, &p->ur);
        n = locate_frames(s, p);
        truncated = (p->ur.flags & UNWIND_TRUNCATED) != 0;
    }
    n = merge_frames(s, p, c, n, &unmerged);
    truncated |= (c->flags & CAPTURE_PY_TRUNC) != 0;
    /* the slot goes back before the lock is taken; the Python frames were
     * copied into mods/vaddrs by the merge */
    struct capture meta;
    memcpy(&meta, c, offsetof(struct capture, py_n));
    meta.stack = NULL;
    uint32_t flags = c->flags;
    capqueue_release(s->q);
    add_sample(s, p, &meta, n, truncated);
    pthread_mutex_lock(&s->sync);
    s->processed++;
    s->truncated += truncated;
    s->py_samples += (flags & CAPTURE_PY) != 0;
    s->py_unmerged += unmerged;
    s->py_torn += (flags & CAPTURE_PY_TORN) != 0;
    pthread_mutex_unlock(&s->sync);
}

/* One procstat reading into the run figures: when processing starts, every
 * figs_every_ns while it runs, and at the end (session_stop).  Often, so a
 * command that exits loses little of its figures (its last reading is the
 * last before the exit), but at most 1% of this thread's time: a process
 * with thousands of threads takes milliseconds to read.  A collector of its
 * own beside the screen's, so neither disturbs the other's rates. */
static void take_figures(struct session *s)
{
    uint64_t t0 = clock_mono_ns();
    s->figs_last_ns = t0;
    s->figs_every_ns = FIGS_MAX_NS;
    if (!s->figs_ps || !s->figs_snap || procstat_read(s->figs_ps, s->figs_snap) < 0)
        return;
    uint64_t every = 100 * (clock_mono_ns() - t0);
    s->figs_every_ns = every < FIGS_MIN_NS   ? FIGS_MIN_NS
                       : every > FIGS_MAX_NS ? FIGS_MAX_NS
                                             : every;
    pthread_mutex_lock(&s->sync);
    report_figs_add(&s->figs, s->figs_snap);
    pthread_mutex_unlock(&s->sync);
}

static void *processing_main(void *arg)
{
    struct session *s = arg;
    struct proc_ctx *p = calloc(1, sizeof *p);
    if (!p) {
        atomic_store(&s->stop, true);
        return NULL;
    }
    p->seen_exec_gen = atomic_load(&s->exec_gen);
    take_figures(s);
    for (;;) {
        struct capture *c = capqueue_take(s->q, 100);
        if (clock_mono_ns() - s->figs_last_ns >= s->figs_every_ns)
            take_figures(s);
        if (c)
            process_one(s, p, c);
        else if (capqueue_closed(s->q))
            break;
    }
    pthread_mutex_lock(&s->sync);
    s->processing_cpu_ns = clock_thread_cpu_ns();
    pthread_mutex_unlock(&s->sync);
    free(p);
    return NULL;
}

/* ------------------------------------------------------------- launch */

static void close_if_open(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* Opened before the fork, so a bad --command-output is reported as such. */
static int open_command_io(struct session *s, int *out_fd, int *in_fd, char *err, size_t errsz)
{
    if (s->opts.command_output) {
        *out_fd = open(s->opts.command_output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (*out_fd < 0) {
            snprintf(err, errsz, "pertop: cannot write the command's output to %s: %s",
                     s->opts.command_output, strerror(errno));
            return -1;
        }
    }
    if (s->opts.command_stdin_null)
        *in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return 0;
}

/* In the child: dup2 clears close-on-exec on the copies. */
static void redirect_command_io(int out_fd, int in_fd)
{
    if (out_fd >= 0) {
        dup2(out_fd, STDOUT_FILENO);
        dup2(out_fd, STDERR_FILENO);
    }
    if (in_fd >= 0)
        dup2(in_fd, STDIN_FILENO);
}

/* The child waits for "go" on a pipe, so the sampler can seize it before it
 * runs a single instruction of the command; exec failures come back on a
 * close-on-exec pipe. */
static int launch(struct session *s, int *go_fd, int *err_fd, char *err, size_t errsz)
{
    int go[2], ep[2];
    if (pipe2(go, O_CLOEXEC) < 0)
        goto fail;
    if (pipe2(ep, O_CLOEXEC) < 0) {
        close(go[0]);
        close(go[1]);
        goto fail;
    }
    int out_fd = -1, in_fd = -1;
    if (open_command_io(s, &out_fd, &in_fd, err, errsz) < 0) {
        close(go[0]), close(go[1]), close(ep[0]), close(ep[1]);
        return -EIO;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(go[0]), close(go[1]), close(ep[0]), close(ep[1]);
        close_if_open(out_fd), close_if_open(in_fd);
        goto fail;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGCHLD, SIG_DFL);
        close(go[1]);
        close(ep[0]);
        redirect_command_io(out_fd, in_fd);
        char b;
        if (read(go[0], &b, 1) != 1)
            _exit(127); /* pertop went away before starting us */
        execvp(s->opts.command[0], s->opts.command);
        int e = errno;
        if (write(ep[1], &e, sizeof e) < 0)
            _exit(127);
        _exit(127);
    }
    close(go[0]);
    close(ep[1]);
    close_if_open(out_fd), close_if_open(in_fd);
    s->child = s->pid = pid;
    *go_fd = go[1];
    *err_fd = ep[0];
    return 0;
fail:
    snprintf(err, errsz, "pertop: cannot start '%s': %s", s->opts.command[0], strerror(errno));
    return -errno;
}

/* Lets the child exec; returns 0, or the exec errno. */
static int release_child(int go_fd, int err_fd)
{
    int e = 0;
    if (write(go_fd, "g", 1) != 1)
        e = errno;
    close(go_fd);
    ssize_t n;
    do
        n = read(err_fd, &e, sizeof e);
    while (n < 0 && errno == EINTR);
    close(err_fd);
    return n == (ssize_t)sizeof e ? e : 0;
}

static void reap_child(struct session *s, bool terminate)
{
    if (!s->child)
        return;
    int status;
    pid_t r = waitpid(s->child, &status, WNOHANG);
    if (r == 0 && terminate) {
        kill(s->child, SIGTERM);
        for (int i = 0; i < 300 && r == 0; i++) {
            usleep(10000);
            r = waitpid(s->child, &status, WNOHANG);
        }
    }
    if (r == s->child && !s->exit_msg[0])
        describe_exit(s, status);
    s->child = 0;
}

static void join_command(struct session *s)
{
    size_t used = 0;
    for (char **a = s->opts.command; *a && used + 1 < sizeof s->cmdline; a++) {
        int n = snprintf(s->cmdline + used, sizeof s->cmdline - used, "%s%s", used ? " " : "", *a);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (used >= sizeof s->cmdline)
        used = sizeof s->cmdline - 1;
    s->cmdline[used] = '\0';
}

/* ------------------------------------------------------------ set-up */

static int alloc_parts(struct session *s, char *err, size_t errsz)
{
    struct model_limits lim;
    model_limits_default(&lim);
    size_t slots = QUEUE_BYTES / s->opts.stack_size;
    s->q = capqueue_new(slots < 16 ? 16 : slots, s->opts.stack_size);
    s->reg = modreg_new();
    s->in = intern_new(INTERN_CAPACITY);
    s->model = model_new(&lim);
    s->leaves = calloc(LEAF_SLOTS, sizeof(*s->leaves));
    if (s->opts.stacks != STACKS_NATIVE)
        s->pyreg = pycode_reg_new(PYCODE_REG_DEFAULT);
    if (!s->q || !s->reg || !s->in || !s->model || !s->leaves ||
        (s->opts.stacks != STACKS_NATIVE && !s->pyreg)) {
        snprintf(err, errsz, "pertop: out of memory while setting up");
        return -ENOMEM;
    }
    s->overflow_frame = intern_frame(s->in, FRAME_SPECIAL, SPECIAL_OVERFLOW, 0);
    s->truncated_frame = intern_frame(s->in, FRAME_SPECIAL, SPECIAL_TRUNCATED, 0);
    s->unknown_frame = intern_frame(s->in, FRAME_SPECIAL, SPECIAL_UNKNOWN_ADDR, 0);
    return 0;
}

static int wait_attached(struct session *s, char *err, size_t errsz)
{
    pthread_mutex_lock(&s->sync);
    while (!s->attach_done)
        pthread_cond_wait(&s->cond, &s->sync);
    int rc = s->attach_rc;
    if (rc < 0)
        snprintf(err, errsz, "%s", s->attach_err);
    pthread_mutex_unlock(&s->sync);
    return rc;
}

static void set_run(struct session *s, enum run_state r)
{
    pthread_mutex_lock(&s->sync);
    s->run = r;
    pthread_mutex_unlock(&s->sync);
}

static int attach_exit_code(int rc)
{
    switch (-rc) {
    case PTS_ENOPROC:
    case PTS_EKTHREAD:
    case PTS_EZOMBIE:
    case ESRCH:
        return EXIT_NO_TARGET;
    case PTS_EPERM:
    case PTS_ETRACED:
    case EPERM:
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
    resolver_native_set_python(s->res, s->pyreg, s->py, s->opts.full_filenames);
    s->as = as_new(s->pid, s->reg, err, errsz);
    if (!s->as)
        return -1;
    s->uw = unwind_new(s->as, s->opts.max_depth, err, errsz);
    if (!s->uw)
        return -1;
    /* no figures is no failure: the report says they were not measured */
    s->figs_ps = procstat_new(s->pid);
    s->figs_snap = malloc(sizeof *s->figs_snap);
    if (pthread_create(&s->proc_th, NULL, processing_main, s) != 0) {
        snprintf(err, errsz, "pertop: cannot start the processing thread: %s", strerror(errno));
        return -1;
    }
    s->proc_started = true;
    return 0;
}

static int start_threads(struct session *s, char *err, size_t errsz, int *exit_code)
{
    int go_fd = -1, err_fd = -1;
    int lrc = s->opts.command ? launch(s, &go_fd, &err_fd, err, errsz) : 0;
    if (lrc < 0) {
        *exit_code = lrc == -EIO ? EXIT_OUTPUT : EXIT_LAUNCH;
        return -1;
    }
    if (pthread_create(&s->sampler_th, NULL, sampler_main, s) != 0) {
        snprintf(err, errsz, "pertop: cannot start the sampler thread: %s", strerror(errno));
        if (go_fd >= 0)
            close(go_fd), close(err_fd);
        return -1;
    }
    s->sampler_started = true;
    int rc = wait_attached(s, err, errsz);
    if (rc < 0) {
        *exit_code = attach_exit_code(rc);
        if (go_fd >= 0)
            close(go_fd), close(err_fd); /* the child reads EOF and exits */
        return -1;
    }
    if (go_fd >= 0) {
        int e = release_child(go_fd, err_fd);
        if (e) {
            snprintf(err, errsz, "pertop: cannot run '%s': %s — check the command name and PATH",
                     s->opts.command[0], strerror(e));
            *exit_code = EXIT_LAUNCH;
            return -1;
        }
    }
    if (start_processing(s, err, errsz) < 0)
        return -1;
    set_run(s, RUN_GO);
    return 0;
}

int session_start(struct session **out, const struct cli_opts *o, char *err, size_t errsz,
                  int *exit_code)
{
    *out = NULL;
    *exit_code = EXIT_FAILURE_INTERNAL;
    struct session *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errsz, "pertop: out of memory");
        return -ENOMEM;
    }
    s->opts = *o;
    s->pid = o->pid;
    atomic_init(&s->rate_hz, o->rate_hz ? o->rate_hz : 99);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->sync, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (o->command)
        join_command(s);
    else if (procfs_cmdline(s->pid, s->cmdline, sizeof s->cmdline) < 0)
        s->cmdline[0] = '\0';
    int rc = -1;
    if (alloc_parts(s, err, errsz) == 0)
        rc = start_threads(s, err, errsz, exit_code);
    if (rc < 0) {
        set_run(s, RUN_ABORT);
        session_stop(s);
        session_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

/* ------------------------------------------------------------ running */

bool session_target_exited(struct session *s)
{
    return atomic_load(&s->exited);
}

double session_elapsed(struct session *s)
{
    pthread_mutex_lock(&s->sync);
    uint64_t t0 = s->t0_ns, t1 = s->t_end_ns ? s->t_end_ns : clock_mono_ns();
    pthread_mutex_unlock(&s->sync);
    return t0 && t1 > t0 ? (double)(t1 - t0) / 1e9 : 0.0;
}

pid_t session_pid(const struct session *s)
{
    return s->pid;
}

const char *session_exit_message(struct session *s)
{
    return s->exit_msg;
}

void session_stop(struct session *s)
{
    if (s->stopped)
        return;
    s->stopped = true;
    atomic_store(&s->stop, true);
    set_run(s, RUN_ABORT);
    if (s->sampler_started)
        pthread_join(s->sampler_th, NULL); /* detaches before returning */
    else if (s->q)
        capqueue_close(s->q);
    if (s->proc_started)
        pthread_join(s->proc_th, NULL);
    take_figures(s); /* the last reading, while a --pid target still runs */
    reap_child(s, !atomic_load(&s->exited));
}

void session_get_stats(struct session *s, struct session_stats *out)
{
    memset(out, 0, sizeof *out);
    out->elapsed_s = session_elapsed(s);
    pthread_mutex_lock(&s->sync);
    out->rounds = s->pstats.rounds;
    out->samples = s->pstats.samples;
    out->lost = s->pstats.lost;
    out->failed = s->pstats.failed;
    out->stop_ns_total = s->pstats.stop_ns_total;
    out->stop_ns_max = s->pstats.stop_ns_max;
    out->threads_now = s->pstats.threads;
    out->threads_seen = s->pstats.threads_seen;
    out->processed = s->processed;
    out->truncated = s->truncated;
    out->sampler_cpu_ns = s->sampler_cpu_ns;
    out->processing_cpu_ns = s->processing_cpu_ns;
    out->py_walks = s->pystats.walks;
    out->py_torn = s->pystats.torn;
    out->py_retries = s->pystats.retries;
    out->py_walk_ns = s->pystats.walk_ns;
    out->py_reads = s->pystats.reads;
    out->py_refinds = s->pystats.refinds;
    pthread_mutex_unlock(&s->sync);
}

static void fill_header(struct session *s, struct snapshot_header *h)
{
    struct session_stats st;
    session_get_stats(s, &st);
    memset(h, 0, sizeof *h);
    h->pid = s->pid;
    h->cmdline = s->cmdline;
    h->duration_s = st.elapsed_s;
    h->samples = st.processed;
    h->lost = st.lost;
    h->rate_asked = atomic_load(&s->rate_hz);
    h->rate_achieved = st.elapsed_s > 0 ? (double)st.rounds / st.elapsed_s : 0.0;
    h->threads = st.threads_seen;
    h->idle = s->opts.idle;
    h->exited = atomic_load(&s->exited);
    h->exit_status = s->exit_status;
    h->truncated = st.truncated;
    if (pysample_ready(s->py)) {
        h->python = pysample_describe(s->py);
        pthread_mutex_lock(&s->sync);
        h->py_samples = s->py_samples;
        h->py_unmerged = s->py_unmerged;
        h->py_torn = s->py_torn;
        h->py_nb_torn = s->nb_torn;
        h->py_nonblocking = s->opts.nonblocking;
        pthread_mutex_unlock(&s->sync);
    }
}

/* ------------------------------------------------- speedscope, svg, report */

/* Thread names for the writers, which run outside the model lock: copied
 * under it, as the thread table may grow meanwhile.  Each name is used
 * before the next is asked for. */
struct tname_ctx {
    struct session *s;
    char buf[sizeof(((struct model_thread *)0)->name)];
};

static const char *thread_name_of(void *ctx, pid_t tid)
{
    struct tname_ctx *c = ctx;
    pthread_mutex_lock(&c->s->lock);
    const struct model_thread *t = model_thread_find(c->s->model, tid);
    snprintf(c->buf, sizeof c->buf, "%s", t ? t->name : "");
    pthread_mutex_unlock(&c->s->lock);
    return c->buf;
}

/* Thread time one sample stands for: the mean interval between rounds. */
static uint64_t sample_period_ns(const struct snapshot_header *h)
{
    double hz = h->rate_achieved > 0 ? h->rate_achieved : h->rate_asked;
    return hz > 0 ? (uint64_t)(1e9 / hz + 0.5) : 0;
}

static int write_speedscope(struct session *s, FILE *f, const struct snapshot_header *h,
                            const struct resolver *r, const struct stack_table *t)
{
    struct tname_ctx tn = {.s = s};
    struct speedscope_opts o = {.name = s->cmdline,
                                .exporter = "pertop " PACKAGE_VERSION,
                                .period_ns = sample_period_ns(h),
                                .thread_name = thread_name_of,
                                .thread_ctx = &tn};
    return export_speedscope_write(f, t, r, &o);
}

static int write_svg(struct session *s, FILE *f, const struct snapshot_header *h,
                     const struct resolver *r, const struct stack_table *t, bool threads)
{
    char title[300], sub[200];
    snprintf(title, sizeof title, "pertop: %.280s", s->cmdline[0] ? s->cmdline : "?");
    snprintf(sub, sizeof sub, "pid %d, %" PRIu64 " samples, %.1f s at %.0f Hz, %s", (int)s->pid,
             h->samples, h->duration_s, h->rate_asked, h->idle ? "with idle" : "on-CPU");
    struct tname_ctx tn = {.s = s};
    struct svg_opts o;
    svg_opts_default(&o);
    o.title = title;
    o.subtitle = sub;
    o.threads = threads;
    o.thread_name = thread_name_of;
    o.thread_ctx = &tn;
    return export_svg_write(f, t, r, &o);
}

int session_run_figures(struct session *s, struct prof_meta *out)
{
    pthread_mutex_lock(&s->sync);
    report_figs_meta(&s->figs, out);
    pthread_mutex_unlock(&s->sync);
    return 0;
}

static int write_report(struct session *s, FILE *f, const struct snapshot_header *h,
                        const struct resolver *r, const struct stack_table *st,
                        const struct hot_table *hot)
{
    struct report_figs *figs = malloc(sizeof *figs);
    if (!figs)
        return -ENOMEM;
    char ended[sizeof s->exit_msg];
    pthread_mutex_lock(&s->sync);
    *figs = s->figs;
    snprintf(ended, sizeof ended, "%s", s->exit_msg);
    pthread_mutex_unlock(&s->sync);
    struct report_in in = {.command = s->cmdline,
                           .pid = s->pid,
                           .duration_s = h->duration_s,
                           .samples = h->samples,
                           .lost = h->lost,
                           .rate_asked = h->rate_asked,
                           .rate_achieved = h->rate_achieved,
                           .threads = h->threads,
                           .idle = s->opts.idle,
                           .ended = ended,
                           .figs = figs->readings ? figs : NULL,
                           .hot = hot,
                           .stacks = st,
                           .r = r,
                           .baseline = s->baseline,
                           .baseline_name = s->opts.baseline};
    int rc = report_write(f, &in);
    free(figs);
    return rc;
}

/* The views are taken under the model lock and written outside it, so a
 * big profile written from the screen does not hold up the processing
 * thread (100,000 distinct stacks take about half a second to write). */
static int write_web(struct session *s, FILE *f, enum output_format fmt, bool threads,
                     const struct snapshot_header *h, const struct resolver *r,
                     const struct view_opts *vo)
{
    struct stack_table st = {0};
    struct hot_table hot = {0};
    bool per_thread = fmt == FORMAT_SPEEDSCOPE || (fmt == FORMAT_SVG && threads);
    pthread_mutex_lock(&s->lock);
    int rc = view_stacks(s->model, r, vo, per_thread, &st);
    if (rc == 0 && fmt == FORMAT_REPORT)
        rc = view_hot(s->model, r, vo, &hot);
    pthread_mutex_unlock(&s->lock);
    if (rc == 0)
        rc = fmt == FORMAT_REPORT       ? write_report(s, f, h, r, &st, &hot)
             : fmt == FORMAT_SPEEDSCOPE ? write_speedscope(s, f, h, r, &st)
                                        : write_svg(s, f, h, r, &st, threads);
    hot_table_free(&hot);
    stack_table_free(&st);
    return rc;
}

/* ------------------------------------------------- pprof, baseline, profile */

/* What pertop knows of its run, for pprof comments and profiles. */
static void run_meta(struct session *s, const struct snapshot_header *h, struct prof_meta *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->command, sizeof m->command, "%.255s", s->cmdline); /* long ones cut */
    m->duration_s = h->duration_s;
    m->samples = h->samples;
    m->period_ns = (double)sample_period_ns(h);
    session_run_figures(s, m); /* CPU %, RSS and peak, I/O rates when measured */
}

/* Build-ids of every module, read from the files before the model lock is
 * taken (the registry is append-only: ids below n stay valid). */
static char **module_build_ids(struct session *s, size_t *n)
{
    *n = modreg_count(s->reg);
    char **ids = calloc(*n ? *n : 1, sizeof *ids);
    char hex[2 * 64 + 1];
    for (size_t i = 0; ids && i < *n; i++) {
        const struct module *m = modreg_get(s->reg, (uint32_t)i);
        if (m && m->open_path && sym_build_id(m->open_path, hex, sizeof hex) == 0)
            ids[i] = strdup(hex); /* NULL when out of memory: no build-id, no failure */
    }
    return ids;
}

static int write_pprof(struct session *s, FILE *f, const struct snapshot_header *h,
                       const struct resolver *r)
{
    size_t nids;
    char **ids = module_build_ids(s, &nids);
    if (!ids)
        return -ENOMEM;
    struct prof_meta meta;
    run_meta(s, h, &meta);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    int64_t dur = (int64_t)(h->duration_s * 1e9);
    struct pprof_source src = {
        .r = r,
        .reg = s->reg,
        .build_ids = (const char *const *)ids,
        .nbuild_ids = nids,
        .meta = &meta,
        .period_ns = sample_period_ns(h),
        .idle = s->opts.idle,
        .time_nanos = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec - dur,
        .duration_nanos = dur,
    };
    uint8_t *buf = NULL;
    size_t len = 0;
    pthread_mutex_lock(&s->lock);
    src.m = s->model;
    src.in = s->in;
    int rc = export_pprof_encode(&src, &buf, &len);
    pthread_mutex_unlock(&s->lock);
    /* gzip and write outside the lock: the processing thread keeps going */
    if (rc == 0)
        rc = export_pprof_gzip(f, buf, len);
    free(buf);
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

void session_set_baseline(struct session *s, const struct profile *p)
{
    s->baseline = p;
}

int session_write(struct session *s, FILE *f, enum output_format fmt, bool threads)
{
    struct snapshot_header h;
    fill_header(s, &h);
    pthread_mutex_lock(&s->lock);
    uint32_t upto = intern_count(s->in);
    pthread_mutex_unlock(&s->lock);
    /* symbolize outside the lock: the processing thread keeps going */
    resolver_native_prepare(s->res, upto);

    struct resolver r = resolver_native_iface(s->res);
    struct view_opts vo = {
        .window = MODEL_CUMULATIVE, .now_ns = clock_mono_ns(), .sort = SORT_SELF};
    struct snapshot_opts so;
    snapshot_opts_default(&so);
    so.max_rows = s->opts.rows;
    if (fmt == FORMAT_SPEEDSCOPE || fmt == FORMAT_SVG || fmt == FORMAT_REPORT)
        return write_web(s, f, fmt, threads, &h, &r, &vo);
    if (fmt == FORMAT_PPROF)
        return write_pprof(s, f, &h, &r);
    so.baseline = s->baseline;
    pthread_mutex_lock(&s->lock);
    int rc = fmt == FORMAT_FOLDED ? snapshot_write_folded(f, s->model, &r, &vo, threads)
                                  : snapshot_write_text(f, &h, s->model, &r, &vo, &so);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void session_set_rate(struct session *s, unsigned hz)
{
    if (hz < RATE_MIN)
        hz = RATE_MIN;
    if (hz > RATE_MAX)
        hz = RATE_MAX;
    atomic_store(&s->rate_hz, hz);
}

unsigned session_rate(struct session *s)
{
    return atomic_load(&s->rate_hz);
}

void session_zero(struct session *s)
{
    pthread_mutex_lock(&s->lock);
    model_zero(s->model);
    pthread_mutex_unlock(&s->lock);
}

const char *session_cmdline(const struct session *s)
{
    return s->cmdline;
}

const char *session_python_note(const struct session *s)
{
    return s->py_note;
}

/* Header numbers of a live frame; the achieved rate is left to the caller,
 * which knows the previous frame. */
static void live_header(struct session *s, struct lv_header *h)
{
    struct session_stats st;
    session_get_stats(s, &st);
    h->pid = s->pid;
    /* a long command line is cut: the header shows its start */
    size_t n = strnlen(s->cmdline, sizeof h->cmdline - 1);
    memcpy(h->cmdline, s->cmdline, n);
    h->cmdline[n] = '\0';
    h->elapsed_s = st.elapsed_s;
    h->samples = st.processed;
    h->lost = st.lost;
    h->rate_asked = atomic_load(&s->rate_hz);
    h->threads = st.threads_now;
    h->idle = s->opts.idle;
    h->exited = atomic_load(&s->exited);
    pthread_mutex_lock(&s->sync);
    snprintf(h->exit_msg, sizeof h->exit_msg, "%s", s->exit_msg);
    h->py_samples = s->py_samples;
    h->py_unmerged = s->py_unmerged;
    h->py_torn = s->opts.nonblocking ? s->nb_torn : s->py_torn;
    pthread_mutex_unlock(&s->sync);
    h->py_nonblocking = s->opts.nonblocking;
    snprintf(h->python, sizeof h->python, "%s", pysample_describe(s->py));
    /* the note is for the user, not the log: "pertop: " says nothing here */
    const char *note = s->py_note, *why = NULL;
    if (!note[0] && pysample_gave_up(s->py, &why)) /* launched: looked for while sampling */
        note = why[0]                            ? why
               : s->opts.stacks == STACKS_PYTHON ? "no CPython found in the command — --python "
                                                   "shows nothing; try without it"
                                                 : "";
    if (!strncmp(note, "pertop: ", 8))
        note += 8;
    size_t k = h->python[0] ? 0 : strnlen(note, sizeof h->py_note - 1); /* cut if long */
    memcpy(h->py_note, note, k);
    h->py_note[k] = '\0';
}

/* Threads that Python's threading module named: the samples carry those
 * names, /proc only the OS ones.  Under s->lock. */
static void python_thread_names(struct session *s, struct live_frame *f)
{
    for (size_t i = 0; i < f->nthr; i++) {
        const struct model_thread *t = model_thread_find(s->model, f->thr[i].tid);
        if (t && t->name[0])
            snprintf(f->thr[i].name, sizeof f->thr[i].name, "%.*s", (int)sizeof t->name, t->name);
    }
}

int session_live(struct session *s, const struct live_req *req, uint64_t now_ns,
                 const struct procstat_snapshot *ps, struct live_frame *f)
{
    live_header(s, &f->h);
    pthread_mutex_lock(&s->lock);
    uint32_t upto = intern_count(s->in);
    pthread_mutex_unlock(&s->lock);
    /* symbolize outside the lock: the processing thread keeps going */
    resolver_native_prepare(s->res, upto);
    struct resolver r = resolver_native_iface(s->res);
    double rate = f->h.rate_achieved > 0 ? f->h.rate_achieved : (double)f->h.rate_asked;
    /* the request's view (drill-down) and zoom: every view starts from the
     * same zoomed self counts */
    struct lv_view_req v = req->v;
    if (req->tid)
        v.zoom.tid = req->tid;
    bool annot = v.view == LIVE_SOURCE || v.view == LIVE_ASM;
    struct annot_env *env = annot ? session_annot_env(s) : NULL;
    struct annot_counts *counts = NULL;
    f->seq = req->seq;
    f->recent = req->recent;
    f->tid = v.zoom.tid;
    pthread_mutex_lock(&s->lock);
    uint64_t *self = lv_self_counts(s->model, &r, req->recent, now_ns, &v.zoom);
    int rc = self ? lv_build_hot_self(s->model, &r, self, rate, f) : -ENOMEM;
    if (rc == 0) {
        /* the leaves are copied compactly so the builder scans few */
        struct lv_leaf *lv = malloc((s->nleaves ? s->nleaves : 1) * sizeof(*lv));
        size_t n = 0;
        for (size_t i = 0; lv && i < LEAF_SLOTS; i++)
            if (s->leaves[i].tid)
                lv[n++] = s->leaves[i];
        rc = lv ? lv_build_threads_self(s->model, &r, self, v.zoom.tid, lv, n, ps, f) : -ENOMEM;
        free(lv);
        if (rc == 0 && pysample_ready(s->py))
            python_thread_names(s, f);
    }
    if (rc == 0)
        rc = lv_build_view(s->model, &r, self, &v, env, f, &counts);
    pthread_mutex_unlock(&s->lock);
    free(self);
    /* file reads and disassembly outside the lock */
    if (counts)
        f->annot = annot_build(env, counts, v.view == LIVE_SOURCE ? ANNOT_SOURCE : ANNOT_ASM);
    annot_counts_free(counts);
    f->have_baseline = s->baseline != NULL;
    for (size_t i = 0; s->baseline && rc == 0 && i < f->nhot; i++)
        diff_baseline_cell(s->baseline, f->hot[i].name, f->hot[i].self_pct, f->hot[i].vs_base,
                           sizeof f->hot[i].vs_base);
    return rc;
}

struct annot_env *session_annot_env(struct session *s)
{
    if (!s->annot) {
        struct annot_env_cfg cfg = {
            .in = s->in,
            .reg = s->reg,
            .sym = s->sym,
            .pyreg = s->pyreg,
            .pid = s->pid,
            .maps = s->opts.source_maps,
            .nmaps = s->opts.nsource_maps,
        };
        s->annot = annot_env_new(&cfg);
    }
    /* once the target is gone its /proc/PID/root is too: plain paths */
    if (s->annot)
        annot_env_set_gone(s->annot, atomic_load(&s->exited));
    return s->annot;
}

void session_free(struct session *s)
{
    if (!s)
        return;
    session_stop(s);
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
    free(s->leaves);
    procstat_free(s->figs_ps);
    free(s->figs_snap);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->sync);
    pthread_cond_destroy(&s->cond);
    free(s);
}
