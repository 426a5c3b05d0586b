/* The daemon's process-wide set-up, done once at start by main() before any thread starts. */
#ifndef MJPEGD_PROCESS_H
#define MJPEGD_PROCESS_H

/* SIGINT, SIGTERM and SIGHUP blocked and delivered through the returned signalfd (non-blocking,
 * close-on-exec; read on the loop), SIGPIPE ignored. A negative errno on failure. */
int process_signals_open(void);

/* The soft open-file limit raised for max_clients clients plus the daemon's own descriptors, as
 * far as the hard limit allows (an unprivileged process may); what is still short is logged. */
void process_raise_open_file_limit(unsigned max_clients);

#endif
