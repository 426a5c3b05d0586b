/* File source: directories of JPEGs, MJPEG files split by segment structure, errors, drops. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "mjpegd/bug.h"
#include "mjpegd/source.h"

struct blob {
	uint8_t *data;
	size_t len;
};

static void blob_append(struct blob *b, const void *data, size_t len)
{
	b->data = realloc(b->data, b->len + len);
	assert_non_null(b->data);
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

/* A JPEG of noise (so the entropy data is long and full of stuffed FF00) at the given size. */
static struct blob make_jpeg(unsigned w, unsigned h, unsigned seed, int flags)
{
	uint8_t *rgb = malloc((size_t)w * h * 3);
	assert_non_null(rgb);
	for (size_t i = 0; i < (size_t)w * h * 3; i++) {
		seed = seed * 1103515245u + 12345u;
		rgb[i] = (uint8_t)(seed >> 16);
	}
	tjhandle tj = tjInitCompress();
	assert_non_null(tj);
	unsigned char *out = NULL;
	unsigned long len = 0;
	assert_int_equal(tjCompress2(tj, rgb, (int)w, 0, (int)h, TJPF_RGB, &out, &len, TJSAMP_420,
				     90, flags),
			 0);
	struct blob b = { 0 };
	blob_append(&b, out, len);
	tjFree(out);
	tjDestroy(tj);
	free(rgb);
	return b;
}

/* main with an APP1 "Exif" segment holding a complete JPEG thumbnail (its own FFD8 … FFD9) */
static struct blob with_thumbnail(const struct blob *main_jpeg, const struct blob *thumb)
{
	struct blob b = { 0 };
	size_t seg_len = 2 + 6 + thumb->len;
	assert_true(seg_len <= 0xFFFF);
	uint8_t head[] = { 0xFF, 0xD8, 0xFF, 0xE1, (uint8_t)(seg_len >> 8), (uint8_t)seg_len,
			   'E',	 'x',  'i',  'f',  0,			  0 };
	blob_append(&b, head, sizeof(head));
	blob_append(&b, thumb->data, thumb->len);
	blob_append(&b, main_jpeg->data + 2, main_jpeg->len - 2);
	return b;
}

/* FF00 after the (first) SOS: a stuffed 0xFF in the entropy-coded data */
static bool entropy_has_stuffing(const struct blob *j)
{
	size_t i = 0;
	while (i + 1 < j->len && !(j->data[i] == 0xFF && j->data[i + 1] == 0xDA))
		i++;
	for (; i + 1 < j->len; i++)
		if (j->data[i] == 0xFF && j->data[i + 1] == 0x00)
			return true;
	return false;
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static char *make_temp_dir(void)
{
	char *dir = strdup("/tmp/mjpegd-test-file-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_temp_dir(char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

static int next_frame(struct source *src, struct raw_frame **out)
{
	for (int tries = 0; tries < 100; tries++) {
		struct pollfd pfd = { .fd = source_fd(src), .events = POLLIN };
		assert_true(poll(&pfd, 1, 2000) > 0);
		uint64_t dropped = src->stats.frames_dropped;
		int r = source_dequeue(src, out);
		if (r != -EAGAIN || src->stats.frames_dropped > dropped)
			return r;
	}
	return -ETIMEDOUT;
}

static int create(const char *path, struct source **out)
{
	struct source_params p = { .width = 0, .height = 0, .fps = 500, .path = path };
	*out = NULL;
	return source_file_create(&p, out);
}

/* Dequeues a few loops' worth and checks each frame is the expected JPEG, byte for byte. The
 * file source skips images of missed ticks, so the expected one follows from the sequence. */
static void expect_replay(struct source *src, const struct blob *expected, size_t n)
{
	const uint8_t *first_ptr[16] = { 0 };
	assert_true(n <= 16);
	for (size_t k = 0; k < 3 * n + 2; k++) {
		struct raw_frame *f;
		assert_int_equal(next_frame(src, &f), 0);
		size_t i = (size_t)((f->sequence - 1) % n);
		assert_int_equal(f->fourcc, V4L2_PIX_FMT_JPEG);
		assert_int_equal(f->n_planes, 1);
		assert_int_equal(f->planes[0].dmabuf_fd, -1);
		assert_int_equal(f->width, src->width);
		assert_int_equal(f->height, src->height);
		assert_int_equal(f->planes[0].length, expected[i].len);
		assert_memory_equal(f->planes[0].data, expected[i].data, expected[i].len);
		/* loaded once: the same image always comes from the same bytes */
		if (first_ptr[i])
			assert_ptr_equal(f->planes[0].data, first_ptr[i]);
		first_ptr[i] = f->planes[0].data;
		source_release(src, f);
	}
}

static void test_directory_sorted_by_name(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	struct blob a = make_jpeg(64, 48, 1, 0), b = make_jpeg(64, 48, 2, 0),
		    c = make_jpeg(64, 48, 3, 0);
	write_file(dir, "b.jpg", b.data, b.len);
	write_file(dir, "a.jpeg", a.data, a.len);
	write_file(dir, "c.JPG", c.data, c.len);
	write_file(dir, "notes.txt", "hello", 5);
	write_file(dir, "empty.jpg", "", 0);
	char sub[512];
	snprintf(sub, sizeof(sub), "%s/sub.jpg", dir);
	assert_int_equal(mkdir(sub, 0755), 0);

	struct source *src;
	assert_int_equal(create(dir, &src), 0);
	assert_int_equal(src->fourcc, V4L2_PIX_FMT_JPEG);
	assert_int_equal(src->width, 64);
	assert_int_equal(src->height, 48);
	assert_int_equal(src->fps, 500);
	assert_non_null(src->description);
	struct blob expected[] = { a, b, c };
	expect_replay(src, expected, 3);
	source_destroy(src);

	free(a.data);
	free(b.data);
	free(c.data);
	remove_temp_dir(dir);
}

static void test_mjpeg_file_split(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	struct blob j1 = make_jpeg(96, 64, 10, 0);
	struct blob thumb = make_jpeg(16, 16, 11, 0);
	struct blob big = make_jpeg(96, 64, 12, 0);
	struct blob j2 = with_thumbnail(&big, &thumb);
	struct blob other_size = make_jpeg(64, 64, 13, 0);
	struct blob j3 = make_jpeg(96, 64, 14, TJFLAG_PROGRESSIVE); /* several SOS segments */
	assert_true(entropy_has_stuffing(&j1));

	struct blob mjpeg = { 0 };
	blob_append(&mjpeg, "junk before", 11);
	blob_append(&mjpeg, j1.data, j1.len);
	blob_append(&mjpeg, j2.data, j2.len);
	blob_append(&mjpeg, "\0\0\xFF\xFF", 4); /* padding between frames */
	blob_append(&mjpeg, other_size.data, other_size.len);
	blob_append(&mjpeg, j3.data, j3.len);
	blob_append(&mjpeg, j1.data, j1.len / 2); /* truncated tail, as from a killed recorder */
	write_file(dir, "stream.mjpeg", mjpeg.data, mjpeg.len);

	char path[512];
	snprintf(path, sizeof(path), "%s/stream.mjpeg", dir);
	struct source *src;
	assert_int_equal(create(path, &src), 0);
	assert_int_equal(src->width, 96);
	assert_int_equal(src->height, 64);
	struct blob expected[] = { j1, j2, j3 };
	expect_replay(src, expected, 3);
	source_destroy(src);

	free(j1.data);
	free(thumb.data);
	free(big.data);
	free(j2.data);
	free(other_size.data);
	free(j3.data);
	free(mjpeg.data);
	remove_temp_dir(dir);
}

/* One .jpg with an EXIF thumbnail is one frame, not cut at the thumbnail's EOI; one without a
 * thumbnail (but with plenty of FF00 in its scan) is also whole. */
static void test_single_jpeg_files(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	struct blob thumb = make_jpeg(16, 16, 20, 0);
	struct blob plain = make_jpeg(128, 96, 21, 0);
	struct blob exif = with_thumbnail(&plain, &thumb);
	assert_true(entropy_has_stuffing(&plain));
	write_file(dir, "exif.jpg", exif.data, exif.len);
	write_file(dir, "plain.jpg", plain.data, plain.len);

	const struct blob *cases[] = { &exif, &plain };
	const char *names[] = { "exif.jpg", "plain.jpg" };
	for (int i = 0; i < 2; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		struct source *src;
		assert_int_equal(create(path, &src), 0);
		assert_int_equal(src->width, 128);
		assert_int_equal(src->height, 96);
		expect_replay(src, cases[i], 1);
		source_destroy(src);
	}

	free(thumb.data);
	free(plain.data);
	free(exif.data);
	remove_temp_dir(dir);
}

/* Hand-made scan data: restart markers, stuffing and a fill byte before EOI must not end it. */
static void test_restart_markers_and_fill_bytes(void **state)
{
	(void)state;
	static const uint8_t jpeg[] = {
		0xFF, 0xD8,				      /* SOI */
		0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x20, 0x00, 0x30, 0x01, 0x01, 0x11, 0x00, /* SOF0 48x32 */
		0xFF, 0xDD, 0x00, 0x04, 0x00, 0x01,	      /* DRI */
		0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, /* SOS */
		0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD7, 0x78, 0xFF, 0x00,
		0xFF, 0xFF, 0xD9,			      /* fill byte, EOI */
	};
	char *dir = make_temp_dir();
	struct blob stream = { 0 };
	blob_append(&stream, jpeg, sizeof(jpeg));
	blob_append(&stream, jpeg, sizeof(jpeg));
	write_file(dir, "rst.mjpeg", stream.data, stream.len);

	char path[512];
	snprintf(path, sizeof(path), "%s/rst.mjpeg", dir);
	struct source *src;
	assert_int_equal(create(path, &src), 0);
	assert_int_equal(src->width, 48);
	assert_int_equal(src->height, 32);
	struct blob expected[] = { { (uint8_t *)jpeg, sizeof(jpeg) },
				   { (uint8_t *)jpeg, sizeof(jpeg) } };
	expect_replay(src, expected, 2);
	source_destroy(src);
	free(stream.data);
	remove_temp_dir(dir);
}

static void test_errors(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	struct source *src;
	char path[512];

	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(create(path, &src), -ENOENT);
	assert_null(src);
	snprintf(path, sizeof(path), "%s/missing.mjpeg", dir);
	assert_int_equal(create(path, &src), -ENOENT);

	assert_int_equal(create(dir, &src), -ENODATA); /* empty directory */
	assert_null(src);

	write_file(dir, "readme.txt", "not a jpeg", 10);
	write_file(dir, "fake.jpg", "\xFF\xD8 not really", 13);
	assert_int_equal(create(dir, &src), -ENODATA);

	snprintf(path, sizeof(path), "%s/readme.txt", dir);
	assert_int_equal(create(path, &src), -ENODATA);
	write_file(dir, "empty.mjpeg", "", 0);
	snprintf(path, sizeof(path), "%s/empty.mjpeg", dir);
	assert_int_equal(create(path, &src), -ENODATA);

	assert_int_equal(create(NULL, &src), -EINVAL);
	assert_int_equal(create("", &src), -EINVAL);
	remove_temp_dir(dir);
}

static void test_drops_when_all_slots_lent(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	struct blob j = make_jpeg(32, 32, 30, 0);
	write_file(dir, "one.jpg", j.data, j.len);
	struct source *src;
	assert_int_equal(create(dir, &src), 0);

	struct raw_frame *held[8];
	unsigned n = 0;
	int r;
	while ((r = next_frame(src, &held[n])) == 0) {
		n++;
		assert_true(n < 8);
	}
	assert_int_equal(r, -EAGAIN);
	assert_true(n >= 2);
	assert_true(src->stats.frames_dropped >= 1);
	assert_int_equal(src->stats.frames_captured, n);

	source_release(src, held[0]);
	mjpegd_bug_abort(false); /* a bug (MJPEGD_BUG): what the release build does */
	source_release(src, held[0]); /* logged, ignored */
	mjpegd_bug_abort(true);
	struct raw_frame *f;
	assert_int_equal(next_frame(src, &f), 0);
	assert_ptr_equal(f, held[0]);
	source_release(src, f);
	for (unsigned i = 1; i < n; i++)
		source_release(src, held[i]);
	source_destroy(src);
	free(j.data);
	remove_temp_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directory_sorted_by_name),
		cmocka_unit_test(test_mjpeg_file_split),
		cmocka_unit_test(test_single_jpeg_files),
		cmocka_unit_test(test_restart_markers_and_fill_bytes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_drops_when_all_slots_lent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
