/*
 * pysample.c - CPython frames for the ptrace sampler (see pysample.h).
 */
#include "sampler/python/pysample.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hash.h"
#include "sampler/unwind/elfsyms.h"
#include "sampler/proc/procfs.h"
#include "sampler/python/pyfind.h"
#include "sampler/python/pyframes.h"
#include "sampler/python/pynames.h"

#define EVAL_RANGES_MAX 8
#define RETRY_EVERY_NS  200000000ull   /* launch mode: look again this often ... */
#define RETRY_FOR_NS    10000000000ull /* ... for this long */
#define SYMS_MAX        (1u << 22)     /* symbols looked at per table (untrusted file) */
#define CMDLINE_MAX     4096
#define RELIST_NS       100000000ull  /* thread states listed again this often ... */
#define RELIST_MIN_NS   10000000ull   /* ... or sooner, when a thread was not found */
#define REFIND_NS       1000000000ull /* --pid, not (yet) a Python: look again */
#define LOST_LISTINGS   3  /* failed listings in a row (300 ms): the interpreter is gone */
#define TIME_EVERY      8u /* walks timed: one in this many, the sum scaled */
#define NAMES_NS        1000000000ull /* threading's names read again this often ... */
#define NAMES_MIN_NS    100000000ull  /* ... or sooner when a new thread appeared */

struct eval_range {
    uint64_t lo, hi; /* ELF vaddrs, [lo, hi) */
};

struct pysample {
    pid_t pid;
    struct pycode_reg *reg;
    bool gil_only, retry;
    uint64_t first_try_ns, last_try_ns;
    bool gave_up;

    struct pyframes *pf;
    struct pyfind_result found;
    struct pyf_target t;
    int tid_offset; /* <= 3.10: offset of the tid in struct pthread; -1 unknown */
    bool tid_offset_tried;

    /* the thread states, listed every RELIST_NS (or when a sampled thread
     * had none), and this round's GIL holder (--gil) */
    struct pyf_thread *threads;     /* [PYF_MAX_THREADS] */
    struct pyf_thread *old_threads; /* [PYF_MAX_THREADS]: the previous listing */
    size_t nthreads;
    uint64_t interp, listed_ns, maps_sum;
    bool relist;
    unsigned list_failures;
    uint64_t gil_tstate;
    pid_t gil_tid;
    struct pyf_frame scratch[CAPTURE_PY_MAX];
    struct pysample_stats st;
    uint32_t walk_seq;
    /* threading.Thread names by ident, read every NAMES_NS */
    struct pyname *names; /* [PYN_MAX] */
    size_t nnames;
    uint64_t names_ns;
    bool names_stale; /* a thread appeared that the names may not have */
    /* nonblocking: a /proc stat file kept open per thread state, same index */
    int *stat_fd; /* [PYF_MAX_THREADS], -1 closed */

    /* Published to the processing thread: written into the slot not in
     * use, then `pub_gen` (its index is gen & 1) is stored with release
     * order.  A second slot because an exec can bring another interpreter;
     * execs come seconds apart, readers hold a slot for microseconds. */
    struct pypub {
        struct eval_range eval[EVAL_RANGES_MAX];
        unsigned neval;
        char describe[64];
        char script_dir[PATH_MAX];
        char path[PATH_MAX];
    } pub[2], *next;   /* next: the slot being filled by the finder */
    atomic_bool ready; /* found and supported: sampling reads Python */
    /* Why the looking stopped, for the screen: written once, before
     * `stopped_looking` is stored with release order. */
    char why[256];
    atomic_bool stopped_looking;
    atomic_uint pub_gen; /* 0: nothing published yet */
};

struct pysample *pysample_new(pid_t pid, struct pycode_reg *reg, bool gil_only, bool retry)
{
    struct pysample *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->pid = pid;
    p->reg = reg;
    p->gil_only = gil_only;
    p->retry = retry;
    p->tid_offset = -1;
    p->pf = pyframes_new(0);
    p->threads = calloc(PYF_MAX_THREADS, sizeof *p->threads);
    p->old_threads = calloc(PYF_MAX_THREADS, sizeof *p->old_threads);
    p->stat_fd = malloc(PYF_MAX_THREADS * sizeof *p->stat_fd);
    p->names = calloc(PYN_MAX, sizeof *p->names);
    if (!p->pf || !p->threads || !p->old_threads || !p->stat_fd || !p->names) {
        pysample_free(p);
        return NULL;
    }
    for (size_t i = 0; i < PYF_MAX_THREADS; i++)
        p->stat_fd[i] = -1;
    pyframes_set_stopped(p->pf, true); /* ptrace mode; the nonblocking round says otherwise */
    atomic_init(&p->ready, false);
    atomic_init(&p->stopped_looking, false);
    atomic_init(&p->pub_gen, 0);
    return p;
}

void pysample_free(struct pysample *p)
{
    if (!p)
        return;
    pyframes_free(p->pf);
    for (size_t i = 0; p->stat_fd && i < PYF_MAX_THREADS; i++)
        if (p->stat_fd[i] >= 0)
            close(p->stat_fd[i]);
    free(p->stat_fd);
    free(p->threads);
    free(p->old_threads);
    free(p->names);
    free(p);
}

/* ------------------------------------------------------------ finding */

/* The eval loop is the function that runs Python frames: one native frame
 * per Python frame up to 3.10, one per run of Python frames from 3.11.
 * Its split-off cold part (".cold") is part of it. */
static bool is_eval_name(const char *name, int major)
{
    const char *want = major == 2 ? "PyEval_EvalFrameEx" : "_PyEval_EvalFrameDefault";
    size_t n = strlen(want);
    return strncmp(name, want, n) == 0 && (name[n] == '\0' || strcmp(name + n, ".cold") == 0);
}

static void add_range(struct pypub *w, uint64_t lo, uint64_t size)
{
    for (unsigned i = 0; i < w->neval; i++)
        if (w->eval[i].lo == lo)
            return; /* the same symbol in .dynsym and .symtab */
    if (w->neval < EVAL_RANGES_MAX && size > 0)
        w->eval[w->neval++] = (struct eval_range){lo, lo + size};
}

struct eval_scan {
    struct pysample *p;
    int major;
};

static void on_func_sym(void *ctx, const char *name, const GElf_Sym *sym)
{
    struct eval_scan *e = ctx;
    if (is_eval_name(name, e->major))
        add_range(e->p->next, sym->st_value, sym->st_size);
}

static void scan_symbols(struct pysample *p, Elf *elf, int major)
{
    struct eval_scan e = {p, major};
    elfsyms_each(elf, STT_FUNC, SYMS_MAX, on_func_sym, &e);
}

/* The eval loop's ranges in the interpreter's file, opened through the
 * target's root (containers). */
static void find_eval_ranges(struct pysample *p)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "/proc/%d/root%s", (int)p->pid, p->found.path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (elf && elf_kind(elf) == ELF_K_ELF)
        scan_symbols(p, elf, p->found.major);
    if (elf)
        elf_end(elf);
    close(fd);
}

/* dst = base "/" the first n bytes of rel (no "/" when either is empty);
 * left empty when it does not fit: a wrong prefix would cut names. */
static void join_dir(char *dst, size_t size, const char *base, const char *rel, size_t n)
{
    size_t b = strlen(base), sep = b && n ? 1 : 0;
    dst[0] = '\0';
    if (b + sep + n >= size)
        return;
    memcpy(dst, base, b);
    memcpy(dst + b, "/", sep);
    memcpy(dst + b + sep, rel, n);
    dst[b + sep + n] = '\0';
}

/* The first argument ending in ".py" is the script: its directory is the
 * prefix the target's own file names start with. */
static void find_script_dir(struct pysample *p)
{
    char buf[CMDLINE_MAX], path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)p->pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    for (char *a = buf + strlen(buf) + 1; a < buf + n; a += strlen(a) + 1) {
        size_t len = strlen(a);
        char *slash = strrchr(a, '/');
        if (len < 3 || strcmp(a + len - 3, ".py") != 0)
            continue;
        size_t dir = slash ? (size_t)(slash - a) : 0;
        if (a[0] == '/') {
            join_dir(p->next->script_dir, sizeof p->next->script_dir, "", a, dir);
            return;
        }
        char cwd[PATH_MAX];
        snprintf(path, sizeof path, "/proc/%d/cwd", (int)p->pid);
        ssize_t k = readlink(path, cwd, sizeof cwd - 1);
        if (k <= 0)
            return;
        cwd[k] = '\0';
        join_dir(p->next->script_dir, sizeof p->next->script_dir, cwd, a, dir);
        return;
    }
}

/* Drops the thread list, its open stat files and the names. */
static void forget_threads(struct pysample *p)
{
    for (size_t i = 0; i < p->nthreads; i++)
        if (p->stat_fd[i] >= 0) {
            close(p->stat_fd[i]);
            p->stat_fd[i] = -1;
        }
    p->nthreads = 0;
    p->nnames = 0;
    p->names_ns = 0;
}

/* The published slot, or NULL before the first. */
static const struct pypub *pub(const struct pysample *p)
{
    unsigned g = atomic_load_explicit(&((struct pysample *)p)->pub_gen, memory_order_acquire);
    return g ? &p->pub[g & 1] : NULL;
}

/* Publishes what the finder wrote into p->next. */
static void publish(struct pysample *p)
{
    snprintf(p->next->path, sizeof p->next->path, "%s", p->found.path);
    snprintf(p->next->describe, sizeof p->next->describe, "CPython %d.%d", p->found.major,
             p->found.minor);
    if (p->found.micro >= 0)
        snprintf(p->next->describe + strlen(p->next->describe),
                 sizeof p->next->describe - strlen(p->next->describe), ".%d", p->found.micro);
    unsigned g = atomic_load_explicit(&p->pub_gen, memory_order_relaxed) + 1;
    if (&p->pub[g & 1] != p->next)
        g++; /* keep gen & 1 naming the slot just written */
    atomic_store_explicit(&p->pub_gen, g, memory_order_release);
}

int pysample_find(struct pysample *p, char *err, size_t errsz)
{
    if (atomic_load(&p->ready))
        return 1;
    int rc = pyfind(p->pid, &p->found, err, errsz);
    if (rc == -ENOENT) {
        if (err && errsz)
            err[0] = '\0';
        return 0;
    }
    if (rc < 0)
        return rc;
    struct pyread mem = {pyread_pid, &p->pid, pyread_pid_v};
    rc = pyfind_target(&p->found, mem, &p->t, err, errsz);
    if (rc < 0)
        return rc;
    p->t.mem.ctx = &p->pid; /* the copy in p, not the caller's stack */
    const struct pypub *cur = pub(p);
    p->next = cur == &p->pub[0] ? &p->pub[1] : &p->pub[0];
    memset(p->next, 0, sizeof *p->next);
    find_eval_ranges(p);
    find_script_dir(p);
    publish(p);
    forget_threads(p);
    p->listed_ns = 0;
    p->list_failures = 0;
    p->tid_offset = -1;
    p->tid_offset_tried = false;
    atomic_store_explicit(&p->ready, true, memory_order_release);
    return 1;
}

void pysample_exec(struct pysample *p)
{
    /* a new program: whatever was found is gone; look again as for a
     * launched command (the interpreter appears once it has loaded) */
    atomic_store(&p->ready, false);
    p->retry = true;
    p->gave_up = false;
    p->first_try_ns = p->last_try_ns = 0;
    p->maps_sum = 0;
    forget_threads(p);
    p->st.refinds++;
}

/* -------------------------------------------------------------- hooks */

/* A cheap fingerprint of the files mapped into the target: pyfind (which
 * opens ELF files) runs again only when it changed, e.g. after a dlopen
 * of libpython by an embedding program. */
static uint64_t maps_fingerprint(pid_t pid)
{
    char path[64], line[512];
    uint64_t h = HASH_FNV64_OFFSET;
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    for (size_t k = 0; k < 65536 && fgets(line, sizeof line, f); k++) {
        /* files only: anonymous mappings come and go with every malloc
         * arena and thread stack, and would run pyfind each second */
        const char *name = strchr(line, '/');
        if (!name)
            continue;
        h = hash_fnv1a(h, name, strcspn(name, "\n") + 1); /* with its newline */
    }
    fclose(f);
    return h;
}

/* No more looking; why ("" when no interpreter showed up) for the screen,
 * once. */
static void give_up(struct pysample *p, const char *why)
{
    p->gave_up = true;
    if (atomic_load_explicit(&p->stopped_looking, memory_order_relaxed))
        return;
    snprintf(p->why, sizeof p->why, "%s", why);
    atomic_store_explicit(&p->stopped_looking, true, memory_order_release);
}

bool pysample_gave_up(const struct pysample *p, const char **why)
{
    if (!p || !atomic_load_explicit(&((struct pysample *)p)->stopped_looking, memory_order_acquire))
        return false;
    *why = p->why;
    return true;
}

/* --pid: a process that is not a Python (yet) may load libpython later. */
static void maybe_refind(struct pysample *p, uint64_t now)
{
    if (p->gave_up || (p->last_try_ns && now - p->last_try_ns < REFIND_NS))
        return;
    p->last_try_ns = now;
    uint64_t sum = maps_fingerprint(p->pid);
    if (sum == p->maps_sum)
        return;
    p->maps_sum = sum;
    char err[256];
    if (pysample_find(p, err, sizeof err) < 0)
        give_up(p, err);
    else if (atomic_load_explicit(&p->ready, memory_order_relaxed))
        p->st.refinds++;
}

/* Launch mode: the interpreter exists only after the command's exec. */
static void maybe_find(struct pysample *p)
{
    uint64_t now = clock_mono_ns();
    if (!p->retry) {
        maybe_refind(p, now);
        return;
    }
    if (p->gave_up)
        return;
    if (!p->first_try_ns)
        p->first_try_ns = now;
    if (now - p->first_try_ns > RETRY_FOR_NS) {
        give_up(p, "");
        return;
    }
    if (p->last_try_ns && now - p->last_try_ns < RETRY_EVERY_NS)
        return;
    p->last_try_ns = now;
    char err[256];
    if (pysample_find(p, err, sizeof err) < 0)
        give_up(p, err); /* found but unusable: native frames only */
}

/* Keeps the /proc stat file of each thread open across listings (the
 * nonblocking sampler reads it every sample): moved to the thread's new
 * index, closed when the thread is gone. */
static void carry_stat_fds(struct pysample *p, const struct pyf_thread *old, size_t nold)
{
    static const int none = -1;
    int moved[PYF_MAX_THREADS];
    for (size_t i = 0; i < p->nthreads; i++) {
        moved[i] = none;
        for (size_t k = 0; k < nold; k++)
            if (p->stat_fd[k] >= 0 && old[k].tid == p->threads[i].tid && old[k].tid > 0) {
                moved[i] = p->stat_fd[k];
                p->stat_fd[k] = none;
                break;
            }
    }
    for (size_t k = 0; k < nold; k++)
        if (p->stat_fd[k] >= 0) {
            close(p->stat_fd[k]);
            p->stat_fd[k] = none;
        }
    for (size_t i = 0; i < p->nthreads; i++)
        p->stat_fd[i] = moved[i];
}

static void list_threads(struct pysample *p, uint64_t now)
{
    struct pyf_thread *old = p->old_threads;
    size_t nold = p->nthreads;
    unsigned flags = 0;

    memcpy(old, p->threads, nold * sizeof *old);
    p->listed_ns = now;
    p->relist = false;
    /* no thread state at all, the first unreadable, is an interpreter that
     * is not there any more (an exec not seen, with --nonblocking) */
    if (pyframes_interp(&p->t, &p->interp) < 0 ||
        pyframes_threads(&p->t, p->threads, PYF_MAX_THREADS, &p->nthreads, &flags, p->tid_offset) <
            0 ||
        (p->nthreads == 0 && (flags & PYF_BADREAD))) {
        p->nthreads = 0;
        p->list_failures++;
    } else {
        p->list_failures = 0;
    }
    carry_stat_fds(p, old, nold);
    for (size_t i = 0; i < p->nthreads && !p->names_stale; i++) {
        bool known = false;
        for (size_t k = 0; k < nold && !known; k++)
            known = old[k].tstate == p->threads[i].tstate;
        p->names_stale = !known; /* a new thread: its name, soon */
    }
    /* Before 3.11 the tid comes from glibc's struct pthread, at an offset
     * found once from the main thread (the last thread state). */
    if (p->t.layout.ts_native_thread_id < 0 && !p->tid_offset_tried && p->nthreads > 0) {
        p->tid_offset_tried = true;
        p->tid_offset = pyframes_tid_offset(&p->t, p->threads[p->nthreads - 1].pthread_id, p->pid);
        if (p->tid_offset >= 0)
            list_threads(p, now);
    }
}

/* The names threading gave the threads, by ident; a failed read keeps
 * the last ones (the OS names stand in until a read succeeds). */
static void read_names(struct pysample *p, uint64_t now)
{
    size_t n = 0;
    p->names_ns = now;
    p->names_stale = false;
    if (pynames_read(&p->t, p->interp, p->names, PYN_MAX, &n) == 0)
        p->nnames = n;
    p->st.name_reads++;
}

/* The thread's Python name, or NULL. */
static const char *name_of(const struct pysample *p, const struct pyf_thread *th)
{
    for (size_t i = 0; i < p->nnames; i++)
        if (p->names[i].ident == th->pthread_id)
            return p->names[i].name;
    return NULL;
}

/* The capture's thread name: threading's name when it has one (cut to
 * what the capture holds), else the OS name already there. */
static void put_name(const struct pysample *p, const struct pyf_thread *th, struct capture *c)
{
    const char *name = name_of(p, th);
    if (!name)
        return;
    size_t k = strnlen(name, sizeof c->comm - 1);
    memcpy(c->comm, name, k);
    c->comm[k] = '\0';
}

/* The thread list is read again every RELIST_NS, or sooner when a thread
 * was sampled that it lacks; the GIL holder every round, with --gil. */
static void on_round(void *ctx)
{
    struct pysample *p = ctx;
    if (!atomic_load_explicit(&p->ready, memory_order_relaxed))
        maybe_find(p);
    if (!atomic_load_explicit(&p->ready, memory_order_relaxed)) {
        forget_threads(p);
        return;
    }
    uint64_t now = clock_mono_ns();
    if (!p->listed_ns || now - p->listed_ns >= RELIST_NS ||
        (p->relist && now - p->listed_ns >= RELIST_MIN_NS))
        list_threads(p, now);
    if (p->list_failures >= LOST_LISTINGS) {
        pysample_exec(p); /* the interpreter went away (an exec we did not see) */
        return;
    }
    if (now - p->names_ns >= NAMES_NS || (p->names_stale && now - p->names_ns >= NAMES_MIN_NS))
        read_names(p, now);
    p->gil_tstate = 0;
    p->gil_tid = 0;
    if (!p->gil_only)
        return;
    p->gil_tstate = pyframes_gil_holder(&p->t, p->interp);
    for (size_t i = 0; i < p->nthreads; i++)
        if (p->threads[i].tstate == p->gil_tstate)
            p->gil_tid = p->threads[i].tid;
}

static bool on_want(void *ctx, pid_t tid)
{
    struct pysample *p = ctx;
    if (!p->gil_only || !atomic_load_explicit(&p->ready, memory_order_relaxed))
        return true;
    return p->gil_tid != 0 && tid == p->gil_tid;
}

static const struct pyf_thread *thread_of(struct pysample *p, pid_t tid)
{
    for (size_t i = 0; i < p->nthreads; i++)
        if (p->threads[i].tid == tid)
            return &p->threads[i];
    p->relist = true; /* a new thread, perhaps: list them again soon */
    return NULL;
}

/* One thread's frames into c; 0, or < 0 when its state cannot be read.
 * *flags gets the walk's PYF_* bits. */
static int walk_into(struct pysample *p, const struct pyf_thread *th, struct capture *c,
                     unsigned *flags)
{
    size_t n = 0;
    /* the sampler's own CPU (user and kernel, as the reads are syscalls),
     * not wall time: a preempted walk costs nobody anything */
    bool timed = (p->walk_seq++ & (TIME_EVERY - 1)) == 0; /* the clock is 2 syscalls */
    uint64_t t0 = timed ? clock_thread_cpu_ns() : 0;
    int rc = pyframes_walk(p->pf, &p->t, th->tstate, p->scratch, CAPTURE_PY_MAX, &n, flags);
    if (timed)
        p->st.walk_ns += (clock_thread_cpu_ns() - t0) * TIME_EVERY;
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        c->py[i] = (struct capture_pyframe){p->scratch[i].code, p->scratch[i].line, 0,
                                            p->scratch[i].entry};
    c->py_n = (uint32_t)n;
    c->flags |= CAPTURE_PY;
    if (*flags & (PYF_TORN | PYF_CYCLE | PYF_BADREAD))
        c->flags |= CAPTURE_PY_TORN;
    if (*flags & PYF_TRUNCATED)
        c->flags |= CAPTURE_PY_TRUNC;
    if (p->gil_tstate && th->tstate == p->gil_tstate)
        c->flags |= CAPTURE_PY_GIL;
    return 0;
}

/* Right after the native capture: addresses and lines only.  A stopped
 * thread's chain is read as it stands; a running one's (an engine that
 * stops nothing) is checked for tearing, and a torn walk leaves the native
 * sample standing alone, flagged, never dropped. */
static int on_captured(void *ctx, struct capture *c)
{
    struct pysample *p = ctx;
    unsigned flags = 0;
    const struct pyf_thread *th = thread_of(p, c->tid);
    c->py_n = 0;
    if (th) {
        put_name(p, th, c);
        pyframes_set_stopped(p->pf, (c->flags & CAPTURE_STOPPED) != 0);
        walk_into(p, th, c, &flags); /* no Python frames: the native sample stands */
        if ((c->flags & (CAPTURE_STOPPED | CAPTURE_PY_TORN)) == CAPTURE_PY_TORN)
            c->py_n = 0;
    }
    return 0;
}

/* After the resume, before the next walk: the walker's names are valid. */
static void on_resumed(void *ctx, struct capture *c)
{
    struct pysample *p = ctx;
    for (uint32_t i = 0; i < c->py_n; i++)
        c->py[i].id = pycode_reg_intern(p->reg, pyframes_code(p->pf, c->py[i].code));
}

/* ---------------------------------------------------------- nonblocking */

/* The thread's state and name, from its /proc stat file kept open. */
static int thread_stat(struct pysample *p, size_t i, struct proc_stat *ps)
{
    char path[64];
    if (p->stat_fd[i] < 0) {
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)p->pid, (int)p->threads[i].tid);
        p->stat_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (p->stat_fd[i] < 0)
            return -errno;
    }
    return procfs_pread_stat(p->stat_fd[i], ps);
}

/* One thread, read live; true when a sample was queued. */
static bool nb_thread(struct pysample *p, size_t i, struct capqueue *q, bool idle,
                      struct pysample_nb_counts *nc)
{
    const struct pyf_thread *th = &p->threads[i];
    struct proc_stat ps;
    unsigned flags = 0;

    if (th->tid <= 0)
        return false; /* not matched to an OS thread: nothing to name it by */
    if (thread_stat(p, i, &ps) < 0) {
        p->relist = true; /* gone: the list is stale */
        nc->failed++;
        return false;
    }
    if (!idle && ps.state != 'R') {
        nc->skipped_idle++;
        return false;
    }
    if (p->gil_only && th->tstate != p->gil_tstate) {
        nc->skipped_idle++;
        return false;
    }
    struct capture *c = capqueue_reserve(q);
    if (!c) {
        nc->lost++;
        return false;
    }
    c->tid = th->tid;
    c->state = ps.state;
    snprintf(c->comm, sizeof c->comm, "%s", ps.comm);
    put_name(p, th, c);
    c->time_ns = clock_mono_ns();
    c->stop_ns = 0;
    c->flags = ps.state == 'R' ? CAPTURE_ONCPU : 0;
    if (walk_into(p, th, c, &flags) < 0) {
        nc->failed++;
        return false;
    }
    if (c->flags & CAPTURE_PY_TORN) {
        nc->torn++; /* counted, never shown as a stack: the slot is reused */
        return false;
    }
    on_resumed(p, c);
    capqueue_commit(q);
    nc->samples++;
    return true;
}

void pysample_nb_round(struct pysample *p, struct capqueue *q, bool idle,
                       struct pysample_nb_counts *nc)
{
    pyframes_set_stopped(p->pf, false);
    on_round(p);
    nc->rounds++;
    for (size_t i = 0; i < p->nthreads; i++)
        nb_thread(p, i, q, idle, nc);
    nc->threads = (uint32_t)p->nthreads;
}

int pysample_nb_check(struct pysample *p, char *err, size_t errsz)
{
    uint8_t byte;
    int rc = pyread_pid(&p->pid, p->t.root, &byte, 1);
    if (rc == 0)
        return 0;
    snprintf(err, errsz,
             "pertop: cannot read the memory of process %d: %s — run as root, or set "
             "kernel.yama.ptrace_scope=0",
             (int)p->pid, strerror(-rc));
    return rc;
}

bool pysample_nb_alive(struct pysample *p)
{
    struct proc_stat ps;
    if (procfs_read_stat(p->pid, 0, &ps) < 0)
        return false;
    return ps.state != 'Z' && ps.state != 'X';
}

struct engine_hooks pysample_hooks(struct pysample *p)
{
    return (struct engine_hooks){.round = on_round,
                                 .want = on_want,
                                 .captured = on_captured,
                                 .released = on_resumed,
                                 .ctx = p};
}

/* ---------------------------------------------------- processing side */

bool pysample_ready(const struct pysample *p)
{
    return p && pub(p) != NULL;
}

unsigned pysample_generation(const struct pysample *p)
{
    return p ? atomic_load_explicit(&((struct pysample *)p)->pub_gen, memory_order_acquire) : 0;
}

const char *pysample_describe(const struct pysample *p)
{
    const struct pypub *w = p ? pub(p) : NULL;
    return w ? w->describe : "";
}

const char *pysample_module_path(const struct pysample *p)
{
    const struct pypub *w = p ? pub(p) : NULL;
    return w ? w->path : "";
}

bool pysample_is_eval(const struct pysample *p, uint64_t vaddr)
{
    const struct pypub *w = p ? pub(p) : NULL;
    for (unsigned i = 0; w && i < w->neval; i++)
        if (vaddr >= w->eval[i].lo && vaddr < w->eval[i].hi)
            return true;
    return false;
}

const char *pysample_script_dir(const struct pysample *p)
{
    const struct pypub *w = p ? pub(p) : NULL;
    return w ? w->script_dir : "";
}

void pysample_get_stats(const struct pysample *p, struct pysample_stats *out)
{
    struct pyframes_stats fs;
    pyframes_stats(p->pf, &fs);
    *out = p->st;
    out->walks = fs.walks;
    out->torn = fs.torn;
    out->retries = fs.retries;
    out->frames = fs.frames;
    out->reads = fs.reads;
}
