/*
 * liveview.h - the rows of the live screen, as plain data.
 *
 * A live_frame is everything one screen refresh shows: the header numbers,
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

#include "model.h"
#include "procstat.h"
#include "resolve.h"

struct lv_hot_row {
    uint32_t func;
    const char *name, *module, *file; /* file: definition file or NULL */
    int line;
    uint64_t self, total;
    double self_pct, total_pct; /* of the samples in the selection */
    double self_s;              /* self samples as seconds of thread time */
};

struct lv_thread_row {
    pid_t tid;
    char name[16];
    char state;       /* procfs state when known, else the last sampled one */
    bool have_cpu;    /* cpu_pct and the io rates come from procstat */
    double cpu_pct;   /* of one CPU */
    uint64_t samples; /* in the window */
    double share_pct; /* of all the window's samples */
    const char *func; /* innermost function of its latest sample, NULL = none */
    double read_bps, write_bps, syscalls_ps;
    struct procstat_wait wait;
};

struct lv_header {
    pid_t pid;
    char cmdline[256];
    double elapsed_s;
    uint64_t samples, lost;
    unsigned rate_asked;
    double rate_achieved; /* rounds per second over the last refresh */
    unsigned threads;
    bool idle;   /* mode: waiting threads are sampled too */
    bool exited; /* the target has exited */
    char exit_msg[160];
};

/* A thread's latest sample: the call-tree node it was counted at. */
struct lv_leaf {
    pid_t tid;
    uint32_t node;
};

struct live_frame {
    struct lv_header h;
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
};

struct live_frame *live_frame_new(void);
void live_frame_free(struct live_frame *f);

/* Hot functions of the window (recent = MODEL_RECENT ending at now_ns) and
 * thread (0 = all); rate_hz turns samples into seconds.  0 or -ENOMEM. */
int lv_build_hot(const struct model *m, const struct resolver *r, bool recent, uint64_t now_ns,
                 pid_t tid, double rate_hz, struct live_frame *f);

/* One row per thread the model or ps knows and that is alive (ps, when
 * given, decides which are alive), only tid when tid != 0.  leaves gives the
 * latest sample's node per thread.  0 or -ENOMEM. */
int lv_build_threads(const struct model *m, const struct resolver *r, bool recent, uint64_t now_ns,
                     pid_t tid, const struct lv_leaf *leaves, size_t nleaves,
                     const struct procstat_snapshot *ps, struct live_frame *f);

#endif
