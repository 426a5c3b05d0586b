/* --trusted-proxy and X-Forwarded-For; contract in include/mjpegd/http/proxy.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/comma_list.h"
#include "mjpegd/http/proxy.h"

static bool parse_addr(const char *s, struct in6_addr *out)
{
	struct in_addr v4;
	if (inet_pton(AF_INET, s, &v4) == 1) {
		memset(out, 0, sizeof(*out));
		out->s6_addr[10] = 0xff;
		out->s6_addr[11] = 0xff;
		memcpy(&out->s6_addr[12], &v4, 4);
		return true;
	}
	return inet_pton(AF_INET6, s, out) == 1;
}

/* "ADDR" or "ADDR/BITS" into addr and its prefix length in the IPv6 (IPv4-mapped) space. The
 * host bits must be 0: 10.1.2.3/8 is refused as a typing error, not widened silently; so is /0,
 * which would let every client choose the address it is logged and slowed down by. */
static bool parse_net(char *s, struct in6_addr *addr, unsigned char *prefix)
{
	char *slash = strchr(s, '/');
	unsigned long bits = 128;
	if (slash) {
		char *end;
		*slash = '\0';
		if (slash[1] < '0' || slash[1] > '9')
			return false;
		bits = strtoul(slash + 1, &end, 10);
		if (*end || end - (slash + 1) > 3)
			return false;
	}
	if (!parse_addr(s, addr))
		return false;
	bool v4 = strchr(s, ':') == NULL;
	if (v4 && slash) {
		if (bits == 0 || bits > 32)
			return false;
		bits += 96;
	}
	if (bits == 0 || bits > 128)
		return false;
	for (unsigned i = (unsigned)bits; i < 128; i++)
		if (addr->s6_addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	*prefix = (unsigned char)bits;
	return true;
}

int proxy_trusted_parse(const char *list, struct proxy_trusted *out)
{
	memset(out, 0, sizeof(*out));
	const char *item;
	size_t n;
	for (struct comma_list l = COMMA_LIST(list); comma_list_next(&l, &item, &n);) {
		char one[INET6_ADDRSTRLEN + 4];
		if (n == 0 || n >= sizeof(one))
			return -EINVAL;
		memcpy(one, item, n);
		one[n] = '\0';
		if (!strcmp(one, "unix")) {
			out->unix_peers = true;
		} else {
			if (out->n == PROXY_TRUSTED_MAX ||
			    !parse_net(one, &out->addr[out->n], &out->prefix[out->n]))
				return -EINVAL;
			out->n++;
		}
	}
	return 0;
}

static bool in_net(const struct in6_addr *a, const struct in6_addr *net, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;
	if (memcmp(a->s6_addr, net->s6_addr, whole))
		return false;
	if (!rest)
		return true;
	unsigned char mask = (unsigned char)(0xff00 >> rest);
	return (a->s6_addr[whole] & mask) == net->s6_addr[whole];
}

bool proxy_trusted_has(const struct proxy_trusted *t, const struct sockaddr *peer)
{
	struct in6_addr a;
	if (peer->sa_family == AF_UNIX)
		return t->unix_peers;
	if (peer->sa_family == AF_INET) {
		memset(&a, 0, sizeof(a));
		a.s6_addr[10] = 0xff;
		a.s6_addr[11] = 0xff;
		memcpy(&a.s6_addr[12], &((const struct sockaddr_in *)peer)->sin_addr, 4);
	} else if (peer->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)peer)->sin6_addr;
	} else {
		return false;
	}
	for (unsigned i = 0; i < t->n; i++)
		if (in_net(&a, &t->addr[i], t->prefix[i]))
			return true;
	return false;
}

int proxy_forwarded_for(struct http_str value, char *out, size_t cap, unsigned char key[16],
			size_t *key_len)
{
	const char *start = value.p, *end = value.p + value.len;
	const char *comma = end;
	while (comma > start && comma[-1] != ',')
		comma--;
	start = comma;
	while (start < end && (*start == ' ' || *start == '\t'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	char one[INET6_ADDRSTRLEN];
	size_t n = (size_t)(end - start);
	if (n == 0 || n >= sizeof(one))
		return -EINVAL;
	memcpy(one, start, n);
	one[n] = '\0';
	struct in6_addr a;
	if (!parse_addr(one, &a))
		return -EINVAL;
	if (IN6_IS_ADDR_V4MAPPED(&a)) {
		if (!inet_ntop(AF_INET, &a.s6_addr[12], out, (socklen_t)cap))
			return -EINVAL;
		memcpy(key, &a.s6_addr[12], 4);
		*key_len = 4;
	} else {
		if (!inet_ntop(AF_INET6, &a, out, (socklen_t)cap))
			return -EINVAL;
		memcpy(key, a.s6_addr, 8);
		*key_len = 8;
	}
	return 0;
}
