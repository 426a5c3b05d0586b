/* HTTP Basic authentication: the --auth-file's users, the Authorization header, and the
 * slow-down of failed attempts. Pure logic (no I/O, no threads, the clock passed in), so all of
 * it is unit-tested; src/http/auth_worker.c verifies hashes off the event loop and
 * src/http/server.c wires both to clients.
 *
 * Ownership: an auth_users is allocated by auth_users_parse() and owned by whoever holds the
 * pointer (main at load, then the server, which frees the old one when SIGHUP swaps in a new
 * one). A verification job copies the hash it needs, so a swap never pulls memory from under
 * the worker. */
#ifndef MJPEGD_HTTP_AUTH_H
#define MJPEGD_HTTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mjpegd/http/parser.h"

#define AUTH_USER_MAX 64      /* bytes of a user name, without the NUL */
#define AUTH_HASH_MAX 256     /* bytes of a crypt(5) hash, without the NUL */
#define AUTH_PASSWORD_MAX 256 /* bytes of a password, without the NUL */
#define AUTH_USERS_MAX 1024
#define AUTH_FILE_MAX (256 * 1024)

struct auth_user {
	char name[AUTH_USER_MAX + 1];
	size_t name_len;
	char hash[AUTH_HASH_MAX + 1];
};

struct auth_users {
	size_t n;
	struct auth_user user[]; /* n entries */
};

/* Parses "user:hash" lines ('#' comment lines and blank lines skipped, CR before LF allowed).
 * Accepted hashes: yescrypt "$y$", bcrypt "$2b$" / "$2y$" (htpasswd -B), sha512-crypt "$6$".
 * Plain text, other schemes, a malformed line, a duplicate user or no user at all are refused
 * with a message in err naming origin and the line. Returns 0 with *out set (free() it), or
 * -EINVAL / -ENOMEM. */
int auth_users_parse(const char *text, size_t len, const char *origin, struct auth_users **out,
		     char *err, size_t errlen);

/* Reads path (a regular file, at most AUTH_FILE_MAX bytes; a warning when every user may read
 * it) and parses it. Errors name the file (and the line) in err. src/http/auth_file.c: I/O. */
int auth_users_load(const char *path, struct auth_users **out, char *err, size_t errlen);

/* The user called name[0..len), or NULL. Every entry is compared, each in time independent of
 * where the names differ, so the answer's timing does not tell which prefix of a name exists. */
const struct auth_user *auth_users_find(const struct auth_users *users, const char *name,
					size_t len);

/* Reads an Authorization header value "Basic BASE64(user:password)" (scheme case-insensitive).
 * user and password are NUL-terminated; the caller wipes password after use.
 * Returns 0, or -EINVAL when not Basic, not base64, without ':' or too long for the buffers. */
int auth_parse_basic(struct http_str value, char *user, size_t user_cap, size_t *user_len,
		     char *password, size_t password_cap);

/* Constant-time comparison of two byte strings of the same length. */
bool auth_equal(const void *a, const void *b, size_t len);

/* --auth-exempt: is path one of the comma-separated paths in list (exact matches)? */
bool auth_path_exempt(const char *list, const char *path, size_t path_len);
/* Checks an --auth-exempt value: comma-separated absolute paths without spaces or '?'. */
int auth_exempt_check(const char *list);

/* Failed attempts, per client address, in a fixed table: addresses are hashed (with a per-process
 * seed) into AUTH_THROTTLE_BUCKETS buckets; a bucket forgets one failure every
 * AUTH_THROTTLE_DECAY_NS. The first AUTH_THROTTLE_FREE failures cost nothing; after that each
 * request with credentials from the bucket waits AUTH_THROTTLE_BASE_MS, doubling per failure,
 * up to AUTH_THROTTLE_MAX_MS. Memory is the table, whatever the number of addresses. */
#define AUTH_THROTTLE_BUCKETS 256
#define AUTH_THROTTLE_FREE 3
#define AUTH_THROTTLE_BASE_MS 250
#define AUTH_THROTTLE_MAX_MS 8000
#define AUTH_THROTTLE_DECAY_NS (30ULL * 1000000000ULL)

struct auth_throttle_bucket {
	uint32_t failures;
	uint64_t last_ns;
	uint64_t next_ns; /* the earliest a throttled check from the bucket may start */
};

struct auth_throttle {
	uint64_t seed;
	struct auth_throttle_bucket bucket[AUTH_THROTTLE_BUCKETS];
};

void auth_throttle_init(struct auth_throttle *t, uint64_t seed);
/* How long a request with credentials from key (an address; IPv6 clients by their /64) waits
 * before its password is checked, and that slot is taken: throttled checks from one bucket are
 * spaced by the delay however many connections ask at once (many parallel guesses from one
 * address get one try per delay, as one connection would). */
unsigned auth_throttle_delay_ms(struct auth_throttle *t, const void *key, size_t len,
				uint64_t now_ns);
void auth_throttle_failed(struct auth_throttle *t, const void *key, size_t len, uint64_t now_ns);

#endif
