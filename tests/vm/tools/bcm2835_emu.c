/* bcm2835_emu — drives the emulated Raspberry Pi JPEG encoder (tests/vm/drivers/bcm2835-emu) in the
 * test VM, the way mjpegd drives the real one: V4L2 multi-planar M2M, one plane per buffer.
 *
 *   bcm2835_emu encode [-d DEV] [-f FOURCC] [-W W] [-H H] [-q QUALITY] [-n FRAMES] [-t MS]
 *                      [-o PREFIX] [-i VIVID_NODE_NAME | -s [-A]] [-u PARAM_FILE] [-S|-E]
 *                      [-c WxH] [-X WxH] [-Q N:QUALITY] [-e] [-C] [-T]
 *       Sets the formats (OUTPUT: FOURCC WxH, default YU12 640x360; CAPTURE: JPEG), fills each
 *       raw frame with a known pattern (or takes vivid's frame with -i) and encodes FRAMES
 *       frames one by one. OUTPUT buffers are MMAP, or DMABUF: -i imports VIVID_NODE_NAME's
 *       exported capture buffers (vivid-000-vid-cap: vmalloc; vivid-001-vid-cap with
 *       vivid.allocators=0,1: dma-contig), -s those of a second open of the encoder (MMAP,
 *       dma-contig). CAPTURE buffers are MMAP. -o writes PREFIX.raw (the first frame's OUTPUT
 *       buffer, stride and padding included), PREFIX.meta (its layout, one line) and
 *       PREFIX.jpg (the first frame not flagged ERROR), for tests/vm/checks/bcm2835_emu_check.py.
 *       -t: per-frame timeout (default 10000 ms). -u: after a timeout, write 0 to PARAM_FILE
 *       (the module's stall parameter) and wait for the same frame again. -S: drain with
 *       VIDIOC_ENCODER_CMD(STOP) after queueing the last frame: V4L2_BUF_FLAG_LAST must come,
 *       on the last JPEG or (when that was done before the STOP) on an empty buffer after it,
 *       an EOS event too, and a further CAPTURE DQBUF must fail with EPIPE. -E: the same, the
 *       STOP sent after the last JPEG came back (so the LAST buffer must be an empty one).
 *       -A (with -s): the exporter has two buffers, queued in turn on OUTPUT slot 0 (a new
 *       dma-buf for the slot every frame). -c: S_SELECTION(CROP) on OUTPUT after S_FMT; the
 *       JPEGs must then have the crop's size, or -X's. -Q: before queueing frame N, set the
 *       quality (while streaming). -e: the OUTPUT buffer must come back first: it is dequeued
 *       as soon as it is done, then a non-blocking CAPTURE DQBUF tried (line "order frame=N
 *       out_ms=M cap_pending=0|1"). -C: a JPEG cut short (no EOI, "eoi=0") is accepted.
 *       -T: after a timeout, STREAMOFF OUTPUT then CAPTURE and print how long each took
 *       ("streamoff out_ms=M cap_ms=M", as after the last frame), then exit 3.
 *   bcm2835_emu shortbuf [-d DEV]
 *       1920x1080 YU12: a dma-buf of the unpadded 1080-row size (from /dev/dma_heap/system)
 *       queued on OUTPUT must be refused (raspberrypi/linux#4669); one of the padded size is
 *       then queued too and the answer printed (the system heap's memory is not contiguous).
 *   bcm2835_emu gen FOURCC W H BYTESPERLINE BUFFER_HEIGHT PREFIX
 *       Writes the pattern frame and its .meta without any device (for checking the JPEG
 *       writer on the host).
 *
 * Output: one line per fact ("fmt ...", "frame N ...", "jpeg N ..."), then "PASS" (exit 0).
 * Exit 1: failure; 3: a frame timed out (line "timeout frame=N"); 4: the OUTPUT QBUF was refused
 * (line "qbuf_refused errno=N (text)"); 2: usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmtool.h"

#define ENCODER_NAME "bcm2835-codec-encode_image"
#define OUT_MPLANE V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE
#define CAP_MPLANE V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE
#define NCAP 2

static void ioctl_or_die(int fd, unsigned long req, void *arg, const char *name)
{
	if (xioctl(fd, req, arg) < 0)
		die("%s: %s", name, strerror(errno));
}

static uint32_t fourcc_parse(const char *s)
{
	if (strlen(s) != 4)
		die("'%s' is not a fourcc (YU12, YUYV, RGB3, ...)", s);
	return v4l2_fourcc(s[0], s[1], s[2], s[3]);
}

/* --- the test pattern ------------------------------------------------------------------ */

/* Three 8-bit channels at (x, y) of frame n: R, G, B or Y, Cb, Cr. Block means differ between
 * neighbouring 8x8 blocks and 16x16 MCUs, and pixels differ inside every block. */
static void pattern(unsigned int x, unsigned int y, unsigned int n, uint8_t c[3])
{
	c[0] = (uint8_t)(x * 3 + y * 2 + n * 16);
	c[1] = (uint8_t)((x / 16) * 40 + (y / 16) * 25 + n * 8 + (x & 3));
	c[2] = (uint8_t)((x ^ y) + n * 4);
}

/* Writes frame n of the pattern in the buffer layout (stride bpl, hbuf rows, chroma planes
 * after hbuf rows as the driver lays them); padding bytes are 0x10. */
static void fill_frame(uint32_t f, unsigned int w, unsigned int h, unsigned int bpl,
		       unsigned int hbuf, unsigned int n, uint8_t *buf, size_t size)
{
	uint8_t c[3];

	memset(buf, 0x10, size);
	for (unsigned int y = 0; y < h; y++) {
		uint8_t *row = buf + (size_t)y * bpl;

		for (unsigned int x = 0; x < w; x++) {
			pattern(x, y, n, c);
			switch (f) {
			case V4L2_PIX_FMT_YUV420:
			case V4L2_PIX_FMT_NV12:
			case V4L2_PIX_FMT_NV21:
				row[x] = c[0];
				break;
			case V4L2_PIX_FMT_YUYV:	/* chroma of the pair from its left pixel */
			case V4L2_PIX_FMT_YVYU:
			case V4L2_PIX_FMT_UYVY:
			case V4L2_PIX_FMT_VYUY: {
				uint8_t *p = row + (x / 2) * 4;
				bool yfirst = f == V4L2_PIX_FMT_YUYV || f == V4L2_PIX_FMT_YVYU;
				bool cbfirst = f == V4L2_PIX_FMT_YUYV || f == V4L2_PIX_FMT_UYVY;

				p[yfirst ? (x & 1) * 2 : (x & 1) * 2 + 1] = c[0];
				if (!(x & 1)) {
					p[yfirst ? 1 : 0] = cbfirst ? c[1] : c[2];
					p[yfirst ? 3 : 2] = cbfirst ? c[2] : c[1];
				}
				break;
			}
			case V4L2_PIX_FMT_RGB565: {
				unsigned int v = (c[0] >> 3) << 11 | (c[1] >> 2) << 5 | c[2] >> 3;

				row[2 * x] = (uint8_t)v;
				row[2 * x + 1] = (uint8_t)(v >> 8);
				break;
			}
			case V4L2_PIX_FMT_RGB24:
				memcpy(row + 3 * x, c, 3);
				break;
			case V4L2_PIX_FMT_BGR24:
				row[3 * x] = c[2], row[3 * x + 1] = c[1], row[3 * x + 2] = c[0];
				break;
			case V4L2_PIX_FMT_RGBA32:
				memcpy(row + 4 * x, c, 3);
				row[4 * x + 3] = 0xff;
				break;
			case V4L2_PIX_FMT_BGR32:
				row[4 * x] = c[2], row[4 * x + 1] = c[1], row[4 * x + 2] = c[0];
				row[4 * x + 3] = 0xff;
				break;
			default:
				die("no pattern for this format");
			}
		}
	}
	if (f == V4L2_PIX_FMT_YUV420 || f == V4L2_PIX_FMT_NV12 || f == V4L2_PIX_FMT_NV21) {
		uint8_t *cplane = buf + (size_t)bpl * hbuf;

		for (unsigned int y = 0; y < (h + 1) / 2; y++) {
			for (unsigned int x = 0; x < (w + 1) / 2; x++) {
				pattern(2 * x, 2 * y, n, c);
				if (f == V4L2_PIX_FMT_YUV420) {
					cplane[(size_t)y * (bpl / 2) + x] = c[1];
					cplane[(size_t)(bpl / 2) * (hbuf / 2) + (size_t)y * (bpl / 2) + x] = c[2];
				} else {
					bool nv12 = f == V4L2_PIX_FMT_NV12;

					cplane[(size_t)y * bpl + 2 * x] = nv12 ? c[1] : c[2];
					cplane[(size_t)y * bpl + 2 * x + 1] = nv12 ? c[2] : c[1];
				}
			}
		}
	}
}

/* Through a heap copy: 9p's zero-copy write cannot pin the pages of a V4L2 MMAP mapping
 * (dma-contig maps them VM_PFNMAP) and fails with EFAULT. */
static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	void *copy = malloc(len ? len : 1);

	if (!copy)
		die("out of memory");
	memcpy(copy, data, len);
	if (!f || fwrite(copy, 1, len, f) != len || fclose(f))
		die("write %s: %s", path, strerror(errno));
	free(copy);
}

static void write_meta(const char *prefix, uint32_t f, unsigned int w, unsigned int h,
		       unsigned int bpl, unsigned int hbuf, int quality, const char *source)
{
	char path[512], line[256], s[5];
	int n = snprintf(line, sizeof(line),
			 "fourcc=%s width=%u height=%u bytesperline=%u buffer_height=%u quality=%d "
			 "source=%s\n", fourcc_str(f, s), w, h, bpl, hbuf, quality, source);

	snprintf(path, sizeof(path), "%s.meta", prefix);
	write_file(path, line, (size_t)n);
}

/* --- JPEG facts ------------------------------------------------------------------------- */

struct jpeg_facts {
	unsigned int width, height, dqt_luma_dc, dqt_chroma_dc, app;
	bool eoi;
};

/* Walks the marker segments up to SOS; false when the data is not a JPEG. */
static bool jpeg_inspect(const uint8_t *d, size_t len, struct jpeg_facts *jf)
{
	size_t pos = 2;

	memset(jf, 0, sizeof(*jf));
	if (len < 4 || d[0] != 0xff || d[1] != 0xd8)
		return false;
	jf->eoi = d[len - 2] == 0xff && d[len - 1] == 0xd9;
	while (pos + 4 <= len) {
		unsigned int m, seglen;

		if (d[pos] != 0xff)
			return false;
		m = d[pos + 1];
		seglen = (unsigned int)d[pos + 2] << 8 | d[pos + 3];
		if (pos + 2 + seglen > len)
			return false;
		if (m >= 0xe0 && m <= 0xef && !jf->app)
			jf->app = m;
		if (m == 0xdb) {	/* DQT: Pq/Tq, then 64 values (8-bit) per table */
			for (size_t t = pos + 4; t + 65 <= pos + 2 + seglen; t += 65) {
				if (d[t] == 0)
					jf->dqt_luma_dc = d[t + 1];
				else if (d[t] == 1)
					jf->dqt_chroma_dc = d[t + 1];
			}
		}
		if (m == 0xc0 && seglen >= 7) {
			jf->height = (unsigned int)d[pos + 5] << 8 | d[pos + 6];
			jf->width = (unsigned int)d[pos + 7] << 8 | d[pos + 8];
		}
		if (m == 0xda)
			return true;
		pos += 2 + seglen;
	}
	return false;
}

/* --- encode ----------------------------------------------------------------------------- */

struct mapping {
	uint8_t *p;
	size_t len;
};

static void mmap_buffer(int fd, uint32_t type, unsigned int index, struct mapping *m)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct v4l2_buffer b = { .type = type, .memory = V4L2_MEMORY_MMAP, .index = index,
				 .m.planes = planes, .length = VIDEO_MAX_PLANES };

	memset(planes, 0, sizeof(planes));
	ioctl_or_die(fd, VIDIOC_QUERYBUF, &b, "VIDIOC_QUERYBUF");
	if (b.length != 1)
		die("buffer %u has %u planes, the driver announces one", index, b.length);
	m->len = planes[0].length;
	m->p = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, planes[0].m.mem_offset);
	if (m->p == MAP_FAILED)
		die("mmap buffer %u: %s", index, strerror(errno));
}

static int export_buffer(int fd, uint32_t type, unsigned int index)
{
	struct v4l2_exportbuffer eb = { .type = type, .index = index, .flags = O_RDWR | O_CLOEXEC };

	ioctl_or_die(fd, VIDIOC_EXPBUF, &eb, "VIDIOC_EXPBUF");
	return eb.fd;
}

/* A vivid capture node with MMAP buffers of at least min_size bytes, one captured frame in buffer
 * 0, exported; driven through the API the node announces (vivid.multiplanar: single- or
 * multi-planar, one memory plane). */
struct vivid_frame {
	int fd, dmabuf;
	unsigned int bytesperline;
	uint8_t *p;
	size_t len;
};

static void vivid_capture(const char *name, uint32_t f, unsigned int w, unsigned int h,
			  size_t min_size, struct vivid_frame *v)
{
	char path[300], s[5];
	struct v4l2_capability cap;
	struct v4l2_format fmt;
	struct v4l2_plane plane;
	struct v4l2_buffer b = { .memory = V4L2_MEMORY_MMAP };
	struct v4l2_create_buffers cb = { .count = 1, .memory = V4L2_MEMORY_MMAP };
	struct pollfd pfd;

	if (!find_node(name, path, sizeof(path)))
		die("no video4linux node named '%s'", name);
	v->fd = open(path, O_RDWR | O_CLOEXEC);
	if (v->fd < 0)
		die("open %s: %s", path, strerror(errno));
	ioctl_or_die(v->fd, VIDIOC_QUERYCAP, &cap, "vivid VIDIOC_QUERYCAP");
	int mplane = (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE) != 0;
	int type = mplane ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;
	memset(&fmt, 0, sizeof(fmt));
	fmt.type = (uint32_t)type;
	unsigned int fw, fh, fourcc, sizeimage;
	if (mplane) {
		fmt.fmt.pix_mp.width = w;
		fmt.fmt.pix_mp.height = h;
		fmt.fmt.pix_mp.pixelformat = f;
		fmt.fmt.pix_mp.field = V4L2_FIELD_NONE;
		fmt.fmt.pix_mp.num_planes = 1;
		ioctl_or_die(v->fd, VIDIOC_S_FMT, &fmt, "vivid VIDIOC_S_FMT");
		if (fmt.fmt.pix_mp.num_planes != 1)
			die("vivid gave %u memory planes", fmt.fmt.pix_mp.num_planes);
		fw = fmt.fmt.pix_mp.width;
		fh = fmt.fmt.pix_mp.height;
		fourcc = fmt.fmt.pix_mp.pixelformat;
		v->bytesperline = fmt.fmt.pix_mp.plane_fmt[0].bytesperline;
		sizeimage = fmt.fmt.pix_mp.plane_fmt[0].sizeimage;
	} else {
		fmt.fmt.pix.width = w;
		fmt.fmt.pix.height = h;
		fmt.fmt.pix.pixelformat = f;
		fmt.fmt.pix.field = V4L2_FIELD_NONE;
		ioctl_or_die(v->fd, VIDIOC_S_FMT, &fmt, "vivid VIDIOC_S_FMT");
		fw = fmt.fmt.pix.width;
		fh = fmt.fmt.pix.height;
		fourcc = fmt.fmt.pix.pixelformat;
		v->bytesperline = fmt.fmt.pix.bytesperline;
		sizeimage = fmt.fmt.pix.sizeimage;
	}
	printf("vivid %s (%s, %s-planar): %s %ux%u bytesperline=%u sizeimage=%u\n", path, name,
	       mplane ? "multi" : "single", fourcc_str(fourcc, s), fw, fh, v->bytesperline,
	       sizeimage);
	if (fourcc != f || fw != w || fh != h)
		die("vivid did not take the format");
	/* the encoder's sizeimage covers 16-row padding that vivid's does not: ask for more */
	cb.format = fmt;
	if (sizeimage < min_size) {
		if (mplane)
			cb.format.fmt.pix_mp.plane_fmt[0].sizeimage = (uint32_t)min_size;
		else
			cb.format.fmt.pix.sizeimage = (uint32_t)min_size;
	}
	ioctl_or_die(v->fd, VIDIOC_CREATE_BUFS, &cb, "vivid VIDIOC_CREATE_BUFS");
	b.type = (uint32_t)type;
	b.index = cb.index;
	if (mplane) {
		memset(&plane, 0, sizeof(plane));
		b.m.planes = &plane;
		b.length = 1;
	}
	ioctl_or_die(v->fd, VIDIOC_QUERYBUF, &b, "vivid VIDIOC_QUERYBUF");
	v->len = mplane ? plane.length : b.length;
	v->p = mmap(NULL, v->len, PROT_READ, MAP_SHARED, v->fd,
		    mplane ? plane.m.mem_offset : b.m.offset);
	if (v->p == MAP_FAILED)
		die("mmap vivid buffer: %s", strerror(errno));
	v->dmabuf = export_buffer(v->fd, (uint32_t)type, b.index);
	ioctl_or_die(v->fd, VIDIOC_QBUF, &b, "vivid VIDIOC_QBUF");
	ioctl_or_die(v->fd, VIDIOC_STREAMON, &type, "vivid VIDIOC_STREAMON");
	pfd.fd = v->fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 10000) != 1)
		die("vivid gave no frame in 10 s");
	ioctl_or_die(v->fd, VIDIOC_DQBUF, &b, "vivid VIDIOC_DQBUF");
	ioctl_or_die(v->fd, VIDIOC_STREAMOFF, &type, "vivid VIDIOC_STREAMOFF");
	if (mplane && plane.data_offset)
		die("vivid starts the picture %u bytes into its buffer (data_offset): the encoder "
		    "reads an imported buffer from its first byte", plane.data_offset);
	printf("vivid frame: %u bytes in a %zu-byte buffer, exported as dma-buf fd %d\n",
	       mplane ? plane.bytesused : b.bytesused, v->len, v->dmabuf);
}

/* poll() for events: POLLIN a CAPTURE buffer is done, POLLOUT an OUTPUT buffer (mem2mem) */
static int wait_for(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die("poll: %s", strerror(errno));
	if (r && (pfd.revents & POLLERR))
		die("poll: POLLERR on the encoder");
	return r;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* -T: STREAMOFF each queue and say how long each took */
static void timed_streamoff(int fd)
{
	struct timespec t0;
	long out_ms, cap_ms;
	int type = OUT_MPLANE;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ioctl_or_die(fd, VIDIOC_STREAMOFF, &type, "VIDIOC_STREAMOFF(OUTPUT)");
	out_ms = ms_since(&t0);
	type = CAP_MPLANE;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ioctl_or_die(fd, VIDIOC_STREAMOFF, &type, "VIDIOC_STREAMOFF(CAPTURE)");
	cap_ms = ms_since(&t0);
	printf("streamoff out_ms=%ld cap_ms=%ld\n", out_ms, cap_ms);
}

static void parse_size(const char *s, unsigned int *w, unsigned int *h)
{
	if (sscanf(s, "%ux%u", w, h) != 2)
		die("'%s' is not WxH", s);
}

static bool write_param_zero(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return false;
	fputs("0\n", f);
	return fclose(f) == 0;
}

static int cmd_encode(int argc, char **argv)
{
	const char *dev = NULL, *prefix = NULL, *vivid = NULL, *unstall = NULL;
	uint32_t f = V4L2_PIX_FMT_YUV420;
	unsigned int w = 640, h = 360, frames = 1;
	int quality = -1, timeout_ms = 10000, opt, type;
	bool self_export = false, saved_jpeg = false, drain = false, drain_late = false;
	bool last_seen = false, alternate = false, early_check = false, accept_cut = false;
	bool streamoff_timed = false;
	unsigned int crop_w = 0, crop_h = 0, want_w = 0, want_h = 0, q_frame = 0;
	int q_value = -1;
	struct mapping alt_map = { 0 };
	int alt_dmabuf = -1;
	char path[300], s[5];
	struct v4l2_capability cap = { 0 };
	struct v4l2_format of = { .type = OUT_MPLANE }, cf = { .type = CAP_MPLANE };
	struct v4l2_selection sel = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
				      .target = V4L2_SEL_TGT_CROP };
	struct v4l2_control ctrl = { .id = V4L2_CID_JPEG_COMPRESSION_QUALITY };
	struct v4l2_requestbuffers rb = { 0 };
	struct mapping out_map = { 0 }, cap_map[NCAP];
	struct vivid_frame vf = { .fd = -1, .dmabuf = -1 };
	int fd, self_fd = -1, out_dmabuf = -1;
	unsigned int bpl, hbuf, sizeimage, errors = 0;
	enum v4l2_memory out_memory = V4L2_MEMORY_MMAP;

	optind = 1;
	while ((opt = getopt(argc, argv, "d:f:W:H:q:n:t:o:i:su:SEAc:X:Q:eCT")) != -1) {
		switch (opt) {
		case 'd': dev = optarg; break;
		case 'f': f = fourcc_parse(optarg); break;
		case 'W': w = (unsigned int)atoi(optarg); break;
		case 'H': h = (unsigned int)atoi(optarg); break;
		case 'q': quality = atoi(optarg); break;
		case 'n': frames = (unsigned int)atoi(optarg); break;
		case 't': timeout_ms = atoi(optarg); break;
		case 'o': prefix = optarg; break;
		case 'i': vivid = optarg; break;
		case 's': self_export = true; break;
		case 'u': unstall = optarg; break;
		case 'S': drain = true; break;
		case 'E': drain = drain_late = true; break;
		case 'A': alternate = true; break;
		case 'c': parse_size(optarg, &crop_w, &crop_h); break;
		case 'X': parse_size(optarg, &want_w, &want_h); break;
		case 'Q':
			if (sscanf(optarg, "%u:%d", &q_frame, &q_value) != 2)
				die("-Q wants N:QUALITY");
			break;
		case 'e': early_check = true; break;
		case 'C': accept_cut = true; break;
		case 'T': streamoff_timed = true; break;
		default: return 2;
		}
	}
	if (!dev) {
		if (!find_node(ENCODER_NAME, path, sizeof(path)))
			die("no video4linux node named '%s' (module not loaded?)", ENCODER_NAME);
		dev = path;
	}
	fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", dev, strerror(errno));
	ioctl_or_die(fd, VIDIOC_QUERYCAP, &cap, "VIDIOC_QUERYCAP");
	printf("device %s: driver %s, card %s, device_caps 0x%08x\n", dev, (char *)cap.driver,
	       (char *)cap.card, cap.device_caps);
	if (!(cap.device_caps & V4L2_CAP_VIDEO_M2M_MPLANE))
		die("not a multi-planar M2M device");

	/* OUTPUT: the raw format; the driver pads the height to 16 rows and aligns the stride */
	of.fmt.pix_mp.width = w;
	of.fmt.pix_mp.height = h;
	of.fmt.pix_mp.pixelformat = f;
	of.fmt.pix_mp.num_planes = 1;
	ioctl_or_die(fd, VIDIOC_S_FMT, &of, "VIDIOC_S_FMT(OUTPUT)");
	bpl = of.fmt.pix_mp.plane_fmt[0].bytesperline;
	hbuf = of.fmt.pix_mp.height;
	sizeimage = of.fmt.pix_mp.plane_fmt[0].sizeimage;
	printf("fmt out=%s %ux%u bytesperline=%u sizeimage=%u num_planes=%u\n",
	       fourcc_str(of.fmt.pix_mp.pixelformat, s), of.fmt.pix_mp.width, hbuf, bpl,
	       sizeimage, of.fmt.pix_mp.num_planes);
	if (of.fmt.pix_mp.pixelformat != f)
		die("the driver replaced the raw format by %s", s);
	if (crop_w) {
		sel.r.left = 0;
		sel.r.top = 0;
		sel.r.width = crop_w;
		sel.r.height = crop_h;
		ioctl_or_die(fd, VIDIOC_S_SELECTION, &sel, "VIDIOC_S_SELECTION(CROP)");
		printf("s_selection %ux%u -> %ux%u at %d,%d\n", crop_w, crop_h, sel.r.width,
		       sel.r.height, sel.r.left, sel.r.top);
	}
	ioctl_or_die(fd, VIDIOC_G_SELECTION, &sel, "VIDIOC_G_SELECTION(CROP)");
	printf("crop %ux%u\n", sel.r.width, sel.r.height);
	if (!want_w) {
		want_w = crop_w ? sel.r.width : w;
		want_h = crop_w ? sel.r.height : h;
	}

	cf.fmt.pix_mp.width = w;
	cf.fmt.pix_mp.height = h;
	cf.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_JPEG;
	cf.fmt.pix_mp.num_planes = 1;
	ioctl_or_die(fd, VIDIOC_S_FMT, &cf, "VIDIOC_S_FMT(CAPTURE)");
	ioctl_or_die(fd, VIDIOC_G_FMT, &cf, "VIDIOC_G_FMT(CAPTURE)");
	printf("fmt cap=%s %ux%u sizeimage=%u\n", fourcc_str(cf.fmt.pix_mp.pixelformat, s),
	       cf.fmt.pix_mp.width, cf.fmt.pix_mp.height, cf.fmt.pix_mp.plane_fmt[0].sizeimage);

	if (quality > 0) {
		ctrl.value = quality;
		ioctl_or_die(fd, VIDIOC_S_CTRL, &ctrl, "VIDIOC_S_CTRL(JPEG quality)");
	}
	ioctl_or_die(fd, VIDIOC_G_CTRL, &ctrl, "VIDIOC_G_CTRL(JPEG quality)");
	quality = ctrl.value;
	printf("quality=%d\n", quality);

	/* OUTPUT buffer: MMAP, or a dma-buf from vivid or from another open of this device */
	if (vivid) {
		vivid_capture(vivid, f, w, h, sizeimage, &vf);
		if (vf.bytesperline != bpl)
			die("vivid's stride %u is not the encoder's %u", vf.bytesperline, bpl);
		out_dmabuf = vf.dmabuf;
		out_memory = V4L2_MEMORY_DMABUF;
		if (frames != 1)
			die("-i encodes one frame");
	} else if (self_export) {
		struct v4l2_format sf = of;

		self_fd = open(dev, O_RDWR | O_CLOEXEC);
		if (self_fd < 0)
			die("open %s again: %s", dev, strerror(errno));
		sf.fmt.pix_mp.height = h;
		ioctl_or_die(self_fd, VIDIOC_S_FMT, &sf, "exporter VIDIOC_S_FMT(OUTPUT)");
		rb.count = alternate ? 2 : 1;
		rb.type = OUT_MPLANE;
		rb.memory = V4L2_MEMORY_MMAP;
		ioctl_or_die(self_fd, VIDIOC_REQBUFS, &rb, "exporter VIDIOC_REQBUFS");
		if (rb.count < (alternate ? 2u : 1u))
			die("the exporter got %u buffers", rb.count);
		mmap_buffer(self_fd, OUT_MPLANE, 0, &out_map);
		out_dmabuf = export_buffer(self_fd, OUT_MPLANE, 0);
		if (alternate) {
			mmap_buffer(self_fd, OUT_MPLANE, 1, &alt_map);
			alt_dmabuf = export_buffer(self_fd, OUT_MPLANE, 1);
			printf("exporter: a second buffer as dma-buf fd %d, in turn on slot 0\n",
			       alt_dmabuf);
		}
		out_memory = V4L2_MEMORY_DMABUF;
		printf("exporter: a second open's MMAP OUTPUT buffer (%zu bytes) as dma-buf fd %d\n",
		       out_map.len, out_dmabuf);
	}
	rb.count = 1;
	rb.type = OUT_MPLANE;
	rb.memory = out_memory;
	ioctl_or_die(fd, VIDIOC_REQBUFS, &rb, "VIDIOC_REQBUFS(OUTPUT)");
	if (out_memory == V4L2_MEMORY_MMAP)
		mmap_buffer(fd, OUT_MPLANE, 0, &out_map);
	rb.count = NCAP;
	rb.type = CAP_MPLANE;
	rb.memory = V4L2_MEMORY_MMAP;
	ioctl_or_die(fd, VIDIOC_REQBUFS, &rb, "VIDIOC_REQBUFS(CAPTURE)");
	if (rb.count < NCAP)
		die("CAPTURE REQBUFS gave %u buffers", rb.count);
	for (unsigned int i = 0; i < NCAP; i++) {
		struct v4l2_plane pl = { 0 };
		struct v4l2_buffer b = { .type = CAP_MPLANE, .memory = V4L2_MEMORY_MMAP, .index = i,
					 .m.planes = &pl, .length = 1 };

		mmap_buffer(fd, CAP_MPLANE, i, &cap_map[i]);
		ioctl_or_die(fd, VIDIOC_QBUF, &b, "VIDIOC_QBUF(CAPTURE)");
	}
	if (drain) {
		struct v4l2_event_subscription sub = { .type = V4L2_EVENT_EOS };

		ioctl_or_die(fd, VIDIOC_SUBSCRIBE_EVENT, &sub, "VIDIOC_SUBSCRIBE_EVENT(EOS)");
	}
	type = OUT_MPLANE;
	ioctl_or_die(fd, VIDIOC_STREAMON, &type, "VIDIOC_STREAMON(OUTPUT)");
	type = CAP_MPLANE;
	ioctl_or_die(fd, VIDIOC_STREAMON, &type, "VIDIOC_STREAMON(CAPTURE)");

	for (unsigned int n = 0; n < frames; n++) {
		struct v4l2_plane opl = { .bytesused = sizeimage };
		struct v4l2_buffer ob = { .type = OUT_MPLANE, .memory = out_memory, .index = 0,
					  .m.planes = &opl, .length = 1, .field = V4L2_FIELD_NONE,
					  .timestamp = { .tv_sec = 1000 + n, .tv_usec = 123456 } };
		struct v4l2_plane cpl = { 0 };
		struct v4l2_buffer cb = { .type = CAP_MPLANE, .memory = V4L2_MEMORY_MMAP,
					  .m.planes = &cpl, .length = 1 };
		struct jpeg_facts jf;
		struct timespec t0, t1;
		const uint8_t *jpeg;
		bool out_done = false;
		const struct mapping *om = alternate && (n & 1) ? &alt_map : &out_map;

		if (q_value > 0 && n == q_frame) {
			ctrl.value = q_value;
			ioctl_or_die(fd, VIDIOC_S_CTRL, &ctrl, "VIDIOC_S_CTRL(JPEG quality)");
			printf("quality=%d from frame %u, while streaming\n", q_value, n);
		}
		if (vivid) {
			opl.m.fd = out_dmabuf;
			opl.length = (unsigned int)vf.len;
		} else {
			fill_frame(f, w, h, bpl, hbuf, n, om->p, sizeimage);
			if (out_memory == V4L2_MEMORY_DMABUF) {
				opl.m.fd = alternate && (n & 1) ? alt_dmabuf : out_dmabuf;
				opl.length = (unsigned int)om->len;
			}
		}
		if (n == 0 && prefix) {
			char p[512];

			snprintf(p, sizeof(p), "%s.raw", prefix);
			write_file(p, vivid ? vf.p : out_map.p, sizeimage);
			write_meta(prefix, f, w, h, bpl, hbuf, quality,
				   vivid ? vivid : self_export ? "self-dmabuf" : "mmap");
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (xioctl(fd, VIDIOC_QBUF, &ob) < 0) {
			int e = errno;

			printf("qbuf_refused errno=%d (%s)\n", e, strerror(e));
			return 4;
		}
		if (drain && !drain_late && n == frames - 1) {
			struct v4l2_encoder_cmd ec = { .cmd = V4L2_ENC_CMD_STOP };

			ioctl_or_die(fd, VIDIOC_ENCODER_CMD, &ec, "VIDIOC_ENCODER_CMD(STOP)");
			printf("encoder_cmd stop after queueing frame %u\n", n);
		}
		if (early_check) {
			struct v4l2_plane pl = { 0 };
			struct v4l2_buffer b = { .type = CAP_MPLANE, .memory = V4L2_MEMORY_MMAP,
						 .m.planes = &pl, .length = 1 };
			int pending;

			if (wait_for(fd, POLLOUT, timeout_ms) > 0) {
				ioctl_or_die(fd, VIDIOC_DQBUF, &ob, "VIDIOC_DQBUF(OUTPUT)");
				out_done = true;
				pending = xioctl(fd, VIDIOC_DQBUF, &b) < 0 && errno == EAGAIN;
				printf("order frame=%u out_ms=%ld cap_pending=%d\n", n, ms_since(&t0),
				       pending);
				if (!pending)
					die("the JPEG was ready as soon as its OUTPUT buffer: cannot tell "
					    "the order (set delay_ms)");
			}
		}
		while (!wait_for(fd, POLLIN, timeout_ms)) {
			printf("timeout frame=%u after %d ms\n", n, timeout_ms);
			if (!unstall && streamoff_timed)
				timed_streamoff(fd);
			if (!unstall)
				return 3;
			if (!write_param_zero(unstall))
				die("write 0 to %s: %s", unstall, strerror(errno));
			printf("wrote 0 to %s; waiting again\n", unstall);
			unstall = NULL;
		}
		ioctl_or_die(fd, VIDIOC_DQBUF, &cb, "VIDIOC_DQBUF(CAPTURE)");
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (!out_done && wait_for(fd, POLLOUT, timeout_ms) <= 0)
			die("the OUTPUT buffer did not come back");
		opl.bytesused = 0;
		if (!out_done)
			ioctl_or_die(fd, VIDIOC_DQBUF, &ob, "VIDIOC_DQBUF(OUTPUT)");
		printf("frame %u bytes=%u flags=0x%08x error=%d last=%d seq=%u field=%u "
		       "ts=%ld.%06ld out_flags=0x%08x ms=%ld\n", n, cpl.bytesused, cb.flags,
		       !!(cb.flags & V4L2_BUF_FLAG_ERROR), !!(cb.flags & V4L2_BUF_FLAG_LAST),
		       cb.sequence, cb.field, (long)cb.timestamp.tv_sec, (long)cb.timestamp.tv_usec,
		       ob.flags, (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (cb.flags & V4L2_BUF_FLAG_LAST)
			last_seen = true;
		if (cb.flags & V4L2_BUF_FLAG_ERROR) {
			errors++;
		} else {
			jpeg = cap_map[cb.index].p;
			if (cpl.bytesused > cap_map[cb.index].len)
				die("bytesused %u > buffer %zu", cpl.bytesused, cap_map[cb.index].len);
			if (!jpeg_inspect(jpeg, cpl.bytesused, &jf))
				die("frame %u is not a JPEG", n);
			printf("jpeg %u size=%u sof=%ux%u dqt_luma_dc=%u dqt_chroma_dc=%u app=0x%02x "
			       "eoi=%d\n", n, cpl.bytesused, jf.width, jf.height, jf.dqt_luma_dc,
			       jf.dqt_chroma_dc, jf.app, jf.eoi);
			if (!jf.eoi && !accept_cut)
				die("frame %u does not end with EOI", n);
			if (jf.width != want_w || jf.height != want_h)
				die("frame %u is %ux%u, not %ux%u", n, jf.width, jf.height, want_w,
				    want_h);
			if (cb.timestamp.tv_sec != 1000 + (long)n || cb.timestamp.tv_usec != 123456)
				die("the OUTPUT timestamp was not copied to CAPTURE");
			if (prefix && !saved_jpeg) {
				char p[512];

				snprintf(p, sizeof(p), "%s.jpg", prefix);
				write_file(p, jpeg, cpl.bytesused);
				saved_jpeg = true;
			}
		}
		cb.m.planes = &cpl;
		cb.length = 1;
		ioctl_or_die(fd, VIDIOC_QBUF, &cb, "VIDIOC_QBUF(CAPTURE)");
		if (drain_late && n == frames - 1) {
			struct v4l2_encoder_cmd ec = { .cmd = V4L2_ENC_CMD_STOP };

			ioctl_or_die(fd, VIDIOC_ENCODER_CMD, &ec, "VIDIOC_ENCODER_CMD(STOP)");
			printf("encoder_cmd stop after the JPEG of frame %u\n", n);
		}
	}
	if (drain) {
		struct v4l2_event ev = { 0 };
		struct v4l2_plane cpl = { 0 };
		struct v4l2_buffer cb = { .type = CAP_MPLANE, .memory = V4L2_MEMORY_MMAP,
					  .m.planes = &cpl, .length = 1 };
		int e;

		if (last_seen) {
			printf("last: the last JPEG carries V4L2_BUF_FLAG_LAST\n");
		} else {
			if (wait_for(fd, POLLIN, timeout_ms) <= 0)
				die("no V4L2_BUF_FLAG_LAST buffer after ENCODER_CMD(STOP)");
			ioctl_or_die(fd, VIDIOC_DQBUF, &cb, "VIDIOC_DQBUF(CAPTURE, LAST)");
			printf("last: an empty buffer after the last JPEG, bytes=%u flags=0x%08x\n",
			       cpl.bytesused, cb.flags);
			if (!(cb.flags & V4L2_BUF_FLAG_LAST) || cpl.bytesused)
				die("the buffer after the last JPEG is not an empty LAST buffer");
		}
		if (xioctl(fd, VIDIOC_DQEVENT, &ev) < 0 || ev.type != V4L2_EVENT_EOS)
			die("no EOS event after ENCODER_CMD(STOP)");
		e = xioctl(fd, VIDIOC_DQBUF, &cb) < 0 ? errno : 0;
		printf("eos_event=1 dqbuf_after_last errno=%d (%s)\n", e, strerror(e));
		if (e != EPIPE)
			die("CAPTURE DQBUF after the LAST buffer did not fail with EPIPE");
	}
	timed_streamoff(fd);
	printf("PASS frames=%u errors=%u\n", frames, errors);
	close(fd);
	if (self_fd >= 0)
		close(self_fd);
	return 0;
}

/* --- the 1080-row trap ------------------------------------------------------------------ */

static int heap_alloc(size_t len)
{
	struct dma_heap_allocation_data a = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC };
	int heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);

	if (heap < 0)
		die("open /dev/dma_heap/system: %s", strerror(errno));
	ioctl_or_die(heap, DMA_HEAP_IOCTL_ALLOC, &a, "DMA_HEAP_IOCTL_ALLOC");
	close(heap);
	return (int)a.fd;
}

static int qbuf_dmabuf(int fd, int dmabuf, unsigned int bytesused, unsigned int length)
{
	struct v4l2_plane pl = { .bytesused = bytesused, .length = length, .m.fd = dmabuf };
	struct v4l2_buffer b = { .type = OUT_MPLANE, .memory = V4L2_MEMORY_DMABUF, .index = 0,
				 .m.planes = &pl, .length = 1, .field = V4L2_FIELD_NONE };

	return xioctl(fd, VIDIOC_QBUF, &b) < 0 ? errno : 0;
}

static int cmd_shortbuf(int argc, char **argv)
{
	const char *dev = NULL;
	char path[300];
	struct v4l2_format of = { .type = OUT_MPLANE };
	struct v4l2_requestbuffers rb = { .count = 1, .type = OUT_MPLANE,
					  .memory = V4L2_MEMORY_DMABUF };
	unsigned int unpadded = 1920 * 1080 * 3 / 2, sizeimage;
	int fd, opt, e, short_fd, full_fd;

	optind = 1;
	while ((opt = getopt(argc, argv, "d:")) != -1) {
		if (opt != 'd')
			return 2;
		dev = optarg;
	}
	if (!dev) {
		if (!find_node(ENCODER_NAME, path, sizeof(path)))
			die("no video4linux node named '%s'", ENCODER_NAME);
		dev = path;
	}
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", dev, strerror(errno));
	of.fmt.pix_mp.width = 1920;
	of.fmt.pix_mp.height = 1080;
	of.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_YUV420;
	of.fmt.pix_mp.num_planes = 1;
	ioctl_or_die(fd, VIDIOC_S_FMT, &of, "VIDIOC_S_FMT(OUTPUT)");
	sizeimage = of.fmt.pix_mp.plane_fmt[0].sizeimage;
	printf("fmt out 1920x1080 YU12 -> height=%u bytesperline=%u sizeimage=%u\n",
	       of.fmt.pix_mp.height, of.fmt.pix_mp.plane_fmt[0].bytesperline, sizeimage);
	ioctl_or_die(fd, VIDIOC_REQBUFS, &rb, "VIDIOC_REQBUFS(OUTPUT, DMABUF)");

	short_fd = heap_alloc(unpadded);
	e = qbuf_dmabuf(fd, short_fd, unpadded, unpadded);
	printf("short dma-buf (%u bytes, 1080 rows) QBUF: %s\n", unpadded,
	       e ? strerror(e) : "accepted");
	if (e != EINVAL)
		die("a dma-buf shorter than sizeimage was not refused with EINVAL");
	printf("short_refused errno=%d\n", e);

	full_fd = heap_alloc(sizeimage);
	e = qbuf_dmabuf(fd, full_fd, sizeimage, sizeimage);
	printf("system-heap dma-buf of sizeimage (%u bytes) QBUF: %s\n", sizeimage,
	       e ? strerror(e) : "accepted");
	printf("full_qbuf errno=%d\n", e);
	printf("PASS\n");
	return 0;
}

/* --- gen -------------------------------------------------------------------------------- */

static int cmd_gen(int argc, char **argv)
{
	uint32_t f;
	unsigned int w, h, bpl, hbuf;
	size_t size;
	uint8_t *buf;
	char p[512];

	if (argc != 7)
		return 2;
	f = fourcc_parse(argv[1]);
	w = (unsigned int)atoi(argv[2]);
	h = (unsigned int)atoi(argv[3]);
	bpl = (unsigned int)atoi(argv[4]);
	hbuf = (unsigned int)atoi(argv[5]);
	size = (size_t)bpl * hbuf;
	if (f == V4L2_PIX_FMT_YUV420 || f == V4L2_PIX_FMT_NV12 || f == V4L2_PIX_FMT_NV21)
		size += size / 2;
	buf = malloc(size);
	if (!buf)
		die("out of memory");
	fill_frame(f, w, h, bpl, hbuf, 0, buf, size);
	snprintf(p, sizeof(p), "%s.raw", argv[6]);
	write_file(p, buf, size);
	write_meta(argv[6], f, w, h, bpl, hbuf, -1, "gen");
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int r = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "encode"))
		r = cmd_encode(argc - 1, argv + 1);
	else if (argc >= 2 && !strcmp(argv[1], "shortbuf"))
		r = cmd_shortbuf(argc - 1, argv + 1);
	else if (argc >= 2 && !strcmp(argv[1], "gen"))
		r = cmd_gen(argc - 1, argv + 1);
	if (r == 2)
		fprintf(stderr, "usage: %s encode|shortbuf|gen ... (see the head of %s)\n", argv[0],
			__FILE__);
	return r;
}
