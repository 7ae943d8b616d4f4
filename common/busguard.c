/*
 * busguard.c - zero pages over a truncated mapping; see busguard.h.
 *
 * The handler's state is two statics: what to chain to, and the count.
 * They are set before the handler can run and read by it only.
 */
#include "common/busguard.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct sigaction next_action; /* the handler before ours */
static atomic_uint_fast64_t hits;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    long page = sysconf(_SC_PAGESIZE);
    if (si && si->si_code == BUS_ADRERR && page > 0) {
        uintptr_t at = (uintptr_t)si->si_addr & ~((uintptr_t)page - 1);
        void *p = mmap((void *)at, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                       -1, 0);
        if (p != MAP_FAILED) {
            atomic_fetch_add(&hits, 1);
            return; /* the read runs again, on zeros */
        }
    }
    /* not ours: the previous handler, once, then the default action */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGBUS, &dfl, NULL);
    if (next_action.sa_flags & SA_SIGINFO) {
        if (next_action.sa_sigaction)
            next_action.sa_sigaction(sig, si, uc);
    } else if (next_action.sa_handler != SIG_DFL && next_action.sa_handler != SIG_IGN) {
        next_action.sa_handler(sig);
    }
    raise(sig);
}

int busguard_install(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &old) != 0)
        return -errno;
    if (!(old.sa_flags & SA_SIGINFO && old.sa_sigaction == on_sigbus))
        next_action = old; /* installed again: keep what came in between */
    return 0;
}

uint64_t busguard_hits(void)
{
    return atomic_load(&hits);
}
