/* A lock-free single-producer/single-consumer ring of uintptr_t values (C11 atomics).
 *
 * One thread pushes, one other thread pops; neither ever blocks or takes a lock, so a camera
 * library's completion thread can hand work to the io_uring loop without waiting for it. Pair it
 * with an eventfd to wake the consumer (the producer writes the eventfd after the push).
 *
 * Positions only grow (wrapping at SIZE_MAX, which the power-of-two mask makes harmless); the
 * producer owns tail, the consumer owns head. Each side reads the other's position with acquire
 * and publishes its own with release, so a value stored before a push (and anything the producer
 * wrote before pushing, e.g. a frame's metadata) is visible to the consumer that pops it.
 *
 * The caller supplies the slot array (capacity: a power of two ≥ 2) and keeps it alive.
 */
#ifndef MJPEGD_SPSC_H
#define MJPEGD_SPSC_H

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPSC_CACHE_LINE 64

struct spsc {
	/* Each position on its own cache line: the two threads write different ones. */
	alignas(SPSC_CACHE_LINE) atomic_size_t head; /* next to pop; written by the consumer */
	alignas(SPSC_CACHE_LINE) atomic_size_t tail; /* next to fill; written by the producer */
	alignas(SPSC_CACHE_LINE) size_t mask;
	uintptr_t *slots;
};

/* 0, or -EINVAL when capacity is not a power of two ≥ 2. */
static inline int spsc_init(struct spsc *q, uintptr_t *slots, size_t capacity)
{
	if (capacity < 2 || (capacity & (capacity - 1)) != 0 || !slots)
		return -EINVAL;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	q->mask = capacity - 1;
	q->slots = slots;
	return 0;
}

/* Producer only. false when full (the value was not stored). */
static inline bool spsc_push(struct spsc *q, uintptr_t value)
{
	size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	if (tail - head > q->mask)
		return false;
	q->slots[tail & q->mask] = value;
	atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
	return true;
}

/* Consumer only. false when empty. */
static inline bool spsc_pop(struct spsc *q, uintptr_t *value)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	if (head == tail)
		return false;
	*value = q->slots[head & q->mask];
	atomic_store_explicit(&q->head, head + 1, memory_order_release);
	return true;
}

/* Either side; a snapshot that may be stale by the time it is used. */
static inline size_t spsc_count(struct spsc *q)
{
	size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	return tail - head;
}

#endif
