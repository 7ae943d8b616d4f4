/*
 * pyframes.h - CPython thread states and frame chains read from a target.
 *
 * Works over an abstract remote-memory reader (struct pyread), so the same
 * code walks a fake address space in the tests and the live target through
 * process_vm_readv (pyread_pid) in pertop.  The walker owns nothing in the
 * target and trusts nothing read from it:
 *   - every read has a fixed size (struct spans from the layout, strings
 *     capped at PYF_NAME_MAX/PYF_FILE_MAX, line tables at PYF_TABLE_MAX);
 *   - the thread list and the frame chain have depth caps and cycle guards;
 *   - no allocation depends on target data: the context allocates its code
 *     cache, a 512 KiB read cache and scratch space once, in pyframes_new;
 *   - within one walk, frames are read from 16 KiB target blocks read once
 *     (a syscall costs 2-5 us whatever its size; 3.11+ frames share pages
 *     of the data stack), never from an earlier walk; the heads of all the
 *     walk's code objects (which say whether a cached one is still the
 *     same) are then read in one batched read;
 *   - snapshot, then validate: unless the caller stops the thread, that
 *     same batched read re-reads the chain head and every frame walked, and
 *     the walk is torn when a link, a code pointer or a caller's
 *     instruction changed (the leaf's instruction may move: its line is
 *     the one at the first read); a torn walk is retried once at once;
 *   - a chain that changes under the read (a live target, read without
 *     stopping it) or a pointer that leads to something that is not a code
 *     object yields the frames read so far and PYF_TORN, never a guess.
 *
 * Per sample, with the target's thread stopped or not:
 *   pyframes_threads()  thread states of the main interpreter, with OS tids
 *   pyframes_walk()     one thread's frames, innermost first, as
 *                       (code object address, line)
 *   pyframes_code()     names of a code object, from the cache (valid until
 *                       the next walk: copy or intern them before that)
 * A context is used by one thread at a time (the sampler's); no globals.
 */
#ifndef PERTOP_PYFRAMES_H
#define PERTOP_PYFRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampler/python/pylayout.h"

/* Reads exactly len bytes at addr of the target into buf: 0, or a negative
 * errno (-EFAULT for unmapped or short). */
typedef int (*pyread_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* One piece of a batched read. */
struct pyiov {
    uint64_t addr;
    void *buf;
    size_t len;
};

/* Reads n pieces in one go (one process_vm_readv): the number of leading
 * pieces read whole (n when all were; a piece that cannot be read stops
 * the batch there, as process_vm_readv does), or a negative errno. */
typedef int (*pyreadv_fn)(void *ctx, const struct pyiov *v, size_t n);

struct pyread {
    pyread_fn read;
    void *ctx;
    pyreadv_fn readv; /* NULL: the pieces are read one by one with read */
};

/* process_vm_readv on the pid that ctx points to (a pid_t *): remote_read. */
int pyread_pid(void *ctx, uint64_t addr, void *buf, size_t len);
int pyread_pid_v(void *ctx, const struct pyiov *v, size_t n);

#define PYF_MAX_THREADS 1024  /* thread states followed per interpreter */
#define PYF_MAX_DEPTH   1024  /* frames followed per thread (cap <= this) */
#define PYF_NAME_MAX    128   /* bytes kept of a (qualified) function name */
#define PYF_FILE_MAX    256   /* bytes kept of a file name */
#define PYF_TABLE_MAX   4096  /* line-table bytes kept per cached code object */
#define PYF_SCRATCH_MAX 65536 /* larger tables are read here on demand */

/* What the walker needs to know about one target (filled by pyfind). */
struct pyf_target {
    struct py_layout layout; /* a copy: from the table or _Py_DebugOffsets */
    uint64_t root;           /* address of _PyRuntime (3.7+) or interp_head */
    uint64_t tstate_current; /* address of _PyThreadState_Current (<= 3.6), or 0 */
    uint64_t code_type;      /* address of PyCode_Type, or 0: do not check */
    struct pyread mem;
};

/* Every single read of the target the walkers make: remote_check's bounds
 * (no address 0, no wrap, at most REMOTE_READ_MAX), then t->mem.read.
 * pyf_read_ptr sets *v to 0 when the read fails. */
int pyf_read(const struct pyf_target *t, uint64_t addr, void *buf, size_t len);
int pyf_read_ptr(const struct pyf_target *t, uint64_t addr, uint64_t *v);

struct pyf_thread {
    uint64_t tstate;     /* PyThreadState address */
    uint64_t pthread_id; /* thread_id: the target's pthread_self() */
    pid_t tid;           /* OS thread id, or 0 when unknown */
    bool holds_gil;
};

/* Result flags of a walk or an enumeration. */
#define PYF_TORN      0x1u /* changed under the read, or led to a non-code object */
#define PYF_CYCLE     0x2u /* a frame or thread state came round again */
#define PYF_TRUNCATED 0x4u /* depth cap reached */
#define PYF_BADREAD   0x8u /* a pointer of the chain could not be read */

struct pyf_frame {
    uint64_t code; /* code object address: with line, the frame's identity */
    int32_t line;  /* -1 when the table has none for the instruction */
    uint8_t entry; /* outermost frame of one eval-loop run: C called into
                    * Python here (3.12+, from the shim frame beyond it) */
};

struct pycode {
    uint64_t addr;
    char name[PYF_NAME_MAX];     /* co_name */
    char qualname[PYF_NAME_MAX]; /* co_qualname (3.11+), else co_name */
    char file[PYF_FILE_MAX];     /* co_filename */
    int32_t firstlineno;
    bool name_truncated, file_truncated; /* names end in "..." then */
    /* private to pyframes.c: identity and line table */
    uint64_t id_name, id_file, id_table;
    int32_t firsttraceable;
    uint32_t tab_len;  /* bytes in tab */
    uint32_t tab_full; /* size of the table in the target */
    uint32_t used;     /* walk that used it last, for eviction */
    uint8_t tab[PYF_TABLE_MAX];
};

struct pyframes;

/* A context with a code cache of `cache_entries` (rounded up to a power of
 * two, at most 65536; 0 = 256).  NULL when out of memory. */
struct pyframes *pyframes_new(size_t cache_entries);
void pyframes_free(struct pyframes *pf);

/* Address of the main interpreter's PyInterpreterState: interpreters.main
 * of _PyRuntime (3.7+), else the tail of the list at interp_head (new
 * interpreters are prepended; the list is walked with a cap).  0 or -errno. */
int pyframes_interp(const struct pyf_target *t, uint64_t *interp);

/*
 * Thread states of the main interpreter, newest first (CPython's order; the
 * main thread is last).  Up to cap (<= PYF_MAX_THREADS) go into out; *n is
 * how many; *flags gets PYF_CYCLE/PYF_TRUNCATED/PYF_BADREAD.  tid is
 * native_thread_id on 3.11+ (the headers of 3.8-3.10 have no such field,
 * whatever the threading docs say); on older versions it is read from
 * glibc's struct pthread at the address thread_id holds, at the offset
 * found by pyframes_tid_offset (pass tid_offset < 0 to leave tid 0).
 */
int pyframes_threads(const struct pyf_target *t, struct pyf_thread *out, size_t cap, size_t *n,
                     unsigned *flags, int tid_offset);

/* For <= 3.10: the offset of the tid inside glibc's struct pthread, found
 * by looking for `pid` in the main thread's (the last thread state's)
 * struct pthread, as Austin does.  >= 0, or -ENOENT.  When the sampler has
 * the thread's registers anyway, comparing pthread_id with its fs_base
 * (x86-64 glibc: pthread_self() is the TCB that fs points to) is an
 * equivalent match that reads nothing; a musl target needs that one. */
int pyframes_tid_offset(const struct pyf_target *t, uint64_t main_pthread_id, pid_t pid);

/*
 * The frames of thread state `tstate`, innermost first, at most cap (<=
 * PYF_MAX_DEPTH).  Incomplete and shim frames (3.11+) are skipped.  *flags
 * gets PYF_* bits; frames read before a problem are kept.  Returns 0 (also
 * for a thread with no Python frame: *n = 0), or -errno when the thread
 * state itself cannot be read.
 */
int pyframes_walk(struct pyframes *pf, const struct pyf_target *t, uint64_t tstate,
                  struct pyf_frame *out, size_t cap, size_t *n, unsigned *flags);

/* The caller stops each thread around its walk (ptrace mode): skip the
 * re-read of the chain that detects chains torn by a running thread, and
 * the retry.  Default false: nonblocking. */
void pyframes_set_stopped(struct pyframes *pf, bool stopped);

/* Reads every piece in as few calls as t's reader allows (at most IOV_MAX
 * pieces a call); ok[i] says which arrived whole.  A piece that fails stops
 * process_vm_readv there: the rest is read again after it.  Returns the
 * calls made. */
unsigned pyframes_read_batch(const struct pyf_target *t, const struct pyiov *v, size_t n, bool *ok);

/* A str object (2.7: a PyString) as bounded UTF-8: at most cap-1 bytes,
 * control characters as '?', "..." at the end when cut.  0, or -EINVAL
 * for an object that is not a compact string, -EFAULT unreadable. */
int pyframes_str(const struct pyf_target *t, uint64_t obj, char *out, size_t cap, bool *truncated);

/* The cached names of a code object seen in the last walk, or NULL. */
const struct pycode *pyframes_code(struct pyframes *pf, uint64_t code);

/* Counters for the status line and the tests. */
struct pyframes_stats {
    uint64_t walks, frames, code_misses, code_invalidated;
    uint64_t reads;   /* walk reads that reached the target (block misses, batches) */
    uint64_t retries; /* walks read again at once because the first was torn */
    uint64_t torn;    /* walks that ended torn (after the retry) */
};
void pyframes_stats(const struct pyframes *pf, struct pyframes_stats *out);

/* The PyThreadState holding the GIL, 0 if none or unknown. */
uint64_t pyframes_gil_holder(const struct pyf_target *t, uint64_t interp);

#endif
