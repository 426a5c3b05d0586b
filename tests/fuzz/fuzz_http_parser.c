/* libFuzzer entry point for the HTTP request parser; not built by default. Build and run with:
 * clang -std=c11 -D_GNU_SOURCE -g -Iinclude -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_http_parser.c src/http/parser.c -o build/fuzz_http_parser && build/fuzz_http_parser
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/http/parser.h"

/* Checks the contract, not just "does not crash": abort() turns a broken promise into a finding. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_request req;
	size_t consumed = 0;
	int status = 0;

	enum http_parse_result r = http_parse_request(buf, size, &req, &consumed, &status);
	switch (r) {
	case HTTP_PARSE_COMPLETE:
		if (consumed == 0 || consumed > size || consumed > HTTP_MAX_HEADER_BYTES)
			abort();
		if (req.n_headers > HTTP_MAX_HEADERS || req.target.len == 0 || req.target.p[0] != '/')
			abort();
		if (req.path.len + (req.query.p > req.path.p + req.path.len ? 1 : 0) + req.query.len !=
		    req.target.len)
			abort();
		/* The same head alone parses to the same length: nothing after it was looked at. */
		size_t again = 0;
		int st = 0;
		if (http_parse_request(buf, consumed, &req, &again, &st) != HTTP_PARSE_COMPLETE ||
		    again != consumed)
			abort();
		char out[64];
		int n = http_query_get(req.query, "q", out, sizeof(out));
		if (n >= 0 && (size_t)n != strlen(out))
			abort();
		if (n < 0 && n != -ENOENT && n != -EINVAL)
			abort();
		(void)http_request_header(&req, "Host");
		break;
	case HTTP_PARSE_INCOMPLETE:
		if (size >= HTTP_MAX_HEADER_BYTES)
			abort();
		break;
	case HTTP_PARSE_ERROR:
		if (status != 400 && status != 414 && status != 431 && status != 501 && status != 505)
			abort();
		break;
	}
	return 0;
}
