/*
 * cpumeter.c - a target's CPU time since sampling began (see cpumeter.h).
 */
#include "src/session/cpumeter.h"

#include <unistd.h>

#include "sampler/proc/procfs.h"

static bool read_ticks(pid_t pid, uint64_t *out)
{
    struct proc_stat st;
    if (procfs_read_stat(pid, 0, &st) < 0)
        return false;
    *out = st.utime + st.stime;
    return true;
}

void cpumeter_start(struct cpumeter *m, pid_t pid)
{
    long hz = sysconf(_SC_CLK_TCK);
    *m = (struct cpumeter){.pid = pid, .tick_s = 1.0 / (double)(hz > 0 ? hz : 100)};
    m->started = read_ticks(pid, &m->start);
    m->last = m->start;
}

double cpumeter_seconds(struct cpumeter *m)
{
    if (!m->started)
        return 0;
    uint64_t now;
    if (!m->frozen && read_ticks(m->pid, &now) && now >= m->start)
        m->last = now;
    return (double)(m->last - m->start) * m->tick_s;
}

void cpumeter_freeze(struct cpumeter *m)
{
    cpumeter_seconds(m);
    m->frozen = true;
}
