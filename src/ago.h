/*
 * ago.h: "N mins ago", the relative age the recent-posts widget shows.
 */
#ifndef FRESHET_AGO_H
#define FRESHET_AGO_H

#include <stddef.h>
#include <stdint.h>

/* Writes the age of a thing dated then, seen at now, into buf: "just now"
 * (under a minute, or in the future), "1 min ago", "12 mins ago", "1 hour
 * ago", "1 day ago", "1 week ago", "1 month ago", "2 years ago": whole
 * units rounded down, singular for 1. Returns buf. */
const char *ago_format(int64_t then, int64_t now, char *buf, size_t size);

#endif
