/* test_out_svg.c: the crash picture is well-formed XML (balanced tags, a
 * tiny checker here, so no xmllint at run time), shows the StackLimit line,
 * the overflow, the stack switch, the cycle, a legend entry per module, and
 * draws frames with heights proportional to their kf sizes. */
#include "check.h"
#include "fake_events.h"
#include "kd_status.h"
#include "out_svg.h"

#include <stdbool.h>

/* Tags open and close in order, attributes are quoted, '&' starts an entity,
 * and one root element holds everything. */
static bool well_formed(const char *s)
{
    char stack[32][32];
    int depth = 0, roots = 0;
    const char *p = s;
    if (!strncmp(p, "<?xml", 5)) {
        p = strstr(p, "?>");
        if (!p)
            return false;
        p += 2;
    }
    while (*p) {
        if (*p == '&') {
            if (strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4) &&
                strncmp(p, "&quot;", 6))
                return false;
            p++;
            continue;
        }
        if (*p == '>')
            return false; /* a stray '>' in text is legal XML but never ours: escape it */
        if (*p != '<') {
            if (depth == 0 && *p != '\n' && *p != ' ')
                return false; /* text outside the root */
            p++;
            continue;
        }
        bool closing = p[1] == '/';
        const char *name = p + 1 + closing;
        size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-:");
        if (!n || n >= sizeof stack[0])
            return false;
        const char *q = name + n;
        char quote = 0;
        for (; *q && (quote || *q != '>'); q++) {
            if (*q == '<' && !quote)
                return false;
            if (*q == '"' || *q == '\'')
                quote = quote == *q ? 0 : quote ? quote : *q;
        }
        if (*q != '>' || quote)
            return false;
        bool self = q[-1] == '/';
        if (closing) {
            if (!depth || strncmp(stack[depth - 1], name, n) || stack[depth - 1][n])
                return false;
            depth--;
        } else if (!self) {
            if (depth == 0)
                roots++;
            if (depth == 32)
                return false;
            snprintf(stack[depth++], sizeof stack[0], "%.*s", (int)n, name);
        } else if (depth == 0) {
            return false;
        }
        p = q + 1;
    }
    return depth == 0 && roots == 1;
}

static char *crash_svg(void)
{
    struct fake_events *f = NULL;
    struct fake_events_config cfg = {.samples = 2, .threads = 10};
    struct mon_event ev;
    char *buf = NULL;
    size_t len = 0;
    CHECK_EQ(fake_events_new(&cfg, &f), KD_OK);
    while (fake_events_next(f, &ev))
        ;
    FILE *out = open_memstream(&buf, &len);
    CHECK_EQ(out_svg_crash(out, fake_events_crash(f)), KD_OK);
    fclose(out);
    fake_events_free(f);
    return buf;
}

/* The height of the frame block whose tooltip starts with title. */
static double block_height(const char *svg, const char *title)
{
    const char *t = strstr(svg, title), *rect = t;
    while (rect && rect > svg && strncmp(rect, "<rect", 5))
        rect--;
    const char *h = rect ? strstr(rect, "height=\"") : NULL;
    return h && h < t ? atof(h + 8) : -1;
}

TEST(checker_catches_mistakes)
{
    CHECK(well_formed("<?xml version=\"1.0\"?>\n<svg><g><rect x=\"1\"/></g></svg>\n"));
    CHECK(!well_formed("<svg><g></svg></g>"));
    CHECK(!well_formed("<svg><text>a & b</text></svg>"));
    CHECK(!well_formed("<svg><text>a</text></svg><svg></svg>"));
    CHECK(!well_formed("<svg><rect x=\"1/></svg>"));
    CHECK(!well_formed("<svg><text>a -> b</text></svg>"));
}

TEST(crash_picture_is_well_formed)
{
    char *svg = crash_svg();
    CHECK(svg && well_formed(svg));
    CHECK(strstr(svg, "<line class=\"limit\"") != NULL);
    CHECK(strstr(svg, ">StackLimit fffff880`0b9c1000</text>") != NULL);
    CHECK(strstr(svg, "<rect class=\"overflow\"") != NULL);
    CHECK(strstr(svg, ">0xf0 (240) bytes past the limit</text>") != NULL);
    CHECK(strstr(svg, "<polyline class=\"switch\"") != NULL);
    CHECK(strstr(svg, ">stack switch (IST stack -&gt; thread stack)</text>") != NULL);
    CHECK(strstr(svg, "<path class=\"cycle\"") != NULL);
    CHECK(strstr(svg, ">cycle x17: 11 frames, 0x4d0 bytes per turn</text>") != NULL);
    CHECK(strstr(svg, ">0x7F UNEXPECTED_KERNEL_MODE_TRAP (8 = double fault)</text>") != NULL);
    CHECK(strstr(svg, ">rosempio 14400 (61%)</text>") != NULL);
    CHECK(strstr(svg, ">hal 112 (0%)</text>") != NULL);
    size_t frames = 0;
    for (const char *p = svg; (p = strstr(p, "<rect class=\"frame\"")); p++)
        frames++;
    CHECK_EQ(frames, 205 - 2); /* every line with a size: not the first, not the switch */
    free(svg);
}

TEST(heights_follow_frame_sizes)
{
    char *svg = crash_svg();
    double big = block_height(svg, "<title>#04 ql2300+0x6dc7a (0x140 bytes)");
    double small =
        block_height(svg, "<title>#05 storport!RaidpAdapterContinueScatterGather+0xc3 (0x80");
    double ist = block_height(svg, "<title>#02 nt!KiDoubleFaultAbort+0x28b (0x140 bytes)");
    CHECK(big > 0 && small > 0);
    CHECK(big / small > 2.49 && big / small < 2.51);
    CHECK(ist > big - 0.11 && ist < big + 0.11); /* the same scale on the IST stack */
    free(svg);
}

TEST(no_breakdown_still_a_picture)
{
    struct mon_crash c;
    char *buf = NULL;
    size_t len = 0;
    memset(&c, 0, sizeof c);
    snprintf(c.process, sizeof c.process, "<&>");
    FILE *out = open_memstream(&buf, &len);
    CHECK_EQ(out_svg_crash(out, &c), KD_OK);
    fclose(out);
    CHECK(well_formed(buf));
    CHECK(strstr(buf, "thread &lt;&amp;&gt; pid 0") != NULL);
    CHECK(strstr(buf, "no stack could be unwound") != NULL);
    free(buf);
    CHECK_EQ(out_svg_file("/nonexistent/dir/x.svg", &c), KD_ERR_IO);
    CHECK_EQ(out_svg_breakdown(stdout, NULL, NULL, NULL), KD_ERR_ARG);
}

int main(void)
{
    RUN(checker_catches_mistakes);
    RUN(crash_picture_is_well_formed);
    RUN(heights_follow_frame_sizes);
    RUN(no_breakdown_still_a_picture);
    return check_summary("test_out_svg");
}
