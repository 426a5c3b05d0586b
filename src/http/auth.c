/* HTTP Basic authentication, the pure part; contract in include/mjpegd/http/auth.h. */
#include <crypt.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mjpegd/comma_list.h"
#include "mjpegd/log.h"
#include "mjpegd/http/auth.h"
#include "mjpegd/macro.h"

/* The schemes mkpasswd (yescrypt, sha512-crypt) and htpasswd -B (bcrypt) write. Older ones
 * (MD5-crypt "$1$", htpasswd's default "$apr1$", DES) are refused: fast to brute-force. */
static const char *const accepted_prefixes[] = { "$y$", "$2b$", "$2y$", "$6$" };

static bool hash_scheme_accepted(const char *hash)
{
	for (size_t i = 0; i < sizeof(accepted_prefixes) / sizeof(accepted_prefixes[0]); i++)
		if (strncmp(hash, accepted_prefixes[i], strlen(accepted_prefixes[i])) == 0)
			return true;
	return false;
}

/* The shape of a whole hash, not only of its setting (crypt_checksalt() takes "$y$" alone):
 * bcrypt is 60 characters; yescrypt and sha512-crypt end in a "$" and a checksum of 43 and 86
 * characters. A truncated line then fails at load, not at every login. */
static bool hash_complete(const char *hash)
{
	if (hash[1] == '2')
		return strlen(hash) == 60;
	const char *last = strrchr(hash, '$');
	size_t tail = strlen(last + 1), want = hash[1] == 'y' ? 43 : 86;
	size_t dollars = 0;
	for (const char *p = hash; *p; p++)
		dollars += *p == '$';
	return dollars >= (hash[1] == 'y' ? 4u : 3u) && tail == want;
}

int auth_users_parse(const char *text, size_t len, const char *origin, struct auth_users **out,
		     char *err, size_t errlen)
{
	/* Two passes: count the lines that could be users, then fill. */
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			lines++;
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: not a text file (contains a NUL byte)", origin);
		return -EINVAL;
	}
	size_t cap = lines < AUTH_USERS_MAX ? lines : AUTH_USERS_MAX;
	struct auth_users *u = calloc(1, sizeof(*u) + cap * sizeof(u->user[0]));
	if (!u)
		return -ENOMEM;

	unsigned line = 0;
	size_t pos = 0;
	int r = 0;
	while (pos < len) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		const char *end = nl ? nl : text + len;
		pos = (size_t)(end - text) + (nl ? 1 : 0);
		line++;
		if (end > start && end[-1] == '\r')
			end--;
		const char *p = start;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end || *p == '#')
			continue;
		const char *colon = memchr(start, ':', (size_t)(end - start));
		if (!colon) {
			r = why_at_line(err, errlen, origin, line, "expected 'user:hash'");
			break;
		}
		size_t name_len = (size_t)(colon - start);
		const char *hash = colon + 1;
		size_t hash_len = (size_t)(end - hash);
		if (name_len == 0) {
			r = why_at_line(err, errlen, origin, line, "empty user name");
			break;
		}
		if (name_len > AUTH_USER_MAX) {
			r = why_at_line(err, errlen, origin, line, "user name longer than %d bytes",
				       AUTH_USER_MAX);
			break;
		}
		bool name_ok = true;
		for (size_t i = 0; i < name_len; i++)
			if ((unsigned char)start[i] < 0x21 || start[i] == 0x7f)
				name_ok = false;
		if (!name_ok) {
			r = why_at_line(err, errlen, origin, line,
				       "user name with a space or control character");
			break;
		}
		if (hash_len == 0 || hash_len > AUTH_HASH_MAX) {
			r = why_at_line(err, errlen, origin, line, "user '%.*s': %s", (int)name_len,
				       start, hash_len ? "hash too long" : "no hash");
			break;
		}
		char h[AUTH_HASH_MAX + 1];
		memcpy(h, hash, hash_len);
		h[hash_len] = '\0';
		if (!hash_scheme_accepted(h)) {
			r = why_at_line(err, errlen, origin, line,
				       "user '%.*s': not a yescrypt ($y$), bcrypt ($2b$, $2y$) or "
				       "sha512-crypt ($6$) hash; plain-text passwords and other "
				       "schemes are refused (make one with mkpasswd or htpasswd -B)",
				       (int)name_len, start);
			break;
		}
		/* A hash whose parameters libcrypt cannot use would fail every login. */
		if (!hash_complete(h) || crypt_checksalt(h) != CRYPT_SALT_OK) {
			r = why_at_line(err, errlen, origin, line,
				       "user '%.*s': a malformed hash or one this libcrypt cannot use",
				       (int)name_len, start);
			break;
		}
		if (auth_users_find(u, start, name_len)) {
			r = why_at_line(err, errlen, origin, line, "user '%.*s' listed twice",
				       (int)name_len, start);
			break;
		}
		if (u->n == cap) {
			r = why_at_line(err, errlen, origin, line, "more than %d users", AUTH_USERS_MAX);
			break;
		}
		struct auth_user *e = &u->user[u->n++];
		memcpy(e->name, start, name_len);
		e->name[name_len] = '\0';
		e->name_len = name_len;
		memcpy(e->hash, h, hash_len + 1);
	}
	if (r == 0 && u->n == 0) {
		snprintf(err, errlen, "%s: no 'user:hash' line", origin);
		r = -EINVAL;
	}
	if (r < 0) {
		free(u);
		return r;
	}
	*out = u;
	return 0;
}

bool auth_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char diff = 0;
	for (size_t i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

const struct auth_user *auth_users_find(const struct auth_users *users, const char *name,
					size_t len)
{
	if (len > AUTH_USER_MAX)
		return NULL;
	/* The name padded to the fixed width: every comparison reads the same bytes. */
	char padded[AUTH_USER_MAX + 1] = { 0 };
	memcpy(padded, name, len);
	const struct auth_user *found = NULL;
	for (size_t i = 0; i < users->n; i++) {
		char other[AUTH_USER_MAX + 1] = { 0 };
		memcpy(other, users->user[i].name, users->user[i].name_len);
		bool same = auth_equal(padded, other, sizeof(padded)) &
			    (users->user[i].name_len == len);
		if (same)
			found = &users->user[i];
	}
	return found;
}

static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 with '=' padding (RFC 4648 §4), as RFC 7617 asks; padding may be left out. */
static int base64_decode(const char *in, size_t len, unsigned char *out, size_t cap,
			 size_t *out_len)
{
	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -EINVAL;
	size_t n = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = base64_value((unsigned char)in[i]);
		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -EINVAL;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*out_len = n;
	return 0;
}

int auth_parse_basic(struct http_str value, char *user, size_t user_cap, size_t *user_len,
		     char *password, size_t password_cap)
{
	const char *p = value.p, *end = value.p + value.len;
	const size_t scheme = STRLEN("Basic");
	if (value.len <= scheme || strncasecmp(p, "Basic", scheme) != 0 ||
	    (p[scheme] != ' ' && p[scheme] != '\t'))
		return -EINVAL;
	p += scheme + 1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	unsigned char buf[AUTH_USER_MAX + AUTH_PASSWORD_MAX + 2];
	size_t n = 0;
	int r = base64_decode(p, (size_t)(end - p), buf, sizeof(buf), &n);
	if (r < 0)
		goto out;
	r = -EINVAL;
	unsigned char *colon = memchr(buf, ':', n);
	if (!colon || memchr(buf, '\0', n))
		goto out;
	size_t ulen = (size_t)(colon - buf), plen = n - ulen - 1;
	if (ulen >= user_cap || plen >= password_cap)
		goto out;
	memcpy(user, buf, ulen);
	user[ulen] = '\0';
	*user_len = ulen;
	memcpy(password, colon + 1, plen);
	password[plen] = '\0';
	r = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	return r;
}

bool auth_path_exempt(const char *list, const char *path, size_t path_len)
{
	const char *item;
	size_t n;
	for (struct comma_list l = COMMA_LIST(list); comma_list_next(&l, &item, &n);)
		if (n == path_len && memcmp(item, path, n) == 0)
			return true;
	return false;
}

int auth_exempt_check(const char *list)
{
	const char *item;
	size_t n;
	for (struct comma_list l = COMMA_LIST(list); comma_list_next(&l, &item, &n);) {
		if (n == 0 || item[0] != '/')
			return -EINVAL;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)item[i] <= 0x20 || item[i] == '?' || item[i] == 0x7f)
				return -EINVAL;
	}
	return 0;
}

/* ---------------------------------------------------------------- throttle */

void auth_throttle_init(struct auth_throttle *t, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->seed = seed;
}

/* FNV-1a from a secret starting point, then a final mix: an outsider cannot aim at a chosen
 * bucket without the seed. Not a cryptographic MAC; the worst a collision does is share a
 * bucket's slow-down, which is bounded by AUTH_THROTTLE_MAX_MS. */
static struct auth_throttle_bucket *bucket_of(struct auth_throttle *t, const void *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ t->seed;
	const unsigned char *k = key;
	for (size_t i = 0; i < len; i++) {
		h ^= k[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return &t->bucket[h % AUTH_THROTTLE_BUCKETS];
}

static void bucket_decay(struct auth_throttle_bucket *b, uint64_t now_ns)
{
	if (!b->failures || now_ns <= b->last_ns)
		return;
	uint64_t forgiven = (now_ns - b->last_ns) / AUTH_THROTTLE_DECAY_NS;
	if (forgiven >= b->failures) {
		b->failures = 0;
		return;
	}
	b->failures -= (uint32_t)forgiven;
	b->last_ns += forgiven * AUTH_THROTTLE_DECAY_NS;
}

unsigned auth_throttle_delay_ms(struct auth_throttle *t, const void *key, size_t len,
				uint64_t now_ns)
{
	struct auth_throttle_bucket *b = bucket_of(t, key, len);
	bucket_decay(b, now_ns);
	if (b->failures < AUTH_THROTTLE_FREE)
		return 0;
	unsigned shift = b->failures - AUTH_THROTTLE_FREE;
	unsigned ms = shift >= 16 ? AUTH_THROTTLE_MAX_MS : AUTH_THROTTLE_BASE_MS << shift;
	if (ms > AUTH_THROTTLE_MAX_MS)
		ms = AUTH_THROTTLE_MAX_MS;
	uint64_t step = (uint64_t)ms * 1000000ULL;
	uint64_t slot = now_ns + step > b->next_ns ? now_ns + step : b->next_ns;
	b->next_ns = slot + step;
	return (unsigned)((slot - now_ns) / 1000000ULL);
}

void auth_throttle_failed(struct auth_throttle *t, const void *key, size_t len, uint64_t now_ns)
{
	struct auth_throttle_bucket *b = bucket_of(t, key, len);
	bucket_decay(b, now_ns);
	if (b->failures == 0)
		b->last_ns = now_ns;
	if (b->failures < 64)
		b->failures++;
}
