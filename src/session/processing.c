/*
 * processing.c - the processing thread (see processing.h).
 */
#include "src/session/processing.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hash.h"
#include "sampler/proc/blocked.h"
#include "sampler/proc/procstat.h"
#include "sampler/proc/remote.h"
#include "sampler/python/pysample.h"
#include "sampler/unwind/addrspace.h"
#include "sampler/unwind/modules.h"
#include "sampler/unwind/unwind.h"
#include "src/model/intern.h"
#include "src/model/model.h"
#include "src/model/stackmerge.h"
#include "src/model/verdict.h"
#include "src/session/childspaces.h"
#include "src/session/runfigs.h"

#define REFRESH_MIN_NS 200000000ull /* re-read maps at most 5 times a second */
#define LEAF_SLOTS     8192u        /* threads whose latest leaf is kept (2x max threads) */
#define MERGED_MAX     (CAPTURE_KERN_MAX + UNWIND_DEPTH_MAX + 1 + CAPTURE_PY_MAX)
#define KERNEL_MARK    (STACKMERGE_PY_MARK - 1) /* in mods[]: a kernel frame, vaddr = address */

struct processing {
    struct processing_cfg cfg;
    struct capqueue *q;
    struct addrspace *as;
    struct modreg *reg;
    struct interner *in;
    struct model *model;
    struct pysample *py;
    struct childspaces *kids; /* --subprocesses: the children's spaces, else NULL */
    pthread_mutex_t *lock;    /* the model's */
    /* the Python-first model (processing.h), made from model at the first
     * sample with Python frames; NULL before, or without folding */
    struct model *folded;
    bool fold_failed;        /* out of memory making it: not tried again */
    struct leaf_ent *leaves; /* open addressing by tid, LEAF_SLOTS, tid 0 = empty */
    size_t nleaves;
    frame_id overflow_frame, truncated_frame, unknown_frame;
    pthread_t th;
    bool started, joined;
    pthread_mutex_t sync; /* st */
    struct processing_stats st;
    struct proc_ctx *ctx; /* the thread's scratch, made before it starts */
    struct {
        pid_t tid;
        uint64_t ns;
    } * rem; /* off-CPU time not yet a whole period, by thread (LEAF_SLOTS) */
    size_t nrem;
};

/* A thread's latest leaf in each model. */
struct leaf_ent {
    pid_t tid;
    uint32_t node, folded;
};

struct proc_ctx {
    struct unwind_result ur;
    uint32_t mods[MERGED_MAX];
    uint64_t vaddrs[MERGED_MAX];
    uint32_t nat_mods[UNWIND_DEPTH_MAX + 1]; /* native frames before merging */
    uint64_t nat_vaddrs[UNWIND_DEPTH_MAX + 1];
    bool is_eval[UNWIND_DEPTH_MAX + 1];
    frame_id frames[MERGED_MAX];
    frame_id folded[MERGED_MAX]; /* frames without the folded interpreter frames */
    bool fold[MERGED_MAX];       /* frames[i] is folded into the Python frame above it */
    /* per module: 0 not checked, else MOD_OTHER, MOD_PYTHON or MOD_CRT */
    uint8_t modpy[MODREG_MAX];
    uint64_t last_refresh_ns;
    unsigned seen_exec_gen;
    unsigned seen_py_gen; /* pysample_generation: the interpreter's file may change */
    struct capture wait;  /* a blocked thread's stack, for the run figures */
    uint8_t wait_stack[CAPTURE_STACK_DEFAULT];
};

/* The address space a capture's frames are in: the target's, or with
 * --subprocesses a child's. */
struct space {
    struct addrspace *as;
    struct unwinder *uw;
    uint64_t *last_refresh_ns;
};

static const struct as_region *find_region(struct space *sp, uint64_t addr)
{
    const struct as_region *r = as_find(sp->as, addr);
    if (r)
        return r;
    uint64_t t = clock_mono_ns();
    if (t - *sp->last_refresh_ns < REFRESH_MIN_NS)
        return NULL;
    *sp->last_refresh_ns = t; /* a miss: maybe a dlopen since the last read */
    if (as_refresh(sp->as) < 0)
        return NULL;
    return as_find(sp->as, addr);
}

/* Turns the unwound pcs into (module, vaddr) pairs; MODULE_NONE = unknown. */
static size_t locate_frames(struct space *sp, struct proc_ctx *p)
{
    size_t n = p->ur.n;
    for (size_t i = 0; i < n; i++) {
        /* return addresses point after the call: look up the call itself */
        uint64_t addr = i == 0 ? p->ur.pcs[i] : p->ur.pcs[i] - 1;
        const struct as_region *r = find_region(sp, addr);
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

enum { MOD_UNKNOWN, MOD_OTHER, MOD_PYTHON, MOD_CRT };

/* The C runtime: libraries every program calls for memory, strings and
 * threads, that the interpreter calls on a Python function's behalf. */
static bool is_crt(const char *short_name)
{
    static const char *const crt[] = {"libc.so",       "libm.so",  "ld-linux",
                                      "libpthread.so", "libdl.so", "librt.so"};
    for (size_t i = 0; i < sizeof crt / sizeof *crt; i++)
        if (!strncmp(short_name, crt[i], strlen(crt[i])))
            return true;
    return false;
}

/* Which kind of file module mod is: the one that holds the interpreter,
 * the C runtime, or another.  Cached per module: asked for every frame. */
static int module_kind(struct processing *s, struct proc_ctx *p, uint32_t mod)
{
    if (mod >= MODREG_MAX || !pysample_ready(s->py))
        return MOD_OTHER;
    if (pysample_generation(s->py) != p->seen_py_gen) {
        p->seen_py_gen = pysample_generation(s->py); /* found again after an exec */
        memset(p->modpy, 0, sizeof p->modpy);
    }
    if (!p->modpy[mod]) {
        const struct module *m = modreg_get(s->reg, mod);
        p->modpy[mod] = !m                                                  ? MOD_OTHER
                        : strcmp(m->name, pysample_module_path(s->py)) == 0 ? MOD_PYTHON
                        : is_crt(m->short_name)                             ? MOD_CRT
                                                                            : MOD_OTHER;
    }
    return p->modpy[mod];
}

static bool is_python_module(struct processing *s, struct proc_ctx *p, uint32_t mod)
{
    return module_kind(s, p, mod) == MOD_PYTHON;
}

/* Marks the eval-loop frames for the merge (stackmerge.h). */
static void mark_eval(struct processing *s, struct proc_ctx *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p->is_eval[i] =
            is_python_module(s, p, p->nat_mods[i]) && pysample_is_eval(s->py, p->nat_vaddrs[i]);
}

/* The merged stack, innermost first, into mods/vaddrs: each eval-loop frame
 * replaced by the Python frames it runs.  n native frames, none when
 * --python.  One slot of mods is left for the truncation mark add_sample
 * may append. */
static struct stackmerge_result merge_frames(struct processing *s, struct proc_ctx *p,
                                             const struct capture *c, size_t n, size_t at)
{
    if (stackmerge_needs_eval(n, c->flags, c->py_n))
        mark_eval(s, p, n); /* a lookup per frame: only when there is something to merge */
    struct stackmerge_in in = {p->nat_mods, p->nat_vaddrs, p->is_eval, n, c->py, c->py_n, c->flags};
    return stackmerge(&in, p->mods + at, p->vaddrs + at, MERGED_MAX - 1 - at);
}

/* The kernel's frames (perf engine) go first, at the leaf: the user stack
 * continues under the system call they serve. */
static size_t put_kernel(struct proc_ctx *p, const struct capture *c)
{
    size_t k = c->kern_n < CAPTURE_KERN_MAX ? c->kern_n : CAPTURE_KERN_MAX;
    for (size_t i = 0; i < k; i++) {
        p->mods[i] = KERNEL_MARK;
        p->vaddrs[i] = c->kern[i];
    }
    return k;
}

/* The node of a thread's latest sample, for the screen's "function it is in
 * now".  A full table just stops remembering new threads. */
/* Thread tid's slot of the leaf table, or the empty one where it would go
 * (there always is one: remember_leaf fills half the table at most). */
static struct leaf_ent *leaf_slot(struct processing *s, pid_t tid)
{
    uint32_t i = hash_fib_top((uint32_t)tid, 13); /* LEAF_SLOTS = 1 << 13 */
    while (s->leaves[i].tid != tid && s->leaves[i].tid != 0)
        i = (i + 1) & (LEAF_SLOTS - 1);
    return &s->leaves[i];
}

static void remember_leaf(struct processing *s, pid_t tid, uint32_t node, uint32_t folded)
{
    struct leaf_ent *e = leaf_slot(s, tid);
    if (e->tid != tid) {
        if (s->nleaves * 2 >= LEAF_SLOTS)
            return;
        s->nleaves++;
    }
    *e = (struct leaf_ent){tid, node, folded};
}

/* Samples a capture stands for: 1, or its off-CPU time in sampling
 * periods, the remainder carried per thread so short waits add up. */
static uint32_t weight_of(struct processing *s, const struct capture *c)
{
    if (!c->weight_ns)
        return 1;
    unsigned hz = s->cfg.rate_hz ? s->cfg.rate_hz(s->cfg.ctx) : 99;
    uint64_t period = 1000000000ull / (hz ? hz : 1);
    uint32_t i = hash_fib_top((uint32_t)c->tid, 13); /* LEAF_SLOTS = 1 << 13 */
    for (uint32_t n = 0; n < LEAF_SLOTS && s->rem[i].tid && s->rem[i].tid != c->tid; n++)
        i = (i + 1) & (LEAF_SLOTS - 1);
    uint64_t w = c->weight_ns;
    if (s->rem[i].tid == c->tid || (!s->rem[i].tid && s->nrem * 2 < LEAF_SLOTS)) {
        s->nrem += !s->rem[i].tid;
        s->rem[i].tid = c->tid;
        w += s->rem[i].ns;
        s->rem[i].ns = w % period;
    }
    uint64_t k = w / period;
    return k > UINT32_MAX ? UINT32_MAX : (uint32_t)k;
}

/* The node of the innermost frame that is not the kernel's: "the function
 * a thread is in now" is its own code, the system call it makes shows
 * under it.  Under the model lock. */
static uint32_t user_leaf(struct processing *s, const struct model *m, uint32_t node)
{
    for (unsigned depth = 0; depth < CAPTURE_KERN_MAX; depth++) {
        const struct model_node *mn = model_node(m, node);
        const struct frame_key *k = mn ? intern_key(s->in, mn->frame) : NULL;
        if (!k || k->kind != FRAME_KERNEL)
            break;
        node = mn->parent;
    }
    return node;
}

/* Python-first (processing.h): marks in p->fold the interpreter's own
 * frames that run below a Python frame, and the C runtime they call, up
 * to the next Python frame or a frame of another module (an extension,
 * the kernel), which ends the run.  Root first: "below" is towards the
 * leaf. */
static void mark_fold(struct processing *s, struct proc_ctx *p, size_t n)
{
    bool under_py = false;
    for (size_t i = n; i-- > 0;) {
        uint32_t mod = p->mods[i];
        bool py = mod == STACKMERGE_PY_MARK;
        int kind = py ? MOD_OTHER : module_kind(s, p, mod);
        p->fold[i] = under_py && (kind == MOD_PYTHON || kind == MOD_CRT);
        under_py = py || p->fold[i];
    }
}

/* The sample into the Python-first model, folded frames left out. */
static uint32_t add_folded(struct processing *s, struct proc_ctx *p, const struct capture *c,
                           size_t n, frame_id tf, uint32_t kind, uint32_t weight)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!p->fold[i] && p->frames[i] != FRAME_NONE)
            p->folded[k++] = p->frames[i];
    uint32_t leaf = model_add_n(s->folded, c->tid, c->comm, c->state, tf, p->folded, k, kind,
                                c->time_ns, s->overflow_frame, weight);
    return user_leaf(s, s->folded, leaf);
}

/* The Python-first model starts as a copy of the full one, at the first
 * sample with Python frames (none before could fold).  Under s->lock. */
static void start_folding(struct processing *s)
{
    if (s->folded || s->fold_failed || !s->cfg.fold_python)
        return;
    s->folded = model_clone(s->model);
    s->fold_failed = !s->folded;
}

static void add_sample(struct processing *s, struct proc_ctx *p, const struct capture *c, size_t n,
                       bool truncated, bool has_py)
{
    uint32_t weight = weight_of(s, c);
    pthread_mutex_lock(s->lock);
    if (has_py)
        start_folding(s);
    if (s->folded)
        mark_fold(s, p, n);
    for (size_t i = 0; i < n; i++) {
        if (p->mods[i] == KERNEL_MARK)
            p->frames[i] = intern_frame(s->in, FRAME_KERNEL, 0, p->vaddrs[i]);
        else if (p->mods[i] == STACKMERGE_PY_MARK)
            p->frames[i] = intern_frame(s->in, FRAME_PYTHON, stackmerge_py_id(p->vaddrs[i]),
                                        stackmerge_py_line(p->vaddrs[i]));
        else
            p->frames[i] = p->mods[i] == MODULE_NONE
                               ? s->unknown_frame
                               : intern_frame(s->in, FRAME_NATIVE, p->mods[i], p->vaddrs[i]);
    }
    if (truncated) {
        p->fold[n] = false;
        p->frames[n++] = s->truncated_frame;
    }
    frame_id tf = intern_frame(s->in, FRAME_THREAD, 0, (uint64_t)c->tid);
    uint32_t kind = (c->flags & CAPTURE_ONCPU) ? SAMPLE_ONCPU : SAMPLE_WAITING;
    if (truncated)
        kind |= SAMPLE_TRUNCATED;
    uint32_t fleaf = s->folded ? add_folded(s, p, c, n, tf, kind, weight) : MODEL_NO_NODE;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (p->frames[i] != FRAME_NONE)
            p->frames[kept++] = p->frames[i];
    uint32_t leaf = model_add_n(s->model, c->tid, c->comm, c->state, tf, p->frames, kept, kind,
                                c->time_ns, s->overflow_frame, weight);
    if (c->pid) {
        model_thread_set_pid(s->model, c->tid, c->pid);
        if (s->folded)
            model_thread_set_pid(s->folded, c->tid, c->pid);
    }
    remember_leaf(s, c->tid, user_leaf(s, s->model, leaf), fleaf);
    pthread_mutex_unlock(s->lock);
}

/* The space of the capture's process; a child's is opened at its first. */
static struct space space_of(struct processing *s, struct proc_ctx *p, const struct capture *c)
{
    if (!c->pid || !s->kids)
        return (struct space){s->as, s->cfg.uw, &p->last_refresh_ns};
    struct childspace *k = childspaces_get(s->kids, c->pid);
    return (struct space){k->as, s->cfg.uw ? k->uw : NULL, &k->last_refresh_ns};
}

static void process_one(struct processing *s, struct proc_ctx *p, struct capture *c)
{
    unsigned gen = s->cfg.exec_gen ? s->cfg.exec_gen(s->cfg.ctx) : 0;
    struct space sp = space_of(s, p, c);
    if (gen != p->seen_exec_gen) {
        p->seen_exec_gen = gen; /* exec: a new program, new maps */
        memset(p->modpy, 0, sizeof p->modpy);
        as_refresh(s->as);
        p->last_refresh_ns = clock_mono_ns();
    } else if ((c->flags & CAPTURE_MAPS_CHANGED) && sp.as &&
               clock_mono_ns() - *sp.last_refresh_ns >= REFRESH_MIN_NS) {
        as_refresh(sp.as); /* new code mapped (dlopen, a child's exec): before its frames */
        *sp.last_refresh_ns = clock_mono_ns();
    }
    size_t n = 0;
    bool truncated = false;
    if (sp.uw) {
        unwind_capture(sp.uw, c, &p->ur);
        n = locate_frames(&sp, p);
        truncated = (p->ur.flags & UNWIND_TRUNCATED) != 0;
    }
    size_t k = put_kernel(p, c);
    struct stackmerge_result mr = merge_frames(s, p, c, n, k);
    n = k + mr.n;
    truncated |= mr.truncated || (c->flags & CAPTURE_PY_TRUNC) != 0;
    /* the slot goes back before the lock is taken; the Python frames were
     * copied into mods/vaddrs by the merge */
    struct capture meta;
    memcpy(&meta, c, offsetof(struct capture, py_n));
    meta.stack = NULL;
    uint32_t flags = c->flags;
    bool has_py = (flags & CAPTURE_PY) && c->py_n > 0;
    capqueue_release(s->q);
    add_sample(s, p, &meta, n, truncated, has_py);
    pthread_mutex_lock(&s->sync);
    s->st.processed++;
    s->st.truncated += truncated;
    s->st.py_samples += (flags & CAPTURE_PY) != 0;
    s->st.py_unmerged += mr.unmerged;
    s->st.py_torn += (flags & CAPTURE_PY_TORN) != 0;
    pthread_mutex_unlock(&s->sync);
}

/* A glibc mutex names its holder: __owner, the thread id of the thread
 * that locked it, 8 bytes into pthread_mutex_t.  Read from the target,
 * bounded; believed only when it is one of the target's threads. */
static pid_t lock_owner(pid_t pid, uint64_t addr)
{
    int32_t owner = 0;
    char path[64];
    if (addr > UINT64_MAX - 8 || remote_read(pid, addr + 8, &owner, sizeof owner) < 0 || owner <= 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%d/task/%d", (int)pid, (int)owner);
    return access(path, F_OK) == 0 ? owner : 0;
}

/* The frame of the latest on-CPU sample of thread tid, FRAME_NONE when
 * none yet.  Under s->lock. */
static frame_id latest_frame(struct processing *s, pid_t tid)
{
    const struct leaf_ent *e = leaf_slot(s, tid);
    const struct model_node *mn = e->tid == tid ? model_node(s->model, e->node) : NULL;
    return mn ? mn->frame : FRAME_NONE;
}

/* The run figures' part of a blocked thread: its stack, read from procfs
 * and the target's memory without stopping it (blocked.h) and unwound
 * here, on the processing thread (the unwinder is not shared), between two
 * samples; and for a lock, where the lock is and who holds it. */
static void wait_stack(void *ctx, struct procstat_thread *t)
{
    struct processing *s = ctx;
    struct proc_ctx *p = s->ctx;
    pid_t pid = as_pid(s->as);
    if (verdict_wait_kind(t->wait.syscall_nr, t->wait.args[1]) == WAIT_LOCK) {
        uint64_t addr = t->wait.args[0];
        if (as_data_module(s->as, addr, &t->wait_lock_module, &t->wait_lock_vaddr) < 0)
            t->wait_lock_module = UINT32_MAX;
        t->wait_owner = lock_owner(pid, addr);
        pthread_mutex_lock(s->lock);
        t->wait_owner_frame = t->wait_owner ? latest_frame(s, t->wait_owner) : FRAME_NONE;
        pthread_mutex_unlock(s->lock);
    }
    if (!s->cfg.uw)
        return;
    p->wait.stack = p->wait_stack;
    p->wait.stack_cap = sizeof p->wait_stack;
    if (blocked_capture(pid, t->tid, &p->wait, sizeof p->wait_stack) < 0)
        return;
    unwind_capture(s->cfg.uw, &p->wait, &p->ur);
    struct space sp = {s->as, s->cfg.uw, &p->last_refresh_ns};
    size_t n = locate_frames(&sp, p), k = 0;
    pthread_mutex_lock(s->lock);
    for (size_t i = 0; i < n && k < PROCSTAT_WAIT_FRAMES; i++) {
        frame_id id = intern_frame(s->in, FRAME_NATIVE, p->nat_mods[i], p->nat_vaddrs[i]);
        if (id != FRAME_NONE)
            t->wait_frames[k++] = id;
    }
    pthread_mutex_unlock(s->lock);
    t->nwait_frames = (uint8_t)k;
}

static void *processing_main(void *arg)
{
    struct processing *s = arg;
    struct proc_ctx *p = s->ctx;
    p->seen_exec_gen = s->cfg.exec_gen ? s->cfg.exec_gen(s->cfg.ctx) : 0;
    runfigs_set_stacks(s->cfg.figs, wait_stack, s);
    runfigs_take(s->cfg.figs);
    for (;;) {
        struct capture *c = capqueue_take(s->q, 100);
        runfigs_maybe_take(s->cfg.figs, clock_mono_ns());
        if (c)
            process_one(s, p, c);
        else if (capqueue_closed(s->q))
            break;
    }
    pthread_mutex_lock(&s->sync);
    s->st.cpu_ns = clock_thread_cpu_ns();
    pthread_mutex_unlock(&s->sync);
    return NULL;
}

int processing_start(struct processing **out, const struct processing_cfg *cfg, char *err,
                     size_t errsz)
{
    struct processing *s = calloc(1, sizeof *s);
    *out = s;
    if (s) {
        s->ctx = calloc(1, sizeof(struct proc_ctx));
        s->leaves = calloc(LEAF_SLOTS, sizeof(*s->leaves));
        s->rem = calloc(LEAF_SLOTS, sizeof(*s->rem));
    }
    if (!s || !s->ctx || !s->leaves || !s->rem) {
        snprintf(err, errsz, "pertop: out of memory while setting up");
        return -ENOMEM;
    }
    s->cfg = *cfg;
    s->q = cfg->q;
    s->as = cfg->as;
    s->reg = cfg->reg;
    s->in = cfg->in;
    s->model = cfg->model;
    s->py = cfg->py;
    s->lock = cfg->model_lock;
    if (cfg->subprocesses && !(s->kids = childspaces_new(cfg->reg, cfg->max_depth))) {
        snprintf(err, errsz, "pertop: out of memory while setting up");
        return -ENOMEM;
    }
    pthread_mutex_init(&s->sync, NULL);
    pthread_mutex_lock(s->lock);
    s->overflow_frame = intern_frame(s->in, FRAME_SPECIAL, SPECIAL_OVERFLOW, 0);
    s->truncated_frame = intern_frame(s->in, FRAME_SPECIAL, SPECIAL_TRUNCATED, 0);
    s->unknown_frame = intern_frame(s->in, FRAME_SPECIAL, SPECIAL_UNKNOWN_ADDR, 0);
    pthread_mutex_unlock(s->lock);
    if (pthread_create(&s->th, NULL, processing_main, s) != 0) {
        snprintf(err, errsz, "pertop: cannot start the processing thread: %s", strerror(errno));
        return -EAGAIN;
    }
    s->started = true;
    return 0;
}

void processing_join(struct processing *s)
{
    if (!s || !s->started || s->joined)
        return;
    pthread_join(s->th, NULL);
    s->joined = true;
}

void processing_free(struct processing *s)
{
    if (!s)
        return;
    processing_join(s);
    if (s->lock)
        pthread_mutex_destroy(&s->sync);
    free(s->ctx);
    free(s->leaves);
    free(s->rem);
    childspaces_free(s->kids);
    model_free(s->folded);
    free(s);
}

void processing_get_stats(struct processing *s, struct processing_stats *out)
{
    pthread_mutex_lock(&s->sync);
    *out = s->st;
    pthread_mutex_unlock(&s->sync);
}

long processing_leaves(struct processing *s, const struct model *m, struct lv_leaf **out)
{
    *out = malloc((s->nleaves ? s->nleaves : 1) * sizeof(**out));
    if (!*out)
        return -ENOMEM;
    bool folded = m == s->folded;
    size_t n = 0;
    for (size_t i = 0; i < LEAF_SLOTS; i++) {
        const struct leaf_ent *e = &s->leaves[i];
        uint32_t node = folded ? e->folded : e->node;
        if (e->tid && node != MODEL_NO_NODE)
            (*out)[n++] = (struct lv_leaf){e->tid, node};
    }
    return (long)n;
}

struct model *processing_view_model(struct processing *s, bool native_all)
{
    return s->folded && !native_all ? s->folded : s->model;
}

bool processing_folds(struct processing *s)
{
    return s->folded != NULL;
}

void processing_zero(struct processing *s)
{
    model_zero(s->model);
    if (s->folded)
        model_zero(s->folded);
}
