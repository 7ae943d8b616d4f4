/*
 * cli.c - option parsing and validation.  getopt_long in "+" mode so that
 * everything after the first non-option (or after "--") is the command to
 * launch, untouched.
 */
#include "src/cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/capture.h"

static const char usage_text[] =
    "Usage: pertop [OPTIONS] --pid PID\n"
    "       pertop [OPTIONS] -- COMMAND [ARGS...]\n"
    "       pertop diff [--rows N] BEFORE AFTER\n"
    "\n"
    "Live profiler: shows where a running process spends its CPU, from its\n"
    "native stacks (DWARF and ELF symbols) merged with its CPython stacks.\n"
    "\n"
    "Target:\n"
    "  -p, --pid PID          attach to the running process PID (all its threads)\n"
    "  -- COMMAND [ARGS...]   launch COMMAND and profile it until it exits\n"
    "\n"
    "Sampling:\n"
    "  -r, --rate HZ          samples per second per thread (default 99, 1-10000)\n"
    "  -d, --duration SECS    stop after SECS seconds (default: until the target\n"
    "                         exits or Ctrl-C)\n"
    "      --idle             also count threads that are waiting, not only on-CPU\n"
    "      --stack-size BYTES user stack copied per sample (default 16K, 1K-64K;\n"
    "                         suffix K allowed)\n"
    "      --max-depth N      frames kept per stack (default 256, up to 1024)\n"
    "      --engine ENGINE    auto (default): perf where the kernel allows it,\n"
    "                         else ptrace; perf: the kernel samples each thread\n"
    "                         on its own clock, nothing is stopped; ptrace: each\n"
    "                         thread stopped briefly per sample (the fallback)\n"
    "      --clock CLOCK      perf engine: task-clock (default: the thread's CPU\n"
    "                         time) or cpu-clock\n"
    "      --no-kernel        perf engine: no kernel frames under the user stack\n"
    "      --subprocesses     perf engine: follow the target's child processes\n"
    "                         (fork, exec, posix_spawn) and profile them too\n"
    "\n"
    "Python (CPython 2.7, 3.6-3.13):\n"
    "      --python           Python frames only, no native unwinding (cheaper)\n"
    "      --native           native frames only, even in a Python process\n"
    "                         (default: both, Python frames in place of the\n"
    "                         interpreter's eval loop)\n"
    "      --native-all       keep every frame of the interpreter itself (default:\n"
    "                         the interpreter's C functions run below a Python\n"
    "                         frame count as that frame's self time; C extensions\n"
    "                         and libraries stay frames of their own; key i)\n"
    "      --gil              sample only the thread holding the GIL\n"
    "      --full-filenames   Python file names in full, not cut after\n"
    "                         site-packages, lib/pythonX.Y or the script's folder\n"
    "      --no-line-numbers  folded output names Python frames \"function (file.py)\",\n"
    "                         not \"function (file.py:LINE)\"\n"
    "      --nonblocking      with --python: read the Python frames without\n"
    "                         stopping the target at all (no ptrace); stacks that\n"
    "                         change under the read are counted torn, not shown\n"
    "\n"
    "Output:\n"
    "  -b, --batch            no live display: print the text snapshot at the end\n"
    "                         (end of --duration, Ctrl-C, or the target exiting)\n"
    "  -o, --output FILE      also write the profile to FILE at the end\n"
    "  -f, --format FMT       format of --output: text (default), folded\n"
    "                         (one line per stack, root first, ';'-joined, count),\n"
    "                         speedscope (JSON for speedscope.app, one profile\n"
    "                         per thread), svg (interactive flame graph), report\n"
    "                         (Markdown performance report), pprof (gzipped\n"
    "                         profile.proto for go tool pprof, Pyroscope, Parca)\n"
    "      --threads          folded and svg output: thread (name-tid) as the\n"
    "                         root frame\n"
    "  -n, --rows N           rows of the hot-functions table (default 30)\n"
    "      --view VIEW        what --batch prints: hot (default, the hot functions),\n"
    "                         tree (call tree, top down), inverted (bottom up),\n"
    "                         callers:NAME (callers and callees of function NAME),\n"
    "                         source:NAME (its source lines with counts),\n"
    "                         asm:NAME (its instructions with counts); NAME is\n"
    "                         exact or a unique part of a function name; trees\n"
    "                         show rows of 0.5% or more; on the screen, tree and\n"
    "                         inverted open that view\n"
    "      --thread TID       every view of thread TID only (zoom)\n"
    "      --module NAME      only samples whose innermost frame is in the module\n"
    "                         (shared object) NAME, e.g. libz.so.1 (zoom)\n"
    "      --baseline FILE    add a column with each function's change of self %\n"
    "                         against the profile FILE (folded or pprof, e.g. an\n"
    "                         earlier --output): screen and text output\n"
    "  -i, --interval SECS    refresh interval of the live display (default 1)\n"
    "      --snapshot-dir DIR where the screen's 's' key writes its text snapshots\n"
    "                         (default: the current folder)\n"
    "      --command-output FILE  where a launched command's output goes (default:\n"
    "                         the terminal, or nowhere while the screen is on)\n"
    "      --no-color         no colours on the screen (also when NO_COLOR is set)\n"
    "      --source-path OLD=NEW  source and instruction views: read files under\n"
    "                         OLD from NEW instead (a moved or copied tree);\n"
    "                         repeatable, the first matching OLD wins\n"
    "      --stats            print sampler statistics on stderr at the end\n"
    "\n"
    "  -h, --help             show this help and exit\n"
    "  -V, --version          show the version and exit\n"
    "\n"
    "Compare two profiles:\n"
    "  pertop diff [--rows N] BEFORE AFTER\n"
    "                         BEFORE and AFTER are folded or pprof files (pertop's\n"
    "                         or other tools'); per function self and total % of\n"
    "                         each profile's samples before and after and the\n"
    "                         change in points, biggest change first; new and\n"
    "                         gone functions marked; --rows 0 shows all (default 30)\n"
    "\n"
    "Exit status: 0 ok, 1 internal error, 2 bad usage (or a --baseline or diff\n"
    "profile that cannot be read or is corrupt), 3 no such target (or a\n"
    "kernel thread or zombie), 4 not permitted to trace (or already traced),\n"
    "5 the command could not be launched, 6 the output could not be written.\n"
    "Launch mode (-- COMMAND): when pertop succeeded and COMMAND ended on its\n"
    "own, its exit status, or 128 + the signal that killed it (as sh gives);\n"
    "a command that pertop stopped (--duration, q, Ctrl-C) gives 0.\n";

const char *cli_usage(void)
{
    return usage_text;
}

const char *cli_format_name(enum output_format f)
{
    switch (f) {
    case FORMAT_FOLDED:
        return "folded";
    case FORMAT_SPEEDSCOPE:
        return "speedscope";
    case FORMAT_SVG:
        return "svg";
    case FORMAT_REPORT:
        return "report";
    case FORMAT_PPROF:
        return "pprof";
    default:
        return "text";
    }
}

const char *cli_format_ext(enum output_format f)
{
    switch (f) {
    case FORMAT_FOLDED:
        return "folded";
    case FORMAT_SPEEDSCOPE:
        return "json";
    case FORMAT_SVG:
        return "svg";
    case FORMAT_REPORT:
        return "md";
    case FORMAT_PPROF:
        return "pb.gz";
    default:
        return "txt";
    }
}

void cli_defaults(struct cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->rate_hz = 99;
    o->stack_size = CAPTURE_STACK_DEFAULT;
    o->max_depth = 256;
    o->format = FORMAT_TEXT;
    o->interval_s = 1.0;
    o->rows = 30;
}

/* Parses a whole decimal integer within [lo, hi]. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_seconds(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_bytes(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return -EINVAL;
    if (*end == 'k' || *end == 'K') {
        v *= 1024;
        end++;
    }
    if (*end != '\0' || v < CAPTURE_STACK_MIN || v > CAPTURE_STACK_MAX)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

enum {
    OPT_IDLE = 256,
    OPT_STACK,
    OPT_DEPTH,
    OPT_THREADS,
    OPT_STATS,
    OPT_SNAPDIR,
    OPT_NOCOLOR,
    OPT_CMDOUT,
    OPT_PYTHON,
    OPT_NATIVE,
    OPT_GIL,
    OPT_FULLNAMES,
    OPT_NOLINES,
    OPT_NATIVE_ALL,
    OPT_SUBPROCESSES,
    OPT_NONBLOCKING,
    OPT_SOURCEPATH,
    OPT_BASELINE,
    OPT_VIEW,
    OPT_THREAD,
    OPT_MODULE,
    OPT_ENGINE,
    OPT_CLOCK,
    OPT_NOKERNEL
};

static const struct option long_opts[] = {
    {"pid", required_argument, NULL, 'p'},
    {"rate", required_argument, NULL, 'r'},
    {"duration", required_argument, NULL, 'd'},
    {"idle", no_argument, NULL, OPT_IDLE},
    {"stack-size", required_argument, NULL, OPT_STACK},
    {"max-depth", required_argument, NULL, OPT_DEPTH},
    {"batch", no_argument, NULL, 'b'},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"threads", no_argument, NULL, OPT_THREADS},
    {"rows", required_argument, NULL, 'n'},
    {"interval", required_argument, NULL, 'i'},
    {"stats", no_argument, NULL, OPT_STATS},
    {"snapshot-dir", required_argument, NULL, OPT_SNAPDIR},
    {"command-output", required_argument, NULL, OPT_CMDOUT},
    {"no-color", no_argument, NULL, OPT_NOCOLOR},
    {"python", no_argument, NULL, OPT_PYTHON},
    {"native", no_argument, NULL, OPT_NATIVE},
    {"gil", no_argument, NULL, OPT_GIL},
    {"full-filenames", no_argument, NULL, OPT_FULLNAMES},
    {"no-line-numbers", no_argument, NULL, OPT_NOLINES},
    {"native-all", no_argument, NULL, OPT_NATIVE_ALL},
    {"subprocesses", no_argument, NULL, OPT_SUBPROCESSES},
    {"nonblocking", no_argument, NULL, OPT_NONBLOCKING},
    {"source-path", required_argument, NULL, OPT_SOURCEPATH},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"view", required_argument, NULL, OPT_VIEW},
    {"thread", required_argument, NULL, OPT_THREAD},
    {"module", required_argument, NULL, OPT_MODULE},
    {"engine", required_argument, NULL, OPT_ENGINE},
    {"clock", required_argument, NULL, OPT_CLOCK},
    {"no-kernel", no_argument, NULL, OPT_NOKERNEL},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

#define BAD(...)                                                                                   \
    do {                                                                                           \
        snprintf(err, errsz, __VA_ARGS__);                                                         \
        return CLI_ERROR;                                                                          \
    } while (0)

/* --view hot|tree|inverted|callers:NAME|source:NAME|asm:NAME */
static int parse_view(const char *arg, struct cli_opts *o)
{
    static const struct {
        const char *name;
        enum cli_view v;
        bool named;
    } views[] = {
        {"hot", VIEW_HOT, false},           {"tree", VIEW_TREE, false},
        {"inverted", VIEW_INVERTED, false}, {"callers:", VIEW_CALLERS, true},
        {"source:", VIEW_SOURCE, true},     {"asm:", VIEW_ASM, true},
    };
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        size_t n = strlen(views[i].name);
        if (views[i].named ? strncmp(arg, views[i].name, n) != 0 : strcmp(arg, views[i].name) != 0)
            continue;
        if (views[i].named && !arg[n])
            return -EINVAL;
        o->view = views[i].v;
        o->view_func = views[i].named ? arg + n : NULL;
        return 0;
    }
    return -EINVAL;
}

static int parse_format(const char *arg, enum output_format *out)
{
    static const struct {
        const char *name;
        enum output_format f;
    } names[] = {
        {"text", FORMAT_TEXT}, {"folded", FORMAT_FOLDED}, {"speedscope", FORMAT_SPEEDSCOPE},
        {"svg", FORMAT_SVG},   {"report", FORMAT_REPORT}, {"pprof", FORMAT_PPROF}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!strcmp(arg, names[i].name)) {
            *out = names[i].f;
            return 0;
        }
    }
    return -EINVAL;
}

/* apply_sampling's answer for an option it does not handle */
#define CLI_NOT_MINE (-1)

/* What to sample and how: CLI_NOT_MINE for another group's option. */
static int apply_sampling(int c, const char *arg, struct cli_opts *o, char *err, size_t errsz)
{
    long v;
    switch (c) {
    case 'p':
        if (parse_long(arg, 1, 0x7fffffff, &v))
            BAD("pertop: invalid --pid '%s': expected a process ID (a positive number)", arg);
        o->pid = (pid_t)v;
        break;
    case 'r':
        if (parse_long(arg, RATE_MIN, RATE_MAX, &v))
            BAD("pertop: invalid --rate '%s': expected samples per second from %d to %d", arg,
                RATE_MIN, RATE_MAX);
        o->rate_hz = (unsigned)v;
        break;
    case 'd':
        if (parse_seconds(arg, 0.001, 31536000.0, &o->duration_s))
            BAD("pertop: invalid --duration '%s': expected a positive number of seconds", arg);
        break;
    case OPT_IDLE:
        o->idle = true;
        break;
    case OPT_STACK:
        if (parse_bytes(arg, &o->stack_size))
            BAD("pertop: invalid --stack-size '%s': expected bytes from 1K to 64K (e.g. 16K "
                "or 16384)",
                arg);
        break;
    case OPT_DEPTH:
        if (parse_long(arg, 2, DEPTH_MAX_LIMIT, &v))
            BAD("pertop: invalid --max-depth '%s': expected frames from 2 to %d", arg,
                DEPTH_MAX_LIMIT);
        o->max_depth = (unsigned)v;
        break;
    case OPT_PYTHON:
    case OPT_NATIVE:
        if (o->stacks != STACKS_MERGED)
            BAD("pertop: give at most one of --python and --native");
        o->stacks = c == OPT_PYTHON ? STACKS_PYTHON : STACKS_NATIVE;
        break;
    case OPT_GIL:
        o->gil = true;
        break;
    case OPT_FULLNAMES:
        o->full_filenames = true;
        break;
    case OPT_NOLINES:
        o->no_line_numbers = true;
        break;
    case OPT_SUBPROCESSES:
        o->subprocesses = true;
        break;
    case OPT_NATIVE_ALL:
        o->native_all = true;
        break;
    case OPT_NONBLOCKING:
        o->nonblocking = true;
        break;
    case OPT_ENGINE:
        if (!strcmp(arg, "auto"))
            o->engine = ENGINE_AUTO;
        else if (!strcmp(arg, "perf"))
            o->engine = ENGINE_PERF;
        else if (!strcmp(arg, "ptrace"))
            o->engine = ENGINE_PTRACE;
        else
            BAD("pertop: invalid --engine '%s': use auto, perf or ptrace", arg);
        break;
    case OPT_CLOCK:
        if (strcmp(arg, "task-clock") && strcmp(arg, "cpu-clock"))
            BAD("pertop: invalid --clock '%s': use task-clock or cpu-clock", arg);
        o->cpu_clock = !strcmp(arg, "cpu-clock");
        break;
    case OPT_NOKERNEL:
        o->no_kernel = true;
        break;
    default:
        return CLI_NOT_MINE;
    }
    return CLI_RUN;
}

/* Applies one option; returns CLI_RUN to go on. */
static enum cli_result apply(int c, const char *arg, struct cli_opts *o, char *err, size_t errsz)
{
    int r = apply_sampling(c, arg, o, err, errsz);
    if (r != CLI_NOT_MINE)
        return (enum cli_result)r;
    long v;
    switch (c) {
    case 'b':
        o->batch = true;
        break;
    case 'o':
        if (!*arg)
            BAD("pertop: --output needs a file name");
        o->output = arg;
        break;
    case 'f':
        if (parse_format(arg, &o->format) < 0)
            BAD("pertop: unknown --format '%s': use text, folded, speedscope, svg, report or "
                "pprof",
                arg);
        break;
    case OPT_THREADS:
        o->threads = true;
        break;
    case 'n':
        if (parse_long(arg, 1, 100000, &v))
            BAD("pertop: invalid --rows '%s': expected a number from 1 to 100000", arg);
        o->rows = (size_t)v;
        break;
    case 'i':
        if (parse_seconds(arg, 0.1, 3600.0, &o->interval_s))
            BAD("pertop: invalid --interval '%s': expected seconds from 0.1 to 3600", arg);
        break;
    case OPT_STATS:
        o->stats = true;
        break;
    case OPT_SNAPDIR:
        if (!*arg)
            BAD("pertop: --snapshot-dir needs a folder name");
        o->snapshot_dir = arg;
        break;
    case OPT_NOCOLOR:
        o->no_color = true;
        break;
    case OPT_CMDOUT:
        if (!*arg)
            BAD("pertop: --command-output needs a file name");
        o->command_output = arg;
        break;
    case OPT_SOURCEPATH:
        /* Split later (by annotate): argv stays untouched. */
        if (arg[0] == '=' || !strchr(arg, '=') || !strchr(arg, '=')[1])
            BAD("pertop: invalid --source-path '%s': expected OLD=NEW (two folder prefixes)", arg);
        if (o->nsource_maps == SOURCE_MAPS_MAX)
            BAD("pertop: too many --source-path options (at most %d)", SOURCE_MAPS_MAX);
        o->source_maps[o->nsource_maps++] = arg;
        break;
    case OPT_BASELINE:
        if (!*arg)
            BAD("pertop: --baseline needs a profile file (folded or pprof)");
        o->baseline = arg;
        break;
    case OPT_VIEW:
        if (parse_view(arg, o))
            BAD("pertop: invalid --view '%s': use hot, tree, inverted, callers:NAME, "
                "source:NAME or asm:NAME",
                arg);
        break;
    case OPT_THREAD:
        if (parse_long(arg, 1, 0x7fffffff, &v))
            BAD("pertop: invalid --thread '%s': expected a thread ID (a positive number)", arg);
        o->zoom_tid = (pid_t)v;
        break;
    case OPT_MODULE:
        if (!*arg)
            BAD("pertop: --module needs a module name (e.g. libc.so.6)");
        o->zoom_module = arg;
        break;
    case 'h':
        return CLI_HELP;
    case 'V':
        return CLI_VERSION;
    default:
        BAD("pertop: unknown or incomplete option — run 'pertop --help' for the options");
    }
    return CLI_RUN;
}

enum cli_result cli_parse(int argc, char **argv, struct cli_opts *o, char *err, size_t errsz)
{
    cli_defaults(o);
    err[0] = '\0';
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:p:r:d:bo:f:n:i:hV", long_opts, NULL)) != -1) {
        if (c == '?' || c == ':') {
            const char *what = argv[optind - 1] ? argv[optind - 1] : "?";
            BAD("pertop: %s option '%s' — run 'pertop --help' for the options",
                c == ':' ? "missing value for" : "unknown", what);
        }
        enum cli_result r = apply(c, optarg, o, err, errsz);
        if (r != CLI_RUN)
            return r;
    }
    if (optind < argc)
        o->command = &argv[optind];
    if (o->pid && o->command)
        BAD("pertop: give either --pid or a command to launch, not both");
    if (!o->pid && !o->command)
        BAD("pertop: nothing to profile: give --pid PID or -- COMMAND (see 'pertop --help')");
    if (o->threads && o->format != FORMAT_FOLDED && o->format != FORMAT_SVG &&
        o->format != FORMAT_SPEEDSCOPE)
        BAD("pertop: --threads applies to --format folded or svg (speedscope is always per "
            "thread)");
    if (o->gil && o->stacks == STACKS_NATIVE)
        BAD("pertop: --gil needs the Python state: it cannot go with --native");
    if (o->nonblocking && o->engine != ENGINE_AUTO)
        BAD("pertop: --nonblocking is an engine of its own (the CPython live read): drop "
            "--engine");
    if (o->subprocesses && (o->engine == ENGINE_PTRACE || o->nonblocking))
        BAD("pertop: --subprocesses follows children with the perf_event engine: drop "
            "--engine ptrace and --nonblocking");
    if (o->nonblocking && o->stacks != STACKS_PYTHON)
        BAD("pertop: --nonblocking reads Python frames only, without stopping the target: "
            "add --python");
    if (o->view_func && !o->batch)
        BAD("pertop: --view %s needs --batch (on the screen, press Enter on the function)",
            o->view == VIEW_CALLERS  ? "callers:NAME"
            : o->view == VIEW_SOURCE ? "source:NAME"
                                     : "asm:NAME");
    if (o->view != VIEW_HOT && o->format != FORMAT_TEXT)
        BAD("pertop: --view prints a text view: it cannot go with --format %s (drop one)",
            cli_format_name(o->format));
    return CLI_RUN;
}

static const struct option diff_opts[] = {
    {"rows", required_argument, NULL, 'n'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

enum cli_result cli_parse_diff(int argc, char **argv, struct cli_diff_opts *o, char *err,
                               size_t errsz)
{
    memset(o, 0, sizeof *o);
    o->rows = 30;
    err[0] = '\0';
    optind = 1;
    opterr = 0;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, ":n:h", diff_opts, NULL)) != -1) {
        if (c == 'h')
            return CLI_HELP;
        if (c != 'n')
            BAD("pertop diff: %s option '%s' — usage: pertop diff [--rows N] BEFORE AFTER",
                c == ':' ? "missing value for" : "unknown",
                argv[optind - 1] ? argv[optind - 1] : "?");
        if (parse_long(optarg, 0, 1000000, &v))
            BAD("pertop diff: invalid --rows '%s': expected 0 (all) to 1000000", optarg);
        o->rows = (size_t)v;
    }
    if (argc - optind != 2)
        BAD("pertop diff: expected two profiles, BEFORE and AFTER (folded or pprof) — usage: "
            "pertop diff [--rows N] BEFORE AFTER");
    o->before = argv[optind];
    o->after = argv[optind + 1];
    return CLI_RUN;
}
