/*
 * export_svg.c - see export_svg.h.
 *
 * Layout as flamegraph.pl's flow(): the stacks, sorted by their frames'
 * names root first, are walked in order while a running sample count x
 * advances by each stack's count.  A frame opens at the x where a stack
 * first differs from the previous one at its level and closes where a
 * later stack differs again, so [open, close) is exactly the samples of
 * the stacks that share that prefix.  Each frame is written when it
 * closes; nothing but the current path is kept.
 */
#include "src/export/export_svg.h"
#include "common/hash.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/export/json.h"

#define CHAR_WIDTH  7.0 /* Verdana 12px, on average: labels are cut to fit */
#define LABEL_INSET 3.0
#define THREAD_KEY  (1ull << 63) /* a level key: function id, or this | tid */
#define ALL_KEY     UINT64_MAX

static const char script[] =
    "var frames = [], plotX = "
    "10"
    ", plotW, total, fontW = 7, searching = false;\n"
    "function byId(id) { return document.getElementById(id); }\n"
    "function setText(id, s) { byId(id).textContent = s; }\n"
    "function init(evt) {\n"
    "  plotW = +byId('all').getAttribute('width');\n"
    "  /* zoom and search work in samples (data-s is where a frame starts), exact\n"
    "   * where the pixels written are rounded */\n"
    "  var gs = byId('frames').getElementsByTagName('g');\n"
    "  for (var i = 0; i < gs.length; i++) {\n"
    "    var g = gs[i], r = g.getElementsByTagName('rect')[0];\n"
    "    var title = g.getElementsByTagName('title')[0].textContent;\n"
    "    var m = /^([\\s\\S]*) \\((\\d+) samples?, [\\d.]+%\\)$/.exec(title);\n"
    "    /* the details line: the title, then where the function is */\n"
    "    var loc = g.getAttribute('data-loc'), line = loc ? title + ' \\u2014 ' + loc : title;\n"
    "    var f = {g: g, r: r, t: g.getElementsByTagName('text')[0], title: title, line: line,\n"
    "             name: m ? m[1] : title, n: m ? +m[2] : 0, s: +g.getAttribute('data-s'),\n"
    "             x: +r.getAttribute('x'),\n"
    "             w: +r.getAttribute('width'), y: +r.getAttribute('y'),\n"
    "             fill: r.getAttribute('fill')};\n"
    "    frames.push(f);\n"
    "    if (g.id === 'allg') total = f.n;\n"
    "    g.onmouseover = (function (f) { return function () { setText('details', f.line); }; "
    "})(f);\n"
    "    g.onmouseout = function () { setText('details', ' '); };\n"
    "    g.onclick = (function (f) { return function () { zoom(f); }; })(f);\n"
    "  }\n"
    "  byId('reset').onclick = unzoom;\n"
    "  byId('search').onclick = function () { if (searching) clearSearch(); else search(); };\n"
    "  window.addEventListener('keydown', function (e) {\n"
    "    if ((e.ctrlKey || e.metaKey) && e.keyCode === 70) { e.preventDefault(); search(); }\n"
    "  });\n"
    "}\n"
    "function label(f, w) {\n"
    "  var n = Math.floor((w - 6) / fontW), s = f.name;\n"
    "  if (n < 3) s = ''; else if (s.length > n) s = s.substr(0, n - 2) + '..';\n"
    "  f.t.textContent = s;\n"
    "}\n"
    "function place(f, x, w) {\n"
    "  f.r.setAttribute('x', x.toFixed(3)); f.r.setAttribute('width', w.toFixed(3));\n"
    "  f.t.setAttribute('x', (x + 3).toFixed(3)); label(f, w);\n"
    "}\n"
    "function zoom(z) {\n"
    "  if (!z.n) return;\n"
    "  var s = plotW / z.n;\n"
    "  for (var i = 0; i < frames.length; i++) {\n"
    "    var f = frames[i], st = f.g.style;\n"
    "    if (f.y <= z.y && f.s >= z.s && f.s + f.n <= z.s + z.n) {\n"
    "      st.display = ''; st.opacity = ''; place(f, plotX + (f.s - z.s) * s, f.n * s);\n"
    "    } else if (f.y > z.y && f.s <= z.s && f.s + f.n >= z.s + z.n) {\n"
    "      st.display = ''; st.opacity = '0.6'; place(f, plotX, plotW);\n"
    "    } else {\n"
    "      st.display = 'none';\n"
    "    }\n"
    "  }\n"
    "  byId('reset').style.display = z.g.id === 'allg' ? 'none' : '';\n"
    "}\n"
    "function unzoom() {\n"
    "  for (var i = 0; i < frames.length; i++) {\n"
    "    var f = frames[i]; f.g.style.display = ''; f.g.style.opacity = ''; place(f, f.x, f.w);\n"
    "  }\n"
    "  byId('reset').style.display = 'none';\n"
    "}\n"
    "function search() {\n"
    "  var term = prompt('Search function names (a regular expression):', '');\n"
    "  if (term === null || term === '') return;\n"
    "  var re;\n"
    "  try { re = new RegExp(term); } catch (e) { alert('Not a regular expression: ' + e.message); "
    "return; }\n"
    "  var iv = [];\n"
    "  for (var i = 0; i < frames.length; i++) {\n"
    "    var f = frames[i];\n"
    "    if (f.g.id !== 'allg' && re.test(f.name)) {\n"
    "      f.r.setAttribute('fill', 'rgb(230,0,230)'); iv.push([f.s, f.s + f.n]);\n"
    "    } else f.r.setAttribute('fill', f.fill);\n"
    "  }\n"
    "  /* a match inside a match is not counted twice: merge the ranges */\n"
    "  iv.sort(function (a, b) { return a[0] - b[0]; });\n"
    "  var sum = 0, end = -Infinity;\n"
    "  for (var k = 0; k < iv.length; k++) {\n"
    "    if (iv[k][0] >= end) { sum += iv[k][1] - iv[k][0]; end = iv[k][1]; }\n"
    "    else if (iv[k][1] > end) { sum += iv[k][1] - end; end = iv[k][1]; }\n"
    "  }\n"
    "  searching = true; setText('search', 'Reset Search');\n"
    "  setText('matched', 'Matched: ' + (total ? 100 * sum / total : 0).toFixed(1) + '% (' + "
    "term + ')');\n"
    "}\n"
    "function clearSearch() {\n"
    "  for (var i = 0; i < frames.length; i++) frames[i].r.setAttribute('fill', frames[i].fill);\n"
    "  searching = false; setText('search', 'Search'); setText('matched', ' ');\n"
    "}\n";

void svg_opts_default(struct svg_opts *o)
{
    memset(o, 0, sizeof *o);
    o->width = 1200;
    o->min_width = 0.1;
}

/* ------------------------------------------------------------ text */

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/* Length of the character at s as written (0 = end), and what to write. */
static size_t next_char(const unsigned char *s, size_t len, const char **out, size_t *outn)
{
    if (len == 0)
        return 0;
    size_t n = utf8_seq_len(s, len);
    /* XML 1.0 allows no control characters but tab and newlines, and
     * neither U+FFFE nor U+FFFF */
    bool bad = n == 0 || (s[0] < 0x20 && s[0] != '\t' && s[0] != '\n' && s[0] != '\r') ||
               (n == 3 && s[0] == 0xef && s[1] == 0xbf && s[2] >= 0xbe);
    static const char *const ent[128] = {
        ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&apos;"};
    if (bad) {
        *out = replacement;
        *outn = 3;
        return n ? n : 1;
    }
    if (s[0] < 0x80 && ent[s[0]]) {
        *out = ent[s[0]];
        *outn = strlen(ent[s[0]]);
    } else {
        *out = (const char *)s;
        *outn = n;
    }
    return n;
}

static size_t count_chars(const unsigned char *s, size_t len)
{
    size_t chars = 0;
    for (size_t i = 0; i < len; chars++) {
        size_t n = utf8_seq_len(s + i, len - i);
        i += n ? n : 1;
    }
    return chars;
}

size_t svg_put_text(FILE *f, const char *str, size_t max_chars)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t len = strlen((const char *)s);
    size_t total = count_chars(s, len);
    size_t keep = total <= max_chars ? total : (max_chars >= 3 ? max_chars - 2 : 0);
    size_t i = 0, written = 0;
    for (; written < keep; written++) {
        const char *out = "";
        size_t outn = 0;
        i += next_char(s + i, len - i, &out, &outn);
        fwrite(out, 1, outn, f);
    }
    if (keep < total && keep > 0) {
        fputs("..", f);
        written += 2;
    }
    return written;
}

/* ------------------------------------------------------------ colours */

static uint32_t name_hash(const char *s)
{
    /* FNV-1a: the same across runs and builds, so a function keeps its colour */
    return hash_fnv1a32(s ? s : "");
}

static double unit(uint32_t h, int shift)
{
    return (double)((h >> shift) & 0xff) / 255.0;
}

enum svg_kind { KIND_NATIVE, KIND_PYTHON, KIND_OTHER };

/* Python functions have no module but a file; special frames are
 * "[...]"; native code without a symbol is "module+0x...". */
static enum svg_kind kind_of(const struct func_info *fi)
{
    const char *name = fi->name ? fi->name : "";
    if (name[0] == '[' || !name[0] || strstr(name, "+0x"))
        return KIND_OTHER;
    if (!fi->module || !fi->module[0])
        return fi->file && fi->file[0] ? KIND_PYTHON : KIND_OTHER;
    return KIND_NATIVE;
}

static void put_colour(FILE *f, const struct func_info *fi)
{
    uint32_t hn = name_hash(fi->name);
    int r, g, b;
    switch (kind_of(fi)) {
    case KIND_NATIVE: {
        /* the module picks the band of hues, the name a shade within it */
        double vm = unit(name_hash(fi->module), 0), vn = unit(hn, 8);
        r = 205 + (int)(50 * vn);
        g = 40 + (int)(150 * vm) + (int)(40 * unit(hn, 16));
        b = (int)(55 * unit(hn, 0));
        break;
    }
    case KIND_PYTHON:
        r = 50 + (int)(60 * unit(hn, 0));
        g = 165 + (int)(55 * unit(hn, 8));
        b = 165 + (int)(55 * unit(hn, 16));
        break;
    default:
        r = g = b = 165 + (int)(40 * unit(hn, 0));
        break;
    }
    fprintf(f, "rgb(%d,%d,%d)", r, g, b);
}

#define SLATE "rgb(200,205,225)"

/* ------------------------------------------------------------ layout */

struct flow {
    FILE *f;
    const struct stack_table *t;
    const struct resolver *r;
    const struct svg_opts *o;
    uint64_t total;
    double scale; /* pixels per sample */
    unsigned height;
    size_t levels;   /* longest path, the thread level included */
    uint64_t *path;  /* keys of the current path */
    uint64_t *start; /* where each of its frames opened, in samples */
    size_t depth, *order;
};

static size_t row_len(const struct flow *fl, const struct stack_row *row)
{
    return row->n + (fl->o->threads ? 1 : 0);
}

static uint64_t row_key(const struct flow *fl, const struct stack_row *row, size_t level)
{
    if (fl->o->threads) {
        if (level == 0)
            return THREAD_KEY | (uint32_t)row->tid;
        level--;
    }
    return row->frames[level].func;
}

/* The name a key shows: "name-tid" for a thread. */
static const char *key_name(const struct flow *fl, uint64_t key, char *buf, size_t size)
{
    if (key & THREAD_KEY) {
        pid_t tid = (pid_t)(uint32_t)key;
        const char *n =
            tid && fl->o->thread_name ? fl->o->thread_name(fl->o->thread_ctx, tid) : NULL;
        if (!tid)
            snprintf(buf, size, "[not under a thread]");
        else
            snprintf(buf, size, "%.200s-%d", n && n[0] ? n : "thread", (int)tid);
        return buf;
    }
    const struct func_info *fi = fl->r->func(fl->r->ctx, (uint32_t)key);
    return fi->name ? fi->name : "?";
}

static int cmp_rows(const void *a, const void *b, void *ctx)
{
    const struct flow *fl = ctx;
    const struct stack_row *x = &fl->t->rows[*(const size_t *)a];
    const struct stack_row *y = &fl->t->rows[*(const size_t *)b];
    size_t nx = row_len(fl, x), ny = row_len(fl, y);
    char bx[256], by[256];
    for (size_t l = 0; l < nx && l < ny; l++) {
        uint64_t kx = row_key(fl, x, l), ky = row_key(fl, y, l);
        if (kx == ky)
            continue;
        int c = strcmp(key_name(fl, kx, bx, sizeof bx), key_name(fl, ky, by, sizeof by));
        if (c)
            return c;
        return kx < ky ? -1 : 1;
    }
    return nx < ny ? -1 : nx > ny;
}

static void put_label(struct flow *fl, const char *name, double w)
{
    double chars = (w - 2 * LABEL_INSET) / CHAR_WIDTH;
    if (chars >= 3)
        svg_put_text(fl->f, name, (size_t)chars);
}

/* data-loc="file:line, module" (what is known of them), for the details
 * line the script shows on hover. */
static void put_location(FILE *f, const struct func_info *fi)
{
    bool file = fi->file && fi->file[0], mod = fi->module && fi->module[0];
    if (!file && !mod)
        return;
    fputs(" data-loc=\"", f);
    if (file) {
        svg_put_text(f, fi->file, SIZE_MAX);
        if (fi->line > 0)
            fprintf(f, ":%d", fi->line);
    }
    if (mod) {
        fputs(file ? ", " : "", f);
        svg_put_text(f, fi->module, SIZE_MAX);
    }
    fputc('"', f);
}

/* One frame: level 0 is the first level above "all". */
static void close_frame(struct flow *fl, size_t level, uint64_t key, uint64_t from, uint64_t to)
{
    double w = (double)(to - from) * fl->scale;
    if (w < fl->o->min_width)
        return;
    double x = SVG_PAD_X + (double)from * fl->scale;
    unsigned y = fl->height - SVG_PAD_BOTTOM - (unsigned)(level + 2) * SVG_FRAME_HEIGHT;
    char buf[256];
    const char *name = key_name(fl, key, buf, sizeof buf);
    fprintf(fl->f, "<g data-s=\"%" PRIu64 "\"", from);
    if (!(key & THREAD_KEY))
        put_location(fl->f, fl->r->func(fl->r->ctx, (uint32_t)key));
    fputs("><title>", fl->f);
    svg_put_text(fl->f, name, SIZE_MAX);
    fprintf(fl->f, " (%" PRIu64 " sample%s, %.2f%%)</title>", to - from, to - from == 1 ? "" : "s",
            100.0 * (double)(to - from) / (double)fl->total);
    fprintf(fl->f, "<rect x=\"%.3f\" y=\"%u\" width=\"%.3f\" height=\"%d\" rx=\"2\" fill=\"", x, y,
            w, SVG_FRAME_HEIGHT - 1);
    if (key & THREAD_KEY)
        fputs(SLATE, fl->f);
    else
        put_colour(fl->f, fl->r->func(fl->r->ctx, (uint32_t)key));
    fprintf(fl->f, "\"/><text x=\"%.3f\" y=\"%u\">", x + LABEL_INSET, y + 11);
    put_label(fl, name, w);
    fputs("</text></g>\n", fl->f);
}

/* Walks the sorted rows; see the top of this file. */
static void flow_rows(struct flow *fl)
{
    uint64_t x = 0;
    for (size_t i = 0; i < fl->t->n; i++) {
        const struct stack_row *row = &fl->t->rows[fl->order[i]];
        size_t len = row_len(fl, row), same = 0;
        while (same < fl->depth && same < len && fl->path[same] == row_key(fl, row, same))
            same++;
        for (size_t l = fl->depth; l-- > same;)
            close_frame(fl, l, fl->path[l], fl->start[l], x);
        for (size_t l = same; l < len; l++) {
            fl->path[l] = row_key(fl, row, l);
            fl->start[l] = x;
        }
        fl->depth = len;
        x += row->count;
    }
    for (size_t l = fl->depth; l-- > 0;)
        close_frame(fl, l, fl->path[l], fl->start[l], x);
}

/* ------------------------------------------------------------ document */

static void write_head(struct flow *fl)
{
    FILE *f = fl->f;
    unsigned w = fl->o->width, h = fl->height;
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
            "<svg version=\"1.1\" width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\" "
            "xmlns=\"http://www.w3.org/2000/svg\" onload=\"init(evt)\">\n",
            w, h, w, h);
    fputs("<style>text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; }\n"
          "#frames text { pointer-events: none; } #frames rect { stroke: #fff; stroke-width: 0.5; "
          "cursor: pointer; }\n#title { font-size: 17px; } .btn { cursor: pointer; fill: #33c; "
          "}</style>\n<script type=\"text/ecmascript\"><![CDATA[\n",
          f);
    fputs(script, f);
    fputs("]]></script>\n", f);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#f8f8f4\"/>\n", w, h);
    fprintf(f, "<text id=\"title\" x=\"%u\" y=\"24\" text-anchor=\"middle\">", w / 2);
    svg_put_text(f, fl->o->title && fl->o->title[0] ? fl->o->title : "Flame graph", SIZE_MAX);
    fprintf(f, "</text>\n<text id=\"subtitle\" x=\"%u\" y=\"42\" text-anchor=\"middle\">", w / 2);
    svg_put_text(f, fl->o->subtitle ? fl->o->subtitle : "", SIZE_MAX);
    fputs("</text>\n", f);
    fprintf(f,
            "<text id=\"reset\" class=\"btn\" x=\"%d\" y=\"24\" style=\"display:none\">"
            "Reset Zoom</text>\n<text id=\"search\" class=\"btn\" x=\"%u\" y=\"24\" "
            "text-anchor=\"end\">Search</text>\n",
            SVG_PAD_X, w - SVG_PAD_X);
    /* legend */
    static const struct {
        const char *fill, *what;
    } legend[] = {{"rgb(230,110,20)", "native"},
                  {"rgb(80,190,190)", "Python"},
                  {"rgb(185,185,185)", "unknown / special"},
                  {SLATE, "thread / all"}};
    for (size_t i = 0; i < sizeof legend / sizeof legend[0]; i++) {
        unsigned lx = SVG_PAD_X + (unsigned)i * 150;
        fprintf(f,
                "<rect x=\"%u\" y=\"50\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                "<text x=\"%u\" y=\"59\">%s</text>\n",
                lx, legend[i].fill, lx + 14, legend[i].what);
    }
    fprintf(f, "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n", SVG_PAD_X, h - 10);
    fprintf(f, "<text id=\"matched\" x=\"%u\" y=\"%u\" text-anchor=\"end\"> </text>\n",
            w - SVG_PAD_X, h - 10);
}

static void write_all(struct flow *fl)
{
    unsigned y = fl->height - SVG_PAD_BOTTOM - SVG_FRAME_HEIGHT;
    double w = (double)(fl->o->width - 2 * SVG_PAD_X);
    fprintf(fl->f,
            "<g id=\"allg\" data-s=\"0\"><title>all (%" PRIu64 " sample%s, %s%%)</title><rect "
            "x=\"%d\" y=\"%u\" width=\"%.3f\" height=\"%d\" rx=\"2\" fill=\"" SLATE
            "\" id=\"all\"/>"
            "<text x=\"%.3f\" y=\"%u\">%s</text></g>\n",
            fl->total, fl->total == 1 ? "" : "s", fl->total ? "100.00" : "0.00", SVG_PAD_X, y, w,
            SVG_FRAME_HEIGHT - 1, SVG_PAD_X + LABEL_INSET, y + 11,
            fl->total ? "all" : "all (no samples)");
}

int export_svg_write(FILE *f, const struct stack_table *t, const struct resolver *r,
                     const struct svg_opts *o)
{
    struct svg_opts opts;
    if (o)
        opts = *o;
    else
        svg_opts_default(&opts);
    if (opts.width < 200)
        opts.width = 200; /* room for the title and buttons */
    struct flow fl = {.f = f, .t = t, .r = r, .o = &opts};
    for (size_t i = 0; i < t->n; i++) {
        fl.total += t->rows[i].count;
        size_t len = row_len(&fl, &t->rows[i]);
        if (len > fl.levels)
            fl.levels = len;
    }
    fl.order = malloc((t->n ? t->n : 1) * sizeof(*fl.order));
    fl.path = malloc((fl.levels ? fl.levels : 1) * sizeof(*fl.path));
    fl.start = malloc((fl.levels ? fl.levels : 1) * sizeof(*fl.start));
    int err = fl.order && fl.path && fl.start ? 0 : -ENOMEM;
    if (!err) {
        for (size_t i = 0; i < t->n; i++)
            fl.order[i] = i;
        qsort_r(fl.order, t->n, sizeof(*fl.order), cmp_rows, &fl);
        fl.scale = fl.total ? (double)(opts.width - 2 * SVG_PAD_X) / (double)fl.total : 0.0;
        fl.height = SVG_PAD_TOP + (unsigned)(fl.levels + 1) * SVG_FRAME_HEIGHT + SVG_PAD_BOTTOM;
        write_head(&fl);
        fputs("<g id=\"frames\">\n", f);
        write_all(&fl);
        flow_rows(&fl);
        fputs("</g>\n</svg>\n", f);
        err = ferror(f) ? -EIO : 0;
    }
    free(fl.order);
    free(fl.path);
    free(fl.start);
    return err;
}
