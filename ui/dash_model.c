/* dash_model.c: the dashboard's state and how events and keys change it.
 * Nothing here draws: dash_view.c reads the state, dash_curses.c shows it. */
#include "dash_model_impl.h"

#include "kd_status.h"
#include "out_text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int dash_model_new(const struct dash_model_config *cfg, struct dash_model **out)
{
    struct dash_model *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return KD_ERR_NOMEM;
    if (cfg)
        m->cfg = *cfg;
    if (!m->cfg.near_percent)
        m->cfg.near_percent = 25;
    if (!m->cfg.danger_percent)
        m->cfg.danger_percent = 10;
    m->w = 80;
    m->h = 24;
    m->replay_speed = 1.0;
    m->dirty = true;
    *out = m;
    return KD_OK;
}

void dash_model_free(struct dash_model *m)
{
    if (!m)
        return;
    free(m->rows.v);
    free(m->pending.v);
    free((void *)m->order);
    dash_crash_fini(&m->crash);
    free(m);
}

/* ---- layout -------------------------------------------------------------- */

bool dash_model_too_small(const struct dash_model *m)
{
    return m->w < 50 || m->h < 12;
}

int dash_model_event_rows(const struct dash_model *m)
{
    return m->h >= 40 ? 6 : m->h >= 30 ? 5 : m->h >= 20 ? 3 : 2;
}

/* title, two header lines and the column header; the event rule, the events and the help line */
int dash_model_list_rows(const struct dash_model *m)
{
    int n = m->h - 4 - 1 - dash_model_event_rows(m) - 1;
    return n > 1 ? n : 1;
}

/* title, three crash header lines; help */
int dash_model_crash_body(const struct dash_model *m)
{
    int n = m->h - 1 - DASH_CRASH_HEADER - 1;
    return n > 1 ? n : 1;
}

/* title, five lines about the thread, a blank, the frame header; help */
int dash_model_detail_rows(const struct dash_model *m)
{
    int n = m->h - 8 - 1;
    return n > 1 ? n : 1;
}

/* ---- rows: copy, filter, sort -------------------------------------------- */

static int rows_set(struct dash_rows *r, const struct mon_snapshot *s)
{
    if (s->nthreads > r->cap) {
        struct mon_thread *v = realloc(r->v, s->nthreads * sizeof *v);
        if (!v)
            return KD_ERR_NOMEM;
        r->v = v;
        r->cap = s->nthreads;
    }
    if (s->nthreads)
        memcpy(r->v, s->threads, s->nthreads * sizeof *r->v);
    r->n = s->nthreads;
    return KD_OK;
}

/* Unsampled threads sort last: nothing is known about their headroom. */
static int known_first(const struct mon_thread *a, const struct mon_thread *b)
{
    return (a->samples == 0) - (b->samples == 0);
}

static int by_tid(const struct mon_thread *a, const struct mon_thread *b)
{
    if (a->tid != b->tid)
        return a->tid < b->tid ? -1 : 1;
    return a->kthread < b->kthread ? -1 : a->kthread > b->kthread;
}

static int cmp_headroom(const void *x, const void *y)
{
    const struct mon_thread *a = *(const struct mon_thread *const *)x;
    const struct mon_thread *b = *(const struct mon_thread *const *)y;
    int k = known_first(a, b);
    if (k || a->headroom == b->headroom)
        return k ? k : by_tid(a, b);
    return a->headroom < b->headroom ? -1 : 1;
}

static int cmp_min(const void *x, const void *y)
{
    const struct mon_thread *a = *(const struct mon_thread *const *)x;
    const struct mon_thread *b = *(const struct mon_thread *const *)y;
    int k = known_first(a, b);
    if (k || a->min_headroom == b->min_headroom)
        return k ? k : by_tid(a, b);
    return a->min_headroom < b->min_headroom ? -1 : 1;
}

static int cmp_process(const void *x, const void *y)
{
    const struct mon_thread *a = *(const struct mon_thread *const *)x;
    const struct mon_thread *b = *(const struct mon_thread *const *)y;
    int c = strcasecmp(a->process, b->process);
    if (c)
        return c;
    if (a->pid != b->pid)
        return a->pid < b->pid ? -1 : 1;
    return by_tid(a, b);
}

static int cmp_tid(const void *x, const void *y)
{
    return by_tid(*(const struct mon_thread *const *)x, *(const struct mon_thread *const *)y);
}

static bool contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return true;
    return false;
}

/* Digits match a tid or pid exactly; other text a process, start symbol or
 * module on the stack, ignoring case. */
static bool matches(const struct mon_thread *r, const char *f)
{
    if (!*f)
        return true;
    if (strspn(f, "0123456789") == strlen(f)) {
        unsigned long v = strtoul(f, NULL, 10);
        return r->tid == v || r->pid == v;
    }
    if (contains(r->process, f) || contains(r->start, f) || contains(r->top_driver, f))
        return true;
    for (size_t i = 0; i < r->nframes && i < MON_THREAD_FRAMES; i++)
        if (contains(r->frames[i].symbol, f))
            return true;
    return false;
}

static void keep_visible(struct dash_model *m)
{
    size_t rows = (size_t)dash_model_list_rows(m);
    if (m->sel < m->top)
        m->top = m->sel;
    if (m->sel >= m->top + rows)
        m->top = m->sel - rows + 1;
    if (m->norder <= rows)
        m->top = 0;
    else if (m->top > m->norder - rows)
        m->top = m->norder - rows;
}

static void select_index(struct dash_model *m, size_t i)
{
    m->has_sel = m->norder > 0;
    if (!m->has_sel)
        return;
    m->sel = i < m->norder ? i : m->norder - 1;
    m->sel_kthread = m->order[m->sel]->kthread;
    keep_visible(m);
}

static void rebuild(struct dash_model *m)
{
    static int (*const cmp[])(const void *, const void *) = {cmp_headroom, cmp_min, cmp_process,
                                                             cmp_tid};
    const struct mon_thread **order = m->order;
    if (m->rows.n > m->order_cap) {
        order = realloc(m->order, m->rows.n * sizeof *order);
        if (!order) {
            m->norder = 0; /* show nothing rather than stale pointers */
            return;
        }
        m->order = order;
        m->order_cap = m->rows.n;
    }
    m->norder = 0;
    for (size_t i = 0; i < m->rows.n; i++)
        if (matches(&m->rows.v[i], m->filter))
            order[m->norder++] = &m->rows.v[i];
    if (m->norder) /* qsort wants a pointer even for nothing */
        qsort(order, m->norder, sizeof *order, cmp[m->sort]);
    size_t sel = m->user_sel ? m->sel : 0;
    for (size_t i = 0; m->user_sel && i < m->norder; i++)
        if (order[i]->kthread == m->sel_kthread)
            sel = i;
    select_index(m, sel);
    m->dirty = true;
}

const struct mon_thread *dash_model_selected(const struct dash_model *m)
{
    return m->has_sel && m->sel < m->norder ? m->order[m->sel] : NULL;
}

/* ---- events -------------------------------------------------------------- */

static void add_line(struct dash_model *m, const char *label, uint8_t attr, uint64_t t,
                     const char *text)
{
    struct dash_event_line *e = &m->events[m->nevents % DASH_EVENTS];
    if (!m->have_t0) {
        m->have_t0 = true;
        m->t0 = t;
    }
    e->time_ms = t >= m->t0 ? t - m->t0 : 0;
    snprintf(e->label, sizeof e->label, "%s", label);
    snprintf(e->text, sizeof e->text, "%s", text);
    e->attr = attr;
    m->nevents++;
    if (!m->paused)
        m->dirty = true;
}

const struct dash_event_line *dash_model_event_at(const struct dash_model *m, size_t i)
{
    size_t n = m->paused ? m->events_frozen : m->nevents;
    if (i >= n || i >= DASH_EVENTS)
        return NULL;
    return &m->events[(n - 1 - i) % DASH_EVENTS];
}

static void show_sample(struct dash_model *m, const struct mon_snapshot *s)
{
    m->info = *s;
    m->info.threads = NULL;
    m->sampled = m->sampled || s->samples > 0;
    rebuild(m);
}

static void resume(struct dash_model *m)
{
    m->paused = false;
    if (m->have_pending) {
        struct dash_rows t = m->rows;
        m->rows = m->pending;
        m->pending = t;
        m->have_pending = false;
        m->info = m->pending_info;
        m->sampled = true;
        rebuild(m);
    }
    m->dirty = true;
}

static void on_sample(struct dash_model *m, const struct mon_event *ev)
{
    const struct mon_snapshot *s = ev->snap;
    if (s->samples && m->prev_sample_ms && s->time_ms > m->prev_sample_ms)
        m->measured_ms = (uint32_t)(s->time_ms - m->prev_sample_ms);
    if (s->samples)
        m->prev_sample_ms = s->time_ms;
    if (m->paused) {
        if (rows_set(&m->pending, s) == KD_OK) {
            m->pending_info = *s;
            m->pending_info.threads = NULL;
            m->have_pending = true;
        }
        return;
    }
    if (rows_set(&m->rows, s) == KD_OK)
        show_sample(m, s);
}

static void clamp_crash(struct dash_model *m)
{
    size_t rows = dash_crash_rows(&m->crash, m->w), body = (size_t)dash_model_crash_body(m);
    if (m->crash_top + body > rows)
        m->crash_top = rows > body ? rows - body : 0;
}

static const char *const labels[] = {"attach", "module", "sample",  "threshold", "stop",
                                     "crash",  "print",  "warning", "detach"};

int dash_model_event(struct dash_model *m, const struct mon_event *ev)
{
    int rc = KD_OK;
    const char *label =
        (size_t)ev->kind < sizeof labels / sizeof labels[0] ? labels[ev->kind] : "?";
    switch (ev->kind) {
    case MON_EV_SAMPLE:
        if (ev->snap)
            on_sample(m, ev);
        return KD_OK;
    case MON_EV_ATTACH:
        m->attached = true;
        if (ev->snap && !m->sampled && rows_set(&m->rows, ev->snap) == KD_OK)
            show_sample(m, ev->snap);
        add_line(m, label, DASH_ATTR_OK, ev->time_ms, ev->text);
        break;
    case MON_EV_THRESHOLD: {
        const struct mon_thread *r = ev->thread;
        bool danger = r && out_text_percent(r->headroom, r->size) < m->cfg.danger_percent;
        add_line(m, label, danger ? DASH_ATTR_DANGER : DASH_ATTR_WARN, ev->time_ms, ev->text);
        break;
    }
    case MON_EV_STOP: add_line(m, label, DASH_ATTR_DANGER, ev->time_ms, ev->text); break;
    case MON_EV_CRASH: {
        if (!ev->crash)
            break;
        bool first = !m->crash.valid;
        rc = dash_crash_set(&m->crash, ev->crash);
        if (first) { /* the first stop opens the view; later stops only refresh it */
            if (m->paused)
                resume(m);
            m->view = DASH_VIEW_CRASH;
            m->crash_top = 0;
        }
        clamp_crash(m);
        const char *bc = m->crash.header[0];
        if (strcmp(bc, m->crash_line)) { /* the stops have their own lines */
            snprintf(m->crash_line, sizeof m->crash_line, "%s", bc);
            add_line(m, label, DASH_ATTR_DANGER | DASH_ATTR_BOLD, ev->time_ms, bc);
        }
        m->dirty = true;
        break;
    }
    case MON_EV_WARNING: add_line(m, label, DASH_ATTR_WARN, ev->time_ms, ev->text); break;
    case MON_EV_PRINT: add_line(m, label, DASH_ATTR_DIM, ev->time_ms, ev->text); break;
    default: add_line(m, label, DASH_ATTR_NORMAL, ev->time_ms, ev->text); break;
    }
    return rc;
}

void dash_model_message(struct dash_model *m, const char *label, uint64_t time_ms, const char *text)
{
    bool error = !strcmp(label, "error");
    add_line(m, label, error ? DASH_ATTR_DANGER : DASH_ATTR_NORMAL, time_ms, text);
}

void dash_model_resize(struct dash_model *m, int w, int h)
{
    if (w < 1 || h < 1 || (w == m->w && h == m->h))
        return;
    m->w = w;
    m->h = h;
    keep_visible(m);
    clamp_crash(m);
    m->dirty = true;
}

static void set_text(struct dash_model *m, char *dst, size_t size, const char *text)
{
    if (!strncmp(dst, text ? text : "", size))
        return;
    snprintf(dst, size, "%s", text ? text : "");
    m->dirty = true;
}

void dash_model_set_link(struct dash_model *m, const char *text)
{
    set_text(m, m->link, sizeof m->link, text);
}

void dash_model_set_clock(struct dash_model *m, const char *text)
{
    set_text(m, m->clock, sizeof m->clock, text);
}

void dash_model_set_replay(struct dash_model *m, bool paused, double speed)
{
    if (m->replay_paused == paused && m->replay_speed == speed)
        return;
    m->replay_paused = paused;
    m->replay_speed = speed;
    m->dirty = true;
}

bool dash_model_dirty(const struct dash_model *m)
{
    return m->dirty;
}
void dash_model_drawn(struct dash_model *m)
{
    m->dirty = false;
}
bool dash_model_quit_requested(const struct dash_model *m)
{
    return m->quit;
}
enum dash_view dash_model_view(const struct dash_model *m)
{
    return m->view;
}
bool dash_model_crashed(const struct dash_model *m)
{
    return m->crash.valid;
}

/* ---- keys ---------------------------------------------------------------- */

/* Moves *pos by delta within [0, max], saturating. */
static size_t step(size_t pos, long delta, size_t max)
{
    if (delta < 0)
        return (size_t)-delta > pos ? 0 : pos - (size_t)-delta;
    return pos + (size_t)delta > max ? max : pos + (size_t)delta;
}

/* Up/Down/PgUp/PgDn/Home/End: the change of position, or 0 for another key. */
static long motion(uint32_t key, int page)
{
    switch (key) {
    case DASH_KEY_UP: return -1;
    case DASH_KEY_DOWN: return 1;
    case DASH_KEY_PGUP: return -page;
    case DASH_KEY_PGDN: return page;
    case DASH_KEY_HOME: return -0x40000000L;
    case DASH_KEY_END: return 0x40000000L;
    default: return 0;
    }
}

static void key_typing(struct dash_model *m, uint32_t key)
{
    size_t n = strlen(m->typed);
    if (key == DASH_KEY_ENTER) {
        m->typing = false;
        snprintf(m->filter, sizeof m->filter, "%s", m->typed);
        m->user_sel = false; /* a new filter starts at its first row */
        rebuild(m);
    } else if (key == DASH_KEY_ESC) {
        m->typing = false;
        m->typed[0] = m->filter[0] = 0;
        rebuild(m);
    } else if (key == DASH_KEY_BACKSPACE) {
        if (n)
            m->typed[n - 1] = 0;
    } else if (key >= 0x20 && key < 0x7f && n + 1 < sizeof m->typed) {
        m->typed[n] = (char)key; /* names on a Windows stack are ASCII */
        m->typed[n + 1] = 0;
    }
    m->dirty = true;
}

static enum dash_action replay_key(const struct dash_model *m, uint32_t key)
{
    if (!m->cfg.replay)
        return DASH_ACTION_NONE;
    switch (key) {
    case ' ': return DASH_ACTION_REPLAY_PAUSE;
    case '+':
    case '=': return DASH_ACTION_REPLAY_FASTER;
    case '-': return DASH_ACTION_REPLAY_SLOWER;
    case 'n': return DASH_ACTION_REPLAY_NEXT;
    default: return DASH_ACTION_NONE;
    }
}

static void key_list(struct dash_model *m, uint32_t key)
{
    long d = motion(key, dash_model_list_rows(m));
    if (d && m->norder) {
        select_index(m, step(m->sel, d, m->norder - 1));
        m->user_sel = m->sel != 0; /* back on top: follow the nearest thread again */
        m->dirty = true;
    } else if (key == '/') {
        m->typing = true;
        snprintf(m->typed, sizeof m->typed, "%s", m->filter);
        m->dirty = true;
    } else if (key == 's') {
        m->sort = (enum dash_sort)((m->sort + 1) % DASH_SORTS);
        rebuild(m);
    } else if (key == DASH_KEY_ENTER && dash_model_selected(m)) {
        m->view = DASH_VIEW_DETAILS;
        m->detail_top = 0;
        m->dirty = true;
    } else if (key == DASH_KEY_ESC && m->filter[0]) {
        m->filter[0] = 0;
        rebuild(m);
    }
}

static void key_details(struct dash_model *m, uint32_t key)
{
    const struct mon_thread *r = dash_model_selected(m);
    size_t rows = (size_t)dash_model_detail_rows(m), n = r ? r->nframes : 0;
    long d = motion(key, (int)rows);
    if (d) {
        m->detail_top = step(m->detail_top, d, n > rows ? n - rows : 0);
        m->dirty = true;
    } else if (key == DASH_KEY_ESC || key == DASH_KEY_ENTER) {
        m->view = DASH_VIEW_LIST;
        m->dirty = true;
    }
}

static void key_crash(struct dash_model *m, uint32_t key)
{
    size_t rows = dash_crash_rows(&m->crash, m->w), body = (size_t)dash_model_crash_body(m);
    long d = motion(key, (int)body);
    if (d) {
        m->crash_top = step(m->crash_top, d, rows > body ? rows - body : 0);
        m->dirty = true;
    } else if (key == DASH_KEY_ESC || key == DASH_KEY_ENTER) {
        m->view = DASH_VIEW_LIST;
        m->dirty = true;
    }
}

enum dash_action dash_model_key(struct dash_model *m, uint32_t key)
{
    if (m->typing) {
        key_typing(m, key);
        return DASH_ACTION_NONE;
    }
    enum dash_action a = replay_key(m, key);
    if (a != DASH_ACTION_NONE)
        return a;
    if (key == 'q' || key == 'Q') {
        m->quit = true;
        return DASH_ACTION_QUIT;
    }
    if (key == 'p') {
        if (m->paused) {
            resume(m);
        } else {
            m->paused = true;
            m->events_frozen = m->nevents;
        }
        m->dirty = true;
        return DASH_ACTION_NONE;
    }
    if (key == 'c' && m->crash.valid && m->view != DASH_VIEW_CRASH) {
        m->view = DASH_VIEW_CRASH;
        m->dirty = true;
        return DASH_ACTION_NONE;
    }
    switch (m->view) {
    case DASH_VIEW_LIST: key_list(m, key); break;
    case DASH_VIEW_DETAILS: key_details(m, key); break;
    case DASH_VIEW_CRASH: key_crash(m, key); break;
    }
    return DASH_ACTION_NONE;
}
