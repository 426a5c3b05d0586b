/* Talking to V4L2 nodes: ioctls with EINTR retry, and the probe that records a node's
 * VIDIOC_QUERYCAP / VIDIOC_ENUM_FMT answers for the pure decisions in v4l2/discover.h. */
#ifndef MJPEGD_V4L2_DEVICE_H
#define MJPEGD_V4L2_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include <linux/videodev2.h>

#include "mjpegd/v4l2/discover.h"

/* ioctl(2) retried on EINTR. 0 or a negative errno. (Not named v4l2_ioctl: libv4l2 exports that.) */
int xioctl(int fd, unsigned long request, void *arg);

/* Opens path (O_RDWR | O_NONBLOCK: a node never makes us wait), fills info and closes it.
 * On failure info->path is set and info->error holds the negative errno, also returned. */
int v4l2_probe(const char *path, struct v4l2_device_info *info);

/* The same from an open node. */
int v4l2_probe_fd(int fd, const char *path, struct v4l2_device_info *info);

/* Every /dev/video* node in numeric order, probed (a node that cannot be opened is listed with
 * its error). *out is malloc'd (free() it); returns the count or a negative errno. */
int v4l2_scan(struct v4l2_device_info **out);

/* One image format, the same for single- and multi-planar queues (one plane: the formats we use
 * keep all planes in one buffer). */
struct v4l2_pixfmt {
	uint32_t fourcc;
	unsigned width, height;
	uint32_t bytesperline, sizeimage;
};

/* VIDIOC_S_FMT (try_only: VIDIOC_TRY_FMT) on a queue of buffer type type with f, which is
 * replaced by the driver's answer. 0 or a negative errno. */
int v4l2_set_format(int fd, uint32_t type, struct v4l2_pixfmt *f, bool try_only);

/* VIDIOC_TRY_FMT on the OUTPUT queue of the M2M node at path (opened and closed again): what
 * the encoder would make of f, which is replaced by its answer. 0 or a negative errno. */
int v4l2_try_output_format(const char *path, struct v4l2_pixfmt *f);

/* A struct v4l2_buffer with its one plane, for either API. Initialise in place (b.m.planes points
 * at plane for a multi-planar type) and do not copy it. */
struct v4l2_buf {
	struct v4l2_buffer b;
	struct v4l2_plane plane;
};
void v4l2_buf_init(struct v4l2_buf *vb, uint32_t type, uint32_t memory, unsigned index);
uint32_t v4l2_buf_bytesused(const struct v4l2_buf *vb);
uint32_t v4l2_buf_length(const struct v4l2_buf *vb);
uint32_t v4l2_buf_mem_offset(const struct v4l2_buf *vb);
uint32_t v4l2_buf_data_offset(const struct v4l2_buf *vb); /* multi-planar only; 0 otherwise */
void v4l2_buf_set_payload(struct v4l2_buf *vb, uint32_t bytesused, uint32_t length);
void v4l2_buf_set_dmabuf(struct v4l2_buf *vb, int fd);

/* VIDIOC_QUERYBUF of MMAP buffer index on a queue of buffer type type, then mmap(2) of it with
 * prot: *map and *len (the buffer's length) set on success, untouched otherwise; the caller
 * munmaps. 0 or a negative errno (of the ioctl or of mmap). */
int v4l2_buf_map(int fd, uint32_t type, unsigned index, int prot, uint8_t **map, size_t *len);

#endif
