/*
 * perfengine.c - the perf_event engine (see perfengine.h).
 *
 * One event set samples on the clock (task-clock or cpu-clock) with
 * context_switch records; with idle, a second set samples every switch out
 * (context-switches, period 1).  Both are drained on the sampler thread: a
 * clock sample becomes a capture at once; a switch-out sample goes, with the
 * switch records, to the off-CPU matcher (offcpu.h), which puts the per-CPU
 * rings' records back in time order and hands it back weighted by the time
 * the thread was away.
 */
#include "sampler/perf/perfengine.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "sampler/perf/offcpu.h"
#include "sampler/perf/perfev.h"
#include "sampler/perf/pthreads.h"
#include "sampler/proc/blocked.h"
#include "sampler/proc/procfs.h"

#define ALIVE_EVERY_NS 20000000ull /* is the process still there, this often */
#define POLL_MAX_MS    50          /* a stop request waits no longer */
/* data per CPU ring: 16 KiB stacks at 999 Hz are 16 MB/s, so a wake-up
 * (half full) every 30 ms, not every 4 samples */
#define RING_KIB 1024
/* off-CPU: a record older than this before a drain began is in its ring by
 * then; a wait still open is shown in parts this long; waits in flight at
 * once, and switch events buffered between two drains */
#define OFFCPU_MARGIN_NS 2000000ull
#define OFFCPU_SLICE_NS  100000000ull
#define OFFCPU_POOL      512u
#define OFFCPU_EVENTS    65536u

struct perf_engine {
    struct engine base;
    struct engine_config cfg;
    struct perfev_set *clock;  /* on-CPU samples and switch records */
    struct perfev_set *offcpu; /* switch-out samples (idle), or NULL */
    struct pthreads *thr;      /* the target's threads and their names */
    struct offcpu *off;        /* switch-out samples waiting for their end (idle) */
    struct capqueue *q;        /* the queue of the current drain */
    uint64_t alive_at;
    int exit_fd; /* readable once the process has exited; -1: ask procfs */
    bool exited, execed, maps_changed;
    struct engine_stats st;
    uint64_t lost_kernel, no_regs;
};

/* A record of this process is the engine's: the target's, or with
 * subprocesses any process in the rings (only the target's descendants
 * inherit its events). */
static bool followed(const struct perf_engine *e, uint32_t pid)
{
    return pid == (uint32_t)e->cfg.pid || (e->cfg.subprocesses && pid != 0);
}

/* ------------------------------------------------------------ captures */

static void regs_from_perf(struct capture_regs *r, const uint64_t *v)
{
    *r = (struct capture_regs){.rax = v[PERFEV_REG_AX],
                               .rbx = v[PERFEV_REG_BX],
                               .rcx = v[PERFEV_REG_CX],
                               .rdx = v[PERFEV_REG_DX],
                               .rsi = v[PERFEV_REG_SI],
                               .rdi = v[PERFEV_REG_DI],
                               .rbp = v[PERFEV_REG_BP],
                               .rsp = v[PERFEV_REG_SP],
                               .r8 = v[PERFEV_REG_R8],
                               .r9 = v[PERFEV_REG_R9],
                               .r10 = v[PERFEV_REG_R10],
                               .r11 = v[PERFEV_REG_R11],
                               .r12 = v[PERFEV_REG_R12],
                               .r13 = v[PERFEV_REG_R13],
                               .r14 = v[PERFEV_REG_R14],
                               .r15 = v[PERFEV_REG_R15],
                               .rip = v[PERFEV_REG_IP],
                               .eflags = v[PERFEV_REG_FLAGS]};
}

/* The sample's registers, stack and kernel frames into c; false when the
 * sample has no user registers (a kernel thread, or an exit under way). */
static bool fill_capture(struct perf_engine *e, struct capture *c, const struct perfev_sample *s)
{
    if (s->regs_abi == PERF_SAMPLE_REGS_ABI_NONE || s->nr_regs < PERFEV_NR_REGS)
        return false;
    c->pid = (pid_t)s->pid == e->cfg.pid ? 0 : (pid_t)s->pid;
    c->tid = (pid_t)s->tid;
    c->time_ns = s->time;
    c->stop_ns = 0;
    c->py_n = 0;
    regs_from_perf(&c->regs, s->regs);
    c->stack_addr = c->regs.rsp;
    uint64_t n = s->stack_dyn < c->stack_cap ? s->stack_dyn : c->stack_cap;
    if (n > s->stack_size)
        n = s->stack_size;
    if (n) /* a slot without a buffer (stack_cap 0) takes no bytes */
        memcpy(c->stack, s->stack, n);
    c->stack_len = (uint32_t)n;
    if (n < e->cfg.stack_size)
        c->flags |= CAPTURE_STACK_SHORT;
    uint32_t k = e->cfg.kernel ? s->kchain_nr : 0;
    c->kern_n = k < CAPTURE_KERN_MAX ? k : CAPTURE_KERN_MAX;
    if (c->kern_n) /* no callchain: kchain is NULL */
        memcpy(c->kern, s->kchain, c->kern_n * sizeof *c->kern);
    if (e->maps_changed) {
        c->flags |= CAPTURE_MAPS_CHANGED;
        e->maps_changed = false;
    }
    return true;
}

/* A finished capture through the reader's hooks and into the queue. */
static void queue_capture(struct perf_engine *e, struct capture *c)
{
    const struct engine_hooks *h = &e->cfg.hooks;
    if (!c->pid) { /* the readers read the target, not its children */
        if (h->captured && h->captured(h->ctx, c) < 0)
            return; /* the slot stays reserved, reused by the next */
        if (h->released)
            h->released(h->ctx, c);
    }
    capqueue_commit_quiet(e->q); /* the drain wakes the consumer once */
    e->st.samples++;
}

static void on_clock_sample(struct perf_engine *e, const struct perfev_sample *s)
{
    if (!followed(e, s->pid))
        return;
    const struct engine_hooks *h = &e->cfg.hooks;
    if (s->pid == (uint32_t)e->cfg.pid && h->want && !h->want(h->ctx, (pid_t)s->tid)) {
        e->st.skipped_idle++;
        return;
    }
    struct capture *c = capqueue_reserve(e->q);
    if (!c) {
        e->st.lost++;
        return;
    }
    if (!fill_capture(e, c, s)) {
        e->no_regs++;
        return;
    }
    c->state = 'R';
    c->flags |= CAPTURE_ONCPU;
    e->st.clock_samples++;
    e->st.clock_period_ns += s->period;
    pthreads_name(e->thr, c->tid, c->comm, sizeof c->comm);
    queue_capture(e, c);
}

/* A switch-out sample: to the matcher until its thread runs again. */
static void on_switch_sample(struct perf_engine *e, const struct perfev_sample *s)
{
    if (!followed(e, s->pid))
        return;
    struct capture *c = offcpu_sample(e->off, (pid_t)s->tid, s->time);
    if (!c)
        return;
    bool ok = fill_capture(e, c, s);
    if (ok)
        pthreads_name(e->thr, c->tid, c->comm, sizeof c->comm);
    else
        e->no_regs++;
    offcpu_commit(e->off, ok);
}

/* A wait (or the part of a long one so far) the matcher released. */
static void on_wait(void *ctx, const struct capture *w, uint64_t weight_ns)
{
    struct perf_engine *e = ctx;
    struct capture *c = capqueue_reserve(e->q);
    if (!c) {
        e->st.lost++;
        return;
    }
    uint8_t *stack = c->stack;
    uint32_t cap = c->stack_cap;
    memcpy(c, w, offsetof(struct capture, py_n));
    c->stack = stack;
    c->stack_cap = cap;
    c->stack_len = w->stack_len < cap ? w->stack_len : cap;
    memcpy(c->stack, w->stack, c->stack_len);
    c->py_n = 0;
    c->weight_ns = weight_ns;
    queue_capture(e, c);
}

/* ------------------------------------------------------------ records */

static void on_comm(struct perf_engine *e, const struct perfev_comm *m)
{
    if (!followed(e, m->pid))
        return;
    pthreads_set_name(e->thr, (pid_t)m->tid, m->name);
    if (m->exec && m->pid != (uint32_t)e->cfg.pid)
        e->maps_changed = true; /* a child's new program */
    else if (m->exec && m->tid == m->pid)
        e->execed = true;
}

static void on_task(struct perf_engine *e, const struct perfev_record *r)
{
    const struct perfev_task *t = &r->u.task;
    if (!followed(e, t->pid))
        return;
    if (r->kind == PERFEV_REC_FORK) {
        pthreads_add(e->thr, (pid_t)t->tid);
        perfev_unclone((pid_t)t->tid);
        e->st.threads_seen++;
        if (t->pid != t->ppid) { /* a new process: named as its parent until it execs */
            char name[16], now[16];
            /* records of two rings come in no order: its exec's COMM may
             * have named it already */
            pthreads_name(e->thr, (pid_t)t->tid, now, sizeof now);
            pthreads_name(e->thr, (pid_t)t->ptid, name, sizeof name);
            if (!now[0])
                pthreads_set_name(e->thr, (pid_t)t->tid, name);
            e->st.processes_seen++;
        }
    } else {
        pthreads_remove(e->thr, (pid_t)t->tid);
        if (e->off && r->id.has_time)
            offcpu_exit(e->off, (pid_t)t->tid, r->id.time);
        if (t->tid == t->pid && t->pid == (uint32_t)e->cfg.pid)
            e->alive_at = 0; /* the main thread left: look at the process now */
    }
}

static void on_switch(struct perf_engine *e, const struct perfev_record *r)
{
    if (!e->off || !r->id.has_tid || !r->id.has_time || !followed(e, r->id.pid))
        return;
    offcpu_switch(e->off, (pid_t)r->id.tid, r->u.sw.out, r->u.sw.preempt, r->id.time);
}

static int on_record(void *ctx, const struct perfev_record *r)
{
    struct perf_engine *e = ctx;
    switch (r->kind) {
    case PERFEV_REC_SAMPLE:
        on_clock_sample(e, &r->u.sample);
        break;
    case PERFEV_REC_COMM:
        on_comm(e, &r->u.comm);
        break;
    case PERFEV_REC_FORK:
    case PERFEV_REC_EXIT:
        on_task(e, r);
        break;
    case PERFEV_REC_MMAP2:
        if (followed(e, r->u.mmap2.pid) && (r->u.mmap2.prot & 4 /* PROT_EXEC */))
            e->maps_changed = true;
        break;
    case PERFEV_REC_LOST:
        e->st.lost += r->u.lost;
        e->lost_kernel += r->u.lost;
        break;
    case PERFEV_REC_SWITCH:
        on_switch(e, r);
        break;
    default:
        break;
    }
    return 0;
}

static int on_offcpu_record(void *ctx, const struct perfev_record *r)
{
    if (r->kind == PERFEV_REC_SAMPLE)
        on_switch_sample(ctx, &r->u.sample);
    else if (r->kind == PERFEV_REC_LOST)
        ((struct perf_engine *)ctx)->st.lost += r->u.lost;
    return 0;
}

/* ------------------------------------------------------------ attach */

static void fill_perf_config(const struct engine_config *cfg, bool offcpu, struct perfev_config *pc)
{
    perfev_config_default(pc);
    pc->event = offcpu           ? PERFEV_CONTEXT_SWITCHES
                : cfg->cpu_clock ? PERFEV_CPU_CLOCK
                                 : PERFEV_TASK_CLOCK;
    pc->rate_hz = cfg->rate_hz;
    pc->period = offcpu ? 1 : 0;
    pc->stack_size = cfg->stack_size;
    pc->kernel = cfg->kernel;
    pc->count_kernel = true;
    pc->context_switch = !offcpu && cfg->idle;
    pc->inherit = true;
    pc->ring_kib = RING_KIB;
    pc->wakeup_each = !offcpu && cfg->prompt;
    pc->follow_forks = cfg->subprocesses;
}

static int error_class(int rc)
{
    switch (-rc) {
    case EACCES:
    case EPERM:
        return ENGINE_EPERM;
    case ENOSYS:
    case ENOENT:
    case EOPNOTSUPP:
    case EINVAL:
        return ENGINE_EUNSUPPORTED;
    default:
        return engine_error_of_errno(rc);
    }
}

#define CHILDREN_MAX    4096 /* processes looked at for the target's descendants */
#define ENGINE_KIDS_MAX 64   /* descendants running at attach that are followed */

/* The target's descendants running already (a shell's child): their
 * events open too; those born later inherit the target's.  The count
 * attached; a child that cannot be attached (gone, refused) is skipped. */
static int attach_children(struct perfev_set *set, pid_t pid, pid_t *added, size_t max)
{
    static const size_t cap = CHILDREN_MAX;
    pid_t *pids = malloc(cap * sizeof *pids), *ppids = malloc(cap * sizeof *ppids);
    DIR *d = opendir("/proc");
    size_t n = 0, nadded = 0;
    struct dirent *de;
    while (pids && ppids && d && n < cap && (de = readdir(d))) {
        char *end;
        long v = strtol(de->d_name, &end, 10);
        struct proc_stat ps;
        if (*end || v <= 0 || v == pid || procfs_read_stat((pid_t)v, 0, &ps) < 0)
            continue;
        pids[n] = (pid_t)v;
        ppids[n++] = ps.ppid;
    }
    if (d)
        closedir(d);
    /* breadth first from the target: each pass adds the children of what
     * was added before it */
    bool grew = true;
    while (grew && nadded < max) {
        grew = false;
        for (size_t i = 0; i < n && nadded < max; i++) {
            bool parent = ppids[i] == pid;
            for (size_t k = 0; !parent && k < nadded; k++)
                parent = ppids[i] == added[k];
            if (!parent || pids[i] == 0)
                continue;
            char err[256];
            if (perfev_attach_process(set, pids[i], err, sizeof err) == 0)
                added[nadded++] = pids[i];
            pids[i] = 0; /* looked at */
            grew = true;
        }
    }
    free(pids);
    free(ppids);
    return (int)nadded;
}

static int open_set(struct perfev_set **out, const struct engine_config *cfg, bool offcpu,
                    pid_t *kids, int *nkids, char *err, size_t errsz)
{
    struct perfev_config pc;
    fill_perf_config(cfg, offcpu, &pc);
    int rc = perfev_open(out, &pc, err, errsz);
    if (rc == 0)
        rc = perfev_attach_process(*out, cfg->pid, err, errsz);
    if ((rc == -EACCES || rc == -EPERM) && !offcpu && !pc.kernel) {
        /* not allowed to count kernel time: user time is still worth it */
        perfev_free(*out);
        pc.count_kernel = false;
        rc = perfev_open(out, &pc, err, errsz);
        if (rc == 0)
            rc = perfev_attach_process(*out, cfg->pid, err, errsz);
    }
    if (rc == -ESRCH)
        snprintf(err, errsz, "pertop: no process with PID %d — check the PID with ps or pgrep",
                 (int)cfg->pid);
    if (rc == 0 && cfg->subprocesses && kids)
        *nkids = attach_children(*out, cfg->pid, kids, ENGINE_KIDS_MAX);
    return rc;
}

static void pe_free(struct perf_engine *e)
{
    perfev_free(e->clock);
    perfev_free(e->offcpu);
    offcpu_free(e->off);
    pthreads_free(e->thr);
    if (e->exit_fd >= 0)
        close(e->exit_fd);
    free(e);
}

static int target_check(pid_t pid, char *err, size_t errsz)
{
    struct proc_stat ps;
    if (procfs_read_stat(pid, 0, &ps) < 0) {
        snprintf(err, errsz, "pertop: no process with PID %d — check the PID with ps or pgrep",
                 (int)pid);
        return -ENGINE_ENOTARGET;
    }
    char cmd[8];
    if (procfs_is_kernel_thread(&ps) ||
        (ps.ppid == 2 && procfs_cmdline(pid, cmd, sizeof cmd) == 0)) {
        snprintf(err, errsz,
                 "pertop: PID %d (%s) is a kernel thread — it runs no user code to profile; "
                 "pick a user process (ps shows kernel threads in [brackets])",
                 (int)pid, ps.comm);
        return -ENGINE_ENOTARGET;
    }
    if (ps.state == 'Z' || ps.state == 'X') {
        snprintf(err, errsz, "pertop: process %d is a zombie — nothing left to profile", (int)pid);
        return -ENGINE_ENOTARGET;
    }
    return 0;
}

/* Threads already blocked at attach: no switch-out sample will come for the
 * wait they are in, so it starts now, with the stack procfs gives. */
static void note_blocked(struct perf_engine *e)
{
    pid_t tids[1024];
    int n = procfs_list_tasks(e->cfg.pid, tids, sizeof tids / sizeof tids[0]);
    for (int i = 0; i < n; i++) {
        struct capture *c = offcpu_sample(e->off, tids[i], clock_mono_ns());
        if (!c)
            return;
        bool ok = blocked_capture(e->cfg.pid, tids[i], c, e->cfg.stack_size) == 0;
        if (ok)
            pthreads_name(e->thr, tids[i], c->comm, sizeof c->comm);
        offcpu_commit(e->off, ok);
    }
}

static int pe_attach(struct engine **out, const struct engine_config *cfg, char *err, size_t errsz)
{
    int rc = target_check(cfg->pid, err, errsz);
    if (rc < 0)
        return rc;
    struct perf_engine *e = calloc(1, sizeof *e);
    if (e)
        e->thr = pthreads_new();
    if (e && cfg->idle)
        e->off = offcpu_new(cfg->stack_size, OFFCPU_POOL, OFFCPU_EVENTS);
    if (!e || !e->thr || (cfg->idle && !e->off)) {
        if (e)
            pthreads_free(e->thr);
        free(e);
        snprintf(err, errsz, "pertop: out of memory");
        return -ENGINE_EOTHER;
    }
    e->base.ops = &perf_engine_ops;
    e->cfg = *cfg;
    e->exit_fd = procfs_exit_fd(cfg->pid);
    /* names first: a thread that starts meanwhile is named by its COMM */
    e->st.threads_seen = (uint32_t)pthreads_load(e->thr, cfg->pid);
    pid_t kids[ENGINE_KIDS_MAX];
    int nkids = 0;
    rc = open_set(&e->clock, cfg, false, kids, &nkids, err, errsz);
    if (rc == 0 && cfg->idle)
        rc = open_set(&e->offcpu, cfg, true, NULL, NULL, err, errsz);
    for (int i = 0; i < nkids; i++) /* children running already: named from /proc */
        e->st.threads_seen += (uint32_t)pthreads_load(e->thr, kids[i]);
    e->st.processes_seen = 1 + (uint32_t)nkids;
    if (rc == 0)
        rc = perfev_enable(e->clock, err, errsz);
    if (rc == 0 && e->offcpu)
        rc = perfev_enable(e->offcpu, err, errsz);
    if (rc < 0) {
        pe_free(e);
        return -error_class(rc);
    }
    if (e->off)
        note_blocked(e);
    *out = &e->base;
    return 0;
}

/* ------------------------------------------------------------ running */

/* last: the target is gone, every wait ends now */
static void drain(struct perf_engine *e, struct capqueue *q, bool last)
{
    e->q = q;
    uint64_t start = clock_mono_ns();
    const struct engine_hooks *h = &e->cfg.hooks;
    if (h->round)
        h->round(h->ctx);
    if (e->offcpu)
        perfev_drain(e->offcpu, on_offcpu_record, e);
    perfev_drain(e->clock, on_record, e);
    if (e->off) {
        uint64_t upto = last ? clock_mono_ns() + 1 : start - OFFCPU_MARGIN_NS;
        offcpu_release(e->off, upto, last ? 1 : OFFCPU_SLICE_NS, on_wait, e);
    }
    capqueue_wake(q);
    e->st.rounds++;
}

static void pe_round(struct engine *base, struct capqueue *q)
{
    drain((struct perf_engine *)base, q, false);
}

static void check_alive(struct perf_engine *e, uint64_t now)
{
    if (now - e->alive_at < ALIVE_EVERY_NS)
        return;
    e->alive_at = now;
    if (e->exit_fd >= 0) {
        e->exited = procfs_exit_fd_ready(e->exit_fd) == 1;
        return;
    }
    struct proc_stat ps;
    e->exited = procfs_read_stat(e->cfg.pid, 0, &ps) < 0 || ps.state == 'Z' || ps.state == 'X';
}

static enum engine_state pe_wait(struct engine *base, struct capqueue *q, uint64_t deadline_ns)
{
    struct perf_engine *e = (struct perf_engine *)base;
    for (;;) {
        if (e->execed)
            return ENGINE_EXECED;
        uint64_t now = clock_mono_ns();
        check_alive(e, now);
        if (e->exited) {
            drain(e, q, true); /* the last records */
            return ENGINE_EXITED;
        }
        if (now >= deadline_ns)
            return ENGINE_RUNNING;
        uint64_t ms = (deadline_ns - now + 999999) / 1000000;
        struct perfev_set *sets[2] = {e->clock, e->offcpu};
        perfev_poll_sets(sets, 2, ms < POLL_MAX_MS ? (int)ms : POLL_MAX_MS);
        drain(e, q, false);
    }
}

static void pe_ack_exec(struct engine *base)
{
    ((struct perf_engine *)base)->execed = false;
}

/* A new period on an inherit set reaches only some of its events (see
 * perfev_set_period), so the clock set is opened again at the new rate:
 * the old one stopped and drained first, a few milliseconds unsampled. */
static void pe_set_rate(struct engine *base, unsigned hz)
{
    struct perf_engine *e = (struct perf_engine *)base;
    if (!hz || hz == e->cfg.rate_hz)
        return;
    char err[256];
    struct engine_config cfg = e->cfg;
    cfg.rate_hz = hz;
    struct perfev_set *fresh = NULL;
    perfev_disable(e->clock, err, sizeof err);
    if (e->q)
        perfev_drain(e->clock, on_record, e);
    pid_t kids[ENGINE_KIDS_MAX]; /* with subprocesses, the descendants running now */
    int nkids = 0;
    if (open_set(&fresh, &cfg, false, kids, &nkids, err, sizeof err) < 0 ||
        perfev_enable(fresh, err, sizeof err) < 0) {
        perfev_free(fresh); /* keep sampling at the old rate */
        perfev_enable(e->clock, err, sizeof err);
        return;
    }
    perfev_free(e->clock);
    e->clock = fresh;
    e->cfg.rate_hz = hz;
}

static void pe_get_stats(const struct engine *base, struct engine_stats *out)
{
    const struct perf_engine *e = (const struct perf_engine *)base;
    *out = e->st;
    out->failed = e->no_regs;
    if (e->off) {
        struct offcpu_stats os;
        offcpu_get_stats(e->off, &os);
        out->failed += os.dropped + os.unmatched;
    }
    out->threads = (uint32_t)pthreads_count(e->thr);
    if (out->threads_seen < out->threads)
        out->threads_seen = out->threads;
}

static int pe_exit_status(const struct engine *base)
{
    (void)base;
    return -1; /* not traced: the status is the parent's to reap */
}

static void pe_detach(struct engine *base)
{
    if (base)
        pe_free((struct perf_engine *)base); /* closes every event: nothing stays behind */
}

int perf_engine_probe(bool kernel, char *why, size_t whysz)
{
    (void)kernel;
    int rc = perfev_probe(why, whysz);
    return rc < 0 ? -error_class(rc) : 0;
}

const struct engine_ops perf_engine_ops = {
    .name = "perf",
    .flags = ENGINE_SELF_TIMED,
    .attach = pe_attach,
    .round = pe_round,
    .wait = pe_wait,
    .ack_exec = pe_ack_exec,
    .set_rate = pe_set_rate,
    .get_stats = pe_get_stats,
    .exit_status = pe_exit_status,
    .detach = pe_detach,
};
