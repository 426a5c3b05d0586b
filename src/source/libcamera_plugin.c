/* The libcamera plugin's loader; see include/mjpegd/source/libcamera_plugin.h and
 * docs/security.md, "The libcamera plugin". */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "mjpegd/source/libcamera_plugin.h"

#include "libcamera_shim.h"

/* Set by the Makefile: the one directory the plugin is loaded from (absolute), whether the
 * daemon's own uid may own it (the development build, `make run`), what libcamera the plugin was
 * built against ("" without libcamera) and where the system keeps libraries (for "installed"). */
#ifndef MJPEGD_PLUGIN_DIR
#error "MJPEGD_PLUGIN_DIR is set by the Makefile"
#endif
#ifndef MJPEGD_PLUGIN_TRUST_OWNER
#define MJPEGD_PLUGIN_TRUST_OWNER 0
#endif
#ifndef MJPEGD_LIBCAMERA_BUILT_AGAINST
#define MJPEGD_LIBCAMERA_BUILT_AGAINST ""
#endif
#ifndef MJPEGD_SYSTEM_LIBDIRS
#define MJPEGD_SYSTEM_LIBDIRS "/usr/local/lib:/usr/lib"
#endif

static struct libcamera_plugin_info info = {
	.state = LCP_NOT_TRIED,
	.built_against = MJPEGD_LIBCAMERA_BUILT_AGAINST,
};
static const struct lcshim_ops *loaded_ops;

static const char *const state_names[LCP_STATE_COUNT] = {
	[LCP_NOT_TRIED] = "not-tried",     [LCP_LOADED] = "loaded",
	[LCP_NOT_BUILT] = "not-built",     [LCP_MISSING] = "missing",
	[LCP_REFUSED] = "refused",         [LCP_LOAD_FAILED] = "load-failed",
	[LCP_INCOMPATIBLE] = "incompatible",
};

const char *libcamera_plugin_state_name(enum libcamera_plugin_state s)
{
	return (unsigned)s < LCP_STATE_COUNT ? state_names[s] : "unknown";
}


int libcamera_plugin_check_owner(const char *path, bool is_dir, uid_t owner, gid_t group,
				 mode_t mode, uid_t trusted_uid, char *why, size_t whylen)
{
	const char *what = is_dir ? "directory" : "file";
	if (is_dir ? !S_ISDIR(mode) : !S_ISREG(mode))
		return why_set(why, whylen, -EPERM, "%s is not a %s%s", path,
			       is_dir ? "directory" : "regular file",
			       S_ISLNK(mode) ? " (a symlink, which is not followed)" : "");
	if (owner != 0 && owner != trusted_uid)
		return why_set(why, whylen, -EPERM, "the %s %s is owned by uid %u, not by root%s",
			       what, path, (unsigned)owner,
			       trusted_uid != 0 ? " or the daemon's own user" : "");
	if (mode & S_IWOTH)
		return why_set(why, whylen, -EPERM, "the %s %s is writable by everyone (mode %04o)",
			       what, path, (unsigned)(mode & 07777));
	if ((mode & S_IWGRP) && group != 0)
		return why_set(why, whylen, -EPERM, "the %s %s is writable by group %u (mode %04o)",
			       what, path, (unsigned)group, (unsigned)(mode & 07777));
	return 0;
}

/* The libcamera.so.* files in the system's library directories, for the message ("none found"
 * when there is none): what the user has, against what the plugin wants. */
static void find_installed(char *out, size_t len)
{
	char dirs[] = MJPEGD_SYSTEM_LIBDIRS;
	size_t used = 0;
	out[0] = '\0';
	char *save = NULL;
	for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			/* the library itself, not its soname link, nor libcamera-base */
			if (strncmp(e->d_name, "libcamera.so.", STRLEN("libcamera.so.")) != 0 ||
			    e->d_type == DT_LNK)
				continue;
			int n = snprintf(out + used, len - used, "%s%s/%s", used ? ", " : "", dir,
					 e->d_name);
			if (n < 0 || (size_t)n >= len - used) {
				out[used] = '\0';
				break;
			}
			used += (size_t)n;
		}
		closedir(d);
	}
	if (!used)
		snprintf(out, len, "none found in %s", MJPEGD_SYSTEM_LIBDIRS);
}

static const char *const rebuild_hint =
	"rebuild mjpegd against the libcamera installed now (in its source tree: make, then sudo "
	"make install) or install the mjpegd package built for this release of the OS";

static int fail(enum libcamera_plugin_state state, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(enum libcamera_plugin_state state, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(info.error, sizeof(info.error), fmt, ap);
	va_end(ap);
	info.state = state;
	snprintf(info.hint, sizeof(info.hint), "%s", hint);
	return -ELIBACC;
}

static void host_log_text(int level, const char *text)
{
	log_msg(level, "%s", text);
}

static const struct lcshim_host host = {
	.abi_version = LCSHIM_ABI_VERSION,
	.size = sizeof(struct lcshim_host),
	.log_text = host_log_text,
	.log_level = log_get_level,
};

/* The directory the plugin comes from: the build's, or in the fault-injection build only (the
 * integration tests' seam, never in the release binary) MJPEGD_TEST_PLUGIN_DIR; NULL: the build's. */
static const char *test_plugin_dir(void)
{
#ifdef MJPEGD_FAULT_INJECTION
	const char *dir = getenv("MJPEGD_TEST_PLUGIN_DIR");
	if (dir && dir[0] == '/')
		return dir;
#endif
	return NULL;
}

static const char *plugin_dir(void)
{
	return test_plugin_dir() ? test_plugin_dir() : MJPEGD_PLUGIN_DIR;
}

const struct libcamera_plugin_info *libcamera_plugin_info(void)
{
	/* where it is (or would be) loaded from, before anything asked for it too */
	if (!info.path[0])
		snprintf(info.path, sizeof(info.path), "%s/%s", plugin_dir(), LIBCAMERA_PLUGIN_FILE);
	return &info;
}

/* dlerror() names the file it was given, /proc/self/fd/N: name the plugin instead. */
static void describe_dlerror(const char *err, const char *fd_path, char *out, size_t len)
{
	size_t n = strlen(fd_path);
	if (strncmp(err, fd_path, n) == 0)
		snprintf(out, len, "%s%s", info.path, err + n);
	else
		snprintf(out, len, "%s", err);
}

static int load(void)
{
	const char *dir = plugin_dir();
	snprintf(info.path, sizeof(info.path), "%s/%s", dir, LIBCAMERA_PLUGIN_FILE);
	if (!info.built_against[0] && !test_plugin_dir()) {
		info.state = LCP_NOT_BUILT;
		snprintf(info.error, sizeof(info.error), "mjpegd was built without libcamera");
		snprintf(info.hint, sizeof(info.hint), "install libcamera-dev and rebuild mjpegd");
		return -EOPNOTSUPP;
	}
	find_installed(info.installed, sizeof(info.installed));
	const uid_t trusted = MJPEGD_PLUGIN_TRUST_OWNER ? geteuid() : 0;
	char why[400];

	/* O_PATH|O_NOFOLLOW: a symlink as the last component is opened as itself, and refused. */
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return fail(LCP_MISSING, "reinstall mjpegd (sudo make install, or its package)",
			    "%s is not installed (no directory %s)", info.path, dir);
	if (dfd < 0)
		return fail(LCP_REFUSED, "check the directory", "opening %s: %s", dir, strerror(errno));
	struct stat st;
	if (fstat(dfd, &st) < 0)
		return fail(LCP_REFUSED, "check the directory", "fstat %s: %s", dir, strerror(errno));
	if (libcamera_plugin_check_owner(dir, true, st.st_uid, st.st_gid, st.st_mode, trusted, why,
					 sizeof(why)) < 0)
		return fail(LCP_REFUSED, "make the directory and the plugin owned and writable by root "
					 "only (chown root:root, chmod go-w)",
			    "refused: %s", why);

	_cleanup_close_ int fd =
		openat(dfd, LIBCAMERA_PLUGIN_FILE, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return fail(LCP_MISSING, "reinstall mjpegd (sudo make install, or its package)",
			    "%s is not installed", info.path);
	if (fd < 0 && errno == ELOOP)
		return fail(LCP_REFUSED, "install the plugin as a regular file",
			    "refused: %s is a symlink, which is not followed", info.path);
	if (fd < 0)
		return fail(LCP_REFUSED, "check the file", "opening %s: %s", info.path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return fail(LCP_REFUSED, "check the file", "fstat %s: %s", info.path, strerror(errno));
	if (libcamera_plugin_check_owner(info.path, false, st.st_uid, st.st_gid, st.st_mode, trusted,
					 why, sizeof(why)) < 0)
		return fail(LCP_REFUSED, "make the directory and the plugin owned and writable by root "
					 "only (chown root:root, chmod go-w)",
			    "refused: %s", why);

	/* The file checked, by its descriptor: no second lookup of the name that could be raced. */
	char fd_path[64];
	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
	void *h = dlopen(fd_path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		char err[300];
		describe_dlerror(dlerror(), fd_path, err, sizeof(err));
		return fail(LCP_LOAD_FAILED, rebuild_hint,
			    "%s cannot be loaded: %s (this mjpegd was built against libcamera %s; installed: %s)",
			    info.path, err, info.built_against[0] ? info.built_against : "?",
			    info.installed);
	}
	const uint32_t *abi = dlsym(h, LCSHIM_ABI_SYMBOL);
	if (!abi) {
		dlclose(h);
		return fail(LCP_INCOMPATIBLE, "reinstall this mjpegd so that daemon and plugin match",
			    "%s has no symbol %s: not an mjpegd libcamera plugin", info.path,
			    LCSHIM_ABI_SYMBOL);
	}
	if (*abi != LCSHIM_ABI_VERSION) {
		uint32_t v = *abi;
		dlclose(h);
		return fail(LCP_INCOMPATIBLE, "reinstall this mjpegd so that daemon and plugin match",
			    "%s speaks plugin ABI version %u, this mjpegd version %u", info.path,
			    (unsigned)v, LCSHIM_ABI_VERSION);
	}
	const struct lcshim_ops *(*init)(const struct lcshim_host *);
	*(void **)&init = dlsym(h, LCSHIM_INIT_SYMBOL);
	if (!init) {
		dlclose(h);
		return fail(LCP_INCOMPATIBLE, "reinstall this mjpegd so that daemon and plugin match",
			    "%s has no symbol %s", info.path, LCSHIM_INIT_SYMBOL);
	}
	const struct lcshim_ops *ops = init(&host);
	const struct lcshim_layout want = LCSHIM_LAYOUT_INIT;
	if (!ops || ops->abi_version != LCSHIM_ABI_VERSION ||
	    memcmp(&ops->layout, &want, sizeof(want)) != 0) {
		dlclose(h);
		return fail(LCP_INCOMPATIBLE, "reinstall this mjpegd so that daemon and plugin match",
			    "%s: its table does not match this mjpegd's (ABI version %u, other struct "
			    "sizes)", info.path, ops ? (unsigned)ops->abi_version : 0u);
	}
	/* h stays open for the process's life: libcamera's threads and statics must not go away. */
	info.state = LCP_LOADED;
	snprintf(info.running, sizeof(info.running), "%s", ops->version());
	info.error[0] = info.hint[0] = '\0';
	loaded_ops = ops;
	log_info("libcamera plugin %s loaded (built against libcamera %s, running %s)", info.path,
		 ops->built_against, info.running);
	return 0;
}

void libcamera_plugin_set_loaded(const struct lcshim_ops *ops, const char *path)
{
	info.state = LCP_LOADED;
	snprintf(info.path, sizeof(info.path), "%s", path);
	snprintf(info.running, sizeof(info.running), "%s", ops->version());
	info.error[0] = info.hint[0] = '\0';
	loaded_ops = ops;
}

int libcamera_plugin_load(int log_level, const struct lcshim_ops **ops)
{
	if (info.state == LCP_NOT_TRIED) {
		int r = load();
		/* built without libcamera: auto moves on without a word, as it always did */
		if (r == -EOPNOTSUPP && log_level > LOG_LEVEL_ERR)
			log_level = LOG_LEVEL_DEBUG;
		if (r < 0)
			log_msg(log_level, "libcamera plugin: %s; %s", info.error, info.hint);
	}
	switch (info.state) {
	case LCP_LOADED:
		*ops = loaded_ops;
		return 0;
	case LCP_NOT_BUILT:
		return -EOPNOTSUPP;
	default:
		return -ELIBACC;
	}
}
