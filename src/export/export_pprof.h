/*
 * export_pprof.h - the call tree as a gzipped perftools.profiles.Profile
 * (profile.proto), the format of go tool pprof, Pyroscope, Parca and
 * Grafana.
 *
 * What is written, and why:
 *   sample types  samples/count and cpu/nanoseconds (wall/nanoseconds with
 *                 --idle: waiting threads are sampled too, so a sample is
 *                 thread wall time, not CPU time); the default is the time.
 *   samples       one per call-tree node with self samples (a distinct
 *                 thread + stack), locations leaf first, labels "thread"
 *                 (the tid, as a string: Pyroscope takes only string
 *                 labels) and "thread_name".
 *   locations     one per distinct frame: native (module, ELF vaddr) with
 *                 its resolver chain as lines, innermost first (pprof's
 *                 order for inlined functions); Python frames and specials
 *                 with address 0 and no mapping.
 *   mappings      one per module that has a location: file name, build-id
 *                 (hex), and the range of ELF vaddrs sampled in it.
 *                 Addresses are ELF virtual addresses, not the target's
 *                 runtime addresses (pertop interns frames that way, so
 *                 they stay valid across exec and reloads): memory_start is
 *                 the lowest sampled vaddr rounded down to a page and
 *                 file_offset equals it, so address - start + offset is the
 *                 vaddr addr2line takes.  Mappings of different modules may
 *                 overlap; every location names its own.
 *   functions     resolver functions: name, file, start line.
 *   period        1e9 / rate ns (period_type cpu or wall /nanoseconds),
 *                 time_nanos (wall clock start), duration_nanos.
 *   comments      the run as "pertop.KEY=VALUE": from the run_info
 *                 command, engine ("perf (task-clock)"), engine_note (when
 *                 there is one), duration_s, samples; from the figures
 *                 cpu_pct, rss_bytes, rss_peak_bytes, read_bps, write_bps.
 *                 profile.h reads them back.
 * The caller holds the model lock and has prepared the resolver; nothing
 * here touches the target.  Called by session_write.
 */
#ifndef PERTOP_EXPORT_PPROF_H
#define PERTOP_EXPORT_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "src/model/intern.h"
#include "src/model/model.h"
#include "src/model/runinfo.h"
#include "sampler/unwind/modules.h"
#include "src/profile/profile.h"
#include "src/session/resolve.h"

struct pprof_source {
    const struct model *m;
    const struct resolver *r;
    const struct interner *in;
    const struct modreg *reg;     /* NULL: no mappings */
    const char *const *build_ids; /* hex per module id below nbuild_ids, NULL = none */
    size_t nbuild_ids;
    const struct run_info *run;   /* NULL: no run comments */
    const struct prof_meta *figs; /* CPU, RSS, I/O (have_* and their values), NULL: none */
    uint64_t period_ns;           /* 1e9 / rate */
    bool idle;                    /* wall time instead of CPU time */
    int64_t time_nanos;           /* wall clock start of the run */
    int64_t duration_nanos;
};

/* Writes the profile, gzipped, to f.  0, -ENOMEM or -EIO. */
int export_pprof_write(FILE *f, const struct pprof_source *src);
/* The same in two steps, so the caller can gzip and write outside its
 * lock: the message, not gzipped, into a malloc'ed buffer (0 or -ENOMEM),
 * then gzip it to f (0 or -EIO). */
int export_pprof_encode(const struct pprof_source *src, uint8_t **out, size_t *len);
int export_pprof_gzip(FILE *f, const uint8_t *buf, size_t len);

#endif
