/* The option table and what reads it whole: the names options take, the defaults, --help.
 *
 * Every option is one row of config_options[] below: config_set(), the file parser, the argv parser and
 * --help all read that table, so an option is added in one place and its help cannot go stale.
 * See include/mjpegd/config.h; the files of src/config/ are listed in option.h. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mjpegd/config.h"
#include "mjpegd/http/proxy.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "option.h"

const struct option config_options[] = {
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

const size_t n_config_options = ELEMENTSOF(config_options);

const char *const config_m2m_format_names[] = {
	[M2M_FORMAT_JPEG] = "jpeg",
	[M2M_FORMAT_FWHT] = "fwht",
};

/* --format: the camera formats some encoder takes (capture_request_for()), by V4L2 fourcc. */
const char *const config_format_names[] = { "YUYV", "YU12", "NV12", "MJPG", "JPEG", "RGB3", "BGR3" };

const char *const config_log_level_names[] = {
	[LOG_LEVEL_ERR] = "err",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

const size_t n_config_m2m_format_names = ELEMENTSOF(config_m2m_format_names);
const size_t n_config_format_names = ELEMENTSOF(config_format_names);
const size_t n_config_log_level_names = ELEMENTSOF(config_log_level_names);

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

const struct option *config_find_option(const char *name, size_t len)
{
	for (size_t i = 0; i < n_config_options; i++)
		if (strlen(config_options[i].name) == len && memcmp(config_options[i].name, name, len) == 0)
			return &config_options[i];
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
		if (names == source_kind_names && i == SOURCE_FILE)
			arg = ":PATH";
		else if (names == source_kind_names && i == SOURCE_LIBCAMERA)
			arg = "[:INDEX|ID]";
		else if ((names == source_kind_names && i == SOURCE_V4L2) ||
			 (names == encoder_kind_names && i == ENCODER_M2M))
			arg = "[:DEVICE]";
		int w = snprintf(buf + used, len - used, "%s%s%s", used ? " | " : "", names[i], arg);
		if (w < 0)
			return;
		used += (size_t)w;
	}
}

/* What an option accepts, for error messages and --help. */
void option_describe_accepted(const struct option *opt, char *buf, size_t len)
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
		join_names(buf, len, source_kind_names, n_source_kind_names);
		return;
	case OPT_ENCODER:
		join_names(buf, len, encoder_kind_names, n_encoder_kind_names);
		return;
	case OPT_M2M_FORMAT:
		join_names(buf, len, config_m2m_format_names, n_config_m2m_format_names);
		return;
	case OPT_LISTEN:
		snprintf(buf, len, "HOST:PORT, [IPv6]:PORT, :PORT; port %u..%u; or "
			 "unix:PATH[,mode=OCTAL][,group=NAME]", opt->min, opt->max);
		return;
	case OPT_LOG_LEVEL: {
		char names[128];
		join_names(names, sizeof(names), config_log_level_names, n_config_log_level_names);
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
		join_names(names, sizeof(names), config_format_names, n_config_format_names);
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
		snprintf(buf, len, "%s", (size_t)cfg->m2m_format < n_config_m2m_format_names
						 ? config_m2m_format_names[cfg->m2m_format] : "?");
		return;
	case OPT_LISTEN: {
		size_t used = 0;
		buf[0] = '\0';
		for (unsigned i = 0; i < cfg->n_listen && used < len; i++) {
			char one[LISTEN_UNIX_PATH_MAX + 300];
			listen_address_describe(&cfg->listen[i], one, sizeof(one));
			int w = snprintf(buf + used, len - used, "%s%s", i ? " " : "", one);
			if (w < 0)
				return;
			used += (size_t)w;
		}
		return;
	}
	case OPT_LOG_LEVEL:
		if (cfg->log_level >= LOG_LEVEL_ERR && cfg->log_level <= LOG_LEVEL_DEBUG)
			snprintf(buf, len, "%s", config_log_level_names[cfg->log_level]);
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
	for (size_t i = 0; i < n_config_options; i++) {
		const struct option *opt = &config_options[i];
		char accepted[160], def[CONFIG_PATH_MAX + 16];
		option_describe_accepted(opt, accepted, sizeof(accepted));
		format_value(&defaults, opt, def, sizeof(def));
		fprintf(out, "  --%s%s%s\n      %s\n      Accepts: %s. Default: %s.\n", opt->name,
			opt->metavar[0] ? " " : "", opt->metavar, opt->help, accepted, def);
	}
}
