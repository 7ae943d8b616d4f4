/*
 * fuzz_folded.c - the folded profile reader and `pertop diff`.
 *
 * The input is split at its first NUL byte into two profiles (without a
 * NUL, both are the whole input), each read with profile_parse (a folded
 * text; a binary-looking one goes to the pprof reader), then compared with
 * diff_profiles and written as diff_write_text does.  Every function and
 * stack of both profiles is read back.  A finding (crash, ASan or UBSan
 * report, leak, hang) is a bug in the reader or the diff: a profile file
 * is whatever the user was handed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "src/profile/diff.h"
#include "src/profile/profile.h"

static uint64_t touch(const struct profile *p)
{
    uint64_t sum = profile_samples(p);
    for (size_t i = 0; i < profile_nstacks(p); i++) {
        const struct prof_stack *s = profile_stack(p, i);
        for (uint32_t j = 0; j < s->n; j++)
            sum += profile_func(p, s->funcs[j])->self + strlen(profile_func(p, s->funcs[j])->name);
    }
    for (size_t i = 0; i < profile_nfuncs(p); i++) {
        const char *name = profile_func(p, (uint32_t)i)->name;
        if (profile_find(p, name) != (int64_t)i)
            __builtin_trap(); /* an interned name must find itself */
    }
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *null;
    if (!null)
        null = fopen("/dev/null", "w");
    const uint8_t *nul = memchr(data, '\0', size);
    size_t len1 = nul ? (size_t)(nul - data) : size;
    const uint8_t *b2 = nul ? nul + 1 : data;
    size_t len2 = nul ? size - len1 - 1 : size;
    struct profile *before = NULL, *after = NULL;
    char err[512];
    volatile uint64_t sink = 0;
    if (profile_parse(data, len1, "before", &before, err, sizeof err) == 0)
        sink += touch(before);
    if (profile_parse(b2, len2, "after", &after, err, sizeof err) == 0)
        sink += touch(after);
    if (before && after) {
        struct diff_table t;
        if (diff_profiles(before, after, &t) == 0) {
            diff_write_text(null, &t, before, after, "before", "after", 40);
            char cell[64];
            for (size_t i = 0; i < t.n && i < 64; i++) {
                sink += diff_self_change(&t.rows[i]) > diff_total_change(&t.rows[i]);
                diff_baseline_cell(before, t.rows[i].name, t.rows[i].self_after, cell, sizeof cell);
            }
            diff_table_free(&t);
        }
    }
    profile_free(before);
    profile_free(after);
    (void)sink;
    return 0;
}
