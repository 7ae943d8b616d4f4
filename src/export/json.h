/*
 * json.h - JSON strings written to a stream, and the UTF-8 check the
 * exporters share.
 *
 * Function names and paths come from the target's files and memory: any
 * byte may be in them.  json_put_string always writes a valid JSON string
 * of valid UTF-8: quotes, backslashes and control bytes are escaped, and
 * every byte that does not start a well-formed UTF-8 sequence (stray
 * continuation bytes, overlong forms, surrogates, code points above
 * U+10FFFF, sequences cut short) becomes U+FFFD, one per byte, so nothing
 * a reader would reject is ever written.  Used by the speedscope exporter;
 * utf8_seq_len also by the SVG writer.
 */
#ifndef PERTOP_JSON_H
#define PERTOP_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Length (1-4) of the well-formed UTF-8 sequence at s, which has len bytes
 * left; 0 when s does not start one. */
size_t utf8_seq_len(const unsigned char *s, size_t len);

/* Writes s (NUL-terminated; NULL writes "") as a quoted JSON string. */
void json_put_string(FILE *f, const char *s);

#endif
