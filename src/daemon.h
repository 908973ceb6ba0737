/*
 * daemon.h: `freshet run` and `freshet poll`: the libuv loop that wires
 * config, scheduler, fetcher, parser, store and publisher together.
 */
#ifndef FRESHET_DAEMON_H
#define FRESHET_DAEMON_H

#include <stdbool.h>

enum daemon_mode {
  DAEMON_RUN,      /* poll forever, feeds as they fall due */
  DAEMON_POLL_DUE, /* one pass over the feeds due now, then exit */
  DAEMON_POLL_ALL, /* one pass over every enabled feed, then exit */
};

/* Runs until SIGTERM/SIGINT (DAEMON_RUN) or until the pass is done.
 * config_path may be NULL (defaults, see config_load). Returns the process
 * exit code: 0 ok, 1 runtime failure, 2 configuration error. */
int daemon_main(const char *config_path, enum daemon_mode mode);

#endif
