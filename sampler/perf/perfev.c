/*
 * perfev.c - perf_event attribute, event sets, mmap'd rings and the record
 * parser.  See perfev.h for the contract.
 */
#include "sampler/perf/perfev.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sampler/proc/procfs.h"

/* The register mask below is x86_64's: elsewhere the set cannot be opened
 * (the rest of the code compiles, so a port only needs its mask). */
#if defined(__x86_64__)
#define PERFEV_ARCH_OK 1
#else
#define PERFEV_ARCH_OK 0
#endif

/* AX..SS are bits 0..11 of perf_regs.h, R8..R15 bits 16..23: DS ES FS GS
 * (12..15) are left out, an unwinder never needs them. */
#define PERFEV_REGS_MASK (0xfffull | (0xffull << 16))

#define PERFEV_ATTACH_PASSES 16
#define PERFEV_FORK_GRACE_NS 2000000ull

/* ------------------------------------------------------------ messages */

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errsz, int ret,
                                                      const char *fmt, ...)
{
    if (err && errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return ret;
}

static int read_sysctl_int(const char *path, int *out)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    int ok = fscanf(f, "%d", out) == 1;
    fclose(f);
    return ok ? 0 : -EINVAL;
}

static const char *event_name(enum perfev_event ev)
{
    static const char *const names[] = {"task-clock", "cpu-clock", "context-switches",
                                        "page-faults"};
    return (unsigned)ev < sizeof names / sizeof names[0] ? names[ev] : "?";
}

/* Why perf_event_open(tid) failed with e, and what to do about it. */
static int open_fail(char *err, size_t errsz, int e, pid_t tid, enum perfev_event ev, size_t nopen)
{
    int par = 0;
    switch (e) {
    case EACCES:
    case EPERM:
        if (read_sysctl_int("/proc/sys/kernel/perf_event_paranoid", &par) < 0)
            par = -99;
        return fail(err, errsz, -e,
                    "perf_event_open refused for thread %d (%s): kernel.perf_event_paranoid is %d "
                    "— run as root, grant CAP_PERFMON, or sysctl kernel.perf_event_paranoid=1 "
                    "(in a container, seccomp may also block perf_event_open)",
                    (int)tid, strerror(e), par);
    case ENOENT:
    case EOPNOTSUPP:
    case ENODEV:
        return fail(err, errsz, -e,
                    "the %s event is not supported here (%s): this kernel or PMU cannot sample it "
                    "— use task-clock, the default",
                    event_name(ev), strerror(e));
    case ESRCH:
        return fail(err, errsz, -e, "thread %d exited before its event could be opened", (int)tid);
    case EMFILE:
        return fail(err, errsz, -e,
                    "too many open files opening the event of thread %d (%zu perf events open: "
                    "threads x CPUs with inherit) — raise the limit with `ulimit -n`",
                    (int)tid, nopen);
    case ENFILE:
        return fail(err, errsz, -e,
                    "the system's file table is full (ENFILE) opening the event of thread %d — "
                    "close other programs or raise fs.file-max",
                    (int)tid);
    case EINVAL:
    case E2BIG:
        return fail(err, errsz, -e,
                    "the kernel rejected the perf_event attribute for thread %d (%s): it may be "
                    "older than use_clockid (4.1), context_switch (4.3) or inherit_thread (5.13) "
                    "— upgrade the kernel or drop the option",
                    (int)tid, strerror(e));
    case ENOSYS:
        return fail(err, errsz, -e,
                    "perf_event_open is not available: the kernel was built without "
                    "CONFIG_PERF_EVENTS — use the ptrace sampler");
    default:
        return fail(err, errsz, -e, "perf_event_open on thread %d failed: %s", (int)tid,
                    strerror(e));
    }
}

static int mmap_fail(char *err, size_t errsz, int e, size_t len)
{
    int mlock_kb = 0;
    if (e == EPERM || e == ENOMEM) {
        if (read_sysctl_int("/proc/sys/kernel/perf_event_mlock_kb", &mlock_kb) < 0)
            mlock_kb = -1;
        return fail(err, errsz, -e,
                    "mapping a %zu KiB perf ring failed (%s): over the locked-memory limit "
                    "(kernel.perf_event_mlock_kb is %d, plus ulimit -l) — use smaller rings, "
                    "raise ulimit -l, or sysctl kernel.perf_event_mlock_kb",
                    len / 1024, strerror(e), mlock_kb);
    }
    return fail(err, errsz, -e, "mapping a %zu KiB perf ring failed: %s", len / 1024, strerror(e));
}

/* ------------------------------------------------------------ attribute */

void perfev_config_default(struct perfev_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->event = PERFEV_TASK_CLOCK;
    cfg->rate_hz = PERFEV_RATE_DEFAULT;
    cfg->stack_size = 16u * 1024u;
    cfg->inherit = true;
    cfg->ring_kib = PERFEV_RING_KIB_DEF;
    cfg->wakeup_pct = 50;
}

static bool is_clock(enum perfev_event ev)
{
    return ev == PERFEV_TASK_CLOCK || ev == PERFEV_CPU_CLOCK;
}

uint64_t perfev_config_period(const struct perfev_config *cfg)
{
    if (cfg->period)
        return cfg->period;
    if (!is_clock(cfg->event))
        return 1;
    uint32_t rate = cfg->rate_hz ? cfg->rate_hz : PERFEV_RATE_DEFAULT;
    uint64_t p = 1000000000ull / rate;
    return p ? p : 1;
}

/* Bytes of the data part of a ring: a power of two of pages. */
static uint64_t ring_data_bytes(const struct perfev_config *cfg)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t want = (uint64_t)(cfg->ring_kib ? cfg->ring_kib : PERFEV_RING_KIB_DEF) * 1024u;
    uint64_t n = page;
    while (n < want)
        n <<= 1;
    return n;
}

static const uint64_t sw_config[] = {PERF_COUNT_SW_TASK_CLOCK, PERF_COUNT_SW_CPU_CLOCK,
                                     PERF_COUNT_SW_CONTEXT_SWITCHES, PERF_COUNT_SW_PAGE_FAULTS};

int perfev_build_attr(const struct perfev_config *cfg, struct perf_event_attr *a, char *err,
                      size_t errsz)
{
    if ((unsigned)cfg->event >= sizeof sw_config / sizeof sw_config[0])
        return fail(err, errsz, -EINVAL, "unknown perf event %d", (int)cfg->event);
    if (cfg->ring_kib > PERFEV_RING_KIB_MAX)
        return fail(err, errsz, -EINVAL, "perf ring of %u KiB is over the %u KiB cap",
                    cfg->ring_kib, PERFEV_RING_KIB_MAX);
    if (cfg->wakeup_pct > 100)
        return fail(err, errsz, -EINVAL, "wakeup at %u%% of the ring: must be 0..100",
                    cfg->wakeup_pct);
    uint64_t period = perfev_config_period(cfg);
    if (period > (1ull << 62))
        return fail(err, errsz, -EINVAL, "perf period %llu is too large",
                    (unsigned long long)period);
    memset(a, 0, sizeof *a);
    a->size = sizeof *a;
    a->type = PERF_TYPE_SOFTWARE;
    a->config = sw_config[cfg->event];
    a->sample_period = period;
    a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_PERIOD |
                     PERF_SAMPLE_REGS_USER;
    a->sample_regs_user = PERFEV_REGS_MASK;
    uint32_t stack = cfg->stack_size > PERFEV_STACK_MAX ? PERFEV_STACK_MAX : cfg->stack_size;
    stack &= ~7u;
    if (stack) {
        a->sample_type |= PERF_SAMPLE_STACK_USER;
        a->sample_stack_user = stack;
    }
    if (cfg->kernel) {
        a->sample_type |= PERF_SAMPLE_CALLCHAIN;
        a->exclude_callchain_user = 1;
    }
    /* A switch is counted in the scheduler, in kernel mode: excluding the
     * kernel would leave the event silent (the user registers still say
     * where user space blocked). */
    a->exclude_kernel = !cfg->kernel && !cfg->count_kernel && cfg->event != PERFEV_CONTEXT_SWITCHES;
    a->exclude_hv = 1;
    a->use_clockid = 1;
    a->clockid = CLOCK_MONOTONIC;
    a->sample_id_all = 1;
    a->comm = a->comm_exec = 1;
    a->mmap = a->mmap2 = 1;
    a->task = 1;
    a->context_switch = cfg->context_switch;
    a->inherit = cfg->inherit;
    a->inherit_thread = cfg->inherit && !cfg->follow_forks;
    a->disabled = 1;
    if (cfg->wakeup_each) {
        a->wakeup_events = 1;
        return 0;
    }
    a->watermark = 1;
    uint32_t pct = cfg->wakeup_pct ? cfg->wakeup_pct : 50;
    uint64_t mark = ring_data_bytes(cfg) * pct / 100;
    a->wakeup_watermark = (uint32_t)(mark ? mark : 1);
    return 0;
}

void perfev_layout_of(const struct perf_event_attr *a, struct perfev_layout *out)
{
    memset(out, 0, sizeof *out);
    out->sample_type = a->sample_type;
    out->regs_mask = (a->sample_type & PERF_SAMPLE_REGS_USER) ? a->sample_regs_user : 0;
    out->nr_regs = (uint32_t)__builtin_popcountll(out->regs_mask);
    out->sample_id_all = a->sample_id_all;
    uint64_t t = a->sample_type;
    uint32_t n = 0;
    if (a->sample_id_all) {
        n += (t & PERF_SAMPLE_TID) ? 8 : 0;
        n += (t & PERF_SAMPLE_TIME) ? 8 : 0;
        n += (t & PERF_SAMPLE_ID) ? 8 : 0;
        n += (t & PERF_SAMPLE_STREAM_ID) ? 8 : 0;
        n += (t & PERF_SAMPLE_CPU) ? 8 : 0;
        n += (t & PERF_SAMPLE_IDENTIFIER) ? 8 : 0;
    }
    out->id_size = n;
}

/* ------------------------------------------------------------ parser */

/* A bounded cursor over one record: every read checks the end. */
struct cur {
    const uint8_t *p, *end;
};

static bool take(struct cur *c, size_t n, const uint8_t **at)
{
    if ((size_t)(c->end - c->p) < n)
        return false;
    *at = c->p;
    c->p += n;
    return true;
}

static bool u64_at(struct cur *c, uint64_t *v)
{
    const uint8_t *at;
    if (!take(c, 8, &at))
        return false;
    memcpy(v, at, 8);
    return true;
}

/* Two u32 packed in one u64 slot (pid, tid). */
static bool u32x2_at(struct cur *c, uint32_t *a, uint32_t *b)
{
    const uint8_t *at;
    if (!take(c, 8, &at))
        return false;
    memcpy(a, at, 4);
    memcpy(b, at + 4, 4);
    return true;
}

/* A NUL-terminated string filling what is left of the body. */
static bool str_rest(struct cur *c, const char **s)
{
    size_t n = (size_t)(c->end - c->p);
    if (!n || !memchr(c->p, '\0', n))
        return false;
    *s = (const char *)c->p;
    c->p = c->end;
    return true;
}

static void parse_id(const struct perfev_layout *lay, const uint8_t *at, struct perfev_id *id)
{
    struct cur c = {at, at + lay->id_size};
    memset(id, 0, sizeof *id);
    if (lay->sample_type & PERF_SAMPLE_TID)
        id->has_tid = u32x2_at(&c, &id->pid, &id->tid);
    if (lay->sample_type & PERF_SAMPLE_TIME)
        id->has_time = u64_at(&c, &id->time);
}

/* The first run of kernel entries of a callchain, markers left out. */
static void kernel_run(const uint64_t *ips, uint64_t nr, struct perfev_sample *s)
{
    uint64_t ctx = PERF_CONTEXT_KERNEL, i = 0;
    s->kchain = NULL;
    s->kchain_nr = 0;
    while (i < nr) {
        uint64_t v;
        memcpy(&v, &ips[i], 8);
        if (v >= PERF_CONTEXT_MAX) {
            if (s->kchain)
                return;
            ctx = v;
        } else if (ctx == PERF_CONTEXT_KERNEL) {
            if (!s->kchain)
                s->kchain = &ips[i];
            s->kchain_nr++;
        } else if (s->kchain) {
            return;
        }
        i++;
    }
}

static bool parse_regs_stack(const struct perfev_layout *lay, struct cur *c,
                             struct perfev_sample *s)
{
    const uint8_t *at;
    if (lay->sample_type & PERF_SAMPLE_REGS_USER) {
        if (!u64_at(c, &s->regs_abi))
            return false;
        if (s->regs_abi != PERF_SAMPLE_REGS_ABI_NONE) {
            if (!take(c, (size_t)lay->nr_regs * 8, &at))
                return false;
            s->regs = (const uint64_t *)(const void *)at;
            s->nr_regs = lay->nr_regs;
        }
    }
    if (lay->sample_type & PERF_SAMPLE_STACK_USER) {
        if (!u64_at(c, &s->stack_size))
            return false;
        if (s->stack_size) {
            if (s->stack_size > PERFEV_SCRATCH_SIZE || !take(c, s->stack_size, &at) ||
                !u64_at(c, &s->stack_dyn) || s->stack_dyn > s->stack_size)
                return false;
            s->stack = at;
        }
    }
    return true;
}

static bool parse_sample(const struct perfev_layout *lay, struct cur *c, uint16_t misc,
                         struct perfev_record *r)
{
    struct perfev_sample *s = &r->u.sample;
    uint64_t t = lay->sample_type, skip, nr;
    const uint8_t *at;
    /* READ and BRANCH_STACK have layouts of their own that perfev never asks for. */
    if (t & (PERF_SAMPLE_READ | PERF_SAMPLE_BRANCH_STACK))
        return false;
    if ((t & PERF_SAMPLE_IDENTIFIER) && !u64_at(c, &skip))
        return false;
    if ((t & PERF_SAMPLE_IP) && !u64_at(c, &s->ip))
        return false;
    if ((t & PERF_SAMPLE_TID) && !u32x2_at(c, &s->pid, &s->tid))
        return false;
    if ((t & PERF_SAMPLE_TIME) && !u64_at(c, &s->time))
        return false;
    if ((t & PERF_SAMPLE_ADDR) && !u64_at(c, &skip))
        return false;
    if ((t & PERF_SAMPLE_ID) && !u64_at(c, &skip))
        return false;
    if ((t & PERF_SAMPLE_STREAM_ID) && !u64_at(c, &skip))
        return false;
    if ((t & PERF_SAMPLE_CPU) && !u64_at(c, &skip))
        return false;
    if ((t & PERF_SAMPLE_PERIOD) && !u64_at(c, &s->period))
        return false;
    if (t & PERF_SAMPLE_CALLCHAIN) {
        if (!u64_at(c, &nr) || nr > (uint64_t)(c->end - c->p) / 8 || !take(c, nr * 8, &at))
            return false;
        kernel_run((const uint64_t *)(const void *)at, nr, s);
    }
    if (t & PERF_SAMPLE_RAW) {
        uint32_t rawsz;
        if (!take(c, 4, &at))
            return false;
        memcpy(&rawsz, at, 4);
        if (!take(c, rawsz, &at))
            return false;
    }
    s->in_kernel = (misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_KERNEL;
    r->id.pid = s->pid;
    r->id.tid = s->tid;
    r->id.time = s->time;
    r->id.has_tid = (t & PERF_SAMPLE_TID) != 0;
    r->id.has_time = (t & PERF_SAMPLE_TIME) != 0;
    return parse_regs_stack(lay, c, s);
}

static bool parse_mmap2(struct cur *c, uint16_t misc, struct perfev_mmap2 *m)
{
    const uint8_t *at;
    if (!u32x2_at(c, &m->pid, &m->tid) || !u64_at(c, &m->addr) || !u64_at(c, &m->len) ||
        !u64_at(c, &m->pgoff))
        return false;
    if (misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
        if (!take(c, 24, &at)) /* build id: size, reserved, 20 bytes */
            return false;
    } else if (!u32x2_at(c, &m->maj, &m->min) || !u64_at(c, &m->ino) ||
               !u64_at(c, &m->ino_generation)) {
        return false;
    }
    return u32x2_at(c, &m->prot, &m->flags) && str_rest(c, &m->filename);
}

/* A record other than a sample; c covers the body without the trailer. */
static bool parse_side(struct cur *c, uint32_t type, uint16_t misc, struct perfev_record *r)
{
    uint64_t skip;
    switch (type) {
    case PERF_RECORD_COMM:
        r->kind = PERFEV_REC_COMM;
        r->u.comm.exec = (misc & PERF_RECORD_MISC_COMM_EXEC) != 0;
        return u32x2_at(c, &r->u.comm.pid, &r->u.comm.tid) && str_rest(c, &r->u.comm.name);
    case PERF_RECORD_FORK:
    case PERF_RECORD_EXIT:
        r->kind = type == PERF_RECORD_FORK ? PERFEV_REC_FORK : PERFEV_REC_EXIT;
        return u32x2_at(c, &r->u.task.pid, &r->u.task.ppid) &&
               u32x2_at(c, &r->u.task.tid, &r->u.task.ptid) && u64_at(c, &r->u.task.time);
    case PERF_RECORD_MMAP2:
        r->kind = PERFEV_REC_MMAP2;
        return parse_mmap2(c, misc, &r->u.mmap2);
    case PERF_RECORD_LOST:
        r->kind = PERFEV_REC_LOST;
        return u64_at(c, &skip) && u64_at(c, &r->u.lost);
    case PERF_RECORD_LOST_SAMPLES:
        r->kind = PERFEV_REC_LOST;
        return u64_at(c, &r->u.lost);
    case PERF_RECORD_SWITCH_CPU_WIDE:
        if (!u32x2_at(c, &r->u.sw.next_prev_pid, &r->u.sw.next_prev_tid))
            return false;
        /* fall through */
    case PERF_RECORD_SWITCH:
        r->kind = PERFEV_REC_SWITCH;
        r->u.sw.out = (misc & PERF_RECORD_MISC_SWITCH_OUT) != 0;
        r->u.sw.preempt = (misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT) != 0;
        return true;
    case PERF_RECORD_THROTTLE:
    case PERF_RECORD_UNTHROTTLE:
        r->kind = type == PERF_RECORD_THROTTLE ? PERFEV_REC_THROTTLE : PERFEV_REC_UNTHROTTLE;
        return u64_at(c, &r->u.throttle.time) && u64_at(c, &r->u.throttle.id) &&
               u64_at(c, &r->u.throttle.stream_id);
    default:
        return false;
    }
}

int perfev_parse(const struct perfev_layout *lay, const void *rec, size_t len,
                 struct perfev_record *out)
{
    const struct perf_event_header *h = rec;
    memset(out, 0, sizeof *out);
    if (len < sizeof *h || h->size != len)
        return -EINVAL;
    out->type = h->type;
    out->misc = h->misc;
    out->size = h->size;
    struct cur c = {(const uint8_t *)rec + sizeof *h, (const uint8_t *)rec + len};
    if (h->type == PERF_RECORD_SAMPLE) {
        out->kind = PERFEV_REC_SAMPLE;
        return parse_sample(lay, &c, h->misc, out) ? 0 : -EINVAL;
    }
    bool known = h->type == PERF_RECORD_COMM || h->type == PERF_RECORD_FORK ||
                 h->type == PERF_RECORD_EXIT || h->type == PERF_RECORD_MMAP2 ||
                 h->type == PERF_RECORD_LOST || h->type == PERF_RECORD_LOST_SAMPLES ||
                 h->type == PERF_RECORD_SWITCH || h->type == PERF_RECORD_SWITCH_CPU_WIDE ||
                 h->type == PERF_RECORD_THROTTLE || h->type == PERF_RECORD_UNTHROTTLE;
    if (!known) {
        out->kind = PERFEV_REC_OTHER;
        out->u.raw.data = c.p;
        out->u.raw.size = (uint32_t)(c.end - c.p);
        return 0;
    }
    if (lay->sample_id_all) {
        if ((size_t)(c.end - c.p) < lay->id_size)
            return -EINVAL;
        c.end -= lay->id_size;
        parse_id(lay, c.end, &out->id);
    }
    return parse_side(&c, h->type, h->misc, out) ? 0 : -EINVAL;
}

const char *perfev_kind_name(enum perfev_kind k)
{
    static const char *const names[PERFEV_REC_NKINDS] = {"sample",     "comm", "fork",   "exit",
                                                         "mmap2",      "lost", "switch", "throttle",
                                                         "unthrottle", "other"};
    return (unsigned)k < PERFEV_REC_NKINDS ? names[k] : "?";
}

/* ------------------------------------------------------------ ring reader */

int perfev_ring_init(struct perfev_ring *r, void *meta, void *data, uint64_t size,
                     const struct perfev_layout *lay, uint8_t *scratch, struct perfev_stats *stats)
{
    if (!meta || !data || !lay || !scratch || !stats || size < 8 || (size & (size - 1)))
        return -EINVAL;
    memset(r, 0, sizeof *r);
    r->meta = meta;
    r->data = data;
    r->size = size;
    r->lay = lay;
    r->scratch = scratch;
    r->stats = stats;
    r->tail = r->head = __atomic_load_n(&r->meta->data_tail, __ATOMIC_RELAXED);
    return 0;
}

uint64_t perfev_ring_begin(struct perfev_ring *r)
{
    /* Acquire pairs with the kernel's barrier before it publishes data_head:
     * the record bytes below head are visible once head is. */
    r->head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
    if (r->head - r->tail > r->size) {
        /* A head behind the tail or a ring's worth ahead: nothing in between
         * can be framed, so give it all up. */
        r->stats->corrupt++;
        r->tail = r->head;
    }
    return r->head - r->tail;
}

/* Copies len bytes at ring position pos, across the end if need be. */
static void ring_copy(const struct perfev_ring *r, uint64_t pos, void *dst, size_t len)
{
    uint64_t off = pos & (r->size - 1);
    size_t first = (size_t)(r->size - off) < len ? (size_t)(r->size - off) : len;
    memcpy(dst, r->data + off, first);
    memcpy((uint8_t *)dst + first, r->data, len - first);
}

int perfev_ring_next(struct perfev_ring *r, struct perfev_record *out)
{
    while (r->tail != r->head) {
        uint64_t avail = r->head - r->tail;
        struct perf_event_header h;
        if (avail < sizeof h)
            goto broken;
        ring_copy(r, r->tail, &h, sizeof h);
        if (h.size < sizeof h || (h.size & 7) || h.size > avail || h.size > r->size)
            goto broken;
        uint64_t off = r->tail & (r->size - 1);
        const void *rec = r->data + off;
        if (off + h.size > r->size) {
            ring_copy(r, r->tail, r->scratch, h.size);
            rec = r->scratch;
            r->stats->wrapped++;
        }
        r->tail += h.size;
        r->stats->bytes += h.size;
        if (perfev_parse(r->lay, rec, h.size, out) < 0) {
            r->stats->corrupt++;
            continue;
        }
        r->stats->records[out->kind]++;
        if (out->kind == PERFEV_REC_LOST)
            r->stats->lost += out->u.lost;
        else if (out->kind == PERFEV_REC_THROTTLE)
            r->stats->throttled++;
        return 1;
    broken:
        r->stats->corrupt++;
        r->stats->bytes += avail;
        r->tail = r->head;
    }
    return 0;
}

void perfev_ring_end(struct perfev_ring *r)
{
    /* Release: every read of the records above happens before the kernel
     * may overwrite them. */
    __atomic_store_n(&r->meta->data_tail, r->tail, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------ event sets */

struct pe_event {
    int fd;
    pid_t tid;
    int cpu;     /* -1 in the per-thread layout */
    size_t ring; /* index in rings[] it writes into */
    bool hup;    /* its thread is gone and no child of it is left */
};

struct pe_ring {
    struct perfev_ring r;
    int cpu;     /* -1 in the per-thread layout */
    int poll_fd; /* a live event writing here, or -1 once all hung up */
    bool hup;
};

struct perfev_set {
    struct perfev_config cfg;
    struct perf_event_attr attr;
    struct perfev_layout lay;
    uint64_t data_bytes;
    size_t page;
    int cpus[PERFEV_MAX_CPUS];
    int ncpus; /* 0 in the per-thread layout */
    struct pe_event *ev;
    size_t nev, capev;
    struct pe_ring *rings;
    size_t nrings, caprings;
    struct pollfd *pfd;
    size_t *pfd_ring;
    size_t cappfd;
    bool enabled;
    struct perfev_stats stats;
    uint8_t scratch[PERFEV_SCRATCH_SIZE] __attribute__((aligned(8)));
};

static int sys_perf_event_open(struct perf_event_attr *a, pid_t pid, int cpu)
{
    return (int)syscall(SYS_perf_event_open, a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

int perfev_unclone(pid_t tid)
{
    struct perf_event_attr a = {.size = sizeof a,
                                .type = PERF_TYPE_SOFTWARE,
                                .config = PERF_COUNT_SW_DUMMY,
                                .disabled = 1,
                                .exclude_kernel = 1,
                                .exclude_hv = 1};
    int fd = sys_perf_event_open(&a, tid, -1);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

/* Parses a CPU list ("0-3,8,10-11") into cpus; count or -EINVAL. */
static int parse_cpu_list(const char *s, int *cpus, int max)
{
    int n = 0;
    while (*s && *s != '\n') {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s || a < 0)
            return -EINVAL;
        s = end;
        if (*s == '-') {
            b = strtol(s + 1, &end, 10);
            if (end == s + 1 || b < a)
                return -EINVAL;
            s = end;
        }
        for (long c = a; c <= b; c++) {
            if (n >= max)
                return -E2BIG;
            cpus[n++] = (int)c;
        }
        if (*s == ',')
            s++;
        else if (*s && *s != '\n')
            return -EINVAL;
    }
    return n ? n : -EINVAL;
}

static int online_cpus(int *cpus, int max)
{
    char buf[4096];
    FILE *f = fopen("/sys/devices/system/cpu/online", "re");
    if (f) {
        char *ok = fgets(buf, sizeof buf, f);
        fclose(f);
        int n = ok ? parse_cpu_list(buf, cpus, max) : -EINVAL;
        if (n > 0)
            return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
        return -ENODEV;
    if (n > max)
        return -E2BIG;
    for (long i = 0; i < n; i++)
        cpus[i] = (int)i;
    return (int)n;
}

int perfev_open(struct perfev_set **out, const struct perfev_config *cfg, char *err, size_t errsz)
{
    *out = NULL;
    if (!PERFEV_ARCH_OK)
        return fail(err, errsz, -ENOSYS, "perf_event sampling is only implemented for x86_64");
    struct perfev_set *s = calloc(1, sizeof *s);
    if (!s)
        return fail(err, errsz, -ENOMEM, "out of memory for a perf event set");
    s->cfg = *cfg;
    int ret = perfev_build_attr(cfg, &s->attr, err, errsz);
    if (ret < 0) {
        free(s);
        return ret;
    }
    perfev_layout_of(&s->attr, &s->lay);
    s->data_bytes = ring_data_bytes(cfg);
    s->page = (size_t)sysconf(_SC_PAGESIZE);
    if (cfg->inherit) {
        s->ncpus = online_cpus(s->cpus, PERFEV_MAX_CPUS);
        if (s->ncpus < 0) {
            ret = s->ncpus;
            free(s);
            return fail(err, errsz, ret, "cannot list the online CPUs: %s", strerror(-ret));
        }
    }
    *out = s;
    return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

/* Maps fd's ring and adds it to rings[]; returns its index or -errno. */
static int add_ring(struct perfev_set *s, int fd, int cpu, char *err, size_t errsz)
{
    if (grow((void **)&s->rings, &s->caprings, s->nrings + 1, sizeof *s->rings) < 0)
        return fail(err, errsz, -ENOMEM, "out of memory for perf rings");
    size_t len = s->page + (size_t)s->data_bytes;
    void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        return mmap_fail(err, errsz, errno, len);
    struct pe_ring *pr = &s->rings[s->nrings];
    memset(pr, 0, sizeof *pr);
    struct perf_event_mmap_page *meta = base;
    /* data_offset/data_size are 0 on kernels before 4.1: the data then
     * starts one page in. */
    uint64_t off = meta->data_offset ? meta->data_offset : s->page;
    uint64_t size = meta->data_size ? meta->data_size : s->data_bytes;
    if (off + size > len || perfev_ring_init(&pr->r, meta, (uint8_t *)base + off, size, &s->lay,
                                             s->scratch, &s->stats) < 0) {
        munmap(base, len);
        return fail(err, errsz, -EPROTO, "the kernel's perf ring has an unexpected layout");
    }
    pr->r.map_len = len;
    pr->cpu = cpu;
    pr->poll_fd = fd;
    return (int)s->nrings++;
}

static ssize_t ring_of_cpu(const struct perfev_set *s, int cpu)
{
    for (size_t i = 0; i < s->nrings; i++)
        if (s->rings[i].cpu == cpu && !s->rings[i].hup)
            return (ssize_t)i;
    return -1;
}

static void unmap_ring(struct pe_ring *pr)
{
    if (pr->r.map_len)
        munmap(pr->r.meta, pr->r.map_len);
    pr->r.map_len = 0;
}

/* Undoes add_thread's events from index `from` on, and rings from `rfrom`. */
static void drop_from(struct perfev_set *s, size_t from, size_t rfrom)
{
    while (s->nrings > rfrom)
        unmap_ring(&s->rings[--s->nrings]);
    while (s->nev > from)
        close(s->ev[--s->nev].fd);
}

/* One event of tid on cpu, its output joined to the CPU's ring (made if
 * it is the first of that CPU). */
static int open_one(struct perfev_set *s, pid_t tid, int cpu, char *err, size_t errsz)
{
    if (grow((void **)&s->ev, &s->capev, s->nev + 1, sizeof *s->ev) < 0)
        return fail(err, errsz, -ENOMEM, "out of memory for perf events");
    struct perf_event_attr a = s->attr;
    a.disabled = !s->enabled;
    int fd = sys_perf_event_open(&a, tid, cpu);
    if (fd < 0)
        return open_fail(err, errsz, errno, tid, s->cfg.event, s->nev);
    ssize_t ring = cpu >= 0 ? ring_of_cpu(s, cpu) : -1;
    /* Should the kernel refuse to join (the ring's event is exiting), the
     * event gets a ring of its own: one more ring, not a failure. */
    if (ring >= 0 && ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, s->rings[ring].poll_fd) < 0)
        ring = -1;
    if (ring < 0) {
        int r = add_ring(s, fd, cpu, err, errsz);
        if (r < 0) {
            close(fd);
            return r;
        }
        ring = r;
    }
    s->ev[s->nev++] = (struct pe_event){.fd = fd, .tid = tid, .cpu = cpu, .ring = (size_t)ring};
    return 0;
}

bool perfev_has_thread(const struct perfev_set *s, pid_t tid)
{
    for (size_t i = 0; i < s->nev; i++)
        if (s->ev[i].tid == tid)
            return true;
    return false;
}

int perfev_add_thread(struct perfev_set *s, pid_t tid, char *err, size_t errsz)
{
    if (tid <= 0)
        return fail(err, errsz, -EINVAL, "no such thread id %d", (int)tid);
    if (perfev_has_thread(s, tid))
        return fail(err, errsz, -EEXIST, "thread %d already has its perf events", (int)tid);
    size_t from = s->nev, rfrom = s->nrings;
    int n = s->ncpus ? s->ncpus : 1;
    for (int i = 0; i < n; i++) {
        int ret = open_one(s, tid, s->ncpus ? s->cpus[i] : -1, err, errsz);
        if (ret < 0) {
            drop_from(s, from, rfrom);
            return ret;
        }
    }
    return 0;
}

/* True when a FORK record for tid waits in a ring: the kernel already
 * inherited the events to it.  Reads without consuming. */
static bool fork_waiting(struct perfev_set *s, pid_t tid)
{
    struct perfev_stats junk;
    for (size_t i = 0; i < s->nrings; i++) {
        struct perfev_ring peek = s->rings[i].r;
        struct perfev_record rec;
        peek.stats = &junk;
        perfev_ring_begin(&peek);
        while (perfev_ring_next(&peek, &rec))
            if (rec.kind == PERFEV_REC_FORK && rec.u.task.tid == (uint32_t)tid)
                return true;
    }
    return false;
}

/* /proc/PID/task into *tids, grown until the list fits; count or -errno. */
static int list_threads(pid_t pid, pid_t **tids, size_t *cap)
{
    for (;;) {
        int n = procfs_list_tasks(pid, *tids, *cap);
        if (n < 0 || (size_t)n < *cap)
            return n;
        if (*cap >= (1u << 22))
            return n;
        pid_t *more = realloc(*tids, *cap * 2 * sizeof **tids);
        if (!more)
            return -ENOMEM;
        *tids = more;
        *cap *= 2;
    }
}

static bool in_list(const pid_t *v, size_t n, pid_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

/* Keeps in tids[0..n) the threads the set does not follow yet; new count. */
static int only_new(struct perfev_set *s, pid_t *tids, int n, const pid_t *inh, size_t ninh)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!perfev_has_thread(s, tids[i]) && !in_list(inh, ninh, tids[i]))
            tids[k++] = tids[i];
    return k;
}

/* Moves to inh the threads of tids[0..n) the kernel already inherited the
 * events to; returns how many are left to open. */
static int drop_inherited(struct perfev_set *s, pid_t *tids, int n, pid_t *inh, size_t *ninh)
{
    bool unsure = false;
    for (int i = 0; i < n && !unsure; i++)
        unsure = !fork_waiting(s, tids[i]);
    if (unsure) {
        /* The kernel makes a thread visible in /proc a moment before it
         * writes its FORK record: give the record that moment, once. */
        struct timespec ts = {0, (long)PERFEV_FORK_GRACE_NS};
        nanosleep(&ts, NULL);
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (fork_waiting(s, tids[i]))
            inh[(*ninh)++] = tids[i];
        else
            tids[k++] = tids[i];
    }
    return k;
}

/* One pass over the threads: opens the new ones; count opened or -errno.
 * Every thread of the first listing existed before any event was opened,
 * so none of them can have been inherited; a later one was if its creator
 * was followed by then. */
static int attach_pass(struct perfev_set *s, int pass, pid_t *tids, int n, pid_t *inh, size_t *ninh,
                       char *err, size_t errsz)
{
    int fresh = 0;
    n = only_new(s, tids, n, inh, *ninh);
    if (pass > 0 && s->attr.inherit && n > 0)
        n = drop_inherited(s, tids, n, inh, ninh);
    for (int i = 0; i < n; i++) {
        int ret = perfev_add_thread(s, tids[i], err, errsz);
        if (ret == -ESRCH)
            continue;
        if (ret < 0)
            return ret;
        fresh++;
    }
    return fresh;
}

int perfev_attach_process(struct perfev_set *s, pid_t pid, char *err, size_t errsz)
{
    if (pid <= 0)
        return fail(err, errsz, -EINVAL, "no such process id %d", (int)pid);
    /* Live from the start: only live events write the FORK records that
     * tell an inherited thread from one still to open. */
    int ret = perfev_enable(s, err, errsz);
    size_t cap = 256, ninh = 0;
    pid_t *tids = malloc(cap * sizeof *tids), *inh = NULL;
    if (ret < 0 || !tids)
        goto out;
    for (int pass = 0; pass < PERFEV_ATTACH_PASSES; pass++) {
        int n = list_threads(pid, &tids, &cap);
        if (n < 0) {
            ret = n == -ENOENT ? -ESRCH : n;
            fail(err, errsz, ret, "cannot list the threads of process %d: %s", (int)pid,
                 n == -ENOENT ? "no such process" : strerror(-n));
            goto out;
        }
        pid_t *grown = realloc(inh, (ninh + (size_t)n + 1) * sizeof *inh);
        if (!grown) {
            ret = -ENOMEM;
            goto out;
        }
        inh = grown;
        ret = attach_pass(s, pass, tids, n, inh, &ninh, err, errsz);
        if (ret <= 0)
            break;
    }
    if (ret >= 0)
        ret = s->nev ? 0
                     : fail(err, errsz, -ESRCH, "process %d exited before it could be sampled",
                            (int)pid);
out:
    if (ret == -ENOMEM || (!tids && ret >= 0))
        ret = fail(err, errsz, -ENOMEM, "out of memory attaching to process %d", (int)pid);
    free(tids);
    free(inh);
    return ret;
}

static int ioctl_all(struct perfev_set *s, unsigned long req, unsigned long arg, const char *what,
                     char *err, size_t errsz)
{
    for (size_t i = 0; i < s->nev; i++) {
        if (s->ev[i].hup)
            continue;
        if (ioctl(s->ev[i].fd, req, arg) < 0 && errno != ESRCH) {
            int e = errno;
            return fail(err, errsz, -e, "%s the perf event of thread %d failed: %s", what,
                        (int)s->ev[i].tid, strerror(e));
        }
    }
    return 0;
}

int perfev_enable(struct perfev_set *s, char *err, size_t errsz)
{
    int ret = ioctl_all(s, PERF_EVENT_IOC_ENABLE, 0, "enabling", err, errsz);
    if (ret == 0)
        s->enabled = true;
    return ret;
}

int perfev_disable(struct perfev_set *s, char *err, size_t errsz)
{
    int ret = ioctl_all(s, PERF_EVENT_IOC_DISABLE, 0, "disabling", err, errsz);
    if (ret == 0)
        s->enabled = false;
    return ret;
}

int perfev_set_period(struct perfev_set *s, uint64_t period, char *err, size_t errsz)
{
    if (period == 0 || period > (1ull << 62))
        return fail(err, errsz, -EINVAL, "perf period %llu is out of range",
                    (unsigned long long)period);
    int ret = ioctl_all(s, PERF_EVENT_IOC_PERIOD, (unsigned long)&period, "setting the period of",
                        err, errsz);
    if (ret == 0) {
        s->attr.sample_period = period;
        s->cfg.period = period;
    }
    return ret;
}

/* True when the event behind fd has hung up (its thread is gone and no
 * child of it is left). */
static bool event_hung_up(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

/* The event behind fd hung up: poll another live event of its ring, or
 * mark the ring done once none is left.  The others are asked at once, so
 * a ring whose threads all exited is done after one poll, not one per
 * thread. */
static void hang_up(struct perfev_set *s, size_t ring, int fd)
{
    struct pe_ring *pr = &s->rings[ring];
    pr->poll_fd = -1;
    for (size_t i = 0; i < s->nev; i++) {
        struct pe_event *e = &s->ev[i];
        if (e->fd == fd)
            e->hup = true;
        else if (e->ring == ring && !e->hup && pr->poll_fd < 0) {
            if (event_hung_up(e->fd))
                e->hup = true;
            else
                pr->poll_fd = e->fd;
        }
    }
    pr->hup = pr->poll_fd < 0;
}

int perfev_poll(struct perfev_set *s, int timeout_ms)
{
    return perfev_poll_sets(&s, 1, timeout_ms);
}

/* The poll buffers are the first set's; each entry's map says which set
 * (high half) and ring (low half) it stands for. */
int perfev_poll_sets(struct perfev_set *const *sets, size_t nsets, int timeout_ms)
{
    struct perfev_set *s = sets[0];
    size_t total = 0;
    for (size_t j = 0; j < nsets; j++)
        total += sets[j] ? sets[j]->nrings : 0;
    if (grow((void **)&s->pfd, &s->cappfd, total + 1, sizeof *s->pfd) < 0)
        return -ENOMEM;
    size_t *map = realloc(s->pfd_ring, s->cappfd * sizeof *map);
    if (!map)
        return -ENOMEM;
    s->pfd_ring = map;
    nfds_t n = 0;
    for (size_t j = 0; j < nsets; j++) {
        for (size_t i = 0; sets[j] && i < sets[j]->nrings; i++) {
            if (sets[j]->rings[i].poll_fd < 0)
                continue;
            s->pfd[n] = (struct pollfd){.fd = sets[j]->rings[i].poll_fd, .events = POLLIN};
            map[n++] = (j << 32) | i;
        }
    }
    int r = poll(s->pfd, n, timeout_ms);
    if (r < 0)
        return -errno;
    int ready = 0;
    for (nfds_t k = 0; k < n; k++) {
        if (!s->pfd[k].revents)
            continue;
        ready++;
        if (s->pfd[k].revents & (POLLHUP | POLLERR | POLLNVAL))
            hang_up(sets[map[k] >> 32], map[k] & 0xffffffffu, s->pfd[k].fd);
    }
    return ready;
}

/* Closes ring i and its events; the last ring takes its place. */
static void close_ring(struct perfev_set *s, size_t i)
{
    size_t last = s->nrings - 1, k = 0;
    for (size_t j = 0; j < s->nev; j++) {
        if (s->ev[j].ring == i) {
            close(s->ev[j].fd);
            continue;
        }
        if (s->ev[j].ring == last)
            s->ev[j].ring = i;
        s->ev[k++] = s->ev[j];
    }
    s->nev = k;
    unmap_ring(&s->rings[i]);
    s->rings[i] = s->rings[last];
    s->nrings--;
}

long perfev_drain(struct perfev_set *s, perfev_record_fn fn, void *ctx)
{
    long n = 0;
    size_t i = 0;
    while (i < s->nrings) {
        struct pe_ring *pr = &s->rings[i];
        struct perfev_record rec;
        int stop = 0;
        perfev_ring_begin(&pr->r);
        while (!stop && perfev_ring_next(&pr->r, &rec)) {
            n++;
            stop = fn(ctx, &rec);
        }
        perfev_ring_end(&pr->r);
        if (stop)
            break;
        /* A hung-up ring gets no more records: once read dry it goes,
         * with its fds. */
        if (pr->hup && perfev_ring_begin(&pr->r) == 0) {
            close_ring(s, i);
            continue;
        }
        i++;
    }
    return n;
}

size_t perfev_nr_rings(const struct perfev_set *s)
{
    return s->nrings;
}

struct perfev_ring *perfev_ring_at(struct perfev_set *s, size_t i)
{
    return i < s->nrings ? &s->rings[i].r : NULL;
}

void perfev_get_stats(const struct perfev_set *s, struct perfev_stats *out)
{
    *out = s->stats;
}

size_t perfev_nr_events(const struct perfev_set *s)
{
    return s->nev;
}

const struct perf_event_attr *perfev_attr(const struct perfev_set *s)
{
    return &s->attr;
}

const struct perfev_layout *perfev_layout(const struct perfev_set *s)
{
    return &s->lay;
}

void perfev_close(struct perfev_set *s)
{
    if (!s)
        return;
    drop_from(s, 0, 0);
    s->enabled = false;
}

void perfev_free(struct perfev_set *s)
{
    if (!s)
        return;
    perfev_close(s);
    free(s->ev);
    free(s->rings);
    free(s->pfd);
    free(s->pfd_ring);
    free(s);
}

int perfev_probe(char *why, size_t whysz)
{
    if (!PERFEV_ARCH_OK)
        return fail(why, whysz, -ENOSYS, "perf_event sampling is only implemented for x86_64");
    struct perfev_config cfg;
    struct perf_event_attr a;
    int cpus[PERFEV_MAX_CPUS];
    perfev_config_default(&cfg);
    cfg.ring_kib = 4;
    int ret = perfev_build_attr(&cfg, &a, why, whysz);
    int n = online_cpus(cpus, PERFEV_MAX_CPUS);
    if (ret < 0)
        return ret;
    if (n < 0)
        return fail(why, whysz, n, "cannot list the online CPUs: %s", strerror(-n));
    /* The default shape: inherited, per CPU, with registers and stack. */
    int fd = sys_perf_event_open(&a, 0, cpus[0]);
    if (fd < 0)
        return open_fail(why, whysz, errno, getpid(), cfg.event, 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = page + (size_t)ring_data_bytes(&cfg);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        ret = mmap_fail(why, whysz, errno, len);
        close(fd);
        return ret;
    }
    munmap(p, len);
    close(fd);
    return fail(why, whysz, 0, "perf_event sampling with user registers and stack is available");
}
