/*
 * pysample.c - CPython frames for the ptrace sampler (see pysample.h).
 */
#include "pysample.h"

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

#include "pyfind.h"
#include "pyframes.h"
#include "elfsyms.h"

#define EVAL_RANGES_MAX 8
#define RETRY_EVERY_NS  200000000ull   /* launch mode: look again this often ... */
#define RETRY_FOR_NS    10000000000ull /* ... for this long */
#define SYMS_MAX        (1u << 22)     /* symbols looked at per table (untrusted file) */
#define CMDLINE_MAX     4096

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

    /* this round's thread states, and the GIL holder */
    struct pyf_thread *threads; /* [PYF_MAX_THREADS] */
    size_t nthreads;
    uint64_t gil_tstate;
    pid_t gil_tid;
    struct pyf_frame scratch[CAPTURE_PY_MAX];

    /* published to the processing thread with `ready` */
    struct eval_range eval[EVAL_RANGES_MAX];
    unsigned neval;
    char describe[64];
    char script_dir[PATH_MAX];
    atomic_bool ready;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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
    if (!p->pf || !p->threads) {
        pysample_free(p);
        return NULL;
    }
    atomic_init(&p->ready, false);
    return p;
}

void pysample_free(struct pysample *p)
{
    if (!p)
        return;
    pyframes_free(p->pf);
    free(p->threads);
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

static void add_range(struct pysample *p, uint64_t lo, uint64_t size)
{
    for (unsigned i = 0; i < p->neval; i++)
        if (p->eval[i].lo == lo)
            return; /* the same symbol in .dynsym and .symtab */
    if (p->neval < EVAL_RANGES_MAX && size > 0)
        p->eval[p->neval++] = (struct eval_range){lo, lo + size};
}

struct eval_scan {
    struct pysample *p;
    int major;
};

static void on_func_sym(void *ctx, const char *name, const GElf_Sym *sym)
{
    struct eval_scan *e = ctx;
    if (is_eval_name(name, e->major))
        add_range(e->p, sym->st_value, sym->st_size);
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
            join_dir(p->script_dir, sizeof p->script_dir, "", a, dir);
            return;
        }
        char cwd[PATH_MAX];
        snprintf(path, sizeof path, "/proc/%d/cwd", (int)p->pid);
        ssize_t k = readlink(path, cwd, sizeof cwd - 1);
        if (k <= 0)
            return;
        cwd[k] = '\0';
        join_dir(p->script_dir, sizeof p->script_dir, cwd, a, dir);
        return;
    }
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
    struct pyread mem = {pyread_pid, &p->pid};
    rc = pyfind_target(&p->found, mem, &p->t, err, errsz);
    if (rc < 0)
        return rc;
    p->t.mem.ctx = &p->pid; /* the copy in p, not the caller's stack */
    find_eval_ranges(p);
    find_script_dir(p);
    snprintf(p->describe, sizeof p->describe, "CPython %d.%d", p->found.major, p->found.minor);
    if (p->found.micro >= 0)
        snprintf(p->describe + strlen(p->describe), sizeof p->describe - strlen(p->describe), ".%d",
                 p->found.micro);
    atomic_store_explicit(&p->ready, true, memory_order_release);
    return 1;
}

/* -------------------------------------------------------------- hooks */

/* Launch mode: the interpreter exists only after the command's exec. */
static void maybe_find(struct pysample *p)
{
    uint64_t now = mono_ns();
    if (!p->retry || p->gave_up)
        return;
    if (!p->first_try_ns)
        p->first_try_ns = now;
    if (now - p->first_try_ns > RETRY_FOR_NS) {
        p->gave_up = true;
        return;
    }
    if (p->last_try_ns && now - p->last_try_ns < RETRY_EVERY_NS)
        return;
    p->last_try_ns = now;
    char err[256];
    if (pysample_find(p, err, sizeof err) < 0)
        p->gave_up = true; /* found but unusable: native frames only */
}

static void list_threads(struct pysample *p)
{
    unsigned flags = 0;
    if (pyframes_threads(&p->t, p->threads, PYF_MAX_THREADS, &p->nthreads, &flags, p->tid_offset) <
        0) {
        p->nthreads = 0;
        return;
    }
    /* Before 3.11 the tid comes from glibc's struct pthread, at an offset
     * found once from the main thread (the last thread state). */
    if (p->t.layout.ts_native_thread_id < 0 && !p->tid_offset_tried && p->nthreads > 0) {
        p->tid_offset_tried = true;
        p->tid_offset = pyframes_tid_offset(&p->t, p->threads[p->nthreads - 1].pthread_id, p->pid);
        if (p->tid_offset >= 0)
            list_threads(p);
    }
}

static void on_round(void *ctx)
{
    struct pysample *p = ctx;
    if (!atomic_load_explicit(&p->ready, memory_order_relaxed))
        maybe_find(p);
    if (!atomic_load_explicit(&p->ready, memory_order_relaxed)) {
        p->nthreads = 0;
        return;
    }
    list_threads(p);
    p->gil_tstate = 0;
    p->gil_tid = 0;
    for (size_t i = 0; i < p->nthreads; i++)
        if (p->threads[i].holds_gil) {
            p->gil_tstate = p->threads[i].tstate;
            p->gil_tid = p->threads[i].tid;
        }
}

static bool on_want(void *ctx, pid_t tid)
{
    struct pysample *p = ctx;
    if (!p->gil_only || !atomic_load_explicit(&p->ready, memory_order_relaxed))
        return true;
    return p->gil_tid != 0 && tid == p->gil_tid;
}

static const struct pyf_thread *thread_of(const struct pysample *p, pid_t tid)
{
    for (size_t i = 0; i < p->nthreads; i++)
        if (p->threads[i].tid == tid)
            return &p->threads[i];
    return NULL;
}

/* While the thread is stopped: addresses and lines only. */
static int on_stopped(void *ctx, struct capture *c)
{
    struct pysample *p = ctx;
    const struct pyf_thread *th = thread_of(p, c->tid);
    if (!th)
        return 0;
    size_t n = 0;
    unsigned flags = 0;
    if (pyframes_walk(p->pf, &p->t, th->tstate, p->scratch, CAPTURE_PY_MAX, &n, &flags) < 0)
        return 0; /* no Python frames this time; the native sample stands */
    for (size_t i = 0; i < n; i++)
        c->py[i] = (struct capture_pyframe){p->scratch[i].code, p->scratch[i].line, 0,
                                            p->scratch[i].entry};
    c->py_n = (uint32_t)n;
    c->flags |= CAPTURE_PY;
    if (flags & (PYF_TORN | PYF_CYCLE | PYF_BADREAD))
        c->flags |= CAPTURE_PY_TORN;
    if (flags & PYF_TRUNCATED)
        c->flags |= CAPTURE_PY_TRUNC;
    if (th->tstate == p->gil_tstate)
        c->flags |= CAPTURE_PY_GIL;
    return 0;
}

/* After the resume, before the next walk: the walker's names are valid. */
static void on_resumed(void *ctx, struct capture *c)
{
    struct pysample *p = ctx;
    for (uint32_t i = 0; i < c->py_n; i++)
        c->py[i].id = pycode_reg_intern(p->reg, pyframes_code(p->pf, c->py[i].code));
}

struct ptsampler_hooks pysample_hooks(struct pysample *p)
{
    return (struct ptsampler_hooks){
        .round = on_round, .want = on_want, .stopped = on_stopped, .resumed = on_resumed, .ctx = p};
}

/* ---------------------------------------------------- processing side */

bool pysample_ready(const struct pysample *p)
{
    return p && atomic_load_explicit(&((struct pysample *)p)->ready, memory_order_acquire);
}

const char *pysample_describe(const struct pysample *p)
{
    return pysample_ready(p) ? p->describe : "";
}

const char *pysample_module_path(const struct pysample *p)
{
    return pysample_ready(p) ? p->found.path : "";
}

bool pysample_is_eval(const struct pysample *p, uint64_t vaddr)
{
    for (unsigned i = 0; i < p->neval; i++)
        if (vaddr >= p->eval[i].lo && vaddr < p->eval[i].hi)
            return true;
    return false;
}

const char *pysample_script_dir(const struct pysample *p)
{
    return pysample_ready(p) ? p->script_dir : "";
}
