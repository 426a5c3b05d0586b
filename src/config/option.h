/* What the files of src/config/ share, and no one else: the option table's row type and the
 * helpers every parser calls. The public interface is include/mjpegd/config.h.
 *
 *   options.c  the option table, the names options take, defaults, --help
 *   parse.c    one option's value, checked and stored (config_set())
 *   file.c     "name = value" text and the --config file (config_load_file())
 *   args.c     the command line (config_parse_args())
 *   translate.c  each module's options from struct config (config_pipeline_options() ...) */
#ifndef MJPEGD_SRC_CONFIG_OPTION_H
#define MJPEGD_SRC_CONFIG_OPTION_H

#include <stddef.h>

#include "mjpegd/config.h"

enum option_kind {
	OPT_UINT,      /* an unsigned field at .offset, whole decimal number in min..max */
	OPT_SIZE,      /* WxH, each in min..max and even */
	OPT_SNAPSHOT_SIZE, /* WxH as OPT_SIZE into snapshot_width/height, or "stream" (0x0) */
	OPT_SOURCE,    /* source_kind_names[] or file:PATH */
	OPT_ENCODER,   /* encoder_kind_names[] */
	OPT_LISTEN,    /* HOST:PORT, [IPv6]:PORT, :PORT or PORT; port in min..max */
	OPT_LOG_LEVEL, /* config_log_level_names[] or a number in min..max */
	OPT_CONFIG,    /* a file path; only as a flag */
	OPT_M2M_FORMAT, /* config_m2m_format_names[] */
	OPT_BOOL,      /* a bool field at .offset; "--name" alone means true */
	OPT_SWITCH,    /* a bool field at .offset, always with a value: on | off */
	OPT_ROTATION,  /* 0, 90, 180 or 270 */
	OPT_FALLBACK,  /* software | none into encoder_fallback */
	OPT_STRING,    /* a char[] field at .offset of max bytes */
	OPT_FORMAT,    /* auto or one of config_format_names[] into capture_format */
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

/* options.c: every option, one row each; config_set(), the file parser, the argv parser and
 * --help all read it. */
extern const struct option config_options[];
extern const size_t n_config_options;
const struct option *config_find_option(const char *name, size_t len);

/* options.c: the words options take, indexed by the enum they set (NULL: a hole). */
extern const char *const config_m2m_format_names[];
extern const size_t n_config_m2m_format_names;
/* --format: the camera formats some encoder takes (capture_request_for()), by V4L2 fourcc. */
extern const char *const config_format_names[];
extern const size_t n_config_format_names;
extern const char *const config_log_level_names[];
extern const size_t n_config_log_level_names;

/* options.c: what an option accepts, for error messages and --help. */
void option_describe_accepted(const struct option *opt, char *buf, size_t len);

/* parse.c: checks value and stores it in cfg; on failure, err names the option as the user
 * wrote it (dash: "--" for flags, "" for file keys). */
int option_set(struct config *cfg, const struct option *opt, const char *dash, const char *value,
	       char *err, size_t errlen);

#endif
