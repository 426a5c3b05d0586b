/* multipart/x-mixed-replace part headers; wire layout in include/mjpegd/http/multipart.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "mjpegd/clock.h"
#include "mjpegd/http/multipart.h"

int multipart_part_header(char *buf, size_t cap, size_t jpeg_len, uint64_t timestamp_us)
{
	int n = snprintf(buf, cap,
			 "Content-Type: image/jpeg\r\n"
			 "Content-Length: %zu\r\n"
			 "X-Timestamp: %" PRIu64 ".%06" PRIu64 "\r\n"
			 "\r\n",
			 jpeg_len, (uint64_t)(timestamp_us / USEC_PER_SEC),
			 (uint64_t)(timestamp_us % USEC_PER_SEC));
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}
