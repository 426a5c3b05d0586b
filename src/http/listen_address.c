/* --listen's addresses in words (include/mjpegd/http/listen_address.h). Pure, apart from
 * src/http/listen.c's sockets, so config links it without the server. */
#include <stdio.h>
#include <string.h>

#include "mjpegd/http/listen_address.h"

void listen_address_describe(const struct listen_address *l, char *buf, size_t len)
{
	if (!l->is_unix) {
		snprintf(buf, len, strchr(l->host, ':') ? "[%s]:%u" : "%s:%u", l->host, l->port);
		return;
	}
	snprintf(buf, len, "unix:%s,mode=%04o%s%s", l->path, l->mode, l->group[0] ? ",group=" : "",
		 l->group);
}
