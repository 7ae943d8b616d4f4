/*
 * pysample.h - CPython frames for the ptrace sampler, and what the
 * processing thread needs to merge them with native frames.
 *
 * Owns the walker (pyframes) and the link to the code registry.  Its
 * ptsampler hooks run on the sampler thread:
 *   round    finds the interpreter (at once with --pid; for a launched
 *            command, again every 200 ms for the first 10 s, as the
 *            interpreter appears only after exec); the GIL holder with
 *            --gil: once per round, not per thread
 *   want     with --gil, only the thread holding the GIL
 *   stopped  walks the stopped thread's frames into the capture: addresses
 *            and lines only, no names, no allocation
 *   resumed  copies the names of new code objects into the registry
 * The thread list is kept and read again every 100 ms (sooner when a
 * sampled thread is missing from it); with --pid, a process that is not
 * (yet) a Python is looked at again each second when its mapped files
 * changed (an embedding program that dlopens libpython); after an exec
 * (pysample_exec, or when the thread list cannot be read any more) the
 * interpreter is looked for again.  Thread names given by threading
 * (pynames) are read once a second and when a thread appears, and name
 * the captures of their threads in place of the OS names.
 *
 * --nonblocking: pysample_nb_round reads every Python thread's frames
 * without stopping it (no ptrace at all: process_vm_readv of the live
 * interpreter, threads from its own thread list, state and name from
 * /proc), and drops the walks that were torn, counting them.
 *
 * The eval-loop address ranges (pysample_is_eval) and pysample_ready are
 * read by the processing thread: they are written before being published
 * with release order, into the one of two slots not in use, and never
 * change after (an exec that finds another interpreter publishes the
 * other slot: pysample_generation changes).
 */
#ifndef PERTOP_PYSAMPLE_H
#define PERTOP_PYSAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampler/capqueue.h"
#include "sampler/engine.h"
#include "sampler/python/pycode_reg.h"

struct pysample;

/* A context for process pid (nothing is read yet).  NULL when out of
 * memory. */
struct pysample *pysample_new(pid_t pid, struct pycode_reg *reg, bool gil_only, bool retry);
void pysample_free(struct pysample *p);

/* Looks for the interpreter now.  1 found and supported, 0 not a Python
 * (or not yet), < 0 found but unusable: err then says why and that native
 * frames are still profiled.  Sampler thread, or before it starts. */
int pysample_find(struct pysample *p, char *err, size_t errsz);

struct engine_hooks pysample_hooks(struct pysample *p);

/* The target exec'd: forget the interpreter and look for it again.
 * Sampler thread. */
void pysample_exec(struct pysample *p);

/* What reading Python stacks cost and found, for --stats and the headers.
 * Sampler thread (the session copies it under its own lock). */
struct pysample_stats {
    uint64_t walks;      /* thread stacks read */
    uint64_t torn;       /* of them torn after the retry */
    uint64_t retries;    /* torn at first, read again at once */
    uint64_t walk_ns;    /* the sampler thread's CPU time spent reading them
                          * (one walk in 8 timed, the sum scaled) */
    uint64_t frames;     /* Python frames read */
    uint64_t reads;      /* of the walks' target reads, batched or not */
    uint64_t refinds;    /* interpreter looked for again (exec, dlopen) */
    uint64_t name_reads; /* reads of threading's thread names */
};
void pysample_get_stats(const struct pysample *p, struct pysample_stats *out);

/* --nonblocking: counts of the rounds so far. */
struct pysample_nb_counts {
    uint64_t rounds, samples, lost, skipped_idle, failed, torn;
    uint32_t threads;
};
/* One round: every Python thread that runs (all with idle; only the GIL
 * holder with --gil), read live into q; torn walks are counted in nc,
 * not queued.  Sampler thread. */
void pysample_nb_round(struct pysample *p, struct capqueue *q, bool idle,
                       struct pysample_nb_counts *nc);
/* After pysample_find succeeded: can the target's memory be read?  0, or
 * -errno with a message (what, why, what to do). */
int pysample_nb_check(struct pysample *p, char *err, size_t errsz);
/* Is the process still there (not gone, not a zombie)? */
bool pysample_nb_alive(struct pysample *p);

/* Processing thread (any thread). */
bool pysample_ready(const struct pysample *p);
/* True once the sampler stopped looking for an interpreter (a launched
 * command that showed none in 10 s, or one found unusable); *why is the
 * message then ("" when none showed).  Any thread. */
bool pysample_gave_up(const struct pysample *p, const char **why);
/* Changes each time another interpreter is published (0: none yet). */
unsigned pysample_generation(const struct pysample *p);
/* "CPython 3.12.1" once ready, else "". */
const char *pysample_describe(const struct pysample *p);
/* The file holding the interpreter, as the target names it. */
const char *pysample_module_path(const struct pysample *p);
/* Is vaddr (an ELF address of pysample_module_path) inside the eval loop? */
bool pysample_is_eval(const struct pysample *p, uint64_t vaddr);
/* The directory of the script the target runs ("" when unknown), for
 * shortening file names. */
const char *pysample_script_dir(const struct pysample *p);

#endif
