/*
 * session_int.h - the session's parts, shared by its two files: session.c
 * (start, stop, figures, writing) and session_live.c (the screen's frames).
 * Nothing outside src/session/ includes it.
 */
#ifndef PERTOP_SESSION_INT_H
#define PERTOP_SESSION_INT_H

#include "src/session/cpumeter.h"
#include <pthread.h>

#include "sampler/python/pysample.h"
#include "src/model/runinfo.h"
#include "src/session/launch.h"
#include "src/session/processing.h"
#include "src/session/session.h"

struct session {
    struct session_config cfg;
    pid_t pid;
    pid_t child; /* launched command, 0 when attached by --pid */
    struct launch launch;
    char cmdline[1024];

    struct capqueue *q;
    struct modreg *reg;
    struct addrspace *as;
    struct unwinder *uw;
    struct interner *in;
    struct model *model; /* every frame; the views read session_view_model */
    bool native_all;     /* under lock: the views read the full model */
    struct symbolizer *sym;
    struct native_resolver *res;
    struct pycode_reg *pyreg; /* NULL with --native */
    struct pysample *py;      /* the CPython reader */
    char py_note[512];        /* why Python frames are missing, for the user */
    pthread_mutex_t lock;     /* model and interner */

    const struct engine_ops *engine; /* the one that attached */
    char engine_note[512];           /* why not perf, and how to allow it */
    struct kallsyms *ksyms;          /* kernel symbols, when kernel frames are kept */
    struct sampling *smp;            /* the sampler thread */
    struct processing *proc;         /* the processing thread */
    struct runfigs *figs;            /* run figures, NULL when not measured */
    /* the verdict's lines, computed at most once a second (session_info.c);
     * under verdict_lock: any thread may ask for the run's facts */
    pthread_mutex_t verdict_lock;
    uint64_t verdict_ns;
    char verdict[RUNINFO_VERDICT_MAX][RUNINFO_VERDICT_LEN];
    char verdict_func[RUNINFO_VERDICT_MAX][128];
    char child_note[RUNINFO_VERDICT_LEN]; /* busy children, no --subprocesses */
    char verdict_stack[RUNINFO_VERDICT_MAX][RUNINFO_VERDICT_LEN];
    unsigned nverdict;
    bool stopped;

    pthread_mutex_t sync;          /* below */
    struct cpumeter cpu;           /* the target's CPU time since sampling began */
    struct pysample_stats pystats; /* copied on the sampler thread */
    char exit_msg[160];
    int exit_status; /* the wait status exit_msg tells, -1 when unknown */

    const struct profile *baseline; /* --baseline, owned by the caller */
    struct annot_env *annot;        /* made by session_annot_env */
};

/* The model the views and outputs read: Python-first unless native_all
 * (processing.h).  Under s->lock; the pointer stays valid to the end. */
static inline struct model *session_view_model(struct session *s)
{
    return s->proc ? processing_view_model(s->proc, s->native_all) : s->model;
}

#endif
