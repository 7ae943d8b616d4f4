/*
 * test_perfev.c - the perf_event mechanism: the attribute, the record parser
 * and ring reader on synthetic rings built in memory (every record type,
 * wrapping records, corrupt framing), then live on forked children: an
 * inherited task-clock set following a thread created after attach, the
 * per-thread layout, context switches, period changes and error messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "sampler/perf/perfev.h"

/* ------------------------------------------------------------ builders */

/* A record under construction: header first, size filled by rec_done. */
struct rec {
    uint8_t b[PERFEV_SCRATCH_SIZE];
    size_t n;
};

static void put(struct rec *r, const void *p, size_t len)
{
    assert_true(r->n + len <= sizeof r->b);
    memcpy(r->b + r->n, p, len);
    r->n += len;
}

static void put64(struct rec *r, uint64_t v)
{
    put(r, &v, 8);
}

static void put32x2(struct rec *r, uint32_t a, uint32_t b)
{
    put(r, &a, 4);
    put(r, &b, 4);
}

/* A string NUL-padded to a multiple of 8, as the kernel writes names. */
static void putstr(struct rec *r, const char *s)
{
    size_t len = strlen(s) + 1, pad = (len + 7) & ~(size_t)7;
    put(r, s, len);
    static const uint8_t zero[8];
    put(r, zero, pad - len);
}

static void rec_begin(struct rec *r, uint32_t type, uint16_t misc)
{
    r->n = 0;
    struct perf_event_header h = {.type = type, .misc = misc, .size = 0};
    put(r, &h, sizeof h);
}

/* The sample_id trailer: TID and TIME, as perfev_build_attr asks. */
static void rec_id(struct rec *r, uint32_t pid, uint32_t tid, uint64_t time)
{
    put32x2(r, pid, tid);
    put64(r, time);
}

static void rec_done(struct rec *r)
{
    struct perf_event_header *h = (void *)r->b;
    h->size = (uint16_t)r->n;
}

/* A ring in memory: one meta page, then size bytes of data. */
struct synth {
    uint8_t *mem;
    struct perf_event_mmap_page *meta;
    uint8_t *data;
    uint64_t size;
    struct perfev_layout lay;
    struct perfev_stats stats;
    struct perfev_ring ring;
    uint8_t *scratch;
};

static void synth_init(struct synth *s, uint64_t size, uint64_t start)
{
    memset(s, 0, sizeof *s);
    s->mem = aligned_alloc(4096, 4096 + size);
    assert_non_null(s->mem);
    memset(s->mem, 0xcc, 4096 + size);
    memset(s->mem, 0, 4096);
    s->meta = (void *)s->mem;
    s->data = s->mem + 4096;
    s->size = size;
    s->meta->data_head = s->meta->data_tail = start;
    struct perfev_config cfg;
    struct perf_event_attr a;
    perfev_config_default(&cfg);
    cfg.kernel = true; /* with CALLCHAIN */
    assert_int_equal(perfev_build_attr(&cfg, &a, NULL, 0), 0);
    perfev_layout_of(&a, &s->lay);
    s->scratch = malloc(PERFEV_SCRATCH_SIZE);
    assert_non_null(s->scratch);
    assert_int_equal(
        perfev_ring_init(&s->ring, s->meta, s->data, size, &s->lay, s->scratch, &s->stats), 0);
}

static void synth_free(struct synth *s)
{
    free(s->mem);
    free(s->scratch);
}

/* Writes raw bytes at the head, wrapping as the kernel does. */
static void synth_write(struct synth *s, const void *p, size_t len)
{
    uint64_t head = s->meta->data_head;
    for (size_t i = 0; i < len; i++)
        s->data[(head + i) & (s->size - 1)] = ((const uint8_t *)p)[i];
    s->meta->data_head = head + len;
}

static void synth_put(struct synth *s, const struct rec *r)
{
    synth_write(s, r->b, r->n);
}

#define NREGS 20

/* A sample as perfev_build_attr lays it out with kernel: IP TID TIME PERIOD
 * CALLCHAIN REGS_USER STACK_USER; stack bytes are (seed + i) & 0xff. */
static void build_sample(struct rec *r, uint32_t tid, uint64_t ip, const uint64_t *chain,
                         size_t nchain, size_t stack, uint64_t dyn, uint8_t seed)
{
    rec_begin(r, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER);
    put64(r, ip);
    put32x2(r, 100, tid);
    put64(r, 5000 + tid);
    put64(r, 1001001);
    put64(r, nchain);
    for (size_t i = 0; i < nchain; i++)
        put64(r, chain[i]);
    put64(r, PERF_SAMPLE_REGS_ABI_64);
    for (uint64_t i = 0; i < NREGS; i++)
        put64(r, 0x1000 + i);
    put64(r, stack);
    if (stack) {
        for (size_t i = 0; i < stack; i++) {
            uint8_t v = (uint8_t)(seed + i);
            put(r, &v, 1);
        }
        put64(r, dyn);
    }
    rec_done(r);
}

static struct rec R; /* big: keep off the stack */

/* ------------------------------------------------------------ attribute */

static void test_attr(void **state)
{
    (void)state;
    struct perfev_config cfg;
    struct perf_event_attr a;
    char err[256];
    perfev_config_default(&cfg);
    assert_int_equal(perfev_build_attr(&cfg, &a, err, sizeof err), 0);
    assert_int_equal(a.type, PERF_TYPE_SOFTWARE);
    assert_int_equal(a.config, PERF_COUNT_SW_TASK_CLOCK);
    assert_int_equal(a.sample_period, 1000000000ull / 999);
    assert_false(a.freq);
    assert_int_equal(a.sample_type, PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
                                        PERF_SAMPLE_PERIOD | PERF_SAMPLE_REGS_USER |
                                        PERF_SAMPLE_STACK_USER);
    /* AX..SS and R8..R15, not DS ES FS GS */
    assert_int_equal(a.sample_regs_user, 0xff0fffull);
    assert_int_equal(__builtin_popcountll(a.sample_regs_user), PERFEV_NR_REGS);
    assert_int_equal(a.sample_stack_user, 16384);
    assert_true(a.use_clockid);
    assert_int_equal(a.clockid, CLOCK_MONOTONIC);
    assert_true(a.sample_id_all && a.comm && a.comm_exec && a.mmap && a.mmap2 && a.task);
    assert_false(a.mmap_data);
    assert_true(a.inherit && a.inherit_thread);
    assert_true(a.disabled && a.exclude_kernel && a.exclude_hv && a.watermark);
    assert_false(a.context_switch);
    assert_int_equal(a.wakeup_watermark, 128 * 1024);

    cfg.stack_size = 70000;
    cfg.kernel = true;
    cfg.context_switch = true;
    cfg.follow_forks = true;
    cfg.rate_hz = 100;
    assert_int_equal(perfev_build_attr(&cfg, &a, err, sizeof err), 0);
    assert_int_equal(a.sample_stack_user, PERFEV_STACK_MAX);
    assert_true(a.sample_type & PERF_SAMPLE_CALLCHAIN);
    assert_true(a.exclude_callchain_user);
    assert_false(a.exclude_kernel);
    assert_true(a.context_switch);
    assert_false(a.inherit_thread);
    assert_int_equal(a.sample_period, 10000000);
    cfg.stack_size = 1001;
    assert_int_equal(perfev_build_attr(&cfg, &a, err, sizeof err), 0);
    assert_int_equal(a.sample_stack_user, 1000);
    cfg.stack_size = 0;
    assert_int_equal(perfev_build_attr(&cfg, &a, err, sizeof err), 0);
    assert_false(a.sample_type & PERF_SAMPLE_STACK_USER);

    perfev_config_default(&cfg);
    cfg.event = PERFEV_CONTEXT_SWITCHES;
    assert_int_equal(perfev_build_attr(&cfg, &a, err, sizeof err), 0);
    assert_int_equal(a.config, PERF_COUNT_SW_CONTEXT_SWITCHES);
    assert_int_equal(a.sample_period, 1);
    assert_false(a.exclude_kernel); /* counted in the scheduler */
    cfg.event = PERFEV_PAGE_FAULTS;
    cfg.period = 7;
    assert_int_equal(perfev_build_attr(&cfg, &a, err, sizeof err), 0);
    assert_int_equal(a.config, PERF_COUNT_SW_PAGE_FAULTS);
    assert_int_equal(a.sample_period, 7);
    assert_true(a.exclude_kernel);

    cfg.event = 42;
    assert_int_equal(perfev_build_attr(&cfg, &a, err, sizeof err), -EINVAL);
    perfev_config_default(&cfg);
    cfg.ring_kib = PERFEV_RING_KIB_MAX + 1;
    assert_int_equal(perfev_build_attr(&cfg, &a, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "KiB"));
}

/* ------------------------------------------------------------ parsing */

static int next(struct synth *s, struct perfev_record *rec)
{
    return perfev_ring_next(&s->ring, rec);
}

static void put_side_records(struct synth *s)
{
    rec_begin(&R, PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC);
    put32x2(&R, 100, 101);
    putstr(&R, "worker-1");
    rec_id(&R, 100, 101, 11);
    rec_done(&R);
    synth_put(s, &R);
    rec_begin(&R, PERF_RECORD_FORK, 0);
    put32x2(&R, 100, 100);
    put32x2(&R, 102, 101);
    put64(&R, 12);
    rec_id(&R, 100, 101, 12);
    rec_done(&R);
    synth_put(s, &R);
    rec_begin(&R, PERF_RECORD_EXIT, 0);
    put32x2(&R, 100, 100);
    put32x2(&R, 102, 102);
    put64(&R, 13);
    rec_id(&R, 100, 102, 13);
    rec_done(&R);
    synth_put(s, &R);
    rec_begin(&R, PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER);
    put32x2(&R, 100, 101);
    put64(&R, 0x7f0000001000ull);
    put64(&R, 0x3000);
    put64(&R, 0x2000);
    put32x2(&R, 8, 1);
    put64(&R, 123456);
    put64(&R, 7);
    put32x2(&R, PROT_READ | PROT_EXEC, MAP_PRIVATE);
    putstr(&R, "/usr/lib/libfoo.so");
    rec_id(&R, 100, 101, 14);
    rec_done(&R);
    synth_put(s, &R);
}

static void put_more_records(struct synth *s)
{
    rec_begin(&R, PERF_RECORD_LOST, 0);
    put64(&R, 1);
    put64(&R, 42);
    rec_id(&R, 100, 101, 15);
    rec_done(&R);
    synth_put(s, &R);
    rec_begin(&R, PERF_RECORD_SWITCH,
              PERF_RECORD_MISC_SWITCH_OUT | PERF_RECORD_MISC_SWITCH_OUT_PREEMPT);
    rec_id(&R, 100, 103, 16);
    rec_done(&R);
    synth_put(s, &R);
    rec_begin(&R, PERF_RECORD_SWITCH, 0);
    rec_id(&R, 100, 103, 17);
    rec_done(&R);
    synth_put(s, &R);
    rec_begin(&R, PERF_RECORD_SWITCH_CPU_WIDE, PERF_RECORD_MISC_SWITCH_OUT);
    put32x2(&R, 200, 201);
    rec_id(&R, 100, 103, 18);
    rec_done(&R);
    synth_put(s, &R);
    rec_begin(&R, PERF_RECORD_THROTTLE, 0);
    put64(&R, 19);
    put64(&R, 5);
    put64(&R, 6);
    rec_id(&R, 100, 103, 19);
    rec_done(&R);
    synth_put(s, &R);
    rec_begin(&R, PERF_RECORD_UNTHROTTLE, 0);
    put64(&R, 20);
    put64(&R, 5);
    put64(&R, 6);
    rec_id(&R, 100, 103, 20);
    rec_done(&R);
    synth_put(s, &R);
    rec_begin(&R, PERF_RECORD_LOST_SAMPLES, 0);
    put64(&R, 3);
    rec_id(&R, 100, 103, 21);
    rec_done(&R);
    synth_put(s, &R);
    rec_begin(&R, 99, 0); /* a type perfev does not know */
    put64(&R, 0xabcdef);
    rec_done(&R);
    synth_put(s, &R);
}

static void check_side_records(struct synth *s)
{
    struct perfev_record rec;
    assert_int_equal(next(s, &rec), 1);
    assert_int_equal(rec.kind, PERFEV_REC_COMM);
    assert_int_equal(rec.u.comm.pid, 100);
    assert_int_equal(rec.u.comm.tid, 101);
    assert_string_equal(rec.u.comm.name, "worker-1");
    assert_true(rec.u.comm.exec);
    assert_true(rec.id.has_tid && rec.id.has_time);
    assert_int_equal(rec.id.tid, 101);
    assert_int_equal(rec.id.time, 11);
    assert_int_equal(next(s, &rec), 1);
    assert_int_equal(rec.kind, PERFEV_REC_FORK);
    assert_int_equal(rec.u.task.pid, 100);
    assert_int_equal(rec.u.task.ppid, 100);
    assert_int_equal(rec.u.task.tid, 102);
    assert_int_equal(rec.u.task.ptid, 101);
    assert_int_equal(rec.u.task.time, 12);
    assert_int_equal(next(s, &rec), 1);
    assert_int_equal(rec.kind, PERFEV_REC_EXIT);
    assert_int_equal(rec.u.task.tid, 102);
    assert_int_equal(rec.id.time, 13);
    assert_int_equal(next(s, &rec), 1);
    assert_int_equal(rec.kind, PERFEV_REC_MMAP2);
    assert_int_equal(rec.u.mmap2.tid, 101);
    assert_int_equal(rec.u.mmap2.addr, 0x7f0000001000ull);
    assert_int_equal(rec.u.mmap2.len, 0x3000);
    assert_int_equal(rec.u.mmap2.pgoff, 0x2000);
    assert_int_equal(rec.u.mmap2.maj, 8);
    assert_int_equal(rec.u.mmap2.min, 1);
    assert_int_equal(rec.u.mmap2.ino, 123456);
    assert_int_equal(rec.u.mmap2.ino_generation, 7);
    assert_int_equal(rec.u.mmap2.prot, PROT_READ | PROT_EXEC);
    assert_int_equal(rec.u.mmap2.flags, MAP_PRIVATE);
    assert_string_equal(rec.u.mmap2.filename, "/usr/lib/libfoo.so");
    assert_int_equal(rec.id.time, 14);
}

static void check_more_records(struct synth *s)
{
    struct perfev_record rec;
    assert_int_equal(next(s, &rec), 1);
    assert_int_equal(rec.kind, PERFEV_REC_LOST);
    assert_int_equal(rec.u.lost, 42);
    assert_int_equal(next(s, &rec), 1);
    assert_int_equal(rec.kind, PERFEV_REC_SWITCH);
    assert_true(rec.u.sw.out && rec.u.sw.preempt);
    assert_int_equal(rec.id.tid, 103);
    assert_int_equal(rec.id.time, 16);
    assert_int_equal(next(s, &rec), 1);
    assert_int_equal(rec.kind, PERFEV_REC_SWITCH);
    assert_false(rec.u.sw.out || rec.u.sw.preempt);
    assert_int_equal(rec.id.time, 17);
    assert_int_equal(next(s, &rec), 1);
    assert_int_equal(rec.kind, PERFEV_REC_SWITCH);
    assert_true(rec.u.sw.out);
    assert_false(rec.u.sw.preempt);
    assert_int_equal(rec.u.sw.next_prev_pid, 200);
    assert_int_equal(rec.u.sw.next_prev_tid, 201);
    assert_int_equal(next(s, &rec), 1);
    assert_int_equal(rec.kind, PERFEV_REC_THROTTLE);
    assert_int_equal(rec.u.throttle.time, 19);
    assert_int_equal(rec.u.throttle.id, 5);
    assert_int_equal(rec.u.throttle.stream_id, 6);
    assert_int_equal(next(s, &rec), 1);
    assert_int_equal(rec.kind, PERFEV_REC_UNTHROTTLE);
    assert_int_equal(next(s, &rec), 1);
    assert_int_equal(rec.kind, PERFEV_REC_LOST);
    assert_int_equal(rec.u.lost, 3);
    assert_int_equal(next(s, &rec), 1);
    assert_int_equal(rec.kind, PERFEV_REC_OTHER);
    assert_int_equal(rec.type, 99);
    assert_int_equal(rec.u.raw.size, 8);
    assert_int_equal(next(s, &rec), 0);
}

static void test_each_record_type(void **state)
{
    (void)state;
    struct synth s;
    synth_init(&s, 4096, 0);
    put_side_records(&s);
    put_more_records(&s);
    assert_int_equal(perfev_ring_begin(&s.ring), s.meta->data_head);
    check_side_records(&s);
    check_more_records(&s);
    perfev_ring_end(&s.ring);
    assert_int_equal(s.meta->data_tail, s.meta->data_head);
    assert_int_equal(s.stats.records[PERFEV_REC_COMM], 1);
    assert_int_equal(s.stats.records[PERFEV_REC_SWITCH], 3);
    assert_int_equal(s.stats.records[PERFEV_REC_LOST], 2);
    assert_int_equal(s.stats.lost, 45);
    assert_int_equal(s.stats.throttled, 1);
    assert_int_equal(s.stats.corrupt, 0);
    assert_int_equal(s.stats.wrapped, 0);
    assert_int_equal(s.stats.bytes, s.meta->data_head);
    synth_free(&s);
}

static void check_sample(const struct perfev_record *rec, uint32_t tid, size_t stack, uint64_t dyn,
                         uint8_t seed)
{
    const struct perfev_sample *sm = &rec->u.sample;
    assert_int_equal(rec->kind, PERFEV_REC_SAMPLE);
    assert_int_equal(sm->pid, 100);
    assert_int_equal(sm->tid, tid);
    assert_int_equal(rec->id.tid, tid);
    assert_int_equal(sm->time, 5000 + tid);
    assert_int_equal(sm->ip, 0x401000);
    assert_int_equal(sm->period, 1001001);
    assert_false(sm->in_kernel);
    assert_int_equal(sm->regs_abi, PERF_SAMPLE_REGS_ABI_64);
    assert_int_equal(sm->nr_regs, NREGS);
    for (int i = 0; i < NREGS; i++)
        assert_int_equal(sm->regs[i], 0x1000 + i);
    assert_int_equal(sm->stack_size, stack);
    assert_int_equal(sm->stack_dyn, dyn);
    for (size_t i = 0; i < stack; i++)
        if (sm->stack[i] != (uint8_t)(seed + i))
            fail_msg("stack byte %zu is %u, want %u", i, sm->stack[i], (uint8_t)(seed + i));
}

static void test_sample_regs_stack(void **state)
{
    (void)state;
    struct synth s;
    struct perfev_record rec;
    synth_init(&s, 8192, 0);
    const uint64_t chain[] = {PERF_CONTEXT_KERNEL, 0xffffffff81001000ull, 0xffffffff81002000ull,
                              PERF_CONTEXT_USER, 0x401000};
    build_sample(&R, 101, 0x401000, chain, 5, 256, 200, 7);
    synth_put(&s, &R);
    build_sample(&R, 102, 0x401000, NULL, 0, 0, 0, 0); /* no stack: no dyn_size either */
    synth_put(&s, &R);
    perfev_ring_begin(&s.ring);
    assert_int_equal(next(&s, &rec), 1);
    check_sample(&rec, 101, 256, 200, 7);
    assert_int_equal(rec.u.sample.kchain_nr, 2);
    assert_int_equal(rec.u.sample.kchain[0], 0xffffffff81001000ull);
    assert_int_equal(rec.u.sample.kchain[1], 0xffffffff81002000ull);
    /* in place: no copy for a record that does not wrap */
    assert_true(rec.u.sample.stack > s.data && rec.u.sample.stack < s.data + s.size);
    assert_int_equal(rec.u.sample.regs[PERFEV_REG_SP], 0x1000 + PERFEV_REG_SP);
    assert_int_equal(next(&s, &rec), 1);
    check_sample(&rec, 102, 0, 0, 0);
    assert_null(rec.u.sample.stack);
    assert_int_equal(rec.u.sample.kchain_nr, 0);
    assert_int_equal(next(&s, &rec), 0);
    perfev_ring_end(&s.ring);
    assert_int_equal(s.stats.records[PERFEV_REC_SAMPLE], 2);

    /* through perfev_parse directly: a length that is not the record's */
    struct perfev_record r2;
    build_sample(&R, 101, 0x401000, chain, 5, 64, 64, 1);
    assert_int_equal(perfev_parse(&s.lay, R.b, R.n, &r2), 0);
    assert_int_equal(perfev_parse(&s.lay, R.b, R.n - 8, &r2), -EINVAL);
    assert_int_equal(perfev_parse(&s.lay, R.b, 4, &r2), -EINVAL);
    synth_free(&s);
}

/* A record across the end of the ring comes out whole, from the scratch. */
static void test_wrap(void **state)
{
    (void)state;
    struct synth s;
    struct perfev_record rec;
    synth_init(&s, 4096, 4096 * 3 - 40); /* 40 bytes before the end, positions past 2^12 */
    build_sample(&R, 101, 0x401000, NULL, 0, 1024, 1000, 3);
    synth_put(&s, &R);
    assert_int_equal(perfev_ring_begin(&s.ring), R.n);
    assert_int_equal(next(&s, &rec), 1);
    check_sample(&rec, 101, 1024, 1000, 3);
    assert_true(rec.u.sample.stack >= s.scratch && rec.u.sample.stack < s.scratch + 65536);
    assert_int_equal(s.stats.wrapped, 1);
    assert_int_equal(next(&s, &rec), 0);
    perfev_ring_end(&s.ring);
    assert_int_equal(s.meta->data_tail, 4096 * 3 - 40 + R.n);

    /* many records of many sizes through a small ring, read in batches */
    uint64_t seen = 0, want = 0;
    for (int round = 0; round < 400; round++) {
        for (int k = 0; k < 3; k++) {
            size_t stack = (size_t)((round * 7 + k * 13) % 90) * 8;
            build_sample(&R, (uint32_t)(round * 3 + k), 0x401000, NULL, 0, stack, stack,
                         (uint8_t)round);
            synth_put(&s, &R);
            want++;
        }
        perfev_ring_begin(&s.ring);
        for (int k = 0; k < 3; k++) {
            size_t stack = (size_t)((round * 7 + k * 13) % 90) * 8;
            assert_int_equal(next(&s, &rec), 1);
            check_sample(&rec, (uint32_t)(round * 3 + k), stack, stack, (uint8_t)round);
            seen++;
        }
        assert_int_equal(next(&s, &rec), 0);
        perfev_ring_end(&s.ring);
    }
    assert_int_equal(seen, want);
    assert_int_equal(s.stats.corrupt, 0);
    assert_true(s.stats.wrapped > 10);
    synth_free(&s);
}

static uint64_t drain_all(struct synth *s, int *n)
{
    struct perfev_record rec;
    *n = 0;
    perfev_ring_begin(&s->ring);
    while (next(s, &rec)) {
        (*n)++;
        assert_true(*n < 10000); /* no endless loop */
    }
    perfev_ring_end(&s->ring);
    return s->stats.corrupt;
}

static void put_header(struct synth *s, uint32_t type, uint16_t size)
{
    struct perf_event_header h = {.type = type, .misc = 0, .size = size};
    synth_write(s, &h, sizeof h);
}

static void test_corrupt_framing(void **state)
{
    (void)state;
    struct synth s;
    int n;
    synth_init(&s, 4096, 0);
    /* size 0: skips to the head, later records included */
    put_header(&s, PERF_RECORD_SAMPLE, 0);
    put_side_records(&s);
    assert_int_equal(drain_all(&s, &n), 1);
    assert_int_equal(n, 0);
    assert_int_equal(s.meta->data_tail, s.meta->data_head);
    /* the reader goes on from there */
    put_side_records(&s);
    assert_int_equal(drain_all(&s, &n), 1);
    assert_int_equal(n, 4);
    /* size past what is available */
    put_header(&s, PERF_RECORD_COMM, 512);
    synth_write(&s, "12345678", 8);
    assert_int_equal(drain_all(&s, &n), 2);
    assert_int_equal(n, 0);
    /* size not a multiple of 8, and less than a header */
    put_header(&s, PERF_RECORD_COMM, 20);
    synth_write(&s, "123456781234567812345678", 24);
    assert_int_equal(drain_all(&s, &n), 3);
    put_header(&s, PERF_RECORD_COMM, 4);
    assert_int_equal(drain_all(&s, &n), 4);
    /* fewer than 8 bytes left before the head */
    synth_write(&s, "1234", 4);
    assert_int_equal(drain_all(&s, &n), 5);
    assert_int_equal(s.meta->data_tail, s.meta->data_head);
    /* a head a whole ring and more ahead (or behind) of the tail */
    s.meta->data_head += 8192;
    assert_int_equal(drain_all(&s, &n), 6);
    assert_int_equal(s.meta->data_tail, s.meta->data_head);
    s.meta->data_head -= 64;
    assert_int_equal(drain_all(&s, &n), 7);
    assert_int_equal(s.meta->data_tail, s.meta->data_head);
    synth_free(&s);

    /* size larger than the ring, with a full ring's worth available */
    synth_init(&s, 4096, 0);
    put_header(&s, PERF_RECORD_SAMPLE, 65528);
    static uint8_t fill[4088];
    synth_write(&s, fill, sizeof fill);
    assert_int_equal(s.meta->data_head, 4096);
    assert_int_equal(drain_all(&s, &n), 1);
    assert_int_equal(s.meta->data_tail, 4096);
    synth_free(&s);
}

/* A record whose framing holds but whose contents do not fit is skipped
 * alone: the records after it still come out. */
static void test_corrupt_contents(void **state)
{
    (void)state;
    struct synth s;
    int n;
    synth_init(&s, 8192, 0);
    rec_begin(&R, PERF_RECORD_COMM, 0); /* no NUL in the name */
    put32x2(&R, 1, 2);
    put(&R, "abcdefgh", 8);
    rec_id(&R, 1, 2, 3);
    rec_done(&R);
    synth_put(&s, &R);
    build_sample(&R, 101, 0x401000, NULL, 0, 64, 64, 1); /* stack size past the record */
    uint64_t *sz = (uint64_t *)(void *)(R.b + R.n - 8 - 64 - 8);
    assert_int_equal(*sz, 64);
    *sz = 4096;
    synth_put(&s, &R);
    build_sample(&R, 101, 0x401000, NULL, 0, 64, 128, 1); /* dyn_size > size */
    synth_put(&s, &R);
    rec_begin(&R, PERF_RECORD_SAMPLE, 0); /* callchain nr huge */
    put64(&R, 1);
    put32x2(&R, 1, 2);
    put64(&R, 3);
    put64(&R, 4);
    put64(&R, 1ull << 60);
    rec_done(&R);
    synth_put(&s, &R);
    rec_begin(&R, PERF_RECORD_EXIT, 0); /* trailer missing */
    put32x2(&R, 1, 1);
    rec_done(&R);
    synth_put(&s, &R);
    put_side_records(&s);
    assert_int_equal(drain_all(&s, &n), 5);
    assert_int_equal(n, 4);
    assert_int_equal(s.meta->data_tail, s.meta->data_head);
    synth_free(&s);
}

/* Parsing cost on a ring of samples with 8 KiB stacks, printed. */
static void test_parse_cost(void **state)
{
    (void)state;
    struct synth s;
    struct perfev_record rec;
    synth_init(&s, 1u << 20, 0);
    const uint64_t chain[] = {PERF_CONTEXT_KERNEL, 0xffffffff81001000ull, 0xffffffff81002000ull};
    build_sample(&R, 101, 0x401000, chain, 3, 8192, 8192, 1);
    uint64_t n = 0, ns = 0, sink = 0;
    for (int round = 0; round < 200; round++) {
        while (s.meta->data_head - s.meta->data_tail + R.n <= s.size)
            synth_put(&s, &R);
        uint64_t t0 = clock_mono_ns();
        perfev_ring_begin(&s.ring);
        while (next(&s, &rec)) {
            sink += rec.u.sample.regs[PERFEV_REG_SP] + rec.u.sample.stack[0];
            n++;
        }
        perfev_ring_end(&s.ring);
        ns += clock_mono_ns() - t0;
    }
    assert_true(sink > 0);
    print_message("parse: %.1f ns per 8 KiB-stack sample record (%llu records, %llu wrapped and "
                  "copied)\n",
                  (double)ns / (double)n, (unsigned long long)n,
                  (unsigned long long)s.stats.wrapped);
    synth_free(&s);
}

/* ------------------------------------------------------------ live */

extern char __executable_start[], etext[];

static bool in_text(uint64_t a)
{
    return a >= (uintptr_t)__executable_start && a < (uintptr_t)etext;
}

/* What a child tells the parent, in memory shared across the fork. */
struct shared {
    uint64_t worker_ns;  /* how long the worker spins; 0: 250 ms */
    uint64_t worker_cpu; /* the worker's CPU time, kept up to date while it spins */
    uintptr_t main_sp, worker_sp;
    pid_t worker_tid;
    int worker_exited;
};

static volatile uint64_t spin_sink;

/* Burns ns of this thread's CPU time, nearly all of it in this function.
 * CPU time, not wall time: the number of samples a child gives then does
 * not depend on how loaded the machine is, only how long it takes. */
__attribute__((noinline)) static void spin_here(uint64_t ns)
{
    uint64_t end = clock_thread_cpu_ns() + ns;
    while (clock_thread_cpu_ns() < end)
        for (int i = 0; i < 200000; i++)
            spin_sink += (uint64_t)i;
}

#define MS 1000000ull

/* Blocks until the parent says go (or gives up on us after 10 s). */
static void wait_go(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    if (poll(&p, 1, 10000) == 1)
        (void)!read(fd, &c, 1);
    close(fd);
}

static void *worker_main(void *arg)
{
    struct shared *sh = arg;
    volatile char here = 0;
    pthread_setname_np(pthread_self(), "pfv-worker");
    sh->worker_sp = (uintptr_t)&here;
    __atomic_store_n(&sh->worker_tid, gettid(), __ATOMIC_RELEASE);
    uint64_t end = clock_thread_cpu_ns() + (sh->worker_ns ? sh->worker_ns : 250 * MS), now;
    while ((now = clock_thread_cpu_ns()) < end) {
        __atomic_store_n(&sh->worker_cpu, now, __ATOMIC_RELEASE);
        spin_here(MS);
    }
    __atomic_store_n(&sh->worker_cpu, clock_thread_cpu_ns(), __ATOMIC_RELEASE);
    return NULL;
}

struct child_cfg {
    struct shared *sh;
    const char *map_path; /* mapped PROT_EXEC after the thread starts, if set */
    uint64_t before_ns, after_ns;
    bool thread;
    bool sleeper; /* blocks in usleep instead of spinning */
    bool churn;   /* creates short threads from the start, without waiting */
};

static void *short_thread(void *arg)
{
    (void)arg;
    spin_here(3 * MS);
    return NULL;
}

/* 100 rounds of 4 threads of 3 ms each: attach runs in the middle of it. */
static int churn_main(void)
{
    for (int round = 0; round < 100; round++) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            if (pthread_create(&t[i], NULL, short_thread, NULL) != 0)
                return 2;
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    }
    return 0;
}

static int child_main(int go, const struct child_cfg *c)
{
    volatile char here = 0;
    c->sh->main_sp = (uintptr_t)&here;
    if (c->churn) {
        close(go);
        return churn_main();
    }
    wait_go(go);
    if (c->sleeper) {
        for (int i = 0; i < 40; i++)
            usleep(2000);
        return 0;
    }
    spin_here(c->before_ns);
    pthread_t t;
    if (c->thread && pthread_create(&t, NULL, worker_main, c->sh) != 0)
        return 2;
    void *m = MAP_FAILED;
    int fd = c->map_path ? open(c->map_path, O_RDONLY) : -1;
    if (fd >= 0) {
        m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
        close(fd);
    }
    spin_here(250 * MS);
    if (c->thread)
        pthread_join(t, NULL);
    __atomic_store_n(&c->sh->worker_exited, 1, __ATOMIC_RELEASE);
    spin_here(c->after_ns);
    if (m != MAP_FAILED)
        munmap(m, 4096);
    return 0;
}

/* Forks a child that waits for go on a pipe; returns its pid, *go_fd the
 * write end. */
static pid_t spawn(const struct child_cfg *c, int *go_fd)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[1]);
        _exit(child_main(p[0], c));
    }
    close(p[0]);
    *go_fd = p[1];
    return pid;
}

static void say_go(int fd)
{
    assert_int_equal(write(fd, "g", 1), 1);
    close(fd);
}

static struct shared *shared_new(void)
{
    struct shared *sh =
        mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(sh != MAP_FAILED);
    memset(sh, 0, sizeof *sh);
    return sh;
}

static int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

/* Everything the live tests check, gathered by the drain callback. */
struct seen {
    pid_t pid;
    struct shared *sh;
    const char *map_path;
    uint64_t samples, s_main, s_worker, s_other, ip_text, sp_ok, stack_ok, ret_in_stack;
    uint64_t abi64, in_kernel;
    uint64_t period_after; /* samples after this time count in after_* */
    uint64_t new_period, after_main, after_worker, new_period_field;
    uint32_t fork_tid;
    bool comm_worker, exit_worker, mmap_file;
    uint64_t sw_out, sw_in, sw_out_blocked;
    uint64_t cb_ns; /* time spent in the callback, left out of the drain cost */
};

static void see_sample(struct seen *v, const struct perfev_sample *sm)
{
    pid_t wt = __atomic_load_n(&v->sh->worker_tid, __ATOMIC_ACQUIRE);
    bool is_main = sm->tid == (uint32_t)v->pid, is_worker = wt && sm->tid == (uint32_t)wt;
    v->samples++;
    v->s_main += is_main;
    v->s_worker += is_worker;
    v->s_other += !is_main && !is_worker;
    v->ip_text += in_text(sm->ip);
    v->in_kernel += sm->in_kernel;
    if (v->period_after && sm->time > v->period_after) {
        v->after_main += is_main;
        v->after_worker += is_worker;
        v->new_period_field += sm->period == v->new_period;
    }
    if (sm->regs_abi != PERF_SAMPLE_REGS_ABI_64 || sm->nr_regs != PERFEV_NR_REGS)
        return;
    v->abi64++;
    uint64_t sp = sm->regs[PERFEV_REG_SP], ref = is_main ? v->sh->main_sp : v->sh->worker_sp;
    v->sp_ok += (is_main || is_worker) && sp <= ref + 4096 && sp + (1u << 20) >= ref;
    v->stack_ok += sm->stack && sm->stack_dyn > 0 && sm->stack_dyn <= sm->stack_size;
    for (uint64_t off = 0; sm->stack && off + 8 <= sm->stack_dyn; off += 8) {
        uint64_t w;
        memcpy(&w, sm->stack + off, 8);
        if (in_text(w)) {
            v->ret_in_stack++;
            break;
        }
    }
}

static int see(void *ctx, const struct perfev_record *r)
{
    struct seen *v = ctx;
    uint64_t t0 = clock_mono_ns();
    pid_t wt = __atomic_load_n(&v->sh->worker_tid, __ATOMIC_ACQUIRE);
    switch (r->kind) {
    case PERFEV_REC_SAMPLE:
        see_sample(v, &r->u.sample);
        break;
    case PERFEV_REC_COMM:
        v->comm_worker |= !strcmp(r->u.comm.name, "pfv-worker") && wt &&
                          r->u.comm.tid == (uint32_t)wt && r->u.comm.pid == (uint32_t)v->pid;
        break;
    case PERFEV_REC_FORK:
        if (r->u.task.pid == (uint32_t)v->pid && r->u.task.tid != (uint32_t)v->pid)
            v->fork_tid = r->u.task.tid;
        break;
    case PERFEV_REC_EXIT:
        v->exit_worker |= wt && r->u.task.tid == (uint32_t)wt;
        break;
    case PERFEV_REC_MMAP2:
        v->mmap_file |= v->map_path && !strcmp(r->u.mmap2.filename, v->map_path) &&
                        (r->u.mmap2.prot & PROT_EXEC) && r->u.mmap2.pid == (uint32_t)v->pid;
        break;
    case PERFEV_REC_SWITCH:
        v->sw_out += r->u.sw.out;
        v->sw_in += !r->u.sw.out;
        v->sw_out_blocked += r->u.sw.out && !r->u.sw.preempt;
        break;
    default:
        break;
    }
    v->cb_ns += clock_mono_ns() - t0;
    return 0;
}

struct run {
    uint64_t drain_ns, records, calls, empty_ns, empty_calls, max_rings;
    bool one_ring_after_worker; /* while the main thread still ran */
};

/* Polls and drains until the child exits, then reads what is left.  In the
 * per-thread layout, adds the threads FORK records announce. */
static void run_child(struct perfev_set *s, pid_t pid, struct seen *v, struct run *out)
{
    int status = 0;
    bool exited = false;
    char err[512];
    uint64_t deadline = clock_mono_ns() + 60000 * MS; /* a hang, not load */
    memset(out, 0, sizeof *out);
    for (int tail = 0; tail < 3;) {
        assert_true(perfev_poll(s, exited ? 0 : 10) >= 0);
        uint64_t t0 = clock_mono_ns();
        long n = perfev_drain(s, see, v);
        uint64_t dt = clock_mono_ns() - t0;
        assert_true(n >= 0);
        out->records += (uint64_t)n;
        out->drain_ns += n ? dt : 0;
        out->calls += n > 0;
        out->empty_ns += n ? 0 : dt;
        out->empty_calls += n == 0;
        if (v->fork_tid && !perfev_attr(s)->inherit && !perfev_has_thread(s, v->fork_tid)) {
            int ret = perfev_add_thread(s, v->fork_tid, err, sizeof err);
            if (ret != 0 && ret != -ESRCH)
                fail_msg("add_thread: %s", err);
        }
        if (perfev_nr_rings(s) > out->max_rings)
            out->max_rings = perfev_nr_rings(s);
        if (!exited && __atomic_load_n(&v->sh->worker_exited, __ATOMIC_ACQUIRE))
            out->one_ring_after_worker |= perfev_nr_rings(s) == 1;
        if (!exited)
            exited = waitpid(pid, &status, WNOHANG) == pid;
        tail += exited;
        if (clock_mono_ns() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("child %d did not finish", (int)pid);
        }
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void skip_unless_perf(void)
{
    char why[512];
    if (perfev_probe(why, sizeof why) != 0) {
        print_message("perf_event unusable here: %s\n", why);
        skip();
    }
}

static void test_probe(void **state)
{
    (void)state;
    char why[512];
    int ret = perfev_probe(why, sizeof why);
    print_message("probe: %d: %s\n", ret, why);
    if (ret != 0)
        skip();
    assert_non_null(strstr(why, "available"));
}

static char *temp_file(void)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_perfev.%d", (int)getpid());
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    static char page[4096];
    assert_int_equal(write(fd, page, sizeof page), (ssize_t)sizeof page);
    close(fd);
    return path;
}

/* The inherit layout follows a thread created after attach: its samples,
 * name, exit and the file it maps all come through. */
static void test_live_inherit(void **state)
{
    (void)state;
    skip_unless_perf();
    int fds0 = count_fds();
    struct shared *sh = shared_new();
    char *path = temp_file();
    struct child_cfg cc = {
        .sh = sh, .map_path = path, .before_ns = 100 * MS, .after_ns = 50 * MS, .thread = true};
    int go;
    pid_t pid = spawn(&cc, &go);
    struct perfev_config cfg;
    perfev_config_default(&cfg);
    cfg.rate_hz = 999;
    cfg.stack_size = 8192;
    struct perfev_set *s;
    char err[512];
    assert_int_equal(perfev_open(&s, &cfg, err, sizeof err), 0);
    int ret = perfev_attach_process(s, pid, err, sizeof err);
    if (ret != 0)
        fail_msg("attach: %s", err);
    assert_true(perfev_has_thread(s, pid));
    say_go(go);
    struct seen v = {.pid = pid, .sh = sh, .map_path = path};
    struct run run;
    run_child(s, pid, &v, &run);
    struct perfev_stats st;
    perfev_get_stats(s, &st);
    print_message("inherit: %llu samples (main %llu, worker %llu, other %llu), ip in text %llu, "
                  "sp ok %llu, stack ok %llu, return address in stack %llu; rings %llu; "
                  "lost %llu, corrupt %llu, wrapped %llu\n",
                  (unsigned long long)v.samples, (unsigned long long)v.s_main,
                  (unsigned long long)v.s_worker, (unsigned long long)v.s_other,
                  (unsigned long long)v.ip_text, (unsigned long long)v.sp_ok,
                  (unsigned long long)v.stack_ok, (unsigned long long)v.ret_in_stack,
                  (unsigned long long)run.max_rings, (unsigned long long)st.lost,
                  (unsigned long long)st.corrupt, (unsigned long long)st.wrapped);
    double empty = run.empty_calls ? (double)run.empty_ns / (double)run.empty_calls : 0;
    print_message("drain: %.0f ns per record (%llu records in %llu calls; callback's own time and "
                  "the %.0f ns of a call that finds nothing left out)\n",
                  ((double)(run.drain_ns - v.cb_ns) - empty * (double)run.calls) /
                      (double)(run.records ? run.records : 1),
                  (unsigned long long)run.records, (unsigned long long)run.calls, empty);
    assert_true(v.s_main > 50);
    assert_true(v.s_worker > 30); /* inherited: opened by the kernel, not by us */
    assert_false(perfev_has_thread(s, sh->worker_tid));
    /* a thread of this process besides the two: the sanitizers' runtime
     * starts one of its own, which the inherited events rightly sample */
    assert_true(v.s_other * 100 <= v.samples);
    assert_true(v.ip_text * 10 >= v.samples * 8);
    assert_true(v.sp_ok * 10 >= v.samples * 9);
    assert_true(v.stack_ok * 10 >= v.samples * 9);
    assert_true(v.ret_in_stack * 10 >= v.samples * 8);
    assert_true(v.comm_worker);
    assert_true(v.exit_worker);
    assert_true(v.mmap_file);
    assert_int_equal(st.corrupt, 0);
    perfev_free(s);
    assert_int_equal(count_fds(), fds0);
    unlink(path);
    munmap(sh, sizeof *sh);
}

/* The per-thread layout: a new thread is announced by FORK in its creator's
 * ring, added by hand, and its ring goes once it exited and was read. */
static void test_live_per_thread(void **state)
{
    (void)state;
    skip_unless_perf();
    int fds0 = count_fds();
    struct shared *sh = shared_new();
    struct child_cfg cc = {.sh = sh, .before_ns = 50 * MS, .after_ns = 200 * MS, .thread = true};
    int go;
    pid_t pid = spawn(&cc, &go);
    struct perfev_config cfg;
    perfev_config_default(&cfg);
    cfg.inherit = false;
    cfg.stack_size = 4096;
    cfg.ring_kib = 64;
    struct perfev_set *s;
    char err[512];
    assert_int_equal(perfev_open(&s, &cfg, err, sizeof err), 0);
    if (perfev_attach_process(s, pid, err, sizeof err) != 0)
        fail_msg("attach: %s", err);
    assert_int_equal(perfev_nr_rings(s), 1);
    assert_int_equal(perfev_nr_events(s), 1);
    say_go(go);
    struct seen v = {.pid = pid, .sh = sh};
    struct run run;
    run_child(s, pid, &v, &run);
    print_message("per-thread: %llu samples (main %llu, worker %llu), max rings %llu, one ring "
                  "after the worker exited: %d\n",
                  (unsigned long long)v.samples, (unsigned long long)v.s_main,
                  (unsigned long long)v.s_worker, (unsigned long long)run.max_rings,
                  run.one_ring_after_worker);
    assert_int_equal(v.fork_tid, (uint32_t)sh->worker_tid);
    assert_true(v.s_main > 50);
    assert_true(v.s_worker > 10);
    assert_int_equal(run.max_rings, 2);
    assert_true(run.one_ring_after_worker);  /* the worker's ring went */
    assert_int_equal(perfev_nr_rings(s), 0); /* and the main one at the end */
    perfev_close(s);
    perfev_close(s);
    perfev_free(s);
    assert_int_equal(count_fds(), fds0);
    munmap(sh, sizeof *sh);
}

/* A sleeping child: context-switch samples, and SWITCH records. */
static void test_live_context_switches(void **state)
{
    (void)state;
    skip_unless_perf();
    struct shared *sh = shared_new();
    struct child_cfg cc = {.sh = sh, .sleeper = true};
    int go;
    pid_t pid = spawn(&cc, &go);
    struct perfev_config cfg;
    perfev_config_default(&cfg);
    cfg.event = PERFEV_CONTEXT_SWITCHES;
    cfg.context_switch = true;
    struct perfev_set *s;
    char err[512];
    assert_int_equal(perfev_open(&s, &cfg, err, sizeof err), 0);
    assert_int_equal(perfev_attr(s)->sample_period, 1);
    if (perfev_attach_process(s, pid, err, sizeof err) != 0)
        fail_msg("attach: %s", err);
    say_go(go);
    struct seen v = {.pid = pid, .sh = sh};
    struct run run;
    run_child(s, pid, &v, &run);
    print_message("context switches: %llu samples (%llu in kernel, %llu with user regs), "
                  "switch out %llu (blocked %llu), in %llu\n",
                  (unsigned long long)v.samples, (unsigned long long)v.in_kernel,
                  (unsigned long long)v.abi64, (unsigned long long)v.sw_out,
                  (unsigned long long)v.sw_out_blocked, (unsigned long long)v.sw_in);
    assert_true(v.samples >= 30);
    assert_true(v.abi64 * 10 >= v.samples * 9); /* where user space blocked */
    assert_true(v.sw_out >= 30);
    assert_true(v.sw_in >= 30);
    assert_true(v.sw_out_blocked >= 20);
    perfev_free(s);
    munmap(sh, sizeof *sh);
}

/* Attaching while threads come and go: the passes over /proc/PID/task,
 * inherited threads told apart from ones to open, exits of threads half
 * opened.  Robustness only: nothing fails, nothing is corrupt. */
static void test_live_attach_churn(void **state)
{
    (void)state;
    skip_unless_perf();
    for (int layout = 0; layout < 2; layout++) {
        int fds0 = count_fds();
        struct shared *sh = shared_new();
        struct child_cfg cc = {.sh = sh, .churn = true};
        int go;
        pid_t pid = spawn(&cc, &go);
        close(go);
        usleep(100 * 1000);
        struct perfev_config cfg;
        perfev_config_default(&cfg);
        cfg.inherit = layout == 0;
        struct perfev_set *s;
        char err[512];
        assert_int_equal(perfev_open(&s, &cfg, err, sizeof err), 0);
        if (perfev_attach_process(s, pid, err, sizeof err) != 0)
            fail_msg("attach: %s", err);
        struct seen v = {.pid = pid, .sh = sh};
        struct run run;
        run_child(s, pid, &v, &run);
        struct perfev_stats st;
        perfev_get_stats(s, &st);
        print_message("churn (%s): %llu samples, %llu fork, %llu exit records, %zu events left\n",
                      layout == 0 ? "inherit" : "per thread", (unsigned long long)v.samples,
                      (unsigned long long)st.records[PERFEV_REC_FORK],
                      (unsigned long long)st.records[PERFEV_REC_EXIT], perfev_nr_events(s));
        /* per thread, most short threads are gone before they are added:
         * that layout's known gap, so only the inherit one must see them */
        assert_int_equal(st.corrupt, 0);
        if (layout == 0) {
            assert_true(v.samples > 20);
            assert_true(st.records[PERFEV_REC_FORK] > 20);
            assert_int_equal(perfev_nr_events(s), 0); /* every ring hung up and went */
        }
        perfev_free(s);
        assert_int_equal(count_fds(), fds0);
        munmap(sh, sizeof *sh);
    }
}

/* One child spinning with a thread, sampled in one layout; the period is
 * changed once the thread runs.  Returns the worker's samples after the
 * change over the count its CPU time since then calls for at the new
 * period: 1 when the change took, 4 when it kept the old period. */
static double period_run(bool inherit, struct seen *v)
{
    struct shared *sh = shared_new();
    sh->worker_ns = 500 * MS; /* enough samples at 4 ms even on a loaded machine */
    struct child_cfg cc = {.sh = sh, .before_ns = 20 * MS, .after_ns = 50 * MS, .thread = true};
    int go;
    pid_t pid = spawn(&cc, &go);
    struct perfev_config cfg;
    perfev_config_default(&cfg);
    cfg.stack_size = 0;
    cfg.inherit = inherit;
    struct perfev_set *s;
    char err[512];
    assert_int_equal(perfev_open(&s, &cfg, err, sizeof err), 0);
    if (perfev_attach_process(s, pid, err, sizeof err) != 0)
        fail_msg("attach: %s", err);
    say_go(go);
    while (!__atomic_load_n(&sh->worker_cpu, __ATOMIC_ACQUIRE))
        usleep(1000);
    if (!inherit)
        assert_int_equal(perfev_add_thread(s, sh->worker_tid, err, sizeof err), 0);
    *v = (struct seen){.pid = pid, .sh = sh, .new_period = 1000000000ull / 249};
    assert_int_equal(perfev_set_period(s, v->new_period, err, sizeof err), 0);
    v->period_after = clock_mono_ns();
    uint64_t cpu0 = __atomic_load_n(&sh->worker_cpu, __ATOMIC_ACQUIRE);
    assert_int_equal(perfev_attr(s)->sample_period, v->new_period);
    struct run run;
    run_child(s, pid, v, &run);
    double want = (double)(sh->worker_cpu - cpu0) / (double)v->new_period;
    double ratio = v->after_worker / (want > 1 ? want : 1);
    print_message("period set to %llu ns (%s): the worker's %llu samples since are %.2fx what "
                  "its %.0f ms of CPU call for; %llu samples' period field says the new period\n",
                  (unsigned long long)v->new_period, inherit ? "inherit" : "per thread",
                  (unsigned long long)v->after_worker, ratio, (double)(sh->worker_cpu - cpu0) / 1e6,
                  (unsigned long long)v->new_period_field);
    assert_true(want > 15);
    assert_int_equal(perfev_set_period(s, 0, err, sizeof err), -EINVAL);
    perfev_free(s);
    munmap(sh, sizeof *sh);
    return ratio;
}

/* PERF_EVENT_IOC_PERIOD on a live set.  Asserted in the per-thread layout,
 * against the thread's own CPU time, so load does not matter.  Only printed
 * for the inherit layout, where the kernel does not pass the period on to
 * inherited events and which thread gets which period varies from run to
 * run (see perfev_set_period). */
static void test_live_period(void **state)
{
    (void)state;
    skip_unless_perf();
    struct seen *v = calloc(1, sizeof *v);
    assert_non_null(v);
    double r = period_run(false, v);
    assert_true(r > 0.6 && r < 1.4);
    period_run(true, v);
    free(v);
}

static void test_errors(void **state)
{
    (void)state;
    skip_unless_perf();
    int fds0 = count_fds();
    struct perfev_config cfg;
    perfev_config_default(&cfg);
    struct perfev_set *s;
    char err[512];
    assert_int_equal(perfev_open(&s, &cfg, err, sizeof err), 0);
    /* a thread that does not exist (any more) */
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    assert_int_equal(perfev_add_thread(s, gone, err, sizeof err), -ESRCH);
    assert_non_null(strstr(err, "exited"));
    assert_int_equal(perfev_attach_process(s, gone, err, sizeof err), -ESRCH);
    assert_int_equal(perfev_add_thread(s, 0, err, sizeof err), -EINVAL);
    assert_int_equal(perfev_nr_events(s), 0);
    /* twice the same thread */
    assert_int_equal(perfev_add_thread(s, gettid(), err, sizeof err), 0);
    assert_int_equal(perfev_add_thread(s, gettid(), err, sizeof err), -EEXIST);
    size_t nev = perfev_nr_events(s);
    perfev_close(s);
    assert_int_equal(perfev_nr_events(s), 0);
    /* out of fds half way through a thread's per-CPU events: none of it stays */
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int probe_fd = dup(0);
    assert_true(probe_fd >= 0);
    close(probe_fd);
    low = old;
    low.rlim_cur = (rlim_t)probe_fd + (nev > 1 ? 1 : 0);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int ret = perfev_add_thread(s, gettid(), err, sizeof err);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(ret, -EMFILE);
    assert_non_null(strstr(err, "ulimit -n"));
    assert_int_equal(perfev_nr_events(s), 0);
    assert_int_equal(perfev_nr_rings(s), 0);
    perfev_free(s);
    perfev_free(NULL);
    perfev_close(NULL);
    assert_int_equal(count_fds(), fds0);
}

/* Not root and not the owner: refused, and the message says what to do. */
static void test_refused(void **state)
{
    (void)state;
    skip_unless_perf();
    if (geteuid() != 0)
        skip(); /* needs root to become somebody else */
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        char err[512] = "";
        struct perfev_config cfg;
        struct perfev_set *s;
        perfev_config_default(&cfg);
        int ret = -1;
        if (setgid(65534) == 0 && setuid(65534) == 0 && perfev_open(&s, &cfg, err, sizeof err) == 0)
            ret = perfev_add_thread(s, 1, err, sizeof err);
        (void)!write(p[1], &ret, sizeof ret);
        (void)!write(p[1], err, sizeof err);
        _exit(0);
    }
    close(p[1]);
    int ret = 0;
    char err[512] = "";
    assert_int_equal(read(p[0], &ret, sizeof ret), sizeof ret);
    assert_int_equal(read(p[0], err, sizeof err), sizeof err);
    close(p[0]);
    waitpid(pid, NULL, 0);
    print_message("refused: %d: %s\n", ret, err);
    assert_true(ret == -EACCES || ret == -EPERM);
    assert_non_null(strstr(err, "perf_event_paranoid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attr),
        cmocka_unit_test(test_each_record_type),
        cmocka_unit_test(test_sample_regs_stack),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_corrupt_framing),
        cmocka_unit_test(test_corrupt_contents),
        cmocka_unit_test(test_parse_cost),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_live_inherit),
        cmocka_unit_test(test_live_per_thread),
        cmocka_unit_test(test_live_context_switches),
        cmocka_unit_test(test_live_attach_churn),
        cmocka_unit_test(test_live_period),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
