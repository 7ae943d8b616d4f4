/*
 * test_session.c - a real session (session.h) driven by the replay engine
 * (replay_engine.h): sampler loop, processing, unwinding, symbols, model
 * and output, with the engine's events scripted.
 *
 * The target is a fork of this binary that only waits for commands on a
 * pipe: same binary, same address layout, so captures with the pcs of
 * leaf_a, leaf_b or the chain_* functions are named by the session's own
 * maps and symbol reading.  Every test ends by killing and reaping it (the
 * teardown, so a failed assertion does too).
 */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sampler/unwind/unwind.h"
#include "src/session/session.h"
#include "tests/replay_engine.h"

#define STACK_SIZE 8192 /* per capture: 256 queue slots, the chain fits */
#define PLAY_MS    5000 /* a script is played in ms; this is only a failure's bound */

/* ------------------------------------------------------------ the target's code */

static volatile uint64_t sink;

/* Distinct bodies: identical ones could be folded into one symbol. */
__attribute__((noinline, used)) void leaf_a(void)
{
    sink = sink * 3 + 1;
}

__attribute__((noinline, used)) void leaf_b(void)
{
    sink = sink * 5 + 7;
}

/* chain_outer -> chain_mid -> chain_leaf, which takes its own stack; the
 * empty asm after each call keeps it from being a tail call. */
__attribute__((noinline, used)) void chain_leaf(struct replay_stack *st)
{
    replay_stack_here(st, STACK_SIZE);
}

__attribute__((noinline, used)) void chain_mid(struct replay_stack *st)
{
    chain_leaf(st);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline, used)) void chain_outer(struct replay_stack *st)
{
    chain_mid(st);
    __asm__ volatile("" ::: "memory");
}

/* A pc inside f (past its first byte: a pc is never a function's start
 * in a sampled leaf, and either is fine for the symbol lookup). */
static uint64_t pc_of(void (*f)(void))
{
    return (uint64_t)(uintptr_t)f + 1;
}

/* ------------------------------------------------------------ the target */

struct fixture {
    pid_t child;
    int cmd, reply; /* pipes to and from the child */
    struct replay *r;
    struct session *s;
};

static struct fixture fx;

struct dl_answer {
    uint64_t addr;
    char why[200];
};

/* The child: 'd' loads the plugin library and answers its function's
 * address (code mapped after the session started), 0 and dlerror's text
 * when it cannot; EOF ends it. */
static void child_main(int cmd, int reply)
{
    char c;
    while (read(cmd, &c, 1) == 1) {
        struct dl_answer a = {0};
        if (c == 'd') {
            void *h = dlopen(FIXTURE_DIR "/libplugin.so", RTLD_NOW);
            void *f = h ? dlsym(h, "plugin_hot_loop") : NULL;
            a.addr = (uint64_t)(uintptr_t)f;
            if (!f)
                snprintf(a.why, sizeof a.why, "%s", dlerror());
        }
        if (write(reply, &a, sizeof a) != sizeof a)
            break;
    }
    _exit(0);
}

static int setup(void **state)
{
    (void)state;
    int to[2], from[2];
    if (pipe(to) < 0 || pipe(from) < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(to[1]);
        close(from[0]);
        child_main(to[0], from[1]);
    }
    close(to[0]);
    close(from[1]);
    fx = (struct fixture){.child = pid, .cmd = to[1], .reply = from[0], .r = replay_new()};
    return fx.r ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    session_free(fx.s);
    replay_free(fx.r);
    close(fx.cmd);
    close(fx.reply);
    kill(fx.child, SIGKILL);
    while (waitpid(fx.child, NULL, 0) < 0 && errno == EINTR)
        ;
    fx = (struct fixture){0};
    return 0;
}

/* Asks the child to load the plugin; its function's address there.  The
 * library is check_DATA: `make check` builds it, running the binary alone
 * may not have. */
static uint64_t child_dlopen(void)
{
    struct dl_answer a;
    assert_int_equal(write(fx.cmd, "d", 1), 1);
    assert_int_equal(read(fx.reply, &a, sizeof a), (ssize_t)sizeof a);
    if (!a.addr)
        fail_msg("the child cannot load the plugin (make tests/fixtures/libplugin.so): %s", a.why);
    return a.addr;
}

/* ------------------------------------------------------------ the session */

static struct session_config config(void)
{
    return (struct session_config){.pid = fx.child,
                                   .rate_hz = 99,
                                   .stack_size = STACK_SIZE,
                                   .max_depth = UNWIND_DEPTH_DEFAULT,
                                   .stacks = STACKS_NATIVE,
                                   .rows = 20,
                                   .engine = replay_ops(fx.r)};
}

static struct run_info run(void)
{
    struct run_info ri;
    session_run_info(fx.s, &ri);
    return ri;
}

/* The run's truncated count, the run_info on a frame of its own: the
 * stack tests copy the test's own stack, which a run_info on it (several
 * KiB) would push past the copy, cutting the unwind short. */
__attribute__((noinline)) static uint64_t run_truncated(void)
{
    return run().truncated;
}

static void start(void)
{
    char err[512] = "";
    int code = -1;
    struct session_config sc = config();
    int rc = session_start(&fx.s, &sc, err, sizeof err, &code);
    if (rc < 0)
        fail_msg("session_start: %s (exit code %d)", err, code);
    assert_string_equal(run().engine, "replay");
}

/* Everything scripted was played, processed and the session stopped. */
static void play_and_stop(void)
{
    assert_true(replay_wait_played(fx.r, PLAY_MS));
    session_stop(fx.s); /* drains the queue: every capture is in the model */
}

/* The session's folded output (threads: each stack under its thread),
 * malloc'd. */
static char *folded(bool threads)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(session_write(fx.s, f, FORMAT_FOLDED, threads), 0);
    fclose(f);
    if (getenv("SESSION_DEBUG"))
        print_message("%s", buf); /* what the counts were read from */
    return buf;
}

/* One folded line: the stack (frames root first, ';' between them) and
 * its count; false at the end of the text. */
struct folded_line {
    const char *stack;
    size_t len;
    uint64_t count;
};

static bool next_line(const char **text, struct folded_line *l)
{
    const char *line = *text;
    if (!line || !*line)
        return false;
    const char *nl = strchr(line, '\n');
    size_t n = nl ? (size_t)(nl - line) : strlen(line);
    const char *sp = memrchr(line, ' ', n);
    *l = (struct folded_line){line, sp ? (size_t)(sp - line) : n,
                              sp ? strtoull(sp + 1, NULL, 10) : 0};
    *text = nl ? nl + 1 : NULL;
    return true;
}

/* Sum of the counts of the folded lines whose stack ends with tail
 * ("leaf_a", "chain_mid;chain_leaf") at a frame boundary; "" sums every line. */
static uint64_t count_ending(const char *text, const char *tail)
{
    uint64_t sum = 0;
    size_t tl = strlen(tail);
    struct folded_line l;
    while (next_line(&text, &l)) {
        const char *at = l.stack + l.len - tl;
        if (l.len >= tl && !memcmp(at, tail, tl) && (at == l.stack || at[-1] == ';' || !tl))
            sum += l.count;
    }
    return sum;
}

/* Sum of the counts of the folded lines that start with head (threads:
 * "name-tid;"). */
static uint64_t count_starting(const char *text, const char *head)
{
    uint64_t sum = 0;
    size_t hl = strlen(head);
    struct folded_line l;
    while (next_line(&text, &l))
        if (l.len >= hl && !strncmp(l.stack, head, hl))
            sum += l.count;
    return sum;
}

static struct session_stats stats(void)
{
    struct session_stats st;
    session_get_stats(fx.s, &st);
    return st;
}

static struct replay_calls calls(void)
{
    struct replay_calls c;
    replay_get_calls(fx.r, &c);
    return c;
}

/* ------------------------------------------------------------ tests */

/* N captures of leaf_a and M of leaf_b, interleaved: exactly N and M. */
static void test_leaf_counts(void **state)
{
    (void)state;
    enum { N = 7, M = 4 };
    for (int i = 0; i < N + M; i++)
        replay_capture(fx.r, fx.child, pc_of(i < 2 * M && i % 2 ? leaf_b : leaf_a), 0);
    start();
    play_and_stop();
    char *out = folded(false);
    assert_int_equal(count_ending(out, "leaf_a"), N);
    assert_int_equal(count_ending(out, "leaf_b"), M);
    assert_int_equal(count_ending(out, ""), N + M); /* nothing else in the profile */
    free(out);
    struct run_info ri = run();
    assert_int_equal(stats().captured, N + M);
    assert_int_equal(ri.samples, N + M);
    assert_int_equal(ri.truncated, N + M); /* registers only: no stack to unwind */
    assert_int_equal(ri.lost, 0);
    assert_int_equal(ri.threads_seen, 1);
}

/* A stack taken in this process three calls deep: the session unwinds the
 * copy with the binary's CFI up to _start, so the folded stack ends with
 * the test and the chain. */
static void test_stack_frames(void **state)
{
    (void)state;
    struct replay_stack st;
    chain_outer(&st);
    assert_true(st.len > 0);
    for (int i = 0; i < 3; i++)
        replay_capture_stack(fx.r, fx.child, &st, 0);
    replay_stack_free(&st);
    start();
    play_and_stop();
    char *out = folded(false);
    assert_int_equal(count_ending(out, "test_stack_frames;chain_outer;chain_mid;chain_leaf"), 3);
    assert_int_equal(count_starting(out, "_start;"), 3); /* unwound to the outermost frame */
    assert_int_equal(count_ending(out, ""), 3);
    free(out);
    assert_int_equal(run_truncated(), 0);
}

/* Samples the engine could not deliver are the session's lost count; the
 * captures around them are all processed. */
static void test_lost_counted(void **state)
{
    (void)state;
    replay_capture(fx.r, fx.child, pc_of(leaf_a), 0);
    replay_lost(fx.r, 5);
    replay_capture(fx.r, fx.child, pc_of(leaf_b), 0);
    replay_lost(fx.r, 3);
    start();
    play_and_stop();
    struct run_info ri = run();
    assert_int_equal(ri.lost, 8);
    assert_int_equal(stats().captured, 2);
    assert_int_equal(ri.samples, 2);
}

/* The target's exit ends sampling: captures after it are never played,
 * and the message gives the status the engine reported. */
static void test_exit_status(void **state)
{
    (void)state;
    replay_capture(fx.r, fx.child, pc_of(leaf_a), 0);
    replay_capture(fx.r, fx.child, pc_of(leaf_a), 0);
    replay_exit(fx.r, 3 << 8); /* exited with status 3, as waitpid says it */
    replay_capture(fx.r, fx.child, pc_of(leaf_b), 0);
    start();
    assert_true(replay_wait_played(fx.r, PLAY_MS));
    for (int i = 0; i < PLAY_MS / 10 && !session_target_exited(fx.s); i++)
        usleep(10000);
    assert_true(session_target_exited(fx.s));
    session_stop(fx.s);
    char want[64];
    snprintf(want, sizeof want, "process %d exited with status 3", (int)fx.child);
    assert_string_equal(run().exit_msg, want);
    assert_int_equal(run().samples, 2);
    assert_int_equal(calls().detach, 1);
}

/* A target killed by a signal says so. */
static void test_exit_by_signal(void **state)
{
    (void)state;
    replay_exit(fx.r, SIGKILL); /* a wait status: killed by signal 9 */
    start();
    assert_true(replay_wait_played(fx.r, PLAY_MS));
    for (int i = 0; i < PLAY_MS / 10 && !session_target_exited(fx.s); i++)
        usleep(10000);
    session_stop(fx.s);
    assert_true(session_target_exited(fx.s));
    assert_non_null(strstr(run().exit_msg, "killed by signal 9"));
}

/* An exec is acknowledged once and sampling goes on after it. */
static void test_exec_then_more(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        replay_capture(fx.r, fx.child, pc_of(leaf_a), 0);
    replay_exec(fx.r);
    for (int i = 0; i < 4; i++)
        replay_capture(fx.r, fx.child, pc_of(leaf_b), 0);
    start();
    play_and_stop();
    assert_int_equal(calls().ack_exec, 1);
    assert_false(session_target_exited(fx.s));
    char *out = folded(false);
    assert_int_equal(count_ending(out, "leaf_a"), 3);
    assert_int_equal(count_ending(out, "leaf_b"), 4);
    free(out);
    assert_int_equal(run().samples, 7);
}

/* Code mapped after the session read the maps (the child dlopens the
 * plugin), with the engine's maps-changed flag: named, and counted. */
static void test_maps_changed(void **state)
{
    (void)state;
    start();
    uint64_t plugin = child_dlopen();
    replay_capture(fx.r, fx.child, pc_of(leaf_a), CAPTURE_MAPS_CHANGED);
    for (int i = 0; i < 3; i++)
        replay_capture(fx.r, fx.child, plugin + 1, i == 0 ? CAPTURE_MAPS_CHANGED : 0);
    replay_capture(fx.r, fx.child, pc_of(leaf_a), 0);
    play_and_stop();
    char *out = folded(false);
    assert_int_equal(count_ending(out, "plugin_hot_loop"), 3);
    assert_int_equal(count_ending(out, "leaf_a"), 2);
    assert_int_equal(count_ending(out, ""), 5);
    free(out);
    assert_int_equal(run().samples, 5);
}

/* attach refused: session_start fails with the engine's own message and
 * the exit code main returns for that class (attach_exit_code). */
static void test_attach_errors(void **state)
{
    (void)state;
    static const struct {
        enum engine_error err;
        int code;
    } cases[] = {
        {ENGINE_EPERM, EXIT_NO_PERMISSION},     {ENGINE_ENOTARGET, EXIT_NO_TARGET},
        {ENGINE_ETRACED, EXIT_NO_PERMISSION},   {ENGINE_EUNSUPPORTED, EXIT_FAILURE_INTERNAL},
        {ENGINE_EOTHER, EXIT_FAILURE_INTERNAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[64], err[512] = "";
        snprintf(msg, sizeof msg, "replay: refused, case %zu", i);
        replay_fail_attach(fx.r, cases[i].err, msg);
        struct session_config sc = config();
        int code = -1;
        assert_true(session_start(&fx.s, &sc, err, sizeof err, &code) < 0);
        assert_null(fx.s);
        assert_string_equal(err, msg);
        assert_int_equal(code, cases[i].code);
        struct replay_calls c = calls();
        assert_int_equal(c.attach, i + 1);
        assert_int_equal(c.detach, 0); /* a failed attach is not detached */
    }
}

/* The session's rate reaches the engine, clamped to RATE_MIN..RATE_MAX;
 * the attach had the configured rate. */
static void test_set_rate(void **state)
{
    (void)state;
    start();
    assert_int_equal(calls().cfg.rate_hz, 99);
    assert_int_equal(calls().cfg.pid, fx.child);
    session_set_rate(fx.s, RATE_MAX + 1000);
    assert_true(replay_wait_rates(fx.r, 1, PLAY_MS));
    session_set_rate(fx.s, 0);
    assert_true(replay_wait_rates(fx.r, 2, PLAY_MS));
    session_set_rate(fx.s, 250);
    assert_true(replay_wait_rates(fx.r, 3, PLAY_MS));
    session_stop(fx.s);
    struct replay_calls c = calls();
    assert_int_equal(c.nrates, 3);
    assert_int_equal(c.rates[0], RATE_MAX);
    assert_int_equal(c.rates[1], RATE_MIN);
    assert_int_equal(c.rates[2], 250);
    assert_int_equal(session_rate(fx.s), 250);
}

/* session_stop detaches exactly once, however often it is called. */
static void test_stop_detaches_once(void **state)
{
    (void)state;
    replay_capture(fx.r, fx.child, pc_of(leaf_a), 0);
    start();
    assert_true(replay_wait_played(fx.r, PLAY_MS));
    assert_int_equal(calls().detach, 0);
    session_stop(fx.s);
    assert_int_equal(calls().detach, 1);
    session_stop(fx.s);
    assert_int_equal(calls().detach, 1);
    assert_int_equal(calls().attach, 1);
    session_free(fx.s);
    fx.s = NULL;
    assert_int_equal(calls().detach, 1);
}

/* Thread names the engine gives reach the per-thread output, a rename
 * included; a thread never named is "thread". */
static void test_thread_names(void **state)
{
    (void)state;
    pid_t t1 = fx.child, t2 = fx.child + 1, t3 = fx.child + 2; /* tids are only labels here */
    replay_name(fx.r, t1, "worker-one");
    replay_name(fx.r, t2, "render");
    replay_capture(fx.r, t1, pc_of(leaf_a), 0);
    replay_capture(fx.r, t2, pc_of(leaf_b), 0);
    replay_capture(fx.r, t2, pc_of(leaf_b), 0);
    replay_capture(fx.r, t3, pc_of(leaf_a), 0);
    replay_name(fx.r, t1, "worker-renamed");
    replay_capture(fx.r, t1, pc_of(leaf_a), 0);
    start();
    play_and_stop();
    char *out = folded(true);
    char head[64];
    snprintf(head, sizeof head, "worker-renamed-%d;", (int)t1);
    assert_int_equal(count_starting(out, head), 2);
    snprintf(head, sizeof head, "render-%d;", (int)t2);
    assert_int_equal(count_starting(out, head), 2);
    snprintf(head, sizeof head, "thread-%d;", (int)t3);
    assert_int_equal(count_starting(out, head), 1);
    assert_int_equal(count_ending(out, ""), 5);
    free(out);
    assert_int_equal(run().threads_seen, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_leaf_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stack_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_by_signal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_then_more, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maps_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_detaches_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_names, setup, teardown),
    };
    if (getenv("SESSION_TEST"))
        cmocka_set_test_filter(getenv("SESSION_TEST")); /* one test while debugging */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
