/* libcamera's log lines → mjpegd log messages; see include/mjpegd/source/libcamera_log.h.
 * Pure: no I/O, built with or without libcamera so its unit test runs everywhere. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mjpegd/source/libcamera_log.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"

static const struct {
	const char *name;
	int level;
} severities[] = {
	/* libcamera's log_severity_name(): five characters, right-aligned. */
	{ "DEBUG", LOG_LEVEL_DEBUG }, { "INFO", LOG_LEVEL_INFO },  { "WARN", LOG_LEVEL_WARNING },
	{ "ERROR", LOG_LEVEL_ERR },   { "FATAL", LOG_LEVEL_ERR },
};

/* Skips "[...]" and the blanks after it; NULL when s does not start with '['. */
static const char *skip_bracketed(const char *s)
{
	if (*s != '[')
		return NULL;
	const char *end = strchr(s, ']');
	if (!end)
		return NULL;
	s = end + 1;
	while (*s == ' ')
		s++;
	return s;
}

/* The next space-separated word: [*word, *word + *wlen); returns what follows its blanks. */
static const char *next_word(const char *s, const char **word, size_t *wlen)
{
	while (*s == ' ')
		s++;
	*word = s;
	while (*s && *s != ' ')
		s++;
	*wlen = (size_t)(s - *word);
	while (*s == ' ')
		s++;
	return s;
}

/* "file.cpp:123": libcamera's fileInfo(). */
static bool is_file_info(const char *w, size_t n)
{
	size_t digits = 0;
	while (digits < n && w[n - 1 - digits] >= '0' && w[n - 1 - digits] <= '9')
		digits++;
	return digits > 0 && digits < n - 1 && w[n - 1 - digits] == ':';
}

static size_t text_length(const char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	return n;
}

int libcamera_log_parse(const char *line, char *out, size_t len)
{
	const char *s = skip_bracketed(line); /* timestamp */
	if (s)
		s = skip_bracketed(s); /* thread id */
	const char *sev, *cat;
	size_t sev_len, cat_len;
	int level = -1;
	if (s) {
		s = next_word(s, &sev, &sev_len);
		for (size_t i = 0; i < ELEMENTSOF(severities); i++)
			if (strlen(severities[i].name) == sev_len &&
			    strncmp(severities[i].name, sev, sev_len) == 0)
				level = severities[i].level;
	}
	if (level < 0) {
		snprintf(out, len, "libcamera: %.*s", (int)text_length(line), line);
		return LOG_LEVEL_NOTICE;
	}
	s = next_word(s, &cat, &cat_len);
	const char *file;
	size_t file_len;
	const char *rest = next_word(s, &file, &file_len);
	if (is_file_info(file, file_len))
		s = rest;
	snprintf(out, len, "libcamera %.*s: %.*s", (int)cat_len, cat, (int)text_length(s), s);
	return level;
}

const char *libcamera_log_levels(int mjpegd_level)
{
	if (mjpegd_level <= LOG_LEVEL_ERR)
		return "*:ERROR";
	if (mjpegd_level >= LOG_LEVEL_DEBUG)
		return "*:DEBUG";
	return "*:WARN";
}
