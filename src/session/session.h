/*
 * session.h - one profiling session: the wiring of sampler, processing and
 * model, with the threads DESIGN.md describes.
 *
 *   sampler thread    attaches, samples on a jittered clock, handles ptrace
 *                     events, detaches; the only code that stops the target
 *   processing thread unwinds captures, interns frames, adds to the model;
 *                     reads the process's procfs numbers every 250 ms
 *                     (up to 1 s) for the run figures (session_run_figures)
 *   caller's thread   displays (views under the model lock, symbolized
 *                     outside it) and decides when to stop
 *
 * The caller blocks SIGCHLD, SIGINT, SIGTERM and SIGHUP in every thread
 * before session_start, so the threads it starts inherit that mask.
 */
#ifndef PERTOP_SESSION_H
#define PERTOP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "src/cli.h"
#include "src/model/liveview.h"
#include "src/model/runinfo.h"

struct session;
struct live_frame;
struct procstat_snapshot;
struct engine_ops;

/* What the sampling cost and how it went inside pertop (--stats); the
 * run's own facts are in run_info (session_run_info). */
struct session_stats {
    uint64_t rounds;   /* sampling rounds (paced) or drains (self-timed) */
    uint64_t captured; /* captures the engine queued (run_info.samples: in the model) */
    uint64_t failed;   /* samples that could not be taken */
    uint64_t stop_ns_total, stop_ns_max;
    uint64_t stop_ns_median; /* stopping engines; 0 when unknown */
    uint64_t clock_samples;  /* clock-driven engines: samples the clock fired */
    double target_cpu_s;     /* CPU time the target used since sampling began */
    uint64_t sampler_cpu_ns, processing_cpu_ns;
    /* Python stacks read (walks), torn after the retry (--nonblocking:
     * dropped), retried, and what reading them cost the sampler thread */
    uint64_t py_walks, py_walk_torn, py_retries, py_walk_ns, py_reads, py_refinds;
};

/* What a session is asked to do (main fills it from the command line). */
struct session_config {
    pid_t pid;                  /* 0 when launching */
    char **command;             /* the command to launch, NULL-terminated, or NULL */
    const char *command_output; /* its stdout and stderr go here, NULL = inherit */
    bool command_stdin_null;    /* it reads /dev/null (the screen owns the terminal) */
    unsigned rate_hz;
    bool idle;
    uint32_t stack_size;
    unsigned max_depth;
    enum stack_mode stacks;
    bool gil, nonblocking, full_filenames;
    bool no_line_numbers;           /* folded: "function (file.py)" for Python frames */
    bool native_all;                /* --native-all: no Python-first folding (processing.h) */
    bool subprocesses;              /* --subprocesses: child processes followed (perf engine) */
    size_t rows;                    /* hot-table rows of the text output */
    const char *baseline_name;      /* --baseline FILE, for the report */
    const char *const *source_maps; /* --source-path OLD=NEW */
    size_t nsource_maps;
    enum engine_choice engine_choice; /* --engine */
    bool cpu_clock;                   /* --clock cpu-clock */
    bool kernel;                      /* kernel frames where the engine can give them */
    const struct engine_ops *engine;  /* NULL: chosen from the options (tests inject one) */
};

/* Launches the command (when cfg->command) and attaches.  On failure returns a
 * negative code, writes a user-facing message and sets *exit_code. */
int session_start(struct session **out, const struct session_config *cfg, char *err, size_t errsz,
                  int *exit_code);

/* True once the target has exited (all threads gone). */
bool session_target_exited(struct session *s);
/* Seconds since sampling began. */
double session_elapsed(struct session *s);

/* Render the text snapshot (or the --format of o) of the current model. */
int session_write(struct session *s, FILE *f, enum output_format fmt, bool threads);

/* Stop sampling: detach (target left running), drain and stop processing.
 * Idempotent.  In launch mode a command still running is sent SIGTERM, as
 * perf record does. */
void session_stop(struct session *s);

void session_get_stats(struct session *s, struct session_stats *out);
/* The run so far, for every writer and the screen: rate_achieved is the
 * mean over the run.  Any thread. */
void session_run_info(struct session *s, struct run_info *out);
pid_t session_pid(const struct session *s);

/* The sampling rate, changed live by the screen's +/- keys: the sampler
 * thread reads it every round.  Clamped to RATE_MIN..RATE_MAX. */
void session_set_rate(struct session *s, unsigned hz);
unsigned session_rate(struct session *s);
/* Forget every count (the 'z' key), under the model lock. */
void session_zero(struct session *s);
/* Python-first or every interpreter frame (the 'i' key, --native-all):
 * which model every view and output reads from now on (processing.h). */
void session_set_native_all(struct session *s, bool on);
bool session_native_all(struct session *s);
/* Whether the Python-first choice changes anything: the target showed
 * Python frames merged with native ones. */
bool session_folds_python(struct session *s);
/* Why Python frames are missing (an interpreter found but not supported,
 * or none with --python), to show the user once; "" when all is well. */
const char *session_python_note(const struct session *s);

/* What the live screen asks for: the window and the thread (0 = all), and
 * the drill-down view with its zoom (src/liveview.h); seq comes back in the
 * frame, so the screen knows which request a frame answers. */
struct live_req {
    bool recent;
    pid_t tid;
    unsigned seq;
    struct lv_view_req v;
};

/* Builds the hot-function and thread rows of a live frame (src/liveview.h)
 * for req, with ps (NULL = no process numbers) merged into the threads.
 * Symbolizes new frames first, outside the model lock; so it may take long
 * on a big target and must not run on the thread that reads keys.  now_ns
 * is the end of the recent window.  Not thread-safe against session_write. */
int session_live(struct session *s, const struct live_req *req, uint64_t now_ns,
                 const struct procstat_snapshot *ps, struct live_frame *f);

/* What the source and instruction views need (src/annotate.h): made on the
 * first call, owned by the session, valid until session_free.  Call it and
 * annot_build on the thread that builds views (it uses the symbolizer);
 * annot_collect under the same lock as the model.  NULL when out of memory. */
struct annot_env;
struct annot_env *session_annot_env(struct session *s);

/* --baseline: the hot table of the screen and of the text output get a
 * column with each function's self-% change against p (diff.h).  p stays
 * the caller's and must outlive the session's views. */
struct profile;
void session_set_baseline(struct session *s, const struct profile *p);

/* The run's figures so far, from procfs readings taken when sampling
 * started, every 250 ms (up to 1 s when a reading is slow), and at
 * session_stop: CPU % of one CPU averaged over the run, RSS at the last
 * reading and its peak (VmHWM), read and write bytes per second.  Fills only those fields of out
 * (have_cpu, cpu_pct, have_rss, rss_bytes, rss_peak_bytes, have_io,
 * read_bps, write_bps; have_* false when not measured).  Returns 0. */
struct prof_meta;
int session_run_figures(struct session *s, struct prof_meta *out);

void session_free(struct session *s);

#endif
