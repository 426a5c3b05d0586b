/* Refcounted encoded frames from a bounded pool; ownership rules in include/mjpegd/frame.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/videodev2.h>

#include "mjpegd/bug.h"
#include "mjpegd/frame.h"
#include "mjpegd/log.h"

int frame_pool_init(struct frame_pool *pool, unsigned capacity)
{
	memset(pool, 0, sizeof(*pool));
	if (capacity == 0)
		return -EINVAL;
	pool->frames = calloc(capacity, sizeof(*pool->frames));
	if (!pool->frames)
		return -ENOMEM;
	pool->capacity = capacity;
	for (unsigned i = capacity; i-- > 0;) {
		struct frame *f = &pool->frames[i];
		f->pool = pool;
		f->next_free = pool->free_list;
		pool->free_list = f;
	}
	return 0;
}

void frame_pool_destroy(struct frame_pool *pool)
{
	if (!pool->frames)
		return;
	MJPEGD_BUG(pool->in_use, "frame pool destroyed with %u frame(s) still referenced",
		   pool->in_use);
	for (unsigned i = 0; i < pool->capacity; i++)
		free(pool->frames[i].buf);
	free(pool->frames);
	memset(pool, 0, sizeof(*pool));
}

struct frame *frame_pool_acquire(struct frame_pool *pool)
{
	struct frame *f = pool->free_list;
	if (!f)
		return NULL;
	pool->free_list = f->next_free;
	pool->in_use++;
	f->next_free = NULL;
	f->refs = 1;
	f->data = f->buf;
	f->len = 0;
	f->sequence = 0;
	f->timestamp_us = 0;
	f->width = f->height = 0;
	f->fourcc = V4L2_PIX_FMT_JPEG;
	f->part_header_len = 0;
	f->exif_orientation = 1;
	f->own_exif_off = f->own_exif_len = 0;
	f->placeholder = false;
	f->release = NULL;
	f->release_ctx = NULL;
	return f;
}

int frame_reserve(struct frame *f, size_t cap)
{
	if (cap > f->cap) {
		uint8_t *nb = realloc(f->buf, cap);
		if (!nb)
			return -ENOMEM;
		f->pool->bytes_reserved += cap - f->cap;
		f->buf = nb;
		f->cap = cap;
	}
	f->data = f->buf;
	return 0;
}

void frame_adopt_buffer(struct frame *f, uint8_t *buf, size_t cap)
{
	struct frame_pool *pool = f->pool;
	pool->bytes_reserved = pool->bytes_reserved - f->cap + cap;
	free(f->buf);
	f->buf = buf;
	f->cap = cap;
	f->data = buf;
}

void frame_set_external(struct frame *f, const uint8_t *data, size_t len, frame_release_fn release,
			void *ctx)
{
	f->data = data;
	f->len = len;
	f->release = release;
	f->release_ctx = ctx;
}

struct frame *frame_ref(struct frame *f)
{
	f->refs++;
	return f;
}

void frame_unref(struct frame *f)
{
	if (!f)
		return;
	if (MJPEGD_BUG(f->refs == 0, "frame %llu: reference dropped twice",
		       (unsigned long long)f->sequence))
		return;
	if (--f->refs > 0)
		return;
	if (f->release) {
		frame_release_fn release = f->release;
		f->release = NULL;
		release(f->release_ctx, f);
	}
	struct frame_pool *pool = f->pool;
	f->data = NULL;
	f->len = 0;
	f->next_free = pool->free_list;
	pool->free_list = f;
	pool->in_use--;
}
