/* "name = value" text (config_parse_text()) and the --config file that holds it
 * (config_load_file(), read with the one small-file reader, src/smallfile.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "mjpegd/config.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "mjpegd/smallfile.h"
#include "option.h"

#define CONFIG_FILE_MAX (64 * 1024) /* far above any real file; stops a mistaken /dev/zero */

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
		const struct option *opt = config_find_option(start, key_len);
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
		int r = option_set(cfg, opt, "", value_buf, msg, sizeof(msg));
		if (r < 0) {
			why_at_line(err, errlen, origin, line, "%s", msg);
			return r;
		}
	}
	return 0;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char *text _cleanup_free_ = NULL;
	ssize_t n = small_file_load("--config", path, CONFIG_FILE_MAX + 1, &text, NULL, err,
				    errlen);
	if (n < 0)
		return (int)n;
	if (memchr(text, '\0', (size_t)n)) {
		snprintf(err, errlen, "config file '%s' is not text (contains a NUL byte)", path);
		return -EINVAL;
	}
	return config_parse_text(cfg, text, path, err, errlen);
}
