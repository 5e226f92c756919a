/* dash_grid.c: a W x H grid of cells, written with UTF-8 text. */
#include "dash_grid.h"

#include "kd_status.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const struct dash_glyphs *dash_grid_glyphs(bool ascii)
{
    static const struct dash_glyphs unicode = {0x2588, 0x2592, 0x2591, 0x2502, 0x2026,
                                               0x2500, 0x23ce, 0x2195, 0x00b7};
    static const struct dash_glyphs plain = {'#', '+', '.', '|', '~', '-', '<', '^', '|'};
    return ascii ? &plain : &unicode;
}

int dash_grid_init(struct dash_grid *g, int w, int h)
{
    g->w = g->h = 0;
    g->cells = NULL;
    if (w < 1 || h < 1 || w > 4096 || h > 4096)
        return KD_ERR_ARG;
    g->cells = malloc((size_t)w * (size_t)h * sizeof *g->cells);
    if (!g->cells)
        return KD_ERR_NOMEM;
    g->w = w;
    g->h = h;
    dash_grid_clear(g);
    return KD_OK;
}

void dash_grid_fini(struct dash_grid *g)
{
    free(g->cells);
    g->cells = NULL;
    g->w = g->h = 0;
}

void dash_grid_clear(struct dash_grid *g)
{
    for (int i = 0; i < g->w * g->h; i++)
        g->cells[i] = (struct dash_cell){' ', DASH_ATTR_NORMAL};
}

struct dash_cell *dash_grid_at(struct dash_grid *g, int row, int col)
{
    if (row < 0 || col < 0 || row >= g->h || col >= g->w)
        return NULL;
    return &g->cells[row * g->w + col];
}

void dash_grid_fill(struct dash_grid *g, int row, int col, int n, uint32_t ch, uint8_t attr)
{
    for (int i = 0; i < n; i++) {
        struct dash_cell *c = dash_grid_at(g, row, col + i);
        if (c)
            *c = (struct dash_cell){ch, attr};
    }
}

void dash_grid_paint(struct dash_grid *g, int row, int col, int n, uint8_t attr)
{
    for (int i = 0; i < n; i++) {
        struct dash_cell *c = dash_grid_at(g, row, col + i);
        if (c)
            c->attr = attr;
    }
}

/* Decodes one code point at s (never past its NUL); *len gets the bytes
 * used. Anything that is not printable UTF-8 decodes as '?': target names
 * are untrusted bytes and must not reach the terminal as control codes. */
static uint32_t decode(const unsigned char *s, int *len)
{
    *len = 1;
    if (s[0] < 0x80)
        return s[0] < 0x20 || s[0] == 0x7f ? '?' : s[0];
    int n = s[0] >= 0xF0 && s[0] <= 0xF4  ? 4
            : s[0] >= 0xE0 && s[0] < 0xF0 ? 3
            : s[0] >= 0xC2 && s[0] < 0xE0 ? 2
                                          : 0;
    if (!n)
        return '?';
    uint32_t cp = s[0] & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return '?';
        cp = cp << 6 | (s[i] & 0x3f);
    }
    *len = n;
    if (cp < 0xa0 || (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
        return '?';
    return cp;
}

int dash_grid_width(const char *s)
{
    int w = 0, len;
    for (const unsigned char *p = (const unsigned char *)s; *p; p += len) {
        decode(p, &len);
        w++;
    }
    return w;
}

int dash_grid_put(struct dash_grid *g, int row, int col, int width, uint8_t attr, const char *s,
                  uint32_t ellipsis)
{
    if (col < 0 || row < 0 || row >= g->h)
        return 0;
    if (width > g->w - col)
        width = g->w - col;
    if (width <= 0)
        return 0;
    bool cut = dash_grid_width(s) > width;
    int n = 0, len;
    for (const unsigned char *p = (const unsigned char *)s; *p && n < width; p += len, n++) {
        uint32_t cp = decode(p, &len);
        if (cut && ellipsis && n == width - 1)
            cp = ellipsis;
        g->cells[row * g->w + col + n] = (struct dash_cell){cp, attr};
    }
    return n;
}

/* UTF-8 of cp into out (4 bytes room); returns the length. */
static size_t encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

size_t dash_grid_row_text(const struct dash_grid *g, int row, char *buf, size_t size)
{
    size_t len = 0, keep = 0;
    if (!size)
        return 0;
    for (int c = 0; row >= 0 && row < g->h && c < g->w; c++) {
        char u[4];
        size_t n = encode(g->cells[row * g->w + c].ch, u);
        if (len + n >= size)
            break;
        memcpy(buf + len, u, n);
        len += n;
        if (g->cells[row * g->w + c].ch != ' ')
            keep = len;
    }
    buf[keep] = 0;
    return keep;
}

char *dash_grid_text(const struct dash_grid *g)
{
    size_t row_max = (size_t)g->w * 4 + 1, len = 0;
    char *out = malloc((size_t)g->h * row_max + 1);
    if (!out)
        return NULL;
    for (int r = 0; r < g->h; r++) {
        len += dash_grid_row_text(g, r, out + len, row_max);
        out[len++] = '\n';
    }
    out[len] = 0;
    return out;
}
