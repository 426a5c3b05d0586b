/* Camera controls: value parsing and checks for every type, requests (JSON and form), the JSON
 * listing, the state file lines (src/control.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mjpegd/control.h"
#include "mjpegd/v4l2/controls.h"

static struct control_list fixture(void)
{
	struct control_list l = { .n = 7 };
	l.desc[0] = (struct control_desc){
		.name = "Brightness", .id = 1, .type = CONTROL_FLOAT,
		.min = { .type = CONTROL_FLOAT, .f = -1 }, .max = { .type = CONTROL_FLOAT, .f = 1 },
		.def = { .type = CONTROL_FLOAT, .f = 0 }, .cur = { .type = CONTROL_FLOAT, .f = 0.25 },
		.has_current = true,
	};
	l.desc[1] = (struct control_desc){
		.name = "AeEnable", .id = 2, .type = CONTROL_BOOLEAN,
		.min = { .type = CONTROL_BOOLEAN, .b = false }, .max = { .type = CONTROL_BOOLEAN, .b = true },
		.def = { .type = CONTROL_BOOLEAN, .b = true },
	};
	l.desc[2] = (struct control_desc){
		.name = "AfMode", .id = 3, .type = CONTROL_MENU, .n_menu = 3,
		.menu = { { 0, "Manual" }, { 1, "Auto" }, { 2, "Continuous" } },
		.def = { .type = CONTROL_MENU, .i = 0 },
	};
	l.desc[3] = (struct control_desc){
		.name = "ScalerCrop", .id = 4, .type = CONTROL_RECTANGLE,
		.min = { .type = CONTROL_RECTANGLE, .r = { 0, 0, 64, 64 } },
		.max = { .type = CONTROL_RECTANGLE, .r = { 0, 0, 3280, 2464 } },
		.def = { .type = CONTROL_RECTANGLE, .r = { 0, 0, 3280, 2464 } },
	};
	l.desc[4] = (struct control_desc){
		.name = "white_balance_temperature", .id = 0x0098091a, .type = CONTROL_INTEGER,
		.min = { .type = CONTROL_INTEGER, .i = 2800 },
		.max = { .type = CONTROL_INTEGER, .i = 6500 }, .step = 10,
		.def = { .type = CONTROL_INTEGER, .i = 4600 }, .inactive = true,
	};
	l.desc[5] = (struct control_desc){
		.name = "sensor_temperature", .id = 6, .type = CONTROL_INTEGER,
		.min = { .type = CONTROL_INTEGER, .i = -40 }, .max = { .type = CONTROL_INTEGER, .i = 125 },
		.step = 1, .read_only = true,
	};
	l.desc[6] = (struct control_desc){
		.name = "LensPosition", .id = 7, .type = CONTROL_FLOAT,
		.min = { .type = CONTROL_FLOAT, .f = 0 }, .max = { .type = CONTROL_FLOAT, .f = 15 },
		.def = { .type = CONTROL_FLOAT, .f = 1 },
	};
	return l;
}

static void parse_ok(const struct control_list *l, const char *name, const char *text,
		     struct control_value *v)
{
	char why[256] = "";
	const struct control_desc *d = control_find(l, name);
	assert_non_null(d);
	if (control_parse_value(d, text, v, why, sizeof(why)) != 0)
		fail_msg("%s = '%s' refused: %s", name, text, why);
}

static void parse_fails(const struct control_list *l, const char *name, const char *text, int want,
			const char *want_why)
{
	char why[256] = "";
	struct control_value v;
	const struct control_desc *d = control_find(l, name);
	assert_non_null(d);
	int r = control_parse_value(d, text, &v, why, sizeof(why));
	if (r != want)
		fail_msg("%s = '%s': %d (%s), want %d", name, text, r, why, want);
	if (want_why && !strstr(why, want_why))
		fail_msg("%s = '%s': reason '%s' lacks '%s'", name, text, why, want_why);
}

static void test_values(void **state)
{
	(void)state;
	struct control_list l = fixture();
	struct control_value v;
	parse_ok(&l, "Brightness", "0.5", &v);
	assert_true(v.type == CONTROL_FLOAT && v.f == 0.5);
	parse_ok(&l, "brightness", "-1", &v); /* names match regardless of case */
	assert_true(v.f == -1);
	parse_fails(&l, "Brightness", "1.5", -EINVAL, "Brightness: '1.5' is out of range (it takes -1..1)");
	parse_fails(&l, "Brightness", "nan", -EINVAL, "is not a number");
	parse_fails(&l, "Brightness", "inf", -EINVAL, NULL);
	parse_fails(&l, "Brightness", " 0.5", -EINVAL, NULL);
	parse_fails(&l, "Brightness", "", -EINVAL, NULL);
	parse_fails(&l, "Brightness", "1e999", -EINVAL, NULL);

	parse_ok(&l, "AeEnable", "false", &v);
	assert_false(v.b);
	parse_ok(&l, "AeEnable", "1", &v);
	assert_true(v.b);
	parse_ok(&l, "AeEnable", "On", &v);
	assert_true(v.b);
	parse_fails(&l, "AeEnable", "maybe", -EINVAL, "true or false");

	parse_ok(&l, "AfMode", "Continuous", &v);
	assert_int_equal(v.i, 2);
	parse_ok(&l, "AfMode", "auto", &v);
	assert_int_equal(v.i, 1);
	parse_ok(&l, "AfMode", "0", &v);
	assert_int_equal(v.i, 0);
	parse_fails(&l, "AfMode", "3", -EINVAL, "Manual (0), Auto (1), Continuous (2)");
	parse_fails(&l, "AfMode", "Sometimes", -EINVAL, "is not one of its entries");

	parse_ok(&l, "ScalerCrop", "100,50,1920,1080", &v);
	assert_int_equal(v.r.x, 100);
	assert_int_equal(v.r.height, 1080);
	parse_fails(&l, "ScalerCrop", "3000,0,1920,1080", -EINVAL, "out of range");
	parse_fails(&l, "ScalerCrop", "0,0,0,10", -EINVAL, "not a rectangle");
	parse_fails(&l, "ScalerCrop", "0,0,10", -EINVAL, NULL);
	parse_fails(&l, "ScalerCrop", "0,0,10,10,10", -EINVAL, NULL);
	parse_fails(&l, "ScalerCrop", "-1,0,10,10", -EINVAL, "out of range");

	parse_ok(&l, "white_balance_temperature", "5000", &v);
	assert_int_equal(v.i, 5000);
	parse_fails(&l, "white_balance_temperature", "5005", -EINVAL, "not on a step");
	parse_fails(&l, "white_balance_temperature", "7000", -EINVAL, "2800..6500 in steps of 10");
	parse_fails(&l, "white_balance_temperature", "+5000", -EINVAL, "not a whole number");
	parse_fails(&l, "white_balance_temperature", "0x1388", -EINVAL, NULL);
	parse_fails(&l, "white_balance_temperature", "99999999999999999999", -EINVAL, NULL);
	parse_fails(&l, "sensor_temperature", "20", -EACCES, "read-only");
}

static void test_format_round_trip(void **state)
{
	(void)state;
	struct control_list l = fixture();
	static const char *const cases[][2] = {
		{ "Brightness", "0.5" }, { "AeEnable", "false" }, { "AfMode", "Continuous" },
		{ "ScalerCrop", "8,16,640,480" }, { "white_balance_temperature", "2810" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct control_value v, again;
		char text[96];
		parse_ok(&l, cases[i][0], cases[i][1], &v);
		control_format_value(control_find(&l, cases[i][0]), &v, text, sizeof(text));
		assert_string_equal(text, cases[i][1]);
		parse_ok(&l, cases[i][0], text, &again);
		assert_memory_equal(&v, &again, sizeof(v));
	}
}

static void request_fails(const struct control_list *l, const char *body, bool json,
			  const char *want_why)
{
	struct control_set set = { .n = 5 };
	char why[256] = "";
	int r = control_parse_request(l, body, strlen(body), json, &set, why, sizeof(why));
	if (r >= 0)
		fail_msg("'%s' accepted", body);
	assert_int_equal(set.n, 0); /* nothing half-applied */
	if (want_why && !strstr(why, want_why))
		fail_msg("'%s': reason '%s' lacks '%s'", body, why, want_why);
}

static void test_requests(void **state)
{
	(void)state;
	struct control_list l = fixture();
	struct control_set set;
	char why[256] = "";
	const char *json = " {\"Brightness\": 0.5, \"AeEnable\" : false,\n\"AfMode\": \"Auto\", "
			   "\"ScalerCrop\": [0, 0, 1640, 1232], \"Brightness\": -0.25} ";
	assert_int_equal(control_parse_request(&l, json, strlen(json), true, &set, why, sizeof(why)),
			 0);
	assert_int_equal(set.n, 4); /* Brightness twice: the last wins */
	assert_int_equal(set.item[0].index, 0);
	assert_true(set.item[0].value.f == -0.25);
	assert_int_equal(set.item[2].value.i, 1);
	assert_int_equal(set.item[3].value.r.width, 1640);

	const char *form = "Brightness=0.5&AfMode=Continuous&white_balance_temperature=3000&";
	assert_int_equal(control_parse_request(&l, form, strlen(form), false, &set, why, sizeof(why)),
			 0);
	assert_int_equal(set.n, 3);
	const char *escaped = "Brightness=%2D0.5&ScalerCrop=0%2C0%2C640%2C480";
	assert_int_equal(control_parse_request(&l, escaped, strlen(escaped), false, &set, why,
					       sizeof(why)), 0);
	assert_true(set.item[0].value.f == -0.5);
	assert_int_equal(set.item[1].value.r.width, 640);

	/* one bad control: none of them */
	request_fails(&l, "{\"Brightness\": 0.5, \"Contrast\": 2}", true, "no control named 'Contrast'");
	request_fails(&l, "{\"Brightness\": 0.5, \"AfMode\": \"Sometimes\"}", true, "AfMode");
	request_fails(&l, "{\"sensor_temperature\": 3}", true, "read-only");
	request_fails(&l, "Brightness=0.5&AeEnable=perhaps", false, "AeEnable");
	request_fails(&l, "{}", true, "no control given");
	request_fails(&l, "", false, "no control given");
	request_fails(&l, "[1]", true, "not a JSON object");
	request_fails(&l, "{\"Brightness\": 0.5", true, "not closed");
	request_fails(&l, "{\"Brightness\": 0.5} x", true, "text after");
	request_fails(&l, "{\"Brightness\" 0.5}", true, "no ':'");
	request_fails(&l, "{\"Brightness\": {\"a\": 1}}", true, NULL);
	request_fails(&l, "{\"ScalerCrop\": [0, 0, 1, 1, 1]}", true, NULL);
	request_fails(&l, "{\"Bright\\u0000ness\": 1}", true, NULL);
	request_fails(&l, "Brightness", false, "has no '='");
	request_fails(&l, "Brightness=%zz", false, "badly escaped");
	request_fails(&l, "Brightness=%2", false, "badly escaped");
	request_fails(&l, "Brightness=0%00", false, NULL);
	char big[600];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "Brightness=", 11);
	request_fails(&l, big, false, "too long");
	/* more controls than a set holds */
	char many[2048] = "{";
	for (int i = 0; i < CONTROL_SET_MAX + 1; i++) {
		char one[48];
		snprintf(one, sizeof(one), "%s\"c%d\": 1", i ? ", " : "", i);
		strcat(many, one);
	}
	strcat(many, "}");
	struct control_list big_list = { .n = CONTROL_SET_MAX + 1 };
	for (unsigned i = 0; i < big_list.n; i++) {
		snprintf(big_list.desc[i].name, sizeof(big_list.desc[i].name), "c%u", i);
		big_list.desc[i].type = CONTROL_BOOLEAN;
	}
	request_fails(&big_list, many, true, "more than");
}

static void test_list_json(void **state)
{
	(void)state;
	struct control_list l = fixture();
	char buf[8192];
	int n = control_list_json(&l, true, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n == strlen(buf));
	assert_non_null(strstr(buf, "{\"name\": \"Brightness\", \"type\": \"float\", \"min\": -1, "
				    "\"max\": 1, \"default\": 0, \"value\": 0.25, \"read_only\": false, "
				    "\"inactive\": false}"));
	assert_non_null(strstr(buf, "\"menu\": [{\"value\": 0, \"name\": \"Manual\"}, {\"value\": 1, "
				    "\"name\": \"Auto\"}, {\"value\": 2, \"name\": \"Continuous\"}]"));
	assert_non_null(strstr(buf, "\"max\": [0, 0, 3280, 2464]"));
	assert_non_null(strstr(buf, "\"step\": 10"));
	assert_non_null(strstr(buf, "\"inactive\": true"));
	assert_non_null(strstr(buf, "\"name\": \"sensor_temperature\", \"type\": \"integer\", "
				    "\"min\": -40, \"max\": 125, \"step\": 1, \"default\": 0, "
				    "\"value\": null, \"read_only\": true"));
	assert_int_equal(control_list_json(&l, true, buf, 100), -ENOSPC);
	struct control_list none = { 0 };
	assert_int_equal(control_list_json(&none, false, buf, sizeof(buf)),
			 (int)strlen("{\"writable\": false, \"controls\": []}\n"));
	assert_string_equal(buf, "{\"writable\": false, \"controls\": []}\n");
	/* names are escaped */
	struct control_list odd = { .n = 1 };
	snprintf(odd.desc[0].name, sizeof(odd.desc[0].name), "a\"b\\c");
	odd.desc[0].type = CONTROL_BOOLEAN;
	assert_true(control_list_json(&odd, true, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\"a\\\"b\\\\c\""));
}

static void test_state_lines(void **state)
{
	(void)state;
	struct control_list l = fixture();
	struct control_set set = { 0 };
	struct control_assignments as = { 0 };
	char why[256], buf[1024];
	assert_int_equal(control_set_add(&set, &l, "AfMode", "2", why, sizeof(why)), 0);
	assert_int_equal(control_set_add(&set, &l, "lensposition", "3.5", why, sizeof(why)), 0);
	assert_int_equal(control_set_add(&set, &l, "nothing", "1", why, sizeof(why)), -ENOENT);
	assert_int_equal(control_assignments_put_set(&as, &l, &set), 0);
	int n = control_assignments_format(&as, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\nAfMode=Continuous\nLensPosition=3.5\n"));
	assert_int_equal(control_assignments_format(&as, buf, 20), -ENOSPC);

	/* read back, a later value of the same name wins; comments and blank lines skipped */
	struct control_assignments back;
	n = control_assignments_format(&as, buf, sizeof(buf));
	strcat(buf, "\n  # note\nafmode = Auto\n");
	assert_int_equal(control_assignments_parse(buf, &back, why, sizeof(why)), 0);
	assert_int_equal(back.n, 2);
	assert_string_equal(back.a[0].name, "afmode");
	assert_string_equal(back.a[0].value, "Auto");
	/* checked against the camera: unknown and refused ones left out, counted, first reason */
	assert_int_equal(control_assignments_put(&back, "Contrast", "2"), 0);
	assert_int_equal(control_assignments_put(&back, "Brightness", "9"), 0);
	assert_int_equal(control_assignments_check(&back, &l, &set, why, sizeof(why)), 2);
	assert_int_equal(set.n, 2);
	assert_string_equal(why, "no control named 'Contrast'");
	/* corrupt files */
	assert_int_equal(control_assignments_parse("AfMode=Auto\ngarbage\n", &back, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "line 2 is not NAME=VALUE");
	assert_int_equal(back.n, 0); /* ignored as a whole */
	char huge[400];
	memset(huge, 'x', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	assert_int_equal(control_assignments_parse(huge, &back, why, sizeof(why)), -EINVAL);
	/* full, bad names */
	struct control_assignments full = { 0 };
	for (int i = 0; i < CONTROL_SET_MAX; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "c%d", i);
		assert_int_equal(control_assignments_put(&full, nm, "1"), 0);
	}
	assert_int_equal(control_assignments_put(&full, "one_more", "1"), -E2BIG);
	assert_int_equal(control_assignments_put(&full, "c3", "2"), 0); /* replacing fits */
	assert_int_equal(control_assignments_put(&as, "", "1"), -EINVAL);
	assert_int_equal(control_assignments_put(&as, "a=b", "1"), -EINVAL);
	assert_int_equal(control_assignments_put(&as, "a", "1\n2"), -EINVAL);

	char name[CONTROL_NAME_MAX], value[96];
	assert_int_equal(control_split_assignment("  AfMode = Continuous  ", name, sizeof(name), value,
						  sizeof(value)), 0);
	assert_string_equal(name, "AfMode");
	assert_string_equal(value, "Continuous");
	assert_int_equal(control_split_assignment("ScalerCrop=0,0,64,64", name, sizeof(name), value,
						  sizeof(value)), 0);
	assert_string_equal(value, "0,0,64,64");
	assert_int_equal(control_split_assignment("AfMode", name, sizeof(name), value, sizeof(value)),
			 -EINVAL);
	assert_int_equal(control_split_assignment(" = 3", name, sizeof(name), value, sizeof(value)),
			 -EINVAL);
	char long_name[200];
	memset(long_name, 'n', sizeof(long_name));
	memcpy(long_name + sizeof(long_name) - 3, "=1", 3);
	assert_int_equal(control_split_assignment(long_name, name, sizeof(name), value, sizeof(value)),
			 -EINVAL);
}

/* As `v4l2-ctl -l` names them */
static struct control_list gains_fixture(void)
{
	struct control_list l = { .n = 1 };
	l.desc[0] = (struct control_desc){
		.name = "ColourGains", .id = 9, .type = CONTROL_FLOATS, .count = 2,
		.min = { .type = CONTROL_FLOAT, .f = 0 }, .max = { .type = CONTROL_FLOAT, .f = 32 },
		.def = { .type = CONTROL_FLOATS, .fs = { { 1, 1 }, 2 } },
		.cur = { .type = CONTROL_FLOATS, .fs = { { 1.5, 2.25 }, 2 } }, .has_current = true,
	};
	return l;
}

/* libcamera's ColourGains (red, blue): two numbers, each in range; as text, JSON, a form, the
 * listing and a state line */
static void test_floats(void **state)
{
	(void)state;
	struct control_list l = gains_fixture();
	struct control_value v;
	parse_ok(&l, "ColourGains", "1.5,2", &v);
	assert_true(v.type == CONTROL_FLOATS && v.fs.n == 2 && v.fs.v[0] == 1.5 && v.fs.v[1] == 2);
	parse_ok(&l, "ColourGains", "0,32", &v);
	parse_fails(&l, "ColourGains", "1.5", -EINVAL,
		    "ColourGains: '1.5' is not that many numbers (it takes 2 numbers, each 0..32)");
	parse_fails(&l, "ColourGains", "1,2,3", -EINVAL, "not that many numbers");
	parse_fails(&l, "ColourGains", "1,", -EINVAL, NULL);
	parse_fails(&l, "ColourGains", ",1", -EINVAL, NULL);
	parse_fails(&l, "ColourGains", "1, 2", -EINVAL, NULL);
	parse_fails(&l, "ColourGains", "nan,1", -EINVAL, NULL);
	parse_fails(&l, "ColourGains", "1,33", -EINVAL, "out of range");
	parse_fails(&l, "ColourGains", "-0.5,1", -EINVAL, "out of range");

	char text[64];
	parse_ok(&l, "ColourGains", "1.25,0.5", &v);
	control_format_value(&l.desc[0], &v, text, sizeof(text));
	assert_string_equal(text, "1.25,0.5");
	struct control_value back;
	parse_ok(&l, "ColourGains", text, &back);
	assert_true(back.fs.n == 2 && back.fs.v[0] == 1.25 && back.fs.v[1] == 0.5);

	struct control_set set = { 0 };
	char why[256] = "";
	const char *json = "{\"ColourGains\": [2.5, 0.75]}";
	assert_int_equal(control_parse_request(&l, json, strlen(json), true, &set, why, sizeof(why)), 0);
	assert_int_equal(set.n, 1);
	assert_true(set.item[0].value.fs.v[0] == 2.5 && set.item[0].value.fs.v[1] == 0.75);
	const char *form = "ColourGains=3%2C1";
	memset(&set, 0, sizeof(set));
	assert_int_equal(control_parse_request(&l, form, strlen(form), false, &set, why, sizeof(why)), 0);
	assert_true(set.n == 1 && set.item[0].value.fs.v[0] == 3 && set.item[0].value.fs.v[1] == 1);
	const char *bad = "{\"ColourGains\": [2.5]}";
	memset(&set, 0, sizeof(set));
	assert_int_equal(control_parse_request(&l, bad, strlen(bad), true, &set, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(set.n, 0);
	assert_non_null(strstr(why, "ColourGains"));

	char buf[2048];
	assert_true(control_list_json(&l, true, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "{\"name\": \"ColourGains\", \"type\": \"floats\", \"min\": 0, "
				    "\"max\": 32, \"count\": 2, \"default\": [1, 1], "
				    "\"value\": [1.5, 2.25], \"read_only\": false"));

	struct control_assignments as = { 0 };
	memset(&set, 0, sizeof(set));
	assert_int_equal(control_set_add(&set, &l, "ColourGains", "2,0.5", why, sizeof(why)), 0);
	assert_int_equal(control_assignments_put_set(&as, &l, &set), 0);
	assert_int_equal(as.n, 1);
	assert_string_equal(as.a[0].value, "2,0.5");
}

static void test_v4l2_names(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "Brightness", "brightness" },
		{ "White Balance Temperature", "white_balance_temperature" },
		{ "Exposure Time, Absolute", "exposure_time_absolute" },
		{ "Focus (absolute)", "focus_absolute" },
		{ "  Hue  ", "hue" },
		{ "Power Line Frequency", "power_line_frequency" },
		{ "H264 I-Frame Period", "h264_i_frame_period" },
		{ "", "" },
	};
	char out[CONTROL_NAME_MAX];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v4l2_control_name(cases[i][0], out, sizeof(out));
		assert_string_equal(out, cases[i][1]);
	}
	char small[6];
	v4l2_control_name("White Balance", small, sizeof(small));
	assert_string_equal(small, "white");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_list_json),
		cmocka_unit_test(test_state_lines),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_v4l2_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
