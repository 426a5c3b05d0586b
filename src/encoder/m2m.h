/* What src/encoder/m2m.c (the streaming: submit, collect, the switch from import to copy) and
 * src/encoder/m2m_device.c (the device: choosing and opening it, the formats on both queues, the
 * buffers, the teardown off the loop thread) share, and no one else. The encoder's contract is
 * include/mjpegd/encoder.h; who owns which buffer when, include/mjpegd/encoder/m2m_book.h.
 *
 * The devices: Raspberry Pi's bcm2835-codec image encoder (JPEG), vicodec's stateful encoder
 * (FWHT) on the test bed.
 *
 * OUTPUT queue (raw frames in): V4L2_MEMORY_DMABUF importing the source's exported buffers, zero
 * copy, when the source has dma-bufs laid out as the device reads them (bytesperline, chroma
 * offset, size: raw_layout_match()); otherwise, or when the first import fails (a device that
 * needs physically contiguous memory cannot import a vmalloc'd buffer of a UVC camera), MMAP
 * buffers and one memcpy per frame, counted in bytes_copied. The OUTPUT queue is started with
 * the first frame, so that switch needs no stream restart with frames in flight.
 * CAPTURE queue (encoded frames out): MMAP; each result is lent to a struct frame pointing into
 * the mapping (frame_set_external) and queued again when its last reference goes.
 * M2M_OUTPUT_SLOTS frames are in flight at once.
 *
 * Everything runs on the loop thread but the device's teardown (m2m_destroy()), which runs on a
 * thread of its own because it may block for seconds. The device is watched for POLLIN (a result
 * on the CAPTURE queue) only, through an epoll fd, which is what the loop polls. Finished OUTPUT
 * buffers (their raw frames go back to the source) are dequeued with each result, and when
 * submit finds every slot busy: bcm2835-codec returns a job's OUTPUT buffer when the VPU has read
 * it, before its JPEG (the input port's buffer callback), and watching POLLOUT would cost two
 * wake-ups per frame for it (docs/zero-copy.md says what one still costs).
 * io_uring cannot poll the node itself: io_uring's POLL_ADD on the M2M node itself fails with
 * EINVAL, because v4l2_m2m_poll() waits on three queues (OUTPUT done, CAPTURE done, V4L2 events)
 * and io_uring accepts two ("already have a 2nd entry, fail a third attempt",
 * io_uring/poll.c __io_queue_proc(), Linux 6.1; seen on the test bed). epoll takes any number.
 */
#ifndef MJPEGD_SRC_ENCODER_M2M_H
#define MJPEGD_SRC_ENCODER_M2M_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mjpegd/encoder.h"
#include "mjpegd/encoder/m2m_book.h"
#include "mjpegd/log.h"
#include "mjpegd/v4l2/device.h"
#include "mjpegd/v4l2/layout.h"

/* Three raw frames in the encoder at once: the device works on one while the next waits, and the
 * source (4 buffers by default) keeps one to capture into. */
#define M2M_OUTPUT_SLOTS 3
/* Importing, one OUTPUT slot per camera buffer (m2m_book.h: a slot keeps its dma-buf); a DMABUF
 * slot costs no memory. Copying, M2M_OUTPUT_SLOTS MMAP buffers. */
#define M2M_IMPORT_SLOTS M2M_MAX_BUFFERS
/* bcm2835-codec allocates 4 MiB per JPEG CAPTURE buffer (DEF_COMP_BUF_SIZE_JPEG in
 * bcm2835-v4l2-codec.c): four is 16 MiB of CMA. Lent buffers beyond that are copied out. */
#define M2M_CAPTURE_BUFFERS 4

enum m2m_mode {
	M2M_IMPORT, /* OUTPUT: V4L2_MEMORY_DMABUF */
	M2M_COPY,   /* OUTPUT: V4L2_MEMORY_MMAP, one memcpy per frame */
};

struct m2m_encoder {
	struct encoder enc;
	int fd;
	int epoll_fd; /* readable when the device has POLLIN (or an error) */
	uint32_t out_type, cap_type; /* buffer types of the OUTPUT and CAPTURE queues */
	char path[64], card[33], driver[17];
	char log_prefix[LOG_PREFIX_MAX]; /* "m2m /dev/videoN", each line about it starts so */
	uint32_t in_fourcc, out_fourcc;
	unsigned width, height;    /* the picture; the JPEG's SOF must say exactly this */
	struct raw_layout layout;  /* what the OUTPUT queue reads */
	bool cropped;              /* S_SELECTION set the picture inside padded rows */
	uint32_t output_sizeimage; /* the driver's: bytesused of every OUTPUT buffer */
	enum m2m_mode mode;
	char copy_reason[256];
	bool output_streaming, capture_streaming, imported_once, failed;
	bool idle; /* the last collect found no result (m2m_collect()) */
	bool collected; /* the last collect returned a frame: the next one ends the wake-up */
	unsigned quality;
	struct frame_pool *pool;
	encoder_release_raw_fn release_raw;
	void *release_ctx;
	struct m2m_book book;
	uint8_t *output_map[M2M_MAX_BUFFERS];
	size_t output_map_len[M2M_MAX_BUFFERS];
	unsigned n_output_buffers; /* allocated with REQBUFS (book.n_output mirrors it) */
	int slot_fd[M2M_MAX_BUFFERS]; /* the dma-buf fd each OUTPUT slot was last queued with */
	uint8_t *capture_map[M2M_MAX_BUFFERS];
	size_t capture_map_len[M2M_MAX_BUFFERS];
	uint64_t capture_copies;
	unsigned errors_logged;
	char description[384];
};

/* m2m.c */
extern const struct encoder_ops m2m_ops;
int m2m_queue_capture(struct m2m_encoder *me, unsigned index);
int m2m_stream(struct m2m_encoder *me, uint32_t type, bool on);
int m2m_set_quality(struct encoder *enc, unsigned quality);

/* m2m_device.c */
void m2m_describe(struct m2m_encoder *me);
int m2m_request_buffers(struct m2m_encoder *me, uint32_t type, uint32_t memory, unsigned count,
			unsigned *got);
/* OUTPUT buffers for the current mode: none to map for an import, MMAP ones to copy into. */
int m2m_setup_output(struct m2m_encoder *me);
/* The device made a JPEG of another size than width x height: not used at that size again. */
void m2m_note_wrong_size(const char *path, unsigned width, unsigned height);
void m2m_destroy(struct encoder *enc);

#endif
