/* Loading the libcamera plugin (mjpegd-libcamera.so; the boundary is struct lcshim_ops in
 * src/source/libcamera_shim.h, the rules in docs/security.md, "The libcamera plugin").
 *
 * The daemon links neither libcamera nor libstdc++: the libcamera source asks this loader for the
 * shim's table the first time it needs a camera (--source libcamera, auto, --list-devices). The
 * plugin is loaded from one directory fixed at build time (MJPEGD_PLUGIN_DIR: $(LIBDIR)/mjpegd for
 * `make install` and the .deb, the build directory as an absolute path for the development build),
 * by absolute path, never by a search: no LD_LIBRARY_PATH, no current directory. The directory and
 * the file are opened without following a final symlink and checked on the open descriptors
 * (libcamera_plugin_check_owner()); dlopen() then gets /proc/self/fd/N, the very file checked.
 *
 * Loading is tried once per process; the answer (the table, or why not) is kept, logged once and
 * shown in /status ("libcamera_plugin"). The plugin is never unloaded. Loop thread only.
 */
#ifndef MJPEGD_SOURCE_LIBCAMERA_PLUGIN_H
#define MJPEGD_SOURCE_LIBCAMERA_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define LIBCAMERA_PLUGIN_FILE "mjpegd-libcamera.so"

struct lcshim_ops;

enum libcamera_plugin_state {
	LCP_NOT_TRIED,    /* nothing asked for libcamera yet */
	LCP_LOADED,
	LCP_NOT_BUILT,    /* mjpegd was built without libcamera: there is no plugin */
	LCP_MISSING,      /* the file (or its directory) is not there */
	LCP_REFUSED,      /* not a regular file, a symlink, or writable by someone untrusted */
	LCP_LOAD_FAILED,  /* dlopen() failed: libcamera's soname changed, a library is missing */
	LCP_INCOMPATIBLE, /* a symbol is missing, or another ABI version or layout */
	LCP_STATE_COUNT,
};

struct libcamera_plugin_info {
	enum libcamera_plugin_state state;
	char path[256];         /* MJPEGD_PLUGIN_DIR/mjpegd-libcamera.so */
	const char *built_against; /* libcamera version this mjpegd was built with ("" without) */
	char running[64];       /* the libcamera version the loaded plugin runs with ("" unless loaded) */
	char installed[160];    /* the libcamera.so.* files found in the system's library dirs */
	char error[512];        /* why it is not loaded ("" when loaded or not tried) */
	char hint[256];         /* what to do about it */
};

/* "not-tried", "loaded", "not-built", "missing", "refused", "load-failed", "incompatible". */
const char *libcamera_plugin_state_name(enum libcamera_plugin_state s);

/* The shim's table: loaded (or refused) on the first call, the same answer afterwards. 0 and *ops;
 * -EOPNOTSUPP when built without libcamera; -ELIBACC when the plugin cannot be used (the reason
 * in libcamera_plugin_info()). The first failure is logged once, at log_level (an explicit
 * --source libcamera: error; auto, which goes on to V4L2: warning); later calls log nothing. */
int libcamera_plugin_load(int log_level, const struct lcshim_ops **ops);

/* What happened (state LCP_NOT_TRIED before the first libcamera_plugin_load()). */
const struct libcamera_plugin_info *libcamera_plugin_info(void);

/* For unit tests that stand in for the plugin with a table of fakes: later loads return ops as if
 * the plugin at path had been loaded. */
void libcamera_plugin_set_loaded(const struct lcshim_ops *ops, const char *path);

/* Pure: may the plugin file (is_dir false) or its directory (true), owned by owner:group with
 * mode (st_mode, type bits included), be trusted by a daemon that trusts root and trusted_uid
 * (the daemon's own uid for a development build; 0 otherwise)? It must be a regular file / a
 * directory (a symlink is never followed), owned by root or trusted_uid, and writable by no one
 * else: no write bit for others, and none for its group unless that group is root's (gid 0).
 * 0, or -EPERM with the reason (naming path) in why. */
int libcamera_plugin_check_owner(const char *path, bool is_dir, uid_t owner, gid_t group,
				 mode_t mode, uid_t trusted_uid, char *why, size_t whylen);

#endif
