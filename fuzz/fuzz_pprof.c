/*
 * fuzz_pprof.c - the pprof reader: gzip, then protobuf.
 *
 * The input goes to profile_parse (gzip when it starts 1f 8b, else
 * protobuf when it looks binary, else folded text), and once more straight
 * to pprof_read as an uncompressed protobuf.  Every function and stack of
 * what was read is read back.  A finding (crash, ASan or UBSan report,
 * leak, hang) is a bug in the gzip or protobuf reading of a pprof file,
 * which comes from anyone.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "src/profile/pprof_read.h"
#include "src/profile/profile.h"

static uint64_t touch(const struct profile *p)
{
    uint64_t sum = profile_samples(p) + (uint64_t)profile_meta(p)->duration_s;
    sum += strlen(profile_meta(p)->command) + strlen(profile_meta(p)->engine);
    for (size_t i = 0; i < profile_nstacks(p); i++) {
        const struct prof_stack *s = profile_stack(p, i);
        for (uint32_t j = 0; j < s->n; j++)
            sum += strlen(profile_func(p, s->funcs[j])->name);
    }
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    volatile uint64_t sink = 0;
    struct profile *p = NULL;
    if (profile_parse(data, size, "in.pb.gz", &p, err, sizeof err) == 0)
        sink += touch(p);
    profile_free(p);
    p = profile_new(PROFILE_PPROF);
    if (p && pprof_read(p, data, size, false, "in.pb", err, sizeof err) == 0)
        sink += touch(p);
    profile_free(p);
    (void)sink;
    return 0;
}
