/*
 * liveview.h - the rows of the live screen, as plain data.
 *
 * A live_frame is everything one screen refresh shows: the run (runinfo.h),
 * the hot-function rows, the thread rows and the process numbers of
 * procstat.  It is built away from the thread that reads keys (src/live.c)
 * and handed over whole, so the screen only ever reads finished frames.
 * Strings point into the resolver, whose storage lives as long as the
 * session, or are copied into the frame.
 *
 * The builders are pure functions of (model, resolver, options): the caller
 * holds the model lock.  Sorting and filtering are the screen's business
 * (ui/pane_*.c), so they act at once on a key without a new frame.
 */
#ifndef PERTOP_LIVEVIEW_H
#define PERTOP_LIVEVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "src/model/drill.h"
#include "src/model/model.h"
#include "src/model/runinfo.h"
#include "sampler/proc/procstat.h"
#include "src/session/resolve.h"
#include "src/model/zoom.h"

struct lv_hot_row {
    uint32_t func;
    const char *name, *module, *file; /* file: definition file or NULL */
    int line;
    uint64_t self, total;
    double self_pct, total_pct; /* of the samples in the selection */
    double self_s;              /* self samples as seconds of thread time */
    char vs_base[8];            /* --baseline: change of self % ("+1.2", "new"), else "" */
};

struct lv_thread_row {
    pid_t tid;
    pid_t pid; /* a child process's thread (--subprocesses), 0: the target's */
    char name[64];
    char state;       /* procfs state when known, else the last sampled one */
    bool have_cpu;    /* cpu_pct and the io rates come from procstat */
    double cpu_pct;   /* of one CPU */
    uint64_t samples; /* in the window */
    double share_pct; /* of all the window's samples */
    const char *func; /* innermost function of its latest sample, NULL = none */
    uint32_t func_id; /* its function id (Enter opens its view), UINT32_MAX = none */
    double read_bps, write_bps, syscalls_ps;
    struct procstat_wait wait;
};

/* A thread's latest sample: the call-tree node it was counted at. */
struct lv_leaf {
    pid_t tid;
    uint32_t node;
};

/* What the screen shows besides the main panes (the hot list and threads
 * are built for every view: the header and the zoom keys need them).
 * LIVE_VIEW_COUNT is no view: ui/views.c sizes its table of kinds by it. */
enum live_view {
    LIVE_MAIN,
    LIVE_FUNC,
    LIVE_TREE,
    LIVE_INVERTED,
    LIVE_SOURCE,
    LIVE_ASM,
    LIVE_VIEW_COUNT
};

/* A caller or callee of the function view (func DRILL_NO_CALLER or
 * DRILL_SELF for the pseudo rows). */
struct lv_edge_row {
    uint32_t func;
    const char *name, *module;
    uint64_t count;
    double pct;     /* of the function's total */
    double all_pct; /* of the selection */
};

struct lv_func {
    uint32_t func;
    const char *name, *module, *file;
    int line;
    uint64_t self, total, samples;
    double self_pct, total_pct; /* of the selection */
    struct lv_edge_row *callers, *callees;
    size_t ncallers, ncallees;
};

struct lv_tree_row {
    uint32_t func;
    const char *name, *module;
    uint32_t depth;
    uint64_t self, total;
    double pct, parent_pct; /* of the selection, of the parent row */
    bool has_children, expanded;
    uint64_t hash; /* path hash: the key of the expansion set */
    size_t parent; /* row of the parent, SIZE_MAX at the top */
};

struct annot_view;

/* The drill-down part of a request from the screen (or the batch views). */
struct lv_view_req {
    enum live_view view;
    uint32_t func;              /* LIVE_FUNC, LIVE_SOURCE, LIVE_ASM */
    const char *func_name;      /* batch: func found by name (drill_find_func) */
    struct zoom zoom;           /* applied to every view */
    struct drill_expand expand; /* the tree's expanded rows */
    bool expand_all;            /* batch: the whole tree down to min_pct */
    double min_pct;
    bool hot_expand; /* 'H': expand the hottest path below hot_from first */
    uint64_t hot_from;
};

struct live_frame {
    /* the header: the run so far, rate_achieved over the last refresh */
    struct run_info run;
    bool recent; /* the views are of the recent window */
    pid_t tid;   /* the views are of this thread only (0 = all) */
    struct lv_hot_row *hot;
    size_t nhot;
    uint64_t hot_samples;
    struct lv_thread_row *thr;
    size_t nthr;
    bool have_ps;
    struct procstat_snapshot ps;
    double build_ms; /* what building this frame cost */
    /* drill-down: the view asked for (live_req) and its rows */
    enum live_view view;
    unsigned seq;             /* the request this frame answers */
    char zoom_desc[256];      /* "" = no zoom */
    char view_err[600];       /* the view could not be made: why ("" = fine) */
    struct lv_func fn;        /* LIVE_FUNC (and the function of SOURCE/ASM) */
    struct lv_tree_row *tree; /* LIVE_TREE, LIVE_INVERTED */
    size_t ntree;
    uint64_t tree_samples;
    struct annot_view *annot; /* LIVE_SOURCE, LIVE_ASM (owned) */
    char msg[512];            /* for the status line ("" = none): what 'S' did */
    bool have_expand;         /* expand holds the set after an 'H' request */
    struct drill_expand expand;
    bool have_baseline; /* --baseline given: the hot rows carry vs_base */
};

struct live_frame *live_frame_new(void);
void live_frame_free(struct live_frame *f);

/* Hot functions of the window (recent = MODEL_RECENT ending at now_ns) and
 * thread (0 = all); rate_hz turns samples into seconds.  0 or -ENOMEM. */
int lv_build_hot(const struct model *m, const struct resolver *r, bool recent, uint64_t now_ns,
                 pid_t tid, double rate_hz, struct live_frame *f);

/* Per-node self counts of the window, narrowed by z (NULL = none): a new
 * array of model_node_count entries, NULL when out of memory. */
uint64_t *lv_self_counts(const struct model *m, const struct resolver *r, bool recent,
                         uint64_t now_ns, const struct zoom *z);
/* The hot rows from self counts (lv_self_counts).  0 or -ENOMEM. */
int lv_build_hot_self(const struct model *m, const struct resolver *r, const uint64_t *self,
                      double rate_hz, struct live_frame *f);
/* The function view of func.  0 or -ENOMEM. */
int lv_build_func(const struct model *m, const struct resolver *r, const uint64_t *self,
                  uint32_t func, struct live_frame *f);
/* A call tree (o->kind: top down or inverted).  0 or -ENOMEM. */
int lv_build_tree(const struct model *m, const struct resolver *r, const uint64_t *self,
                  const struct drill_tree_opts *o, struct live_frame *f);

/* The view v asks for, into f (fn, tree, view_err, zoom_desc, expand).
 * A function given by name is looked up first (v->func is set when found;
 * when not, view_err says why and lists candidates).  SOURCE and ASM only
 * collect their counts here (*counts, NULL when none): annot_build runs
 * outside the model lock.  0 or -ENOMEM. */
struct annot_env;
struct annot_counts;
int lv_build_view(const struct model *m, const struct resolver *r, const uint64_t *self,
                  struct lv_view_req *v, const struct annot_env *env, struct live_frame *f,
                  struct annot_counts **counts);

/* One row per thread the model or ps knows and that is alive (ps, when
 * given, decides which are alive), only tid when tid != 0.  leaves gives the
 * latest sample's node per thread.  0 or -ENOMEM. */
int lv_build_threads(const struct model *m, const struct resolver *r, bool recent, uint64_t now_ns,
                     pid_t tid, const struct lv_leaf *leaves, size_t nleaves,
                     const struct procstat_snapshot *ps, struct live_frame *f);
/* The same from self counts (lv_self_counts; a thread zoom gives tid). */
int lv_build_threads_self(const struct model *m, const struct resolver *r, const uint64_t *self,
                          pid_t tid, const struct lv_leaf *leaves, size_t nleaves,
                          const struct procstat_snapshot *ps, struct live_frame *f);

#endif
