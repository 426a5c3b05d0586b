/* mjpegd: flags + config file → one struct config; builds the pipeline and the server; runs the
 * io_uring loop until SIGINT/SIGTERM. The application state lives here and nowhere else. */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <linux/videodev2.h>

#include "mjpegd/http/auth.h"
#include "mjpegd/clock.h"
#include "mjpegd/config.h"
#include "mjpegd/demand.h"
#include "mjpegd/fault.h"
#include "mjpegd/list_devices.h"
#include "mjpegd/source/libcamera_plugin.h"
#include "mjpegd/encoder.h"
#include "mjpegd/log.h"
#include "mjpegd/loop.h"
#include "mjpegd/macro.h"
#include "mjpegd/pipeline.h"
#include "mjpegd/process.h"
#include "mjpegd/http/server.h"
#include "mjpegd/systemd.h"

#define TICK_MS 250
/* In standby (--standby-after) nothing is open to supervise: the tick wakes once a second (or
 * four times per WatchdogSec when that is shorter, so the pings keep their time). */
#define TICK_STANDBY_MS 1000
#define SHUTDOWN_GRACE_MS 800
/* Encoded frames alive at once: one per client (each sends at most one), the newest, and the
 * encoder's in-flight ones. */
#define FRAME_POOL_EXTRA 6

struct app {
	struct config cfg;
	struct loop loop;
	struct pipeline *pipeline;
	struct server *server;
	uint64_t started_ns;
	bool stopping;

	int signal_fd;
	struct signalfd_siginfo siginfo;
	struct loop_op signal_op;
	bool signal_pending;

	unsigned max_clients_at_start;
	int argc; /* kept to re-read the configuration on SIGHUP */
	char **argv;
	struct systemd_notifier systemd;
	struct fault_plan faults; /* test binary only (MJPEGD_FAULT_INJECTION) */
	bool wedged;
	int listen_fds[4];

	uint64_t next_tick_ns; /* the tick is due then (tick_timeout_ms()) */
	struct loop_alarm tick_alarm; /* the loop's wait ends by next_tick_ns + TICK_SLACK_MS */
	/* --standby-after: the last HTTP connection seen (accepted, or still open) */
	uint64_t last_request_ns;
	uint64_t accepted_seen;

};

static void signal_arm(struct app *app);

static void on_frame(void *ctx, struct frame *f)
{
	struct app *app = ctx;
	server_publish(app->server, f);
}

/* --snapshot-size: a full-size frame encoded for the snapshots waiting */
static void on_full_frame(void *ctx, struct frame *f)
{
	struct app *app = ctx;
	server_publish_full(app->server, f);
}

/* --snapshot-size: a snapshot wants a full-size frame; -EOPNOTSUPP: none can come */
static int want_full(void *ctx)
{
	struct app *app = ctx;
	return app->pipeline ? pipeline_want_full(app->pipeline) : -EOPNOTSUPP;
}

/* --on-demand: a stream client watches, so every frame is encoded */
static bool viewers(void *ctx)
{
	struct app *app = ctx;
	return server_get_stats(app->server)->stream_clients > 0;
}

/* --on-demand: a snapshot waits, or a stream client just came */
static void want_frame(void *ctx)
{
	struct app *app = ctx;
	if (app->pipeline)
		pipeline_want_frame(app->pipeline);
}

/* --on-demand: whether the server's newest frame is the camera's newest */
static bool frame_current(void *ctx)
{
	struct app *app = ctx;
	return !app->pipeline || pipeline_frame_current(app->pipeline);
}

static void fill_status(void *ctx, struct status_snapshot *s)
{
	struct app *app = ctx;
	pipeline_fill_status(app->pipeline, s);
	s->version = MJPEGD_VERSION;
	s->uptime_ms = (now_mono_ns() - app->started_ns) / NSEC_PER_MSEC;
	s->loop_enters = app->loop.stats.enters;
	s->loop_completions = app->loop.stats.completions;
	s->loop_sends_announced = app->loop.stats.expected;
	s->loop_waits_bounded = app->loop.stats.bounded;
	const struct libcamera_plugin_info *lp = libcamera_plugin_info();
	s->libcamera_plugin = (struct status_libcamera_plugin){
		.state = libcamera_plugin_state_name(lp->state),
		.path = lp->path,
		.built_against = lp->built_against,
		.running = lp->running,
		.installed = lp->installed,
		.error = lp->error,
		.hint = lp->hint,
	};
}

/* GET /controls */
static int controls_json(void *ctx, bool writable, char **out, size_t *len)
{
	struct app *app = ctx;
	return pipeline_controls_json(app->pipeline, writable, out, len);
}

/* POST /controls: applied, then kept in the state file (src/pipeline_controls.c). */
static int controls_set(void *ctx, const char *body, size_t len, bool json, char *why,
			size_t whylen)
{
	struct app *app = ctx;
	return pipeline_set_controls(app->pipeline, body, len, json, why, whylen);
}

static void begin_shutdown(struct app *app, const char *why)
{
	if (app->stopping)
		return;
	app->stopping = true;
	log_info("shutting down (%s)", why);
	systemd_notify_stopping(&app->systemd);
	server_shutdown(app->server);
	pipeline_stop(app->pipeline);
	if (app->signal_pending) {
		struct io_uring_sqe *sqe = loop_sqe(&app->loop, NULL);
		io_uring_prep_cancel(sqe, &app->signal_op, 0);
	}
}

/* Compared as written, not byte by byte (struct padding and the bytes after a string's end). */
static bool listen_same(const struct config *a, const struct config *b)
{
	if (a->n_listen != b->n_listen)
		return false;
	for (unsigned i = 0; i < a->n_listen; i++) {
		char x[LISTEN_UNIX_PATH_MAX + 300], y[LISTEN_UNIX_PATH_MAX + 300];
		listen_address_describe(&a->listen[i], x, sizeof(x));
		listen_address_describe(&b->listen[i], y, sizeof(y));
		if (strcmp(x, y))
			return false;
	}
	return true;
}

/* SIGHUP: the --auth-file is read again (users added or removed, passwords changed). A file
 * that does not load leaves the users in use as they were. */
static void reload_auth(struct app *app, const struct config *old)
{
	struct auth_users *users = NULL;
	if (app->cfg.auth_file[0]) {
		char err[CONFIG_ERR_MAX + 64];
		int r = auth_users_load(app->cfg.auth_file, &users, err, sizeof(err));
		if (r < 0) {
			log_err("SIGHUP: keeping the users loaded before: %s", err);
			if (old != &app->cfg) {
				memcpy(app->cfg.auth_file, old->auth_file, sizeof(app->cfg.auth_file));
				memcpy(app->cfg.auth_exempt, old->auth_exempt,
				       sizeof(app->cfg.auth_exempt));
			}
			return;
		}
	}
	if (server_set_auth(app->server, users, app->cfg.auth_exempt) < 0)
		return;
	if (users)
		log_info("SIGHUP: %zu user(s) loaded from %s", users->n, app->cfg.auth_file);
	else if (old->auth_file[0])
		log_warn("SIGHUP: --auth-file removed: every URL is served without credentials");
}

/* SIGHUP: re-read the config file. What needs no restart applies now; the rest is reported. */
static void reload(struct app *app)
{
	if (!app->cfg.config_path[0]) {
		if (app->cfg.auth_file[0]) {
			reload_auth(app, &app->cfg);
			return;
		}
		log_notice("SIGHUP: no --config file to reload");
		return;
	}
	/* The file is read again under the same flags, so flags still win over it. */
	struct config next;
	char err[CONFIG_ERR_MAX];
	int r = config_parse_args(&next, app->argc, app->argv, err, sizeof(err));
	if (r < 0) {
		log_err("SIGHUP: keeping the running configuration: %s", err);
		return;
	}
	if (!listen_same(&next, &app->cfg))
		log_warn("SIGHUP: --listen changes take effect after a restart");
	memcpy(next.listen, app->cfg.listen, sizeof(next.listen));
	next.n_listen = app->cfg.n_listen;
	snprintf(next.inject_fault, sizeof(next.inject_fault), "%s", app->cfg.inject_fault);
	struct config old = app->cfg;
	app->cfg = next;
	if (next.log_level != old.log_level)
		log_set_level(next.log_level);
	/* The frame pool and the ring were sized for the clients allowed at start. */
	if (app->cfg.max_clients > app->max_clients_at_start) {
		log_warn("SIGHUP: max-clients above %u (the value at start) needs a restart; using %u",
			 app->max_clients_at_start, app->max_clients_at_start);
		app->cfg.max_clients = app->max_clients_at_start;
	}
	struct server_options so;
	config_server_options(&app->cfg, &so);
	server_apply(app->server, &so);
	reload_auth(app, &old);
	/* The pipeline compares them with its own copy: a new quality is set in place, camera or
	 * encoder settings restart only the device they concern, changed --control values are
	 * applied. */
	struct pipeline_options po;
	config_pipeline_options(&app->cfg, &po);
	pipeline_apply(app->pipeline, &po);
	log_info("SIGHUP: configuration reloaded from %s", app->cfg.config_path);
}

static void signal_complete(struct loop_op *op, int res, unsigned flags)
{
	(void)flags;
	struct app *app = container_of(op, struct app, signal_op);
	app->signal_pending = false;
	if (res == -ECANCELED || app->stopping)
		return;
	if (res < 0) {
		log_err_errno(res, "reading signalfd");
	} else if (res != (int)sizeof(app->siginfo)) {
		log_err("reading signalfd: short read");
	} else if (app->siginfo.ssi_signo == SIGHUP) {
		reload(app);
	} else {
		begin_shutdown(app, strsignal((int)app->siginfo.ssi_signo));
		return;
	}
	signal_arm(app);
}

static void signal_arm(struct app *app)
{
	struct io_uring_sqe *sqe = loop_sqe(&app->loop, &app->signal_op);
	io_uring_prep_read(sqe, app->signal_fd, &app->siginfo, sizeof(app->siginfo), 0);
	app->signal_pending = true;
}


/* Every TICK_MS: timeouts, supervision, the watchdog. The loop's wait ends by the next tick plus
 * TICK_SLACK_MS (tick_alarm, a timeout in the ring), so while frames flow at 20 fps or more the
 * tick runs in a wake-up they cause and costs no system call, and an iteration reads the clock
 * only when something in it needs the time. */
/* --standby-after: with no connection for that long, the camera and the encoder are closed (the
 * server's newest frame, which points into their memory, is let go first); a request wakes them
 * (want_frame()). */
static void check_standby(struct app *app, uint64_t now)
{
	const struct server_stats *ss = server_get_stats(app->server);
	if (ss->clients > 0 || ss->clients_accepted != app->accepted_seen) {
		app->last_request_ns = now;
		app->accepted_seen = ss->clients_accepted;
	}
	if (pipeline_in_standby(app->pipeline) ||
	    !standby_due(app->last_request_ns, now, app->cfg.standby_after, ss->clients))
		return;
	server_forget_newest(app->server);
	pipeline_standby(app->pipeline, now);
}

static void tick(struct app *app, uint64_t now)
{
	server_tick(app->server, now);
	check_standby(app, now);
	pipeline_tick(app->pipeline, now);
	/* Pinged from the loop itself: if the loop wedges, the pings stop and systemd restarts us. */
	systemd_watchdog_tick(&app->systemd, now);
	char status[200], devices[120];
	const struct server_stats *ss = server_get_stats(app->server);
	pipeline_describe(app->pipeline, devices, sizeof(devices));
	snprintf(status, sizeof(status), "%u stream client(s); %s", ss->stream_clients, devices);
	systemd_notify_status(&app->systemd, status);
	fault_loop_wedge(&app->faults, now - app->started_ns, &app->wedged);
}

/* Runs the tick when it is due and returns the loop's wait: -1 (no timeout of its own) while the
 * tick alarm is in the ring, else the time until the next tick. The wait may run TICK_SLACK_MS
 * past the tick, so that at 20 fps or more a frame's wake-up always comes first and runs the
 * tick. The clock is read here only when the alarm rang or the kernel refused it: an iteration
 * that read it anyway (a camera frame) is checked against the tick for free, one that did not (an
 * encoder's result, a send's completion) costs no clock read (a system call on a Pi Zero or
 * Pi 1, which have no vDSO clock). */
#define TICK_SLACK_MS 50
static int tick_timeout_ms(struct app *app)
{
	struct loop_alarm *alarm = &app->tick_alarm;
	uint64_t now = alarm->rang || alarm->refused ? loop_now(&app->loop)
						     : loop_now_if_read(&app->loop);
	bool due = now && now >= app->next_tick_ns;
	if (due) {
		tick(app, now);
		now = now_mono_ns(); /* the tick may have taken a while (a wedge fault) */
		uint64_t every = TICK_MS * NSEC_PER_MSEC;
		if (pipeline_in_standby(app->pipeline)) {
			every = TICK_STANDBY_MS * NSEC_PER_MSEC;
			if (app->systemd.watchdog_ns && app->systemd.watchdog_ns / 4 < every)
				every = app->systemd.watchdog_ns / 4;
		}
		app->next_tick_ns = now + every;
	}
	/* after a tick; or the alarm rang before the tick was due (the tick ran meanwhile and the
	 * alarm's update came too late): set it again */
	if (due || alarm->rang)
		loop_alarm_set(alarm, app->next_tick_ns + TICK_SLACK_MS * NSEC_PER_MSEC);
	if (!alarm->refused)
		return -1;
	/* refused: the time was read above, and a due tick has moved next_tick_ns past it */
	assert(now && now < app->next_tick_ns);
	return (int)((app->next_tick_ns - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC) + TICK_SLACK_MS;
}

/* "http://127.0.0.1:8000/stream.mjpg and unix:/run/mjpegd/mjpegd.sock": the first TCP address
 * with the port bound (for port 0), then the others. */
static void describe_listeners(const struct config *cfg, unsigned port, char *buf, size_t len)
{
	size_t used = 0;
	bool first_tcp = true;
	buf[0] = '\0';
	for (unsigned i = 0; i < cfg->n_listen && used < len; i++) {
		const struct listen_address *l = &cfg->listen[i];
		char one[LISTEN_UNIX_PATH_MAX + 300];
		if (!l->is_unix && first_tcp) {
			bool v6 = strchr(l->host, ':') != NULL;
			snprintf(one, sizeof(one), "http://%s%s%s:%u/stream.mjpg", v6 ? "[" : "", l->host,
				 v6 ? "]" : "", port);
			first_tcp = false;
		} else {
			listen_address_describe(l, one, sizeof(one));
		}
		int w = snprintf(buf + used, len - used, "%s%s", i ? " and " : "", one);
		if (w < 0)
			return;
		used += (size_t)w;
	}
}

static unsigned ring_entries(unsigned max_clients)
{
	unsigned want = max_clients + 32, n = 64;
	while (n < want && n < 4096)
		n <<= 1;
	return n;
}

int main(int argc, char **argv)
{
	static struct app app; /* zeroed; the one instance of the application state */
	char err[CONFIG_ERR_MAX] = "";
	int r = config_parse_args(&app.cfg, argc, argv, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "mjpegd: %s\n", err);
		return 2;
	}
	if (r == CONFIG_HELP) {
		config_print_help(stdout);
		return 0;
	}
	if (r == CONFIG_VERSION) {
		printf("mjpegd %s\n", MJPEGD_VERSION);
		return 0;
	}
	if (r == CONFIG_LIST_DEVICES)
		return list_devices(app.cfg.m2m_format == M2M_FORMAT_FWHT ? V4L2_PIX_FMT_FWHT
									  : V4L2_PIX_FMT_JPEG);
	app.argc = argc;
	app.argv = argv;
	app.max_clients_at_start = app.cfg.max_clients;
	log_set_level(app.cfg.log_level);
	/* --inject-fault exists in the test binary only; elsewhere the plan stays empty. */
	r = fault_plan_parse(app.cfg.inject_fault, &app.faults, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "mjpegd: --inject-fault: %s\n", err);
		return 2;
	}
	app.started_ns = now_mono_ns();
	app.last_request_ns = app.started_ns;
	app.signal_op.complete = signal_complete;

	process_raise_open_file_limit(app.cfg.max_clients);
	app.signal_fd = process_signals_open();
	if (app.signal_fd < 0) {
		log_err_errno(app.signal_fd, "cannot set up signal handling");
		return 1;
	}
	r = loop_init(&app.loop, ring_entries(app.cfg.max_clients));
	if (r < 0)
		return 1;
	systemd_notifier_init(&app.systemd);
	int n_listen_fds = systemd_listen_fds(app.listen_fds, 4);
	if (n_listen_fds < 0) {
		r = n_listen_fds;
		goto out;
	}

	struct auth_users *users = NULL;
	if (app.cfg.auth_file[0]) {
		char aerr[CONFIG_ERR_MAX + 64];
		r = auth_users_load(app.cfg.auth_file, &users, aerr, sizeof(aerr));
		if (r < 0) {
			log_err("%s", aerr);
			goto out;
		}
		log_info("%zu user(s) loaded from %s; every URL asks for credentials%s%s", users->n,
			 app.cfg.auth_file, app.cfg.auth_exempt[0] ? " except " : "",
			 app.cfg.auth_exempt);
	}

	struct server_params sp = {
		.loop = &app.loop,
		.status_fill = fill_status,
		.status_ctx = &app,
		.listen_fds = app.listen_fds,
		.n_listen_fds = (unsigned)n_listen_fds,
		.auth_users = users,
		.controls_json = controls_json,
		.controls_set = controls_set,
		.controls_ctx = &app,
		.want_frame = want_frame,
		.frame_current = frame_current,
		.want_full = want_full,
		.want_frame_ctx = &app,
	};
	config_server_options(&app.cfg, &sp.opt);
	r = server_create(&sp, &app.server);
	if (r < 0) {
		free(users);
		goto out;
	}

	struct pipeline_options po;
	config_pipeline_options(&app.cfg, &po);
	struct pipeline_params pp = {
		.loop = &app.loop,
		.options = &po,
		.frame_pool_capacity = app.cfg.max_clients + FRAME_POOL_EXTRA,
		.on_frame = on_frame,
		.on_full_frame = on_full_frame,
		.on_frame_ctx = &app,
		.viewers = viewers,
	};
	r = pipeline_create(&pp, &app.pipeline);
	if (r < 0)
		goto out;

	server_start(app.server);
	pipeline_start(app.pipeline);
	signal_arm(&app);
	app.next_tick_ns = now_mono_ns() + TICK_MS * NSEC_PER_MSEC;
	loop_alarm_init(&app.tick_alarm, &app.loop);
	loop_alarm_set(&app.tick_alarm, app.next_tick_ns + TICK_SLACK_MS * NSEC_PER_MSEC);
	char where[CONFIG_LISTEN_MAX * (LISTEN_UNIX_PATH_MAX + 300)];
	if (n_listen_fds > 0 && server_port(app.server))
		snprintf(where, sizeof(where), "socket-activated port %u", server_port(app.server));
	else if (n_listen_fds > 0)
		snprintf(where, sizeof(where), "socket-activated unix socket(s)");
	else
		describe_listeners(&app.cfg, server_port(app.server), where, sizeof(where));
	log_notice("mjpegd %s serving %s", MJPEGD_VERSION, where);
	systemd_notify_ready(&app.systemd, "serving");

	while (!app.stopping) {
		r = loop_run_once(&app.loop, tick_timeout_ms(&app));
		if (r < 0) {
			log_err_errno(r, "event loop failed");
			goto out;
		}
	}
	uint64_t give_up = now_mono_ns() + SHUTDOWN_GRACE_MS * NSEC_PER_MSEC;
	while (!(server_drained(app.server) && pipeline_drained(app.pipeline) &&
		 !app.signal_pending) && now_mono_ns() < give_up)
		if (loop_run_once(&app.loop, 50) < 0)
			break;
	r = 0;
out:
	/* The ring goes first so no operation can still touch client memory; the server then drops
	 * its frames (handing passthrough buffers back through the encoder), then the pipeline. */
	loop_destroy(&app.loop);
	server_destroy(app.server);
	pipeline_destroy(app.pipeline);
	/* an M2M encoder's teardown may still be waiting for its device (up to 2 s per queue on a
	 * Pi): let it finish, within systemd's stop timeout */
	encoder_m2m_wait_teardowns(6000);
	if (app.signal_fd >= 0)
		close(app.signal_fd);
	if (r == 0)
		log_info("stopped");
	return r < 0 ? 1 : 0;
}
