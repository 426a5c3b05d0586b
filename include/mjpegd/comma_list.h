/* Walking a comma-separated list ("a,b,c") without copying it: --auth-exempt's paths,
 * --trusted-proxy's addresses. Pure, header-only.
 *
 *	const char *item;
 *	size_t n;
 *	for (struct comma_list l = COMMA_LIST(list); comma_list_next(&l, &item, &n);)
 *		... item[0..n) ...
 *
 * An empty list ("") has no items; otherwise every comma separates two, so "a,,b" gives "a", ""
 * and "b", and "a," gives "a" and "" (a caller that checks the list refuses the empty one). */
#ifndef MJPEGD_COMMA_LIST_H
#define MJPEGD_COMMA_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct comma_list {
	const char *next; /* the rest of the list; NULL after the last item */
};

#define COMMA_LIST(list) ((struct comma_list){ (list) && *(list) ? (list) : NULL })

/* The next item into item[0..*n); false when there is none left. */
static inline bool comma_list_next(struct comma_list *l, const char **item, size_t *n)
{
	const char *s = l->next;
	if (!s)
		return false;
	const char *comma = strchr(s, ',');
	*item = s;
	*n = comma ? (size_t)(comma - s) : strlen(s);
	l->next = comma ? comma + 1 : NULL;
	return true;
}

#endif
