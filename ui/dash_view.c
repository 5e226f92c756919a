/* dash_view.c: the three views, drawn from the model into cells. Colours
 * are meanings (dash_grid.h); widths adapt from 50 columns up, and anything
 * too long is cut with an ellipsis rather than wrapped, so rows never move. */
#include "dash_view.h"

#include "dash_model_impl.h"
#include "out_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct cols {
    int proc, tid, start, gauge, left, pct, min, drv;
};

/* Fixed columns for numbers and names, the rest shared by start symbol and gauge. */
static struct cols columns(int w)
{
    struct cols c = {.proc = w >= 100 ? 15 : 14,
                     .tid = 6,
                     .left = 6,
                     .pct = 4,
                     .min = 6,
                     .drv = w >= 100 ? 14 : 9};
    int flex =
        w - 1 - (c.proc + 1) - (c.tid + 1) - 2 - (c.left + 1) - (c.pct + 1) - (c.min + 1) - c.drv;
    c.gauge = flex * 45 / 100;
    if (c.gauge < 6)
        c.gauge = 6;
    if (c.gauge > 40)
        c.gauge = 40;
    c.start = flex - c.gauge;
    if (c.start > 40) {
        c.gauge += c.start - 40;
        c.start = 40;
    }
    return c;
}

static uint8_t level(const struct dash_model *m, uint32_t headroom, uint32_t size)
{
    if ((uint64_t)headroom * 100 < (uint64_t)m->cfg.danger_percent * size)
        return DASH_ATTR_DANGER;
    if ((uint64_t)headroom * 100 < (uint64_t)m->cfg.near_percent * size)
        return DASH_ATTR_WARN;
    return DASH_ATTR_OK;
}

static void addr(uint64_t v, char *buf, size_t n)
{
    snprintf(buf, n, "%08" PRIx64 "`%08" PRIx64, v >> 32, v & 0xffffffffu);
}

/* Right-aligned text in width columns. */
static void put_right(struct dash_grid *g, int row, int col, int width, uint8_t attr, const char *s)
{
    int n = dash_grid_width(s);
    dash_grid_put(g, row, col + (n < width ? width - n : 0), width, attr, s, 0);
}

/* A gauge: width-1 cells for the stack (used, then the deeper peak), then the limit. */
static void gauge(const struct dash_model *m, struct dash_grid *g, int row, int col, int width,
                  const struct mon_thread *r)
{
    const struct dash_glyphs *gl = dash_grid_glyphs(m->cfg.ascii);
    int cells = width - 1;
    dash_grid_fill(g, row, col, cells, gl->free_, DASH_ATTR_DIM);
    dash_grid_fill(g, row, col + cells, 1, gl->limit, DASH_ATTR_LIMIT);
    if (!r->samples || !r->size || cells <= 0)
        return;
    uint32_t peak = r->peak_used > r->used ? r->peak_used : r->used;
    int used = (int)(((uint64_t)r->used * (uint64_t)cells + r->size / 2) / r->size);
    int deep = (int)(((uint64_t)peak * (uint64_t)cells + r->size / 2) / r->size);
    used = used > cells ? cells : used == 0 && r->used ? 1 : used;
    deep = deep > cells ? cells : deep < used ? used : deep;
    uint8_t a = level(m, r->headroom, r->size);
    dash_grid_fill(g, row, col, used, gl->used, a);
    dash_grid_fill(g, row, col + used, deep - used, gl->peak, level(m, r->min_headroom, r->size));
}

static void title(const struct dash_model *m, struct dash_grid *g)
{
    char left[160], right[64];
    const struct mon_target_info *t = &m->info.target;
    const char *mach = t->machine == 0x8664   ? "x64"
                       : t->machine == 0x14c  ? "x86"
                       : t->machine == 0xaa64 ? "arm64"
                                              : "?";
    dash_grid_fill(g, 0, 0, g->w, ' ', DASH_ATTR_TITLE);
    if (m->attached)
        snprintf(left, sizeof left, "Windows build %u %s, %" PRIu32 " CPU%s", (unsigned)t->build,
                 mach, t->cpus, t->cpus == 1 ? "" : "s");
    else
        snprintf(left, sizeof left, "waiting for the target");
    char state[32];
    if (m->crash.valid || m->paused || !m->cfg.replay)
        snprintf(state, sizeof state, "%s",
                 m->crash.valid ? "CRASH"
                 : m->paused    ? "FROZEN"
                 : m->attached  ? "LIVE"
                                : "");
    else if (m->replay_paused)
        snprintf(state, sizeof state, "REPLAY paused");
    else
        snprintf(state, sizeof state, "REPLAY x%g", m->replay_speed);
    snprintf(right, sizeof right, "%s  %s ", state, m->clock);
    int rw = dash_grid_width(right);
    dash_grid_put(g, 0, 1, 7, DASH_ATTR_TITLE | DASH_ATTR_BOLD, "kdwatch", 0);
    dash_grid_put(g, 0, 10, g->w - 11 - rw, DASH_ATTR_TITLE, left,
                  dash_grid_glyphs(m->cfg.ascii)->ellipsis);
    dash_grid_put(g, 0, g->w - rw, rw, DASH_ATTR_TITLE | DASH_ATTR_BOLD, right, 0);
    uint8_t sa = m->crash.valid ? DASH_ATTR_DANGER : m->paused ? DASH_ATTR_WARN : DASH_ATTR_TITLE;
    dash_grid_paint(g, 0, g->w - rw, (int)strlen(state), sa | DASH_ATTR_REVERSE | DASH_ATTR_BOLD);
}

/* Pieces joined by a separator, cut at the width. */
static void line(const struct dash_model *m, struct dash_grid *g, int row, const char *const *parts,
                 const uint8_t *attrs, int n)
{
    const struct dash_glyphs *gl = dash_grid_glyphs(m->cfg.ascii);
    int col = 1;
    for (int i = 0; i < n && col < g->w; i++) {
        if (!parts[i] || !parts[i][0])
            continue;
        if (col > 1) {
            dash_grid_fill(g, row, col + 1, 1, gl->sep, DASH_ATTR_DIM);
            col += 3;
        }
        col += dash_grid_put(g, row, col, g->w - col, attrs[i], parts[i], gl->ellipsis);
    }
}

static void header(const struct dash_model *m, struct dash_grid *g)
{
    char link[200], rate[96], armed[96], count[64], sort[32], filter[96];
    const struct mon_snapshot *s = &m->info;
    static const char *const sorts[] = {"headroom", "min", "process", "tid"}; /* column names */
    uint32_t every = m->measured_ms ? m->measured_ms : m->cfg.interval_ms;
    snprintf(link, sizeof link, "%s%s", m->link[0] ? "link " : "", m->link);
    if (m->sampled)
        snprintf(rate, sizeof rate, "%s%" PRIu32 " ms, stall %.1f ms, max %.1f",
                 every ? "every " : "", every, s->stall_ms, s->stall_max_ms);
    else
        snprintf(rate, sizeof rate, "no sample yet");
    if (m->sampled && !every)
        snprintf(rate, sizeof rate, "stall %.1f ms, max %.1f", s->stall_ms, s->stall_max_ms);
    const char *p1[] = {link, rate};
    uint8_t a1[] = {DASH_ATTR_NORMAL, DASH_ATTR_NORMAL};
    line(m, g, 1, p1, a1, 2);

    const struct mon_target_info *t = &s->target;
    bool df = t->bp_double_fault, bc = t->bp_bugcheck;
    snprintf(armed, sizeof armed, "bp %s%s%s", df ? "KiDoubleFaultAbort" : "", df && bc ? ", " : "",
             bc   ? "KeBugCheckEx"
             : df ? ""
                  : "nothing");
    size_t near = 0;
    for (size_t i = 0; i < m->rows.n; i++)
        near += m->rows.v[i].samples &&
                level(m, m->rows.v[i].headroom, m->rows.v[i].size) != DASH_ATTR_OK;
    snprintf(count, sizeof count, "%zu threads, %zu under %u%%", m->rows.n, near,
             m->cfg.near_percent);
    snprintf(sort, sizeof sort, "sort %s", sorts[m->sort]);
    filter[0] = 0;
    if (m->filter[0])
        snprintf(filter, sizeof filter, "filter \"%s\": %zu shown", m->filter, m->norder);
    /* what changes what the list shows first; the breakpoints, which rarely change, last */
    const char *p2[] = {count, filter, sort, armed};
    uint8_t a2[] = {near ? DASH_ATTR_WARN : DASH_ATTR_NORMAL, DASH_ATTR_KEY | DASH_ATTR_BOLD,
                    DASH_ATTR_NORMAL, df && bc ? DASH_ATTR_NORMAL : DASH_ATTR_WARN};
    line(m, g, 2, p2, a2, m->attached ? 4 : 0);
}

static void thread_row(const struct dash_model *m, struct dash_grid *g, int row,
                       const struct cols *c, const struct mon_thread *r)
{
    const struct dash_glyphs *gl = dash_grid_glyphs(m->cfg.ascii);
    char num[24];
    int col = 1;
    dash_grid_put(g, row, col, c->proc, DASH_ATTR_NORMAL, r->process, gl->ellipsis);
    col += c->proc + 1;
    snprintf(num, sizeof num, "%" PRIu32, r->tid);
    put_right(g, row, col, c->tid, DASH_ATTR_NORMAL, num);
    col += c->tid + 1;
    dash_grid_put(g, row, col, c->start, DASH_ATTR_DIM, r->start[0] ? r->start : "?", gl->ellipsis);
    col += c->start + 1;
    gauge(m, g, row, col, c->gauge, r);
    col += c->gauge + 1;
    uint8_t a = r->samples ? level(m, r->headroom, r->size) : DASH_ATTR_DIM;
    snprintf(num, sizeof num, r->samples ? "%" PRIu32 : "-", r->headroom);
    put_right(g, row, col, c->left, a == DASH_ATTR_OK ? DASH_ATTR_NORMAL : a | DASH_ATTR_BOLD, num);
    col += c->left + 1;
    num[0] = 0;
    if (r->samples)
        snprintf(num, sizeof num, "%u%%", out_text_percent(r->headroom, r->size));
    put_right(g, row, col, c->pct, a == DASH_ATTR_OK ? DASH_ATTR_NORMAL : a, num);
    col += c->pct + 1;
    uint8_t ma = r->samples ? level(m, r->min_headroom, r->size) : DASH_ATTR_DIM;
    snprintf(num, sizeof num, r->samples ? "%" PRIu32 : "-", r->min_headroom);
    put_right(g, row, col, c->min, ma == DASH_ATTR_OK ? DASH_ATTR_NORMAL : ma, num);
    col += c->min + 1;
    dash_grid_put(g, row, col, c->drv, r->top_driver[0] ? DASH_ATTR_NORMAL : DASH_ATTR_DIM,
                  r->top_driver[0] ? r->top_driver : "-", gl->ellipsis);
}

static void list(const struct dash_model *m, struct dash_grid *g)
{
    struct cols c = columns(g->w);
    int col = 1, rows = dash_model_list_rows(m);
    const char *names[] = {"PROCESS", "TID", "START", "STACK USED", "LEFT", "%", "MIN", "DRIVER"};
    int widths[] = {c.proc, c.tid, c.start, c.gauge, c.left, c.pct, c.min, c.drv};
    bool right[] = {false, true, false, false, true, true, true, false};
    for (int i = 0; i < 8; i++) {
        if (right[i])
            put_right(g, 3, col, widths[i], DASH_ATTR_HEADER | DASH_ATTR_BOLD, names[i]);
        else
            dash_grid_put(g, 3, col, widths[i], DASH_ATTR_HEADER | DASH_ATTR_BOLD, names[i], 0);
        col += widths[i] + 1;
    }
    if (!m->norder) {
        char msg[96];
        if (m->filter[0])
            snprintf(msg, sizeof msg, "no thread matches \"%s\" (Esc clears the filter)",
                     m->filter);
        else
            snprintf(msg, sizeof msg, "%s",
                     m->attached ? "no threads: the target listed none yet"
                                 : "no threads yet: waiting for the target");
        dash_grid_put(g, 5, 3, g->w - 4, DASH_ATTR_DIM, msg, 0);
    }
    for (int i = 0; i < rows && m->top + (size_t)i < m->norder; i++) {
        size_t k = m->top + (size_t)i;
        thread_row(m, g, 4 + i, &c, m->order[k]);
        if (m->has_sel && k == m->sel)
            for (int x = 0; x < g->w; x++)
                dash_grid_at(g, 4 + i, x)->attr |= DASH_ATTR_REVERSE;
    }
}

static void events(const struct dash_model *m, struct dash_grid *g)
{
    const struct dash_glyphs *gl = dash_grid_glyphs(m->cfg.ascii);
    int n = dash_model_event_rows(m), top = g->h - 1 - n;
    dash_grid_fill(g, top - 1, 0, g->w, gl->hline, DASH_ATTR_DIM);
    dash_grid_put(g, top - 1, 2, 8, DASH_ATTR_DIM, " events ", 0);
    for (int i = 0; i < n; i++) {
        const struct dash_event_line *e = dash_model_event_at(m, (size_t)(n - 1 - i));
        if (!e)
            continue;
        char ts[24];
        out_text_elapsed(e->time_ms, ts, sizeof ts);
        int row = top + i;
        dash_grid_put(g, row, 1, 8, DASH_ATTR_DIM, ts, 0);
        dash_grid_put(g, row, 10, 9, e->attr, e->label, 0);
        dash_grid_put(g, row, 20, g->w - 20, e->attr == DASH_ATTR_OK ? DASH_ATTR_NORMAL : e->attr,
                      e->text, gl->ellipsis);
    }
}

/* The help line: pairs of key and what it does. */
static void help(const struct dash_model *m, struct dash_grid *g)
{
    const struct dash_glyphs *gl = dash_grid_glyphs(m->cfg.ascii);
    int row = g->h - 1, col = 1;
    if (m->typing) {
        col += dash_grid_put(g, row, col, g->w, DASH_ATTR_KEY | DASH_ATTR_BOLD, "filter: ", 0);
        col += dash_grid_put(g, row, col, g->w - col - 1, DASH_ATTR_NORMAL, m->typed, 0);
        dash_grid_fill(g, row, col, 1, ' ', DASH_ATTR_REVERSE); /* the cursor */
        dash_grid_put(g, row, col + 3, g->w - col - 3, DASH_ATTR_DIM,
                      "Enter applies, Esc clears (process, module or thread id)", gl->ellipsis);
        return;
    }
    char enter[8], updown[8];
    snprintf(enter, sizeof enter, "%s", m->cfg.ascii ? "Enter" : "\u23ce");
    snprintf(updown, sizeof updown, "%s", m->cfg.ascii ? "^v" : "\u2191\u2193");
    const char *keys[16], *what[16];
    int n = 0;
#define KEY(k, w) (keys[n] = (k), what[n] = (w), n++)
    if (m->view == DASH_VIEW_LIST) {
        KEY("q", "quit"), KEY("/", "filter"), KEY("s", "sort"), KEY(enter, "details");
        KEY(updown, "select"), KEY("p", m->paused ? "unfreeze" : "freeze");
        if (m->crash.valid)
            KEY("c", "crash");
    } else {
        KEY("Esc", "back"), KEY(updown, "scroll"), KEY("PgUp/PgDn", "page");
        if (m->view == DASH_VIEW_DETAILS && m->crash.valid)
            KEY("c", "crash");
        KEY("q", "quit");
    }
    if (m->cfg.replay)
        KEY("space", m->replay_paused ? "play" : "pause"), KEY("+/-", "speed"), KEY("n", "next");
#undef KEY
    for (int i = 0; i < n && col < g->w; i++) {
        col +=
            dash_grid_put(g, row, col, g->w - col, DASH_ATTR_KEY | DASH_ATTR_BOLD, keys[i], 0) + 1;
        col += dash_grid_put(g, row, col, g->w - col, DASH_ATTR_DIM, what[i], 0) + 2;
    }
}

static void details(const struct dash_model *m, struct dash_grid *g)
{
    const struct mon_thread *r = dash_model_selected(m);
    const struct dash_glyphs *gl = dash_grid_glyphs(m->cfg.ascii);
    char buf[256], a[24], b[24], c[24];
    if (!r) {
        dash_grid_put(g, 2, 2, g->w - 2, DASH_ATTR_DIM, "no thread selected", 0);
        return;
    }
    addr(r->kthread, a, sizeof a);
    snprintf(buf, sizeof buf, "thread %" PRIu32 " of %s (pid %" PRIu32 "), KTHREAD %s", r->tid,
             r->process, r->pid, a);
    dash_grid_put(g, 1, 1, g->w - 1, DASH_ATTR_HEADER | DASH_ATTR_BOLD, buf, gl->ellipsis);
    char ts[24];
    out_text_elapsed(r->last_ms >= m->t0 ? r->last_ms - m->t0 : 0, ts, sizeof ts);
    snprintf(buf, sizeof buf, "start %s, %s, %" PRIu64 " samples (last %s)%s",
             r->start[0] ? r->start : "?", r->running ? "running" : "waiting", r->samples, ts,
             r->painted ? ", peak from stack paint" : "");
    dash_grid_put(g, 2, 1, g->w - 1, DASH_ATTR_NORMAL, buf, gl->ellipsis);
    addr(r->stack_limit, a, sizeof a);
    addr(r->stack_base, b, sizeof b);
    addr(r->sp, c, sizeof c);
    snprintf(buf, sizeof buf, "limit %s  base %s  sp %s", a, b, c);
    dash_grid_put(g, 3, 1, g->w - 1, DASH_ATTR_DIM, buf, gl->ellipsis);
    snprintf(buf, sizeof buf,
             "used %" PRIu32 " of %" PRIu32 ", left %" PRIu32 " (%u%%), min left %" PRIu32
             " (%u%%), peak used %" PRIu32,
             r->used, r->size, r->headroom, out_text_percent(r->headroom, r->size), r->min_headroom,
             out_text_percent(r->min_headroom, r->size), r->peak_used);
    dash_grid_put(g, 4, 1, g->w - 1, r->samples ? level(m, r->headroom, r->size) : DASH_ATTR_DIM,
                  buf, gl->ellipsis);
    gauge(m, g, 5, 1, g->w - 2, r);
    int wide = g->w >= 100;
    snprintf(buf, sizeof buf, "  #    SIZE  %s%s", wide ? "CHILD-SP           " : "",
             "CALL SITE (last sample, innermost first)");
    dash_grid_put(g, 7, 0, g->w, DASH_ATTR_HEADER | DASH_ATTR_BOLD, buf, gl->ellipsis);
    int rows = dash_model_detail_rows(m);
    if (!r->nframes)
        dash_grid_put(g, 8, 2, g->w - 2, DASH_ATTR_DIM, "no frames sampled for this thread", 0);
    for (int i = 0; i < rows && m->detail_top + (size_t)i < r->nframes; i++) {
        size_t k = m->detail_top + (size_t)i;
        const struct mon_frame *f = &r->frames[k];
        addr(f->sp, a, sizeof a);
        if (k && f->size) /* kf: the first line has no size */
            snprintf(buf, sizeof buf, "  %02zx %6" PRIx32 "  ", k, f->size);
        else
            snprintf(buf, sizeof buf, "  %02zx %6s  ", k, "");
        int col = dash_grid_put(g, 8 + i, 0, g->w, DASH_ATTR_NORMAL, buf, 0);
        dash_grid_paint(g, 8 + i, 2, 2, DASH_ATTR_DIM);
        if (wide)
            col += dash_grid_put(g, 8 + i, col, 19, DASH_ATTR_DIM, a, 0) + 2;
        dash_grid_put(g, 8 + i, col, g->w - col, DASH_ATTR_NORMAL, f->symbol, gl->ellipsis);
    }
}

static void crash(const struct dash_model *m, struct dash_grid *g)
{
    const struct dash_glyphs *gl = dash_grid_glyphs(m->cfg.ascii);
    for (int i = 0; i < DASH_CRASH_HEADER; i++)
        dash_grid_put(g, 1 + i, 1, g->w - 1, m->crash.header_attr[i], m->crash.header[i],
                      gl->ellipsis);
    dash_crash_draw(&m->crash, g, 1 + DASH_CRASH_HEADER, dash_model_crash_body(m), m->crash_top,
                    m->cfg.ascii);
}

void dash_view_render(const struct dash_model *m, struct dash_grid *g)
{
    char msg[64];
    dash_grid_clear(g);
    if (dash_model_too_small(m) || g->w < 50 || g->h < 12) {
        snprintf(msg, sizeof msg, "terminal %dx%d: kdwatch needs 50x12", g->w, g->h);
        dash_grid_put(g, 0, 0, g->w, DASH_ATTR_WARN, msg, 0);
        return;
    }
    title(m, g);
    switch (m->view) {
    case DASH_VIEW_LIST:
        header(m, g);
        list(m, g);
        events(m, g);
        break;
    case DASH_VIEW_DETAILS: details(m, g); break;
    case DASH_VIEW_CRASH: crash(m, g); break;
    }
    help(m, g);
}
