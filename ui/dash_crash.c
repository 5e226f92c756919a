/* dash_crash.c: the crash view's content and its drawing. */
#include "dash_crash.h"

#include "analyze_out.h"
#include "kd_status.h"
#include "out_text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BARS 5 /* the rest share one bar: the first screen must reach the frames */

static void items_free(struct dash_crash *dc)
{
    for (size_t i = 0; i < dc->count; i++)
        free(dc->items[i].text);
    free(dc->items);
    dc->items = NULL;
    dc->count = 0;
}

void dash_crash_fini(struct dash_crash *dc)
{
    items_free(dc);
    dc->valid = false;
}

static struct dash_crash_item *add(struct dash_crash *dc, size_t *cap, enum dash_crash_kind kind,
                                   uint8_t attr, const char *text)
{
    if (dc->count == *cap) {
        size_t n = *cap ? *cap * 2 : 64;
        struct dash_crash_item *v = realloc(dc->items, n * sizeof *v);
        if (!v)
            return NULL;
        dc->items = v;
        *cap = n;
    }
    char *copy = strdup(text ? text : "");
    if (!copy)
        return NULL;
    struct dash_crash_item *it = &dc->items[dc->count++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->attr = attr;
    it->text = copy;
    return it;
}

static uint8_t module_colour(const struct breakdown *bd, const char *name)
{
    for (size_t i = 0; i < bd->module_count && i < DASH_MODULE_COLOURS; i++)
        if (!strcmp(bd->modules[i].name, name[0] ? name : "?"))
            return (uint8_t)(DASH_ATTR_MODULE0 + i);
    return DASH_ATTR_NORMAL;
}

static void addr(uint64_t v, char *buf, size_t n)
{
    snprintf(buf, n, "%08" PRIx64 "`%08" PRIx64, v >> 32, v & 0xffffffffu);
}

/* printf at the end of buf, truncating. */
static void append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    if (n < size)
        vsnprintf(buf + n, size - n, fmt, ap);
    va_end(ap);
}

static void header(struct dash_crash *dc, const struct mon_crash *c)
{
    static const char *const stops[] = {"", "double fault", "KeBugCheckEx", "bugcheck break"};
    char *h0 = dc->header[0], *h1 = dc->header[1], *h2 = dc->header[2];
    int64_t over;
    h0[0] = h1[0] = h2[0] = 0;
    if (c->have_code)
        out_text_bugcheck(c, h0, DASH_CRASH_LINE);
    else
        append(h0, DASH_CRASH_LINE, "%s (bugcheck code not reported yet)",
               c->stops & (1u << MON_STOP_DOUBLE_FAULT) ? "double fault" : "target stopped");
    /* line 2: the overflow, the one number that matters most */
    dc->header_attr[1] = DASH_ATTR_WARN;
    if (out_text_overflow(c, &over)) {
        if (over > 0)
            append(h1, DASH_CRASH_LINE, "%" PRId64 " (0x%" PRIx64 ") bytes past StackLimit", over,
                   (uint64_t)over);
        else
            append(h1, DASH_CRASH_LINE, "%" PRId64 " bytes left above StackLimit", -over);
        dc->header_attr[1] = over > 0 ? DASH_ATTR_DANGER | DASH_ATTR_BOLD : DASH_ATTR_WARN;
    } else {
        append(h1, DASH_CRASH_LINE, "StackLimit not known: no overflow measured");
    }
    if (c->bd && c->bd->has_depth && c->stack_base > c->stack_limit)
        append(h1, DASH_CRASH_LINE, ", %" PRIu64 " bytes deep in a %" PRIu64 "-byte stack",
               c->bd->depth, c->stack_base - c->stack_limit);
    /* line 3: whose stack, the arguments, which stops were seen */
    append(h2, DASH_CRASH_LINE, "%s pid %" PRIu32 " tid %" PRIu32, c->process[0] ? c->process : "?",
           c->pid, c->tid);
    if (c->have_code)
        append(h2, DASH_CRASH_LINE, " | args 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64,
               c->args[0], c->args[1], c->args[2], c->args[3]);
    append(h2, DASH_CRASH_LINE, " | seen:");
    const char *sep = " ";
    for (unsigned k = MON_STOP_DOUBLE_FAULT; k <= MON_STOP_BUGCHECK; k++)
        if (c->stops & (1u << k)) {
            append(h2, DASH_CRASH_LINE, "%s%s", sep, stops[k]);
            sep = ", ";
        }
    dc->header_attr[0] = DASH_ATTR_DANGER | DASH_ATTR_BOLD;
    dc->header_attr[2] = DASH_ATTR_NORMAL;
}

static int modules(struct dash_crash *dc, size_t *cap, const struct breakdown *bd)
{
    char title[DASH_CRASH_LINE];
    snprintf(title, sizeof title, "Usage per module (%s, %" PRIu64 " bytes in frames)",
             breakdown_kind_str(bd->stacks[bd->fault_stack].kind), bd->total_bytes);
    if (!add(dc, cap, DASH_CRASH_SECTION, DASH_ATTR_HEADER | DASH_ATTR_BOLD, title))
        return KD_ERR_NOMEM;
    uint64_t rest = 0;
    for (size_t i = 0; i < bd->module_count; i++) {
        const struct breakdown_module *m = &bd->modules[i];
        if (i >= MAX_BARS && bd->module_count > MAX_BARS + 1) {
            rest += m->bytes;
            continue;
        }
        struct dash_crash_item *it = add(dc, cap, DASH_CRASH_MODULE, DASH_ATTR_NORMAL, m->name);
        if (!it)
            return KD_ERR_NOMEM;
        it->percent = m->percent;
        it->bytes = m->bytes;
        it->colour = module_colour(bd, m->name);
    }
    if (bd->module_count > MAX_BARS + 1) {
        char name[32];
        snprintf(name, sizeof name, "%zu others", bd->module_count - MAX_BARS);
        struct dash_crash_item *it = add(dc, cap, DASH_CRASH_MODULE, DASH_ATTR_DIM, name);
        if (!it)
            return KD_ERR_NOMEM;
        it->bytes = rest;
        it->percent = bd->total_bytes
                          ? (unsigned)((rest * 200 + bd->total_bytes) / (2 * bd->total_bytes))
                          : 0;
        it->colour = DASH_ATTR_DIM;
    }
    return KD_OK;
}

/* The cycle and re-entrancy paragraph: the last block of analyze_out's text. */
static int findings(struct dash_crash *dc, size_t *cap, const struct breakdown *bd)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return KD_ERR_NOMEM;
    int rc = analyze_out_breakdown_text(bd, f);
    fclose(f);
    if (rc != KD_OK || !buf) {
        free(buf);
        return rc != KD_OK ? rc : KD_ERR_NOMEM;
    }
    char *p = strstr(buf, "\n\n"), *last = NULL;
    for (; p; p = strstr(p + 1, "\n\n"))
        last = p + 2;
    for (char *line = last; line && *line && rc == KD_OK;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        line += strspn(line, " ");
        uint8_t attr = !strncmp(line, "no repeating", 12) ? DASH_ATTR_DIM : DASH_ATTR_WARN;
        if (*line && !add(dc, cap, DASH_CRASH_TEXT, attr, line))
            rc = KD_ERR_NOMEM;
        line = nl ? nl + 1 : NULL;
    }
    free(buf);
    return rc;
}

static int frames(struct dash_crash *dc, size_t *cap, const struct breakdown *bd)
{
    if (!add(dc, cap, DASH_CRASH_SECTION, DASH_ATTR_HEADER | DASH_ATTR_BOLD,
             "Frames, innermost first (kf: bytes each line adds)"))
        return KD_ERR_NOMEM;
    bool limit_done = false, scanned = false;
    for (size_t i = 0; i < bd->count; i++) {
        const struct breakdown_frame *fr = &bd->frames[i];
        const struct breakdown_line *l = &bd->lines[i];
        char text[DASH_CRASH_LINE + BREAKDOWN_CALLSITE_LEN];
        bool thread = bd->stacks[l->stack].kind == BREAKDOWN_STACK_THREAD;
        bool has_sp = !(fr->flags & BREAKDOWN_FRAME_NO_SP);
        if (bd->has_thread_range && thread && has_sp && !limit_done &&
            fr->sp >= bd->thread_range.limit && i > 0 &&
            bd->frames[i - 1].sp < bd->thread_range.limit &&
            bd->stacks[bd->lines[i - 1].stack].kind == BREAKDOWN_STACK_THREAD) {
            char a[24];
            addr(bd->thread_range.limit, a, sizeof a);
            snprintf(text, sizeof text, "StackLimit %s: the frames above are past it", a);
            if (!add(dc, cap, DASH_CRASH_LIMIT, DASH_ATTR_DANGER | DASH_ATTR_BOLD, text))
                return KD_ERR_NOMEM;
            limit_done = true;
        }
        if ((fr->flags & BREAKDOWN_FRAME_SCANNED) && !scanned &&
            !add(dc, cap, DASH_CRASH_TEXT, DASH_ATTR_WARN,
                 "frames below follow an unwind warning: may be wrong"))
            return KD_ERR_NOMEM;
        scanned |= (fr->flags & BREAKDOWN_FRAME_SCANNED) != 0;
        if (l->edge == BREAKDOWN_EDGE_SWITCH) {
            bool same = bd->stacks[bd->lines[i - 1].stack].kind == bd->stacks[l->stack].kind;
            snprintf(text, sizeof text, "stack switch (%s -> %s%s)",
                     breakdown_kind_str(bd->stacks[bd->lines[i - 1].stack].kind),
                     same ? "another " : "", breakdown_kind_str(bd->stacks[l->stack].kind));
            if (!add(dc, cap, DASH_CRASH_SWITCH, DASH_ATTR_SWITCH | DASH_ATTR_BOLD, text))
                return KD_ERR_NOMEM;
        }
        if (l->edge == BREAKDOWN_EDGE_BACKWARDS &&
            !add(dc, cap, DASH_CRASH_TEXT, DASH_ATTR_WARN,
                 "stack pointer went down: the unwind is wrong here"))
            return KD_ERR_NOMEM;
        breakdown_frame_format(fr, text, sizeof text);
        struct dash_crash_item *it = add(dc, cap, DASH_CRASH_FRAME, DASH_ATTR_NORMAL, text);
        if (!it)
            return KD_ERR_NOMEM;
        it->index = i;
        it->has_size = l->edge == BREAKDOWN_EDGE_SIZE || l->edge == BREAKDOWN_EDGE_MEMORY;
        it->size = l->size;
        it->has_sp = has_sp;
        it->sp = fr->sp;
        it->colour = module_colour(bd, fr->module);
        it->past = bd->has_thread_range && thread && has_sp && fr->sp < bd->thread_range.limit;
    }
    return KD_OK;
}

int dash_crash_set(struct dash_crash *dc, const struct mon_crash *c)
{
    size_t cap = 0;
    items_free(dc);
    dc->valid = true;
    header(dc, c);
    const struct breakdown *bd = c->bd;
    if (!bd || !bd->count) {
        char text[DASH_CRASH_LINE + MON_TEXT_LEN];
        snprintf(text, sizeof text, "no stack could be unwound%s%s%s", c->reason[0] ? " (" : "",
                 c->reason, c->reason[0] ? ")" : "");
        return add(dc, &cap, DASH_CRASH_TEXT, DASH_ATTR_WARN, text) ? KD_OK : KD_ERR_NOMEM;
    }
    int rc = modules(dc, &cap, bd);
    if (rc == KD_OK)
        rc = findings(dc, &cap, bd);
    if (rc == KD_OK && !add(dc, &cap, DASH_CRASH_BLANK, DASH_ATTR_NORMAL, ""))
        rc = KD_ERR_NOMEM;
    if (rc == KD_OK)
        rc = frames(dc, &cap, bd);
    return rc;
}

/* ---- layout and drawing ------------------------------------------------- */

#define TEXT_INDENT 1
#define WRAP_INDENT 3

/* Bytes of s that fit in width columns, cut at the last space when there is one. */
static size_t wrap(const char *s, int width)
{
    size_t n = strlen(s);
    if (width < 8)
        width = 8;
    if (n <= (size_t)width)
        return n;
    size_t cut = (size_t)width;
    while (cut > (size_t)width / 2 && s[cut] != ' ')
        cut--;
    return s[cut] == ' ' ? cut : (size_t)width;
}

static size_t item_rows(const struct dash_crash_item *it, int w)
{
    if (it->kind != DASH_CRASH_TEXT)
        return 1;
    size_t rows = 0;
    const char *s = it->text;
    for (int indent = TEXT_INDENT; *s; indent = WRAP_INDENT, rows++) {
        s += wrap(s, w - indent);
        s += strspn(s, " ");
    }
    return rows ? rows : 1;
}

size_t dash_crash_rows(const struct dash_crash *dc, int w)
{
    size_t rows = 0;
    for (size_t i = 0; i < dc->count; i++)
        rows += item_rows(&dc->items[i], w);
    return rows;
}

static void draw_module(const struct dash_crash_item *it, struct dash_grid *g, int row,
                        const struct dash_glyphs *gl)
{
    char num[48];
    int w = g->w, bw = w - 29;
    if (bw > 60)
        bw = 60;
    dash_grid_put(g, row, 2, 12, it->attr, it->text, gl->ellipsis);
    int fill = bw > 0 ? (int)((it->percent * (unsigned)bw + 50) / 100) : 0;
    if (fill == 0 && it->bytes && bw > 0)
        fill = 1; /* a module that used anything stays visible */
    dash_grid_fill(g, row, 15, fill, gl->used, it->colour);
    snprintf(num, sizeof num, "%3u%%  %7" PRIu64, it->percent, it->bytes);
    dash_grid_put(g, row, 15 + (bw > 0 ? bw : 0) + 1, w, it->attr, num, 0);
}

static void draw_frame(const struct dash_crash_item *it, struct dash_grid *g, int row,
                       const struct dash_glyphs *gl)
{
    char num[32], sp[24];
    int col = 2;
    snprintf(num, sizeof num, "%02zx", it->index);
    dash_grid_put(g, row, col, 4, DASH_ATTR_DIM, num, 0);
    col += 3;
    if (it->has_size)
        snprintf(num, sizeof num, "%6" PRIx64, it->size);
    else
        snprintf(num, sizeof num, "%6s", "");
    dash_grid_put(g, row, col, 8, it->past ? DASH_ATTR_DANGER | DASH_ATTR_BOLD : DASH_ATTR_NORMAL,
                  num, 0);
    col += (int)strlen(num) + 2;
    if (g->w >= 110) { /* wide enough for kf's Child-SP column */
        if (it->has_sp)
            addr(it->sp, sp, sizeof sp);
        else
            snprintf(sp, sizeof sp, "%s", "");
        dash_grid_put(g, row, col, 17, it->past ? DASH_ATTR_DANGER : DASH_ATTR_DIM, sp, 0);
        col += 19;
    }
    /* the module part in its bar's colour, the rest plain */
    size_t mlen = strcspn(it->text, "!+");
    int n = dash_grid_put(g, row, col, g->w - col, it->colour, it->text, gl->ellipsis);
    if ((size_t)n > mlen)
        dash_grid_paint(g, row, col + (int)mlen, n - (int)mlen, DASH_ATTR_NORMAL);
}

static void draw_rule(const struct dash_crash_item *it, struct dash_grid *g, int row,
                      const struct dash_glyphs *gl)
{
    dash_grid_fill(g, row, 2, 3, gl->hline, it->attr);
    int n = dash_grid_put(g, row, 6, g->w - 10, it->attr, it->text, gl->ellipsis);
    dash_grid_fill(g, row, 7 + n, 3, gl->hline, it->attr);
}

void dash_crash_draw(const struct dash_crash *dc, struct dash_grid *g, int row0, int n,
                     size_t first, bool ascii)
{
    const struct dash_glyphs *gl = dash_grid_glyphs(ascii);
    size_t r = 0; /* body row of the item's first line */
    for (size_t i = 0; i < dc->count && r < first + (size_t)n; i++) {
        const struct dash_crash_item *it = &dc->items[i];
        size_t rows = item_rows(it, g->w);
        if (r + rows <= first) {
            r += rows;
            continue;
        }
        if (it->kind == DASH_CRASH_TEXT) {
            const char *s = it->text;
            for (int indent = TEXT_INDENT; *s; indent = WRAP_INDENT, r++) {
                size_t len = wrap(s, g->w - indent);
                if (r >= first && r < first + (size_t)n) {
                    char line[512];
                    snprintf(line, sizeof line, "%.*s",
                             (int)(len < sizeof line ? len : sizeof line - 1), s);
                    dash_grid_put(g, row0 + (int)(r - first), indent, g->w - indent, it->attr, line,
                                  0);
                }
                s += len;
                s += strspn(s, " ");
            }
            continue;
        }
        int row = row0 + (int)(r - first);
        switch (it->kind) {
        case DASH_CRASH_SECTION:
            dash_grid_put(g, row, 1, g->w - 1, it->attr, it->text, gl->ellipsis);
            break;
        case DASH_CRASH_MODULE: draw_module(it, g, row, gl); break;
        case DASH_CRASH_FRAME: draw_frame(it, g, row, gl); break;
        case DASH_CRASH_SWITCH:
        case DASH_CRASH_LIMIT: draw_rule(it, g, row, gl); break;
        default: break;
        }
        r++;
    }
}
