/* encode_bench: software JPEG frames per CPU-second through mjpegd's own encoder API
 * (include/mjpegd/encoder.h: encoder_software_create, libjpeg-turbo's TurboJPEG on a worker
 * thread), exactly as the daemon drives it: submit raw frames, wait on the encoder's fd, collect.
 *
 *   encode_bench --input FILE --format yuv420|yuyv --size WxH [--quality 80] [--seconds 3]
 *   encode_bench --direct [--fastdct] [--yuyv old-422|422|420|chunked] ...   other paths, side by side
 *
 * FILE holds raw frames back to back (I420 or YUYV, tightly packed; bench/run.py makes them
 * with ffmpeg from the same testsrc2+noise images as the fan-out JPEGs). Prints one JSON object:
 * frames encoded, the worker's CPU time for them (the encoder's own encode_ns, i.e.
 * CLOCK_THREAD_CPUTIME_ID around each encode, YUYV de-interleaving included), the whole process's
 * CPU time (getrusage: adds the submit/collect thread), and frames per CPU-second from both.
 * Links build/libmjpegd.a (make bench builds it as build/bench/encode_bench).
 *
 * --direct calls TurboJPEG itself on this thread, the way src/encoder/software.c does
 * (tjCompressFromYUVPlanes), to price the paths the daemon does not take: --fastdct
 * (TJFLAG_FASTDCT), and for YUYV --yuyv old-422 (the byte-at-a-time 4:2:2 loop the daemon had
 * before src/encoder/yuyv.c: the "before" of issue 21), 422 (yuyv_to_planar422: vectorised, 4:2:2
 * JPEG), 420 (yuyv_to_planar420: vectorised, chroma averaged over row pairs, 4:2:0 JPEG, whole
 * planes: the daemon's path before issue 21 item 5) or chunked (src/encoder/yuyv_jpeg.c: the same
 * de-interleave per 16-row strip into libjpeg's jpeg_write_raw_data, the daemon's path now). It
 * reports the de-interleaving's CPU time apart (0 for chunked, where it is inside the encode).
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <turbojpeg.h>

#include "mjpegd/clock.h"
#include "mjpegd/encoder.h"
#include "mjpegd/encoder/yuyv.h"
#include "mjpegd/encoder/yuyv_jpeg.h"
#include "mjpegd/frame.h"
#include "mjpegd/log.h"

#define MAX_RAW 64

struct raws {
	struct raw_frame raw[MAX_RAW];
	bool busy[MAX_RAW];
	unsigned n;
};

static void release_raw(void *ctx, struct raw_frame *raw)
{
	struct raws *r = ctx;
	r->busy[raw->index] = false;
}

static double rusage_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The daemon's YUYV → planar 4:2:2 loop before src/encoder/yuyv.c, byte by byte (GCC leaves it
 * scalar at -O2): kept here as the reference the new paths are measured against. */
static void deint_old422(const uint8_t *src, unsigned w, unsigned h, uint8_t *y, uint8_t *u,
			 uint8_t *v)
{
	for (unsigned row = 0; row < h; row++) {
		const uint8_t *s = src + (size_t)row * 2 * w;
		for (unsigned x = 0; x < w / 2; x++, s += 4) {
			*y++ = s[0];
			*u++ = s[1];
			*y++ = s[2];
			*v++ = s[3];
		}
	}
}

enum yuyv_path { YUYV_OLD422, YUYV_422, YUYV_420, YUYV_CHUNKED };

static int run_direct(struct raws *raws, bool yuyv, enum yuyv_path path, bool fastdct, unsigned w,
		      unsigned h, unsigned quality, double seconds)
{
	tjhandle tj = tjInitCompress();
	unsigned long cap = tjBufSize((int)w, (int)h, TJSAMP_422);
	unsigned char *out = tjAlloc((int)cap);
	uint8_t *scratch = malloc((size_t)w * h * 2);
	struct yuyv_jpeg *yj = yuyv && path == YUYV_CHUNKED ? yuyv_jpeg_new() : NULL;
	if (!tj || !out || !scratch || (yuyv && path == YUYV_CHUNKED && !yj))
		return 1;
	bool to420 = path == YUYV_420 || path == YUYV_CHUNKED;
	int subsamp = yuyv && !to420 ? TJSAMP_422 : TJSAMP_420;
	int flags = TJFLAG_NOREALLOC | (fastdct ? TJFLAG_FASTDCT : 0);
	double t_deint = 0, t_total = 0, t0 = (double)now_mono_ns() * 1e-9;
	uint64_t n = 0, bytes = 0;
	while ((double)now_mono_ns() * 1e-9 - t0 < seconds || n < 10) {
		const struct raw_frame *r = &raws->raw[n % raws->n];
		const unsigned char *planes[3];
		int strides[3];
		double c0 = thread_cpu();
		if (yj) {
			/* de-interleave and encode in one: no separate de-interleave time */
			uint8_t *grown;
			size_t jlen;
			char err[200];
			if (yuyv_jpeg_encode(yj, r->planes[0].data, 2 * (size_t)w, w, h, (int)quality,
					     out, cap, &grown, &jlen, err, sizeof(err)) < 0) {
				fprintf(stderr, "encode_bench: %s\n", err);
				return 1;
			}
			free(grown); /* never: cap is tjBufSize */
			double c2 = thread_cpu();
			t_total += c2 - c0;
			bytes += jlen;
			n++;
			continue;
		}
		if (yuyv) {
			uint8_t *y = scratch, *u = y + (size_t)w * h;
			uint8_t *v = u + (to420 ? (size_t)w * h / 4 : (size_t)w * h / 2);
			if (path == YUYV_420)
				yuyv_to_planar420(r->planes[0].data, 2 * (size_t)w, w, h, y, u, v);
			else if (path == YUYV_422)
				yuyv_to_planar422(r->planes[0].data, 2 * (size_t)w, w, h, y, u, v);
			else
				deint_old422(r->planes[0].data, w, h, y, u, v);
			planes[0] = y, planes[1] = u, planes[2] = v;
			strides[0] = (int)w;
			strides[1] = strides[2] = (int)(w / 2);
		} else {
			for (int i = 0; i < 3; i++) {
				planes[i] = r->planes[i].data;
				strides[i] = (int)r->planes[i].bytesperline;
			}
		}
		double c1 = thread_cpu();
		unsigned long len = cap;
		if (tjCompressFromYUVPlanes(tj, planes, (int)w, strides, (int)h, subsamp, &out, &len,
					    (int)quality, flags) < 0) {
			fprintf(stderr, "encode_bench: %s\n", tjGetErrorStr2(tj));
			return 1;
		}
		double c2 = thread_cpu();
		t_deint += c1 - c0;
		t_total += c2 - c0;
		bytes += len;
		n++;
	}
	static const char *const path_name[] = {
		[YUYV_OLD422] = ", YUYV→4:2:2, the old scalar loop",
		[YUYV_422] = ", YUYV→4:2:2, vectorised",
		[YUYV_420] = ", YUYV→4:2:0 (chroma row pairs averaged), vectorised",
		[YUYV_CHUNKED] = " (libjpeg raw data, 16-row strips), YUYV→4:2:0 (chroma row pairs averaged), vectorised",
	};
	printf("{\"encoder\": \"TurboJPEG direct%s%s\", \"deinterleave\": \"%s\", "
	       "\"format\": \"%s\", \"width\": %u, "
	       "\"height\": %u, \"quality\": %u, \"frames\": %llu, \"encode_cpu_s\": %.6f, "
	       "\"deinterleave_cpu_s\": %.6f, \"fps_per_cpu_s\": %.3f, \"mean_jpeg_bytes\": %.1f}\n",
	       fastdct ? ", TJFLAG_FASTDCT" : "", yuyv ? path_name[path] : ", I420",
	       !yuyv ? "none" : path == YUYV_OLD422 ? "scalar" : yuyv_simd_name(),
	       yuyv ? "yuyv" : "yuv420", w, h, quality, (unsigned long long)n, t_total, t_deint,
	       (double)n / t_total, (double)bytes / (double)n);
	tjFree(out);
	tjDestroy(tj);
	free(scratch);
	return 0;
}

int main(int argc, char **argv)
{
	const char *input = NULL, *format = "yuv420";
	unsigned w = 640, h = 480, quality = 80;
	double seconds = 3.0;
	bool direct = false, fastdct = false;
	enum yuyv_path path = YUYV_420;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--direct")) { direct = true; continue; }
		if (!strcmp(argv[i], "--fastdct")) { fastdct = true; continue; }
		if (!strcmp(argv[i], "--input") && i + 1 < argc) input = argv[++i];
		else if (!strcmp(argv[i], "--format") && i + 1 < argc) format = argv[++i];
		else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
			if (sscanf(argv[++i], "%ux%u", &w, &h) != 2)
				return 2;
		} else if (!strcmp(argv[i], "--quality") && i + 1 < argc) quality = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--yuyv") && i + 1 < argc) {
			const char *a = argv[++i];
			if (!strcmp(a, "old-422")) path = YUYV_OLD422;
			else if (!strcmp(a, "422")) path = YUYV_422;
			else if (!strcmp(a, "420")) path = YUYV_420;
			else if (!strcmp(a, "chunked")) path = YUYV_CHUNKED;
			else return 2;
		}
		else {
			fprintf(stderr, "usage: encode_bench --input FILE --format yuv420|yuyv --size WxH "
					"[--quality N] [--seconds S] [--direct [--fastdct] [--yuyv old-422|422|420|chunked]]\n");
			return 2;
		}
	}
	bool yuyv = !strcmp(format, "yuyv");
	size_t frame_bytes = yuyv ? (size_t)w * h * 2 : (size_t)w * h * 3 / 2;
	FILE *f = input ? fopen(input, "rb") : NULL;
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0 || (size_t)st.st_size < frame_bytes) {
		fprintf(stderr, "encode_bench: cannot read whole %s frames from %s\n", format,
			input ? input : "(no --input)");
		return 2;
	}
	static struct raws raws;
	raws.n = (unsigned)((size_t)st.st_size / frame_bytes);
	if (raws.n > MAX_RAW)
		raws.n = MAX_RAW;
	for (unsigned i = 0; i < raws.n; i++) {
		uint8_t *m = malloc(frame_bytes);
		if (!m || fread(m, 1, frame_bytes, f) != frame_bytes)
			return 2;
		struct raw_frame *r = &raws.raw[i];
		*r = (struct raw_frame){ .fourcc = yuyv ? V4L2_PIX_FMT_YUYV : V4L2_PIX_FMT_YUV420,
					 .width = w, .height = h, .index = i };
		if (yuyv) {
			r->n_planes = 1;
			r->planes[0] = (struct raw_plane){ .data = m, .bytesperline = 2 * (size_t)w,
							   .length = frame_bytes, .dmabuf_fd = -1 };
		} else {
			size_t y = (size_t)w * h, c = y / 4;
			r->n_planes = 3;
			r->planes[0] = (struct raw_plane){ .data = m, .bytesperline = w, .length = y,
							   .dmabuf_fd = -1 };
			r->planes[1] = (struct raw_plane){ .data = m + y, .bytesperline = w / 2,
							   .length = c, .dmabuf_fd = -1 };
			r->planes[2] = (struct raw_plane){ .data = m + y + c, .bytesperline = w / 2,
							   .length = c, .dmabuf_fd = -1 };
		}
	}
	fclose(f);
	if (direct)
		return run_direct(&raws, yuyv, path, fastdct, w, h, quality, seconds);

	log_set_level(LOG_LEVEL_WARNING);
	struct frame_pool pool;
	if (frame_pool_init(&pool, 8) < 0)
		return 1;
	struct encoder_params p = {
		.in_fourcc = yuyv ? V4L2_PIX_FMT_YUYV : V4L2_PIX_FMT_YUV420,
		.width = w, .height = h, .quality = quality, .pool = &pool,
		.release_raw = release_raw, .release_ctx = &raws,
	};
	struct encoder *enc = NULL;
	if (encoder_software_create(&p, &enc) < 0)
		return 1;

	/* warm-up: the encoder sizes its output buffers from the first frames */
	uint64_t frames = 0, bytes = 0, warm = 10;
	uint64_t ns0 = 0, frames0 = 0;
	double cpu0 = 0, t0 = 0, t_end = 0;
	unsigned next = 0;
	for (;;) {
		/* keep the encoder's two slots busy */
		for (unsigned k = 0; k < raws.n; k++) {
			unsigned i = (next + k) % raws.n;
			if (raws.busy[i])
				continue;
			raws.busy[i] = true;
			int r = encoder_submit(enc, &raws.raw[i]);
			if (r < 0) {
				raws.busy[i] = false;
				break;
			}
			next = i + 1;
		}
		struct pollfd pf = { encoder_fd(enc), POLLIN, 0 };
		poll(&pf, 1, 1000);
		struct frame *out;
		int r;
		while ((r = encoder_collect(enc, &out)) != -EAGAIN) {
			if (r < 0) {
				fprintf(stderr, "encode_bench: encode error %d\n", r);
				return 1;
			}
			frames++;
			if (frames > warm)
				bytes += out->len;
			frame_unref(out);
			if (frames == warm) {
				ns0 = enc->stats.encode_ns;
				frames0 = frames;
				cpu0 = rusage_cpu();
				t0 = (double)now_mono_ns() * 1e-9;
				t_end = t0 + seconds;
			}
		}
		if (frames > warm && (double)now_mono_ns() * 1e-9 >= t_end)
			break;
	}
	double wall = (double)now_mono_ns() * 1e-9 - t0;
	double cpu = rusage_cpu() - cpu0;
	double enc_cpu = (double)(enc->stats.encode_ns - ns0) * 1e-9;
	uint64_t n = frames - frames0;
	char description[128];
	snprintf(description, sizeof(description), "%s", enc->description);
	encoder_destroy(enc);
	frame_pool_destroy(&pool);
	printf("{\"encoder\": \"mjpegd software (TurboJPEG %s planes)\", \"description\": \"%s\", "
	       "\"format\": \"%s\", "
	       "\"width\": %u, \"height\": %u, \"quality\": %u, \"frames\": %llu, "
	       "\"wall_s\": %.6f, \"encode_cpu_s\": %.6f, \"process_cpu_s\": %.6f, "
	       "\"fps_per_cpu_s\": %.3f, \"fps_per_process_cpu_s\": %.3f, \"fps_wall\": %.3f, "
	       "\"mean_jpeg_bytes\": %.1f}\n",
	       yuyv ? "YUYV→4:2:0" : "I420→4:2:0", description, format, w, h, quality, (unsigned long long)n,
	       wall, enc_cpu, cpu, (double)n / enc_cpu, (double)n / cpu, (double)n / wall,
	       n ? (double)bytes / (double)n : 0.0);
	return 0;
}
