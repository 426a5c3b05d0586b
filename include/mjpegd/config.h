/* The daemon's configuration: one struct filled from defaults, then the config file, then flags.
 * Pure: parsing never opens a device or a socket, so every rule here is unit-tested. */
#ifndef MJPEGD_CONFIG_H
#define MJPEGD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

#include "mjpegd/control.h"
#include "mjpegd/select.h"
#include "mjpegd/http/listen_address.h"

#define CONFIG_PATH_MAX 512
#define CONFIG_ERR_MAX 256
#define CONFIG_ORIGIN_MAX 200
#define CONFIG_LISTEN_MAX 4

struct config {
	enum source_kind source;
	char source_path[CONFIG_PATH_MAX]; /* "file:PATH" → PATH */
	enum encoder_kind encoder;
	char encoder_path[CONFIG_PATH_MAX]; /* "m2m:PATH" → PATH */
	enum m2m_format m2m_format; /* --m2m-format jpeg|fwht, default jpeg (fwht: test bed only) */
	uint32_t capture_format;  /* --format FOURCC: the camera's format (V4L2), 0 = auto */
	struct control_assignments controls; /* --control NAME=VALUE (repeatable) */
	bool controls_writable;   /* --controls on|off, default on: POST /controls allowed */
	char state_dir[CONFIG_PATH_MAX]; /* --state-dir DIR ("": $STATE_DIRECTORY, else none) */
	unsigned width, height;   /* --size WxH, 16..4096 each, even; default 640x480 */
	/* --snapshot-size WxH|stream: /snapshot.jpg's size, each >= width/height (config_check),
	 * 16..4096, even; 0x0 (the default, "stream"): the stream's size, no second stream */
	unsigned snapshot_width, snapshot_height;
	unsigned snapshot_buffers; /* --snapshot-buffers 1..16, default 2: the second stream's */
	unsigned fps;             /* --fps 1..120, default 30 */
	unsigned rotation;        /* --rotation 0|90|180|270 clockwise, default 0 (orientation.h) */
	bool hflip, vflip;        /* --hflip, --vflip (flags; "true"/"false" in the file) */
	unsigned camera_buffers;  /* --camera-buffers 2..16, default 4 */
	unsigned quality;         /* --quality 1..100, default 80 */
	/* --listen HOST:PORT | unix:PATH[,mode=OCTAL][,group=NAME], repeatable (up to
	 * CONFIG_LISTEN_MAX), default 0.0.0.0:8000. Flags replace the file's list as a whole. */
	struct listen_address listen[CONFIG_LISTEN_MAX];
	unsigned n_listen;
	bool listen_default; /* listen[] still holds the default: the next --listen replaces it */
	unsigned max_clients;     /* --max-clients 1..10000, default 100 */
	int log_level;            /* --log-level err|warning|notice|info|debug or 3..7, default info */
	unsigned header_timeout_ms; /* --header-timeout-ms 100..600000, default 10000 (slowloris) */
	unsigned idle_timeout_ms;   /* --idle-timeout-ms 100..3600000, default 30000 (keep-alive) */
	unsigned source_timeout_ms;  /* --source-timeout-ms 100..600000, default 2000: no frame → restart */
	unsigned encoder_timeout_ms; /* --encoder-timeout-ms 100..600000, default 1000 */
	bool encoder_fallback;       /* --encoder-fallback software|none, default software */
	unsigned standby_after;      /* --standby-after 0..86400 s, default 0 (never): no request →
				      * camera and encoder closed until the next one */
	bool on_demand;              /* --on-demand on|off, default on: encode only for a viewer */
	char inject_fault[256];      /* --inject-fault SPEC (test binary only, see fault.h) */
	char config_path[CONFIG_PATH_MAX]; /* --config FILE ("" when none) */
	char auth_file[CONFIG_PATH_MAX];   /* --auth-file FILE ("" when none) */
	char auth_exempt[CONFIG_PATH_MAX]; /* --auth-exempt PATH[,PATH] ("" when none) */
	char trusted_proxy[CONFIG_PATH_MAX]; /* --trusted-proxy ADDR[,ADDR] ("" = none) */
	char allow_origin[CONFIG_ORIGIN_MAX]; /* --allow-origin ORIGIN|*|none ("" = none, the default) */
};

void config_defaults(struct config *cfg);

/* Sets one option by its long name (without "--") from its text value. Returns 0, or -EINVAL with
 * a message in err naming the option and the accepted range, or -ENOENT for an unknown name. */
int config_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen);

/* Parses "key = value" lines (# comments, blank lines, surrounding spaces ignored); keys are the
 * long flag names. Errors name the line number. Returns 0 or a negative errno. */
int config_parse_text(struct config *cfg, const char *text, const char *origin, char *err,
		      size_t errlen);

/* Reads and parses a file (config_parse_text). -ENOENT etc. with a message when unreadable. */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);

enum config_action {
	CONFIG_RUN,
	CONFIG_HELP,
	CONFIG_VERSION,
	CONFIG_LIST_DEVICES, /* --list-devices: print the V4L2 devices and exit */
};

/* Parses argv: defaults, then --config FILE when present (wherever it stands), then the other flags
 * in order, so flags win over the file. Accepts "--name value" and "--name=value".
 * Returns a config_action (>= 0) or a negative errno with a message in err. */
int config_parse_args(struct config *cfg, int argc, char **argv, char *err, size_t errlen);

/* The rules between options, checked once all are read (config_parse_args() does): a
 * --snapshot-size smaller than --size. 0 or -EINVAL with a message. */
int config_check(const struct config *cfg, char *err, size_t errlen);

/* What each module is given of the configuration: its own options (src/config/translate.c), so
 * that no module but config and main sees struct config. One function per module; each field
 * is copied in one place. */
struct devices_options;
struct pipeline_options;
struct server_options;
void config_devices_options(const struct config *cfg, struct devices_options *out);
void config_pipeline_options(const struct config *cfg, struct pipeline_options *out);
/* out's strings and listen point into cfg: the server copies what it keeps (server.h), so out is
 * used at once and cfg outlives that use. */
void config_server_options(const struct config *cfg, struct server_options *out);

/* Writes the --help text. */
void config_print_help(FILE *out);

#endif
