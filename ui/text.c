/*
 * text.c - see text.h.
 */
#include "ui/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void line_init(struct ui_line *l, enum ui_role role)
{
    l->text[0] = '\0';
    l->len = 0;
    l->role = (uint8_t)role;
    l->nspan = 0;
}

static void add_span(struct ui_line *l, enum ui_role role, size_t start)
{
    if (role == l->role || l->len == start)
        return;
    /* merge with the previous span when it is the same role and adjacent */
    struct ui_span *p = l->nspan ? &l->span[l->nspan - 1] : NULL;
    if (p && p->role == role && p->start + p->len == start) {
        p->len = (uint16_t)(l->len - p->start);
        return;
    }
    if (l->nspan == UI_SPANS_MAX)
        return; /* more colours than room: the text stays, in the line's role */
    l->span[l->nspan++] = (struct ui_span){(uint16_t)start, (uint16_t)(l->len - start), role};
}

static void append(struct ui_line *l, enum ui_role role, const char *s, size_t n)
{
    size_t room = UI_LINE_MAX - 1 - l->len;
    if (n > room)
        n = room;
    size_t start = l->len;
    memcpy(l->text + l->len, s, n);
    l->len += n;
    l->text[l->len] = '\0';
    add_span(l, role, start);
}

void line_add(struct ui_line *l, enum ui_role role, const char *fmt, ...)
{
    char buf[UI_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    append(l, role, buf, strlen(buf));
}

static bool is_cont(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

int text_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += !is_cont((unsigned char)*s);
    return w;
}

size_t text_bytes_for(const char *s, int cols)
{
    size_t i = 0;
    int w = 0;
    while (s[i]) {
        if (!is_cont((unsigned char)s[i])) {
            if (w == cols)
                break;
            w++;
        }
        i++;
    }
    return i;
}

void line_col(struct ui_line *l, enum ui_role role, const char *s, int cols, bool right)
{
    if (cols <= 0)
        return;
    if (!s)
        s = "";
    size_t nb = text_bytes_for(s, cols);
    int w = text_width(s);
    int pad = w < cols ? cols - w : 0;
    char sp[UI_COLS_MAX + 1];
    if (pad > UI_COLS_MAX)
        pad = UI_COLS_MAX;
    memset(sp, ' ', (size_t)pad);
    if (right && pad)
        append(l, role, sp, (size_t)pad);
    append(l, role, s, nb);
    if (!right && pad)
        append(l, role, sp, (size_t)pad);
}

int line_width(const struct ui_line *l)
{
    return text_width(l->text);
}

void line_write(const struct ui_line *l, FILE *f)
{
    size_t n = l->len;
    while (n && l->text[n - 1] == ' ')
        n--;
    fwrite(l->text, 1, n, f);
    fputc('\n', f);
}

void line_pad(struct ui_line *l, int cols)
{
    int w = line_width(l);
    if (w < cols)
        line_col(l, (enum ui_role)l->role, "", cols - w, false);
}

void line_cut(struct ui_line *l, int cols)
{
    size_t nb = text_bytes_for(l->text, cols < 0 ? 0 : cols);
    if (nb >= l->len)
        return;
    l->len = nb;
    l->text[nb] = '\0';
    unsigned k = 0;
    for (unsigned i = 0; i < l->nspan; i++) {
        struct ui_span sp = l->span[i];
        if (sp.start >= nb)
            continue;
        if (sp.start + sp.len > nb)
            sp.len = (uint16_t)(nb - sp.start);
        l->span[k++] = sp;
    }
    l->nspan = k;
}

/* ------------------------------------------------------------ numbers */

static void scaled(char *buf, size_t n, double v, const char *const *units, size_t nunits,
                   const char *suffix)
{
    size_t u = 0;
    while (v >= 1000.0 && u + 1 < nunits) {
        v /= 1024.0;
        u++;
    }
    if (v == 0)
        snprintf(buf, n, "0%s", suffix);
    else if (u == 0 || v >= 100.0)
        snprintf(buf, n, "%.0f%s%s", v, units[u], suffix);
    else
        snprintf(buf, n, "%.1f%s%s", v, units[u], suffix);
}

void fmt_kib(char *buf, size_t n, uint64_t kib)
{
    static const char *const units[] = {"K", "M", "G", "T"};
    scaled(buf, n, (double)kib, units, 4, "");
}

void fmt_rate(char *buf, size_t n, double bps)
{
    static const char *const units[] = {"", "K", "M", "G", "T"};
    scaled(buf, n, bps < 0 ? 0 : bps, units, 5, "/s");
}

void fmt_count(char *buf, size_t n, double v)
{
    if (v < 0)
        v = 0;
    if (v < 10.0 && v != (double)(uint64_t)v)
        snprintf(buf, n, "%.1f", v);
    else if (v < 10000.0)
        snprintf(buf, n, "%.0f", v);
    else if (v < 10e6)
        snprintf(buf, n, "%.1fk", v / 1e3);
    else
        snprintf(buf, n, "%.1fM", v / 1e6);
}

void fmt_secs(char *buf, size_t n, double s)
{
    if (s < 0)
        s = 0;
    if (s < 10.0)
        snprintf(buf, n, "%.2fs", s);
    else if (s < 60.0)
        snprintf(buf, n, "%.1fs", s);
    else if (s < 3600.0)
        snprintf(buf, n, "%d:%02d", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
}
