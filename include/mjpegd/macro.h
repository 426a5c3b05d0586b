/* Small helpers every module may use, in the style of systemd's macro.h: the containing struct of
 * an embedded member, the length of an array, and cleanup attributes so that error paths cannot
 * leak an fd or a buffer. */
#ifndef MJPEGD_MACRO_H
#define MJPEGD_MACRO_H

#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The struct of type that has member at ptr (a struct loop_op embedded in its owner). */
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* Length of a string literal, counted by the compiler (a pointer does not compile). */
#define STRLEN(s) (sizeof("" s "") - 1)

/* Elements of an array (not a pointer). */
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* The value of a hexadecimal digit (either case), or -1. */
static inline int unhexchar(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline void close_fdp(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* int fd _cleanup_close_ = open(…): closed when it leaves scope unless negative (set it to -1 to
 * hand it over). */
#define _cleanup_close_ __attribute__((cleanup(close_fdp)))
/* T *p _cleanup_free_ = malloc(…): freed when it leaves scope (set it to NULL to hand it over). */
#define _cleanup_free_ __attribute__((cleanup(freep)))
/* FILE *f _cleanup_fclose_ = fopen(…): closed when it leaves scope unless NULL. */
#define _cleanup_fclose_ __attribute__((cleanup(fclosep)))
/* DIR *d _cleanup_closedir_ = opendir(…): closed when it leaves scope unless NULL. */
#define _cleanup_closedir_ __attribute__((cleanup(closedirp)))

#endif
