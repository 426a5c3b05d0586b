/* Stable V4L2 names (src/v4l2/stable_id.c) over a temporary directory laid out like udev's:
 * root/video0..2 stand for the nodes, root/v4l/by-id and root/v4l/by-path hold relative links
 * to them, as 60-persistent-v4l.rules makes them ("../../video0"). */
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

#include "mjpegd/v4l2/stable_id.h"

static char dir[64], v4l[96];

static void touch(const char *name)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
}

static void link_to(const char *target, const char *kind, const char *name)
{
	char p[200];
	snprintf(p, sizeof(p), "%s/%s/%s", v4l, kind, name);
	assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mjpegd-stableid-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(v4l, sizeof(v4l), "%s/v4l", dir);
	char p[160];
	mkdir(v4l, 0755);
	snprintf(p, sizeof(p), "%s/by-id", v4l);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/by-path", v4l);
	mkdir(p, 0755);
	touch("video0");
	touch("video1");
	touch("video2");
	/* a UVC webcam: its picture node (index0) and its metadata node (index1) */
	link_to("../../video0", "by-id", "usb-046d_HD_Pro_Webcam_C920_ABC-video-index0");
	link_to("../../video1", "by-id", "usb-046d_HD_Pro_Webcam_C920_ABC-video-index1");
	link_to("../../video0", "by-path", "platform-xhci-hcd.0-usb-0:1.2:1.0-video-index0");
	link_to("../../video1", "by-path", "platform-xhci-hcd.0-usb-0:1.2:1.0-video-index1");
	/* a second camera, listed before the first by name */
	link_to("../../video2", "by-id", "usb-0c45_Microdia-video-index0");
	/* a dangling link: a camera unplugged while udev has not removed it yet */
	link_to("../../video9", "by-id", "usb-gone-video-index0");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *tail(const char *path)
{
	return path + strlen(v4l) + 1;
}

static void test_links_of_a_node(void **state)
{
	(void)state;
	struct v4l2_stable_link l[4];
	char node[160];
	snprintf(node, sizeof(node), "%s/video0", dir);
	/* by-id first, then by-path; the metadata node's links are not this node's */
	assert_int_equal(v4l2_stable_links(v4l, node, l, 4), 2);
	assert_string_equal(tail(l[0].path), "by-id/usb-046d_HD_Pro_Webcam_C920_ABC-video-index0");
	assert_string_equal(tail(l[1].path), "by-path/platform-xhci-hcd.0-usb-0:1.2:1.0-video-index0");

	snprintf(node, sizeof(node), "%s/video2", dir);
	assert_int_equal(v4l2_stable_links(v4l, node, l, 4), 1);
	assert_string_equal(tail(l[0].path), "by-id/usb-0c45_Microdia-video-index0");
}

static void test_node_given_by_a_link(void **state)
{
	(void)state;
	/* the node named through one of its links has the same links */
	struct v4l2_stable_link l[4];
	char node[200];
	snprintf(node, sizeof(node), "%s/by-path/platform-xhci-hcd.0-usb-0:1.2:1.0-video-index1", v4l);
	assert_int_equal(v4l2_stable_links(v4l, node, l, 4), 2);
	assert_string_equal(tail(l[0].path), "by-id/usb-046d_HD_Pro_Webcam_C920_ABC-video-index1");
}

static void test_short_array_counts_all(void **state)
{
	(void)state;
	struct v4l2_stable_link l[1] = { { "untouched" } };
	char node[160];
	snprintf(node, sizeof(node), "%s/video0", dir);
	assert_int_equal(v4l2_stable_links(v4l, node, l, 1), 2);
	assert_string_equal(tail(l[0].path), "by-id/usb-046d_HD_Pro_Webcam_C920_ABC-video-index0");
	assert_int_equal(v4l2_stable_links(v4l, node, NULL, 0), 2);
}

static void test_no_links(void **state)
{
	(void)state;
	struct v4l2_stable_link l[2];
	char node[160], root[160];
	snprintf(node, sizeof(node), "%s/video1", dir);
	/* no v4l directory at all (no USB camera plugged in since boot): no links, no error */
	snprintf(root, sizeof(root), "%s/nonexistent", dir);
	assert_int_equal(v4l2_stable_links(root, node, l, 2), 0);
	/* a node that does not exist cannot be resolved */
	snprintf(node, sizeof(node), "%s/video7", dir);
	assert_int_equal(v4l2_stable_links(v4l, node, l, 2), -ENOENT);
}

static void test_resolve(void **state)
{
	(void)state;
	char link[200], out[160], want[160];
	snprintf(link, sizeof(link), "%s/by-id/usb-0c45_Microdia-video-index0", v4l);
	assert_int_equal(v4l2_resolve_node(link, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/video2", dir);
	assert_string_equal(out, want);
	/* replugged: udev points the link at another node; the next resolve follows */
	unlink(link);
	assert_int_equal(symlink("../../video1", link), 0);
	assert_int_equal(v4l2_resolve_node(link, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/video1", dir);
	assert_string_equal(out, want);
	/* unplugged: the link dangles */
	snprintf(link, sizeof(link), "%s/by-id/usb-gone-video-index0", v4l);
	assert_int_equal(v4l2_resolve_node(link, out, sizeof(out)), -ENOENT);
	/* too small a buffer */
	snprintf(link, sizeof(link), "%s/video0", dir);
	assert_int_equal(v4l2_resolve_node(link, out, 4), -ENAMETOOLONG);
	/* put the replugged link back for the other tests */
	snprintf(link, sizeof(link), "%s/by-id/usb-0c45_Microdia-video-index0", v4l);
	unlink(link);
	assert_int_equal(symlink("../../video2", link), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_links_of_a_node),
		cmocka_unit_test(test_node_given_by_a_link),
		cmocka_unit_test(test_short_array_counts_all),
		cmocka_unit_test(test_no_links),
		cmocka_unit_test(test_resolve),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
