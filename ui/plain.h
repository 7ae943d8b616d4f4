/*
 * plain.h - the plain-text live display for a stdout that is not a
 * terminal (a pipe, a file) without --batch: the text snapshot, or the
 * --view / --thread / --module view a batch run would print, written every
 * interval.  Reads only through the session, never the target.
 */
#ifndef PERTOP_PLAIN_H
#define PERTOP_PLAIN_H

#include <stdbool.h>
#include <stdio.h>

struct session;
struct cli_opts;

/* Redraw: clears the terminal first when out is one. */
int plain_show(struct session *s, const struct cli_opts *o, FILE *out);

#endif
