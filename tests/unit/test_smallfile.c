/* The one small-file reader (src/smallfile.c): a file read whole, the bound, a file that is not
 * regular (a FIFO must not block), a missing one; each failure names its step, and
 * small_file_load() words each the one way --config and --auth-file both say it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mjpegd/smallfile.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mjpegd-smallfile-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_read_whole_and_bound(void **state)
{
	(void)state;
	char path[128], buf[8];
	snprintf(path, sizeof(path), "%s/f", dir);
	write_file(path, "abc\n");
	mode_t mode = 0;
	enum small_file_step step = SMALL_FILE_READ;
	assert_int_equal(small_file_read(path, buf, sizeof(buf), &mode, &step), 4);
	assert_string_equal(buf, "abc\n");
	assert_true(S_ISREG(mode));
	/* cap - 1 bytes fit, cap do not */
	write_file(path, "1234567");
	assert_int_equal(small_file_read(path, buf, sizeof(buf), NULL, NULL), 7);
	assert_string_equal(buf, "1234567");
	write_file(path, "12345678");
	assert_int_equal(small_file_read(path, buf, sizeof(buf), NULL, &step), -EFBIG);
	assert_int_equal(step, SMALL_FILE_SIZE);
	/* empty */
	write_file(path, "");
	assert_int_equal(small_file_read(path, buf, sizeof(buf), NULL, NULL), 0);
	assert_string_equal(buf, "");
}

static void test_failures(void **state)
{
	(void)state;
	char path[128], buf[8];
	enum small_file_step step = SMALL_FILE_READ;
	mode_t mode = 0;
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(small_file_read(path, buf, sizeof(buf), &mode, &step), -ENOENT);
	assert_int_equal(step, SMALL_FILE_OPEN);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(small_file_read(path, buf, sizeof(buf), &mode, &step), -EINVAL);
	assert_int_equal(step, SMALL_FILE_TYPE);
	assert_string_equal(file_type_name(mode), "a FIFO");
	assert_int_equal(small_file_read(dir, buf, sizeof(buf), &mode, &step), -EINVAL);
	assert_int_equal(step, SMALL_FILE_TYPE);
	assert_string_equal(file_type_name(mode), "a directory");
	assert_int_equal(small_file_read("/dev/null", buf, sizeof(buf), &mode, &step), -EINVAL);
	assert_string_equal(file_type_name(mode), "a character device");
}

/* small_file_load(): the buffer it allocates holds the text; each failure is one message naming
 * the option, the path and the cause, and the buffer stays the caller's to free. */
static void test_load_words_failures(void **state)
{
	(void)state;
	char path[128], why[256];
	snprintf(path, sizeof(path), "%s/conf", dir);
	write_file(path, "fps = 5\n");
	char *text = NULL;
	mode_t mode = 0;
	assert_int_equal(small_file_load("--config", path, 64, &text, &mode, why, sizeof(why)), 8);
	assert_string_equal(text, "fps = 5\n");
	assert_true(S_ISREG(mode));
	free(text);

	snprintf(path, sizeof(path), "%s/big", dir);
	write_file(path, "0123456789");
	const struct {
		const char *who, *name; /* name: below dir ("" for dir itself) */
		size_t cap;
		int r;
		const char *want; /* after "WHO: " and the path */
	} cases[] = {
		{ "--config", "missing", 64, -ENOENT, "cannot open '%s': No such file or directory" },
		{ "--auth-file", "", 64, -EINVAL, "'%s' is not a regular file (a directory)" },
		{ "--auth-file", "big", 8, -EFBIG, "'%s' is larger than 7 bytes" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[340], tail[300];
		snprintf(path, sizeof(path), "%s%s%s", dir, cases[i].name[0] ? "/" : "", cases[i].name);
		text = NULL;
		assert_int_equal(small_file_load(cases[i].who, path, cases[i].cap, &text, NULL, why,
						 sizeof(why)), cases[i].r);
		snprintf(tail, sizeof(tail), cases[i].want, path);
		snprintf(want, sizeof(want), "%s: %s", cases[i].who, tail);
		assert_string_equal(why, want);
		free(text);
	}

	assert_int_equal(small_file_why("--config", "/x", -ENOMEM, SMALL_FILE_READ, 0, 64, why,
					sizeof(why)), -ENOMEM);
	assert_string_equal(why, "--config: cannot read '/x': Cannot allocate memory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_whole_and_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_words_failures, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
