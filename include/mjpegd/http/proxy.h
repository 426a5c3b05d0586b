/* --trusted-proxy and X-Forwarded-For: which peers may name the client, and the client they name.
 * Pure (no I/O): unit-tested in tests/unit/test_proxy.c. */
#ifndef MJPEGD_HTTP_PROXY_H
#define MJPEGD_HTTP_PROXY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "mjpegd/http/parser.h"

#define PROXY_TRUSTED_MAX 8

struct proxy_trusted {
	unsigned n;
	struct in6_addr addr[PROXY_TRUSTED_MAX]; /* IPv4 as IPv4-mapped IPv6 */
	unsigned char prefix[PROXY_TRUSTED_MAX]; /* bits of addr that must match: 128 one address */
	bool unix_peers; /* "unix": clients of a unix socket (a proxy on this machine) */
};

/* "ADDR[,ADDR]" (IPv4, IPv6 without brackets, either with "/BITS" for a network whose host bits
 * are 0, or "unix"; at most PROXY_TRUSTED_MAX) into out. "" gives an empty list. Returns 0 or
 * -EINVAL. */
int proxy_trusted_parse(const char *list, struct proxy_trusted *out);

/* Is the peer (from getpeername) one of the list? */
bool proxy_trusted_has(const struct proxy_trusted *t, const struct sockaddr *peer);

/* The last hop of an X-Forwarded-For value ("client, proxy1, proxy2" → "proxy2"): the address
 * the trusted proxy itself saw, the only one it vouches for (the ones before it came from the
 * client and can be anything). Written in its canonical text form into out (INET6_ADDRSTRLEN);
 * key/key_len get the address for the failed-login slow-down (IPv4: 4 bytes; IPv6: its /64).
 * Returns 0, or -EINVAL when the last hop is not an IP address. */
int proxy_forwarded_for(struct http_str value, char *out, size_t cap, unsigned char key[16],
			size_t *key_len);

#endif
