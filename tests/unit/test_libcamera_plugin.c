/* The libcamera plugin loader's pure decision (libcamera_plugin_check_owner()): which owners and
 * modes of the plugin file and its directory are trusted, and the reason given when not. The
 * loading itself (missing file, dlopen failure, wrong ABI, a symlink, a writable directory) is
 * tested end to end in tests/integration/test_plugin.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "mjpegd/source/libcamera_plugin.h"

#define F "/usr/lib/mjpegd/mjpegd-libcamera.so"
#define D "/usr/lib/mjpegd"

static int file(uid_t owner, gid_t group, mode_t perm, uid_t trusted, char *why)
{
	return libcamera_plugin_check_owner(F, false, owner, group, S_IFREG | perm, trusted, why, 256);
}

static int dir(uid_t owner, gid_t group, mode_t perm, uid_t trusted, char *why)
{
	return libcamera_plugin_check_owner(D, true, owner, group, S_IFDIR | perm, trusted, why, 256);
}

static void test_root_owned_accepted(void **state)
{
	(void)state;
	char why[256] = "";
	assert_int_equal(file(0, 0, 0644, 0, why), 0);
	assert_int_equal(file(0, 0, 0755, 0, why), 0);
	assert_int_equal(dir(0, 0, 0755, 0, why), 0);
	/* root's group may write: only root is in it on the systems mjpegd runs on */
	assert_int_equal(file(0, 0, 0664, 0, why), 0);
	assert_int_equal(dir(0, 0, 0775, 0, why), 0);
	assert_string_equal(why, "");
}

static void test_other_owner_refused(void **state)
{
	(void)state;
	char why[256];
	assert_int_equal(file(1000, 1000, 0644, 0, why), -EPERM);
	assert_non_null(strstr(why, "the file " F " is owned by uid 1000, not by root"));
	assert_int_equal(dir(1000, 1000, 0755, 0, why), -EPERM);
	assert_non_null(strstr(why, "the directory " D " is owned by uid 1000"));
}

static void test_development_build_trusts_own_uid(void **state)
{
	(void)state;
	char why[256];
	assert_int_equal(file(1000, 1000, 0644, 1000, why), 0);
	assert_int_equal(dir(1000, 1000, 0755, 1000, why), 0);
	assert_int_equal(file(0, 0, 0644, 1000, why), 0);
	assert_int_equal(file(1001, 1001, 0644, 1000, why), -EPERM);
	assert_non_null(strstr(why, "not by root or the daemon's own user"));
}

static void test_writable_by_others_refused(void **state)
{
	(void)state;
	char why[256];
	assert_int_equal(file(0, 0, 0646, 0, why), -EPERM);
	assert_non_null(strstr(why, "writable by everyone (mode 0646)"));
	assert_int_equal(dir(0, 0, 01777, 0, why), -EPERM);
	assert_non_null(strstr(why, "the directory " D " is writable by everyone (mode 1777)"));
	assert_int_equal(file(0, 100, 0664, 0, why), -EPERM);
	assert_non_null(strstr(why, "writable by group 100 (mode 0664)"));
	assert_int_equal(dir(1000, 1000, 0775, 1000, why), -EPERM);
	assert_non_null(strstr(why, "the directory " D " is writable by group 1000"));
}

static void test_wrong_type_refused(void **state)
{
	(void)state;
	char why[256];
	assert_int_equal(libcamera_plugin_check_owner(F, false, 0, 0, S_IFLNK | 0777, 0, why, 256),
			 -EPERM);
	assert_non_null(strstr(why, "is not a regular file (a symlink, which is not followed)"));
	assert_int_equal(libcamera_plugin_check_owner(F, false, 0, 0, S_IFDIR | 0755, 0, why, 256),
			 -EPERM);
	assert_non_null(strstr(why, "is not a regular file"));
	assert_int_equal(libcamera_plugin_check_owner(D, true, 0, 0, S_IFREG | 0755, 0, why, 256),
			 -EPERM);
	assert_non_null(strstr(why, "is not a directory"));
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(libcamera_plugin_state_name(LCP_LOADED), "loaded");
	assert_string_equal(libcamera_plugin_state_name(LCP_LOAD_FAILED), "load-failed");
	assert_string_equal(libcamera_plugin_state_name(LCP_STATE_COUNT), "unknown");
	assert_int_equal(libcamera_plugin_info()->state, LCP_NOT_TRIED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_owned_accepted),
		cmocka_unit_test(test_other_owner_refused),
		cmocka_unit_test(test_development_build_trusts_own_uid),
		cmocka_unit_test(test_writable_by_others_refused),
		cmocka_unit_test(test_wrong_type_refused),
		cmocka_unit_test(test_state_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
