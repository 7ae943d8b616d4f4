/*
 * model.h - aggregation of stacks into a call tree, with no I/O.
 *
 * The call tree is a trie of frame ids whose first level is the thread
 * pseudo-frame of each sample, so the whole process and one thread are both
 * subtrees.  Each node counts the samples that ended there (self); totals are
 * derived by summing children.  Nodes are appended, never moved: a node's
 * parent always has a smaller index.  A ring of recent samples (node, time)
 * gives counts over the last few seconds.  Node count is capped: when the
 * tree is full, a new stack is attached at its deepest existing prefix under
 * a SPECIAL_OVERFLOW frame, so samples are never lost, only detail.
 * Ordinary frames may use max_nodes - max(1, max_nodes / 16) nodes; the rest
 * is kept for thread nodes and overflow nodes.  When even that reserve is
 * gone, a sample goes to the nearest ancestor's existing overflow node, or
 * to its deepest prefix.
 *
 * Memory (default limits, worst case): 24 MiB of nodes (24 bytes each),
 * 24 MiB of child hash (12-byte slots, at most 3/4 full, power of two),
 * 1 MiB recent ring, 0.4 MiB thread table: about 50 MiB.  Arrays grow by
 * doubling, so a small profile uses little; model_add allocates nothing once
 * the arrays have grown.
 *
 * Not thread-safe; the session serialises access with one lock.
 */
#ifndef PERTOP_MODEL_H
#define PERTOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "src/model/intern.h"

#define MODEL_ROOT    0u
#define MODEL_NO_NODE UINT32_MAX

/* Sample kinds (weights may be split by kind later). */
enum { SAMPLE_ONCPU = 1u << 0, SAMPLE_WAITING = 1u << 1, SAMPLE_TRUNCATED = 1u << 2 };

struct model_limits {
    uint32_t max_nodes;        /* call tree nodes (default 1<<20) */
    uint32_t recent_capacity;  /* samples kept for the recent window (default 1<<16) */
    uint64_t recent_window_ns; /* default 5 s */
    uint32_t max_threads;      /* thread table entries (default 4096) */
};

struct model_node {
    frame_id frame;
    uint32_t parent;
    uint32_t first_child;
    uint32_t next_sibling;
    uint64_t self; /* cumulative samples ending here */
};

struct model_thread {
    pid_t tid;
    pid_t pid;        /* its process when pertop follows several, 0: the target */
    char name[64];    /* the OS name, or the longer one Python gave the thread */
    char state;       /* last state seen */
    uint64_t samples; /* cumulative */
    uint64_t last_ns; /* time of last sample */
    uint32_t node;    /* its node under the root */
    bool exited;
};

struct model;

void model_limits_default(struct model_limits *l);
/* l NULL = defaults.  NULL with errno EINVAL (max_nodes < 2) or ENOMEM. */
struct model *model_new(const struct model_limits *l);
void model_free(struct model *m);

/* Add one sample: thread_frame is the interned FRAME_THREAD of tid; frames
 * are leaf first (frames[0] is where the thread was); FRAME_NONE entries are
 * skipped.  overflow_frame is the interned SPECIAL_OVERFLOW frame.  Returns
 * the node the sample was counted at.  Never drops the sample: when the tree
 * is full or memory runs out it lands on an overflow node or a prefix. */
uint32_t model_add(struct model *m, pid_t tid, const char *name, char state, frame_id thread_frame,
                   const frame_id *frames, size_t n, uint32_t kind, uint64_t time_ns,
                   frame_id overflow_frame);

/* The same with a weight: the sample stands for weight samples (a thread
 * off the CPU for that many sampling periods).  weight 0 counts nothing
 * but still names the thread. */
uint32_t model_add_n(struct model *m, pid_t tid, const char *name, char state,
                     frame_id thread_frame, const frame_id *frames, size_t n, uint32_t kind,
                     uint64_t time_ns, frame_id overflow_frame, uint32_t weight);

/* A copy of src, counts, threads and recent samples included, that grows
 * on its own from then on.  NULL with errno ENOMEM. */
struct model *model_clone(const struct model *src);

void model_thread_exited(struct model *m, pid_t tid);
/* The process thread tid belongs to (0: the target), once it has samples. */
void model_thread_set_pid(struct model *m, pid_t tid, pid_t pid);
/* A process's name: its main thread's (tid = pid), "process" when that
 * thread has no samples or no name. */
const char *model_process_name(const struct model *m, pid_t pid);
/* Forget every count (the 'z' key); threads are kept, counts zeroed. */
void model_zero(struct model *m);

size_t model_node_count(const struct model *m);
const struct model_node *model_node(const struct model *m, uint32_t idx);
size_t model_thread_count(const struct model *m);
const struct model_thread *model_thread(const struct model *m, size_t i);
const struct model_thread *model_thread_find(const struct model *m, pid_t tid);
uint64_t model_total_samples(const struct model *m);
bool model_overflowed(const struct model *m);

enum model_window { MODEL_CUMULATIVE, MODEL_RECENT };
/* Fill self[0..node_count) with per-node self counts for the window
 * (recent: samples newer than now_ns - recent_window_ns still in the ring).
 * Returns the sum. */
uint64_t model_self_counts(const struct model *m, enum model_window w, uint64_t now_ns,
                           uint64_t *self);
/* Turn self counts into inclusive totals (children summed into parents). */
void model_totals(const struct model *m, const uint64_t *self, uint64_t *total);

#endif
