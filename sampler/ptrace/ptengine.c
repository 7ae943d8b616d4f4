/*
 * ptengine.c - the ptrace sampler as an engine (see ptengine.h).
 */
#include "sampler/ptrace/ptengine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/ptrace/ptsampler.h"

struct pt_engine {
    struct engine base;
    struct ptsampler *ps;
};

static int error_class(int rc)
{
    switch (-rc) {
    case PTS_ENOPROC:
    case PTS_EKTHREAD:
    case PTS_EZOMBIE:
    case ESRCH:
        return ENGINE_ENOTARGET;
    case PTS_EPERM:
    case EPERM:
        return ENGINE_EPERM;
    case PTS_ETRACED:
        return ENGINE_ETRACED;
    default:
        return engine_error_of_errno(rc);
    }
}

static int pt_attach(struct engine **out, const struct engine_config *cfg, char *err, size_t errsz)
{
    struct pt_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errsz, "pertop: out of memory");
        return -ENGINE_EOTHER;
    }
    struct ptsampler_config pc = {
        .pid = cfg->pid, .stack_size = cfg->stack_size, .idle = cfg->idle, .hooks = cfg->hooks};
    int rc = ptsampler_attach(&e->ps, &pc, err, errsz);
    if (rc < 0) {
        free(e);
        return -error_class(rc);
    }
    e->base.ops = &ptrace_engine_ops;
    *out = &e->base;
    return 0;
}

static struct ptsampler *ps_of(const struct engine *e)
{
    return ((const struct pt_engine *)e)->ps;
}

static void pt_round(struct engine *e, struct capqueue *q)
{
    ptsampler_sample(ps_of(e), q);
}

static enum engine_state pt_wait(struct engine *e, struct capqueue *q, uint64_t deadline_ns)
{
    (void)q;
    switch (ptsampler_wait(ps_of(e), deadline_ns)) {
    case PTS_EXITED:
        return ENGINE_EXITED;
    case PTS_EXECED:
        return ENGINE_EXECED;
    default:
        return ENGINE_RUNNING;
    }
}

static void pt_ack_exec(struct engine *e)
{
    ptsampler_ack_exec(ps_of(e));
}

/* The middle stop, from the histogram: the bucket's midpoint. */
static uint64_t stop_median(const struct ptsampler_stats *st)
{
    uint64_t n = 0, seen = 0;
    for (unsigned i = 0; i < PTS_STOP_BUCKETS; i++)
        n += st->stop_hist[i];
    for (unsigned i = 0; n && i < PTS_STOP_BUCKETS; i++) {
        seen += st->stop_hist[i];
        if (seen * 2 >= n)
            return i * PTS_STOP_BUCKET_NS + PTS_STOP_BUCKET_NS / 2;
    }
    return 0;
}

static void pt_get_stats(const struct engine *e, struct engine_stats *out)
{
    struct ptsampler_stats st;
    ptsampler_get_stats(ps_of(e), &st);
    *out = (struct engine_stats){.rounds = st.rounds,
                                 .samples = st.samples,
                                 .lost = st.lost,
                                 .skipped_idle = st.skipped_idle,
                                 .failed = st.failed,
                                 .stop_ns_total = st.stop_ns_total,
                                 .stop_ns_max = st.stop_ns_max,
                                 .stop_ns_median = stop_median(&st),
                                 .hold_ns_total = st.hold_ns_total,
                                 .hold_ns_max = st.hold_ns_max,
                                 .threads = st.threads,
                                 .threads_seen = st.threads_seen};
}

static int pt_exit_status(const struct engine *e)
{
    return ptsampler_exit_status(ps_of(e));
}

static void pt_detach(struct engine *e)
{
    if (!e)
        return;
    ptsampler_detach(ps_of(e));
    free(e);
}

const struct engine_ops ptrace_engine_ops = {
    .name = "ptrace",
    .flags = 0,
    .attach = pt_attach,
    .round = pt_round,
    .wait = pt_wait,
    .ack_exec = pt_ack_exec,
    .set_rate = NULL,
    .get_stats = pt_get_stats,
    .exit_status = pt_exit_status,
    .detach = pt_detach,
};
