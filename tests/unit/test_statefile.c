/* Atomic state files (src/statefile.c): written whole, replaced whole, a missing directory, a
 * file that is not regular, one too large. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mjpegd/statefile.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mjpegd-statefile-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static unsigned entries(void)
{
	DIR *d = opendir(dir);
	unsigned n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
	if (d)
		closedir(d);
	return n;
}

static void test_write_replace_read(void **state)
{
	(void)state;
	char buf[64];
	assert_int_equal(state_file_read(dir, "controls.conf", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(state_file_write(dir, "controls.conf", "a=1\n", 4), 0);
	assert_int_equal(state_file_read(dir, "controls.conf", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "a=1\n");
	assert_int_equal(state_file_write(dir, "controls.conf", "b=22\n", 5), 0);
	assert_int_equal(state_file_read(dir, "controls.conf", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "b=22\n");
	assert_int_equal(entries(), 1); /* no temporary file left */
	char path[128];
	snprintf(path, sizeof(path), "%s/controls.conf", dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* too large for the caller's buffer */
	assert_int_equal(state_file_read(dir, "controls.conf", buf, 5), -EFBIG);
}

static void test_failures(void **state)
{
	(void)state;
	char missing[128], buf[16];
	snprintf(missing, sizeof(missing), "%s/no-such-dir", dir);
	assert_int_equal(state_file_write(missing, "controls.conf", "x", 1), -ENOENT);
	char fifo[128];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(state_file_read(dir, "fifo", buf, sizeof(buf)), -EINVAL);
	unlink(fifo);
	if (geteuid() != 0) { /* root writes anywhere */
		chmod(dir, 0500);
		assert_int_equal(state_file_write(dir, "controls.conf", "x", 1), -EACCES);
		chmod(dir, 0700);
	}
	/* a directory where the file should be: the rename fails, no temporary file is left */
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/taken", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	char inner[160];
	snprintf(inner, sizeof(inner), "%s/x", sub);
	int fd = open(inner, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_true(state_file_write(dir, "taken", "x", 1) < 0);
	assert_int_equal(entries(), 1);
	assert_int_equal(state_file_read(dir, "taken", buf, sizeof(buf)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_replace_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
