/*
 * runinfo.h - the facts of one run, once: what was profiled, by which
 * engine, for how long, with how many samples, and how the target ended.
 *
 * The session fills a run_info in one place (session_run_info) and every
 * writer reads it: the text snapshot header, the live screen's header,
 * the report's Baseline section, the pprof comments, --stats.  What the
 * sampler's work cost (rounds, stop times, CPU) is not a fact of the run
 * but of pertop: that stays in session_stats.
 *
 * Plain data, copied whole (a live frame carries one to the screen
 * thread): strings are arrays, except the engine's name and detail, which
 * are static strings.  Pure: no I/O.
 */
#ifndef PERTOP_RUNINFO_H
#define PERTOP_RUNINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RUNINFO_VERDICT_MAX 4
#define RUNINFO_VERDICT_LEN 400

/* A CPython target's views: Python-first (the interpreter's own frames
 * below a Python frame folded into it) or every native frame. */
enum run_pyview { RUN_PYVIEW_NONE, RUN_PYVIEW_FIRST, RUN_PYVIEW_NATIVE };

struct run_info {
    pid_t pid;
    char cmdline[1024]; /* "" when unknown */
    /* the engine that samples ("perf", "ptrace", "python-live"; "" before
     * one attached), what it samples on ("task-clock", "cpu-clock"; ""
     * when nothing to say), and why it is not the one asked for or the
     * default, with what to do ("" when it is) */
    const char *engine, *engine_detail;
    char engine_note[512];
    double elapsed_s;       /* since sampling began */
    uint64_t samples;       /* in the model */
    uint64_t lost;          /* dropped: queue full, or the kernel's LOST */
    uint64_t truncated;     /* stacks cut at the depth limit */
    unsigned rate_asked;    /* Hz per thread, now (the screen's +/- change it) */
    double rate_achieved;   /* rounds per second: over the run, or the screen's recent */
    unsigned threads_now;   /* threads sampled now */
    unsigned threads_seen;  /* threads ever sampled */
    unsigned processes;     /* --subprocesses: the target and the children seen; else 0 */
    bool idle;              /* waiting threads are sampled too */
    bool exited;            /* the target has exited */
    int exit_status;        /* its wait status when exited, -1 when unknown */
    char exit_msg[160];     /* "process 42 exited with status 0", "" while it runs */
    char python[64];        /* "CPython 3.12.1", "" when none is read */
    uint64_t py_samples;    /* samples with Python frames */
    uint64_t py_unmerged;   /* ... whose Python and native frames could not be merged */
    uint64_t py_torn;       /* ... read while they changed (kept, partial) */
    uint64_t nb_torn;       /* --nonblocking: torn walks dropped, not samples */
    bool nonblocking;       /* --nonblocking: read without stopping */
    char py_note[512];      /* why Python frames are missing, "" when all is well */
    enum run_pyview pyview; /* which frames of the interpreter the views keep */
    /* the verdict (verdict.h), one line per finding, most first; none
     * until the threads have been read for a while */
    char verdict[RUNINFO_VERDICT_MAX][RUNINFO_VERDICT_LEN];
    /* each finding's function ("" for none: idle) and its evidence, the
     * stack behind it root first ("" when not known) */
    char verdict_func[RUNINFO_VERDICT_MAX][128];
    char verdict_stack[RUNINFO_VERDICT_MAX][RUNINFO_VERDICT_LEN];
    /* the target waits while its children work, and --subprocesses is not
     * given: where the work is and the option; "" otherwise */
    char child_note[RUNINFO_VERDICT_LEN];
    unsigned nverdict;
};

/* "perf (task-clock)", "ptrace", "" when no engine: into buf, returned. */
const char *run_info_engine(const struct run_info *r, char *buf, size_t size);

#endif
