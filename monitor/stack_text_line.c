/* stack_text_line.c: tokens and frames of one line of WinDbg stack text.
 * Frame shape: [#] [Memory] SP RetAddr [: args :| x86 args] call-site [notes]. */
#include "stack_text_line.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static bool is_hex(int c)
{
    return isxdigit((unsigned char)c) != 0;
}

static int hex_val(int c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

size_t stack_text_line_hex(const char *s, size_t n, bool loose, uint64_t *v)
{
    size_t i = 0, digits = 0;
    uint64_t x = 0;
    bool tick = false;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        i = 2;
    for (; i < n; i++) {
        if (is_hex(s[i])) {
            if (digits == 16)
                return 0;
            x = x << 4 | (uint64_t)hex_val(s[i]);
            digits++;
        } else if (s[i] == '`' && !tick && digits == 8) {
            tick = true; /* WinDbg splits 64-bit values: fffff880`0b9c0f10 */
        } else {
            break;
        }
    }
    if (!digits || (tick && digits != 16))
        return 0;
    if (i < n && (!loose || isalnum((unsigned char)s[i])))
        return 0;
    *v = x;
    return digits;
}

static const char *tok(const struct stack_text_line *l, size_t i)
{
    return l->buf + l->tok_at[i];
}

bool stack_text_line_tok_is(const struct stack_text_line *l, size_t i, const char *s)
{
    size_t n = strlen(s);
    return i < l->ntok && l->tok_len[i] == n && !memcmp(tok(l, i), s, n);
}

/* Tags seen around cells of stack tables pasted from blogs. */
static size_t html_tag(const char *p, size_t n)
{
    static const char *const tags[] = {"center", "b",    "i",   "em",  "strong", "code",
                                       "span",   "br",   "p",   "td",  "tr",     "th",
                                       "u",      "font", "div", "pre", "sup",    "sub"};
    size_t i = 1, name;
    if (i < n && p[i] == '/')
        i++;
    name = i;
    while (i < n && isalpha((unsigned char)p[i]))
        i++;
    size_t len = i - name;
    bool known = false;
    for (size_t t = 0; t < sizeof tags / sizeof tags[0] && !known; t++)
        known = strlen(tags[t]) == len && !strncasecmp(p + name, tags[t], len);
    if (!known)
        return 0;
    for (size_t lim = 0; i < n && lim < 200; i++, lim++)
        if (p[i] == '>')
            return i + 1;
    return 0;
}

void stack_text_line_load(struct stack_text_line *l, const char *p, size_t n)
{
    size_t o = 0, i = 0;
    if (n > STACK_TEXT_LINE_MAX)
        n = STACK_TEXT_LINE_MAX;
    while (i < n && p[i] == ' ')
        i++;
    bool table = i < n && p[i] == '|';
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        size_t skip;
        if (c == 0xC2 && i + 1 < n && (unsigned char)p[i + 1] == 0xA0) {
            l->buf[o++] = ' '; /* no-break space, common in blog pastes */
            i++;
        } else if (c == 0xE3 && i + 2 < n && (unsigned char)p[i + 1] == 0x80 &&
                   (unsigned char)p[i + 2] == 0x80) {
            l->buf[o++] = ' '; /* ideographic space */
            i += 2;
        } else if (c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\0') {
            l->buf[o++] = ' ';
        } else if (table && c == '|') {
            l->buf[o++] = ' ';
        } else if (table && c == '*') {
            continue;
        } else if (table && c == '<' && (skip = html_tag(p + i, n - i)) != 0) {
            l->buf[o++] = ' ';
            i += skip - 1;
        } else {
            l->buf[o++] = (char)c;
        }
    }
    l->buf[o] = '\0';
    l->len = o;
    l->ntok = 0;
    bool separator = table;
    for (i = 0; i < o && l->ntok < STACK_TEXT_LINE_TOKENS;) {
        while (i < o && l->buf[i] == ' ')
            i++;
        if (i == o)
            break;
        l->tok_at[l->ntok] = i;
        while (i < o && l->buf[i] != ' ') {
            separator &= l->buf[i] == '-' || l->buf[i] == ':';
            i++;
        }
        l->tok_len[l->ntok] = i - l->tok_at[l->ntok];
        l->ntok++;
    }
    l->blank = l->ntok == 0 || separator;
}

/* A column address: 8 or 16 hex digits, backtick allowed, no "0x". Returns the width. */
static unsigned addr_width(const struct stack_text_line *l, size_t i, uint64_t *v)
{
    uint64_t x;
    if (i >= l->ntok || (l->tok_len[i] >= 2 && tok(l, i)[1] == 'x'))
        return 0;
    size_t d = stack_text_line_hex(tok(l, i), l->tok_len[i], false, &x);
    if (d != 8 && d != 16)
        return 0;
    if (v)
        *v = x;
    return (unsigned)d;
}

static bool short_hex(const struct stack_text_line *l, size_t i, uint64_t *v)
{
    if (i >= l->ntok || l->tok_len[i] > 8 || (l->tok_len[i] >= 2 && tok(l, i)[1] == 'x'))
        return false;
    return stack_text_line_hex(tok(l, i), l->tok_len[i], false, v) == l->tok_len[i];
}

static bool mod_char(int c)
{
    return isalnum(c) || c == '_' || c == '.' || c == '$' || c == '-';
}

/* "nt!Foo", "CLASSPNP!", "ql2300+0x69416" or "0x7c82ed54". */
static bool callsite_like(const struct stack_text_line *l, size_t k)
{
    if (k >= l->ntok)
        return false;
    const char *s = tok(l, k);
    size_t n = l->tok_len[k], i = 0;
    bool alpha = false;
    if (n > 2 && s[0] == '0' && s[1] == 'x')
        return is_hex(s[2]);
    for (; i < n && mod_char((unsigned char)s[i]); i++)
        alpha |= isalpha((unsigned char)s[i]) != 0;
    if (!i || i >= BREAKDOWN_MODULE_LEN || !alpha || i == n)
        return false;
    return s[i] == '!' || (i + 2 < n && s[i] == '+' && s[i + 1] == '0' && s[i + 2] == 'x');
}

static bool dashes(const struct stack_text_line *l, size_t k, unsigned *width)
{
    unsigned d = 0;
    for (size_t i = 0; k < l->ntok && i < l->tok_len[k]; i++) {
        char c = tok(l, k)[i];
        if (c != '-' && c != '`')
            return false;
        d += c == '-';
    }
    *width = d;
    return k < l->ntok && (d == 8 || d == 16);
}

/* Is there a frame whose SP column is token t? *cs = its call-site token. */
static bool frame_at(const struct stack_text_line *l, size_t t, size_t *cs, unsigned *width,
                     bool *inl)
{
    size_t a, n = l->ntok;
    unsigned w2;
    *inl = false;
    if (stack_text_line_tok_is(l, t, "(Inline") && stack_text_line_tok_is(l, t + 1, "Function)") &&
        dashes(l, t + 2, width)) {
        *inl = true; /* inlined call: no stack of its own */
        a = t + 3;
    } else {
        *width = addr_width(l, t, NULL);
        w2 = addr_width(l, t + 1, NULL);
        if (!*width || *width != w2)
            return false;
        a = t + 2;
    }
    if (stack_text_line_tok_is(l, a, ":")) { /* x64 kb/kv: " : args : ", !analyze: " : " */
        uint64_t v;
        size_t k = a + 1;
        if (callsite_like(l, k)) {
            *cs = k;
            return true;
        }
        while (k < n && k <= a + 9 && stack_text_line_hex(tok(l, k), l->tok_len[k], false, &v))
            k++;
        if (!stack_text_line_tok_is(l, k, ":") || !callsite_like(l, k + 1))
            return false;
        *cs = k + 1;
        return true;
    }
    if (callsite_like(l, a)) {
        *cs = a;
        return true;
    }
    if (*width == 8 && addr_width(l, a, NULL) == 8 && addr_width(l, a + 1, NULL) == 8 &&
        addr_width(l, a + 2, NULL) == 8 && callsite_like(l, a + 3)) {
        *cs = a + 3; /* x86 kb/kv: three args, no separators */
        return true;
    }
    return false;
}

static void copy_trim(char *dst, size_t size, const char *src, size_t n)
{
    while (n && src[n - 1] == ' ')
        n--;
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Splits "module!function+0xoff" (function may hold "(args)", "<T, U>", "?? ::x"). */
static void decompose(const char *s, size_t n, struct breakdown_frame *f)
{
    uint64_t v;
    size_t i = 0;
    if (n > 2 && s[0] == '0' && s[1] == 'x') { /* bare address; prose may be glued on */
        for (i = 2, v = 0; i < n && i < 18 && is_hex(s[i]); i++)
            v = v << 4 | (uint64_t)hex_val(s[i]);
        f->offset = v;
        f->has_offset = true;
        return;
    }
    while (i < n && mod_char((unsigned char)s[i]))
        i++;
    copy_trim(f->module, sizeof f->module, s, i);
    size_t fn = i, fn_end = n, off = n;
    if (i < n && s[i] == '!') {
        fn = i + 1;
        while (fn < n && s[fn] == ' ')
            fn++;
        int depth = 0;
        for (size_t q = fn; q < n; q++) {
            unsigned char c = (unsigned char)s[q];
            if (c >= 0x80) { /* prose glued to the symbol */
                fn_end = q < fn_end ? q : fn_end;
                break;
            }
            if (c == '(' && depth == 0 && fn_end == n)
                fn_end = q; /* kp argument list */
            depth += c == '(' || c == '<';
            depth -= depth > 0 && (c == ')' || c == '>');
            if (depth == 0 && c == '+' && q + 2 < n && s[q + 1] == '0' && s[q + 2] == 'x') {
                fn_end = q < fn_end ? q : fn_end;
                off = q + 3;
                break;
            }
        }
        copy_trim(f->function, sizeof f->function, s + fn, fn_end - fn);
    } else if (i + 2 < n && s[i] == '+' && s[i + 1] == '0' && s[i + 2] == 'x') {
        off = i + 3;
    }
    v = 0;
    size_t d = 0;
    for (; off < n && d < 16 && is_hex(s[off]); off++, d++)
        v = v << 4 | (uint64_t)hex_val(s[off]);
    f->has_offset = d > 0;
    f->offset = v;
}

/* Glues the tokens of one call site and decomposes it; returns the next token. */
static size_t parse_callsite(const struct stack_text_line *l, size_t c, struct breakdown_frame *f,
                             bool *open_paren)
{
    char text[BREAKDOWN_CALLSITE_LEN * 2];
    size_t tl = 0, k = c;
    int paren = 0, angle = 0;
    for (; k < l->ntok && k < c + 64; k++) {
        const char *s = tok(l, k);
        size_t n = l->tok_len[k];
        if (k > c) {
            /* WinDbg's "CLASSPNP! ?? ::FNODOBFM::`string'", templates, kp args */
            bool glue = paren > 0 || angle > 0 ||
                        (tl && text[tl - 1] == '!' && n >= 2 && s[0] == '?' && s[1] == '?') ||
                        (tl >= 2 && text[tl - 1] == '?' && text[tl - 2] == '?') ||
                        (n >= 2 && s[0] == ':' && s[1] == ':');
            if (!glue || addr_width(l, k, NULL) || stack_text_line_tok_is(l, k, ":"))
                break;
            if (tl + 1 < sizeof text)
                text[tl++] = ' ';
        }
        for (size_t i = 0; i < n; i++) {
            paren += s[i] == '(';
            paren -= paren > 0 && s[i] == ')';
            angle += s[i] == '<';
            angle -= angle > 0 && s[i] == '>';
            if (tl + 1 < sizeof text)
                text[tl++] = s[i];
        }
    }
    *open_paren = paren > 0;
    decompose(text, tl, f);
    return k;
}

/* Leading frame-number and Memory columns (tokens [0, t)). */
static void apply_prefix(const struct stack_text_line *l, size_t t,
                         struct stack_text_line_cols *cols, struct breakdown_frame *f)
{
    uint64_t v[2];
    bool number = false, memory = false;
    if (t == 0 || t > 2 || !short_hex(l, 0, &v[0]) || (t == 2 && !short_hex(l, 1, &v[1])))
        return;
    if (t == 2) {
        number = memory = true;
    } else if (cols->number || cols->memory) {
        number = cols->number;
        memory = !cols->number;
    } else { /* no header: "00", "01", ... in sequence are frame numbers */
        number = l->tok_len[0] >= 2 && v[0] == (cols->next_ok ? cols->next_no : 0);
        memory = !number;
    }
    if (number) {
        cols->next_ok = true;
        cols->next_no = v[0] + 1;
    }
    if (memory) {
        f->memory = v[t - 1];
        f->flags |= BREAKDOWN_FRAME_MEMORY;
    }
}

static void scan_notes(const struct stack_text_line *l, size_t from, size_t to,
                       struct breakdown_frame *f)
{
    for (size_t u = from; u < to; u++) /* "(TrapFrame @ x)", "(FPO: [0,0] TrapFrame @ x)" */
        for (size_t i = 0; i + 9 <= l->tok_len[u]; i++)
            if (!memcmp(tok(l, u) + i, "TrapFrame", 9))
                f->flags |= BREAKDOWN_FRAME_TRAP;
}

size_t stack_text_line_frames(const struct stack_text_line *l, struct stack_text_line_cols *cols,
                              struct breakdown_frame *out, size_t max, unsigned *ptr_size,
                              bool *open_paren)
{
    size_t count = 0, t = 0;
    *open_paren = false;
    while (t < l->ntok && count < max) {
        size_t cs, next;
        unsigned w;
        bool inl;
        if (!frame_at(l, t, &cs, &w, &inl)) {
            t++;
            continue;
        }
        struct breakdown_frame *f = &out[count];
        memset(f, 0, sizeof *f);
        if (count == 0)
            apply_prefix(l, t, cols, f);
        if (inl) {
            f->flags |= BREAKDOWN_FRAME_NO_SP;
        } else {
            addr_width(l, t, &f->sp);
            addr_width(l, t + 1, &f->ret);
        }
        if (count == 0)
            *ptr_size = w == 16 ? 8 : 4;
        next = parse_callsite(l, cs, f, open_paren);
        size_t u = next, cs2;
        while (u < l->ntok && !frame_at(l, u, &cs2, &w, &inl))
            u++;
        scan_notes(l, next, u, f);
        count++;
        t = u;
    }
    return count;
}

bool stack_text_line_kc(const struct stack_text_line *l, struct stack_text_line_cols *cols,
                        struct breakdown_frame *out)
{
    uint64_t v;
    size_t c = 0;
    bool open;
    while (c < 3 && c < l->ntok && !callsite_like(l, c)) {
        if (!short_hex(l, c, &v))
            return false;
        c++;
    }
    if (c >= 3 || c >= l->ntok)
        return false;
    memset(out, 0, sizeof *out);
    struct stack_text_line_cols saved = *cols;
    apply_prefix(l, c, cols, out);
    out->flags |= BREAKDOWN_FRAME_NO_SP;
    size_t next = parse_callsite(l, c, out, &open);
    if (!out->function[0] && !out->has_offset) {
        *cols = saved; /* "Hello!" in prose is no frame */
        return false;
    }
    scan_notes(l, next, l->ntok, out);
    return true;
}
