/* Stable names of V4L2 cameras; see include/mjpegd/v4l2/stable_id.h. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/macro.h"
#include "mjpegd/v4l2/stable_id.h"

int v4l2_resolve_node(const char *path, char *out, size_t len)
{
	_cleanup_free_ char *real = realpath(path, NULL);
	if (!real)
		return -errno;
	if (strlen(real) >= len)
		return -ENAMETOOLONG;
	snprintf(out, len, "%s", real);
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The links of one directory that resolve to real; adds to out from index n, returns the new
 * count (which goes on past max: the caller learns how many there were). */
static unsigned links_in(const char *dir, const char *real, struct v4l2_stable_link *out,
			 unsigned max, unsigned n)
{
	struct dirent **names = NULL;
	int count = scandir(dir, &names, NULL, NULL);
	if (count < 0)
		return n; /* no such directory: no camera of that kind has links */
	const char **sorted = calloc((size_t)count + 1, sizeof(*sorted));
	if (sorted) {
		for (int i = 0; i < count; i++)
			sorted[i] = names[i]->d_name;
		qsort(sorted, (size_t)count, sizeof(*sorted), compare_names);
		for (int i = 0; i < count; i++) {
			if (sorted[i][0] == '.')
				continue;
			char link[V4L2_STABLE_PATH_MAX], target[PATH_MAX];
			int w = snprintf(link, sizeof(link), "%s/%s", dir, sorted[i]);
			if (w < 0 || (size_t)w >= sizeof(link))
				continue; /* a name too long to pass as --source anyway */
			if (v4l2_resolve_node(link, target, sizeof(target)) < 0 ||
			    strcmp(target, real) != 0)
				continue;
			if (n < max)
				snprintf(out[n].path, sizeof(out[n].path), "%s", link);
			n++;
		}
		free(sorted);
	}
	for (int i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return n;
}

int v4l2_stable_links(const char *root, const char *node, struct v4l2_stable_link *out,
		      unsigned max)
{
	char real[PATH_MAX], dir[PATH_MAX];
	int r = v4l2_resolve_node(node, real, sizeof(real));
	if (r < 0)
		return r;
	unsigned n = 0;
	static const char *const kinds[] = { "by-id", "by-path" };
	for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
		int w = snprintf(dir, sizeof(dir), "%s/%s", root, kinds[k]);
		if (w < 0 || (size_t)w >= sizeof(dir))
			return -ENAMETOOLONG;
		n = links_in(dir, real, out, max, n);
	}
	return n > INT_MAX ? INT_MAX : (int)n;
}
