/* Where the HTTP server listens (--listen): the server's own type for an address, bound by
 * src/http/listen.c and described in words by src/http/listen_address.c. Config parses the
 * words into it (src/config/parse.c); nothing here knows the configuration. */
#ifndef MJPEGD_HTTP_LISTEN_ADDRESS_H
#define MJPEGD_HTTP_LISTEN_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#define LISTEN_HOST_MAX 256
#define LISTEN_UNIX_PATH_MAX 108 /* sun_path, NUL included */
#define LISTEN_GROUP_MAX 64

/* One --listen: a TCP address, or a unix socket with its file's mode and group. */
struct listen_address {
	bool is_unix;
	char host[LISTEN_HOST_MAX]; /* TCP: without brackets, what getaddrinfo() takes */
	unsigned port;   /* TCP: 0..65535 (0: the kernel picks, logged at start) */
	char path[LISTEN_UNIX_PATH_MAX]; /* unix: absolute path of the socket */
	unsigned mode;   /* unix: file mode, default 0660 */
	char group[LISTEN_GROUP_MAX]; /* unix: group of the socket file ("" = the process's) */
};

/* "127.0.0.1:8000", "[::]:8000", "unix:/run/mjpegd/mjpegd.sock,mode=0660,group=www-data". */
void listen_address_describe(const struct listen_address *l, char *buf, size_t len);

#endif
