/*
 * capqueue.h - bounded single-producer/single-consumer queue of captures.
 *
 * The sampler thread (producer) reserves a slot, fills it while the thread is
 * stopped, and commits it; the processing thread (consumer) takes slots in
 * order and releases them.  All memory, stack buffers included, is allocated
 * by capqueue_new, so neither side allocates on the hot path.  When the queue
 * is full, capqueue_reserve returns NULL and the caller counts a lost sample.
 */
#ifndef PERTOP_CAPQUEUE_H
#define PERTOP_CAPQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sampler/capture.h"

struct capqueue;

/* slots: rounded up to a power of two; stack_cap: bytes per slot's stack. */
struct capqueue *capqueue_new(size_t slots, uint32_t stack_cap);
void capqueue_free(struct capqueue *q);

/* Producer side.  Reserving again before a commit returns the same slot, so
 * a capture that failed half-way is simply abandoned.  Neither call blocks. */
struct capture *capqueue_reserve(struct capqueue *q);
void capqueue_commit(struct capqueue *q);
/* A commit that does not wake a sleeping consumer, for a producer that
 * commits a batch and then calls capqueue_wake once: one wake-up per batch
 * instead of one per capture. */
void capqueue_commit_quiet(struct capqueue *q);
void capqueue_wake(struct capqueue *q);

/* Consumer side.  capqueue_take waits up to timeout_ms (0 = no wait) and
 * returns NULL when nothing arrived or the queue was closed and drained. */
struct capture *capqueue_take(struct capqueue *q, int timeout_ms);
void capqueue_release(struct capqueue *q);

/* Wake a waiting consumer and make further takes return NULL once empty. */
void capqueue_close(struct capqueue *q);
bool capqueue_closed(struct capqueue *q);

#endif
