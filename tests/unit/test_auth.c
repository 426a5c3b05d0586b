/* Unit tests for HTTP Basic authentication's pure part (src/http/auth.c): the --auth-file's
 * lines, the Authorization header, user lookup, --auth-exempt and the failed-login slow-down. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mjpegd/http/auth.h"

#define SEC 1000000000ULL
#define YESCRYPT "$y$j9T$O4Wmk.FMmYd2KAcH0b88B1$wuh5lqreqOzKYd/vBNUnpn3AfbDH.9xVQ9Q8gKRGtFD"
#define BCRYPT_B "$2b$05$Fyx90DIlGNBRFa48u8v7a.tXu4X.tJIf9mE7DifwJVOt3WmBw/dqW"
#define BCRYPT_Y "$2y$05$I9sYuokVQ6yasZJEWpsWkOOpicW0ZLWD1SJUspyMBkZr2xY61mDHK"
#define SHA512 "$6$5TKI9bwkGYtrnRFx$emIdi0hqsPHxlhD0.VgJjnHAiGnmt.DRJwPlrr2xoT3mC3rTWtX/rGebOtxK" \
	       "dLAcwokgl3xY8vWAIgHxNsaJT1"

static int parse(const char *text, struct auth_users **u, char *err)
{
	return auth_users_parse(text, strlen(text), "users", u, err, 256);
}

static void test_file_accepts_the_four_schemes(void **state)
{
	(void)state;
	struct auth_users *u = NULL;
	char err[256] = "";
	const char *text = "# comment\n\n  \nalice:" YESCRYPT "\r\nbob:" BCRYPT_B "\ncarol:" BCRYPT_Y
			   "\ndave:" SHA512;
	assert_int_equal(parse(text, &u, err), 0);
	assert_int_equal(u->n, 4);
	assert_string_equal(u->user[0].name, "alice");
	assert_string_equal(u->user[0].hash, YESCRYPT); /* the CR is not part of the hash */
	assert_string_equal(u->user[3].name, "dave");
	assert_string_equal(u->user[3].hash, SHA512);
	free(u);
}

static void expect_refused(const char *text, const char *want)
{
	struct auth_users *u = NULL;
	char err[256] = "";
	if (parse(text, &u, err) != -EINVAL)
		fail_msg("'%s' was not refused", text);
	assert_null(u);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_file_refusals_name_the_line(void **state)
{
	(void)state;
	/* Plain text, and schemes that are fast to crack. */
	expect_refused("alice:" YESCRYPT "\nbob:secret\n", "users:2: user 'bob': not a yescrypt");
	expect_refused("bob:$1$abcdefgh$0123456789012345678901\n", "users:1: user 'bob': not a");
	expect_refused("bob:$apr1$abc$def\n", "users:1:");
	expect_refused("bob:$5$abc$def\n", "users:1:");
	expect_refused("bob:$2a$05$Fyx90DIlGNBRFa48u8v7a.tXu4X.tJIf9mE7DifwJVOt3WmBw/dqW\n",
		       "users:1:");
	/* The right prefix but not a hash libcrypt can use. */
	expect_refused("\n\nbob:$y$\n", "users:3: user 'bob': a malformed hash");
	expect_refused("bob:$2b$99$short\n", "users:1: user 'bob': a malformed hash");
	expect_refused("no colon here\n", "users:1: expected 'user:hash'");
	expect_refused(":" YESCRYPT "\n", "users:1: empty user name");
	expect_refused("bob:\n", "users:1: user 'bob': no hash");
	expect_refused("b b:" YESCRYPT "\n", "users:1: user name with a space");
	expect_refused("bob:" YESCRYPT "\nbob:" BCRYPT_B "\n", "users:2: user 'bob' listed twice");
	expect_refused("# only comments\n\n", "users: no 'user:hash' line");
	expect_refused("", "no 'user:hash' line");
	char longname[AUTH_USER_MAX + 200];
	memset(longname, 'x', AUTH_USER_MAX + 1);
	strcpy(longname + AUTH_USER_MAX + 1, ":" SHA512);
	expect_refused(longname, "users:1: user name longer than 64 bytes");
	struct auth_users *u = NULL;
	char err[256];
	assert_int_equal(auth_users_parse("a:\0b", 4, "users", &u, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NUL"));
}

static void test_find_user(void **state)
{
	(void)state;
	struct auth_users *u = NULL;
	char err[256];
	assert_int_equal(parse("alice:" YESCRYPT "\nal:" SHA512 "\n", &u, err), 0);
	assert_ptr_equal(auth_users_find(u, "alice", 5), &u->user[0]);
	assert_ptr_equal(auth_users_find(u, "al", 2), &u->user[1]);
	assert_null(auth_users_find(u, "ali", 3));
	assert_null(auth_users_find(u, "alice2", 6));
	assert_null(auth_users_find(u, "Alice", 5));
	assert_null(auth_users_find(u, "", 0));
	/* A name with a NUL in it matches nothing, not its prefix. */
	assert_null(auth_users_find(u, "al\0ce", 5));
	char big[AUTH_USER_MAX + 10];
	memset(big, 'a', sizeof(big));
	assert_null(auth_users_find(u, big, sizeof(big)));
	free(u);
}

static struct http_str str(const char *s)
{
	return (struct http_str){ s, strlen(s) };
}

static int basic(const char *value, char *user, char *password)
{
	size_t ulen = 0;
	int r = auth_parse_basic(str(value), user, AUTH_USER_MAX + 1, &ulen, password,
				 AUTH_PASSWORD_MAX + 1);
	if (r == 0)
		assert_int_equal(ulen, strlen(user));
	return r;
}

static void test_authorization_header(void **state)
{
	(void)state;
	char user[AUTH_USER_MAX + 1], pw[AUTH_PASSWORD_MAX + 1];
	/* RFC 7617's example: Aladdin / open sesame. */
	assert_int_equal(basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", user, pw), 0);
	assert_string_equal(user, "Aladdin");
	assert_string_equal(pw, "open sesame");
	/* The scheme is case-insensitive; extra spaces; padding may be left out. */
	assert_int_equal(basic("bAsIc   QWxhZGRpbjpvcGVuIHNlc2FtZQ", user, pw), 0);
	assert_string_equal(pw, "open sesame");
	/* The password may contain ':' (only the first one splits) and may be empty. */
	assert_int_equal(basic("Basic dTphOmI=", user, pw), 0); /* u:a:b */
	assert_string_equal(user, "u");
	assert_string_equal(pw, "a:b");
	assert_int_equal(basic("Basic dTo=", user, pw), 0); /* u: */
	assert_string_equal(pw, "");
	/* UTF-8 passes through as bytes. */
	assert_int_equal(basic("Basic dXNlcjpww6Rzcw==", user, pw), 0); /* user:päss */
	assert_string_equal(pw, "p\xc3\xa4ss");

	assert_int_equal(basic("Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ==", user, pw), -EINVAL);
	assert_int_equal(basic("Basic", user, pw), -EINVAL);
	assert_int_equal(basic("BasicQWxhZGRpbjpvcGVuIHNlc2FtZQ==", user, pw), -EINVAL);
	assert_int_equal(basic("Basic QWxhZGRpbg==", user, pw), -EINVAL);      /* no ':' */
	assert_int_equal(basic("Basic QWxh*GRpbjpvcGVu", user, pw), -EINVAL);   /* not base64 */
	assert_int_equal(basic("Basic QWxhZ", user, pw), -EINVAL);              /* 5 chars */
	assert_int_equal(basic("Basic dQB4OnB3", user, pw), -EINVAL);           /* u\0x:pw */
	/* Longer than the buffers: refused, not cut. */
	char big[2000] = "Basic ";
	memset(big + 6, 'Q', 1200);
	big[1206] = '\0';
	assert_int_equal(basic(big, user, pw), -EINVAL);
}

static void test_exempt_paths(void **state)
{
	(void)state;
	assert_true(auth_path_exempt("/metrics", "/metrics", 8));
	assert_true(auth_path_exempt("/a,/metrics", "/metrics", 8));
	assert_false(auth_path_exempt("/metrics", "/metric", 7));
	assert_false(auth_path_exempt("/metrics", "/metrics/x", 10));
	assert_false(auth_path_exempt("", "/", 1));
	assert_int_equal(auth_exempt_check("/metrics,/status"), 0);
	assert_int_equal(auth_exempt_check("metrics"), -EINVAL);
	assert_int_equal(auth_exempt_check("/a,,/b"), -EINVAL);
	assert_int_equal(auth_exempt_check("/a, /b"), -EINVAL);
	assert_int_equal(auth_exempt_check("/a?x=1"), -EINVAL);
	assert_int_equal(auth_exempt_check("/a,"), -EINVAL);
}

static void test_throttle_grows_and_decays(void **state)
{
	(void)state;
	static struct auth_throttle t;
	auth_throttle_init(&t, 42);
	const unsigned char a[4] = { 192, 168, 1, 7 }, b[4] = { 192, 168, 1, 8 };
	uint64_t now = 100 * SEC;
	for (int i = 0; i < AUTH_THROTTLE_FREE; i++) {
		assert_int_equal(auth_throttle_delay_ms(&t, a, 4, now), 0);
		auth_throttle_failed(&t, a, 4, now);
	}
	assert_int_equal(auth_throttle_delay_ms(&t, a, 4, now), AUTH_THROTTLE_BASE_MS);
	auth_throttle_failed(&t, a, 4, now);
	assert_int_equal(auth_throttle_delay_ms(&t, a, 4, now), 2 * AUTH_THROTTLE_BASE_MS);
	for (int i = 0; i < 100; i++)
		auth_throttle_failed(&t, a, 4, now);
	assert_int_equal(auth_throttle_delay_ms(&t, a, 4, now), AUTH_THROTTLE_MAX_MS);
	/* Another address is not slowed (unless it shares the bucket: not with this seed). */
	assert_int_equal(auth_throttle_delay_ms(&t, b, 4, now), 0);
	/* parallel guesses from one address: each takes the next slot, one delay apart */
	static struct auth_throttle p;
	auth_throttle_init(&p, 7);
	for (int i = 0; i < AUTH_THROTTLE_FREE + 5; i++)
		auth_throttle_failed(&p, a, 4, now); /* 250 ms << 5 = 8000 ms from now on */
	for (unsigned k = 1; k <= 4; k++)
		assert_int_equal(auth_throttle_delay_ms(&p, a, 4, now), k * AUTH_THROTTLE_MAX_MS);
	/* before the slots taken are over, a new request waits for the end of them (now + 40 s) */
	assert_int_equal(auth_throttle_delay_ms(&p, a, 4, now + 20ULL * 1000000000ULL),
			 20000);
	/* after them, one delay as before (two failures forgotten after 60 s: 2000 ms) */
	assert_int_equal(auth_throttle_delay_ms(&p, a, 4, now + 60ULL * 1000000000ULL), 2000);
	/* Failures are forgotten one per decay period: 64 failures (the cap) are gone after
	 * 64 periods. */
	assert_int_equal(auth_throttle_delay_ms(&t, a, 4, now + 60 * AUTH_THROTTLE_DECAY_NS),
			 AUTH_THROTTLE_BASE_MS << 1);
	assert_int_equal(auth_throttle_delay_ms(&t, a, 4, now + 64 * AUTH_THROTTLE_DECAY_NS), 0);
	/* A clock going backwards changes nothing. */
	auth_throttle_failed(&t, a, 4, now);
	assert_int_equal(auth_throttle_delay_ms(&t, a, 4, now - SEC), 0);
}

static void test_throttle_state_is_bounded(void **state)
{
	(void)state;
	static struct auth_throttle t;
	auth_throttle_init(&t, 7);
	/* A million addresses fit in the same table: its size is fixed at build time. */
	for (uint32_t i = 0; i < 1000000; i++)
		auth_throttle_failed(&t, &i, sizeof(i), SEC);
	unsigned used = 0;
	for (size_t i = 0; i < AUTH_THROTTLE_BUCKETS; i++)
		used += t.bucket[i].failures > 0;
	assert_int_equal(used, AUTH_THROTTLE_BUCKETS);
	assert_true(sizeof(t) < 8 * 1024);
}

static void test_equal(void **state)
{
	(void)state;
	assert_true(auth_equal("abc", "abc", 3));
	assert_false(auth_equal("abc", "abd", 3));
	assert_true(auth_equal("", "", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_accepts_the_four_schemes),
		cmocka_unit_test(test_file_refusals_name_the_line),
		cmocka_unit_test(test_find_user),
		cmocka_unit_test(test_authorization_header),
		cmocka_unit_test(test_exempt_paths),
		cmocka_unit_test(test_throttle_grows_and_decays),
		cmocka_unit_test(test_throttle_state_is_bounded),
		cmocka_unit_test(test_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
