/* Hand-over of a worker's interval statistics to the reporter, without locks and
 * without either side ever waiting.
 *
 * The worker records into slot[published & 1]. At an interval boundary it calls
 * handover_publish(): if the reporter has taken everything published so far, the
 * worker switches to the other (cleared) slot and release-stores `published`; if the
 * reporter is late, the worker keeps recording into its current slot and tries again
 * later, so counts move to a later interval but are never lost. The reporter calls
 * handover_take() (acquire), reads and clears the slot, then handover_release().
 * Once the worker thread has been joined, the reporter may read both slots directly.
 */
#ifndef BARRAGE_STATS_HANDOVER_H
#define BARRAGE_STATS_HANDOVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct stats_handover {
    struct stats *slot[2];
    _Alignas(64) _Atomic uint64_t published;  /* written by the worker only */
    _Alignas(64) _Atomic uint64_t consumed;   /* written by the reporter only */
};

/* Worker side: the slot to record into now. */
static inline struct stats *handover_current(struct stats_handover *h)
{
    return h->slot[atomic_load_explicit(&h->published, memory_order_relaxed) & 1];
}

/* Worker side: publishes the current slot. Returns the slot to record into next,
 * or NULL when the reporter has not taken the previous one yet (keep recording). */
static inline struct stats *handover_publish(struct stats_handover *h)
{
    uint64_t pub = atomic_load_explicit(&h->published, memory_order_relaxed);
    if (atomic_load_explicit(&h->consumed, memory_order_acquire) != pub) return NULL;
    atomic_store_explicit(&h->published, pub + 1, memory_order_release);
    return h->slot[(pub + 1) & 1];
}

/* Reporter side: the slot published and not yet taken, or NULL. */
static inline struct stats *handover_take(struct stats_handover *h)
{
    uint64_t pub = atomic_load_explicit(&h->published, memory_order_acquire);
    if (pub == atomic_load_explicit(&h->consumed, memory_order_relaxed)) return NULL;
    return h->slot[(pub - 1) & 1];
}

/* Reporter side: gives back the slot from handover_take(), already cleared. */
static inline void handover_release(struct stats_handover *h)
{
    uint64_t pub = atomic_load_explicit(&h->published, memory_order_relaxed);
    atomic_store_explicit(&h->consumed, pub, memory_order_release);
}

#endif
