/*
 * stackmerge.c - native and Python stacks merged into one (see stackmerge.h).
 */
#include "src/model/stackmerge.h"

/* The output being written: frames past cap are counted as dropped, never
 * stored, so the merge itself runs the same whatever the cap. */
struct out {
    uint32_t *mods;
    uint64_t *vaddrs;
    size_t n, cap;
    bool dropped;
};

static void put(struct out *o, uint32_t mod, uint64_t vaddr)
{
    if (o->n == o->cap) {
        o->dropped = true;
        return;
    }
    o->mods[o->n] = mod;
    o->vaddrs[o->n] = vaddr;
    o->n++;
}

static void put_native(struct out *o, const struct stackmerge_in *in, size_t i)
{
    put(o, in->mods[i], in->vaddrs[i]);
}

static void put_python(struct out *o, const struct capture_pyframe *f)
{
    put(o, STACKMERGE_PY_MARK, stackmerge_py_vaddr(f->id, f->line));
}

static size_t count_eval(const struct stackmerge_in *in)
{
    size_t k = 0;
    for (size_t i = 0; i < in->n; i++)
        k += in->is_eval[i];
    return k;
}

/* Runs of Python frames, one per eval-loop invocation, by their entry
 * marks; 0 when the chain carries no marks (up to 3.10). */
static size_t count_runs(const struct stackmerge_in *in)
{
    size_t runs = 0;
    for (size_t j = 0; j < in->py_n; j++)
        runs += in->py[j].entry != 0;
    return runs;
}

/* Each eval frame, innermost first, takes the next run of Python frames:
 * up to and including the next frame marked as a run's entry. */
static void merge_runs(struct out *o, const struct stackmerge_in *in)
{
    size_t next = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (!in->is_eval[i]) {
            put_native(o, in, i);
            continue;
        }
        while (next < in->py_n) {
            bool last = in->py[next].entry != 0;
            put_python(o, &in->py[next++]);
            if (last)
                break;
        }
    }
}

/* Each eval frame takes `take` Python frames, innermost first: 1 when the
 * counts agree, all of them when there is a single eval frame. */
static void merge_counted(struct out *o, const struct stackmerge_in *in, size_t take)
{
    size_t next = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (!in->is_eval[i]) {
            put_native(o, in, i);
            continue;
        }
        for (size_t j = 0; j < take && next < in->py_n; j++)
            put_python(o, &in->py[next++]);
    }
}

/* Both stacks whole, Python innermost: also the native-only and the
 * Python-only stack, where one of the two is empty. */
static void side_by_side(struct out *o, const struct stackmerge_in *in, size_t m)
{
    for (size_t j = 0; j < m; j++)
        put_python(o, &in->py[j]);
    for (size_t i = 0; i < in->n; i++)
        put_native(o, in, i);
}

/* Which rule applies, by the counts (the order matters: see stackmerge.h). */
static enum stackmerge_how choose(const struct stackmerge_in *in, size_t m)
{
    if (!m)
        return STACKMERGE_NATIVE_ONLY;
    if (!in->n)
        return STACKMERGE_PYTHON_ONLY;
    size_t k = count_eval(in);
    if (k > 1 && k != m && count_runs(in) == k)
        return STACKMERGE_BY_RUNS;
    if (k == m)
        return STACKMERGE_ONE_TO_ONE;
    if (k == 1)
        return STACKMERGE_SINGLE_EVAL;
    return STACKMERGE_UNMERGED;
}

struct stackmerge_result stackmerge(const struct stackmerge_in *in, uint32_t *mods,
                                    uint64_t *vaddrs, size_t cap)
{
    size_t m = (in->flags & CAPTURE_PY) ? in->py_n : 0;
    struct out o = {mods, vaddrs, 0, cap, false};
    enum stackmerge_how how = choose(in, m);

    switch (how) {
    case STACKMERGE_BY_RUNS:
        merge_runs(&o, in);
        break;
    case STACKMERGE_ONE_TO_ONE:
        merge_counted(&o, in, 1);
        break;
    case STACKMERGE_SINGLE_EVAL:
        merge_counted(&o, in, m);
        break;
    case STACKMERGE_NATIVE_ONLY:
    case STACKMERGE_PYTHON_ONLY:
    case STACKMERGE_UNMERGED:
        side_by_side(&o, in, m);
        break;
    }
    return (struct stackmerge_result){o.n, how, how == STACKMERGE_UNMERGED, o.dropped};
}
