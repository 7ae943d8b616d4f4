/*
 * pthreads.c - the perf engine's thread table (see pthreads.h).
 *
 * Open addressing by tid with linear probing; a removed thread leaves a
 * tombstone, and the table is rebuilt in place when tombstones fill a
 * quarter of it, so thread churn never degrades the probes.
 */
#include "sampler/perf/pthreads.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "sampler/capture.h"
#include "sampler/proc/procfs.h"

#define SLOTS     (PTHREADS_MAX * 2u) /* at most half full */
#define EMPTY     0
#define TOMBSTONE (-1)

struct pthread_entry {
    pid_t tid; /* EMPTY, TOMBSTONE, or a thread */
    char name[CAPTURE_COMM_LEN];
};

struct pthreads {
    struct pthread_entry *e;
    size_t used, dead;
};

struct pthreads *pthreads_new(void)
{
    struct pthreads *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->e = calloc(SLOTS, sizeof *t->e);
    if (!t->e) {
        free(t);
        return NULL;
    }
    return t;
}

void pthreads_free(struct pthreads *t)
{
    if (!t)
        return;
    free(t->e);
    free(t);
}

static uint32_t slot_of(pid_t tid)
{
    return (uint32_t)hash_mix64((uint64_t)tid) & (SLOTS - 1);
}

/* tid's entry, or NULL. */
static struct pthread_entry *find(const struct pthreads *t, pid_t tid)
{
    if (tid <= 0)
        return NULL;
    for (uint32_t i = slot_of(tid), n = 0; n < SLOTS; i = (i + 1) & (SLOTS - 1), n++) {
        if (t->e[i].tid == tid)
            return &t->e[i];
        if (t->e[i].tid == EMPTY)
            return NULL;
    }
    return NULL;
}

/* Rebuilds the table without its tombstones. */
static void compact(struct pthreads *t)
{
    struct pthread_entry *old = t->e, *e = calloc(SLOTS, sizeof *e);
    if (!e)
        return; /* stays usable, only slower */
    t->e = e;
    t->dead = 0;
    for (size_t i = 0; i < SLOTS; i++) {
        if (old[i].tid <= 0)
            continue;
        uint32_t j = slot_of(old[i].tid);
        while (e[j].tid != EMPTY)
            j = (j + 1) & (SLOTS - 1);
        e[j] = old[i];
    }
    free(old);
}

static struct pthread_entry *insert(struct pthreads *t, pid_t tid)
{
    struct pthread_entry *e = find(t, tid);
    if (e || tid <= 0 || t->used >= PTHREADS_MAX)
        return e;
    if (t->dead > SLOTS / 4)
        compact(t);
    uint32_t i = slot_of(tid);
    while (t->e[i].tid > 0)
        i = (i + 1) & (SLOTS - 1);
    t->dead -= t->e[i].tid == TOMBSTONE;
    t->e[i] = (struct pthread_entry){.tid = tid};
    t->used++;
    return &t->e[i];
}

void pthreads_add(struct pthreads *t, pid_t tid)
{
    insert(t, tid);
}

void pthreads_remove(struct pthreads *t, pid_t tid)
{
    struct pthread_entry *e = find(t, tid);
    if (!e)
        return;
    e->tid = TOMBSTONE;
    t->used--;
    t->dead++;
}

size_t pthreads_count(const struct pthreads *t)
{
    return t->used;
}

void pthreads_set_name(struct pthreads *t, pid_t tid, const char *name)
{
    struct pthread_entry *e = insert(t, tid);
    if (e)
        snprintf(e->name, sizeof e->name, "%s", name);
}

void pthreads_name(const struct pthreads *t, pid_t tid, char *buf, size_t n)
{
    const struct pthread_entry *e = find(t, tid);
    snprintf(buf, n, "%s", e ? e->name : "");
}

size_t pthreads_load(struct pthreads *t, pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d));) {
        pid_t tid = (pid_t)atoi(de->d_name);
        struct proc_stat ps;
        if (tid <= 0 || procfs_read_stat(pid, tid, &ps) < 0)
            continue;
        pthreads_set_name(t, tid, ps.comm);
        n++;
    }
    closedir(d);
    return n;
}
