/* out_svg.c: the stack picture, written with fprintf. Blocks follow the kf
 * convention of the breakdown: line i's size is the span between frame
 * i-1's SP and frame i's, drawn in frame i's module colour, so the picture
 * and the module table add up the same way. */
#include "out_svg.h"

#include "kd_status.h"
#include "out_text.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 1100
#define COL_X 330 /* the stack column */
#define COL_W 200
#define LABEL_X (COL_X + COL_W + 10)
#define LEGEND_X 850
#define TOP 110
#define GAP 56         /* between two stacks: the break */
#define MIN_SEGMENT 24 /* a stack with no sizes still shows */
#define LABEL_MIN 11   /* blocks shorter than this get a tooltip only */

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1",
                                      "#76b7b2", "#edc948", "#ff9da7", "#9c755f"};
#define OTHER_COLOUR "#bab0ac"

static void esc(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '&')
            fputs("&amp;", out);
        else if (ch == '<')
            fputs("&lt;", out);
        else if (ch == '>')
            fputs("&gt;", out);
        else if (ch == '"')
            fputs("&quot;", out);
        else if (ch < 0x20 || ch == 0x7f || ch >= 0x80)
            fputc('?', out); /* XML 1.0 forbids control bytes; names are ASCII */
        else
            fputc(ch, out);
    }
}

static const char *colour(const struct breakdown *bd, const char *module)
{
    for (size_t i = 0; i < bd->module_count && i < sizeof palette / sizeof palette[0]; i++)
        if (!strcmp(bd->modules[i].name, module[0] ? module : "?"))
            return palette[i];
    return OTHER_COLOUR;
}

static bool sized(const struct breakdown *bd, size_t i)
{
    return bd->lines[i].edge == BREAKDOWN_EDGE_SIZE || bd->lines[i].edge == BREAKDOWN_EDGE_MEMORY;
}

/* Vertical scale: the faulting stack gets about 16 bytes per pixel, within bounds. */
static double scale_of(const struct breakdown *bd)
{
    uint64_t span = bd->total_bytes;
    if (bd->has_thread_range && bd->has_lowest_sp) {
        uint64_t low =
            bd->lowest_sp < bd->thread_range.limit ? bd->lowest_sp : bd->thread_range.limit;
        span = bd->thread_range.base - low;
    }
    double px = (double)span / 16.0;
    px = px < 500 ? 500 : px > 2400 ? 2400 : px;
    return span ? px / (double)span : 1.0;
}

static void addr(uint64_t v, char *buf, size_t n)
{
    snprintf(buf, n, "%08" PRIx64 "`%08" PRIx64, v >> 32, v & 0xffffffffu);
}

static void block(FILE *out, const struct breakdown *bd, size_t i, double y, double h)
{
    char cs[BREAKDOWN_CALLSITE_LEN];
    breakdown_frame_format(&bd->frames[i], cs, sizeof cs);
    fprintf(out,
            "<rect class=\"frame\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\">",
            COL_X, y, COL_W, h, colour(bd, bd->frames[i].module));
    fprintf(out, "<title>#%02zx ", i);
    esc(out, cs);
    fprintf(out, " (0x%" PRIx64 " bytes)</title></rect>\n", bd->lines[i].size);
    if (h >= LABEL_MIN) {
        fprintf(out, "<text class=\"label\" x=\"%d\" y=\"%.1f\">", LABEL_X, y + h / 2 + 4);
        esc(out, cs);
        fprintf(out, " 0x%" PRIx64 "</text>\n", bd->lines[i].size);
    }
}

/* The thread stack by address: base at y0. Returns its bottom. */
static double thread_segment(FILE *out, const struct breakdown *bd,
                             const struct breakdown_stack *st, double y0, double sc, double *ys)
{
    const struct breakdown_range *r = &bd->thread_range;
    uint64_t low = bd->has_lowest_sp && bd->lowest_sp < r->limit ? bd->lowest_sp : r->limit;
    double ylim = y0 + (double)(r->base - r->limit) * sc, ylow = y0 + (double)(r->base - low) * sc;
    char a[24];
    fprintf(out, "<rect class=\"stack\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\"/>\n",
            COL_X, y0, COL_W, ylim - y0);
    for (size_t i = st->first; i <= st->last && i < bd->count; i++) {
        const struct breakdown_frame *f = &bd->frames[i];
        if (!(f->flags & BREAKDOWN_FRAME_NO_SP))
            ys[i] = y0 + (double)(r->base - f->sp) * sc;
        if (i > st->first && sized(bd, i) && !(f->flags & BREAKDOWN_FRAME_NO_SP))
            block(out, bd, i, ys[i], ys[i - 1] - ys[i]);
    }
    if (ylow > ylim) /* over the blocks: what lies past the limit stays visible */
        fprintf(out,
                "<rect class=\"overflow\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\"/>\n",
                COL_X, ylim, COL_W, ylow - ylim);
    addr(r->base, a, sizeof a);
    fprintf(out, "<text class=\"addr\" x=\"%d\" y=\"%.1f\">StackBase %s</text>\n", COL_X - 8,
            y0 + 4, a);
    addr(r->limit, a, sizeof a);
    fprintf(out, "<line class=\"limit\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n",
            COL_X - 150, ylim, COL_X + COL_W + 150, ylim);
    fprintf(out, "<text class=\"limit-text\" x=\"%d\" y=\"%.1f\">StackLimit %s</text>\n", COL_X - 8,
            ylim - 4, a);
    if (bd->past_limit)
        fprintf(out,
                "<text class=\"past\" x=\"%d\" y=\"%.1f\">0x%" PRIx64 " (%" PRIu64
                ") bytes past the limit</text>\n",
                COL_X - 8, ylow + 12, bd->past, bd->past);
    return ylow > ylim ? ylow : ylim;
}

/* Any other stack: blocks one under the other from the outermost. */
static double plain_segment(FILE *out, const struct breakdown *bd, const struct breakdown_stack *st,
                            double y0, double sc, double *ys)
{
    double y = y0;
    for (size_t k = st->last + 1; k-- > st->first;) {
        ys[k] = y;
        if (k > st->first && sized(bd, k)) {
            block(out, bd, k, y, (double)bd->lines[k].size * sc);
            y += (double)bd->lines[k].size * sc;
        }
    }
    if (y - y0 < MIN_SEGMENT)
        y = y0 + MIN_SEGMENT;
    fprintf(
        out,
        "<rect class=\"stack\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"none\"/>\n",
        COL_X, y0, COL_W, y - y0);
    fprintf(out, "<text class=\"addr\" x=\"%d\" y=\"%.1f\">%s</text>\n", COL_X - 8, y0 + 12,
            breakdown_kind_str(st->kind));
    return y;
}

/* The zigzag between two stacks, with the switch named. */
static void brk(FILE *out, const struct breakdown *bd, size_t upper, size_t lower, double y)
{
    double m = y + GAP / 2.0;
    fputs("<polyline class=\"switch\" points=\"", out);
    for (int x = COL_X - 20, k = 0; x <= COL_X + COL_W + 20; x += 12, k++)
        fprintf(out, "%d,%.1f ", x, m + (k % 2 ? -6 : 6));
    fprintf(
        out,
        "\"/>\n<text class=\"switch-text\" x=\"%d\" y=\"%.1f\">stack switch (%s -&gt; %s)</text>\n",
        LABEL_X, m + 4, breakdown_kind_str(bd->stacks[lower].kind),
        breakdown_kind_str(bd->stacks[upper].kind));
}

static void cycle(FILE *out, const struct breakdown *bd, const double *ys)
{
    const struct breakdown_cycle *c = &bd->cycle;
    size_t first = c->start, last = c->start + c->period * c->turns - 1;
    if (!bd->has_cycle || last >= bd->count || first == 0)
        return;
    double top = ys[last], bottom = ys[first - 1], x = COL_X - 14;
    fprintf(out, "<path class=\"cycle\" d=\"M %.1f %.1f h -8 V %.1f h 8\"/>\n", x, top, bottom);
    for (size_t t = 1; t < c->turns; t++)
        fprintf(out, "<line class=\"turn\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                x - 8, ys[first - 1 + t * c->period], x, ys[first - 1 + t * c->period]);
    fprintf(out,
            "<text class=\"cycle-text\" x=\"%.1f\" y=\"%.1f\">cycle x%zu: %zu frames, 0x%" PRIx64
            " bytes per turn</text>\n",
            x - 12, (top + bottom) / 2, c->turns, c->period, c->turn_min);
}

static void legend(FILE *out, const struct breakdown *bd)
{
    double y = TOP;
    fprintf(out, "<text class=\"h\" x=\"%d\" y=\"%.1f\">Usage per module</text>\n", LEGEND_X, y);
    for (size_t i = 0; i < bd->module_count; i++) {
        const struct breakdown_module *m = &bd->modules[i];
        y += 20;
        fprintf(out, "<rect x=\"%d\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\"/>", LEGEND_X,
                y - 11, i < sizeof palette / sizeof palette[0] ? palette[i] : OTHER_COLOUR);
        fprintf(out, "<text x=\"%d\" y=\"%.1f\">", LEGEND_X + 20, y);
        esc(out, m->name);
        fprintf(out, " %" PRIu64 " (%u%%)</text>\n", m->bytes, m->percent);
    }
}

static void head(FILE *out, double height, const char *title, const char *subtitle)
{
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
            "height=\"%.0f\" viewBox=\"0 0 %d %.0f\" font-family=\"monospace\" font-size=\"11\">\n",
            WIDTH, height, WIDTH, height);
    fputs("<defs><pattern id=\"hatch\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\">"
          "<path d=\"M 0 8 L 8 0\" stroke=\"#d62728\" stroke-width=\"2\"/></pattern>\n"
          "<style>.frame{stroke:#fff;stroke-width:0.5}.stack{fill:#f4f4f4;stroke:#888}"
          ".overflow{fill:url(#hatch);fill-opacity:0.8;stroke:#d62728;stroke-width:2}.limit{stroke:"
          "#d62728;stroke-width:2;"
          "stroke-dasharray:6 3}.limit-text,.past{fill:#d62728;text-anchor:end;font-weight:bold}"
          ".addr{text-anchor:end;fill:#555}.switch{fill:none;stroke:#7f3fbf;stroke-width:2}"
          ".switch-text{fill:#7f3fbf}.cycle{fill:none;stroke:#333;stroke-width:2}"
          ".turn{stroke:#333}.cycle-text{text-anchor:end;font-weight:bold}"
          ".h{font-weight:bold}.title{font-size:16px;font-weight:bold}</style></defs>\n",
          out);
    fputs("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n", out);
    fputs("<text class=\"title\" x=\"20\" y=\"30\">", out);
    esc(out, title ? title : "kernel stack");
    fputs("</text>\n<text x=\"20\" y=\"52\">", out);
    esc(out, subtitle ? subtitle : "");
    fputs("</text>\n", out);
}

int out_svg_breakdown(FILE *out, const struct breakdown *bd, const char *title,
                      const char *subtitle)
{
    if (!out || !bd)
        return KD_ERR_ARG;
    double sc = scale_of(bd), y = TOP, *ys = calloc(bd->count ? bd->count : 1, sizeof *ys);
    if (!ys)
        return KD_ERR_NOMEM;
    /* the height first, the header needs it: the column, or the legend beside it */
    double col = TOP;
    for (size_t s = 0; s < bd->stack_count; s++) {
        const struct breakdown_stack *st = &bd->stacks[s];
        double seg = (double)st->bytes * sc;
        if (s == bd->fault_stack && bd->has_thread_range) {
            uint64_t low = bd->has_lowest_sp && bd->lowest_sp < bd->thread_range.limit
                               ? bd->lowest_sp
                               : bd->thread_range.limit;
            seg = (double)(bd->thread_range.base - low) * sc;
        }
        col += (seg < MIN_SEGMENT ? MIN_SEGMENT : seg) + (s ? GAP : 0);
    }
    double leg = TOP + 20.0 * (double)(bd->module_count + 1), h = (col > leg ? col : leg) + 40;
    head(out, h < 400 ? 400 : h, title, subtitle);
    fprintf(out,
            "<text class=\"h\" x=\"%d\" y=\"%d\">grows down; block height = kf frame size</text>\n",
            COL_X, TOP - 20);
    for (size_t s = bd->stack_count; s-- > 0;) { /* outermost stack at the top */
        const struct breakdown_stack *st = &bd->stacks[s];
        if (s + 1 < bd->stack_count) {
            brk(out, bd, s + 1, s, y);
            y += GAP;
        }
        y = s == bd->fault_stack && bd->has_thread_range ? thread_segment(out, bd, st, y, sc, ys)
                                                         : plain_segment(out, bd, st, y, sc, ys);
    }
    cycle(out, bd, ys);
    legend(out, bd);
    fputs("</svg>\n", out);
    free(ys);
    return ferror(out) ? KD_ERR_IO : KD_OK;
}

int out_svg_crash(FILE *out, const struct mon_crash *c)
{
    char title[160], sub[256];
    int64_t over;
    if (!out || !c)
        return KD_ERR_ARG;
    out_text_bugcheck(c, title, sizeof title);
    int n = snprintf(sub, sizeof sub, "thread %s pid %" PRIu32 " tid %" PRIu32,
                     c->process[0] ? c->process : "?", c->pid, c->tid);
    if (out_text_overflow(c, &over) && n > 0 && (size_t)n < sizeof sub)
        snprintf(sub + n, sizeof sub - (size_t)n,
                 over > 0 ? ": %" PRId64 " bytes past StackLimit" : ": %" PRId64 " bytes left",
                 over > 0 ? over : -over);
    if (c->bd)
        return out_svg_breakdown(out, c->bd, title, sub);
    head(out, 200, title, sub);
    fputs("<text x=\"20\" y=\"90\">no stack could be unwound</text>\n</svg>\n", out);
    return ferror(out) ? KD_ERR_IO : KD_OK;
}

int out_svg_file(const char *path, const struct mon_crash *c)
{
    if (!path || !c)
        return KD_ERR_ARG;
    FILE *f = fopen(path, "w");
    if (!f)
        return KD_ERR_IO;
    int rc = out_svg_crash(f, c);
    if (fclose(f) != 0 && rc == KD_OK)
        rc = KD_ERR_IO;
    return rc;
}
