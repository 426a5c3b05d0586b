/* One option's value, checked and stored: every check of user input happens here, once, so the
 * modules the values reach assert instead of checking again. Each failure is one message naming
 * the option as the user wrote it and what it accepts. See src/config/option.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/config.h"
#include "mjpegd/http/auth.h"
#include "mjpegd/http/proxy.h"
#include "mjpegd/macro.h"
#include "option.h"

static uint32_t fourcc_of(const char *s)
{
	return (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
}

/* "--fps: '0' is out of range (1..120)". dash is "--" for flags and "" for file keys, so each
 * message names the option the way the user wrote it. */
static int option_error(const struct option *opt, const char *dash, const char *value,
			const char *problem, char *err, size_t errlen)
{
	char accepted[160];
	option_describe_accepted(opt, accepted, sizeof(accepted));
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

/* "KIND:ARG" (file:PATH, libcamera:ID, v4l2:DEVICE, m2m:DEVICE): ARG into out (len bytes), the
 * refusals saying what ARG is. 1 when value is of that kind, 0 when not, or -EINVAL. */
static int set_kind_arg(const struct option *opt, const char *dash, const char *value,
			const char *kind, const char *empty, const char *too_long, char *out,
			size_t len, char *err, size_t errlen)
{
	size_t n = strlen(kind);
	if (strncmp(value, kind, n) != 0)
		return 0;
	const char *arg = value + n;
	if (arg[0] == '\0')
		return option_error(opt, dash, value, empty, err, errlen);
	if (strlen(arg) >= len)
		return option_error(opt, dash, value, too_long, err, errlen);
	snprintf(out, len, "%s", arg);
	return 1;
}

static int set_source(struct config *cfg, const struct option *opt, const char *dash,
		      const char *value, char *err, size_t errlen)
{
	static const struct {
		const char *kind;
		enum source_kind source;
		const char *empty, *too_long;
	} with_arg[] = {
		{ "file:", SOURCE_FILE, "has an empty path", "has a path that is too long" },
		{ "libcamera:", SOURCE_LIBCAMERA, "has an empty camera",
		  "has a camera id that is too long" },
		{ "v4l2:", SOURCE_V4L2, "has an empty device", "has a device path that is too long" },
	};
	for (size_t i = 0; i < ELEMENTSOF(with_arg); i++) {
		int r = set_kind_arg(opt, dash, value, with_arg[i].kind, with_arg[i].empty,
				     with_arg[i].too_long, cfg->source_path, sizeof(cfg->source_path),
				     err, errlen);
		if (r < 0)
			return r;
		if (r > 0) {
			cfg->source = with_arg[i].source;
			return 0;
		}
	}
	for (size_t i = 0; i < n_source_kind_names; i++) {
		if (i != SOURCE_FILE && strcmp(value, source_kind_names[i]) == 0) {
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
	int r = set_kind_arg(opt, dash, value, "m2m:", "has an empty device",
			     "has a device path that is too long", cfg->encoder_path,
			     sizeof(cfg->encoder_path), err, errlen);
	if (r < 0)
		return r;
	if (r > 0) {
		cfg->encoder = ENCODER_M2M;
		return 0;
	}
	for (size_t i = 0; i < n_encoder_kind_names; i++) {
		if (strcmp(value, encoder_kind_names[i]) == 0) {
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

static int set_listen_one(struct listen_address *out, const struct option *opt, const char *dash,
			  const char *value, char *err, size_t errlen);

/* unix:PATH[,mode=OCTAL][,group=NAME] */
static int set_listen_unix(struct listen_address *l, const struct option *opt, const char *dash,
			   const char *value, char *err, size_t errlen)
{
	const char *path = value + 5, *comma = strchr(path, ',');
	size_t path_len = comma ? (size_t)(comma - path) : strlen(path);
	*l = (struct listen_address){ .is_unix = true, .mode = 0660 };
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
	struct listen_address l;
	int r = set_listen_one(&l, opt, dash, value, err, errlen);
	if (r < 0)
		return r;
	if (cfg->listen_default) {
		cfg->n_listen = 0;
		cfg->listen_default = false;
	}
	for (unsigned i = 0; i < cfg->n_listen; i++) {
		const struct listen_address *o = &cfg->listen[i];
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

static int set_listen_one(struct listen_address *out, const struct option *opt, const char *dash,
			  const char *value, char *err, size_t errlen)
{
	if (!strncmp(value, "unix:", STRLEN("unix:")))
		return set_listen_unix(out, opt, dash, value, err, errlen);
	struct listen_address l = { .is_unix = false };
	struct listen_address *cfg = &l;
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
	for (size_t i = 0; i < n_config_log_level_names; i++) {
		if (config_log_level_names[i] && strcmp(value, config_log_level_names[i]) == 0) {
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

int option_set(struct config *cfg, const struct option *opt, const char *dash, const char *value,
	       char *err, size_t errlen)
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
		for (size_t i = 0; i < n_config_m2m_format_names; i++) {
			if (strcmp(value, config_m2m_format_names[i]) == 0) {
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
		for (size_t i = 0; i < n_config_format_names; i++) {
			if (strcmp(value, config_format_names[i]) == 0) {
				cfg->capture_format = fourcc_of(config_format_names[i]);
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
	const struct option *opt = config_find_option(name, strlen(name));
	if (!opt) {
		snprintf(err, errlen, "unknown option '--%s'", name);
		return -ENOENT;
	}
	return option_set(cfg, opt, "--", value, err, errlen);
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
