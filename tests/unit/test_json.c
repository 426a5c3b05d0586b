/* The JSON writer and reader (src/json.c): escapes out, escapes in, a fixed buffer that runs out,
 * a heap one that grows, malformed strings and numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mjpegd/json.h"

static void test_write_fixed(void **state)
{
	(void)state;
	char buf[64];
	struct json_out o = JSON_OUT_FIXED(buf, sizeof(buf));
	json_printf(&o, "{\"a\": %d, \"s\": ", 5);
	json_string(&o, "q\"b\\c\n\x01");
	json_printf(&o, "}");
	assert_false(o.failed);
	assert_string_equal(buf, "{\"a\": 5, \"s\": \"q\\\"b\\\\c\\u000a\\u0001\"}");
	assert_int_equal(o.used, strlen(buf));
	/* NULL is the empty string */
	o = JSON_OUT_FIXED(buf, sizeof(buf));
	json_string(&o, NULL);
	assert_string_equal(buf, "\"\"");
	/* out of room: failed, and what was written stays NUL-terminated inside the buffer */
	char small[8];
	o = JSON_OUT_FIXED(small, sizeof(small));
	json_printf(&o, "1234");
	json_string(&o, "abcdef");
	assert_true(o.failed);
	assert_true(strlen(small) < sizeof(small));
	o = JSON_OUT_FIXED(small, sizeof(small));
	json_printf(&o, "%s", "12345678");
	assert_true(o.failed);
	o = JSON_OUT_FIXED(small, 0);
	assert_true(o.failed);
}

static void test_write_heap_grows(void **state)
{
	(void)state;
	struct json_out o = JSON_OUT_HEAP;
	char want[20000];
	size_t w = 0;
	json_printf(&o, "[");
	w += (size_t)snprintf(want + w, sizeof(want) - w, "[");
	for (int i = 0; i < 2000; i++) {
		json_printf(&o, "%s%d", i ? "," : "", i);
		w += (size_t)snprintf(want + w, sizeof(want) - w, "%s%d", i ? "," : "", i);
	}
	json_string(&o, "end");
	w += (size_t)snprintf(want + w, sizeof(want) - w, "\"end\"");
	size_t len = 0;
	char *doc = json_out_take(&o, &len);
	assert_non_null(doc);
	assert_int_equal(len, w);
	assert_string_equal(doc, want);
	free(doc);
	/* nothing written: an empty document */
	o = JSON_OUT_HEAP;
	doc = json_out_take(&o, &len);
	assert_non_null(doc);
	assert_int_equal(len, 0);
	assert_string_equal(doc, "");
	free(doc);
}

static bool read_string(const char *text, char *out, size_t cap)
{
	struct json_in in = { text, text + strlen(text) };
	return json_read_string(&in, out, cap);
}

static void test_read_string(void **state)
{
	(void)state;
	char out[16];
	assert_true(read_string("\"abc\"", out, sizeof(out)));
	assert_string_equal(out, "abc");
	assert_true(read_string("\"a\\\"\\\\\\/\\n\\u0041\"", out, sizeof(out)));
	assert_string_equal(out, "a\"\\/\nA");
	assert_false(read_string("abc", out, sizeof(out)));           /* no quote */
	assert_false(read_string("\"abc", out, sizeof(out)));         /* not closed */
	assert_false(read_string("\"a\\x\"", out, sizeof(out)));      /* unknown escape */
	assert_false(read_string("\"\\u0000\"", out, sizeof(out)));   /* NUL */
	assert_false(read_string("\"\\u00e9\"", out, sizeof(out)));   /* above ASCII */
	assert_false(read_string("\"\\u12\"", out, sizeof(out)));     /* short */
	assert_false(read_string("\"a\nb\"", out, sizeof(out)));      /* raw control character */
	assert_false(read_string("\"0123456789abcdef\"", out, sizeof(out))); /* does not fit */
	/* a NUL byte after a backslash is no escape */
	const char nul[] = "\"\\\0\"";
	struct json_in in = { nul, nul + sizeof(nul) - 1 };
	assert_false(json_read_string(&in, out, sizeof(out)));
}

static void test_read_tokens(void **state)
{
	(void)state;
	const char *text = "  { \"n\" : -1.5e3 , true ]";
	struct json_in in = { text, text + strlen(text) };
	char buf[16];
	assert_true(json_take(&in, '{'));
	assert_false(json_take(&in, '}'));
	json_skip_ws(&in);
	assert_true(json_read_string(&in, buf, sizeof(buf)));
	assert_string_equal(buf, "n");
	assert_true(json_take(&in, ':'));
	json_skip_ws(&in);
	assert_true(json_read_number(&in, buf, sizeof(buf)));
	assert_string_equal(buf, "-1.5e3");
	assert_true(json_take(&in, ','));
	json_skip_ws(&in);
	assert_false(json_read_literal(&in, "false"));
	assert_true(json_read_literal(&in, "true"));
	assert_false(json_read_number(&in, buf, sizeof(buf)));
	assert_true(json_take(&in, ']'));
	json_skip_ws(&in);
	assert_ptr_equal(in.p, in.end);
	/* a number longer than its buffer */
	const char *big = "12345678901234567890";
	in = (struct json_in){ big, big + strlen(big) };
	assert_false(json_read_number(&in, buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_fixed),
		cmocka_unit_test(test_write_heap_grows),
		cmocka_unit_test(test_read_string),
		cmocka_unit_test(test_read_tokens),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
