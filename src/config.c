/* Configuration from defaults, a "key = value" file and flags; see include/mjpegd/config.h.
 *
 * Every option is one row of options[] below: config_set(), the file parser, the argv parser and
 * --help all read that table, so an option is added in one place and its help cannot go stale. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/http/auth.h"
#include "mjpegd/config.h"
#include "mjpegd/log.h"
#include "mjpegd/http/proxy.h"
#include "mjpegd/macro.h"
#include "mjpegd/smallfile.h"

#define CONFIG_FILE_MAX (64 * 1024) /* far above any real file; stops a mistaken /dev/zero */

enum option_kind {
	OPT_UINT,      /* an unsigned field at .offset, whole decimal number in min..max */
	OPT_SIZE,      /* WxH, each in min..max and even */
	OPT_SNAPSHOT_SIZE, /* WxH as OPT_SIZE into snapshot_width/height, or "stream" (0x0) */
	OPT_SOURCE,    /* source_names[] or file:PATH */
	OPT_ENCODER,   /* encoder_names[] */
	OPT_LISTEN,    /* HOST:PORT, [IPv6]:PORT, :PORT or PORT; port in min..max */
	OPT_LOG_LEVEL, /* log_level_names[] or a number in min..max */
	OPT_CONFIG,    /* a file path; only as a flag */
	OPT_M2M_FORMAT, /* m2m_format_names[] */
	OPT_BOOL,      /* a bool field at .offset; "--name" alone means true */
	OPT_SWITCH,    /* a bool field at .offset, always with a value: on | off */
	OPT_ROTATION,  /* 0, 90, 180 or 270 */
	OPT_FALLBACK,  /* software | none into encoder_fallback */
	OPT_STRING,    /* a char[] field at .offset of max bytes */
	OPT_FORMAT,    /* auto or one of format_names[] into capture_format */
	OPT_PATH,      /* a char[CONFIG_PATH_MAX] field at .offset; "" or "none": unset */
	OPT_PATH_LIST, /* comma-separated absolute URL paths into a char[] field at .offset */
	OPT_ORIGIN,    /* none | * | scheme://host[:port] into allow_origin */
	OPT_PROXIES,   /* comma-separated IP addresses or "unix" into a char[] field at .offset */
	OPT_CONTROL,   /* NAME=VALUE, repeatable, into controls */
};

struct option {
	const char *name; /* the long flag without "--", and the config file key */
	enum option_kind kind;
	unsigned min, max;
	size_t offset; /* OPT_UINT, OPT_BOOL: offsetof(struct config, field) */
	const char *metavar;
	const char *help;
};

static const struct option options[] = {
	{ "source", OPT_SOURCE, 0, 0, 0, "SOURCE",
	  "Frame source: a camera (auto), a test pattern, or a JPEG/MJPEG file." },
	{ "encoder", OPT_ENCODER, 0, 0, 0, "ENCODER",
	  "JPEG encoder: auto (a V4L2 M2M hardware encoder that takes the camera's format, "
	  "passthrough for MJPEG cameras, else software), libjpeg-turbo, passthrough, or an M2M "
	  "device (discovered, or the one named)." },
	{ "size", OPT_SIZE, 16, 4096, 0, "WxH", "Capture size in pixels." },
	{ "snapshot-size", OPT_SNAPSHOT_SIZE, 16, 4096, 0, "WxH|stream",
	  "Size of /snapshot.jpg, at least --size in each dimension: the camera gives a second, "
	  "larger stream kept raw and encoded only when a snapshot asks (a source with one stream "
	  "only: snapshots keep the stream's size, with a warning)." },
	{ "snapshot-buffers", OPT_UINT, 1, 16, offsetof(struct config, snapshot_buffers), "N",
	  "Raw buffers of --snapshot-size's stream (each WxHx3/2 bytes; /status shows them)." },
	{ "fps", OPT_UINT, 1, 120, offsetof(struct config, fps), "N", "Frames per second." },
	{ "quality", OPT_UINT, 1, 100, offsetof(struct config, quality), "N", "JPEG quality." },
	{ "rotation", OPT_ROTATION, 0, 270, 0, "DEGREES",
	  "Turn the camera image clockwise (after --hflip/--vflip): 180 and the flips by the "
	  "sensor where it can (libcamera), 90 and 270 by an EXIF Orientation tag viewers follow." },
	{ "hflip", OPT_BOOL, 0, 1, offsetof(struct config, hflip), "",
	  "Mirror the camera image left to right." },
	{ "vflip", OPT_BOOL, 0, 1, offsetof(struct config, vflip), "",
	  "Flip the camera image upside down." },
	{ "control", OPT_CONTROL, 0, 0, 0, "NAME=VALUE",
	  "A camera control, as /controls names it, applied at start and after every recovery; "
	  "repeatable." },
	{ "controls", OPT_SWITCH, 0, 1, offsetof(struct config, controls_writable), "on|off",
	  "Let clients change the camera's controls (POST /controls); off: read-only." },
	{ "state-dir", OPT_STRING, 0, sizeof(((struct config *)0)->state_dir),
	  offsetof(struct config, state_dir), "DIR",
	  "Where the controls set over HTTP are kept (controls.conf); default: $STATE_DIRECTORY "
	  "(systemd's StateDirectory=), else they are not kept." },
	{ "camera-buffers", OPT_UINT, 2, 16, offsetof(struct config, camera_buffers), "N",
	  "Capture buffers shared by the camera and the encoder." },
	{ "listen", OPT_LISTEN, 0, 65535, 0, "HOST:PORT|unix:PATH",
	  "Address to serve on; no host: all IPv4 addresses; port 0: any free port; unix:PATH "
	  "a unix socket (,mode=0660,group=NAME). Repeat for more (up to 4)." },
	{ "max-clients", OPT_UINT, 1, 10000, offsetof(struct config, max_clients), "N",
	  "Connections served at once." },
	{ "log-level", OPT_LOG_LEVEL, LOG_LEVEL_ERR, LOG_LEVEL_DEBUG, 0, "LEVEL",
	  "Least important messages logged." },
	{ "header-timeout-ms", OPT_UINT, 100, 600000, offsetof(struct config, header_timeout_ms), "MS",
	  "Time a client has to send its request head." },
	{ "idle-timeout-ms", OPT_UINT, 100, 3600000, offsetof(struct config, idle_timeout_ms), "MS",
	  "Time an idle keep-alive connection stays open." },
	{ "source-timeout-ms", OPT_UINT, 100, 600000, offsetof(struct config, source_timeout_ms),
	  "MS", "No frame from the camera for this long: it is reopened." },
	{ "encoder-timeout-ms", OPT_UINT, 100, 600000, offsetof(struct config, encoder_timeout_ms),
	  "MS", "A frame not back from the encoder after this long: the encoder is reopened." },
	{ "encoder-fallback", OPT_FALLBACK, 0, 0, 0, "MODE",
	  "While the hardware encoder recovers: encode in software, or drop frames." },
	{ "on-demand", OPT_SWITCH, 0, 1, offsetof(struct config, on_demand), "on|off",
	  "Encode only what a client will receive: with no stream client the camera runs but no "
	  "frame is encoded, and a snapshot encodes the newest one; off: encode every frame." },
	{ "standby-after", OPT_UINT, 0, 86400, offsetof(struct config, standby_after), "SECONDS",
	  "With no HTTP request for this long, stop the camera and the encoder and close their "
	  "devices; the next snapshot or stream starts them again (and waits for a good frame). "
	  "0: never." },
#ifdef MJPEGD_FAULT_INJECTION
	{ "inject-fault", OPT_STRING, 0, sizeof(((struct config *)0)->inject_fault),
	  offsetof(struct config, inject_fault), "SPEC",
	  "Test builds only: make a device fail (see include/mjpegd/fault.h)." },
#endif
	{ "format", OPT_FORMAT, 0, 0, 0, "FOURCC",
	  "The camera's pixel format; auto: the best the encoder takes." },
	{ "m2m-format", OPT_M2M_FORMAT, 0, 0, 0, "FORMAT",
	  "What the M2M encoder produces; fwht (vicodec) is for the test bed and is not served." },
	{ "auth-file", OPT_PATH, 0, 0, offsetof(struct config, auth_file), "FILE",
	  "Ask for HTTP Basic credentials on every URL: \"user:hash\" lines, hashes from "
	  "mkpasswd (yescrypt, sha512-crypt) or htpasswd -B (bcrypt). Reloaded on SIGHUP." },
	{ "auth-exempt", OPT_PATH_LIST, 0, 0, offsetof(struct config, auth_exempt), "PATH[,PATH]",
	  "URL paths served without credentials (e.g. /metrics for a local Prometheus)." },
	{ "trusted-proxy", OPT_PROXIES, 0, 0, offsetof(struct config, trusted_proxy), "ADDR[,ADDR]",
	  "Reverse proxies (addresses, or networks as ADDR/BITS) whose X-Forwarded-For (its last "
	  "hop) names the client in the log, /status and the failed-login slow-down; unix: the "
	  "clients of a unix socket." },
	{ "allow-origin", OPT_ORIGIN, 0, 0, 0, "ORIGIN",
	  "CORS: the web origin whose pages may read the responses (e.g. https://dash.example), "
	  "* for any, none for no CORS header (an <img> needs none)." },
	{ "config", OPT_CONFIG, 0, 0, 0, "FILE",
	  "Read options from FILE first, as \"name = value\" lines; flags win over it." },
};

static const char *const source_names[] = {
	[SOURCE_AUTO] = "auto",
	[SOURCE_TESTPATTERN] = "testpattern",
	[SOURCE_FILE] = "file",
	[SOURCE_LIBCAMERA] = "libcamera",
	[SOURCE_V4L2] = "v4l2",
};

static const char *const encoder_names[] = {
	[ENCODER_AUTO] = "auto",
	[ENCODER_SOFTWARE] = "software",
	[ENCODER_PASSTHROUGH] = "passthrough",
	[ENCODER_M2M] = "m2m",
};

static const char *const m2m_format_names[] = {
	[M2M_FORMAT_JPEG] = "jpeg",
	[M2M_FORMAT_FWHT] = "fwht",
};

/* --format: the camera formats some encoder takes (capture_request_for()), by V4L2 fourcc. */
static const char *const format_names[] = { "YUYV", "YU12", "NV12", "MJPG", "JPEG", "RGB3", "BGR3" };

static uint32_t fourcc_of(const char *s)
{
	return (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
}

static const char *const log_level_names[] = {
	[LOG_LEVEL_ERR] = "err",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

const char *source_kind_name(enum source_kind k)
{
	return (size_t)k < ELEMENTSOF(source_names) ? source_names[k] : "unknown";
}

const char *encoder_kind_name(enum encoder_kind k)
{
	return (size_t)k < ELEMENTSOF(encoder_names) ? encoder_names[k] : "unknown";
}

void config_defaults(struct config *cfg)
{
	*cfg = (struct config){
		.source = SOURCE_AUTO,
		.encoder = ENCODER_AUTO,
		.width = 640,
		.height = 480,
		.fps = 30,
		.camera_buffers = 4,
		.snapshot_buffers = 2,
		.quality = 80,
		.listen = { { .host = "0.0.0.0", .port = 8000 } },
		.n_listen = 1,
		.listen_default = true,
		.max_clients = 100,
		.log_level = LOG_LEVEL_INFO,
		.header_timeout_ms = 10000,
		.idle_timeout_ms = 30000,
		.source_timeout_ms = 2000,
		.encoder_timeout_ms = 1000,
		.encoder_fallback = true,
		.controls_writable = true,
		.on_demand = true,
	};
}

static const struct option *find_option(const char *name, size_t len)
{
	for (size_t i = 0; i < ELEMENTSOF(options); i++)
		if (strlen(options[i].name) == len && memcmp(options[i].name, name, len) == 0)
			return &options[i];
	return NULL;
}

/* Appends names[] as "a | b | c" (NULL holes skipped); "file" is shown with its argument. */
static void join_names(char *buf, size_t len, const char *const *names, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		if (!names[i])
			continue;
		const char *arg = "";
		if (names == source_names && i == SOURCE_FILE)
			arg = ":PATH";
		else if (names == source_names && i == SOURCE_LIBCAMERA)
			arg = "[:INDEX|ID]";
		else if ((names == source_names && i == SOURCE_V4L2) ||
			 (names == encoder_names && i == ENCODER_M2M))
			arg = "[:DEVICE]";
		int w = snprintf(buf + used, len - used, "%s%s%s", used ? " | " : "", names[i], arg);
		if (w < 0)
			return;
		used += (size_t)w;
	}
}

/* What an option accepts, for error messages and --help. */
static void describe_accepted(const struct option *opt, char *buf, size_t len)
{
	switch (opt->kind) {
	case OPT_UINT:
		snprintf(buf, len, "%u..%u", opt->min, opt->max);
		return;
	case OPT_SIZE:
		snprintf(buf, len, "WxH, each %u..%u and even", opt->min, opt->max);
		return;
	case OPT_SNAPSHOT_SIZE:
		snprintf(buf, len, "stream, or WxH, each %u..%u, even and at least --size's",
			 opt->min, opt->max);
		return;
	case OPT_SOURCE:
		join_names(buf, len, source_names, ELEMENTSOF(source_names));
		return;
	case OPT_ENCODER:
		join_names(buf, len, encoder_names, ELEMENTSOF(encoder_names));
		return;
	case OPT_M2M_FORMAT:
		join_names(buf, len, m2m_format_names, ELEMENTSOF(m2m_format_names));
		return;
	case OPT_LISTEN:
		snprintf(buf, len, "HOST:PORT, [IPv6]:PORT, :PORT; port %u..%u; or "
			 "unix:PATH[,mode=OCTAL][,group=NAME]", opt->min, opt->max);
		return;
	case OPT_LOG_LEVEL: {
		char names[128];
		join_names(names, sizeof(names), log_level_names, ELEMENTSOF(log_level_names));
		snprintf(buf, len, "%s, or %u..%u", names, opt->min, opt->max);
		return;
	}
	case OPT_CONFIG:
		snprintf(buf, len, "a readable file");
		return;
	case OPT_BOOL:
		snprintf(buf, len, "the flag alone, or =true | =false (file: true | false)");
		return;
	case OPT_SWITCH:
		snprintf(buf, len, "on | off");
		return;
	case OPT_ROTATION:
		snprintf(buf, len, "0 | 90 | 180 | 270");
		return;
	case OPT_FALLBACK:
		snprintf(buf, len, "software | none");
		return;
	case OPT_STRING:
		snprintf(buf, len, "text of at most %u bytes", opt->max - 1);
		return;
	case OPT_PATH:
		snprintf(buf, len, "a file path, or none");
		return;
	case OPT_PATH_LIST:
		snprintf(buf, len, "comma-separated paths starting with '/', or none");
		return;
	case OPT_ORIGIN:
		snprintf(buf, len, "none | * | http[s]://HOST[:PORT]");
		return;
	case OPT_PROXIES:
		snprintf(buf, len, "comma-separated IP addresses (at most %d) or unix, or none",
			 PROXY_TRUSTED_MAX);
		return;
	case OPT_CONTROL:
		snprintf(buf, len, "NAME=VALUE, a control as /controls names it, e.g. brightness=10");
		return;
	case OPT_FORMAT: {
		char names[64];
		join_names(names, sizeof(names), format_names, ELEMENTSOF(format_names));
		snprintf(buf, len, "auto | %s", names);
		return;
	}
	}
	buf[0] = '\0';
}

/* An option's current value, as it would be written on the command line (--help's defaults). */
static void format_value(const struct config *cfg, const struct option *opt, char *buf, size_t len)
{
	switch (opt->kind) {
	case OPT_UINT:
		snprintf(buf, len, "%u", *(const unsigned *)((const char *)cfg + opt->offset));
		return;
	case OPT_SIZE:
		snprintf(buf, len, "%ux%u", cfg->width, cfg->height);
		return;
	case OPT_SNAPSHOT_SIZE:
		if (cfg->snapshot_width)
			snprintf(buf, len, "%ux%u", cfg->snapshot_width, cfg->snapshot_height);
		else
			snprintf(buf, len, "stream");
		return;
	case OPT_SOURCE:
		if (cfg->source == SOURCE_FILE)
			snprintf(buf, len, "file:%s", cfg->source_path);
		else if (cfg->source == SOURCE_LIBCAMERA && cfg->source_path[0])
			snprintf(buf, len, "libcamera:%s", cfg->source_path);
		else if (cfg->source == SOURCE_V4L2 && cfg->source_path[0])
			snprintf(buf, len, "v4l2:%s", cfg->source_path);
		else
			snprintf(buf, len, "%s", source_kind_name(cfg->source));
		return;
	case OPT_ENCODER:
		if (cfg->encoder == ENCODER_M2M && cfg->encoder_path[0])
			snprintf(buf, len, "m2m:%s", cfg->encoder_path);
		else
			snprintf(buf, len, "%s", encoder_kind_name(cfg->encoder));
		return;
	case OPT_M2M_FORMAT:
		snprintf(buf, len, "%s", (size_t)cfg->m2m_format < ELEMENTSOF(m2m_format_names)
						 ? m2m_format_names[cfg->m2m_format] : "?");
		return;
	case OPT_LISTEN: {
		size_t used = 0;
		buf[0] = '\0';
		for (unsigned i = 0; i < cfg->n_listen && used < len; i++) {
			char one[CONFIG_UNIX_PATH_MAX + 300];
			config_listen_describe(&cfg->listen[i], one, sizeof(one));
			int w = snprintf(buf + used, len - used, "%s%s", i ? " " : "", one);
			if (w < 0)
				return;
			used += (size_t)w;
		}
		return;
	}
	case OPT_LOG_LEVEL:
		if (cfg->log_level >= LOG_LEVEL_ERR && cfg->log_level <= LOG_LEVEL_DEBUG)
			snprintf(buf, len, "%s", log_level_names[cfg->log_level]);
		else
			snprintf(buf, len, "%d", cfg->log_level);
		return;
	case OPT_CONFIG:
		snprintf(buf, len, "%s", cfg->config_path[0] ? cfg->config_path : "none");
		return;
	case OPT_BOOL:
		snprintf(buf, len, "%s",
			 *(const bool *)((const char *)cfg + opt->offset) ? "true" : "false");
		return;
	case OPT_SWITCH:
		snprintf(buf, len, "%s", *(const bool *)((const char *)cfg + opt->offset) ? "on" : "off");
		return;
	case OPT_ROTATION:
		snprintf(buf, len, "%u", cfg->rotation);
		return;
	case OPT_FALLBACK:
		snprintf(buf, len, "%s", cfg->encoder_fallback ? "software" : "none");
		return;
	case OPT_STRING:
		snprintf(buf, len, "%s", (const char *)cfg + opt->offset);
		if (!buf[0])
			snprintf(buf, len, "none");
		return;
	case OPT_ORIGIN:
		snprintf(buf, len, "%s", cfg->allow_origin[0] ? cfg->allow_origin : "none");
		return;
	case OPT_PATH:
	case OPT_PATH_LIST:
	case OPT_PROXIES:
		snprintf(buf, len, "%s", (const char *)cfg + opt->offset);
		if (!buf[0])
			snprintf(buf, len, "none");
		return;
	case OPT_CONTROL: {
		size_t used = 0;
		buf[0] = '\0';
		for (unsigned i = 0; i < cfg->controls.n && used + 1 < len; i++) {
			int n = snprintf(buf + used, len - used, "%s%s=%s", i ? " " : "",
					 cfg->controls.a[i].name, cfg->controls.a[i].value);
			if (n < 0)
				break;
			used += (size_t)n;
		}
		if (!cfg->controls.n)
			snprintf(buf, len, "none");
		return;
	}
	case OPT_FORMAT:
		if (!cfg->capture_format)
			snprintf(buf, len, "auto");
		else
			snprintf(buf, len, "%c%c%c%c", (char)(cfg->capture_format & 0xff),
				 (char)(cfg->capture_format >> 8 & 0xff),
				 (char)(cfg->capture_format >> 16 & 0xff),
				 (char)(cfg->capture_format >> 24));
		return;
	}
	buf[0] = '\0';
}

/* "--fps: '0' is out of range (1..120)". dash is "--" for flags and "" for file keys, so each
 * message names the option the way the user wrote it. */
static int option_error(const struct option *opt, const char *dash, const char *value,
			const char *problem, char *err, size_t errlen)
{
	char accepted[160];
	describe_accepted(opt, accepted, sizeof(accepted));
	snprintf(err, errlen, "%s%s: '%.80s' %s (%s)", dash, opt->name, value, problem, accepted);
	return -EINVAL;
}

/* A whole decimal number: digits only, no sign, no spaces, no trailing junk.
 * Returns 0, -EINVAL when not a number, -ERANGE when it does not fit in 32 bits. */
static int parse_number(const char *s, size_t len, unsigned *out)
{
	uint64_t n = 0;
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		n = n * 10 + (uint64_t)(s[i] - '0');
		if (n > UINT32_MAX)
			return -ERANGE;
	}
	*out = (unsigned)n;
	return 0;
}

/* Parses s[0..len) as a number in opt's min..max; on failure fills err naming the whole value. */
static int parse_ranged(const struct option *opt, const char *dash, const char *value,
			const char *s, size_t len, unsigned *out, char *err, size_t errlen)
{
	unsigned n;
	int r = parse_number(s, len, &n);
	if (r == -EINVAL)
		return option_error(opt, dash, value, "is not a whole number", err, errlen);
	if (r < 0 || n < opt->min || n > opt->max)
		return option_error(opt, dash, value, "is out of range", err, errlen);
	*out = n;
	return 0;
}

static int set_size(struct config *cfg, const struct option *opt, const char *dash,
		    const char *value, char *err, size_t errlen)
{
	if (opt->kind == OPT_SNAPSHOT_SIZE && strcmp(value, "stream") == 0) {
		cfg->snapshot_width = cfg->snapshot_height = 0;
		return 0;
	}
	const char *x = strchr(value, 'x');
	unsigned w, h;
	int r;

	if (!x)
		return option_error(opt, dash, value, "is not WxH", err, errlen);
	r = parse_ranged(opt, dash, value, value, (size_t)(x - value), &w, err, errlen);
	if (r < 0)
		return r;
	r = parse_ranged(opt, dash, value, x + 1, strlen(x + 1), &h, err, errlen);
	if (r < 0)
		return r;
	/* Encoders work on 2x2 chroma blocks (4:2:0): odd sizes would need padding. */
	if (w % 2 || h % 2)
		return option_error(opt, dash, value, "is not even", err, errlen);
	if (opt->kind == OPT_SNAPSHOT_SIZE) {
		cfg->snapshot_width = w;
		cfg->snapshot_height = h;
	} else {
		cfg->width = w;
		cfg->height = h;
	}
	return 0;
}

static int set_source(struct config *cfg, const struct option *opt, const char *dash,
		      const char *value, char *err, size_t errlen)
{
	if (strncmp(value, "file:", STRLEN("file:")) == 0) {
		const char *path = value + STRLEN("file:");
		if (path[0] == '\0')
			return option_error(opt, dash, value, "has an empty path", err, errlen);
		if (strlen(path) >= sizeof(cfg->source_path))
			return option_error(opt, dash, value, "has a path that is too long", err,
					    errlen);
		cfg->source = SOURCE_FILE;
		snprintf(cfg->source_path, sizeof(cfg->source_path), "%s", path);
		return 0;
	}
	if (strncmp(value, "libcamera:", STRLEN("libcamera:")) == 0) {
		const char *camera = value + STRLEN("libcamera:");
		if (camera[0] == '\0')
			return option_error(opt, dash, value, "has an empty camera", err, errlen);
		if (strlen(camera) >= sizeof(cfg->source_path))
			return option_error(opt, dash, value, "has a camera id that is too long", err,
					    errlen);
		cfg->source = SOURCE_LIBCAMERA;
		snprintf(cfg->source_path, sizeof(cfg->source_path), "%s", camera);
		return 0;
	}
	if (strncmp(value, "v4l2:", STRLEN("v4l2:")) == 0) {
		const char *device = value + STRLEN("v4l2:");
		if (device[0] == '\0')
			return option_error(opt, dash, value, "has an empty device", err, errlen);
		if (strlen(device) >= sizeof(cfg->source_path))
			return option_error(opt, dash, value, "has a device path that is too long",
					    err, errlen);
		cfg->source = SOURCE_V4L2;
		snprintf(cfg->source_path, sizeof(cfg->source_path), "%s", device);
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(source_names); i++) {
		if (i != SOURCE_FILE && strcmp(value, source_names[i]) == 0) {
			cfg->source = (enum source_kind)i;
			cfg->source_path[0] = '\0';
			return 0;
		}
	}
	return option_error(opt, dash, value, "is not a source", err, errlen);
}

static int set_encoder(struct config *cfg, const struct option *opt, const char *dash,
		       const char *value, char *err, size_t errlen)
{
	if (strncmp(value, "m2m:", STRLEN("m2m:")) == 0) {
		const char *device = value + STRLEN("m2m:");
		if (device[0] == '\0')
			return option_error(opt, dash, value, "has an empty device", err, errlen);
		if (strlen(device) >= sizeof(cfg->encoder_path))
			return option_error(opt, dash, value, "has a device path that is too long",
					    err, errlen);
		cfg->encoder = ENCODER_M2M;
		snprintf(cfg->encoder_path, sizeof(cfg->encoder_path), "%s", device);
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(encoder_names); i++) {
		if (strcmp(value, encoder_names[i]) == 0) {
			cfg->encoder = (enum encoder_kind)i;
			cfg->encoder_path[0] = '\0';
			return 0;
		}
	}
	return option_error(opt, dash, value, "is not an encoder", err, errlen);
}

static bool is_host_char(char c, bool bracketed)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
	    c == '-' || c == '_')
		return true;
	/* Inside brackets: IPv6 colons and a "%eth0" zone. */
	return bracketed && (c == ':' || c == '%');
}

static int set_listen_one(struct config_listen *out, const struct option *opt, const char *dash,
			  const char *value, char *err, size_t errlen);

void config_listen_describe(const struct config_listen *l, char *buf, size_t len)
{
	if (!l->is_unix) {
		snprintf(buf, len, strchr(l->host, ':') ? "[%s]:%u" : "%s:%u", l->host, l->port);
		return;
	}
	snprintf(buf, len, "unix:%s,mode=%04o%s%s", l->path, l->mode, l->group[0] ? ",group=" : "",
		 l->group);
}

/* unix:PATH[,mode=OCTAL][,group=NAME] */
static int set_listen_unix(struct config_listen *l, const struct option *opt, const char *dash,
			   const char *value, char *err, size_t errlen)
{
	const char *path = value + 5, *comma = strchr(path, ',');
	size_t path_len = comma ? (size_t)(comma - path) : strlen(path);
	*l = (struct config_listen){ .is_unix = true, .mode = 0660 };
	if (path_len == 0 || path[0] != '/')
		return option_error(opt, dash, value, "needs an absolute socket path", err, errlen);
	if (path_len >= sizeof(l->path))
		return option_error(opt, dash, value, "has a socket path longer than 107 bytes", err,
				    errlen);
	memcpy(l->path, path, path_len);
	l->path[path_len] = '\0';
	while (comma) {
		const char *item = comma + 1;
		comma = strchr(item, ',');
		size_t n = comma ? (size_t)(comma - item) : strlen(item);
		const size_t mode_key = STRLEN("mode="), group_key = STRLEN("group=");
		if (n > mode_key && !strncmp(item, "mode=", mode_key)) {
			unsigned mode = 0;
			/* at most 4 digits: 0777 with its leading 0 */
			for (size_t i = mode_key; i < n; i++) {
				if (item[i] < '0' || item[i] > '7' || i - mode_key >= 4)
					return option_error(opt, dash, value,
							    "has a mode that is not octal 0..0777",
							    err, errlen);
				mode = mode * 8 + (unsigned)(item[i] - '0');
			}
			if (mode > 0777)
				return option_error(opt, dash, value,
						    "has a mode that is not octal 0..0777", err, errlen);
			l->mode = mode;
		} else if (n > group_key && !strncmp(item, "group=", group_key) &&
			   n - group_key < sizeof(l->group)) {
			for (size_t i = group_key; i < n; i++)
				if (!is_host_char(item[i], false))
					return option_error(opt, dash, value, "has a bad group name",
							    err, errlen);
			memcpy(l->group, item + group_key, n - group_key);
			l->group[n - group_key] = '\0';
		} else {
			return option_error(opt, dash, value,
					    "has an unknown setting (mode=OCTAL, group=NAME)", err,
					    errlen);
		}
	}
	return 0;
}

static int set_listen(struct config *cfg, const struct option *opt, const char *dash,
		      const char *value, char *err, size_t errlen)
{
	struct config_listen l;
	int r = set_listen_one(&l, opt, dash, value, err, errlen);
	if (r < 0)
		return r;
	if (cfg->listen_default) {
		cfg->n_listen = 0;
		cfg->listen_default = false;
	}
	for (unsigned i = 0; i < cfg->n_listen; i++) {
		const struct config_listen *o = &cfg->listen[i];
		if (o->is_unix == l.is_unix && (l.is_unix ? !strcmp(o->path, l.path)
			    : !strcmp(o->host, l.host) && o->port == l.port && l.port != 0))
			return option_error(opt, dash, value, "is given twice", err, errlen);
	}
	if (cfg->n_listen == CONFIG_LISTEN_MAX)
		return option_error(opt, dash, value, "is one address too many (at most 4)", err,
				    errlen);
	cfg->listen[cfg->n_listen++] = l;
	return 0;
}

static int set_listen_one(struct config_listen *out, const struct option *opt, const char *dash,
			  const char *value, char *err, size_t errlen)
{
	if (!strncmp(value, "unix:", STRLEN("unix:")))
		return set_listen_unix(out, opt, dash, value, err, errlen);
	struct config_listen l = { .is_unix = false };
	struct config_listen *cfg = &l;
	const char *host, *port;
	size_t host_len;
	bool bracketed = value[0] == '[';
	unsigned n;
	int r;

	if (bracketed) {
		const char *close = strchr(value, ']');
		if (!close || close[1] != ':')
			return option_error(opt, dash, value, "is not [IPv6]:PORT", err, errlen);
		host = value + 1;
		host_len = (size_t)(close - host);
		port = close + 2;
		if (host_len == 0)
			return option_error(opt, dash, value, "has an empty address", err, errlen);
	} else {
		const char *colon = strrchr(value, ':');
		host = value;
		host_len = colon ? (size_t)(colon - value) : 0;
		port = colon ? colon + 1 : value;
		if (memchr(host, ':', host_len))
			return option_error(opt, dash, value, "needs brackets around an IPv6 address",
					    err, errlen);
	}
	for (size_t i = 0; i < host_len; i++)
		if (!is_host_char(host[i], bracketed))
			return option_error(opt, dash, value, "is not a valid address", err, errlen);
	if (host_len >= sizeof(cfg->host))
		return option_error(opt, dash, value, "has an address that is too long", err, errlen);

	r = parse_number(port, strlen(port), &n);
	if (r == -EINVAL)
		return option_error(opt, dash, value, "has no valid port", err, errlen);
	if (r < 0 || n > opt->max)
		return option_error(opt, dash, value, "has a port out of range", err, errlen);

	/* Stored without brackets: what inet_pton()/getaddrinfo() take. */
	if (host_len == 0)
		snprintf(cfg->host, sizeof(cfg->host), "0.0.0.0");
	else
		snprintf(cfg->host, sizeof(cfg->host), "%.*s", (int)host_len, host);
	cfg->port = n;
	*out = l;
	return 0;
}

/* An origin as browsers send it (RFC 6454): scheme, host, optional port; no path, no slash at the
 * end. It goes into a response header, so only the characters of a host name pass. */
static int set_origin(struct config *cfg, const struct option *opt, const char *dash,
		      const char *value, char *err, size_t errlen)
{
	if (!strcmp(value, "none")) {
		cfg->allow_origin[0] = '\0';
		return 0;
	}
	if (!strcmp(value, "*")) {
		snprintf(cfg->allow_origin, sizeof(cfg->allow_origin), "*");
		return 0;
	}
	const char *host;
	if (!strncmp(value, "http://", STRLEN("http://")))
		host = value + STRLEN("http://");
	else if (!strncmp(value, "https://", STRLEN("https://")))
		host = value + STRLEN("https://");
	else
		return option_error(opt, dash, value, "is not an origin", err, errlen);
	if (strlen(value) >= sizeof(cfg->allow_origin))
		return option_error(opt, dash, value, "is too long", err, errlen);
	bool bracketed = host[0] == '[';
	const char *end = host + strlen(host);
	const char *port = NULL;
	if (bracketed) {
		const char *close = strchr(host, ']');
		if (!close || close == host + 1 || (close[1] && close[1] != ':'))
			return option_error(opt, dash, value, "is not an origin", err, errlen);
		for (const char *p = host + 1; p < close; p++)
			if (!is_host_char(*p, true))
				return option_error(opt, dash, value, "is not an origin", err, errlen);
		port = close[1] ? close + 2 : NULL;
	} else {
		const char *colon = strchr(host, ':');
		const char *host_end = colon ? colon : end;
		if (host_end == host)
			return option_error(opt, dash, value, "is not an origin", err, errlen);
		for (const char *p = host; p < host_end; p++)
			if (!is_host_char(*p, false))
				return option_error(opt, dash, value, "is not an origin", err, errlen);
		port = colon ? colon + 1 : NULL;
	}
	if (port) {
		unsigned n;
		if (parse_number(port, strlen(port), &n) < 0 || n == 0 || n > 65535)
			return option_error(opt, dash, value, "has no valid port", err, errlen);
	}
	snprintf(cfg->allow_origin, sizeof(cfg->allow_origin), "%s", value);
	return 0;
}

static int set_log_level(struct config *cfg, const struct option *opt, const char *dash,
			 const char *value, char *err, size_t errlen)
{
	for (size_t i = 0; i < ELEMENTSOF(log_level_names); i++) {
		if (log_level_names[i] && strcmp(value, log_level_names[i]) == 0) {
			cfg->log_level = (int)i;
			return 0;
		}
	}
	unsigned n;
	if (parse_number(value, strlen(value), &n) == 0) {
		if (n < opt->min || n > opt->max)
			return option_error(opt, dash, value, "is out of range", err, errlen);
		cfg->log_level = (int)n;
		return 0;
	}
	return option_error(opt, dash, value, "is not a log level", err, errlen);
}

static int set_option(struct config *cfg, const struct option *opt, const char *dash,
		      const char *value, char *err, size_t errlen)
{
	switch (opt->kind) {
	case OPT_UINT: {
		unsigned n;
		int r = parse_ranged(opt, dash, value, value, strlen(value), &n, err, errlen);
		if (r < 0)
			return r;
		*(unsigned *)((char *)cfg + opt->offset) = n;
		return 0;
	}
	case OPT_SIZE:
	case OPT_SNAPSHOT_SIZE:
		return set_size(cfg, opt, dash, value, err, errlen);
	case OPT_SOURCE:
		return set_source(cfg, opt, dash, value, err, errlen);
	case OPT_ENCODER:
		return set_encoder(cfg, opt, dash, value, err, errlen);
	case OPT_M2M_FORMAT:
		for (size_t i = 0; i < ELEMENTSOF(m2m_format_names); i++) {
			if (strcmp(value, m2m_format_names[i]) == 0) {
				cfg->m2m_format = (enum m2m_format)i;
				return 0;
			}
		}
		return option_error(opt, dash, value, "is not an M2M format", err, errlen);
	case OPT_LISTEN:
		return set_listen(cfg, opt, dash, value, err, errlen);
	case OPT_LOG_LEVEL:
		return set_log_level(cfg, opt, dash, value, err, errlen);
	case OPT_BOOL:
	case OPT_SWITCH: {
		bool *field = (bool *)((char *)cfg + opt->offset);
		if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1") ||
		    !strcmp(value, "on"))
			*field = true;
		else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0") ||
			 !strcmp(value, "off"))
			*field = false;
		else
			return option_error(opt, dash, value, "is not true or false", err, errlen);
		return 0;
	}
	case OPT_ROTATION:
		if (strcmp(value, "0") && strcmp(value, "90") && strcmp(value, "180") &&
		    strcmp(value, "270"))
			return option_error(opt, dash, value, "is not a rotation", err, errlen);
		cfg->rotation = (unsigned)atoi(value);
		return 0;
	case OPT_FALLBACK:
		if (!strcmp(value, "software"))
			cfg->encoder_fallback = true;
		else if (!strcmp(value, "none"))
			cfg->encoder_fallback = false;
		else
			return option_error(opt, dash, value, "is not software or none", err, errlen);
		return 0;
	case OPT_STRING:
		if (strlen(value) >= opt->max)
			return option_error(opt, dash, value, "is too long", err, errlen);
		snprintf((char *)cfg + opt->offset, opt->max, "%s", value);
		return 0;
	case OPT_CONTROL: {
		char name[CONTROL_NAME_MAX], text[CONTROL_VALUE_MAX];
		if (!strchr(value, '='))
			return option_error(opt, dash, value, "has no '='", err, errlen);
		if (control_split_assignment(value, name, sizeof(name), text, sizeof(text)) < 0)
			return option_error(opt, dash, value, "has an empty or too long name or value",
					    err, errlen);
		int r = control_assignments_put(&cfg->controls, name, text);
		if (r == -E2BIG)
			return option_error(opt, dash, value, "is one control too many", err, errlen);
		if (r < 0)
			return option_error(opt, dash, value, "has a bad name or value", err, errlen);
		return 0;
	}
	case OPT_FORMAT:
		if (!strcmp(value, "auto")) {
			cfg->capture_format = 0;
			return 0;
		}
		for (size_t i = 0; i < ELEMENTSOF(format_names); i++) {
			if (strcmp(value, format_names[i]) == 0) {
				cfg->capture_format = fourcc_of(format_names[i]);
				return 0;
			}
		}
		return option_error(opt, dash, value, "is not a camera format", err, errlen);
	case OPT_PROXIES: {
		struct proxy_trusted t;
		if (!strcmp(value, "none")) {
			cfg->trusted_proxy[0] = '\0';
			return 0;
		}
		if (strlen(value) >= sizeof(cfg->trusted_proxy) || !value[0] ||
		    proxy_trusted_parse(value, &t) < 0)
			return option_error(opt, dash, value, "is not a list of IP addresses, ADDR/BITS networks (host bits 0, "
					    "not /0) or unix",
					    err, errlen);
		snprintf(cfg->trusted_proxy, sizeof(cfg->trusted_proxy), "%s", value);
		return 0;
	}
	case OPT_PATH:
	case OPT_PATH_LIST: {
		char *field = (char *)cfg + opt->offset;
		if (!strcmp(value, "none")) {
			field[0] = '\0';
			return 0;
		}
		if (value[0] == '\0')
			return option_error(opt, dash, value, "is empty", err, errlen);
		if (strlen(value) >= CONFIG_PATH_MAX)
			return option_error(opt, dash, value, "is too long", err, errlen);
		if (opt->kind == OPT_PATH_LIST && auth_exempt_check(value) < 0)
			return option_error(opt, dash, value, "is not a list of paths", err, errlen);
		snprintf(field, CONFIG_PATH_MAX, "%s", value);
		return 0;
	}
	case OPT_ORIGIN:
		return set_origin(cfg, opt, dash, value, err, errlen);
	case OPT_CONFIG:
		if (value[0] == '\0')
			return option_error(opt, dash, value, "is empty", err, errlen);
		if (strlen(value) >= sizeof(cfg->config_path))
			return option_error(opt, dash, value, "is too long", err, errlen);
		snprintf(cfg->config_path, sizeof(cfg->config_path), "%s", value);
		return 0;
	}
	return -EINVAL;
}

int config_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen)
{
	const struct option *opt = find_option(name, strlen(name));
	if (!opt) {
		snprintf(err, errlen, "unknown option '--%s'", name);
		return -ENOENT;
	}
	return set_option(cfg, opt, "--", value, err, errlen);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int config_parse_text(struct config *cfg, const char *text, const char *origin, char *err,
		      size_t errlen)
{
	unsigned line = 0;
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *start = p, *end = nl ? nl : p + strlen(p);
		p = nl ? nl + 1 : end;
		line++;

		while (start < end && is_space(*start))
			start++;
		while (end > start && is_space(end[-1]))
			end--;
		if (start == end || *start == '#')
			continue;

		const char *eq = memchr(start, '=', (size_t)(end - start));
		if (!eq)
			return why_at_line(err, errlen, origin, line, "expected 'name = value'");
		const char *key_end = eq, *value = eq + 1;
		while (key_end > start && is_space(key_end[-1]))
			key_end--;
		while (value < end && is_space(*value))
			value++;

		size_t key_len = (size_t)(key_end - start), value_len = (size_t)(end - value);
		const struct option *opt = find_option(start, key_len);
		if (!opt)
			return why_at_line(err, errlen, origin, line, "unknown option '%.*s'",
					  (int)(key_len > 64 ? 64 : key_len), start);
		/* Loading a file from a file invites include loops for no gain. */
		if (opt->kind == OPT_CONFIG)
			return why_at_line(err, errlen, origin, line,
					  "'config' can only be given as a flag");

		char value_buf[CONFIG_PATH_MAX + 16];
		if (value_len >= sizeof(value_buf))
			return why_at_line(err, errlen, origin, line, "%s: value is too long", opt->name);
		memcpy(value_buf, value, value_len);
		value_buf[value_len] = '\0';

		char msg[CONFIG_ERR_MAX];
		int r = set_option(cfg, opt, "", value_buf, msg, sizeof(msg));
		if (r < 0) {
			why_at_line(err, errlen, origin, line, "%s", msg);
			return r;
		}
	}
	return 0;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char *text _cleanup_free_ = malloc(CONFIG_FILE_MAX + 1);
	if (!text) {
		snprintf(err, errlen, "cannot read config file '%s': %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	mode_t mode = 0;
	enum small_file_step step;
	ssize_t n = small_file_read(path, text, CONFIG_FILE_MAX + 1, &mode, &step);
	if (n < 0) {
		int r = (int)n;
		switch (step) {
		case SMALL_FILE_OPEN:
			snprintf(err, errlen, "--config: cannot open '%s': %s", path, strerror(-r));
			break;
		case SMALL_FILE_STAT:
			snprintf(err, errlen, "--config: cannot stat '%s': %s", path, strerror(-r));
			break;
		case SMALL_FILE_TYPE:
			snprintf(err, errlen, "--config: '%s' is not a regular file (%s)", path,
				 file_type_name(mode));
			break;
		case SMALL_FILE_SIZE:
			snprintf(err, errlen, "config file '%s' is larger than %d bytes", path,
				 CONFIG_FILE_MAX);
			break;
		case SMALL_FILE_READ:
			snprintf(err, errlen, "cannot read config file '%s': %s", path, strerror(-r));
			break;
		}
		return r;
	}
	if (memchr(text, '\0', (size_t)n)) {
		snprintf(err, errlen, "config file '%s' is not text (contains a NUL byte)", path);
		return -EINVAL;
	}
	return config_parse_text(cfg, text, path, err, errlen);
}

enum arg_kind {
	ARG_OPTION,
	ARG_HELP,
	ARG_VERSION,
	ARG_LIST_DEVICES,
};

/* Reads argv[*i] (and the value after it for "--name value"), advancing *i past what it used.
 * Returns an arg_kind or -EINVAL with a message. */
static int next_arg(int argc, char **argv, int *i, const struct option **opt, const char **value,
		    char *err, size_t errlen)
{
	const char *arg = argv[(*i)++];

	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
		return ARG_HELP;
	if (strcmp(arg, "--version") == 0)
		return ARG_VERSION;
	if (strcmp(arg, "--list-devices") == 0)
		return ARG_LIST_DEVICES;
	if (strncmp(arg, "--", STRLEN("--")) != 0) {
		snprintf(err, errlen, "%s '%.80s' (see --help)",
			 arg[0] == '-' && arg[1] ? "unknown option" : "unexpected argument", arg);
		return -EINVAL;
	}

	const char *name = arg + 2, *eq = strchr(name, '=');
	size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
	*opt = find_option(name, name_len);
	if (!*opt) {
		snprintf(err, errlen, "unknown option '--%.*s' (see --help)",
			 (int)(name_len > 80 ? 80 : name_len), name);
		return -EINVAL;
	}
	if (eq) {
		*value = eq + 1;
	} else if ((*opt)->kind == OPT_BOOL) {
		*value = "true"; /* a flag: the next argument is not its value */
	} else if (*i < argc && strncmp(argv[*i], "--", STRLEN("--")) != 0) {
		*value = argv[(*i)++];
	} else {
		snprintf(err, errlen, "option '--%s' needs a value (see --help)", (*opt)->name);
		return -EINVAL;
	}
	return ARG_OPTION;
}

int config_check(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->snapshot_width && (cfg->snapshot_width < cfg->width ||
				    cfg->snapshot_height < cfg->height)) {
		snprintf(err, errlen, "--snapshot-size: %ux%u is smaller than --size %ux%u in %s "
			 "(give at least the stream's size, or 'stream')", cfg->snapshot_width,
			 cfg->snapshot_height, cfg->width, cfg->height,
			 cfg->snapshot_width < cfg->width ? "width" : "height");
		return -EINVAL;
	}
	return 0;
}

int config_parse_args(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	const char *config_file = NULL;
	const struct option *opt;
	const char *value;
	bool list_devices = false;
	int r;

	config_defaults(cfg);

	/* First pass: check the syntax of every flag, answer --help/--version without reading any
	 * file, and find --config, which is loaded before the other flags so they override it. */
	for (int i = 1; i < argc;) {
		r = next_arg(argc, argv, &i, &opt, &value, err, errlen);
		if (r < 0)
			return r;
		if (r == ARG_HELP)
			return CONFIG_HELP;
		if (r == ARG_VERSION)
			return CONFIG_VERSION;
		if (r == ARG_LIST_DEVICES) {
			list_devices = true; /* after the other flags: --m2m-format applies */
			continue;
		}
		if (opt->kind != OPT_CONFIG)
			continue;
		if (config_file) {
			snprintf(err, errlen, "option '--config' given twice");
			return -EINVAL;
		}
		config_file = value;
	}

	if (config_file) {
		r = set_option(cfg, find_option("config", STRLEN("config")), "--", config_file, err, errlen);
		if (r < 0)
			return r;
		r = config_load_file(cfg, config_file, err, errlen);
		if (r < 0)
			return r;
	}

	bool listen_flag_seen = false;
	for (int i = 1; i < argc;) {
		r = next_arg(argc, argv, &i, &opt, &value, err, errlen);
		if (r < 0)
			return r;
		if (r != ARG_OPTION || opt->kind == OPT_CONFIG)
			continue;
		/* The --listen flags replace the file's addresses as a whole, not one by one. */
		if (opt->kind == OPT_LISTEN && !listen_flag_seen) {
			listen_flag_seen = true;
			cfg->listen_default = true;
		}
		r = set_option(cfg, opt, "--", value, err, errlen);
		if (r < 0)
			return r;
	}
	r = config_check(cfg, err, errlen);
	if (r < 0)
		return r;
	return list_devices ? CONFIG_LIST_DEVICES : CONFIG_RUN;
}

void config_print_help(FILE *out)
{
	struct config defaults;
	config_defaults(&defaults);

	fprintf(out,
		"Usage: mjpegd [OPTION]...\n"
		"Streams a camera as MJPEG over HTTP (/stream.mjpg, /snapshot.jpg).\n"
		"\n"
		"Options are given as \"--name value\" or \"--name=value\", or as \"name = value\"\n"
		"lines in the --config file ('#' starts a comment line); flags win over the file.\n"
		"\n"
		"  -h, --help\n"
		"      Show this help and exit.\n"
		"  --version\n"
		"      Show the version and exit.\n"
		"  --list-devices\n"
		"      List the V4L2 devices (cameras, M2M encoders), say which are usable, and exit.\n");
	for (size_t i = 0; i < ELEMENTSOF(options); i++) {
		const struct option *opt = &options[i];
		char accepted[160], def[CONFIG_PATH_MAX + 16];
		describe_accepted(opt, accepted, sizeof(accepted));
		format_value(&defaults, opt, def, sizeof(def));
		fprintf(out, "  --%s%s%s\n      %s\n      Accepts: %s. Default: %s.\n", opt->name,
			opt->metavar[0] ? " " : "", opt->metavar, opt->help, accepted, def);
	}
}
