/* The line builder of the refreshing screens (see term.h). */
#include "term.h"

#include <stdarg.h>
#include <string.h>

#include "out.h"

void term_line_init(struct term_line *l, int width)
{
	l->n = 0;
	l->w = 0;
	l->width = width;
	l->esc = false;
	l->buf[0] = '\0';
}

void term_raw(struct term_line *l, const char *s, size_t n)
{
	if (l->n + n >= sizeof l->buf)
		n = sizeof l->buf - 1 - l->n;
	memcpy(l->buf + l->n, s, n);
	l->n += n;
	l->buf[l->n] = '\0';
}

/* Visible text, cut with "…" at the width. */
void term_add(struct term_line *l, const char *s)
{
	char cut[512];
	int tw = out_text_width(s);

	if (l->width > 0 && l->w + tw > l->width) {
		if (l->w >= l->width)
			return;
		s = out_fit(cut, sizeof cut, s, l->width - l->w);
		tw = out_text_width(s);
	}
	term_raw(l, s, strlen(s));
	l->w += tw;
}

void term_addf(struct term_line *l, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	term_add(l, buf);
}

/* Text padded (or cut) to exactly w columns; left or right aligned. */
void term_col(struct term_line *l, const char *s, int w, bool left)
{
	char cut[512];
	s = out_fit(cut, sizeof cut, s, w);
	int pad = w - out_text_width(s);
	if (left)
		term_addf(l, "%s%*s", s, pad > 0 ? pad : 0, "");
	else
		term_addf(l, "%*s%s", pad > 0 ? pad : 0, "", s);
}

/* An escape sequence (no width), only while the line has room. */
void term_esc(struct term_line *l, bool color, const char *seq)
{
	if (!color || (l->width > 0 && l->w >= l->width))
		return;
	term_raw(l, seq, strlen(seq));
	l->esc = true;
}

void term_pad_to(struct term_line *l, int col)
{
	if (l->w < col)
		term_addf(l, "%*s", col - l->w, "");
}

bool term_full(const struct term_scr *s)
{
	return s->max_lines > 0 && s->lines >= s->max_lines;
}

void term_emit(struct term_scr *s, struct term_line *l)
{
	if (term_full(s))
		return;
	if (l->esc)
		term_raw(l, OUT_RESET, strlen(OUT_RESET));
	/* no trailing blanks */
	while (l->n > 0 && l->buf[l->n - 1] == ' ')
		l->buf[--l->n] = '\0';
	fputs(l->buf, s->f);
	fputc('\n', s->f);
	s->lines++;
}

void term_blank(struct term_scr *s)
{
	struct term_line l;
	term_line_init(&l, s->width);
	term_emit(s, &l);
}
