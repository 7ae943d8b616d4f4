/*
 * drill.h - drill-down views computed from the call tree: per-function
 * totals, the function view (callers and callees of one function), the
 * top-down call tree and the inverted (bottom-up) tree, and function lookup
 * by name for the command line.
 *
 * Pure functions of (model, resolver, self[]): self[] holds the per-node
 * self counts of the window (model_self_counts), already narrowed by
 * zoom_apply, so every view honours the zoom without knowing about it.  No
 * I/O, no target access; the caller holds the model lock.  Views work on
 * functions, not pcs: each node's frame expands to its resolver chain
 * (inlined functions are frames of their own; Python frames resolve like
 * native ones).  The thread level of the model is skipped: threads merge.
 *
 * Counting rules (so the numbers add up):
 *  - a function's total counts each stack once, however often it recurs;
 *  - callers of F: each stack through F is given to the caller of F's
 *    outermost occurrence ("[no caller]" when F is the outermost frame);
 *  - callees of F: each stack through F is given to the function called by
 *    F's innermost occurrence ("[self]" when F is the innermost frame);
 *  so callers sum to F's total, and so do callees with [self].
 *
 * Trees aggregate by function path.  Expansion state is a set of path
 * hashes (drill_path_hash, root first), kept by the screen, so it survives
 * refreshes while new samples arrive.  A tree build descends only into
 * expanded rows, so its cost follows what is shown, not the model's size.
 */
#ifndef PERTOP_DRILL_H
#define PERTOP_DRILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/model/model.h"
#include "src/session/resolve.h"

/* Pseudo function ids of the function view. */
#define DRILL_NO_CALLER UINT32_MAX       /* "[no caller]": F was outermost */
#define DRILL_SELF      (UINT32_MAX - 1) /* "[self]": F was innermost */

/* Samples per function over self[] (total: once per stack). */
struct drill_funcs {
    uint64_t *self, *total; /* indexed by function id, n entries */
    uint32_t n;             /* >= the resolver's function count */
    uint64_t samples;       /* sum of self[] */
};

int drill_func_totals(const struct model *m, const struct resolver *r, const uint64_t *self,
                      struct drill_funcs *out);
void drill_funcs_free(struct drill_funcs *f);

/* Exact name first, else a unique case-sensitive substring; ambiguous or
 * missing: -EEXIST / -ENOENT with a message listing up to 5 candidates
 * (hottest first when total_by_func, indexed by function id below the
 * resolver's function count, is given). */
int drill_find_func(const struct resolver *r, const uint64_t *total_by_func_or_NULL,
                    const char *name, uint32_t *func, char *err, size_t errsz);

struct drill_edge {
    uint32_t func;  /* function id, DRILL_NO_CALLER or DRILL_SELF */
    uint64_t count; /* stacks through F given to this caller / callee */
    double pct;     /* of F's total */
};

struct drill_fview {
    uint32_t func;
    uint64_t self, total, samples;        /* samples: of the selection */
    double self_pct, total_pct;           /* of the selection */
    struct drill_edge *callers, *callees; /* biggest first */
    size_t ncallers, ncallees;
};

/* 0 or -ENOMEM; a function with no samples gives empty lists. */
int drill_func_view(const struct model *m, const struct resolver *r, const uint64_t *self,
                    uint32_t func, struct drill_fview *out);
void drill_fview_free(struct drill_fview *v);

/* ------------------------------------------------------------ trees */

enum drill_tree_kind { DRILL_TOPDOWN, DRILL_INVERTED };

#define DRILL_ROOT_HASH  0x9e3779b97f4a7c15ull
#define DRILL_EXPAND_MAX 1024

/* A set of expanded paths, as sorted 64-bit hashes of their function ids
 * (a collision could only expand a row nobody asked for).  Plain data, so
 * the screen's request carries it by value. */
struct drill_expand {
    uint32_t n;
    uint64_t h[DRILL_EXPAND_MAX];
};

/* Hash of the path made of parent's path and func (parent of a top-level
 * row: DRILL_ROOT_HASH). */
uint64_t drill_path_hash(uint64_t parent, uint32_t func);
bool drill_expand_has(const struct drill_expand *e, uint64_t h);
/* Adds (on) or removes a path; -ENOSPC when the set is full. */
int drill_expand_set(struct drill_expand *e, uint64_t h, bool on);

struct drill_tree_opts {
    enum drill_tree_kind kind;
    const struct drill_expand *expand; /* NULL = nothing expanded */
    bool expand_all;                   /* batch: every row down to min_pct */
    double min_pct;                    /* with expand_all: rows below are left out */
};

struct drill_row {
    uint32_t depth; /* 0 = top level */
    uint32_t func;
    uint64_t self, total;
    double pct, parent_pct; /* of the selection, of the parent row */
    bool has_children, expanded;
    uint64_t hash; /* path hash (drill_path_hash) */
    size_t parent; /* row index of the parent, SIZE_MAX at top level */
};

struct drill_tree {
    struct drill_row *rows; /* depth first, children biggest first */
    size_t n;
    uint64_t samples;
};

int drill_tree(const struct model *m, const struct resolver *r, const uint64_t *self,
               const struct drill_tree_opts *o, struct drill_tree *out);
void drill_tree_free(struct drill_tree *t);

/* Expands the hottest path below the row whose path hash is from
 * (DRILL_ROOT_HASH: from the top), down to the first row without children,
 * adding to e.  Returns the rows added (>= 0), -ENOENT when from is not a
 * row, -ENOSPC when e is full, -ENOMEM. */
int drill_expand_hottest(const struct model *m, const struct resolver *r, const uint64_t *self,
                         enum drill_tree_kind kind, uint64_t from, struct drill_expand *e);

#endif
