/*
 * annotate.h - where inside one function the samples fall: per source line
 * and per machine instruction, for the source and instruction views.
 *
 * Two steps, so the model lock is held only for the cheap one:
 *   annot_collect  under the model lock, no I/O: walks the call tree's
 *                  self[] (already windowed and zoomed by the caller) and
 *                  gathers the counts of one function into annot_counts;
 *   annot_build    outside the lock: reads the source file or disassembles
 *                  the machine code and returns rows ready to render
 *                  (ui/pane_annot.h draws them), cached per function.
 *
 * What is counted, for function F:
 *   self   samples whose leaf frame is in F's code: at the pc's instruction
 *          and at its line;
 *   incl.  samples that passed through F without ending there: counted at
 *          the call instruction (interned as pc-1, so it falls inside the
 *          call) and at the call's line; once per stack per address (and
 *          per line), so recursion does not count a sample twice.
 * Inlined code: a line of an inlined callee G belongs to G's own view.  In
 * the view of the function G was inlined into, its samples count at the
 * line of the call site of G (where the reader of F's source sees G being
 * called), and at the instructions where they ran (those are F's machine
 * code).  The instruction view of an inlined function is the view of the
 * function it was inlined into (the hottest one when there are several).
 * Python functions (FRAME_PYTHON frames) count per line of the code object,
 * as Python profilers do: a line's own samples include the interpreter's
 * and C code below it up to the next Python frame; samples in a deeper
 * Python frame are its incl.;
 * their source comes from the code object's .py file, and they have no
 * instruction view (the view says so).
 *
 * Source files are opened through the target's root (/proc/PID/root:
 * containers), falling back to the path itself when the target is gone;
 * --source-path OLD=NEW prefix rewrites (first match wins) are tried first.
 * Every read is bounded (ANNOT_SRC_MAX_BYTES, ANNOT_LINE_MAX_BYTES per
 * line shown, ANNOT_FUNC_MAX_BYTES of machine code).
 *
 * Threads: annot_collect on any thread holding the model lock; annot_build
 * on the one thread that uses the symbolizer (the view thread).
 */
#ifndef PERTOP_ANNOTATE_H
#define PERTOP_ANNOTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ANNOT_SRC_MAX_BYTES   (8u << 20)   /* a bigger source file is not shown */
#define ANNOT_LINE_MAX_BYTES  512          /* of one source line kept for display */
#define ANNOT_FUNC_MAX_BYTES  (256u << 10) /* machine code disassembled per function */
#define ANNOT_CONTEXT_LINES   3            /* shown around the function's lines */
#define ANNOT_CACHE_VIEWS     16           /* built views kept per env */
#define ANNOT_MAX_SOURCE_MAPS 32           /* --source-path maps */

enum annot_kind { ANNOT_SOURCE, ANNOT_ASM };

struct interner;
struct modreg;
struct symbolizer;
struct pycode_reg;
struct model;
struct resolver;

/* What annotation needs from the session.  Pointers are borrowed and must
 * outlive the env; pyreg may be NULL (no Python), sym and reg may be NULL
 * (no instruction view: the view says why). */
struct annot_env_cfg {
    const struct interner *in;
    const struct modreg *reg;
    struct symbolizer *sym;
    const struct pycode_reg *pyreg;
    pid_t pid;               /* 0: no target root; files opened as they are named */
    bool target_gone;        /* skip /proc/PID/root (may be updated: annot_env_set_gone) */
    const char *const *maps; /* --source-path "OLD=NEW" (split at the first '='): a path
                                starting with OLD (whole, or followed by '/') is read
                                from NEW + the rest; first match wins; copied */
    size_t nmaps;
};

struct annot_env;

/* NULL with errno ENOMEM or EINVAL (no interner, too many maps). */
struct annot_env *annot_env_new(const struct annot_env_cfg *cfg);
void annot_env_free(struct annot_env *env);
/* The target exited: open files by their own path from now on. */
void annot_env_set_gone(struct annot_env *env, bool gone);

/* ----------------------------------------------------------- counts */

/* The counts of one function; no I/O went into them. */
struct annot_addr_count {
    uint32_t module; /* module id */
    uint64_t addr;   /* ELF vaddr (the pc, or pc-1 for a call) */
    uint64_t self, incl;
};

struct annot_line_count {
    int line;
    uint64_t self, incl;
};

enum annot_func_kind { ANNOT_FUNC_NATIVE, ANNOT_FUNC_PYTHON, ANNOT_FUNC_OTHER };

struct annot_counts {
    uint32_t func;
    enum annot_func_kind kind;
    char name[256];
    char module[128];               /* short module name, "" for Python */
    char file[1024];                /* source file whose lines are counted ("" unknown) */
    int decl_line;                  /* first line of the function, 0 unknown */
    uint64_t total;                 /* all samples of self[] (the percentage base) */
    uint64_t self_total;            /* samples counted as self in this view */
    uint64_t func_total;            /* samples whose stack holds F (once per stack) */
    uint64_t other_file;            /* self+incl samples on lines of other files */
    bool inlined_only;              /* every frame of F was an inlined instance */
    uint32_t any_module;            /* a module and address of F's code, to locate it */
    uint64_t any_addr;              /* (MODULE_NONE / 0 when F has no native frame) */
    struct annot_addr_count *addrs; /* sorted by (module, addr) */
    size_t naddrs;
    struct annot_line_count *lines; /* of file, sorted by line */
    size_t nlines;
};

/* Counts of function func (a resolver function id) from self[0 ..
 * model_node_count).  Under the model lock; cheap (one pass over the tree),
 * no I/O, no symbolization beyond r->chain.  NULL with errno ENOMEM or
 * EINVAL (func out of range). */
struct annot_counts *annot_collect(const struct annot_env *env, const struct model *m,
                                   const struct resolver *r, const uint64_t *self, uint32_t func);
void annot_counts_free(struct annot_counts *c);

/* ------------------------------------------------------------- views */

enum annot_row_kind {
    ANNOT_ROW_SOURCE,  /* a source line: line, text */
    ANNOT_ROW_INSN,    /* an instruction: addr, text (mnemonic and operands) */
    ANNOT_ROW_COMMENT, /* file:line change in the instruction view: text */
    ANNOT_ROW_LABEL    /* a branch target: addr, text ("L3:") */
};

struct annot_row {
    uint8_t kind;  /* enum annot_row_kind */
    bool hot;      /* among the hottest (highlighted) */
    int line;      /* source line (SOURCE, COMMENT), 0 none */
    uint64_t addr; /* ELF vaddr (INSN, LABEL) */
    uint64_t self, incl;
    const char *text; /* sanitized: printable UTF-8, tabs expanded */
};

struct annot_view {
    enum annot_kind kind;
    char title[512];  /* "source: parse_row  /src/parse.c  (1234 samples)" */
    char error[1200]; /* non-empty: the view shows this and has no rows */
    char note[512];   /* a second line of information ("" none) */
    uint64_t total;   /* percentage base */
    uint64_t self_total;
    struct annot_row *rows;
    size_t nrows;
    int line_digits; /* width of the line-number column */
    size_t hottest;  /* row of the hottest line/instruction, SIZE_MAX none */
    void *priv;      /* the view's text storage */
};

/* Rows for c in kind; reads the file or disassembles (cached per function
 * and module, so a refresh with new counts reuses text and instructions).
 * Never NULL except on ENOMEM; any failure gives a view whose error says
 * what happened and what to do ("source not found: PATH (...
 * --source-path OLD=NEW)"). */
struct annot_view *annot_build(struct annot_env *env, const struct annot_counts *c,
                               enum annot_kind kind);
void annot_view_free(struct annot_view *v);

#endif
