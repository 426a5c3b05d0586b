/* libcamera source: struct source over the C++ shim (libcamera_shim.h), which lives in the plugin
 * and is reached through its table (libcamera_plugin_load()); see
 * include/mjpegd/source/libcamera_source.h.
 *
 * Hand-over from libcamera's thread to the loop thread, per completed request:
 *   camera thread: completions[buffer] = metadata → spsc_push(buffer) → eventfd += 1
 *   loop thread:   eventfd readable → dequeue: spsc_pop → frame lent (in_flight)
 *                  → … encoder … → release: lcshim requeue(buffer) (Request reused, ReuseBuffers)
 * A buffer index is in at most one place at a time (camera, queue, or lent), so the queue never
 * holds more than n_buffers entries and a slot's metadata is written only while the loop cannot
 * look at it. The disconnect flag is an atomic written by the camera thread.
 *
 * --snapshot-size (a second, full-size stream, when the shim got one: lcshim_stream.n_full_buffers):
 * a completed request may also carry a full-size buffer (completions[].full_buffer). Its owner
 * then, in turn: the source's full_ready slot (the newest one; the one it replaces goes back to
 * the shim at once with requeue_full), lent by dequeue_full (full.in_flight), back to the shim at
 * release. The shim puts a free full-size buffer into each request it queues and none when all
 * are held, so the stream's requests never wait for a full-size one.
 *
 * Buffer memory: libcamera owns the FrameBuffers and their DMABUFs. Each DMABUF is mapped
 * read-only once, when the source opens, so the software encoder reads frames in place; a
 * zero-copy encoder uses planes[].dmabuf_fd/dmabuf_offset/buffer_size instead
 * (libcamera_describe_frame). source.dmabuf says whether an M2M encoder can import the buffers as
 * libcamera laid them out (libcamera_frame_importable against the request's stride_align and
 * height_align: libcamera reports the stride, mjpegd cannot ask for one); when not, it is false,
 * the reason is logged once at info, and the encoder copies. CPU reads are bracketed with
 * DMA_BUF_IOCTL_SYNC (start at dequeue, end at release): on the Pi the buffers are cached CMA
 * memory and the ISP writes them behind the CPU's cache.
 *
 * One file (about 700 lines): the hand-over, the buffer mappings and the opening all work on
 * struct lc_source and its two lc_sets, and splitting them would put that struct in a header for
 * no other reader; the pure frame arithmetic is libcamera_frame.c, the C++ is the plugin's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/dma-buf.h>

#include "mjpegd/bug.h"
#include "mjpegd/clock.h"
#include "mjpegd/source/libcamera_plugin.h"
#include "mjpegd/source/libcamera_source.h"
#include "mjpegd/log.h"
#include "mjpegd/v4l2/holders.h"
#include "mjpegd/v4l2/layout.h"

#include "libcamera_shim.h"

#define NO_CAMERA_HINT                                                                            \
	"no libcamera camera found (is camera_auto_detect=1 in /boot/config.txt, or "            \
	"/boot/firmware/config.txt on Bookworm? is the ribbon cable seated, contacts facing the "  \
	"right way?)"

#include "mjpegd/spsc.h"

_Static_assert(LIBCAMERA_MAX_BUFFERS == LCSHIM_MAX_BUFFERS, "buffer limits differ");
_Static_assert(LCSHIM_MAX_PLANES <= RAW_MAX_PLANES, "more shim planes than raw planes");
_Static_assert(sizeof(((struct libcamera_camera_info *)0)->id) == LCSHIM_ID_MAX &&
		       sizeof(((struct libcamera_camera_info *)0)->model) == LCSHIM_MODEL_MAX,
	       "camera info sizes differ");

/* Power of two ≥ LCSHIM_MAX_BUFFERS: the queue can never be full. */
#define LC_QUEUE_CAPACITY 16
_Static_assert(LC_QUEUE_CAPACITY >= LCSHIM_MAX_BUFFERS, "queue smaller than the buffer count");

struct lc_mapping {
	int fd; /* libcamera's; not ours to close */
	uint8_t *addr;
	size_t len;
	size_t dmabuf_size; /* the whole dma-buf (lseek to its end), ≥ len */
};

/* One stream's raw frames over the shim's buffers. Loop thread only. */
struct lc_set {
	struct raw_frame frames[LCSHIM_MAX_BUFFERS];
	bool in_flight[LCSHIM_MAX_BUFFERS];
	unsigned frame_maps[LCSHIM_MAX_BUFFERS][LCSHIM_MAX_PLANES]; /* distinct mappings per frame */
	unsigned n_frame_maps[LCSHIM_MAX_BUFFERS];
};

struct lc_source {
	const struct lcshim_ops *shim_ops; /* the plugin's table (libcamera_plugin_load()) */
	struct source src;
	struct lcshim *shim;
	struct lcshim_stream info;
	int event_fd;

	/* camera thread → loop thread */
	struct spsc done;
	uintptr_t done_slots[LC_QUEUE_CAPACITY];
	struct lcshim_completion completions[LCSHIM_MAX_BUFFERS]; /* see the top of the file */
	atomic_bool disconnected;

	/* loop thread only */
	struct mono_wall clock; /* capture times → X-Timestamp */
	struct lc_set stream;
	struct lc_set full;          /* the full-size stream's (info.n_full_buffers of them) */
	struct raw_frame *full_ready; /* the newest full-size frame, not yet dequeued; NULL: none */
	struct lc_mapping maps[2 * LCSHIM_MAX_BUFFERS * LCSHIM_MAX_PLANES];
	unsigned n_maps;
	bool sync_supported;
	bool have_sequence;
	uint64_t last_sequence;
	uint64_t frames_failed;
	bool failure_logged, disconnect_logged, requeue_error_logged;
	char description[160];
	char unfit[256]; /* why an M2M encoder cannot import the buffers (src.dmabuf_unfit) */
	/* "libcamera", then "libcamera: ID" once the camera is open (as the shim's lines) */
	char log_prefix[LOG_PREFIX_MAX];
};

static void lc_wake(struct lc_source *lc)
{
	const uint64_t one = 1;
	/* Cannot fail short of the counter reaching 2^64-1. */
	ssize_t n = write(lc->event_fd, &one, sizeof(one));
	(void)n;
}

/* libcamera's thread. */
static void lc_completed(void *ctx, const struct lcshim_completion *c)
{
	struct lc_source *lc = ctx;
	if (c->buffer >= lc->info.n_buffers)
		return;
	lc->completions[c->buffer] = *c;
	/* Cannot be full: it has room for every buffer and each is in it at most once. */
	if (spsc_push(&lc->done, c->buffer))
		lc_wake(lc);
}

/* libcamera's thread. */
static void lc_disconnected(void *ctx)
{
	struct lc_source *lc = ctx;
	atomic_store_explicit(&lc->disconnected, true, memory_order_release);
	lc_wake(lc);
}

static void lc_drain_eventfd(struct lc_source *lc)
{
	uint64_t count;
	ssize_t n = read(lc->event_fd, &count, sizeof(count));
	(void)n; /* EAGAIN: nothing to drain */
}

static void lc_sync(struct lc_source *lc, const struct lc_set *set, unsigned buffer, uint64_t flags)
{
	if (!lc->sync_supported)
		return;
	for (unsigned i = 0; i < set->n_frame_maps[buffer]; i++) {
		struct dma_buf_sync sync = { .flags = flags | DMA_BUF_SYNC_READ };
		int fd = lc->maps[set->frame_maps[buffer][i]].fd;
		while (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			/* Exporters without begin/end_cpu_access are coherent; stop asking. */
			log_obj_debug_errno(lc->log_prefix, -errno, "DMA_BUF_IOCTL_SYNC, not syncing "
					    "again");
			lc->sync_supported = false;
			return;
		}
	}
}

static void lc_requeue(struct lc_source *lc, unsigned buffer)
{
	int r = lc->shim_ops->requeue(lc->shim, buffer);
	if (r >= 0 || atomic_load_explicit(&lc->disconnected, memory_order_acquire))
		return;
	if (!lc->requeue_error_logged) {
		log_obj_err_errno(lc->log_prefix, r, "giving buffer %u back to the camera",
				  buffer);
		lc->requeue_error_logged = true;
	}
}

static void lc_requeue_full(struct lc_source *lc, unsigned buffer)
{
	int r = lc->shim_ops->requeue_full(lc->shim, buffer);
	if (r < 0 && !lc->requeue_error_logged) {
		log_obj_err_errno(lc->log_prefix, r, "giving full-size buffer %u back to the camera",
				  buffer);
		lc->requeue_error_logged = true;
	}
}

/* The full-size buffer a completed request carried (c->full_buffer ≥ 0): the newest, kept in
 * full_ready in place of the one there (which goes back), or back at once when it failed. */
static void lc_take_full(struct lc_source *lc, const struct lcshim_completion *c, bool ok)
{
	if (c->full_buffer < 0 || (unsigned)c->full_buffer >= lc->info.n_full_buffers)
		return;
	unsigned b = (unsigned)c->full_buffer;
	if (!ok || c->full_status < 0) {
		lc_requeue_full(lc, b);
		return;
	}
	if (lc->full_ready)
		lc_requeue_full(lc, lc->full_ready->index);
	struct raw_frame *f = &lc->full.frames[b];
	f->sequence = c->sequence;
	f->timestamp_us = mono_wall_us(&lc->clock, c->timestamp_ns / 1000);
	if (f->n_planes == lc->info.full_buffers[b].n_planes)
		for (unsigned i = 0; i < f->n_planes; i++)
			if (c->full_bytesused[i])
				f->planes[i].length = c->full_bytesused[i];
	lc->full_ready = f;
}

static int lc_fd(struct source *src)
{
	struct lc_source *lc = src->priv;
	return lc->event_fd;
}


static int lc_dequeue(struct source *src, struct raw_frame **out)
{
	struct lc_source *lc = src->priv;

	if (atomic_load_explicit(&lc->disconnected, memory_order_acquire)) {
		lc_drain_eventfd(lc);
		if (!lc->disconnect_logged) {
			log_obj_err(lc->log_prefix, "camera disconnected");
			lc->disconnect_logged = true;
		}
		return -ENODEV;
	}

	uintptr_t index;
	if (!spsc_pop(&lc->done, &index)) {
		/* Drain, then look again: a completion pushed after the drain also writes the
		 * eventfd after it, so none is missed. */
		lc_drain_eventfd(lc);
		if (!spsc_pop(&lc->done, &index))
			return -EAGAIN;
	}
	const struct lcshim_completion *c = &lc->completions[index];

	if (c->status < 0) {
		lc->frames_failed++;
		src->stats.frames_dropped++;
		if (!lc->failure_logged) {
			log_obj_err(lc->log_prefix, "%s (logged once; /status counts them as dropped)",
				    c->status == -ECANCELED ? "a capture request was cancelled"
				    : "a frame failed");
			lc->failure_logged = true;
		}
		/* A failed frame still used its sequence number: the next one is no gap. */
		if (c->status == -EIO && (!lc->have_sequence || c->sequence > lc->last_sequence)) {
			lc->have_sequence = true;
			lc->last_sequence = c->sequence;
		}
		lc_take_full(lc, c, false);
		lc_requeue(lc, (unsigned)index);
		/* The caller stops dequeuing on an error: keep the fd readable for the rest. */
		if (spsc_count(&lc->done) > 0)
			lc_wake(lc);
		return -EIO;
	}

	if (lc->have_sequence && c->sequence > lc->last_sequence + 1)
		src->stats.frames_dropped += c->sequence - lc->last_sequence - 1;
	lc->have_sequence = true;
	lc->last_sequence = c->sequence;

	lc_take_full(lc, c, true);
	struct raw_frame *f = &lc->stream.frames[index];
	f->sequence = c->sequence;
	f->timestamp_us = mono_wall_us(&lc->clock, c->timestamp_ns / 1000);
	/* (A single plane split into Y, Cb, Cr has one bytesused for all of them: kept as split.) */
	if (f->n_planes == lc->info.buffers[index].n_planes)
		for (unsigned i = 0; i < f->n_planes; i++)
			if (c->bytesused[i])
				f->planes[i].length = c->bytesused[i];
	lc_sync(lc, &lc->stream, (unsigned)index, DMA_BUF_SYNC_START);
	lc->stream.in_flight[index] = true;
	src->stats.frames_captured++;
	*out = f;
	return 0;
}

/* The newest full-size frame that came with the stream's frames dequeued so far. */
static int lc_dequeue_full(struct source *src, struct raw_frame **out)
{
	struct lc_source *lc = src->priv;
	struct raw_frame *f = lc->full_ready;
	if (!f)
		return -EAGAIN;
	lc->full_ready = NULL;
	lc_sync(lc, &lc->full, f->index, DMA_BUF_SYNC_START);
	lc->full.in_flight[f->index] = true;
	*out = f;
	return 0;
}

static void lc_release(struct source *src, struct raw_frame *f)
{
	struct lc_source *lc = src->priv;
	bool full = f && f->index < lc->info.n_full_buffers && f == &lc->full.frames[f->index];
	if (MJPEGD_BUG_OBJ(!f || (!full && (f->index >= lc->info.n_buffers ||
					    f != &lc->stream.frames[f->index])),
			   lc->log_prefix, "released a frame it does not own"))
		return;
	struct lc_set *set = full ? &lc->full : &lc->stream;
	if (MJPEGD_BUG_OBJ(!set->in_flight[f->index], lc->log_prefix, "frame %llu released twice",
			   (unsigned long long)f->sequence))
		return;
	set->in_flight[f->index] = false;
	lc_sync(lc, set, f->index, DMA_BUF_SYNC_END);
	if (full)
		lc_requeue_full(lc, f->index);
	else
		lc_requeue(lc, f->index);
}

static void lc_destroy(struct source *src)
{
	struct lc_source *lc = src->priv;
	for (unsigned i = 0; i < LCSHIM_MAX_BUFFERS; i++)
		if (lc->stream.in_flight[i] || lc->full.in_flight[i])
			log_obj_err(lc->log_prefix, "destroyed while frame %llu is still lent",
				    (unsigned long long)(lc->stream.in_flight[i] ? lc->stream.frames[i]
				    : lc->full.frames[i])
				    .sequence);
	/* First: once it returns, libcamera's thread no longer calls us. */
	lc->shim_ops->close(lc->shim);
	if (lc->frames_failed)
		log_obj_notice(lc->log_prefix, "%llu failed frames in this session",
			       (unsigned long long)lc->frames_failed);
	for (unsigned i = 0; i < lc->n_maps; i++)
		munmap(lc->maps[i].addr, lc->maps[i].len);
	if (lc->event_fd >= 0)
		close(lc->event_fd);
	free(lc);
}

static int lc_controls(struct source *src, struct control_list *l)
{
	struct lc_source *lc = src->priv;
	return lc->shim_ops->controls(lc->shim, l);
}

static int lc_set_controls(struct source *src, const struct control_list *l,
			   const struct control_set *set, char *why, size_t whylen)
{
	struct lc_source *lc = src->priv;
	return lc->shim_ops->set_controls(lc->shim, l, set, why, whylen);
}

static const struct source_ops lc_ops = {
	.name = "libcamera",
	.fd = lc_fd,
	.dequeue = lc_dequeue,
	.release = lc_release,
	.destroy = lc_destroy,
	.controls = lc_controls,
	.set_controls = lc_set_controls,
	.dequeue_full = lc_dequeue_full,
};

/* Index of the mapping of fd, created (read-only, whole extent) on first use. */
static int lc_map(struct lc_source *lc, int fd, size_t extent, unsigned *out)
{
	for (unsigned i = 0; i < lc->n_maps; i++) {
		if (lc->maps[i].fd == fd) {
			/* planes are described up front */
			if (MJPEGD_BUG_OBJ(lc->maps[i].len < extent, lc->log_prefix, "mapping %u is %zu "
					   "bytes, a plane needs %zu", i, lc->maps[i].len, extent))
				return -EINVAL;
			*out = i;
			return 0;
		}
	}
	if (lc->n_maps == sizeof(lc->maps) / sizeof(lc->maps[0]))
		return -ENOBUFS;
	void *addr = mmap(NULL, extent, PROT_READ, MAP_SHARED, fd, 0);
	if (addr == MAP_FAILED)
		return -errno;
	/* dma-bufs report their size through lseek; anything else counts as just the planes */
	off_t size = lseek(fd, 0, SEEK_END);
	lc->maps[lc->n_maps] = (struct lc_mapping){
		.fd = fd, .addr = addr, .len = extent,
		.dmabuf_size = size > 0 && (size_t)size > extent ? (size_t)size : extent,
	};
	*out = lc->n_maps++;
	return 0;
}

/* True when fds a and b are the same dma-buf (dup'ed fds of one buffer compare unequal). */
static bool lc_same_dmabuf(int a, int b)
{
	if (a == b)
		return true;
	struct stat sa, sb;
	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* What lc_setup_frames() describes: one stream's buffers and layout. */
struct lc_layout {
	const struct lcshim_buffer *buffers;
	unsigned n_buffers, width, height;
	size_t stride;
};

/* Maps every DMABUF once and describes the raw frames over them (libcamera_describe_frame), each
 * picture_height rows high (the camera's rows, or fewer when it was asked for padded ones). */
static int lc_setup_frames(struct lc_source *lc, struct lc_set *set, const struct lc_layout *lay,
			   unsigned picture_height)
{
	const struct lcshim_stream *info = &lc->info;
	for (unsigned b = 0; b < lay->n_buffers; b++) {
		const struct lcshim_buffer *buf = &lay->buffers[b];
		/* the shim checked */
		if (MJPEGD_BUG_OBJ(buf->n_planes == 0 || buf->n_planes > LCSHIM_MAX_PLANES,
				   lc->log_prefix, "buffer %u has %u planes", b, buf->n_planes))
			return -EINVAL;
		struct libcamera_plane planes[LCSHIM_MAX_PLANES];
		unsigned plane_map[LCSHIM_MAX_PLANES];
		for (unsigned p = 0; p < buf->n_planes; p++) {
			const struct lcshim_plane *pl = &buf->planes[p];
			planes[p] = (struct libcamera_plane){ .fd = pl->fd, .offset = pl->offset,
							      .length = pl->length };
			/* One dma-buf under several fds is described by the first one, so the
			 * planes show as one buffer (an M2M encoder imports one fd). */
			for (unsigned q = 0; q < p; q++) {
				if (lc_same_dmabuf(planes[q].fd, pl->fd)) {
					planes[p].fd = planes[q].fd;
					break;
				}
			}
		}
		for (unsigned p = 0; p < buf->n_planes; p++) {
			/* The whole extent of this dma-buf across the buffer's planes, mapped once. */
			size_t extent = 0;
			for (unsigned q = 0; q < buf->n_planes; q++)
				if (planes[q].fd == planes[p].fd &&
				    planes[q].offset + planes[q].length > extent)
					extent = planes[q].offset + planes[q].length;
			unsigned m = 0;
			int r = lc_map(lc, planes[p].fd, extent, &m);
			if (r < 0)
				return log_obj_err_errno(lc->log_prefix, r, "mapping buffer %u plane %u "
							 "(%zu bytes)", b, p,
							 extent);
			planes[p].dmabuf_size = lc->maps[m].dmabuf_size;
			plane_map[p] = m;
			bool seen = false;
			for (unsigned k = 0; k < set->n_frame_maps[b]; k++)
				seen |= set->frame_maps[b][k] == m;
			if (!seen)
				set->frame_maps[b][set->n_frame_maps[b]++] = m;
		}

		struct raw_frame *f = &set->frames[b];
		int r = libcamera_describe_frame(info->fourcc, lay->width, lay->height,
						 lay->stride, planes, buf->n_planes, f);
		if (r < 0)
			return log_obj_err_errno(lc->log_prefix, r, "buffer %u: %u planes that do not "
						 "make a %ux%u %.4s image (stride %zu)",
						 b, buf->n_planes, lay->width,
						 lay->height, (const char *)&info->fourcc,
						 lay->stride);
		f->index = b;
		f->height = picture_height;
		for (unsigned i = 0; i < f->n_planes; i++) {
			/* the mapping of the dma-buf this plane lies in */
			unsigned m = plane_map[0];
			for (unsigned p = 0; p < buf->n_planes; p++)
				if (planes[p].fd == f->planes[i].dmabuf_fd)
					m = plane_map[p];
			f->planes[i].data = lc->maps[m].addr + f->planes[i].dmabuf_offset;
		}
	}
	return 0;
}

/* Whether an M2M encoder can import every buffer as it is (source.dmabuf); says why not once. */
static bool lc_importable(struct lc_source *lc, const struct source_params *p)
{
	char why[200];
	unsigned stride_align = source_params_stride_align(p, lc->info.fourcc);
	for (unsigned b = 0; b < lc->info.n_buffers; b++) {
		if (!libcamera_frame_importable(&lc->stream.frames[b], stride_align, p->height_align, why,
						sizeof(why))) {
			log_obj_info(lc->log_prefix, "its buffers do not fit the M2M encoder's layout (%s): "
				     "an M2M encoder would copy every frame",
				     why);
			snprintf(lc->unfit, sizeof(lc->unfit), "libcamera's buffers do not fit the "
				 "encoder's layout: %s", why);
			lc->src.dmabuf_unfit = lc->unfit;
			return false;
		}
	}
	return true;
}

static int lc_open(const struct source_params *p, bool quiet_when_absent, struct source **out)
{
	unsigned buffers = p->buffers ? p->buffers : LIBCAMERA_DEFAULT_BUFFERS;
	if (p->width < 16 || p->height < 16 || p->width % 2 || p->height % 2 || p->fps < 1 ||
	    (p->rotation != 0 && p->rotation != 180) || buffers > LIBCAMERA_MAX_BUFFERS) {
		return log_err_errno(-EINVAL, "libcamera: unsupported parameters %ux%u@%u rotation "
				     "%u, %u buffers (even sizes, rotation 0 or 180, "
				     "1..%d buffers)", p->width, p->height, p->fps,
				     p->rotation, buffers, LIBCAMERA_MAX_BUFFERS);
	}

	/* auto goes on to V4L2 cameras when the plugin cannot be used: a warning then, not an error */
	const struct lcshim_ops *ops;
	int r = libcamera_plugin_load(quiet_when_absent ? LOG_LEVEL_WARNING : LOG_LEVEL_ERR, &ops);
	if (r < 0)
		return r;

	struct lc_source *lc = calloc(1, sizeof(*lc));
	if (!lc)
		return log_err_errno(-ENOMEM, "libcamera");
	lc->shim_ops = ops;
	snprintf(lc->log_prefix, sizeof(lc->log_prefix), "libcamera");
	lc->event_fd = -1;
	lc->sync_supported = true;
	atomic_init(&lc->disconnected, false);
	spsc_init(&lc->done, lc->done_slots, LC_QUEUE_CAPACITY);
	lc->src = (struct source){
		.ops = &lc_ops,
		.description = lc->description,
		.fps = p->fps,
		.priv = lc,
	};

	lc->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (lc->event_fd < 0) {
		r = -errno;
		log_obj_err_errno(lc->log_prefix, r, "eventfd");
		goto fail;
	}

	/* An encoder that reads rows padded to height_align (bcm2835-codec: 16) imports a
	 * libcamera buffer only when the camera wrote that many rows: ask for them, and give
	 * frames of the rows asked for (libcamera_rows()). */
	const unsigned rows = libcamera_rows(p->height, p->height_align, p->pad_rows);
	struct lcshim_params sp = {
		.camera = p->camera,
		.skip_external = quiet_when_absent,
		.width = p->width,
		.height = rows,
		.picture_height = p->height,
		.fps = p->fps,
		.formats = p->formats,
		.n_formats = p->n_formats,
		.rotation = p->rotation,
		.hflip = p->hflip,
		.vflip = p->vflip,
		.buffers = buffers,
	};
	/* --snapshot-size (the pipeline asks only for a size other than the stream's) */
	if (p->full_width && p->full_height && p->full_buffers &&
	    (p->full_width != p->width || p->full_height != p->height)) {
		sp.full_width = p->full_width;
		sp.full_height = p->full_height;
		sp.full_buffers = p->full_buffers > LCSHIM_MAX_BUFFERS ? LCSHIM_MAX_BUFFERS
								     : p->full_buffers;
	}
	const struct lcshim_callbacks cb = {
		.completed = lc_completed,
		.disconnected = lc_disconnected,
		.ctx = lc,
	};
	r = lc->shim_ops->open(&sp, &cb, &lc->shim, &lc->info);
	if ((r == -ENODEV || r == -ENOENT) && !quiet_when_absent) {
		/* libcamera (vimc's handler, 0.0.3) leaves out a camera whose media device another
		 * process streams from (its links cannot be set up: EBUSY): "no camera" then means
		 * "busy", which the pipeline waits out instead of exiting. Not for --source auto,
		 * which goes on to a V4L2 camera. */
		char who[512];
		if (media_holders("/dev", "/proc", getpid(), who, sizeof(who)) > 0) {
			log_obj_err(lc->log_prefix, "the camera is not listed while %s: another program "
				    "or mjpegd instance has it", who);
			r = -EBUSY;
		} else if (r == -ENODEV) {
			log_err_errno(-ENODEV, "%s", NO_CAMERA_HINT);
		}
		goto fail;
	}
	if (r == -ENODEV)
		goto fail;
	if (r < 0)
		goto fail; /* logged by the shim */

	const struct lcshim_stream *info = &lc->info;
	snprintf(lc->log_prefix, sizeof(lc->log_prefix), "libcamera: %s", info->camera_id);
	/* Granted at least the picture's rows: frames of those rows in the larger buffer (whether
	 * the encoder can import it is libcamera_frame_importable()'s to say: a packed format needs
	 * the padded rows or more, a planar one exactly those). Granted fewer rows, or another width
	 * (libcamera adjusts sizes): encoded at what it granted (the shim said so), the rows still
	 * cut to those asked for. */
	unsigned picture_height = info->height >= p->height ? p->height : info->height;
	lc->src.fourcc = info->fourcc;
	lc->src.width = info->width;
	lc->src.height = picture_height;
	lc->src.padded_height = info->height;
	const struct lc_layout stream_layout = {
		.buffers = info->buffers, .n_buffers = info->n_buffers, .width = info->width,
		.height = info->height, .stride = info->stride,
	};
	r = lc_setup_frames(lc, &lc->stream, &stream_layout, picture_height);
	if (r < 0)
		goto fail;
	if (info->n_full_buffers) {
		const struct lc_layout full_layout = {
			.buffers = info->full_buffers, .n_buffers = info->n_full_buffers,
			.width = info->full_width, .height = info->full_height,
			.stride = info->full_stride,
		};
		unsigned first_map = lc->n_maps;
		r = lc_setup_frames(lc, &lc->full, &full_layout, info->full_height);
		if (r < 0)
			goto fail;
		lc->src.full_width = info->full_width;
		lc->src.full_height = info->full_height;
		for (unsigned m = first_map; m < lc->n_maps; m++)
			lc->src.full_bytes += lc->maps[m].dmabuf_size;
	} else if (sp.full_width) {
		/* the pipeline says once that snapshots keep the stream's size */
		log_obj_warn(lc->log_prefix, "no second stream of %ux%u for --snapshot-size: %s",
			     sp.full_width, sp.full_height,
			     info->full_refused[0] ? info->full_refused : "the camera gives one stream");
	}
	if (picture_height != info->height)
		log_obj_info(lc->log_prefix, "asked for %u rows, %u of them the picture, so that the "
			     "encoder reads the buffers as they are (rows padded to %u)",
			     info->height, picture_height, p->height_align);
	lc->src.bytesperline = lc->stream.frames[0].planes[0].bytesperline;
	lc->src.dmabuf = lc_importable(lc, p);
	/* not applied: the pipeline puts the whole orientation in EXIF instead */
	lc->src.sensor_transformed = info->transform_applied;

	snprintf(lc->description, sizeof(lc->description), "libcamera %s %ux%u %.4s@%u%s%s",
		 info->model, info->width, picture_height, (const char *)&info->fourcc, p->fps,
		 info->autofocus ? " AF" : "", lc->src.dmabuf ? " dmabuf" : "");
	r = lc->shim_ops->start(lc->shim);
	if (r < 0)
		goto fail;
	if (info->n_full_buffers)
		log_obj_info(lc->log_prefix, "two streams: %ux%u for snapshots (%u buffers, %zu bytes) and "
			     "%ux%u for the stream", info->full_width,
			     info->full_height, info->n_full_buffers, lc->src.full_bytes, info->width,
			     info->height);
	if (info->max_fps && info->max_fps < p->fps)
		log_obj_warn(lc->log_prefix, "the sensor mode for %ux%u gives at most %u fps, not the %u "
			     "asked for", info->n_full_buffers ? info->full_width : info->width,
			     info->n_full_buffers ? info->full_height : info->height, info->max_fps,
			     p->fps);
	char mode_fps[48] = "";
	if (info->max_fps)
		snprintf(mode_fps, sizeof(mode_fps), " (its sensor mode: up to %u fps)",
			 info->max_fps);
	log_info("libcamera %s: camera %s (%s), %u buffers, %s%s%s%s", lc->shim_ops->version(),
		 info->camera_id, info->model, info->n_buffers,
		 info->frame_duration_set ? "fps set by frame duration" : "fps not settable", mode_fps,
		 info->autofocus ? ", continuous autofocus" : "",
		 (p->rotation || p->hflip || p->vflip) && info->transform_applied ? ", transformed"
										 : "");
	*out = &lc->src;
	return 0;

fail:
	lc_destroy(&lc->src);
	return r;
}

int source_libcamera_create(const struct source_params *p, struct source **out)
{
	return lc_open(p, false, out);
}

int source_libcamera_try_create(const struct source_params *p, struct source **out)
{
	return lc_open(p, true, out);
}

int source_libcamera_list(struct libcamera_camera_info *cams, unsigned max)
{
	struct lcshim_camera found[LCSHIM_MAX_BUFFERS];
	unsigned n = max < LCSHIM_MAX_BUFFERS ? max : LCSHIM_MAX_BUFFERS;
	const struct lcshim_ops *ops;
	int r = libcamera_plugin_load(LOG_LEVEL_ERR, &ops);
	if (r < 0)
		return r;
	r = ops->list(found, n);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n && i < (unsigned)r; i++) {
		memcpy(cams[i].id, found[i].id, sizeof(cams[i].id));
		memcpy(cams[i].model, found[i].model, sizeof(cams[i].model));
		cams[i].external = found[i].external;
	}
	return r;
}

bool source_libcamera_built(void)
{
	return libcamera_plugin_info()->built_against[0] != '\0';
}
