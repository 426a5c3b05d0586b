/* dmabuf_m2m_check — zero-copy capture → M2M encoder check for the test VM.
 *
 * Captures from vivid with MMAP buffers, exports each with VIDIOC_EXPBUF and queues the
 * dma-buf fds into vicodec's stateful encoder OUTPUT queue (V4L2_MEMORY_DMABUF); the
 * encoder's CAPTURE queue (MMAP) must produce FWHT frames. This is the path mjpegd takes
 * with a camera and a hardware JPEG encoder (bcm2835-codec), with vicodec standing in.
 *
 * Usage: dmabuf_m2m_check [-c CAP_NAME] [-e ENC_NAME] [-n FRAMES] [-W WIDTH] [-H HEIGHT]
 *                         [-f FOURCC] [-o FILE]
 * Nodes are found by /sys/class/video4linux/<node>/name. Defaults: vivid-000-vid-cap,
 * stateful-encoder, 10 frames, 640x480 YUYV. -o writes the first encoded frame.
 * Either device may use the single- or the multi-planar API (one memory plane): each is driven
 * through the API its QUERYCAP announces, so a multi-planar camera's buffer (EXPBUF of plane 0)
 * can be imported by a single-planar encoder and the other way round.
 * Prints one "frame" line per encoded frame, then "PASS frames=N bytes=B"; exit 0 on success.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmtool.h"

#define NBUF 4
#define FWHT_MAGIC1 0x4f4f4f4fu
#define FWHT_MAGIC2 0xffffffffu

#define IOC(fd, req, arg)                                                                  \
	do {                                                                               \
		if (xioctl(fd, req, arg) < 0)                                              \
			die("%s: %s (line %d)", #req, strerror(errno), __LINE__);          \
	} while (0)

static void find_node_or_die(const char *want, char *out, size_t n)
{
	if (!find_node(want, out, n))
		die("no video4linux node named '%s'", want);
}

/* One device, driven through the API it announces: single-planar (pix) or multi-planar (pix_mp,
 * one memory plane). */
struct dev {
	int fd;
	int mplane;
	unsigned cap_type, out_type; /* CAPTURE and OUTPUT buffer types in that API */
};

static void dev_init(struct dev *d, int fd, unsigned caps)
{
	d->fd = fd;
	d->mplane = (caps & (V4L2_CAP_VIDEO_CAPTURE_MPLANE | V4L2_CAP_VIDEO_M2M_MPLANE)) != 0;
	d->cap_type = d->mplane ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;
	d->out_type = d->mplane ? V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE : V4L2_BUF_TYPE_VIDEO_OUTPUT;
}

/* The fields of a format this program uses, whichever API. */
struct fmt {
	unsigned width, height, pixelformat, bytesperline, sizeimage;
};

static void fmt_set(const struct dev *d, unsigned type, const struct fmt *in, struct fmt *out,
		    int try_only)
{
	struct v4l2_format f = {.type = type};
	IOC(d->fd, VIDIOC_G_FMT, &f);
	if (d->mplane) {
		f.fmt.pix_mp.width = in->width;
		f.fmt.pix_mp.height = in->height;
		f.fmt.pix_mp.pixelformat = in->pixelformat;
		f.fmt.pix_mp.field = V4L2_FIELD_NONE;
		f.fmt.pix_mp.num_planes = 1;
		/* the driver's own stride and size, not the previous format's */
		f.fmt.pix_mp.plane_fmt[0].bytesperline = 0;
		f.fmt.pix_mp.plane_fmt[0].sizeimage = 0;
	} else {
		f.fmt.pix.width = in->width;
		f.fmt.pix.height = in->height;
		f.fmt.pix.pixelformat = in->pixelformat;
		f.fmt.pix.field = V4L2_FIELD_NONE;
		f.fmt.pix.bytesperline = 0;
		f.fmt.pix.sizeimage = 0;
	}
	IOC(d->fd, try_only ? VIDIOC_G_FMT : VIDIOC_S_FMT, &f);
	if (d->mplane) {
		if (f.fmt.pix_mp.num_planes != 1)
			die("%u memory planes: this check handles one", f.fmt.pix_mp.num_planes);
		*out = (struct fmt){f.fmt.pix_mp.width, f.fmt.pix_mp.height,
				    f.fmt.pix_mp.pixelformat, f.fmt.pix_mp.plane_fmt[0].bytesperline,
				    f.fmt.pix_mp.plane_fmt[0].sizeimage};
	} else {
		*out = (struct fmt){f.fmt.pix.width, f.fmt.pix.height, f.fmt.pix.pixelformat,
				    f.fmt.pix.bytesperline, f.fmt.pix.sizeimage};
	}
}

/* A v4l2_buffer of either API, with its one plane. */
struct buf {
	struct v4l2_buffer b;
	struct v4l2_plane plane;
};

static void buf_init(const struct dev *d, struct buf *vb, unsigned type, unsigned memory,
		     unsigned index)
{
	memset(vb, 0, sizeof(*vb));
	vb->b.type = type;
	vb->b.memory = memory;
	vb->b.index = index;
	vb->b.field = V4L2_FIELD_NONE;
	if (d->mplane) {
		vb->b.m.planes = &vb->plane;
		vb->b.length = 1;
	}
}

static unsigned buf_length(const struct dev *d, const struct buf *vb)
{
	return d->mplane ? vb->plane.length : vb->b.length;
}

static unsigned buf_bytesused(const struct dev *d, const struct buf *vb)
{
	return d->mplane ? vb->plane.bytesused : vb->b.bytesused;
}

static unsigned buf_data_offset(const struct dev *d, const struct buf *vb)
{
	return d->mplane ? vb->plane.data_offset : 0;
}

static unsigned long buf_mem_offset(const struct dev *d, const struct buf *vb)
{
	return d->mplane ? vb->plane.m.mem_offset : vb->b.m.offset;
}

static void buf_set_dmabuf(const struct dev *d, struct buf *vb, int fd, unsigned bytesused,
			   unsigned length)
{
	if (d->mplane) {
		vb->plane.m.fd = fd;
		vb->plane.bytesused = bytesused;
		vb->plane.length = length;
	} else {
		vb->b.m.fd = fd;
		vb->b.bytesused = bytesused;
		vb->b.length = length;
	}
}

int main(int argc, char **argv)
{
	const char *cap_name = "vivid-000-vid-cap", *enc_name = "stateful-encoder", *outfile = NULL;
	unsigned int width = 640, height = 480, pixfmt = V4L2_PIX_FMT_YUYV;
	int frames = 10, opt;
	char cap_path[300], enc_path[300], s1[5], s2[5];

	while ((opt = getopt(argc, argv, "c:e:n:W:H:f:o:")) != -1) {
		switch (opt) {
		case 'c': cap_name = optarg; break;
		case 'e': enc_name = optarg; break;
		case 'n': frames = atoi(optarg); break;
		case 'W': width = (unsigned)atoi(optarg); break;
		case 'H': height = (unsigned)atoi(optarg); break;
		case 'f':
			if (strlen(optarg) != 4)
				die("-f wants a fourcc such as YUYV or YU12");
			pixfmt = v4l2_fourcc(optarg[0], optarg[1], optarg[2], optarg[3]);
			break;
		case 'o': outfile = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-c cap] [-e enc] [-n frames] [-W w] [-H h] "
					"[-f fourcc] [-o file]\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	find_node_or_die(cap_name, cap_path, sizeof cap_path);
	find_node_or_die(enc_name, enc_path, sizeof enc_path);
	int cfd = open(cap_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int efd = open(enc_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (cfd < 0 || efd < 0)
		die("open %s / %s: %s", cap_path, enc_path, strerror(errno));

	struct v4l2_capability qc = {0};
	struct dev cap, enc;
	IOC(cfd, VIDIOC_QUERYCAP, &qc);
	dev_init(&cap, cfd, qc.device_caps);
	printf("capture: %s (%s, %s), %s-planar\n", cap_path, (char *)qc.driver, (char *)qc.card,
	       cap.mplane ? "multi" : "single");
	IOC(efd, VIDIOC_QUERYCAP, &qc);
	dev_init(&enc, efd, qc.device_caps);
	printf("encoder: %s (%s, %s), %s-planar\n", enc_path, (char *)qc.driver, (char *)qc.card,
	       enc.mplane ? "multi" : "single");
	if (!(qc.device_caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE)))
		die("%s is not an M2M device (caps 0x%08x)", enc_path, qc.device_caps);

	/* Encoder: coded format on CAPTURE first, then the raw format on OUTPUT. */
	struct fmt want = {width, height, V4L2_PIX_FMT_FWHT, 0, 0}, ecf, eof, cf;
	fmt_set(&enc, enc.cap_type, &want, &ecf, 0);
	want.pixelformat = pixfmt;
	fmt_set(&enc, enc.out_type, &want, &eof, 0);
	fmt_set(&enc, enc.cap_type, &want, &ecf, 1); /* G_FMT: the coded size follows OUTPUT */

	/* Capture: same raw format. */
	fmt_set(&cap, cap.cap_type, &want, &cf, 0);
	/* Ask for 30 fps (vivid's webcam input defaults to less at 640x480); take what it gives. */
	struct v4l2_streamparm sp = {.type = cap.cap_type};
	sp.parm.capture.timeperframe.numerator = 1;
	sp.parm.capture.timeperframe.denominator = 30;
	if (xioctl(cfd, VIDIOC_S_PARM, &sp) < 0)
		printf("note: VIDIOC_S_PARM: %s\n", strerror(errno));
	else
		printf("capture frame interval %u/%u s\n", sp.parm.capture.timeperframe.numerator,
		       sp.parm.capture.timeperframe.denominator);
	printf("capture fmt %ux%u %s bytesperline=%u sizeimage=%u\n", cf.width, cf.height,
	       fourcc_str(cf.pixelformat, s1), cf.bytesperline, cf.sizeimage);
	printf("encoder OUTPUT %ux%u %s bytesperline=%u sizeimage=%u, CAPTURE %s sizeimage=%u\n",
	       eof.width, eof.height, fourcc_str(eof.pixelformat, s1), eof.bytesperline, eof.sizeimage,
	       fourcc_str(ecf.pixelformat, s2), ecf.sizeimage);
	if (cf.width != eof.width || cf.height != eof.height || cf.pixelformat != eof.pixelformat ||
	    cf.bytesperline != eof.bytesperline)
		die("capture and encoder OUTPUT formats differ");
	if (ecf.pixelformat != V4L2_PIX_FMT_FWHT)
		die("encoder CAPTURE format is %s, not FWHT", fourcc_str(ecf.pixelformat, s1));

	/* Capture buffers: the exporter's buffers must be at least the importer's sizeimage,
	 * so allocate with CREATE_BUFS at max(capture, encoder OUTPUT) sizeimage. */
	unsigned int bufsize = cf.sizeimage > eof.sizeimage ? cf.sizeimage : eof.sizeimage;
	struct v4l2_create_buffers cb = {.count = NBUF, .memory = V4L2_MEMORY_MMAP,
					 .format = {.type = cap.cap_type}};
	IOC(cfd, VIDIOC_G_FMT, &cb.format);
	if (cap.mplane)
		cb.format.fmt.pix_mp.plane_fmt[0].sizeimage = bufsize;
	else
		cb.format.fmt.pix.sizeimage = bufsize;
	IOC(cfd, VIDIOC_CREATE_BUFS, &cb);
	if (cb.count != NBUF)
		die("capture CREATE_BUFS gave %u buffers, wanted %d", cb.count, NBUF);
	int dfd[NBUF];
	unsigned int dlen[NBUF];
	struct buf vb;
	for (unsigned int i = 0; i < NBUF; i++) {
		buf_init(&cap, &vb, cap.cap_type, V4L2_MEMORY_MMAP, cb.index + i);
		IOC(cfd, VIDIOC_QUERYBUF, &vb.b);
		dlen[i] = buf_length(&cap, &vb);
		struct v4l2_exportbuffer eb = {.type = cap.cap_type, .index = cb.index + i,
					       .plane = 0, .flags = O_RDWR | O_CLOEXEC};
		IOC(cfd, VIDIOC_EXPBUF, &eb);
		dfd[i] = eb.fd;
		if (dlen[i] < eof.sizeimage)
			die("exported buffer %u is %u bytes < encoder sizeimage %u", i, dlen[i],
			    eof.sizeimage);
		IOC(cfd, VIDIOC_QBUF, &vb.b);
	}
	printf("exported %d capture buffers of %u bytes as dma-buf fds %d..%d\n", NBUF, dlen[0],
	       dfd[0], dfd[NBUF - 1]);

	/* Encoder OUTPUT: DMABUF import. Encoder CAPTURE: MMAP. */
	struct v4l2_requestbuffers rb = {.count = NBUF, .type = enc.out_type,
					 .memory = V4L2_MEMORY_DMABUF};
	IOC(efd, VIDIOC_REQBUFS, &rb);
	if (rb.count < NBUF)
		die("encoder OUTPUT REQBUFS(DMABUF) gave %u buffers, wanted %d", rb.count, NBUF);
	struct v4l2_requestbuffers rc = {.count = NBUF, .type = enc.cap_type,
					 .memory = V4L2_MEMORY_MMAP};
	IOC(efd, VIDIOC_REQBUFS, &rc);
	void *cmap[32];
	unsigned int clen[32];
	if (rc.count > 32)
		die("too many encoder CAPTURE buffers (%u)", rc.count);
	for (unsigned int i = 0; i < rc.count; i++) {
		buf_init(&enc, &vb, enc.cap_type, V4L2_MEMORY_MMAP, i);
		IOC(efd, VIDIOC_QUERYBUF, &vb.b);
		clen[i] = buf_length(&enc, &vb);
		cmap[i] = mmap(NULL, clen[i], PROT_READ, MAP_SHARED, efd, buf_mem_offset(&enc, &vb));
		if (cmap[i] == MAP_FAILED)
			die("mmap encoder CAPTURE buffer %u: %s", i, strerror(errno));
		IOC(efd, VIDIOC_QBUF, &vb.b);
	}

	unsigned t = cap.cap_type;
	IOC(cfd, VIDIOC_STREAMON, &t);
	t = enc.out_type;
	IOC(efd, VIDIOC_STREAMON, &t);
	t = enc.cap_type;
	IOC(efd, VIDIOC_STREAMON, &t);

	/* Encoder OUTPUT buffer i always carries capture buffer i's dma-buf. */
	int captured = 0, encoded = 0;
	unsigned long total = 0;
	while (encoded < frames) {
		struct pollfd p[2] = {{.fd = cfd, .events = POLLIN}, {.fd = efd, .events = POLLIN | POLLOUT}};
		int r = poll(p, 2, 5000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll: %s", strerror(errno));
		if (r == 0)
			die("timeout (5 s): captured %d, encoded %d", captured, encoded);
		if (p[0].revents & POLLERR)
			die("capture queue error (POLLERR)");
		if (p[0].revents & POLLIN) {
			buf_init(&cap, &vb, cap.cap_type, V4L2_MEMORY_MMAP, 0);
			if (xioctl(cfd, VIDIOC_DQBUF, &vb.b) == 0) {
				unsigned int i = vb.b.index - cb.index;
				unsigned used = buf_bytesused(&cap, &vb);
				captured++;
				if (vb.b.flags & V4L2_BUF_FLAG_ERROR)
					die("capture buffer %u flagged ERROR", i);
				if (buf_data_offset(&cap, &vb))
					die("capture buffer %u starts its picture %u bytes in "
					    "(data_offset): the encoder would read it from byte 0", i,
					    buf_data_offset(&cap, &vb));
				if (used < eof.sizeimage)
					die("captured %u bytes < encoder sizeimage %u", used,
					    eof.sizeimage);
				struct buf o;
				buf_init(&enc, &o, enc.out_type, V4L2_MEMORY_DMABUF, i);
				buf_set_dmabuf(&enc, &o, dfd[i], eof.sizeimage, dlen[i]);
				IOC(efd, VIDIOC_QBUF, &o.b);
			} else if (errno != EAGAIN) {
				die("capture DQBUF: %s", strerror(errno));
			}
		}
		if (p[1].revents & POLLERR)
			die("encoder queue error (POLLERR)");
		/* Encoded output. */
		for (;;) {
			buf_init(&enc, &vb, enc.cap_type, V4L2_MEMORY_MMAP, 0);
			if (xioctl(efd, VIDIOC_DQBUF, &vb.b) < 0) {
				if (errno == EAGAIN)
					break;
				die("encoder CAPTURE DQBUF: %s", strerror(errno));
			}
			const unsigned char *d = cmap[vb.b.index];
			unsigned used = buf_bytesused(&enc, &vb);
			if (vb.b.flags & V4L2_BUF_FLAG_ERROR)
				die("encoded buffer flagged ERROR");
			if (used < 16 || used > clen[vb.b.index])
				die("encoded frame has %u bytes", used);
			unsigned int m1, m2;
			memcpy(&m1, d, 4);
			memcpy(&m2, d + 4, 4);
			if (m1 != FWHT_MAGIC1 || m2 != FWHT_MAGIC2)
				die("encoded frame %d lacks the FWHT header magic (%08x %08x)",
				    encoded, m1, m2);
			total += used;
			printf("frame %d seq=%u bytes=%u\n", encoded, vb.b.sequence, used);
			if (outfile && encoded == 0) {
				FILE *f = fopen(outfile, "wb");
				if (!f || fwrite(d, 1, used, f) != used || fclose(f))
					die("write %s: %s", outfile, strerror(errno));
			}
			encoded++;
			IOC(efd, VIDIOC_QBUF, &vb.b);
		}
		/* Consumed raw frames: hand the buffer back to the capture device. */
		for (;;) {
			buf_init(&enc, &vb, enc.out_type, V4L2_MEMORY_DMABUF, 0);
			if (xioctl(efd, VIDIOC_DQBUF, &vb.b) < 0) {
				if (errno == EAGAIN)
					break;
				die("encoder OUTPUT DQBUF: %s", strerror(errno));
			}
			struct buf q;
			buf_init(&cap, &q, cap.cap_type, V4L2_MEMORY_MMAP, cb.index + vb.b.index);
			IOC(cfd, VIDIOC_QBUF, &q.b);
		}
	}
	t = cap.cap_type;
	IOC(cfd, VIDIOC_STREAMOFF, &t);
	t = enc.cap_type;
	IOC(efd, VIDIOC_STREAMOFF, &t);
	t = enc.out_type;
	IOC(efd, VIDIOC_STREAMOFF, &t);
	printf("PASS frames=%d bytes=%lu captured=%d\n", encoded, total, captured);
	return 0;
}
