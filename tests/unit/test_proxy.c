/* Unit tests for --trusted-proxy and X-Forwarded-For (src/http/proxy.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>
#include <cmocka.h>

#include "mjpegd/http/proxy.h"

static struct sockaddr_storage v4(const char *s)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	in->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, s, &in->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *s)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	in6->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, s, &in6->sin6_addr), 1);
	return ss;
}

static void test_trusted_list(void **state)
{
	(void)state;
	struct proxy_trusted t;
	assert_int_equal(proxy_trusted_parse("127.0.0.1,::1,unix", &t), 0);
	assert_int_equal(t.n, 2);
	struct sockaddr_storage a = v4("127.0.0.1"), b = v4("127.0.0.2"), c = v6("::1"),
				m = v6("::ffff:127.0.0.1"), d = v6("fe80::1");
	assert_true(proxy_trusted_has(&t, (struct sockaddr *)&a));
	assert_false(proxy_trusted_has(&t, (struct sockaddr *)&b));
	assert_true(proxy_trusted_has(&t, (struct sockaddr *)&c));
	assert_true(proxy_trusted_has(&t, (struct sockaddr *)&m)); /* dual-stack socket */
	assert_false(proxy_trusted_has(&t, (struct sockaddr *)&d));
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	assert_true(proxy_trusted_has(&t, (struct sockaddr *)&un));
	assert_int_equal(proxy_trusted_parse("", &t), 0);
	assert_false(proxy_trusted_has(&t, (struct sockaddr *)&a));
	assert_false(proxy_trusted_has(&t, (struct sockaddr *)&un));
	assert_int_equal(proxy_trusted_parse("127.0.0.1,", &t), -EINVAL);
	assert_int_equal(proxy_trusted_parse("localhost", &t), -EINVAL);
	assert_int_equal(proxy_trusted_parse("10.1.0.0/8", &t), -EINVAL); /* host bits set */
	assert_int_equal(proxy_trusted_parse("10.0.0.0/33", &t), -EINVAL);
	assert_int_equal(proxy_trusted_parse("10.0.0.0/0", &t), -EINVAL);
	assert_int_equal(proxy_trusted_parse("::/0", &t), -EINVAL);
	assert_int_equal(proxy_trusted_parse("10.0.0.0/", &t), -EINVAL);
	assert_int_equal(proxy_trusted_parse("10.0.0.0/+8", &t), -EINVAL);
	assert_int_equal(proxy_trusted_parse("10.0.0.0/8x", &t), -EINVAL);
	assert_int_equal(proxy_trusted_parse("fd00::/129", &t), -EINVAL);
	assert_int_equal(proxy_trusted_parse("fd00::1/8", &t), -EINVAL);
	assert_int_equal(proxy_trusted_parse("[::1]", &t), -EINVAL);
	assert_int_equal(proxy_trusted_parse("1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6,"
					     "7.7.7.7,8.8.8.8,9.9.9.9", &t), -EINVAL);
}

static void test_trusted_networks(void **state)
{
	(void)state;
	struct proxy_trusted t;
	assert_int_equal(proxy_trusted_parse("172.16.0.0/12,fd00::/8,192.168.1.7/32,10.0.0.0/31",
					     &t), 0);
	assert_int_equal(t.n, 4);
	static const struct {
		const char *addr;
		bool v6, trusted;
	} cases[] = {
		{ "172.16.0.1", false, true },	 { "172.31.255.254", false, true },
		{ "172.32.0.1", false, false },	 { "172.15.255.255", false, false },
		{ "::ffff:172.20.1.2", true, true }, /* dual-stack socket */
		{ "192.168.1.7", false, true },	 { "192.168.1.8", false, false },
		{ "10.0.0.1", false, true },	 { "10.0.0.2", false, false },
		{ "fd12:3456::1", true, true },	 { "fe80::1", true, false },
		{ "::1", true, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss = cases[i].v6 ? v6(cases[i].addr) : v4(cases[i].addr);
		if (proxy_trusted_has(&t, (struct sockaddr *)&ss) != cases[i].trusted)
			fail_msg("%s: expected %s", cases[i].addr,
				 cases[i].trusted ? "trusted" : "not trusted");
	}
}

static int xff(const char *value, char *out, unsigned char *key, size_t *key_len)
{
	return proxy_forwarded_for((struct http_str){ value, strlen(value) }, out, 64, key,
				   key_len);
}

static void test_forwarded_for_last_hop(void **state)
{
	(void)state;
	char out[64];
	unsigned char key[16];
	size_t kl = 0;
	assert_int_equal(xff("203.0.113.9", out, key, &kl), 0);
	assert_string_equal(out, "203.0.113.9");
	assert_int_equal(kl, 4);
	assert_memory_equal(key, "\xcb\x00\x71\x09", 4);
	/* What the client wrote comes first and is ignored: only the proxy's own hop counts. */
	assert_int_equal(xff("1.2.3.4, 198.51.100.7,203.0.113.9 ", out, key, &kl), 0);
	assert_string_equal(out, "203.0.113.9");
	assert_int_equal(xff("evil, 2001:db8::1:2", out, key, &kl), 0);
	assert_string_equal(out, "2001:db8::1:2");
	assert_int_equal(kl, 8);
	assert_int_equal(xff("::ffff:10.0.0.1", out, key, &kl), 0);
	assert_string_equal(out, "10.0.0.1");
	/* Not an address: nothing is taken (no host names, ports, brackets or junk in the log). */
	assert_int_equal(xff("1.2.3.4, unknown", out, key, &kl), -EINVAL);
	assert_int_equal(xff("1.2.3.4,", out, key, &kl), -EINVAL);
	assert_int_equal(xff("", out, key, &kl), -EINVAL);
	assert_int_equal(xff("203.0.113.9:443", out, key, &kl), -EINVAL);
	assert_int_equal(xff("[2001:db8::1]", out, key, &kl), -EINVAL);
	assert_int_equal(xff("1.2.3.4\x1b[31m", out, key, &kl), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trusted_list),
		cmocka_unit_test(test_trusted_networks),
		cmocka_unit_test(test_forwarded_for_last_hop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
