/* The HTTP server's gate: who may be served, and what a response says about origins.
 * --auth-file: a request with credentials waits in AUTHENTICATING while auth_worker.c checks the
 * hash, after the slow-down of failed logins (auth.c); --trusted-proxy: X-Forwarded-For's last
 * hop names the client (proxy.c); --allow-origin: the CORS lines of every response, and the
 * same-origin rule for requests that change the camera. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "mjpegd/http/auth_worker.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "server_internal.h"

#define AUTH_CHALLENGE "WWW-Authenticate: Basic realm=\"mjpegd\", charset=\"UTF-8\"\r\n"

static void auth_log_failure(struct client *c, const char *what)
{
	struct server *s = c->srv;
	if (!ratelimit_allow(&s->gate.auth_log_rl, now_mono_ns()))
		return;
	unsigned more = ratelimit_take_suppressed(&s->gate.auth_log_rl);
	/* Only a name from the file is logged: what a client sends may hold control characters. */
	log_notice("client %llu (%s): %s%s%s%s", (unsigned long long)c->id, c->addr, what,
		   c->auth_user[0] ? " for user '" : " (unknown user)", c->auth_user,
		   c->auth_user[0] ? "'" : "");
	if (more)
		log_notice("(%u more failed logins not logged one by one)", more);
}

/* 401 for the request at the head of in[] (parsed again: its bytes are still there). */
void auth_answer(struct client *c, int status, bool failed)
{
	struct server *s = c->srv;
	struct http_request req;
	size_t consumed = 0;
	int st = 0;
	if (http_parse_request(c->in, c->in_len, &req, &consumed, &st) != HTTP_PARSE_COMPLETE) {
		client_close(c, "request lost while checking credentials");
		return;
	}
	if (failed)
		auth_throttle_failed(&s->gate.auth_throttle, c->peer_key, c->peer_key_len, now_mono_ns());
	c->requests++;
	c->keep_alive = req.keep_alive && !s->shutting_down;
	c->auth_job = -1;
	client_set_state(c, CLIENT_READING);
	bool head_only = req.method == HTTP_METHOD_HEAD;
	if (status == 401)
		respond_error(c, 401, AUTH_CHALLENGE, head_only);
	else
		respond_error(c, status, "Retry-After: 1\r\n", head_only);
	if (c->state != CLIENT_CLOSING)
		consume_input(c, consumed);
}

/* The request's credentials go to the worker (after the slow-down, if any, is over). */
void auth_begin(struct client *c)
{
	struct server *s = c->srv;
	struct http_request req;
	size_t consumed = 0;
	int st = 0;
	if (!s->gate.auth_users) { /* --auth-file dropped by a reload meanwhile */
		c->auth_granted = true;
		c->deadline_ns = 0;
		client_set_state(c, CLIENT_READING);
		process_input(c);
		return;
	}
	if (http_parse_request(c->in, c->in_len, &req, &consumed, &st) != HTTP_PARSE_COMPLETE) {
		client_close(c, "request lost while checking credentials");
		return;
	}
	const struct http_str *h = http_request_header(&req, "Authorization");
	char user[AUTH_USER_MAX + 1], password[AUTH_PASSWORD_MAX + 1];
	size_t user_len = 0;
	c->auth_user[0] = '\0';
	if (!h || auth_parse_basic(*h, user, sizeof(user), &user_len, password,
				   sizeof(password)) < 0) {
		explicit_bzero(password, sizeof(password));
		auth_log_failure(c, "malformed credentials");
		auth_answer(c, 401, true);
		return;
	}
	const struct auth_user *u = auth_users_find(s->gate.auth_users, user, user_len);
	if (u)
		snprintf(c->auth_user, sizeof(c->auth_user), "%s", u->name);
	/* An unknown user is checked against a real hash and refused: the same time as a wrong
	 * password, so the answer's delay does not tell which names exist. */
	int job = auth_worker_submit(s->gate.auth_worker, u ? u->hash : s->gate.auth_users->user[0].hash,
				     password, !u, c);
	explicit_bzero(password, sizeof(password));
	if (job < 0) {
		/* one line per window and a count, not one per refusal (a guessing flood) */
		uint64_t now = now_mono_ns();
		if (ratelimit_allow(&s->gate.auth_queue_log_rl, now)) {
			unsigned more = ratelimit_take_suppressed(&s->gate.auth_queue_log_rl);
			log_warn("client %llu (%s): %d password checks already queued: 503%s",
				 (unsigned long long)c->id, c->addr, AUTH_WORKER_QUEUE,
				 more ? " (and more since the last such line)" : "");
		}
		auth_answer(c, 503, false);
		return;
	}
	c->auth_job = job;
	c->deadline_ns = now_mono_ns() + s->header_timeout_ns;
}

/* The worker's verdict, on the loop's thread (the client abandons its job when it goes). */
static void auth_verdict(void *ctx, void *owner, bool ok)
{
	(void)ctx;
	struct client *c = owner;
	c->auth_job = -1;
	if (c->state != CLIENT_AUTHENTICATING)
		return;
	if (!ok) {
		auth_log_failure(c, "wrong password");
		auth_answer(c, 401, true);
		return;
	}
	log_debug("client %llu (%s): user '%s' authenticated", (unsigned long long)c->id, c->addr,
		  c->auth_user);
	c->auth_granted = true;
	c->deadline_ns = 0;
	client_set_state(c, CLIENT_READING);
	process_input(c);
}

static bool request_path_exempt(const struct server *s, const struct http_request *req)
{
	return auth_path_exempt(s->gate.auth_exempt, req->path.p, req->path.len);
}

/* --trusted-proxy: a trusted proxy names the client in X-Forwarded-For's last hop, per request
 * (a proxy's keep-alive connection carries requests of many clients). Everyone else's
 * X-Forwarded-For is ignored: a client could write any address there. The slow-down of failed
 * logins then counts by that client, not by the proxy (which would slow everyone down). */
void client_forwarded(struct client *c, const struct http_request *req)
{
	if (!c->peer_trusted)
		return;
	/* HAProxy's "option forwardfor" adds its own header line after the client's: the last
	 * line's last hop is the proxy's word. */
	const struct http_str *xff = NULL;
	for (size_t i = 0; i < req->n_headers; i++)
		if (str_is_nocase(req->headers[i].name, "X-Forwarded-For"))
			xff = &req->headers[i].value;
	char ip[INET6_ADDRSTRLEN];
	unsigned char key[16];
	size_t key_len = 0;
	if (xff && proxy_forwarded_for(*xff, ip, sizeof(ip), key, &key_len) == 0) {
		snprintf(c->addr, sizeof(c->addr), "%s (via %s)", ip, c->peer_addr);
		memcpy(c->peer_key, key, sizeof(key));
		c->peer_key_len = key_len;
	} else {
		snprintf(c->addr, sizeof(c->addr), "%s", c->peer_addr);
		memcpy(c->peer_key, c->socket_key, sizeof(c->peer_key));
		c->peer_key_len = c->socket_key_len;
	}
}

/* --auth-file: may this request be served now? */
enum auth_gate auth_gate(struct client *c, const struct http_request *req)
{
	struct server *s = c->srv;
	if (!s->gate.auth_users)
		return AUTH_GATE_PASS;
	if (c->auth_granted) {
		c->auth_granted = false;
		return AUTH_GATE_PASS;
	}
	/* A CORS preflight never carries credentials (the browser sends them afterwards); its
	 * answer tells nothing but the allowed methods. */
	if (req->method == HTTP_METHOD_OPTIONS || request_path_exempt(s, req))
		return AUTH_GATE_PASS;
	if (!http_request_header(req, "Authorization")) {
		/* Every browser asks without credentials first: not a failure. */
		c->requests++;
		c->keep_alive = req->keep_alive && !s->shutting_down;
		respond_error(c, 401, AUTH_CHALLENGE, req->method == HTTP_METHOD_HEAD);
		return AUTH_GATE_ANSWERED;
	}
	client_set_state(c, CLIENT_AUTHENTICATING);
	uint64_t now = now_mono_ns();
	unsigned delay_ms = auth_throttle_delay_ms(&s->gate.auth_throttle, c->peer_key, c->peer_key_len,
						   now);
	if (delay_ms > 0) {
		/* Failed before: the check waits; server_tick() starts it. */
		log_debug("client %llu (%s): credentials checked in %u ms (failed logins before)",
			  (unsigned long long)c->id, c->addr, delay_ms);
		c->deadline_ns = now + (uint64_t)delay_ms * NSEC_PER_MSEC;
		return AUTH_GATE_DEFERRED;
	}
	/* Either queued, or refused at once (auth_answer() consumed the request then). */
	auth_begin(c);
	return AUTH_GATE_DEFERRED;
}

bool gate_refuses_head(struct client *c, const struct http_request *req)
{
	struct server *s = c->srv;
	/* With credentials the body is read first: the request is checked whole, as ever. */
	if (!s->gate.auth_users || req->method == HTTP_METHOD_OPTIONS ||
	    request_path_exempt(s, req) || http_request_header(req, "Authorization"))
		return false;
	respond_error(c, 401, AUTH_CHALLENGE, false);
	return true;
}

/* ---------------------------------------------------------------- origins */

/* --allow-origin → the header lines of every response, and the 503 sent above --max-clients. */
static void gate_set_cors(struct server *s, const char *origin)
{
	struct gate *g = &s->gate;
	snprintf(g->allow_origin, sizeof(g->allow_origin), "%s", origin ? origin : "");
	if (!origin || !origin[0])
		g->cors[0] = '\0';
	else if (!strcmp(origin, "*"))
		snprintf(g->cors, sizeof(g->cors), "Access-Control-Allow-Origin: *\r\n");
	else /* one origin: its pages may also send credentials (a fetch() of /status) */
		snprintf(g->cors, sizeof(g->cors),
			 "Access-Control-Allow-Origin: %s\r\n"
			 "Access-Control-Allow-Credentials: true\r\n", origin);
	refusal_format(s);
}

/* A request that changes the camera must come from a page of this server (or of the one origin
 * --allow-origin names), never from another site's page in a viewer's browser: browsers send
 * Sec-Fetch-Site, and Origin with every POST; curl and scripts send neither. */
bool same_origin(const struct client *c, const struct http_request *req, char *why,
		 size_t whylen)
{
	const struct http_str *site = http_request_header(req, "Sec-Fetch-Site");
	if (site && !str_is(*site, "same-origin") && !str_is(*site, "none")) {
		snprintf(why, whylen, "a request from another site (Sec-Fetch-Site: %.*s)",
			 (int)(site->len > 20 ? 20 : site->len), site->p);
		return false;
	}
	const struct http_str *origin = http_request_header(req, "Origin");
	if (!origin)
		return true;
	const char *allowed = c->srv->gate.allow_origin;
	if (allowed[0] && strcmp(allowed, "*") && str_is(*origin, allowed))
		return true;
	const struct http_str *host = http_request_host(req);
	/* Origin is scheme://host[:port]; Host is host[:port] as the browser addressed us. */
	const char *sep = memmem(origin->p, origin->len, "://", STRLEN("://"));
	if (host && sep) {
		const char *o_start = sep + STRLEN("://");
		struct http_str o = { o_start, origin->len - (size_t)(o_start - origin->p) };
		if (o.len == host->len && strncasecmp(o.p, host->p, o.len) == 0)
			return true;
	}
	snprintf(why, whylen, "a request from another origin (%.*s)",
		 (int)(origin->len > 80 ? 80 : origin->len), origin->p);
	return false;
}

/* ---------------------------------------------------------------- set-up and reload */

int gate_init(struct server *s, const struct server_params *p)
{
	struct gate *g = &s->gate;
	g->auth_log_rl = (struct ratelimit)RATELIMIT_INIT(10 * NSEC_PER_SEC, 5);
	g->auth_queue_log_rl = (struct ratelimit)RATELIMIT_INIT(10 * NSEC_PER_SEC, 1);
	gate_apply(s, &p->opt);
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = now_mono_ns() ^ (uint64_t)getpid() << 32;
	auth_throttle_init(&g->auth_throttle, seed);
	return 0;
}

/* Last in server_create(): on failure the caller still owns p->auth_users. */
int gate_start_auth(struct server *s, const struct server_params *p)
{
	struct gate *g = &s->gate;
	if (!p->auth_users)
		return 0;
	int r = auth_worker_create(s->loop, auth_verdict, s, &g->auth_worker);
	if (r < 0)
		return log_err_errno(r, "cannot start the password-checking thread");
	g->auth_users = p->auth_users;
	snprintf(g->auth_exempt, sizeof(g->auth_exempt), "%s",
		 p->opt.auth_exempt ? p->opt.auth_exempt : "");
	return 0;
}

void gate_destroy(struct server *s)
{
	auth_worker_destroy(s->gate.auth_worker);
	free(s->gate.auth_users);
}

void gate_apply(struct server *s, const struct server_options *o)
{
	gate_set_cors(s, o->allow_origin);
	if (proxy_trusted_parse(o->trusted_proxy ? o->trusted_proxy : "", &s->gate.trusted) < 0)
		memset(&s->gate.trusted, 0, sizeof(s->gate.trusted)); /* config checked it already */
	/* Clients connected already keep what they were told at accept. */
}

int server_set_auth(struct server *s, struct auth_users *users, const char *exempt)
{
	struct gate *g = &s->gate;
	if (users && !g->auth_worker) {
		int r = auth_worker_create(s->loop, auth_verdict, s, &g->auth_worker);
		if (r < 0) {
			free(users);
			return log_err_errno(r, "cannot start the password-checking thread");
		}
	}
	free(g->auth_users);
	g->auth_users = users;
	snprintf(g->auth_exempt, sizeof(g->auth_exempt), "%s", exempt ? exempt : "");
	return 0;
}
