/* Who else has a device open; see include/mjpegd/v4l2/holders.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mjpegd/macro.h"
#include "mjpegd/v4l2/holders.h"
#include "mjpegd/v4l2/stable_id.h"

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

void holder_unit_from_cgroup(const char *text, char *out, size_t len)
{
	out[0] = '\0';
	/* each line "ID:CONTROLLERS:PATH"; the path's components are separated by '/' */
	const char *p = text;
	while (*p) {
		size_t line = strcspn(p, "\n");
		const char *c = p, *end = p + line;
		while (c < end) {
			size_t n = strcspn(c, "/\n");
			if (c + n > end)
				n = (size_t)(end - c);
			if (n > 0 && n < len &&
			    (ends_with(c, n, ".service") || ends_with(c, n, ".scope"))) {
				memcpy(out, c, n);
				out[n] = '\0';
			}
			c += n + 1;
		}
		p = *end ? end + 1 : end;
	}
}

/* Up to len-1 bytes of a small /proc file, without its trailing newline; "" when unreadable. */
static void read_small(const char *dir, const char *pid, const char *name, char *out, size_t len)
{
	char path[PATH_MAX];
	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s/%s", dir, pid, name);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, len - 1);
	if (n <= 0) {
		out[0] = '\0';
		return;
	}
	out[n] = '\0';
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
}

static bool has_open(const char *proc, const char *pid, const char *real)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/%s/fd", proc, pid);
	DIR *d = opendir(dir);
	if (!d)
		return false; /* gone, or another user's */
	bool found = false;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char link[PATH_MAX + 300], target[PATH_MAX];
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		found = strcmp(target, real) == 0;
	}
	closedir(d);
	return found;
}

int device_holders(const char *proc, const char *path, pid_t self, char *buf, size_t len)
{
	char real[PATH_MAX];
	buf[0] = '\0';
	int r = v4l2_resolve_node(path, real, sizeof(real));
	if (r < 0)
		return r;
	DIR *d = opendir(proc);
	if (!d)
		return 0;
	int found = 0;
	size_t used = 0;
	bool truncated = false;
	struct dirent *e;
	char self_name[32];
	snprintf(self_name, sizeof(self_name), "%ld", (long)self);
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]) || strcmp(e->d_name, self_name) == 0 ||
		    !has_open(proc, e->d_name, real))
			continue;
		char comm[64], cgroup[1024], unit[256], one[400];
		read_small(proc, e->d_name, "comm", comm, sizeof(comm));
		read_small(proc, e->d_name, "cgroup", cgroup, sizeof(cgroup));
		holder_unit_from_cgroup(cgroup, unit, sizeof(unit));
		int w = snprintf(one, sizeof(one), "%sPID %s%s%s%s%s%s", found ? ", " : "", e->d_name,
				 comm[0] ? " " : "", comm, unit[0] ? " (" : "", unit, unit[0] ? ")" : "");
		found++;
		if (w < 0)
			continue;
		/* room is kept for ", …" after each, in case the next does not fit */
		if (!truncated && used + (size_t)w + STRLEN(", …") < len) {
			memcpy(buf + used, one, (size_t)w + 1);
			used += (size_t)w;
		} else if (!truncated) {
			const char *more = used ? ", …" : "…";
			snprintf(buf + used, len - used, "%s", more);
			used += strlen(more);
			truncated = true;
		}
	}
	closedir(d);
	return found;
}

int media_holders(const char *dev_dir, const char *proc, pid_t self, char *buf, size_t len)
{
	buf[0] = '\0';
	struct dirent **names = NULL;
	int n = scandir(dev_dir, &names, NULL, alphasort);
	if (n < 0)
		return 0;
	int held = 0;
	size_t used = 0;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char path[PATH_MAX], who[300];
		if (strncmp(name, "media", 5) == 0 && isdigit((unsigned char)name[5])) {
			snprintf(path, sizeof(path), "%s/%s", dev_dir, name);
			if (device_holders(proc, path, self, who, sizeof(who)) > 0) {
				int w = snprintf(buf + used, len - used, "%s%s held by %s", held ? "; " : "",
						 path, who);
				if (w > 0)
					used = (size_t)w < len - used ? used + (size_t)w : len - 1;
				held++;
			}
		}
		free(names[i]);
	}
	free(names);
	return held;
}
