/*
 * test_pyfind.c - pyfind and pyframes on real interpreters.
 *
 * For each CPython of pyenv (`pyenv root` or $PYENV_ROOT) and Debian's
 * /usr/bin/python3.11: start it on a tiny script whose main thread sleeps
 * in sleeper_fn (line 4) and a named thread in bg_fn (line 7), find the
 * interpreter, check version and runtime symbol, walk every thread through
 * process_vm_readv while it sleeps, and expect both functions at their
 * lines.  For 3.13 the generated table must agree with the target's own
 * _Py_DebugOffsets.  An absent interpreter is reported as skipped, and the
 * test is skipped (exit 77) only when none is there at all.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sampler/python/pyfind.h"

static const char SCRIPT[] = "import time, threading\n"
                             "def sleeper_fn():\n"
                             "    while True:\n"
                             "        time.sleep(0.05)\n"
                             "def bg_fn():\n"
                             "    while True:\n"
                             "        time.sleep(0.05)\n"
                             "t = threading.Thread(target=bg_fn, name='bgthread')\n"
                             "t.daemon = True\n"
                             "t.start()\n"
                             "def spin_fn():\n"
                             "    while True:\n"
                             "        pass\n"
                             "u = threading.Thread(target=spin_fn, name='spinner')\n"
                             "u.daemon = True\n"
                             "u.start()\n"
                             "sleeper_fn()\n";

static const char *VERSIONS[] = {"2.7.18",  "3.6.15", "3.7.16", "3.8.18", "3.9.18",
                                 "3.10.13", "3.11.7", "3.12.1", "3.13.0"};

static int tested, skipped;

static const char *pyenv_root(void)
{
    static char buf[4096];
    const char *e = getenv("PYENV_ROOT");
    FILE *p;

    if (e && *e)
        return e;
    if (!(p = popen("pyenv root 2>/dev/null", "r")))
        return NULL;
    if (!fgets(buf, sizeof buf, p))
        buf[0] = 0;
    pclose(p);
    buf[strcspn(buf, "\n")] = 0;
    return buf[0] ? buf : NULL;
}

/* The running interpreter, killed by the teardown if a check fails
 * half-way (cmocka leaves the test by longjmp), and by the kernel if this
 * process dies. */
static pid_t child;

static pid_t start_script(const char *exe, const char *script)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(exe, exe, "-c", script, (char *)NULL);
        _exit(127);
    }
    child = pid;
    return pid;
}

static pid_t start(const char *exe)
{
    return start_script(exe, SCRIPT);
}

static void stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    child = 0;
}

static int kill_child(void **state)
{
    (void)state;
    if (child > 0)
        stop(child);
    return 0;
}

struct seen {
    bool sleeper, bg;
    int gil_reads, gil_spin; /* GIL held at all / by the spinning thread */
};

/* One pass over every thread: true when both functions were seen. */
static bool walk_once(struct pyframes *pf, struct pyf_target *t, pid_t pid, struct seen *s)
{
    struct pyf_thread th[16];
    struct pyf_frame fr[64];
    size_t n, k;
    unsigned fl;
    int toff = -1;

    if (pyframes_threads(t, th, 16, &n, &fl, -1) < 0 || n == 0)
        return false;
    if (t->layout.ts_native_thread_id < 0) {
        toff = pyframes_tid_offset(t, th[n - 1].pthread_id, pid);
        pyframes_threads(t, th, 16, &n, &fl, toff);
    }
    for (size_t i = 0; i < n; i++) {
        if (pyframes_walk(pf, t, th[i].tstate, fr, 64, &k, &fl) < 0 || k == 0)
            continue;
        const struct pycode *c = pyframes_code(pf, fr[0].code);
        if (!c || strcmp(c->file, "<string>"))
            continue;
        if (th[i].holds_gil) {
            s->gil_reads++;
            s->gil_spin += !strcmp(c->name, "spin_fn");
        }
        if (!strcmp(c->name, "sleeper_fn") && fr[0].line == 4 && th[i].tid == pid)
            s->sleeper = true;
        if (!strcmp(c->name, "bg_fn") && fr[0].line == 7 && th[i].tid > 0 && th[i].tid != pid)
            s->bg = true;
    }
    return s->sleeper && s->bg && s->gil_reads >= 10;
}

static void check_python(const char *exe, int major, int minor)
{
    struct pyfind_result r;
    struct pyf_target t;
    struct pyframes *pf;
    struct seen s = {0};
    char err[512] = "";
    pid_t pid;
    int rc = -1;

    if (access(exe, X_OK)) {
        print_message("SKIP %s: not installed\n", exe);
        skipped++;
        return;
    }
    pid = start(exe);
    assert_true(pid > 0);
    pf = pyframes_new(0);
    /* The interpreter needs a moment to start and reach sleeper_fn. */
    for (int tries = 0; tries < 200 && !(s.sleeper && s.bg && s.gil_reads >= 10); tries++) {
        usleep(s.sleeper ? 5000 : 50000);
        rc = pyfind(pid, &r, err, sizeof err);
        if (rc < 0)
            continue;
        struct pyread mem = {pyread_pid, &pid, pyread_pid_v};
        assert_int_equal(pyfind_target(&r, mem, &t, err, sizeof err), 0);
        walk_once(pf, &t, pid, &s);
    }
    stop(pid);
    pyframes_free(pf);
    if (rc < 0)
        fail_msg("%s: %s", exe, err);
    assert_int_equal(r.major, major);
    assert_int_equal(r.minor, minor);
    assert_true(r.runtime || r.interp_head);
    assert_true(major == 2 || minor < 7 ? r.interp_head != 0 : r.runtime != 0);
    if (!s.sleeper || !s.bg)
        fail_msg("%s: sleeper_fn:4 %s, bg_fn:7 %s", exe, s.sleeper ? "found" : "missing",
                 s.bg ? "found" : "missing");
    /* The spinning thread holds the GIL nearly all the time; the others
     * only for moments after each sleep. */
    if (s.gil_reads < 10)
        fail_msg("%s: the GIL holder was seen %d times in 10 s", exe, s.gil_reads);
    if (s.gil_spin * 2 < s.gil_reads)
        fail_msg("%s: GIL holder was spin_fn in %d of %d reads", exe, s.gil_spin, s.gil_reads);
    print_message("ok %s: Python %d.%d (version from %s)\n", exe, r.major, r.minor,
                  r.vsrc == PYFIND_V_PY_VERSION ? "Py_Version"
                  : r.vsrc == PYFIND_V_FILENAME ? "file name"
                                                : "version string");
    tested++;
}

static void test_pyenv_versions(void **state)
{
    (void)state;
    const char *root = pyenv_root();
    char exe[4200];

    for (size_t i = 0; i < sizeof VERSIONS / sizeof VERSIONS[0]; i++) {
        int major, minor;
        sscanf(VERSIONS[i], "%d.%d", &major, &minor);
        if (!root) {
            print_message("SKIP Python %s: no pyenv\n", VERSIONS[i]);
            skipped++;
            continue;
        }
        snprintf(exe, sizeof exe, "%s/versions/%s/bin/python%d.%d", root, VERSIONS[i], major,
                 minor);
        check_python(exe, major, minor);
    }
}

static void test_debian_python311(void **state)
{
    (void)state;
    check_python("/usr/bin/python3.11", 3, 11);
}

/* A stack that changes all the time, read without stopping the target:
 * walks come back whole or flagged torn, never with a name that is not one
 * of the script's functions or of random.py. */
static const char CHURN[] = "import random\n"
                            "def g0(n):\n"
                            "    return g1(n - 1) if n > 0 else 0\n"
                            "def g1(n):\n"
                            "    return g0(n - 1) if n > 0 else 1\n"
                            "while True:\n"
                            "    g0(random.randint(0, 40))\n";

static bool plausible(const struct pycode *c)
{
    size_t n = strlen(c->file);

    if (!strcmp(c->file, "<string>"))
        return !strcmp(c->name, "g0") || !strcmp(c->name, "g1") || !strcmp(c->name, "<module>");
    return n >= 9 && !strcmp(c->file + n - 9, "random.py");
}

static void churn_one(const char *exe)
{
    struct pyfind_result r;
    struct pyf_target t;
    struct pyf_thread th[4];
    struct pyf_frame fr[128];
    struct pyframes *pf = pyframes_new(0);
    long walks = 0, whole = 0, torn = 0, bad = 0;
    char err[512] = "";
    size_t n = 0, k;
    unsigned fl;
    pid_t pid = start_script(exe, CHURN);
    int rc = -1;

    for (int tries = 0; tries < 100 && (rc < 0 || n == 0); tries++) {
        usleep(20000);
        struct pyread mem = {pyread_pid, &pid, pyread_pid_v};
        if ((rc = pyfind(pid, &r, err, sizeof err)) == 0 &&
            (rc = pyfind_target(&r, mem, &t, err, sizeof err)) == 0)
            rc = pyframes_threads(&t, th, 4, &n, &fl, -1);
    }
    /* Imports (random pulls in hashlib...) run first: wait for g0, up to
     * 20 s (a loaded machine under the sanitizers took more than 2) */
    bool running = false;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; rc == 0 && n > 0 && !running; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 20)
            break;
        if (pyframes_walk(pf, &t, th[n - 1].tstate, fr, 128, &k, &fl) == 0 && k > 0 &&
            !(fl & PYF_TORN)) {
            const struct pycode *c = pyframes_code(pf, fr[0].code);
            /* by name: namedtuple's class bodies run from "<string>" too */
            running = c && !strcmp(c->file, "<string>") &&
                      (!strcmp(c->name, "g0") || !strcmp(c->name, "g1"));
        }
        if (!running)
            usleep(100);
    }
    /* Walk until 50 whole walks came back (bounded): how many are torn
     * depends on how loaded the machine is, not on the reader. */
    for (long i = 0; running && i < 40000 && whole < 50; i++) {
        pyframes_walk(pf, &t, th[n - 1].tstate, fr, 128, &k, &fl);
        walks++;
        if (fl & PYF_TORN) {
            torn++;
            continue;
        }
        whole += k > 2;
        for (size_t j = 0; j < k; j++) {
            const struct pycode *c = pyframes_code(pf, fr[j].code);
            if (!c || !plausible(c)) {
                print_message("%s: frame %zu of a whole walk is %s (%s)\n", exe, j,
                              c ? c->name : "?", c ? c->file : "?");
                bad++;
            }
        }
    }
    stop(pid);
    pyframes_free(pf);
    if (rc < 0 || n == 0 || !running)
        fail_msg("%s: %s%s", exe, err, running ? "" : "never reached g0");
    assert_int_equal(bad, 0);
    /* Most walks are whole on an idle machine; on a loaded one many more
     * are torn, which is right, but whole ones must still come back. */
    if (whole < 50)
        fail_msg("%s: %ld whole walks of %ld (%ld torn)", exe, whole, walks, torn);
    print_message("ok %s: %ld walks of a changing stack, %ld torn\n", exe, walks, torn);
    tested++;
}

static void test_nonblocking_churn(void **state)
{
    (void)state;
    const char *root = pyenv_root();
    char exe[4200];

    for (size_t i = 0; i < sizeof VERSIONS / sizeof VERSIONS[0]; i++) {
        int major, minor;
        sscanf(VERSIONS[i], "%d.%d", &major, &minor);
        snprintf(exe, sizeof exe, "%s/versions/%s/bin/python%d.%d", root ? root : "", VERSIONS[i],
                 major, minor);
        if (!root || access(exe, X_OK)) {
            print_message("SKIP churn %s: not installed\n", exe);
            skipped++;
            continue;
        }
        churn_one(exe);
    }
}

/* A busy thread 31 Python frames deep (bench/pywork.py's shape). */
static const char DEEP[] = "def leaf(n):\n"
                           "    x = 0\n"
                           "    for i in range(n):\n"
                           "        x = (x * 31 + i) & 0xFFFFFFFF\n"
                           "    return x\n"
                           "def descend(d, n):\n"
                           "    return leaf(n) if d == 0 else descend(d - 1, n) + 1\n"
                           "while True:\n"
                           "    descend(28, 20000)\n";

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

#define COST_WALKS 2000

/* A walk of DEEP that is whole: <module> outermost, descend above it,
 * leaf (if any) innermost. */
static bool consistent(struct pyframes *pf, const struct pyf_frame *fr, size_t k)
{
    for (size_t j = 0; j < k; j++) {
        const struct pycode *c = pyframes_code(pf, fr[j].code);
        const char *want = j + 1 == k ? "<module>" : j == 0 ? "leaf" : "descend";
        if (!c || (strcmp(c->name, want) && !(j == 0 && !strcmp(c->name, "descend"))))
            return false;
    }
    return k > 0;
}

/* Reads the deep stack COST_WALKS times as the ptrace mode does (no
 * re-read: on this running thread some of those walks are mixes, which
 * is why --nonblocking validates) and as --nonblocking does: every walk
 * not flagged torn is a stack that existed, and most have the 31 frames.
 * The CPU a walk costs is printed (minimum and median: the minimum is
 * what it costs when nothing else runs). */
static void walk_cost(const char *exe)
{
    struct pyfind_result r;
    struct pyf_target t;
    struct pyf_thread th[4];
    struct pyf_frame fr[64];
    struct pyframes *pf = pyframes_new(0);
    static uint64_t ns[COST_WALKS];
    char err[512] = "";
    size_t n = 0, k;
    unsigned fl;
    pid_t pid = start_script(exe, DEEP);
    int rc = -1;

    for (int tries = 0; tries < 100 && (rc < 0 || n == 0); tries++) {
        usleep(20000);
        struct pyread mem = {pyread_pid, &pid, pyread_pid_v};
        if ((rc = pyfind(pid, &r, err, sizeof err)) == 0 &&
            (rc = pyfind_target(&r, mem, &t, err, sizeof err)) == 0)
            rc = pyframes_threads(&t, th, 4, &n, &fl, -1);
    }
    if (rc < 0 || n == 0) {
        stop(pid);
        fail_msg("%s: %s", exe, err);
    }
    /* site's imports run first: wait for the deep stack */
    bool running = false;
    for (int i = 0; i < 20000 && !running; i++) {
        running = pyframes_walk(pf, &t, th[n - 1].tstate, fr, 64, &k, &fl) == 0 &&
                  !(fl & PYF_TORN) && k == 31 && consistent(pf, fr, k);
        if (!running)
            usleep(100);
    }
    if (!running) {
        stop(pid);
        fail_msg("%s: the deep stack never showed", exe);
    }
    for (int mode = 0; mode < 2; mode++) {
        long deep = 0, torn = 0;
        struct pyframes_stats s0, s1;
        pyframes_set_stopped(pf, mode == 0);
        pyframes_stats(pf, &s0);
        for (int i = 0; i < COST_WALKS; i++) {
            uint64_t t0 = cpu_ns();
            pyframes_walk(pf, &t, th[n - 1].tstate, fr, 64, &k, &fl);
            ns[i] = cpu_ns() - t0;
            if (fl & PYF_TORN) {
                torn++;
                continue;
            }
            bool ok = consistent(pf, fr, k);
            deep += ok && k == 31;
            if (mode == 1 && !ok)
                fail_msg("%s: a walk not flagged torn is no stack DEEP has (%zu frames)", exe, k);
        }
        pyframes_stats(pf, &s1);
        qsort(ns, COST_WALKS, sizeof ns[0], cmp_u64);
        print_message("%s %s: 31-frame walk %.1f us min, %.1f us median of CPU, %.2f reads; "
                      "%ld of %d whole and right, %ld torn\n",
                      exe, mode ? "nonblocking" : "as in a stop", ns[0] / 1e3,
                      ns[COST_WALKS / 2] / 1e3, (double)(s1.reads - s0.reads) / COST_WALKS, deep,
                      COST_WALKS, torn);
        /* the leaf runs most of the time: most walks are the deep stack */
        if (mode == 1 && deep < COST_WALKS / 2)
            fail_msg("%s: only %ld of %d walks read the 31 frames", exe, deep, COST_WALKS);
    }
    stop(pid);
    pyframes_free(pf);
    tested++;
}

static void test_walk_cost(void **state)
{
    (void)state;
    static const char *cost_versions[] = {"2.7.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0"};
    const char *root = pyenv_root();
    char exe[4200];

    for (size_t i = 0; i < sizeof cost_versions / sizeof cost_versions[0]; i++) {
        int major, minor;
        sscanf(cost_versions[i], "%d.%d", &major, &minor);
        snprintf(exe, sizeof exe, "%s/versions/%s/bin/python%d.%d", root ? root : "",
                 cost_versions[i], major, minor);
        if (!root || access(exe, X_OK)) {
            print_message("SKIP walk cost %s: not installed\n", exe);
            skipped++;
            continue;
        }
        walk_cost(exe);
    }
}

/* An interpreter embedded in a program of its own (libpython3.12 linked
 * into a C main), compiled here against pyenv's headers. */
static void test_embedded(void **state)
{
    (void)state;
    const char *root = pyenv_root();
    char dir[] = "/tmp/pertop-embed-XXXXXX", cmd[16384], src[64], exe[64];
    FILE *f;

    snprintf(cmd, sizeof cmd, "%s/versions/3.12.1/include/python3.12/Python.h", root ? root : "");
    if (!root || access(cmd, R_OK) || system("cc --version >/dev/null 2>&1")) {
        print_message("SKIP embedded interpreter: no 3.12 headers or no cc\n");
        skipped++;
        return;
    }
    assert_non_null(mkdtemp(dir));
    snprintf(src, sizeof src, "%s/embed.c", dir);
    snprintf(exe, sizeof exe, "%s/embedder", dir);
    assert_non_null(f = fopen(src, "w"));
    fprintf(f, "#include <Python.h>\nstatic const char s[] = \"");
    for (const char *p = SCRIPT; *p; p++)
        fprintf(f, *p == '\n' ? "\\n" : *p == '"' ? "\\\"" : "%c", *p);
    fprintf(f, "\";\nint main(void) { Py_Initialize(); return PyRun_SimpleString(s); }\n");
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "cc -o %s %s -I%s/versions/3.12.1/include/python3.12 -L%s/versions/3.12.1/lib "
             "-lpython3.12 -Wl,-rpath,%s/versions/3.12.1/lib",
             exe, src, root, root, root);
    assert_int_equal(system(cmd), 0);
    check_python(exe, 3, 12);
    unlink(exe);
    unlink(src);
    rmdir(dir);
}

/* Without Py_Version or a telling file name, the version string in
 * .rodata gives the version, patch level included. */
static void test_version_string(void **state)
{
    (void)state;
    static const struct {
        const char *lib;
        int major, minor, micro;
    } libs[] = {{"2.7.18/lib/libpython2.7.so.1.0", 2, 7, 18},
                {"3.6.15/lib/libpython3.6m.so.1.0", 3, 6, 15},
                {"3.9.18/lib/libpython3.9.so.1.0", 3, 9, 18}};
    const char *root = pyenv_root();
    struct pyfind_result r;
    char path[4200], err[512];

    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        snprintf(path, sizeof path, "%s/versions/%s", root ? root : "", libs[i].lib);
        if (!root || access(path, R_OK)) {
            print_message("SKIP version string of %s: not installed\n", libs[i].lib);
            skipped++;
            continue;
        }
        assert_int_equal(pyfind_file(path, "/opt/app/engine.so", 0, &r, err, sizeof err), 0);
        assert_int_equal(r.vsrc, PYFIND_V_STRING);
        assert_int_equal(r.major, libs[i].major);
        assert_int_equal(r.minor, libs[i].minor);
        assert_int_equal(r.micro, libs[i].micro);
        tested++;
    }
}

/* The 3.13 table agrees with the live target's _Py_DebugOffsets. */
static void test_debug_offsets_313(void **state)
{
    (void)state;
    const char *root = pyenv_root();
    char exe[4200], err[512] = "";
    struct pyfind_result r;
    struct py_layout got;
    uint8_t buf[PYL_DEBUG_OFFSETS_SIZE];
    pid_t pid;
    int rc = -1;

    snprintf(exe, sizeof exe, "%s/versions/3.13.0/bin/python3.13", root ? root : "");
    if (!root || access(exe, X_OK)) {
        print_message("SKIP 3.13 debug offsets: %s not installed\n", exe);
        skipped++;
        return;
    }
    pid = start_script(exe, "import time; time.sleep(30)");
    for (int tries = 0; tries < 100 && rc < 0; tries++) {
        usleep(20000);
        rc = pyfind(pid, &r, err, sizeof err);
    }
    if (rc == 0)
        rc = pyread_pid(&pid, r.runtime, buf, sizeof buf);
    stop(pid);
    assert_int_equal(rc, 0);
    assert_int_equal(pylayout_debug_version(buf, sizeof buf) >> 16, 0x30d);
    const struct py_layout *T = pylayout_find(3, 13);
    assert_non_null(T);
    /* From the tables of another version: every field filled must match. */
    assert_int_equal(
        pylayout_from_debug_offsets(buf, sizeof buf, pylayout_find(3, 12), &got, err, sizeof err),
        0);
#define SAME(f) assert_int_equal(got.f, T->f)
    SAME(rt_interp_head), SAME(is_next), SAME(is_tstate_head), SAME(is_gil_ptr);
    SAME(gil_locked), SAME(gil_last_holder), SAME(ts_next), SAME(ts_interp), SAME(ts_frame);
    SAME(ts_thread_id), SAME(ts_native_thread_id), SAME(if_previous), SAME(if_code);
    SAME(if_instr_ptr), SAME(if_owner), SAME(co_filename), SAME(co_name), SAME(co_qualname);
    SAME(co_linetable), SAME(co_firstlineno), SAME(co_code_adaptive), SAME(ob_type);
    SAME(bytes_size), SAME(bytes_sval), SAME(uni_state), SAME(uni_length), SAME(uni_ascii_size);
#undef SAME
    /* A corrupted copy is refused, not used. */
    buf[8 * 21] = 0xff; /* thread_state.interp beyond the struct's size */
    buf[8 * 21 + 3] = 0xff;
    assert_int_equal(pylayout_from_debug_offsets(buf, sizeof buf, T, &got, err, sizeof err),
                     -EINVAL);
    memcpy(buf, "notdebug", 8);
    assert_int_equal(pylayout_from_debug_offsets(buf, sizeof buf, T, &got, err, sizeof err),
                     -EINVAL);
    tested++;
}

/* Not a Python: a clear -ENOENT. */
static void test_not_python(void **state)
{
    (void)state;
    struct pyfind_result r;
    char err[512] = "";
    assert_int_equal(pyfind(getpid(), &r, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "no CPython interpreter"));
}

static int report(void **state)
{
    (void)state;
    fprintf(stderr, "test_pyfind: %d interpreters checked, %d skipped\n", tested, skipped);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_not_python, kill_child),
        cmocka_unit_test_teardown(test_pyenv_versions, kill_child),
        cmocka_unit_test_teardown(test_debian_python311, kill_child),
        cmocka_unit_test_teardown(test_debug_offsets_313, kill_child),
        cmocka_unit_test_teardown(test_embedded, kill_child),
        cmocka_unit_test_teardown(test_nonblocking_churn, kill_child),
        cmocka_unit_test_teardown(test_walk_cost, kill_child),
        cmocka_unit_test_teardown(test_version_string, kill_child),
    };
    int rc = cmocka_run_group_tests(tests, NULL, report);
    if (rc == 0 && tested == 0)
        return 77; /* nothing to test here: skipped, not passed */
    return rc;
}
