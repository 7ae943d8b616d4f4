/*
 * cli.h - the command line, parsed into plain options.
 *
 * cli_parse validates every value (ranges, formats) and explains a bad one in
 * one line; it never exits or prints, so it can be unit-tested.  Exit codes
 * are part of the interface and documented in the man page and README.
 */
#ifndef PERTOP_CLI_H
#define PERTOP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit codes. */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_INTERNAL = 1, /* an unexpected failure inside pertop */
    EXIT_USAGE = 2,            /* bad command line */
    EXIT_NO_TARGET = 3,        /* no such process, kernel thread, zombie */
    EXIT_NO_PERMISSION = 4,    /* not allowed to trace, or already traced */
    EXIT_LAUNCH = 5,           /* the command to launch could not be run */
    EXIT_OUTPUT = 6            /* the output file could not be written */
};

/* speedscope: JSON for speedscope.app; svg: interactive flame graph;
 * report: Markdown for an issue (export_speedscope.h, export_svg.h, report.h) */
/* pprof: gzipped profile.proto (export_pprof.h) */
enum output_format {
    FORMAT_TEXT,
    FORMAT_FOLDED,
    FORMAT_SPEEDSCOPE,
    FORMAT_SVG,
    FORMAT_REPORT,
    FORMAT_PPROF
};

/* --view: what a --batch run prints at the end (ui/batchview.h); the screen
 * starts in the tree views.  NAME views need --batch. */
enum cli_view { VIEW_HOT, VIEW_TREE, VIEW_INVERTED, VIEW_CALLERS, VIEW_SOURCE, VIEW_ASM };

/* --engine: which sampler; auto is perf where the kernel allows it. */
enum engine_choice { ENGINE_AUTO, ENGINE_PERF, ENGINE_PTRACE };

/* Which stacks: native and Python merged (default), or one of them. */
enum stack_mode { STACKS_MERGED, STACKS_PYTHON, STACKS_NATIVE };

#define RATE_MIN        1
#define RATE_MAX        10000
#define DEPTH_MAX_LIMIT 1024
#define SOURCE_MAPS_MAX 32 /* --source-path options */

struct cli_opts {
    pid_t pid;           /* 0 when launching */
    char **command;      /* argv of the command to launch, NULL-terminated, or NULL */
    unsigned rate_hz;    /* default 99 */
    double duration_s;   /* 0 = until the target exits or Ctrl-C */
    bool idle;           /* also count samples of waiting threads */
    uint32_t stack_size; /* bytes copied per sample */
    unsigned max_depth;  /* frames per stack */
    bool batch;          /* no screen: print the snapshot at the end */
    const char *output;  /* --output FILE or NULL */
    enum output_format format;
    bool threads;               /* thread as the root frame in folded output */
    bool stats;                 /* print sampler statistics on stderr at the end */
    double interval_s;          /* refresh interval of the live display */
    size_t rows;                /* rows of the hot-functions table */
    const char *snapshot_dir;   /* where the screen's 's' key writes, NULL = "." */
    bool no_color;              /* --no-color: the screen without colours */
    const char *command_output; /* launched command's stdout+stderr go here, NULL = inherit */
    bool command_stdin_null;    /* launched command reads /dev/null (the screen owns the tty) */
    enum stack_mode stacks;     /* --python, --native, default merged */
    bool gil;                   /* --gil: only the thread holding the GIL */
    bool full_filenames;        /* --full-filenames: Python file names not shortened */
    bool no_line_numbers;       /* --no-line-numbers: folded Python frames without lines */
    bool native_all;            /* --native-all: every interpreter frame kept */
    bool subprocesses;          /* --subprocesses: follow child processes */
    bool nonblocking;           /* --nonblocking (with --python): no ptrace stop at all */
    const char *source_maps[SOURCE_MAPS_MAX]; /* --source-path OLD=NEW, as given (argv) */
    size_t nsource_maps;
    const char *baseline;      /* --baseline FILE: a profile to compare the hot table with */
    enum cli_view view;        /* --view (default hot) */
    const char *view_func;     /* --view callers:NAME, source:NAME, asm:NAME: the NAME */
    pid_t zoom_tid;            /* --thread TID: every view of that thread only, 0 = all */
    const char *zoom_module;   /* --module NAME: samples whose innermost frame is in NAME */
    enum engine_choice engine; /* --engine */
    bool cpu_clock;            /* --clock cpu-clock */
    bool no_kernel;            /* --no-kernel */
};

enum cli_result { CLI_RUN, CLI_HELP, CLI_VERSION, CLI_ERROR };

void cli_defaults(struct cli_opts *o);
/* argv is not copied: command points into it. */
enum cli_result cli_parse(int argc, char **argv, struct cli_opts *o, char *err, size_t errsz);
const char *cli_usage(void);
const char *cli_format_name(enum output_format f);
/* `pertop diff [--rows N] BEFORE AFTER`: argv[0] is "diff". */
struct cli_diff_opts {
    const char *before, *after; /* profile files (folded or pprof) */
    size_t rows;                /* 0 = all */
};
enum cli_result cli_parse_diff(int argc, char **argv, struct cli_diff_opts *o, char *err,
                               size_t errsz);
/* File extension for f, without the dot ("txt", "folded", "json", ...). */
const char *cli_format_ext(enum output_format f);

#endif
