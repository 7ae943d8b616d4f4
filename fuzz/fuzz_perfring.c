/*
 * fuzz_perfring.c - the perf ring-buffer record parser.
 *
 * Byte 0 picks the event configuration (event, kernel callchain, context
 * switches, inherit, user stack copy or not), which fixes the record
 * layout as perfev_build_attr sets it; byte 1 the ring size (64 bytes to
 * 64 KiB); bytes 2-3 where the reader's tail starts in the ring.  The rest
 * is written into the ring from the tail on, wrapping at its end as the
 * kernel writes, and data_head is set after it; perfev_ring_next reads it
 * all, and every field of every record is read back.  The same bytes also
 * go to perfev_parse as one record.  A finding (crash, ASan or UBSan
 * report, leak, hang) is a bug in the framing or the parsing: the records
 * carry what the target put in its registers, stack and file names.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/perf_event.h>

#include "sampler/perf/perfev.h"

static uint64_t touch(const struct perfev_record *rec)
{
    uint64_t sum = rec->type + rec->size + rec->id.tid;
    switch (rec->kind) {
    case PERFEV_REC_SAMPLE: {
        const struct perfev_sample *s = &rec->u.sample;
        for (uint32_t i = 0; i < s->kchain_nr; i++)
            sum += s->kchain[i];
        for (uint32_t i = 0; i < s->nr_regs; i++)
            sum += s->regs[i];
        if (s->stack_dyn > s->stack_size)
            __builtin_trap(); /* valid bytes beyond the copy */
        for (uint64_t i = 0; i < s->stack_dyn; i++)
            sum += s->stack[i];
        break;
    }
    case PERFEV_REC_COMM:
        sum += strlen(rec->u.comm.name);
        break;
    case PERFEV_REC_MMAP2:
        sum += strlen(rec->u.mmap2.filename) + rec->u.mmap2.addr;
        break;
    case PERFEV_REC_OTHER:
        for (uint32_t i = 0; i < rec->u.raw.size; i++)
            sum += rec->u.raw.data[i];
        break;
    default:
        sum += rec->u.task.pid;
        break;
    }
    sum += strlen(perfev_kind_name(rec->kind));
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *scratch;
    static struct perf_event_mmap_page *meta;
    if (!scratch) {
        scratch = malloc(PERFEV_SCRATCH_SIZE);
        meta = calloc(1, sizeof *meta);
    }
    if (size < 4 || !scratch || !meta)
        return 0;
    struct perfev_config cfg;
    perfev_config_default(&cfg);
    static const enum perfev_event events[] = {PERFEV_TASK_CLOCK, PERFEV_CPU_CLOCK,
                                               PERFEV_CONTEXT_SWITCHES, PERFEV_PAGE_FAULTS};
    cfg.event = events[data[0] & 3];
    cfg.kernel = data[0] & 4;
    cfg.context_switch = data[0] & 8;
    cfg.inherit = data[0] & 16;
    cfg.follow_forks = data[0] & 32;
    cfg.stack_size = data[0] & 64 ? 0 : 512;
    struct perf_event_attr attr;
    if (perfev_build_attr(&cfg, &attr, NULL, 0) < 0)
        return 0;
    struct perfev_layout lay;
    perfev_layout_of(&attr, &lay);

    uint64_t rsize = 64ull << (data[1] % 11);
    uint64_t start = (uint64_t)(data[2] | data[3] << 8) & ~7ull; /* the kernel keeps it aligned */
    const uint8_t *recs = data + 4;
    size_t n = size - 4 < rsize ? size - 4 : (size_t)rsize;
    /* exactly the ring's size, so that ASan sees a read past its end */
    uint8_t *ring = malloc(rsize);
    if (!ring)
        return 0;
    memset(ring, 0xcc, rsize);
    for (size_t i = 0; i < n; i++)
        ring[(start + i) & (rsize - 1)] = recs[i];
    memset(meta, 0, sizeof *meta);
    meta->data_tail = start;
    meta->data_head = start + n;

    volatile uint64_t sink = 0;
    struct perfev_stats stats;
    memset(&stats, 0, sizeof stats);
    struct perfev_ring r;
    struct perfev_record rec;
    if (perfev_ring_init(&r, meta, ring, rsize, &lay, scratch, &stats) == 0) {
        perfev_ring_begin(&r);
        while (perfev_ring_next(&r, &rec))
            sink += touch(&rec);
        perfev_ring_end(&r);
        if (meta->data_tail != meta->data_head)
            __builtin_trap(); /* the reader must consume up to head */
    }
    free(ring);

    /* the rest as one record, in a buffer of exactly its size */
    uint8_t *one = malloc(size - 4 ? size - 4 : 1);
    if (one) {
        memcpy(one, recs, size - 4);
        if (perfev_parse(&lay, one, size - 4, &rec) == 0)
            sink += touch(&rec);
        free(one);
    }
    (void)sink;
    return 0;
}
