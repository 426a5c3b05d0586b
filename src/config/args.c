/* The command line: flags checked first, --config loaded before the other flags so that they
 * win over the file, then every flag through the same parsers as the file (parse.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mjpegd/config.h"
#include "mjpegd/macro.h"
#include "option.h"

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
	*opt = config_find_option(name, name_len);
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
		r = option_set(cfg, config_find_option("config", STRLEN("config")), "--", config_file, err, errlen);
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
		r = option_set(cfg, opt, "--", value, err, errlen);
		if (r < 0)
			return r;
	}
	r = config_check(cfg, err, errlen);
	if (r < 0)
		return r;
	return list_devices ? CONFIG_LIST_DEVICES : CONFIG_RUN;
}
