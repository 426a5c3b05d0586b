/* m2m_floor: the floor of the Raspberry Pi's path (camera → V4L2 M2M JPEG encoder → N clients),
 * the system calls that path cannot do without and nothing else.
 *
 *   m2m_floor --camera DEV --encoder DEV [--size 640x360] [--rows R] [--fourcc YU12] [--fps 30]
 *             [--quality 80] [--port 0] [--buffers 4]
 *
 * Per frame, in this order, every call blocking: camera VIDIOC_DQBUF → encoder OUTPUT
 * VIDIOC_QBUF of the same buffer as a dma-buf (V4L2_MEMORY_DMABUF, the fd VIDIOC_EXPBUF gave once
 * at start) → encoder CAPTURE DQBUF (the JPEG) → encoder OUTPUT DQBUF → camera QBUF → one
 * sendmsg per client (part header, JPEG from the mapped CAPTURE buffer, closing boundary: the
 * three iovecs of bench/writeloop.c and mjpegd) → CAPTURE QBUF. Six ioctls, one clock_gettime
 * (X-Timestamp) and N sendmsg per frame; no poll, no probing DQBUF. While one frame is encoded
 * the camera fills its other buffers, so nothing is lost as long as an encode takes less than a
 * frame period. A second thread only accepts clients (blocked in accept4, costs nothing per
 * frame). No byte of a frame is copied in user space (bytes copied per frame: 0 by
 * construction); the kernel copies the JPEG into every client's socket, as for every server.
 *
 * The encoder is multi-planar with one memory plane (the Pi's bcm2835-codec is MPLANE only); the
 * camera is multi-planar with one plane (vivid with multiplanar=2) or single-planar (vimc's
 * capture node, the device libcamera's vimc pipeline streams from). The camera's buffers are
 * allocated with VIDIOC_CREATE_BUFS, large enough for the encoder's sizeimage (bcm2835-codec pads
 * the height to 16 rows and refuses a shorter plane at QBUF: raspberrypi/linux#4669); its
 * bytesperline must be the encoder's, or the floor stops (it never copies). Every OUTPUT buffer's
 * bytesused is the encoder's sizeimage, as mjpegd queues it.
 *
 * --rows R (default: the height): the camera writes R rows and the picture is the top --size
 * height of them, as mjpegd asks libcamera for padded rows (1920x1080: 1088 asked, 1092 given by
 * libcamera 0.0.3's vimc) and crops. The encoder's OUTPUT format is the picture's size (the
 * driver pads its rows: 1088), the crop is set with VIDIOC_S_SELECTION as mjpegd sets it, and the
 * camera's taller buffer is imported as it is. A camera without VIDIOC_S_PARM (vimc) streams at
 * its own rate: said once, not fatal.
 *
 * What it leaves out on purpose (mjpegd does it; a floor does not): HTTP request parsing, routing,
 * slow clients (blocking sockets: a reader that falls behind stalls everyone), frame skipping,
 * recovery, /status. X-Timestamp is the CLOCK_REALTIME time the JPEG was dequeued (loadclient's
 * latency then leaves the encode out). Prints "m2m_floor: port P" on stdout once streaming; logs
 * to stderr; on SIGINT/SIGTERM finishes its frame, prints "m2m_floor: frames F" and exits 0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BOUNDARY "mjpegdframe"
#define MAX_CLIENTS 1024
#define MAX_BUFFERS 16
#define N_JPEG_BUFFERS 2
#define ENC_RAW_TYPE V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE  /* raw frames into the encoder */
#define ENC_JPEG_TYPE V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE /* JPEG out of the encoder */

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

static const char http_head[] = "HTTP/1.1 200 OK\r\n"
				"Content-Type: multipart/x-mixed-replace;boundary=" BOUNDARY "\r\n"
				"Cache-Control: no-cache\r\n"
				"Connection: close\r\n\r\n--" BOUNDARY "\r\n";
static const char part_trailer[] = "\r\n--" BOUNDARY "\r\n";

/* log_errno("...") → "<3>m2m_floor: ...: strerror", returns -errno (journald prefixes) */
static int log_errno(int err, const char *fmt, ...)
{
	va_list ap;

	fputs("<3>m2m_floor: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	return err ? -err : -EINVAL;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

struct options {
	const char *camera_path, *encoder_path;
	unsigned int width, height, rows, fps, quality, buffers;
	uint32_t fourcc;
	int port;
};

struct camera_buffer {
	int dmabuf_fd;    /* VIDIOC_EXPBUF, imported by the encoder's OUTPUT queue */
	uint32_t length;  /* the plane's size: >= the encoder's sizeimage */
};

struct jpeg_buffer {
	const uint8_t *data; /* the encoder's CAPTURE buffer, mapped read-only */
	size_t length;
};

struct floor_state {
	struct options opt;
	int camera_fd, encoder_fd, listen_fd;
	uint32_t cam_type; /* V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, or _CAPTURE (single-planar) */
	uint32_t encoder_sizeimage;
	unsigned int n_camera_buffers;
	struct camera_buffer camera[MAX_BUFFERS];
	struct jpeg_buffer jpeg[N_JPEG_BUFFERS];
	pthread_mutex_t clients_lock; /* the accept thread adds, the frame loop sends and drops */
	int clients[MAX_CLIENTS];
	unsigned int n_clients;
	uint64_t frames;
};

static void fourcc_text(uint32_t f, char s[5])
{
	for (int i = 0; i < 4; i++)
		s[i] = (char)((f >> (8 * i)) & 0xff);
	s[4] = '\0';
}

/* want_caps: every bit needed; any_caps (or 0): at least one of them; *ret_caps: the device's */
static int open_device(const char *path, uint32_t want_caps, uint32_t any_caps, int *ret_fd,
		       uint32_t *ret_caps)
{
	struct v4l2_capability cap = { 0 };
	int fd = open(path, O_RDWR | O_CLOEXEC); /* blocking: DQBUF waits for the buffer */
	if (fd < 0)
		return log_errno(errno, "open %s", path);
	int r = xioctl(fd, VIDIOC_QUERYCAP, &cap);
	if (r < 0) {
		close(fd);
		return log_errno(-r, "%s: VIDIOC_QUERYCAP", path);
	}
	uint32_t caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
	if ((caps & want_caps) != want_caps || (any_caps && !(caps & any_caps)) ||
	    !(caps & V4L2_CAP_STREAMING)) {
		close(fd);
		return log_errno(0, "%s (%s): not a %s", path, (const char *)cap.card,
				 want_caps == V4L2_CAP_VIDEO_M2M_MPLANE
					 ? "multi-planar streaming M2M device"
					 : "streaming capture device (single- or multi-planar)");
	}
	fprintf(stderr, "<6>m2m_floor: %s: %s (%s)\n", path, (const char *)cap.card,
		(const char *)cap.driver);
	*ret_fd = fd;
	if (ret_caps)
		*ret_caps = caps;
	return 0;
}

/* formats: camera WxH FOURCC at fps; encoder OUTPUT the same with the camera's bytesperline,
 * encoder CAPTURE JPEG; the quality control */
static int set_formats(struct floor_state *s, struct v4l2_format *camera_fmt)
{
	const struct options *o = &s->opt;
	char cc[5];
	int r;

	const bool mplane = s->cam_type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
	*camera_fmt = (struct v4l2_format){ .type = s->cam_type };
	if (mplane) {
		camera_fmt->fmt.pix_mp.width = o->width;
		camera_fmt->fmt.pix_mp.height = o->rows;
		camera_fmt->fmt.pix_mp.pixelformat = o->fourcc;
		camera_fmt->fmt.pix_mp.field = V4L2_FIELD_NONE;
		camera_fmt->fmt.pix_mp.num_planes = 1;
	} else {
		camera_fmt->fmt.pix.width = o->width;
		camera_fmt->fmt.pix.height = o->rows;
		camera_fmt->fmt.pix.pixelformat = o->fourcc;
		camera_fmt->fmt.pix.field = V4L2_FIELD_NONE;
	}
	r = xioctl(s->camera_fd, VIDIOC_S_FMT, camera_fmt);
	if (r < 0)
		return log_errno(-r, "camera: VIDIOC_S_FMT");
	const struct v4l2_pix_format_mplane *cmp = &camera_fmt->fmt.pix_mp;
	const struct v4l2_pix_format *csp = &camera_fmt->fmt.pix;
	const uint32_t c_fourcc = mplane ? cmp->pixelformat : csp->pixelformat;
	const uint32_t c_width = mplane ? cmp->width : csp->width;
	const uint32_t c_height = mplane ? cmp->height : csp->height;
	const uint32_t c_bpl = mplane ? cmp->plane_fmt[0].bytesperline : csp->bytesperline;
	const uint32_t c_sizeimage = mplane ? cmp->plane_fmt[0].sizeimage : csp->sizeimage;
	fourcc_text(o->fourcc, cc);
	if (c_fourcc != o->fourcc || c_width != o->width || c_height != o->rows ||
	    (mplane && cmp->num_planes != 1))
		return log_errno(0, "camera: %s %ux%u not taken (got %ux%u, %u planes)", cc, o->width,
				 o->rows, c_width, c_height, mplane ? cmp->num_planes : 1);

	struct v4l2_streamparm parm = { .type = s->cam_type };
	parm.parm.capture.timeperframe = (struct v4l2_fract){ 1, o->fps };
	r = xioctl(s->camera_fd, VIDIOC_S_PARM, &parm);
	if (r == -ENOTTY)
		fprintf(stderr, "<5>m2m_floor: camera: no VIDIOC_S_PARM: it streams at its own rate\n");
	else if (r < 0)
		return log_errno(-r, "camera: VIDIOC_S_PARM %u fps", o->fps);

	struct v4l2_format raw = { .type = ENC_RAW_TYPE };
	raw.fmt.pix_mp.width = o->width;
	raw.fmt.pix_mp.height = o->height;
	raw.fmt.pix_mp.pixelformat = o->fourcc;
	raw.fmt.pix_mp.field = V4L2_FIELD_NONE;
	raw.fmt.pix_mp.num_planes = 1;
	raw.fmt.pix_mp.plane_fmt[0].bytesperline = c_bpl;
	r = xioctl(s->encoder_fd, VIDIOC_S_FMT, &raw);
	if (r < 0)
		return log_errno(-r, "encoder OUTPUT: VIDIOC_S_FMT %s", cc);
	if (raw.fmt.pix_mp.pixelformat != o->fourcc ||
	    raw.fmt.pix_mp.plane_fmt[0].bytesperline != c_bpl)
		return log_errno(0, "encoder OUTPUT: wants bytesperline %u for %s, the camera gives %u: "
				 "the floor does not copy",
				 raw.fmt.pix_mp.plane_fmt[0].bytesperline, cc, c_bpl);
	if (raw.fmt.pix_mp.width != o->width || raw.fmt.pix_mp.height < o->height)
		return log_errno(0, "encoder OUTPUT: %ux%u changed to %ux%u", o->width, o->height,
				 raw.fmt.pix_mp.width, raw.fmt.pix_mp.height);
	s->encoder_sizeimage = raw.fmt.pix_mp.plane_fmt[0].sizeimage;
	if (raw.fmt.pix_mp.height > o->height) {
		/* padded rows (bcm2835-codec: to 16): the picture is the top height rows, said
		 * with the OUTPUT crop as mjpegd says it (m2m_set_crop()); once, at start */
		struct v4l2_selection sel = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
					      .target = V4L2_SEL_TGT_CROP,
					      .r = { 0, 0, o->width, o->height } };
		r = xioctl(s->encoder_fd, VIDIOC_S_SELECTION, &sel);
		if (r < 0)
			fprintf(stderr, "<5>m2m_floor: encoder: no OUTPUT crop (VIDIOC_S_SELECTION: "
					"%s)\n", strerror(-r));
		else if (sel.r.width != o->width || sel.r.height != o->height)
			return log_errno(0, "encoder: crop %ux%u set as %ux%u", o->width, o->height,
					 sel.r.width, sel.r.height);
	}

	struct v4l2_format jpeg = { .type = ENC_JPEG_TYPE };
	jpeg.fmt.pix_mp.width = o->width;
	jpeg.fmt.pix_mp.height = o->height;
	jpeg.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_JPEG;
	jpeg.fmt.pix_mp.num_planes = 1;
	r = xioctl(s->encoder_fd, VIDIOC_S_FMT, &jpeg);
	if (r < 0)
		return log_errno(-r, "encoder CAPTURE: VIDIOC_S_FMT JPEG");

	struct v4l2_control q = { .id = V4L2_CID_JPEG_COMPRESSION_QUALITY, .value = (int)o->quality };
	r = xioctl(s->encoder_fd, VIDIOC_S_CTRL, &q);
	if (r < 0)
		return log_errno(-r, "encoder: quality %u", o->quality);
	fprintf(stderr, "<6>m2m_floor: %s %ux%u (camera: %u rows, %s), bytesperline %u; camera "
			"sizeimage %u, encoder's %u (%u rows)\n",
		cc, o->width, o->height, o->rows, mplane ? "multi-planar" : "single-planar", c_bpl,
		c_sizeimage, s->encoder_sizeimage, raw.fmt.pix_mp.height);
	return 0;
}

/* the camera's MMAP buffers, sized for the encoder, exported once; the encoder's OUTPUT queue
 * imports them (one OUTPUT slot per camera buffer: slot i always carries camera buffer i) */
static int setup_camera_buffers(struct floor_state *s, const struct v4l2_format *camera_fmt)
{
	struct v4l2_create_buffers cb = { .count = s->opt.buffers, .memory = V4L2_MEMORY_MMAP,
					  .format = *camera_fmt };
	const bool mplane = s->cam_type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
	uint32_t size = mplane ? camera_fmt->fmt.pix_mp.plane_fmt[0].sizeimage
			       : camera_fmt->fmt.pix.sizeimage;
	int r;

	if (size < s->encoder_sizeimage)
		size = s->encoder_sizeimage;
	if (mplane)
		cb.format.fmt.pix_mp.plane_fmt[0].sizeimage = size;
	else
		cb.format.fmt.pix.sizeimage = size;
	r = xioctl(s->camera_fd, VIDIOC_CREATE_BUFS, &cb);
	if (r < 0)
		return log_errno(-r, "camera: VIDIOC_CREATE_BUFS %u x %u bytes", s->opt.buffers, size);
	if (cb.index != 0 || cb.count < 2 || cb.count > MAX_BUFFERS)
		return log_errno(0, "camera: VIDIOC_CREATE_BUFS gave %u buffers from %u", cb.count,
				 cb.index);
	s->n_camera_buffers = cb.count;

	struct v4l2_requestbuffers rb = { .count = cb.count, .type = ENC_RAW_TYPE,
					  .memory = V4L2_MEMORY_DMABUF };
	r = xioctl(s->encoder_fd, VIDIOC_REQBUFS, &rb);
	if (r < 0)
		return log_errno(-r, "encoder OUTPUT: VIDIOC_REQBUFS %u DMABUF", cb.count);
	if (rb.count < cb.count)
		return log_errno(0, "encoder OUTPUT: %u slots for %u camera buffers", rb.count, cb.count);

	for (unsigned int i = 0; i < cb.count; i++) {
		struct v4l2_plane plane = { 0 };
		struct v4l2_buffer b = { .index = i, .type = s->cam_type,
					 .memory = V4L2_MEMORY_MMAP };
		if (mplane) {
			b.m.planes = &plane;
			b.length = 1;
		}
		r = xioctl(s->camera_fd, VIDIOC_QUERYBUF, &b);
		if (r < 0)
			return log_errno(-r, "camera: VIDIOC_QUERYBUF %u", i);
		uint32_t length = mplane ? plane.length : b.length;
		if (length < s->encoder_sizeimage)
			return log_errno(0, "camera buffer %u: %u bytes, the encoder needs %u", i,
					 length, s->encoder_sizeimage);
		s->camera[i].length = length;
		struct v4l2_exportbuffer e = { .type = s->cam_type, .index = i, .plane = 0,
					       .flags = O_RDWR | O_CLOEXEC };
		r = xioctl(s->camera_fd, VIDIOC_EXPBUF, &e);
		if (r < 0)
			return log_errno(-r, "camera: VIDIOC_EXPBUF %u", i);
		s->camera[i].dmabuf_fd = e.fd;
		r = xioctl(s->camera_fd, VIDIOC_QBUF, &b);
		if (r < 0)
			return log_errno(-r, "camera: VIDIOC_QBUF %u", i);
	}
	return 0;
}

static int setup_jpeg_buffers(struct floor_state *s)
{
	struct v4l2_requestbuffers rb = { .count = N_JPEG_BUFFERS, .type = ENC_JPEG_TYPE,
					  .memory = V4L2_MEMORY_MMAP };
	int r = xioctl(s->encoder_fd, VIDIOC_REQBUFS, &rb);
	if (r < 0)
		return log_errno(-r, "encoder CAPTURE: VIDIOC_REQBUFS");
	if (rb.count != N_JPEG_BUFFERS)
		return log_errno(0, "encoder CAPTURE: %u buffers, want %d", rb.count, N_JPEG_BUFFERS);
	for (unsigned int i = 0; i < rb.count; i++) {
		struct v4l2_plane plane = { 0 };
		struct v4l2_buffer b = { .index = i, .type = ENC_JPEG_TYPE, .memory = V4L2_MEMORY_MMAP,
					 .m.planes = &plane, .length = 1 };
		r = xioctl(s->encoder_fd, VIDIOC_QUERYBUF, &b);
		if (r < 0)
			return log_errno(-r, "encoder CAPTURE: VIDIOC_QUERYBUF %u", i);
		void *p = mmap(NULL, plane.length, PROT_READ, MAP_SHARED, s->encoder_fd,
			       plane.m.mem_offset);
		if (p == MAP_FAILED)
			return log_errno(errno, "encoder CAPTURE: mmap %u", i);
		s->jpeg[i] = (struct jpeg_buffer){ p, plane.length };
		r = xioctl(s->encoder_fd, VIDIOC_QBUF, &b);
		if (r < 0)
			return log_errno(-r, "encoder CAPTURE: VIDIOC_QBUF %u", i);
	}
	return 0;
}

static int stream_on(int fd, uint32_t type, const char *what)
{
	int r = xioctl(fd, VIDIOC_STREAMON, &type);
	return r < 0 ? log_errno(-r, "%s: VIDIOC_STREAMON", what) : 0;
}

static int listen_loopback(struct floor_state *s)
{
	int one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->opt.port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return log_errno(errno, "socket");
	setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s->listen_fd, 1024) < 0 ||
	    getsockname(s->listen_fd, (struct sockaddr *)&sa, &sl) < 0)
		return log_errno(errno, "127.0.0.1:%d", s->opt.port);
	return ntohs(sa.sin_port);
}

/* the accept thread: every connection gets the stream's head; its request is read, never
 * parsed */
static void *accept_clients(void *userdata)
{
	struct floor_state *s = userdata;
	int one = 1;
	char request[2048];

	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			log_errno(errno, "accept4");
			return NULL;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		(void)!recv(fd, request, sizeof(request), MSG_DONTWAIT);
		if (send(fd, http_head, sizeof(http_head) - 1, MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(http_head) - 1) {
			close(fd);
			continue;
		}
		pthread_mutex_lock(&s->clients_lock);
		if (s->n_clients < MAX_CLIENTS)
			s->clients[s->n_clients++] = fd;
		else
			close(fd);
		pthread_mutex_unlock(&s->clients_lock);
	}
}

/* one blocking sendmsg per client (a short write is finished at once); a failed client is
 * dropped */
static void send_part(struct floor_state *s, const uint8_t *jpeg, size_t len)
{
	struct timespec now;
	char hdr[160];

	clock_gettime(CLOCK_REALTIME, &now);
	int hl = snprintf(hdr, sizeof(hdr),
			  "Content-Type: image/jpeg\r\nContent-Length: %zu\r\n"
			  "X-Timestamp: %lld.%06ld\r\n\r\n",
			  len, (long long)now.tv_sec, now.tv_nsec / 1000);

	pthread_mutex_lock(&s->clients_lock);
	for (unsigned int i = 0; i < s->n_clients;) {
		struct iovec iov[3] = { { hdr, (size_t)hl }, { (void *)jpeg, len },
					{ (void *)part_trailer, sizeof(part_trailer) - 1 } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 3 };
		bool dead = false;
		while (m.msg_iovlen > 0) {
			ssize_t w = sendmsg(s->clients[i], &m, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				dead = true;
				break;
			}
			size_t done = (size_t)w;
			while (m.msg_iovlen > 0 && done >= m.msg_iov[0].iov_len) {
				done -= m.msg_iov[0].iov_len;
				m.msg_iov++;
				m.msg_iovlen--;
			}
			if (m.msg_iovlen > 0) {
				m.msg_iov[0].iov_base = (char *)m.msg_iov[0].iov_base + done;
				m.msg_iov[0].iov_len -= done;
			}
		}
		if (dead) {
			close(s->clients[i]);
			s->clients[i] = s->clients[--s->n_clients];
			continue;
		}
		i++;
	}
	pthread_mutex_unlock(&s->clients_lock);
}

/* one frame: the whole sequence, each call blocking */
static int one_frame(struct floor_state *s)
{
	const bool mplane = s->cam_type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
	struct v4l2_plane cp = { 0 };
	struct v4l2_buffer cb = { .type = s->cam_type, .memory = V4L2_MEMORY_MMAP };
	if (mplane) {
		cb.m.planes = &cp;
		cb.length = 1;
	}
	int r = xioctl(s->camera_fd, VIDIOC_DQBUF, &cb);
	if (r < 0)
		return log_errno(-r, "camera: VIDIOC_DQBUF");
	if (cb.flags & V4L2_BUF_FLAG_ERROR) { /* straight back */
		r = xioctl(s->camera_fd, VIDIOC_QBUF, &cb);
		return r < 0 ? log_errno(-r, "camera: VIDIOC_QBUF %u", cb.index) : 0;
	}

	struct v4l2_plane op = { .m.fd = s->camera[cb.index].dmabuf_fd,
				 .length = s->camera[cb.index].length,
				 .bytesused = s->encoder_sizeimage };
	struct v4l2_buffer ob = { .index = cb.index, .type = ENC_RAW_TYPE,
				  .memory = V4L2_MEMORY_DMABUF, .m.planes = &op, .length = 1,
				  .field = V4L2_FIELD_NONE, .timestamp = cb.timestamp };
	r = xioctl(s->encoder_fd, VIDIOC_QBUF, &ob);
	if (r < 0)
		return log_errno(-r, "encoder OUTPUT: VIDIOC_QBUF %u (dma-buf)", cb.index);

	struct v4l2_plane jp = { 0 };
	struct v4l2_buffer jb = { .type = ENC_JPEG_TYPE, .memory = V4L2_MEMORY_MMAP,
				  .m.planes = &jp, .length = 1 };
	r = xioctl(s->encoder_fd, VIDIOC_DQBUF, &jb);
	if (r < 0)
		return log_errno(-r, "encoder CAPTURE: VIDIOC_DQBUF");

	/* the job is done: its OUTPUT buffer was returned before the JPEG (v4l2-mem2mem) */
	op = (struct v4l2_plane){ 0 };
	ob = (struct v4l2_buffer){ .type = ENC_RAW_TYPE, .memory = V4L2_MEMORY_DMABUF,
				   .m.planes = &op, .length = 1 };
	r = xioctl(s->encoder_fd, VIDIOC_DQBUF, &ob);
	if (r < 0)
		return log_errno(-r, "encoder OUTPUT: VIDIOC_DQBUF");
	cp = (struct v4l2_plane){ 0 };
	cb = (struct v4l2_buffer){ .index = ob.index, .type = s->cam_type,
				   .memory = V4L2_MEMORY_MMAP };
	if (mplane) {
		cb.m.planes = &cp;
		cb.length = 1;
	}
	r = xioctl(s->camera_fd, VIDIOC_QBUF, &cb);
	if (r < 0)
		return log_errno(-r, "camera: VIDIOC_QBUF %u", ob.index);

	if (!(jb.flags & V4L2_BUF_FLAG_ERROR) && jp.bytesused > jp.data_offset &&
	    jb.index < N_JPEG_BUFFERS && jp.bytesused <= s->jpeg[jb.index].length) {
		send_part(s, s->jpeg[jb.index].data + jp.data_offset, jp.bytesused - jp.data_offset);
		s->frames++;
	}
	jp = (struct v4l2_plane){ 0 };
	r = xioctl(s->encoder_fd, VIDIOC_QBUF, &jb);
	return r < 0 ? log_errno(-r, "encoder CAPTURE: VIDIOC_QBUF %u", jb.index) : 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	*o = (struct options){ .width = 640, .height = 360, .fps = 30, .quality = 80, .buffers = 4,
			       .fourcc = V4L2_PIX_FMT_YUV420 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return -EINVAL;
		if (!strcmp(a, "--camera"))
			o->camera_path = v;
		else if (!strcmp(a, "--encoder"))
			o->encoder_path = v;
		else if (!strcmp(a, "--size")) {
			if (sscanf(v, "%ux%u", &o->width, &o->height) != 2)
				return -EINVAL;
		} else if (!strcmp(a, "--rows"))
			o->rows = (unsigned int)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--fourcc")) {
			if (strlen(v) != 4)
				return -EINVAL;
			o->fourcc = v4l2_fourcc(v[0], v[1], v[2], v[3]);
		} else if (!strcmp(a, "--fps"))
			o->fps = (unsigned int)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--quality"))
			o->quality = (unsigned int)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--port"))
			o->port = atoi(v);
		else if (!strcmp(a, "--buffers"))
			o->buffers = (unsigned int)strtoul(v, NULL, 10);
		else
			return -EINVAL;
		i++;
	}
	if (!o->rows)
		o->rows = o->height;
	if (!o->camera_path || !o->encoder_path || !o->fps || !o->width || !o->height ||
	    o->rows < o->height ||
	    o->buffers < 2 || o->buffers > MAX_BUFFERS || o->port < 0 || o->port > 65535)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	static struct floor_state s = { .clients_lock = PTHREAD_MUTEX_INITIALIZER };
	struct v4l2_format camera_fmt;
	int r, port;

	if (parse_options(argc, argv, &s.opt) < 0) {
		fprintf(stderr, "usage: m2m_floor --camera DEV --encoder DEV [--size WxH] [--rows R] "
				"[--fourcc YU12] [--fps N] [--quality Q] [--port P] [--buffers N]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	uint32_t camera_caps = 0;
	if (open_device(s.opt.camera_path, 0,
			V4L2_CAP_VIDEO_CAPTURE_MPLANE | V4L2_CAP_VIDEO_CAPTURE, &s.camera_fd,
			&camera_caps) < 0)
		return 1;
	s.cam_type = camera_caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE
								  : V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if (open_device(s.opt.encoder_path, V4L2_CAP_VIDEO_M2M_MPLANE, 0, &s.encoder_fd, NULL) < 0 ||
	    set_formats(&s, &camera_fmt) < 0 || setup_camera_buffers(&s, &camera_fmt) < 0 ||
	    setup_jpeg_buffers(&s) < 0 || stream_on(s.encoder_fd, ENC_RAW_TYPE, "encoder OUTPUT") < 0 ||
	    stream_on(s.encoder_fd, ENC_JPEG_TYPE, "encoder CAPTURE") < 0 ||
	    stream_on(s.camera_fd, s.cam_type, "camera") < 0)
		return 1;
	port = listen_loopback(&s);
	if (port < 0)
		return 1;
	printf("m2m_floor: port %d\n", port);
	fflush(stdout);

	pthread_t acceptor;
	r = pthread_create(&acceptor, NULL, accept_clients, &s);
	if (r != 0)
		return log_errno(r, "pthread_create") < 0 ? 1 : 0;
	while (!stop) {
		r = one_frame(&s);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return 1;
	}
	printf("m2m_floor: frames %llu\n", (unsigned long long)s.frames);
	return 0;
}
