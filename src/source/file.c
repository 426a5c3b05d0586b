/* File source: replays JPEGs from disk at a fixed rate, looping, as if a camera produced them.
 *
 * Input: a directory (every *.jpg / *.jpeg, case-insensitive, in byte order of the names) or one
 * file (a single JPEG, or an MJPEG stream: JPEGs back to back, possibly with junk in between).
 * Every file is split into JPEGs by walking the marker segments rather than by searching for
 * FFD8/FFD9, because both byte pairs legitimately occur inside a JPEG: an EXIF thumbnail in APP1
 * is a complete JPEG of its own, and only entropy-coded data is guaranteed free of them.
 *
 * Buffers: all bytes are loaded once (a single file is mmapped read-only, a directory is read
 * into one heap block) and never change, so raw frames point straight into them; the planes'
 * data must not be written. A slot only records that a raw_frame struct is lent, so that release
 * is checked to happen exactly once; several slots may show the same JPEG.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mjpegd/bug.h"
#include "mjpegd/clock.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "mjpegd/timer.h"
#include "mjpegd/source.h"

#define FILE_SLOTS 4
#define FILE_MAX_FPS 1000

struct jpeg_span {
	size_t offset; /* into file_source.data */
	size_t len;
};

struct file_source {
	struct source src;
	struct pacing_timer timer;
	uint64_t ticks;

	uint8_t *data; /* mmapped file, or heap block holding every file of the directory */
	size_t data_len;
	bool data_mapped;

	struct jpeg_span *jpegs;
	size_t n_jpegs, jpegs_cap;

	struct raw_frame slots[FILE_SLOTS];
	bool in_flight[FILE_SLOTS];

	char *description;
};

/* What load_jpegs_from() keeps track of while it appends to the index. */
struct split_result {
	size_t found, malformed, wrong_size;
	unsigned first_wrong_w, first_wrong_h;
};


static bool marker_is_sof(uint8_t m)
{
	/* C0..CF are frame headers except DHT (C4), JPG (C8) and DAC (CC) */
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* Parses one JPEG that starts with SOI at p[0]. Returns its length (through EOI) with the
 * dimensions of its first SOF, -EBADMSG when the structure is broken, -ENODATA when the buffer
 * ends first. */
static int jpeg_parse(const uint8_t *p, size_t n, size_t *out_len, unsigned *out_w,
		      unsigned *out_h)
{
	size_t i = 2;
	bool have_sof = false, have_scan = false;

	for (;;) {
		if (i >= n)
			return -ENODATA;
		if (p[i] != 0xFF)
			return -EBADMSG;
		while (i < n && p[i] == 0xFF) /* fill bytes may precede any marker */
			i++;
		if (i >= n)
			return -ENODATA;
		uint8_t m = p[i++];

		if (m == 0xD9) {
			if (!have_sof || !have_scan)
				return -EBADMSG;
			*out_len = i;
			return 0;
		}
		if (m == 0x00 || m == 0xD8)
			return -EBADMSG;
		if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) /* RSTn, TEM: no length */
			continue;

		if (n - i < 2)
			return -ENODATA;
		size_t seg_len = (size_t)p[i] << 8 | p[i + 1];
		if (seg_len < 2)
			return -EBADMSG;
		if (n - i < seg_len)
			return -ENODATA;
		if (marker_is_sof(m) && !have_sof) {
			if (seg_len < 8)
				return -EBADMSG;
			*out_h = (unsigned)p[i + 3] << 8 | p[i + 4];
			*out_w = (unsigned)p[i + 5] << 8 | p[i + 6];
			have_sof = true;
		}
		i += seg_len;
		if (m != 0xDA)
			continue;

		/* Entropy-coded data: it ends at the first marker that is neither a stuffed 0xFF
		 * (FF00) nor a restart marker; a progressive image continues with more segments. */
		have_scan = true;
		for (;;) {
			const uint8_t *ff = memchr(p + i, 0xFF, n - i);
			if (!ff)
				return -ENODATA;
			i = (size_t)(ff - p);
			if (i + 1 >= n)
				return -ENODATA;
			uint8_t next = p[i + 1];
			if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
				i += 2;
				continue;
			}
			if (next == 0xFF) {
				i++;
				continue;
			}
			break;
		}
	}
}

static int index_append(struct file_source *fs, size_t offset, size_t len)
{
	if (fs->n_jpegs == fs->jpegs_cap) {
		size_t cap = fs->jpegs_cap ? 2 * fs->jpegs_cap : 64;
		struct jpeg_span *n = reallocarray(fs->jpegs, cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		fs->jpegs = n;
		fs->jpegs_cap = cap;
	}
	fs->jpegs[fs->n_jpegs++] = (struct jpeg_span){ offset, len };
	return 0;
}

/* Appends every JPEG found in data[begin, end) to the index. The first JPEG accepted overall sets
 * the source's size; later ones of another size are counted in res and left out. Junk between
 * JPEGs is skipped silently (some MJPEG writers pad), broken JPEGs are counted. */
static int split_jpegs(struct file_source *fs, size_t begin, size_t end, struct split_result *res)
{
	const uint8_t *d = fs->data;
	size_t pos = begin;

	while (end - pos >= 4) {
		const uint8_t *soi = NULL;
		for (const uint8_t *q = d + pos; (q = memchr(q, 0xFF, (size_t)(d + end - 1 - q)));
		     q++)
			if (q[1] == 0xD8) {
				soi = q;
				break;
			}
		if (!soi)
			break;
		size_t start = (size_t)(soi - d), len;
		unsigned w = 0, h = 0;
		int r = jpeg_parse(soi, end - start, &len, &w, &h);
		if (r < 0 || w == 0 || h == 0) {
			res->malformed++;
			pos = start + 2;
			continue;
		}
		pos = start + len;
		if (fs->n_jpegs == 0) {
			fs->src.width = w;
			fs->src.height = h;
		} else if (w != fs->src.width || h != fs->src.height) {
			if (res->wrong_size++ == 0) {
				res->first_wrong_w = w;
				res->first_wrong_h = h;
			}
			continue;
		}
		r = index_append(fs, start, len);
		if (r < 0)
			return r;
		res->found++;
	}
	return 0;
}

static void split_report(const char *path, const struct file_source *fs,
			 const struct split_result *res)
{
	if (res->malformed)
		log_warn("file source: %s: skipped %zu malformed or truncated JPEG(s)", path,
			 res->malformed);
	if (res->wrong_size)
		log_warn("file source: %s: skipped %zu JPEG(s) not of the first frame's size %ux%u "
			 "(e.g. %ux%u)",
			 path, res->wrong_size, fs->src.width, fs->src.height, res->first_wrong_w,
			 res->first_wrong_h);
}

static int load_single_file(struct file_source *fs, const char *path, int fd, size_t size)
{
	if (size == 0)
		return 0; /* no JPEG in it: the caller reports -ENODATA */
	void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		int r = -errno;
		return log_err_errno(r, "file source: mmap %s", path);
	}
	fs->data = m;
	fs->data_len = size;
	fs->data_mapped = true;

	struct split_result res = { 0 };
	int r = split_jpegs(fs, 0, size, &res);
	if (r < 0)
		return log_err_errno(r, "file source: indexing %s", path);
	split_report(path, fs, &res);
	return 0;
}

static int jpeg_name_filter(const struct dirent *de)
{
	const char *dot = strrchr(de->d_name, '.');
	if (!dot || dot == de->d_name)
		return 0;
	return strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0;
}

/* strcmp rather than alphasort's strcoll: the replay order must not depend on the locale. */
static int name_compare(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Reads a whole file into fs->data at fs->data_len, growing the block. */
static int read_append(struct file_source *fs, int dir_fd, const char *name, const char *dir)
{
	int fd _cleanup_close_ = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;
		log_warn_errno(r, "file source: %s/%s skipped", dir, name);
		return 0;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0; /* a directory named x.jpg, a dangling entry: not an image */
	size_t size = (size_t)st.st_size;
	uint8_t *grown = realloc(fs->data, fs->data_len + size + 1);
	if (!grown)
		return log_err_errno(-ENOMEM, "file source: %s/%s", dir, name);
	fs->data = grown;
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, fs->data + fs->data_len + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			log_warn_errno(r, "file source: reading %s/%s skipped", dir, name);
			return 0;
		}
		if (n == 0)
			break; /* shrank while we read: keep what is there */
		got += (size_t)n;
	}

	struct split_result res = { 0 };
	size_t begin = fs->data_len;
	fs->data_len += got;
	int r = split_jpegs(fs, begin, fs->data_len, &res);
	if (r < 0)
		return log_err_errno(r, "file source: indexing %s/%s", dir, name);
	if (res.malformed || res.wrong_size) {
		char full[4096];
		snprintf(full, sizeof(full), "%s/%s", dir, name);
		split_report(full, fs, &res);
	}
	return 0;
}

static int load_directory(struct file_source *fs, const char *path, int dir_fd)
{
	struct dirent **names = NULL;
	int n = scandirat(dir_fd, ".", &names, jpeg_name_filter, name_compare);
	if (n < 0) {
		int r = -errno;
		return log_err_errno(r, "file source: listing %s", path);
	}
	int r = 0;
	for (int i = 0; i < n; i++) {
		if (r == 0)
			r = read_append(fs, dir_fd, names[i]->d_name, path);
		free(names[i]);
	}
	free(names);
	return r;
}

static int file_source_load(struct file_source *fs, const char *path)
{
	int fd _cleanup_close_ = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_err_errno(-errno, "file source: %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return log_err_errno(-errno, "file source: %s", path);
	int r = S_ISDIR(st.st_mode) ? load_directory(fs, path, fd)
				    : load_single_file(fs, path, fd, (size_t)st.st_size);
	if (r < 0)
		return r;
	if (fs->n_jpegs == 0)
		return log_err_errno(-ENODATA, "file source: %s: no JPEG image found", path);
	return 0;
}

static int file_source_fd(struct source *src)
{
	struct file_source *fs = src->priv;
	return fs->timer.fd;
}

static struct pacing_timer *file_source_pacer(struct source *src)
{
	struct file_source *fs = src->priv;
	return &fs->timer;
}

static int file_source_dequeue(struct source *src, struct raw_frame **out)
{
	struct file_source *fs = src->priv;
	uint64_t expirations = 0;
	int r = pacing_timer_take(&fs->timer, &expirations);
	if (r < 0)
		return r;
	/* Missed ticks skip their images, so the replay keeps the recorded pace. */
	fs->ticks += expirations;
	if (expirations > 1)
		src->stats.frames_dropped += expirations - 1;

	unsigned slot = FILE_SLOTS;
	for (unsigned i = 0; i < FILE_SLOTS; i++)
		if (!fs->in_flight[i]) {
			slot = i;
			break;
		}
	if (slot == FILE_SLOTS) {
		src->stats.frames_dropped++;
		fs->timer.taken = false; /* the caller stops here: read at the next readiness */
		return -EAGAIN;
	}

	const struct jpeg_span *j = &fs->jpegs[(fs->ticks - 1) % fs->n_jpegs];
	struct raw_frame *f = &fs->slots[slot];
	*f = (struct raw_frame){
		.fourcc = V4L2_PIX_FMT_JPEG,
		.width = src->width,
		.height = src->height,
		.n_planes = 1,
		.sequence = fs->ticks,
		.timestamp_us = now_wall_us(),
		.index = slot,
	};
	f->planes[0] = (struct raw_plane){
		.data = fs->data + j->offset, /* read-only mapping for a single file */
		.bytesperline = 0,
		.length = j->len,
		.dmabuf_fd = -1,
	};
	fs->in_flight[slot] = true;
	src->stats.frames_captured++;
	*out = f;
	return 0;
}

static void file_source_release(struct source *src, struct raw_frame *f)
{
	struct file_source *fs = src->priv;
	if (MJPEGD_BUG(!f || f->index >= FILE_SLOTS || f != &fs->slots[f->index],
		       "file source: released a frame it does not own"))
		return;
	if (MJPEGD_BUG(!fs->in_flight[f->index], "file source: frame %llu released twice", (unsigned long long)f->sequence))
		return;
	fs->in_flight[f->index] = false;
}

static void file_source_destroy(struct source *src)
{
	struct file_source *fs = src->priv;
	for (unsigned i = 0; i < FILE_SLOTS; i++)
		if (fs->in_flight[i])
			log_err("file source: destroyed while frame %llu is still lent",
				(unsigned long long)fs->slots[i].sequence);
	pacing_timer_close(&fs->timer);
	if (fs->data_mapped)
		munmap(fs->data, fs->data_len);
	else
		free(fs->data);
	free(fs->jpegs);
	free(fs->description);
	free(fs);
}

static const struct source_ops file_source_ops = {
	.name = "file",
	.fd = file_source_fd,
	.pacer = file_source_pacer,
	.dequeue = file_source_dequeue,
	.release = file_source_release,
	.destroy = file_source_destroy,
};

int source_file_create(const struct source_params *p, struct source **out)
{
	if (!p->path || !p->path[0])
		return log_err_errno(-EINVAL, "file source: no path given");
	if (p->fps < 1 || p->fps > FILE_MAX_FPS)
		return log_err_errno(-EINVAL, "file source: %s: fps %u out of range 1..%u", p->path,
					      p->fps, FILE_MAX_FPS);

	struct file_source *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return log_err_errno(-ENOMEM, "file source: %s", p->path);
	fs->timer.fd = -1;
	fs->src = (struct source){
		.ops = &file_source_ops,
		.fourcc = V4L2_PIX_FMT_JPEG,
		.fps = p->fps,
		.priv = fs,
	};

	int r = file_source_load(fs, p->path);
	if (r < 0) {
		file_source_destroy(&fs->src);
		return r;
	}
	if (asprintf(&fs->description, "file %s: %zu JPEGs %ux%u@%u", p->path, fs->n_jpegs,
		     fs->src.width, fs->src.height, p->fps) < 0) {
		fs->description = NULL;
		log_err_errno(-ENOMEM, "file source: %s", p->path);
		file_source_destroy(&fs->src);
		return -ENOMEM;
	}
	fs->src.description = fs->description;

	r = pacing_timer_init(&fs->timer, p->fps);
	if (r < 0) {
		log_err_errno(r, "file source: %s: timerfd", p->path);
		file_source_destroy(&fs->src);
		return r;
	}
	*out = &fs->src;
	return 0;
}
