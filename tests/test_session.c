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

/* The child: 'd' loads the plugin library and answers its function's
 * address (code mapped after the session started); EOF ends it. */
static void child_main(int cmd, int reply)
{
    char c;
    while (read(cmd, &c, 1) == 1) {
        uint64_t addr = 0;
        if (c == 'd') {
            void *h = dlopen(FIXTURE_DIR "/libplugin.so", RTLD_NOW);
            void *f = h ? dlsym(h, "plugin_hot_loop") : NULL;
            addr = (uint64_t)(uintptr_t)f;
        }
        if (write(reply, &addr, sizeof addr) != sizeof addr)
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

/* Asks the child to load the plugin; its function's address there. */
__attribute__((unused)) static uint64_t child_dlopen(void)
{
    uint64_t addr = 0;
    assert_int_equal(write(fx.cmd, "d", 1), 1);
    assert_int_equal(read(fx.reply, &addr, sizeof addr), (ssize_t)sizeof addr);
    assert_true(addr != 0);
    return addr;
}

/* ------------------------------------------------------------ the session */

static struct session_config config(void)
{
    return (struct session_config){.pid = fx.child,
                                   .rate_hz = 99,
                                   .stack_size = STACK_SIZE,
                                   .max_depth = UNWIND_DEPTH_DEFAULT,
                                   .stacks = STACKS_NATIVE,
                                   .format = FORMAT_FOLDED,
                                   .rows = 20,
                                   .engine = replay_ops(fx.r)};
}

static void start(void)
{
    char err[512] = "";
    int code = -1;
    struct session_config sc = config();
    int rc = session_start(&fx.s, &sc, err, sizeof err, &code);
    if (rc < 0)
        fail_msg("session_start: %s (exit code %d)", err, code);
    assert_string_equal(session_engine(fx.s), "replay");
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
    return buf;
}

/* Sum of the counts of the folded lines whose stack ends with tail
 * ("leaf_a", "chain_mid;chain_leaf") at a frame boundary; "" sums every line. */
static uint64_t count_ending(const char *text, const char *tail)
{
    uint64_t sum = 0;
    size_t tl = strlen(tail);
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        const char *sp = memrchr(line, ' ', nl ? (size_t)(nl - line) : strlen(line));
        bool whole = sp && (tl == 0 || sp - tl == line || sp[-(ptrdiff_t)tl - 1] == ';');
        if (sp && (size_t)(sp - line) >= tl && !memcmp(sp - tl, tail, tl) && whole)
            sum += strtoull(sp + 1, NULL, 10);
        line = nl ? nl + 1 : NULL;
    }
    return sum;
}

/* Sum of the counts of the folded lines that start with head (threads:
 * "name-tid;"). */
__attribute__((unused)) static uint64_t count_starting(const char *text, const char *head)
{
    uint64_t sum = 0;
    size_t hl = strlen(head);
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        const char *sp = memrchr(line, ' ', nl ? (size_t)(nl - line) : strlen(line));
        if (sp && !strncmp(line, head, hl))
            sum += strtoull(sp + 1, NULL, 10);
        line = nl ? nl + 1 : NULL;
    }
    return sum;
}

static struct session_stats stats(void)
{
    struct session_stats st;
    session_get_stats(fx.s, &st);
    return st;
}

__attribute__((unused)) static struct replay_calls calls(void)
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
    struct session_stats st = stats();
    assert_int_equal(st.samples, N + M);
    assert_int_equal(st.processed, N + M);
    assert_int_equal(st.lost, 0);
    assert_int_equal(st.threads_seen, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_leaf_counts, setup, teardown),
    };
    if (getenv("SESSION_TEST"))
        cmocka_set_test_filter(getenv("SESSION_TEST")); /* one test while debugging */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
