/* Who else has a device open (src/v4l2/holders.c): the unit from a cgroup text, and a scan of a
 * temporary directory laid out like /proc (PID/fd/N links, PID/comm, PID/cgroup). */
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

#include "mjpegd/v4l2/holders.h"

static char dir[64], proc[96], dev[96], other[96];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* a process PID with comm, cgroup and fd 3 open on target (NULL: no fd on it) */
static void process(const char *pid, const char *comm, const char *cgroup, const char *target)
{
	char p[200];
	snprintf(p, sizeof(p), "%s/%s", proc, pid);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%s/fd", proc, pid);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%s/comm", proc, pid);
	write_file(p, comm);
	snprintf(p, sizeof(p), "%s/%s/cgroup", proc, pid);
	write_file(p, cgroup);
	snprintf(p, sizeof(p), "%s/%s/fd/0", proc, pid);
	assert_int_equal(symlink("/dev/null", p), 0);
	if (target) {
		snprintf(p, sizeof(p), "%s/%s/fd/3", proc, pid);
		assert_int_equal(symlink(target, p), 0);
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mjpegd-holders-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(proc, sizeof(proc), "%s/proc", dir);
	snprintf(dev, sizeof(dev), "%s/video31", dir);
	snprintf(other, sizeof(other), "%s/video0", dir);
	mkdir(proc, 0755);
	write_file(dev, "");
	write_file(other, "");
	process("812", "mjpegd\n", "0::/system.slice/system-mjpegd.slice/mjpegd@room.service\n", dev);
	process("900", "mjpegd\n", "0::/system.slice/system-mjpegd.slice/mjpegd@nozzle.service\n",
		dev); /* the caller itself */
	process("977", "cam\n", "0::/user.slice/user-1000.slice/session-3.scope\n", dev);
	process("1001", "ffplay\n", "0::/user.slice\n", other);
	/* not a process directory */
	char p[160];
	snprintf(p, sizeof(p), "%s/sys", proc);
	mkdir(p, 0755);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_unit_from_cgroup(void **state)
{
	(void)state;
	char u[64];
	holder_unit_from_cgroup("0::/system.slice/system-mjpegd.slice/mjpegd@room.service\n", u,
				sizeof(u));
	assert_string_equal(u, "mjpegd@room.service");
	holder_unit_from_cgroup("0::/system.slice/mjpegd.service", u, sizeof(u));
	assert_string_equal(u, "mjpegd.service");
	/* cgroup v1: several lines; the unit is on the name=systemd one */
	holder_unit_from_cgroup("12:cpu,cpuacct:/\n1:name=systemd:/system.slice/mjpegd@a.service\n",
				u, sizeof(u));
	assert_string_equal(u, "mjpegd@a.service");
	holder_unit_from_cgroup("0::/user.slice/user-1000.slice/session-3.scope\n", u, sizeof(u));
	assert_string_equal(u, "session-3.scope");
	holder_unit_from_cgroup("0::/\n", u, sizeof(u));
	assert_string_equal(u, "");
	holder_unit_from_cgroup("", u, sizeof(u));
	assert_string_equal(u, "");
	/* a unit name longer than the buffer is left out, not cut */
	holder_unit_from_cgroup("0::/system.slice/mjpegd@a-very-long-instance-name.service\n", u, 16);
	assert_string_equal(u, "");
}

static void test_holders(void **state)
{
	(void)state;
	char buf[256];
	/* 812 and 977 hold video31; 900 is the caller; 1001 holds another device */
	assert_int_equal(device_holders(proc, dev, 900, buf, sizeof(buf)), 2);
	/* readdir order is the file system's: both, in either order */
	assert_non_null(strstr(buf, "PID 812 mjpegd (mjpegd@room.service)"));
	assert_non_null(strstr(buf, "PID 977 cam (session-3.scope)"));
	assert_null(strstr(buf, "900"));
	assert_null(strstr(buf, "1001"));

	assert_int_equal(device_holders(proc, other, 900, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "PID 1001 ffplay");

	/* nobody else: the caller's own fd does not count */
	char mine[160];
	snprintf(mine, sizeof(mine), "%s/video1", dir);
	write_file(mine, "");
	assert_int_equal(device_holders(proc, mine, 900, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");

	/* a short buffer: what fits, then ", …" */
	char small[48];
	assert_int_equal(device_holders(proc, dev, 900, small, sizeof(small)), 2);
	assert_true(strncmp(small, "PID ", 4) == 0);
	assert_non_null(strstr(small, ", …"));
	assert_true(strlen(small) < sizeof(small));
	char tiny[8];
	assert_int_equal(device_holders(proc, dev, 900, tiny, sizeof(tiny)), 2);
	assert_string_equal(tiny, "…");

	/* a device that does not exist */
	snprintf(mine, sizeof(mine), "%s/video9", dir);
	assert_int_equal(device_holders(proc, mine, 900, buf, sizeof(buf)), -ENOENT);
}

static void test_media_holders(void **state)
{
	(void)state;
	/* dir holds video31 (812, 977 hold it), video0 (1001) and video1 (nobody): as media nodes */
	char devs[120], p[200], buf[256];
	snprintf(devs, sizeof(devs), "%s/dev", dir);
	mkdir(devs, 0755);
	snprintf(p, sizeof(p), "%s/media0", devs);
	assert_int_equal(symlink(other, p), 0); /* held by 1001 */
	snprintf(p, sizeof(p), "%s/media1", devs);
	write_file(p, ""); /* nobody */
	snprintf(p, sizeof(p), "%s/video0", devs);
	assert_int_equal(symlink(dev, p), 0); /* held, but not a media node */
	assert_int_equal(media_holders(devs, proc, 900, buf, sizeof(buf)), 1);
	char want[200];
	snprintf(want, sizeof(want), "%s/media0 held by PID 1001 ffplay", devs);
	assert_string_equal(buf, want);
	/* 1001 is the caller: nothing held by others */
	assert_int_equal(media_holders(devs, proc, 1001, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	/* no such directory */
	snprintf(p, sizeof(p), "%s/nodev", dir);
	assert_int_equal(media_holders(p, proc, 900, buf, sizeof(buf)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unit_from_cgroup),
		cmocka_unit_test(test_holders),
		cmocka_unit_test(test_media_holders),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
