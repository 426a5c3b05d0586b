/* Helpers shared by the test bed's standalone guest programs (tests/vm/tools/NAME.c, each compiled alone
 * by mkinitramfs.sh, statically when it can): fail with a message, ioctl across EINTR, a
 * video4linux node by its sysfs name, a fourcc as text. Header-only: each program is one file. */
#ifndef MJPEGD_TESTS_VM_VMTOOL_H
#define MJPEGD_TESTS_VM_VMTOOL_H

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* "FAIL <message>" on stdout (the guest test's log), exit 1 */
static void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	exit(1);
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;
	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r;
}

/* /dev/NAME of the video4linux node whose /sys/class/video4linux/NAME/name is want */
static bool find_node(const char *want, char *out, size_t n)
{
	DIR *d = opendir("/sys/class/video4linux");
	struct dirent *e;
	if (!d)
		return false;
	while ((e = readdir(d))) {
		char path[300], name[64] = "";
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/video4linux/%s/name", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f))
			name[strcspn(name, "\n")] = 0;
		fclose(f);
		if (!strcmp(name, want)) {
			snprintf(out, n, "/dev/%s", e->d_name);
			closedir(d);
			return true;
		}
	}
	closedir(d);
	return false;
}

static const char *fourcc_str(uint32_t f, char s[5])
{
	for (int i = 0; i < 4; i++)
		s[i] = (char)((f >> (8 * i)) & 0xff);
	s[4] = 0;
	return s;
}

#endif
