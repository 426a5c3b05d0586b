/* Unit tests for configuration parsing (src/config/). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "mjpegd/config.h"
#include "mjpegd/pipeline.h"

static void test_defaults(void **state)
{
	(void)state;
	struct config cfg;
	memset(&cfg, 0xaa, sizeof(cfg));
	config_defaults(&cfg);
	assert_int_equal(cfg.source, SOURCE_AUTO);
	assert_string_equal(cfg.source_path, "");
	assert_int_equal(cfg.encoder, ENCODER_AUTO);
	assert_string_equal(cfg.encoder_path, "");
	assert_int_equal(cfg.m2m_format, M2M_FORMAT_JPEG);
	assert_true(cfg.on_demand);
	assert_int_equal(cfg.standby_after, 0);
	assert_int_equal(cfg.width, 640);
	assert_int_equal(cfg.height, 480);
	assert_int_equal(cfg.fps, 30);
	assert_int_equal(cfg.quality, 80);
	assert_string_equal(cfg.listen[0].host, "0.0.0.0");
	assert_int_equal(cfg.listen[0].port, 8000);
	assert_int_equal(cfg.max_clients, 100);
	assert_int_equal(cfg.log_level, 6);
	assert_int_equal(cfg.header_timeout_ms, 10000);
	assert_int_equal(cfg.idle_timeout_ms, 30000);
	assert_string_equal(cfg.config_path, "");
}

/* Sets name=value on a default config and checks the result code (and the message on error). */
static struct config set_ok(const char *name, const char *value)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX] = "";
	config_defaults(&cfg);
	int r = config_set(&cfg, name, value, err, sizeof(err));
	if (r != 0)
		fail_msg("--%s %s: %d (%s)", name, value, r, err);
	return cfg;
}

static void set_fails(const char *name, const char *value, const char *want_err)
{
	struct config cfg, before;
	char err[CONFIG_ERR_MAX] = "";
	config_defaults(&cfg);
	before = cfg;
	int r = config_set(&cfg, name, value, err, sizeof(err));
	if (r != -EINVAL)
		fail_msg("--%s '%s': %d, want -EINVAL", name, value, r);
	if (want_err && strcmp(err, want_err) != 0)
		fail_msg("--%s '%s': message \"%s\", want \"%s\"", name, value, err, want_err);
	/* The option names itself in every message. */
	char flag[64];
	snprintf(flag, sizeof(flag), "--%s:", name);
	if (strncmp(err, flag, strlen(flag)) != 0)
		fail_msg("message \"%s\" does not start with %s", err, flag);
	/* A refused value leaves the config as it was. */
	assert_memory_equal(&cfg, &before, sizeof(cfg));
}

/* Each unsigned option: both ends of its range, one past each, and junk. */
static void check_uint_option(const char *name, unsigned min, unsigned max, size_t offset)
{
	char v[32], want[128];
	struct config cfg;

	snprintf(v, sizeof(v), "%u", min);
	cfg = set_ok(name, v);
	assert_int_equal(*(unsigned *)((char *)&cfg + offset), min);
	snprintf(v, sizeof(v), "%u", max);
	cfg = set_ok(name, v);
	assert_int_equal(*(unsigned *)((char *)&cfg + offset), max);

	snprintf(v, sizeof(v), "%u", min - 1);
	snprintf(want, sizeof(want), "--%s: '%s' is out of range (%u..%u)", name, v, min, max);
	set_fails(name, v, want);
	snprintf(v, sizeof(v), "%u", max + 1);
	snprintf(want, sizeof(want), "--%s: '%s' is out of range (%u..%u)", name, v, min, max);
	set_fails(name, v, want);

	snprintf(want, sizeof(want), "--%s: '12abc' is not a whole number (%u..%u)", name, min, max);
	set_fails(name, "12abc", want);
	static const char *const junk[] = { "", " 5", "5 ", "+5", "-5", "5.0", "0x10", "1e3", "abc",
					    "99999999999999999999" };
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		set_fails(name, junk[i], NULL);
}

static void test_uint_options(void **state)
{
	(void)state;
	check_uint_option("fps", 1, 120, offsetof(struct config, fps));
	check_uint_option("quality", 1, 100, offsetof(struct config, quality));
	check_uint_option("max-clients", 1, 10000, offsetof(struct config, max_clients));
	check_uint_option("header-timeout-ms", 100, 600000,
			  offsetof(struct config, header_timeout_ms));
	check_uint_option("idle-timeout-ms", 100, 3600000, offsetof(struct config, idle_timeout_ms));
	/* The message from the brief, word for word. */
	set_fails("fps", "0", "--fps: '0' is out of range (1..120)");
	/* Leading zeros are still a whole decimal number. */
	assert_int_equal(set_ok("fps", "007").fps, 7);
}

static void test_size(void **state)
{
	(void)state;
	struct config cfg = set_ok("size", "1280x720");
	assert_int_equal(cfg.width, 1280);
	assert_int_equal(cfg.height, 720);
	cfg = set_ok("size", "16x4096");
	assert_int_equal(cfg.width, 16);
	assert_int_equal(cfg.height, 4096);
	cfg = set_ok("size", "4096x16");
	assert_int_equal(cfg.width, 4096);

	set_fails("size", "14x480", "--size: '14x480' is out of range (WxH, each 16..4096 and even)");
	set_fails("size", "640x4098", NULL);
	set_fails("size", "641x480", "--size: '641x480' is not even (WxH, each 16..4096 and even)");
	set_fails("size", "640x481", NULL);
	set_fails("size", "640", "--size: '640' is not WxH (WxH, each 16..4096 and even)");
	static const char *const junk[] = { "", "x", "640x", "x480", "640X480", "640x480x2",
					    " 640x480", "640x480 ", "640 x 480", "-640x480" };
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		set_fails("size", junk[i], NULL);
}

static void test_snapshot_size(void **state)
{
	(void)state;
	struct config cfg;
	config_defaults(&cfg);
	assert_int_equal(cfg.snapshot_width, 0);
	assert_int_equal(cfg.snapshot_height, 0);
	assert_int_equal(cfg.snapshot_buffers, 2);
	cfg = set_ok("snapshot-size", "1920x1080");
	assert_int_equal(cfg.snapshot_width, 1920);
	assert_int_equal(cfg.snapshot_height, 1080);
	assert_int_equal(cfg.width, 640); /* the stream's size is untouched */
	cfg = set_ok("snapshot-size", "stream");
	assert_int_equal(cfg.snapshot_width, 0);
	cfg = set_ok("snapshot-buffers", "16");
	assert_int_equal(cfg.snapshot_buffers, 16);
	set_fails("snapshot-buffers", "0", "--snapshot-buffers: '0' is out of range (1..16)");
	set_fails("snapshot-buffers", "17", NULL);
	set_fails("snapshot-size", "1921x1080", "--snapshot-size: '1921x1080' is not even (stream, "
						"or WxH, each 16..4096, even and at least --size's)");
	set_fails("snapshot-size", "8192x4096", NULL);
	set_fails("snapshot-size", "1920", NULL);
	set_fails("snapshot-size", "full", NULL);
	set_fails("snapshot-size", "", NULL);
}

static int parse_args(struct config *cfg, char *err, size_t errlen, ...);

static void test_snapshot_size_against_stream(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	/* in any order: the rule is checked once every option is read */
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--snapshot-size", "1280x720",
				    "--size", "1280x720", NULL), CONFIG_RUN);
	assert_int_equal(cfg.snapshot_width, 1280);
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--snapshot-size", "1280x720",
				    "--size", "1280x960", NULL), -EINVAL);
	assert_string_equal(err, "--snapshot-size: 1280x720 is smaller than --size 1280x960 in "
				 "height (give at least the stream's size, or 'stream')");
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--snapshot-size=320x480", NULL),
			 -EINVAL);
	assert_string_equal(err, "--snapshot-size: 320x480 is smaller than --size 640x480 in "
				 "width (give at least the stream's size, or 'stream')");
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--size=320x240",
				    "--snapshot-size=stream", NULL), CONFIG_RUN);
}

static void test_source(void **state)
{
	(void)state;
	struct config cfg = set_ok("source", "testpattern");
	assert_int_equal(cfg.source, SOURCE_TESTPATTERN);
	cfg = set_ok("source", "auto");
	assert_int_equal(cfg.source, SOURCE_AUTO);
	cfg = set_ok("source", "file:/tmp/clip.mjpeg");
	assert_int_equal(cfg.source, SOURCE_FILE);
	assert_string_equal(cfg.source_path, "/tmp/clip.mjpeg");
	cfg = set_ok("source", "file:relative dir/a:b.jpg");
	assert_string_equal(cfg.source_path, "relative dir/a:b.jpg");

	set_fails("source", "camera",
		  "--source: 'camera' is not a source (auto | testpattern | file:PATH | "
		  "libcamera[:INDEX|ID] | v4l2[:DEVICE])");
	set_fails("source", "file:", NULL);
	set_fails("source", "file", NULL);
	set_fails("source", "Auto", NULL);
	set_fails("source", "", NULL);

	char long_path[CONFIG_PATH_MAX + 8];
	memcpy(long_path, "file:", 5);
	memset(long_path + 5, 'p', CONFIG_PATH_MAX - 1);
	long_path[5 + CONFIG_PATH_MAX - 1] = '\0';
	cfg = set_ok("source", long_path);
	assert_int_equal(strlen(cfg.source_path), CONFIG_PATH_MAX - 1);
	long_path[5 + CONFIG_PATH_MAX - 1] = 'p';
	long_path[5 + CONFIG_PATH_MAX] = '\0';
	set_fails("source", long_path, NULL);

	/* Switching away from a file clears its path. */
	char err[CONFIG_ERR_MAX];
	cfg = set_ok("source", "file:/x");
	assert_int_equal(config_set(&cfg, "source", "testpattern", err, sizeof(err)), 0);
	assert_string_equal(cfg.source_path, "");

	assert_string_equal(source_kind_name(SOURCE_AUTO), "auto");
	assert_string_equal(source_kind_name(SOURCE_TESTPATTERN), "testpattern");
	assert_string_equal(source_kind_name(SOURCE_FILE), "file");
	assert_string_equal(source_kind_name((enum source_kind)99), "unknown");
}

static void test_source_v4l2(void **state)
{
	(void)state;
	struct config cfg = set_ok("source", "v4l2");
	assert_int_equal(cfg.source, SOURCE_V4L2);
	assert_string_equal(cfg.source_path, ""); /* the first usable capture device */
	cfg = set_ok("source", "v4l2:/dev/video2");
	assert_int_equal(cfg.source, SOURCE_V4L2);
	assert_string_equal(cfg.source_path, "/dev/video2");
	cfg = set_ok("source", "v4l2:/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920-video-index0");
	assert_string_equal(cfg.source_path, "/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920-video-index0");
	set_fails("source", "v4l2:",
		  "--source: 'v4l2:' has an empty device (auto | testpattern | file:PATH | "
		  "libcamera[:INDEX|ID] | v4l2[:DEVICE])");
	set_fails("source", "V4L2", NULL);
	set_fails("source", "v4l", NULL);
	char err[CONFIG_ERR_MAX];
	cfg = set_ok("source", "v4l2:/dev/video2");
	assert_int_equal(config_set(&cfg, "source", "v4l2", err, sizeof(err)), 0);
	assert_string_equal(cfg.source_path, "");
	assert_string_equal(source_kind_name(SOURCE_V4L2), "v4l2");

	/* --help's default shows the device */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	config_print_help(f);
	fclose(f);
	assert_non_null(strstr(text, "v4l2[:DEVICE]"));
	free(text);
}

static void test_encoder(void **state)
{
	(void)state;
	assert_int_equal(set_ok("encoder", "auto").encoder, ENCODER_AUTO);
	assert_int_equal(set_ok("encoder", "software").encoder, ENCODER_SOFTWARE);
	assert_int_equal(set_ok("encoder", "passthrough").encoder, ENCODER_PASSTHROUGH);
	set_fails("encoder", "hardware",
		  "--encoder: 'hardware' is not an encoder (auto | software | passthrough | "
		  "m2m[:DEVICE])");
	set_fails("encoder", "", NULL);

	struct config cfg = set_ok("encoder", "m2m");
	assert_int_equal(cfg.encoder, ENCODER_M2M);
	assert_string_equal(cfg.encoder_path, ""); /* discovered */
	cfg = set_ok("encoder", "m2m:/dev/video31");
	assert_int_equal(cfg.encoder, ENCODER_M2M);
	assert_string_equal(cfg.encoder_path, "/dev/video31");
	set_fails("encoder", "m2m:", "--encoder: 'm2m:' has an empty device (auto | software | "
				     "passthrough | m2m[:DEVICE])");
	set_fails("encoder", "M2M", NULL);
	char err[CONFIG_ERR_MAX];
	assert_int_equal(config_set(&cfg, "encoder", "software", err, sizeof(err)), 0);
	assert_string_equal(cfg.encoder_path, "");
	assert_string_equal(encoder_kind_name(ENCODER_M2M), "m2m");

	assert_int_equal(set_ok("m2m-format", "jpeg").m2m_format, M2M_FORMAT_JPEG);
	assert_int_equal(set_ok("m2m-format", "fwht").m2m_format, M2M_FORMAT_FWHT);
	set_fails("m2m-format", "h264", "--m2m-format: 'h264' is not an M2M format (jpeg | fwht)");
	set_fails("m2m-format", "JPEG", NULL);
	set_fails("m2m-format", "", NULL);
	assert_int_equal(set_ok("format", "YUYV").capture_format, V4L2_PIX_FMT_YUYV);
	assert_int_equal(set_ok("format", "YU12").capture_format, V4L2_PIX_FMT_YUV420);
	assert_int_equal(set_ok("format", "MJPG").capture_format, V4L2_PIX_FMT_MJPEG);
	assert_int_equal(set_ok("format", "auto").capture_format, 0);
	set_fails("format", "yuyv", "--format: 'yuyv' is not a camera format (auto | YUYV | YU12 | "
				    "NV12 | MJPG | JPEG | RGB3 | BGR3)");
	set_fails("format", "YUYV2", NULL);
	set_fails("format", "", NULL);
	struct config c = set_ok("control", "AfMode=Continuous");
	assert_int_equal(c.controls.n, 1);
	assert_string_equal(c.controls.a[0].name, "AfMode");
	assert_string_equal(c.controls.a[0].value, "Continuous");
	set_fails("control", "AfMode", "--control: 'AfMode' has no '=' (NAME=VALUE, a control as "
					  "/controls names it, e.g. brightness=10)");
	set_fails("control", "=3", NULL);
	assert_false(set_ok("controls", "off").controls_writable);
	assert_true(set_ok("controls", "on").controls_writable);
	set_fails("controls", "maybe", "--controls: 'maybe' is not true or false (on | off)");
	assert_true(set_ok("on-demand", "on").on_demand);
	assert_false(set_ok("on-demand", "off").on_demand);
	set_fails("on-demand", "sometimes", "--on-demand: 'sometimes' is not true or false (on | off)");
	assert_int_equal(set_ok("standby-after", "0").standby_after, 0);
	assert_int_equal(set_ok("standby-after", "30").standby_after, 30);
	assert_int_equal(set_ok("standby-after", "86400").standby_after, 86400);
	set_fails("standby-after", "86401", "--standby-after: '86401' is out of range (0..86400)");
	set_fails("standby-after", "-1", NULL);
	set_fails("standby-after", "abc", NULL);
	assert_string_equal(set_ok("state-dir", "/var/lib/mjpegd").state_dir, "/var/lib/mjpegd");
	assert_string_equal(encoder_kind_name(ENCODER_SOFTWARE), "software");
	assert_string_equal(encoder_kind_name(ENCODER_PASSTHROUGH), "passthrough");
	assert_string_equal(encoder_kind_name((enum encoder_kind)-1), "unknown");
}

static void check_listen(const char *value, const char *host, unsigned port)
{
	struct config cfg = set_ok("listen", value);
	assert_string_equal(cfg.listen[0].host, host);
	assert_int_equal(cfg.listen[0].port, port);
}

static void test_listen(void **state)
{
	(void)state;
	check_listen("127.0.0.1:8080", "127.0.0.1", 8080);
	check_listen("localhost:80", "localhost", 80);
	check_listen("cam-1.local:1", "cam-1.local", 1);
	check_listen("[::]:8000", "::", 8000);
	check_listen("[::1]:65535", "::1", 65535);
	check_listen("[fe80::1%eth0]:9", "fe80::1%eth0", 9);
	check_listen(":9000", "0.0.0.0", 9000);
	check_listen("9000", "0.0.0.0", 9000);
	check_listen("0", "0.0.0.0", 0);
	check_listen("0.0.0.0:0", "0.0.0.0", 0);

	set_fails("listen", "127.0.0.1:65536",
		  "--listen: '127.0.0.1:65536' has a port out of range "
		  "(HOST:PORT, [IPv6]:PORT, :PORT; port 0..65535; or "
		  "unix:PATH[,mode=OCTAL][,group=NAME])");
	set_fails("listen", "localhost", NULL);
	set_fails("listen", "localhost:", NULL);
	set_fails("listen", "host:80x", NULL);
	set_fails("listen", "host:-1", NULL);
	set_fails("listen", "::1:80", NULL);
	set_fails("listen", "[::1]80", NULL);
	set_fails("listen", "[::1]", NULL);
	set_fails("listen", "[]:80", NULL);
	set_fails("listen", "[::1:80", NULL);
	set_fails("listen", "ho st:80", NULL);
	set_fails("listen", "host/x:80", NULL);
	set_fails("listen", "", NULL);
	set_fails("listen", ":", NULL);
	char long_host[300];
	memset(long_host, 'h', 260);
	strcpy(long_host + 260, ":80");
	set_fails("listen", long_host, NULL);
}

static void test_log_level(void **state)
{
	(void)state;
	static const char *const names[] = { "err", "warning", "notice", "info", "debug" };
	for (int i = 0; i < 5; i++) {
		assert_int_equal(set_ok("log-level", names[i]).log_level, 3 + i);
		char n[4];
		snprintf(n, sizeof(n), "%d", 3 + i);
		assert_int_equal(set_ok("log-level", n).log_level, 3 + i);
	}
	set_fails("log-level", "2", "--log-level: '2' is out of range "
				    "(err | warning | notice | info | debug, or 3..7)");
	set_fails("log-level", "8", NULL);
	set_fails("log-level", "INFO", NULL);
	set_fails("log-level", "error", NULL);
	set_fails("log-level", "", NULL);
}

static void test_config_path_and_unknown(void **state)
{
	(void)state;
	struct config cfg = set_ok("config", "/etc/mjpegd.conf");
	assert_string_equal(cfg.config_path, "/etc/mjpegd.conf");
	set_fails("config", "", NULL);

	char err[CONFIG_ERR_MAX];
	config_defaults(&cfg);
	assert_int_equal(config_set(&cfg, "frames", "1", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "unknown option '--frames'");
	assert_int_equal(config_set(&cfg, "fp", "1", err, sizeof(err)), -ENOENT);
	assert_int_equal(config_set(&cfg, "fpss", "1", err, sizeof(err)), -ENOENT);
}

static void test_parse_text(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERR_MAX] = "";
	config_defaults(&cfg);
	const char *text = "# mjpegd settings\n"
			   "\n"
			   "   fps=15\n"
			   "size = 1920x1080\r\n"
			   "\t# indented comment\n"
			   "source =  file:/srv/clip one.mjpeg  \n"
			   "listen\t=\t[::]:8080\n"
			   "log-level = debug"; /* no final newline */
	assert_int_equal(config_parse_text(&cfg, text, "test.conf", err, sizeof(err)), 0);
	assert_int_equal(cfg.fps, 15);
	assert_int_equal(cfg.width, 1920);
	assert_int_equal(cfg.height, 1080);
	assert_int_equal(cfg.source, SOURCE_FILE);
	assert_string_equal(cfg.source_path, "/srv/clip one.mjpeg");
	assert_string_equal(cfg.listen[0].host, "::");
	assert_int_equal(cfg.listen[0].port, 8080);
	assert_int_equal(cfg.log_level, 7);
	assert_int_equal(cfg.quality, 80); /* untouched */

	config_defaults(&cfg);
	assert_int_equal(config_parse_text(&cfg, "", "empty", err, sizeof(err)), 0);
	assert_int_equal(config_parse_text(&cfg, "\n\n# only comments\n", "c", err, sizeof(err)), 0);
}

static void text_fails(const char *text, const char *want_err)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX] = "";
	config_defaults(&cfg);
	int r = config_parse_text(&cfg, text, "my.conf", err, sizeof(err));
	if (r >= 0)
		fail_msg("\"%s\" parsed", text);
	if (strcmp(err, want_err) != 0)
		fail_msg("\"%s\": message \"%s\", want \"%s\"", text, err, want_err);
}

static void test_rotation(void **state)
{
	(void)state;
	static const unsigned ok[] = { 0, 90, 180, 270 };
	for (unsigned i = 0; i < 4; i++) {
		char v[8];
		snprintf(v, sizeof(v), "%u", ok[i]);
		assert_int_equal(set_ok("rotation", v).rotation, ok[i]);
	}
	set_fails("rotation", "45", "--rotation: '45' is not a rotation (0 | 90 | 180 | 270)");
	set_fails("rotation", "-90", NULL);
	set_fails("rotation", "360", NULL);
	set_fails("rotation", "090", NULL);
	set_fails("rotation", "", NULL);
	text_fails("rotation = 45\n", "my.conf:1: rotation: '45' is not a rotation (0 | 90 | 180 | 270)");
}

static void test_parse_text_errors(void **state)
{
	(void)state;
	text_fails("fps = 30\n\nbogus = 1\n", "my.conf:3: unknown option 'bogus'");
	text_fails("# c\nfps = 0\n", "my.conf:2: fps: '0' is out of range (1..120)");
	text_fails("fps 30\n", "my.conf:1: expected 'name = value'");
	text_fails("fps = 30 # thirty\n", "my.conf:1: fps: '30 # thirty' is not a whole number (1..120)");
	text_fails("\n\n\n\nconfig = /etc/other.conf\n",
		   "my.conf:5: 'config' can only be given as a flag");
	text_fails("= 5\n", "my.conf:1: unknown option ''");
	text_fails("--fps = 5\n", "my.conf:1: unknown option '--fps'");
	text_fails("fps =\n", "my.conf:1: fps: '' is not a whole number (1..120)");
	text_fails("a\r\nb\r\nsize = 1x1\r\n", "my.conf:1: expected 'name = value'");
}

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/mjpegd-test-XXXXXX");
	assert_non_null(path);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_load_file(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERR_MAX] = "";
	char *path = write_temp("quality = 55\nmax-clients = 7\n");
	config_defaults(&cfg);
	assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.quality, 55);
	assert_int_equal(cfg.max_clients, 7);
	unlink(path);

	assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), -ENOENT);
	char want[CONFIG_ERR_MAX];
	snprintf(want, sizeof(want), "--config: cannot open '%s': No such file or directory", path);
	assert_string_equal(err, want);
	free(path);

	/* Errors name the file and line. */
	path = write_temp("quality = 55\nquality = 500\n");
	assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: quality: '500' is out of range (1..100)", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);

	assert_true(config_load_file(&cfg, "/", err, sizeof(err)) < 0); /* a directory */
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "config_load_file blocked on a FIFO\n";
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

/* Issue 13 (4): a FIFO (or any non-regular file) blocked open() until a writer came, at start and
 * in the event loop on SIGHUP. Refused at once, with a message saying what the path is. */
static void test_load_file_not_regular(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERR_MAX] = "";
	char path[] = "/tmp/mjpegd-test-fifo-XXXXXX";
	assert_non_null(mkdtemp(path));
	char fifo[sizeof(path) + 16];
	snprintf(fifo, sizeof(fifo), "%s/conf", path);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	config_defaults(&cfg);
	signal(SIGALRM, on_alarm);
	alarm(5);
	assert_int_equal(config_load_file(&cfg, fifo, err, sizeof(err)), -EINVAL);
	alarm(0);
	char want[CONFIG_ERR_MAX];
	snprintf(want, sizeof(want), "--config: '%s' is not a regular file (a FIFO)", fifo);
	assert_string_equal(err, want);
	unlink(fifo);
	rmdir(path);

	assert_int_equal(config_load_file(&cfg, "/", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--config: '/' is not a regular file (a directory)");
	assert_int_equal(config_load_file(&cfg, "/dev/null", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--config: '/dev/null' is not a regular file (a character device)");
}

static int parse_args(struct config *cfg, char *err, size_t errlen, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	argv[argc++] = "mjpegd";
	va_start(ap, errlen);
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return config_parse_args(cfg, argc, argv, err, errlen);
}

/* Each module's options from the configuration (src/config/translate.c): the fields it reads,
 * strings copied (a reload frees the struct config they came from). */
static void test_pipeline_options(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--source", "v4l2:/dev/video2",
				    "--encoder", "m2m:/dev/video11", "--quality", "55", "--rotation",
				    "180", "--hflip", "--control", "AfMode=Manual", "--state-dir",
				    "/var/lib/cam", "--on-demand", "off", "--source-timeout-ms", "3000",
				    "--snapshot-size", "1280x960", NULL),
			 CONFIG_RUN);
	struct pipeline_options po;
	memset(&po, 0xaa, sizeof(po));
	config_pipeline_options(&cfg, &po);
	assert_int_equal(po.quality, 55); /* SIGHUP sets it in place (pipeline_apply()) */
	assert_false(po.on_demand);
	assert_int_equal(po.source_timeout_ms, 3000);
	assert_int_equal(po.encoder_timeout_ms, 1000);
	assert_true(po.encoder_fallback);
	assert_int_equal(po.standby_after, 0);
	assert_int_equal(po.controls.n, 1);
	assert_string_equal(po.controls.a[0].name, "AfMode");
	assert_string_equal(po.controls.a[0].value, "Manual");
	assert_string_equal(po.state_dir, "/var/lib/cam");
	const struct devices_options *d = &po.devices;
	assert_int_equal(d->source, SOURCE_V4L2);
	assert_string_equal(d->source_path, "/dev/video2");
	assert_int_equal(d->encoder, ENCODER_M2M);
	assert_string_equal(d->encoder_path, "/dev/video11");
	assert_int_equal(d->m2m_format, M2M_FORMAT_JPEG);
	assert_int_equal(d->width, 640);
	assert_int_equal(d->height, 480);
	assert_int_equal(d->fps, 30);
	assert_int_equal(d->camera_buffers, 4);
	assert_int_equal(d->snapshot_width, 1280);
	assert_int_equal(d->snapshot_height, 960);
	assert_int_equal(d->snapshot_buffers, 2);
	assert_int_equal(d->rotation, 180);
	assert_true(d->hflip);
	assert_false(d->vflip);
	assert_string_equal(d->inject_fault, "");
	/* copies: the configuration may be replaced (SIGHUP) and the options stay */
	memset(&cfg, 0, sizeof(cfg));
	assert_string_equal(d->source_path, "/dev/video2");
	assert_string_equal(po.state_dir, "/var/lib/cam");

	/* the devices' part alone is the same function's */
	struct devices_options alone;
	config_defaults(&cfg);
	config_devices_options(&cfg, &alone);
	assert_int_equal(alone.source, SOURCE_AUTO);
	assert_string_equal(alone.source_path, "");
	assert_int_equal(alone.width, 640);
}

static void test_args(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	assert_int_equal(parse_args(&cfg, err, sizeof(err), NULL), CONFIG_RUN);
	assert_int_equal(cfg.fps, 30);

	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--fps", "10", "--size=320x240",
				    "--listen", ":81", "--source=file:a=b.jpg", NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.fps, 10);
	assert_int_equal(cfg.width, 320);
	assert_int_equal(cfg.listen[0].port, 81);
	assert_string_equal(cfg.source_path, "a=b.jpg");

	/* Later flags win over earlier ones. */
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--fps", "10", "--fps=20", NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.fps, 20);

	/* --control repeats; the same control named again: the last value wins */
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--control", "brightness=10",
				    "--control=AfMode=Auto", "--control", "Brightness=20",
				    "--controls", "off", NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.controls.n, 2);
	assert_string_equal(cfg.controls.a[0].name, "Brightness");
	assert_string_equal(cfg.controls.a[0].value, "20");
	assert_false(cfg.controls_writable);

	/* Every run starts from the defaults. */
	assert_int_equal(parse_args(&cfg, err, sizeof(err), NULL), CONFIG_RUN);
	assert_int_equal(cfg.fps, 30);

	assert_int_equal(parse_args(&cfg, err, sizeof(err), "-h", NULL), CONFIG_HELP);
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--fps", "5", "--help", NULL), CONFIG_HELP);
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--version", NULL), CONFIG_VERSION);

	/* --list-devices: an action; the other flags (--m2m-format) still apply, wherever they are */
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--list-devices", NULL),
			 CONFIG_LIST_DEVICES);
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--list-devices", "--m2m-format", "fwht",
				    NULL),
			 CONFIG_LIST_DEVICES);
	assert_int_equal(cfg.m2m_format, M2M_FORMAT_FWHT);
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--list-devices", "--help", NULL),
			 CONFIG_HELP);
	assert_true(parse_args(&cfg, err, sizeof(err), "--list-devices", "--fps", "0", NULL) < 0);
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--source", "v4l2:/dev/video0",
				    "--encoder=m2m", "--m2m-format=fwht", NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.source, SOURCE_V4L2);
	assert_int_equal(cfg.encoder, ENCODER_M2M);
	assert_int_equal(cfg.m2m_format, M2M_FORMAT_FWHT);
	/* --help is answered without reading a (missing) config file. */
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--config", "/nonexistent/x.conf", "-h",
				    NULL),
			 CONFIG_HELP);
}

static void args_fail(const char *want_err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	argv[argc++] = "mjpegd";
	va_start(ap, want_err);
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;

	struct config cfg;
	char err[CONFIG_ERR_MAX] = "";
	int r = config_parse_args(&cfg, argc, argv, err, sizeof(err));
	if (r >= 0)
		fail_msg("%s: parsed (%d), want \"%s\"", argv[1], r, want_err);
	if (strcmp(err, want_err) != 0)
		fail_msg("message \"%s\", want \"%s\"", err, want_err);
}

static void test_args_errors(void **state)
{
	(void)state;
	args_fail("unknown option '--x' (see --help)", "--x", NULL);
	args_fail("unknown option '--x' (see --help)", "--x=1", NULL);
	args_fail("unknown option '-f' (see --help)", "-f", "10", NULL);
	args_fail("unexpected argument 'stream' (see --help)", "stream", NULL);
	args_fail("option '--fps' needs a value (see --help)", "--fps", NULL);
	/* a following flag is not taken as the value */
	args_fail("option '--fps' needs a value (see --help)", "--fps", "--listen", "127.0.0.1:0", NULL);
	args_fail("--fps: '0' is out of range (1..120)", "--fps", "0", NULL);
	args_fail("--fps: '' is not a whole number (1..120)", "--fps=", NULL);
	args_fail("--quality: 'high' is not a whole number (1..100)", "--fps", "5", "--quality", "high",
		  NULL);
	args_fail("option '--config' given twice", "--config", "a", "--config=b", NULL);
	args_fail("--config: cannot open '/nonexistent/x.conf': No such file or directory",
		  "--config", "/nonexistent/x.conf", NULL);
	/* A bad flag is reported before the file is read. */
	args_fail("unknown option '--bogus' (see --help)", "--config", "/nonexistent/x.conf",
		  "--bogus", NULL);
}

static void test_args_override_file(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	char *path = write_temp("fps = 12\nquality = 40\nlisten = 127.0.0.1:9\n");

	/* --config at the end is still loaded first: the flags before it win. */
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--fps", "25", "--config", path, NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.fps, 25);
	assert_int_equal(cfg.quality, 40);
	assert_string_equal(cfg.listen[0].host, "127.0.0.1");
	assert_int_equal(cfg.listen[0].port, 9);
	assert_string_equal(cfg.config_path, path);

	char flag[64];
	snprintf(flag, sizeof(flag), "--config=%s", path);
	assert_int_equal(parse_args(&cfg, err, sizeof(err), flag, "--listen=:1", NULL), CONFIG_RUN);
	assert_int_equal(cfg.fps, 12);
	assert_string_equal(cfg.listen[0].host, "0.0.0.0");
	assert_int_equal(cfg.listen[0].port, 1);
	unlink(path);
	free(path);

	path = write_temp("fps = 12\nfps = 121\n");
	assert_true(parse_args(&cfg, err, sizeof(err), "--config", path, NULL) < 0);
	char want[CONFIG_ERR_MAX];
	snprintf(want, sizeof(want), "%s:2: fps: '121' is out of range (1..120)", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);
}

static void test_help(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	config_print_help(f);
	fclose(f);

	static const char *const must_have[] = {
		"Usage: mjpegd",
		"--help",
		"--version",
		"--source SOURCE",
		"auto | testpattern | file:PATH | libcamera[:INDEX|ID] | v4l2[:DEVICE]. Default: auto.",
		"--encoder ENCODER",
		"auto | software | passthrough | m2m[:DEVICE]. Default: auto.",
		"--m2m-format FORMAT",
		"jpeg | fwht. Default: jpeg.",
		"--list-devices",
		"--size WxH",
		"each 16..4096 and even. Default: 640x480.",
		"--fps N",
		"1..120. Default: 30.",
		"--quality N",
		"1..100. Default: 80.",
		"--listen HOST:PORT",
		"unix:PATH[,mode=OCTAL][,group=NAME]. Default: 0.0.0.0:8000.",
		"--max-clients N",
		"1..10000. Default: 100.",
		"--log-level LEVEL",
		"err | warning | notice | info | debug, or 3..7. Default: info.",
		"--header-timeout-ms MS",
		"100..600000. Default: 10000.",
		"--idle-timeout-ms MS",
		"100..3600000. Default: 30000.",
		"--config FILE",
		"Default: none.",
	};
	for (size_t i = 0; i < sizeof(must_have) / sizeof(must_have[0]); i++)
		if (!strstr(text, must_have[i]))
			fail_msg("--help lacks \"%s\":\n%s", must_have[i], text);
	free(text);
}

static void test_listen_unix_and_repeated(void **state)
{
	(void)state;
	struct config cfg = set_ok("listen", "unix:/run/mjpegd/mjpegd.sock");
	assert_int_equal(cfg.n_listen, 1); /* the default is replaced, not added to */
	assert_true(cfg.listen[0].is_unix);
	assert_string_equal(cfg.listen[0].path, "/run/mjpegd/mjpegd.sock");
	assert_int_equal(cfg.listen[0].mode, 0660);
	assert_string_equal(cfg.listen[0].group, "");
	cfg = set_ok("listen", "unix:/tmp/a.sock,mode=0666,group=www-data");
	assert_int_equal(cfg.listen[0].mode, 0666);
	assert_string_equal(cfg.listen[0].group, "www-data");
	cfg = set_ok("listen", "unix:/tmp/a.sock,group=video,mode=600");
	assert_int_equal(cfg.listen[0].mode, 0600);
	char buf[400];
	listen_address_describe(&cfg.listen[0], buf, sizeof(buf));
	assert_string_equal(buf, "unix:/tmp/a.sock,mode=0600,group=video");
	set_fails("listen", "unix:", NULL);
	set_fails("listen", "unix:rel.sock", NULL);
	set_fails("listen", "unix:/a,mode=0800", NULL);
	set_fails("listen", "unix:/a,mode=01777", NULL);
	set_fails("listen", "unix:/a,mode=", NULL);
	set_fails("listen", "unix:/a,group=a b", NULL);
	set_fails("listen", "unix:/a,owner=x", NULL);
	char long_path[200] = "unix:/";
	memset(long_path + 6, 'p', 120);
	long_path[126] = '\0';
	set_fails("listen", long_path, NULL);

	/* Repeated: TCP and unix together, up to 4, no address twice. */
	char err[CONFIG_ERR_MAX];
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--listen", "127.0.0.1:8000",
				    "--listen", "unix:/tmp/m.sock", "--listen=[::1]:0", "--listen=[::1]:0",
				    NULL), CONFIG_RUN);
	assert_int_equal(cfg.n_listen, 4); /* port 0 twice: two kernel-chosen ports */
	assert_string_equal(cfg.listen[0].host, "127.0.0.1");
	assert_true(cfg.listen[1].is_unix);
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--listen", ":1", "--listen", ":2",
				    "--listen", ":3", "--listen", ":4", "--listen", ":5", NULL), -EINVAL);
	assert_non_null(strstr(err, "one address too many (at most 4)"));
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--listen", "unix:/a", "--listen",
				    "unix:/a", NULL), -EINVAL);
	assert_non_null(strstr(err, "is given twice"));

	/* The file's lines add up; flags replace the file's list as a whole. */
	char *path = write_temp("listen = 127.0.0.1:81\nlisten = unix:/tmp/f.sock\n");
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--config", path, NULL), CONFIG_RUN);
	assert_int_equal(cfg.n_listen, 2);
	assert_int_equal(cfg.listen[0].port, 81);
	assert_string_equal(cfg.listen[1].path, "/tmp/f.sock");
	assert_int_equal(parse_args(&cfg, err, sizeof(err), "--config", path, "--listen",
				    "unix:/tmp/g.sock", NULL), CONFIG_RUN);
	assert_int_equal(cfg.n_listen, 1);
	assert_string_equal(cfg.listen[0].path, "/tmp/g.sock");
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_uint_options),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_snapshot_size),
		cmocka_unit_test(test_snapshot_size_against_stream),
		cmocka_unit_test(test_source),
		cmocka_unit_test(test_source_v4l2),
		cmocka_unit_test(test_encoder),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_config_path_and_unknown),
		cmocka_unit_test(test_parse_text),
		cmocka_unit_test(test_parse_text_errors),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_file_not_regular),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_args_errors),
		cmocka_unit_test(test_args_override_file),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_listen_unix_and_repeated),
		cmocka_unit_test(test_pipeline_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
