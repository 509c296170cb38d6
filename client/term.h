/*
 * The line builder of rmonctl's refreshing screens (watch's process view,
 * the device view, the summaries): a line knows its visible width, so
 * it never wraps on the terminal whatever the daemon sends, colour
 * sequences take no columns, and a screen never writes more lines than
 * the terminal has.
 */
#ifndef RMON_CLIENT_TERM_H
#define RMON_CLIENT_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct term_line {
	char buf[2048];
	size_t n;
	int w, width;   /* visible columns used, allowed (0: no limit) */
	bool esc;       /* an escape sequence was added */
};

void term_line_init(struct term_line *l, int width);
/* Bytes as they are: no width accounting (escape sequences, resets). */
void term_raw(struct term_line *l, const char *s, size_t n);
/* Visible text, cut with "…" at the width. */
void term_add(struct term_line *l, const char *s);
void term_addf(struct term_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text padded (or cut) to exactly w columns; left or right aligned. */
void term_col(struct term_line *l, const char *s, int w, bool left);
/* An escape sequence (no width), only with colour and while the line
 * has room. */
void term_esc(struct term_line *l, bool color, const char *seq);
/* Spaces up to column col. */
void term_pad_to(struct term_line *l, int col);

/* The screen: lines written so far, and how many it may take. */
struct term_scr {
	FILE *f;
	bool color;
	int width;
	int max_lines;   /* 0: no limit */
	int lines;
};

bool term_full(const struct term_scr *s);
/* Write the line (with a colour reset when it has escapes, without
 * trailing blanks), unless the screen is full. */
void term_emit(struct term_scr *s, struct term_line *l);
void term_blank(struct term_scr *s);

#endif
