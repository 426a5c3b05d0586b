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

#define NBUF 4
#define FWHT_MAGIC1 0x4f4f4f4fu
#define FWHT_MAGIC2 0xffffffffu

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	exit(1);
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;
	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r;
}

#define IOC(fd, req, arg)                                                                  \
	do {                                                                               \
		if (xioctl(fd, req, arg) < 0)                                              \
			die("%s: %s (line %d)", #req, strerror(errno), __LINE__);          \
	} while (0)

static void find_node(const char *want, char *out, size_t n)
{
	DIR *d = opendir("/sys/class/video4linux");
	struct dirent *e;
	if (!d)
		die("no /sys/class/video4linux: %s", strerror(errno));
	while ((e = readdir(d))) {
		char path[300], name[64] = "";
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/sys/class/video4linux/%s/name", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof name, f))
			name[strcspn(name, "\n")] = 0;
		fclose(f);
		if (!strcmp(name, want)) {
			snprintf(out, n, "/dev/%s", e->d_name);
			closedir(d);
			return;
		}
	}
	closedir(d);
	die("no video4linux node named '%s'", want);
}

static const char *fourcc(unsigned int f, char s[5])
{
	for (int i = 0; i < 4; i++)
		s[i] = (char)((f >> (8 * i)) & 0xff);
	s[4] = 0;
	return s;
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
	find_node(cap_name, cap_path, sizeof cap_path);
	find_node(enc_name, enc_path, sizeof enc_path);
	int cfd = open(cap_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int efd = open(enc_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (cfd < 0 || efd < 0)
		die("open %s / %s: %s", cap_path, enc_path, strerror(errno));

	struct v4l2_capability qc = {0};
	IOC(cfd, VIDIOC_QUERYCAP, &qc);
	printf("capture: %s (%s, %s)\n", cap_path, (char *)qc.driver, (char *)qc.card);
	IOC(efd, VIDIOC_QUERYCAP, &qc);
	printf("encoder: %s (%s, %s)\n", enc_path, (char *)qc.driver, (char *)qc.card);
	if (!(qc.device_caps & V4L2_CAP_VIDEO_M2M))
		die("%s is not a single-planar M2M device (caps 0x%08x)", enc_path, qc.device_caps);

	/* Encoder: coded format on CAPTURE first, then the raw format on OUTPUT. */
	struct v4l2_format ecf = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	IOC(efd, VIDIOC_G_FMT, &ecf);
	ecf.fmt.pix.pixelformat = V4L2_PIX_FMT_FWHT;
	ecf.fmt.pix.width = width;
	ecf.fmt.pix.height = height;
	IOC(efd, VIDIOC_S_FMT, &ecf);
	struct v4l2_format eof = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT};
	eof.fmt.pix.width = width;
	eof.fmt.pix.height = height;
	eof.fmt.pix.pixelformat = pixfmt;
	IOC(efd, VIDIOC_S_FMT, &eof);
	IOC(efd, VIDIOC_G_FMT, &ecf);

	/* Capture: same raw format. */
	struct v4l2_format cf = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	cf.fmt.pix.width = width;
	cf.fmt.pix.height = height;
	cf.fmt.pix.pixelformat = pixfmt;
	cf.fmt.pix.field = V4L2_FIELD_NONE;
	IOC(cfd, VIDIOC_S_FMT, &cf);
	/* Ask for 30 fps (vivid's webcam input defaults to less at 640x480); take what it gives. */
	struct v4l2_streamparm sp = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	sp.parm.capture.timeperframe.numerator = 1;
	sp.parm.capture.timeperframe.denominator = 30;
	if (xioctl(cfd, VIDIOC_S_PARM, &sp) < 0)
		printf("note: VIDIOC_S_PARM: %s\n", strerror(errno));
	else
		printf("capture frame interval %u/%u s\n", sp.parm.capture.timeperframe.numerator,
		       sp.parm.capture.timeperframe.denominator);
	printf("capture fmt %ux%u %s bytesperline=%u sizeimage=%u\n", cf.fmt.pix.width,
	       cf.fmt.pix.height, fourcc(cf.fmt.pix.pixelformat, s1), cf.fmt.pix.bytesperline,
	       cf.fmt.pix.sizeimage);
	printf("encoder OUTPUT %ux%u %s bytesperline=%u sizeimage=%u, CAPTURE %s sizeimage=%u\n",
	       eof.fmt.pix.width, eof.fmt.pix.height, fourcc(eof.fmt.pix.pixelformat, s1),
	       eof.fmt.pix.bytesperline, eof.fmt.pix.sizeimage,
	       fourcc(ecf.fmt.pix.pixelformat, s2), ecf.fmt.pix.sizeimage);
	if (cf.fmt.pix.width != eof.fmt.pix.width || cf.fmt.pix.height != eof.fmt.pix.height ||
	    cf.fmt.pix.pixelformat != eof.fmt.pix.pixelformat ||
	    cf.fmt.pix.bytesperline != eof.fmt.pix.bytesperline)
		die("capture and encoder OUTPUT formats differ");
	if (ecf.fmt.pix.pixelformat != V4L2_PIX_FMT_FWHT)
		die("encoder CAPTURE format is %s, not FWHT", fourcc(ecf.fmt.pix.pixelformat, s1));

	/* Capture buffers: the exporter's buffers must be at least the importer's sizeimage,
	 * so allocate with CREATE_BUFS at max(capture, encoder OUTPUT) sizeimage. */
	unsigned int bufsize = cf.fmt.pix.sizeimage > eof.fmt.pix.sizeimage ? cf.fmt.pix.sizeimage
									     : eof.fmt.pix.sizeimage;
	struct v4l2_create_buffers cb = {.count = NBUF, .memory = V4L2_MEMORY_MMAP, .format = cf};
	cb.format.fmt.pix.sizeimage = bufsize;
	IOC(cfd, VIDIOC_CREATE_BUFS, &cb);
	if (cb.count != NBUF)
		die("capture CREATE_BUFS gave %u buffers, wanted %d", cb.count, NBUF);
	int dfd[NBUF];
	unsigned int dlen[NBUF];
	for (unsigned int i = 0; i < NBUF; i++) {
		struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					.memory = V4L2_MEMORY_MMAP, .index = cb.index + i};
		IOC(cfd, VIDIOC_QUERYBUF, &b);
		dlen[i] = b.length;
		struct v4l2_exportbuffer eb = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					       .index = cb.index + i, .flags = O_RDWR | O_CLOEXEC};
		IOC(cfd, VIDIOC_EXPBUF, &eb);
		dfd[i] = eb.fd;
		if (dlen[i] < eof.fmt.pix.sizeimage)
			die("exported buffer %u is %u bytes < encoder sizeimage %u", i, dlen[i],
			    eof.fmt.pix.sizeimage);
		IOC(cfd, VIDIOC_QBUF, &b);
	}
	printf("exported %d capture buffers of %u bytes as dma-buf fds %d..%d\n", NBUF, dlen[0],
	       dfd[0], dfd[NBUF - 1]);

	/* Encoder OUTPUT: DMABUF import. Encoder CAPTURE: MMAP. */
	struct v4l2_requestbuffers rb = {.count = NBUF, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
					 .memory = V4L2_MEMORY_DMABUF};
	IOC(efd, VIDIOC_REQBUFS, &rb);
	if (rb.count < NBUF)
		die("encoder OUTPUT REQBUFS(DMABUF) gave %u buffers, wanted %d", rb.count, NBUF);
	struct v4l2_requestbuffers rc = {.count = NBUF, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					 .memory = V4L2_MEMORY_MMAP};
	IOC(efd, VIDIOC_REQBUFS, &rc);
	void *cmap[32];
	unsigned int clen[32];
	if (rc.count > 32)
		die("too many encoder CAPTURE buffers (%u)", rc.count);
	for (unsigned int i = 0; i < rc.count; i++) {
		struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					.memory = V4L2_MEMORY_MMAP, .index = i};
		IOC(efd, VIDIOC_QUERYBUF, &b);
		clen[i] = b.length;
		cmap[i] = mmap(NULL, b.length, PROT_READ, MAP_SHARED, efd, b.m.offset);
		if (cmap[i] == MAP_FAILED)
			die("mmap encoder CAPTURE buffer %u: %s", i, strerror(errno));
		IOC(efd, VIDIOC_QBUF, &b);
	}

	int t = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	IOC(cfd, VIDIOC_STREAMON, &t);
	t = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	IOC(efd, VIDIOC_STREAMON, &t);
	t = V4L2_BUF_TYPE_VIDEO_CAPTURE;
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
			struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
						.memory = V4L2_MEMORY_MMAP};
			if (xioctl(cfd, VIDIOC_DQBUF, &b) == 0) {
				unsigned int i = b.index - cb.index;
				captured++;
				if (b.flags & V4L2_BUF_FLAG_ERROR)
					die("capture buffer %u flagged ERROR", i);
				if (b.bytesused < eof.fmt.pix.sizeimage)
					die("captured %u bytes < encoder sizeimage %u", b.bytesused,
					    eof.fmt.pix.sizeimage);
				struct v4l2_buffer o = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
							.memory = V4L2_MEMORY_DMABUF, .index = i,
							.bytesused = eof.fmt.pix.sizeimage,
							.length = dlen[i], .field = V4L2_FIELD_NONE};
				o.m.fd = dfd[i];
				IOC(efd, VIDIOC_QBUF, &o);
			} else if (errno != EAGAIN) {
				die("capture DQBUF: %s", strerror(errno));
			}
		}
		if (p[1].revents & POLLERR)
			die("encoder queue error (POLLERR)");
		/* Encoded output. */
		for (;;) {
			struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
						.memory = V4L2_MEMORY_MMAP};
			if (xioctl(efd, VIDIOC_DQBUF, &b) < 0) {
				if (errno == EAGAIN)
					break;
				die("encoder CAPTURE DQBUF: %s", strerror(errno));
			}
			const unsigned char *d = cmap[b.index];
			if (b.flags & V4L2_BUF_FLAG_ERROR)
				die("encoded buffer flagged ERROR");
			if (b.bytesused < 16 || b.bytesused > clen[b.index])
				die("encoded frame has %u bytes", b.bytesused);
			unsigned int m1, m2;
			memcpy(&m1, d, 4);
			memcpy(&m2, d + 4, 4);
			if (m1 != FWHT_MAGIC1 || m2 != FWHT_MAGIC2)
				die("encoded frame %d lacks the FWHT header magic (%08x %08x)",
				    encoded, m1, m2);
			total += b.bytesused;
			printf("frame %d seq=%u bytes=%u\n", encoded, b.sequence, b.bytesused);
			if (outfile && encoded == 0) {
				FILE *f = fopen(outfile, "wb");
				if (!f || fwrite(d, 1, b.bytesused, f) != b.bytesused || fclose(f))
					die("write %s: %s", outfile, strerror(errno));
			}
			encoded++;
			IOC(efd, VIDIOC_QBUF, &b);
		}
		/* Consumed raw frames: hand the buffer back to the capture device. */
		for (;;) {
			struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
						.memory = V4L2_MEMORY_DMABUF};
			if (xioctl(efd, VIDIOC_DQBUF, &b) < 0) {
				if (errno == EAGAIN)
					break;
				die("encoder OUTPUT DQBUF: %s", strerror(errno));
			}
			struct v4l2_buffer q = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
						.memory = V4L2_MEMORY_MMAP, .index = cb.index + b.index};
			IOC(cfd, VIDIOC_QBUF, &q);
		}
	}
	t = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	IOC(cfd, VIDIOC_STREAMOFF, &t);
	IOC(efd, VIDIOC_STREAMOFF, &t);
	t = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	IOC(efd, VIDIOC_STREAMOFF, &t);
	printf("PASS frames=%d bytes=%lu captured=%d\n", encoded, total, captured);
	return 0;
}
