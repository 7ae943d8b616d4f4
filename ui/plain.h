/*
 * plain.h - the plain-text live display: the text snapshot redrawn every
 * interval.  Stands in until the ncurses screen; reads only through the
 * session, never the target.
 */
#ifndef PERTOP_PLAIN_H
#define PERTOP_PLAIN_H

#include <stdbool.h>
#include <stdio.h>

struct session;

/* Redraw: clears the terminal first when out is one. */
int plain_show(struct session *s, FILE *out);

#endif
