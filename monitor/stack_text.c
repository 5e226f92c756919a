/* stack_text.c: groups frame lines of pasted WinDbg text into listings, drops
 * listings repeated elsewhere in the text, and attaches bounds and register SPs. */
#include "stack_text.h"

#include "kd_status.h"
#include "stack_text_line.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TOTAL_FRAMES 16384 /* over all listings: bounds the repeat search */
#define MAX_CONTEXT 64         /* bounds and register records kept */
#define SLACK 0x4000u          /* an overflowed SP lies below StackLimit (as breakdown.c) */
#define PAIR_LINES 3           /* Base and Limit on lines this close belong together */
#define MAX_ARG_LINES 64       /* kP argument lines after a frame */
#define LINE_FRAMES (STACK_TEXT_LINE_TOKENS / 3 + 1) /* a frame takes 3 tokens or more */

struct bounds_rec {
    size_t line;
    uint64_t a, b; /* base/limit, init/current, or sp */
};

struct block {
    struct breakdown_frame *frames;
    size_t count, cap;
    unsigned ptr_size;
    size_t first_line, last_line;
    bool active, kc, scanned, truncated;
    struct stack_text_line_cols cols;
    size_t arg_lines; /* kP argument lines still allowed */
};

struct parser {
    struct stack_text_line *line;
    struct breakdown_frame *linefr; /* LINE_FRAMES */
    struct block blk;
    struct stack_text_stack *cand;
    size_t ncand, total;
    struct bounds_rec bounds[MAX_CONTEXT], inits[MAX_CONTEXT], regs[MAX_CONTEXT];
    size_t nbounds, ninits, nregs;
    bool has_base, has_limit, has_init;
    struct bounds_rec base, limit, init;
    bool pending_kc;
    int rc;
};

static void block_reset(struct block *b)
{
    free(b->frames);
    memset(b, 0, sizeof *b);
}

/* dps/dds output looks like frames, one pointer apart: not a stack. */
static bool dump_like(const struct block *b)
{
    for (size_t i = 1; i < b->count; i++)
        if ((b->frames[i].flags & BREAKDOWN_FRAME_NO_SP) ||
            b->frames[i].sp - b->frames[i - 1].sp != b->ptr_size)
            return false;
    return !(b->frames[0].flags & BREAKDOWN_FRAME_NO_SP);
}

static void end_block(struct parser *ps)
{
    struct block *b = &ps->blk;
    if (b->count >= 2 && !dump_like(b) && ps->ncand < STACK_TEXT_MAX_STACKS) {
        struct stack_text_stack *s = &ps->cand[ps->ncand++];
        memset(s, 0, sizeof *s);
        s->frames = b->frames;
        s->count = b->count;
        s->ptr_size = b->ptr_size ? b->ptr_size : 8;
        s->truncated = b->truncated;
        s->first_line = b->first_line;
        s->last_line = b->last_line;
        b->frames = NULL;
    }
    block_reset(b);
    ps->pending_kc = false;
}

static void start_block(struct parser *ps, bool kc, const struct stack_text_line_cols *cols)
{
    end_block(ps);
    ps->blk.active = true;
    ps->blk.kc = kc;
    if (cols)
        ps->blk.cols = *cols;
}

static void append(struct parser *ps, const struct breakdown_frame *f, size_t n, size_t lineno)
{
    struct block *b = &ps->blk;
    for (size_t i = 0; i < n; i++) {
        if (b->count >= BREAKDOWN_MAX_FRAMES || ps->total >= MAX_TOTAL_FRAMES) {
            b->truncated = true;
            return;
        }
        if (b->count == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 64;
            struct breakdown_frame *p = realloc(b->frames, cap * sizeof *p);
            if (!p) {
                ps->rc = KD_ERR_NOMEM;
                return;
            }
            b->frames = p;
            b->cap = cap;
        }
        b->frames[b->count] = f[i];
        if (b->scanned)
            b->frames[b->count].flags |= BREAKDOWN_FRAME_SCANNED;
        if (!b->count)
            b->first_line = lineno;
        b->last_line = lineno;
        b->count++;
        ps->total++;
    }
}

static bool tok_starts(const struct stack_text_line *l, size_t i, const char *p)
{
    size_t n = strlen(p);
    return i < l->ntok && l->tok_len[i] >= n && !memcmp(l->buf + l->tok_at[i], p, n);
}

/* Keyword token without markdown emphasis or a trailing colon: "__Stack", "Limit:". */
static bool keyword(const struct stack_text_line *l, size_t i, const char *word)
{
    const char *s = l->buf + l->tok_at[i];
    size_t n = l->tok_len[i], w = strlen(word);
    while (n && (*s == '_' || *s == '*')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ':' || s[n - 1] == '_' || s[n - 1] == '*'))
        n--;
    return n >= w && !memcmp(s + n - w, word, w) && (n == w || s[n - w - 1] == '.');
}

/* Value after token i (a lone ":" may sit between); at least 8 hex digits. */
static bool value_after(const struct stack_text_line *l, size_t i, uint64_t *v)
{
    if (stack_text_line_tok_is(l, i + 1, ":"))
        i++;
    if (i + 1 >= l->ntok)
        return false;
    return stack_text_line_hex(l->buf + l->tok_at[i + 1], l->tok_len[i + 1], true, v) >= 8;
}

static void add_rec(struct bounds_rec *recs, size_t *n, size_t line, uint64_t a, uint64_t b)
{
    if (*n < MAX_CONTEXT)
        recs[(*n)++] = (struct bounds_rec){line, a, b};
}

static void scan_context(struct parser *ps, const struct stack_text_line *l, size_t lineno)
{
    uint64_t v;
    for (size_t i = 0; i < l->ntok; i++) {
        const char *s = l->buf + l->tok_at[i];
        if ((keyword(l, i, "StackBase") || keyword(l, i, "Base")) && value_after(l, i, &v)) {
            ps->base = (struct bounds_rec){lineno, v, 0};
            ps->has_base = true;
        } else if ((keyword(l, i, "StackLimit") || keyword(l, i, "Limit")) &&
                   value_after(l, i, &v)) {
            ps->limit = (struct bounds_rec){lineno, v, 0};
            ps->has_limit = true;
        } else if (keyword(l, i, "Init") && i > 0 && keyword(l, i - 1, "Stack") &&
                   value_after(l, i, &v)) {
            ps->init = (struct bounds_rec){lineno, v, 0};
            ps->has_init = true;
        } else if (keyword(l, i, "Current") && ps->has_init && ps->init.line == lineno &&
                   value_after(l, i, &v)) {
            add_rec(ps->inits, &ps->ninits, lineno, ps->init.a, v);
            ps->has_init = false;
        } else if ((tok_starts(l, i, "rsp=") || tok_starts(l, i, "esp=")) &&
                   stack_text_line_hex(s + 4, l->tok_len[i] - 4, true, &v) >= 8) {
            add_rec(ps->regs, &ps->nregs, lineno, v, 0);
        }
        if (ps->has_base && ps->has_limit) {
            size_t d = ps->base.line > ps->limit.line ? ps->base.line - ps->limit.line
                                                      : ps->limit.line - ps->base.line;
            uint64_t b = ps->base.a, lim = ps->limit.a;
            if (d <= PAIR_LINES && lim < b && b - lim <= (16u << 20))
                add_rec(ps->bounds, &ps->nbounds, lineno, b, lim);
            if (d <= PAIR_LINES)
                ps->has_base = ps->has_limit = false;
        }
    }
}

/* "kd> kcf" anywhere on the line: returns true, *kc for the kc family. */
static bool prompt(const struct stack_text_line *l, bool *kc)
{
    size_t at = l->ntok;
    for (size_t i = 0; i < l->ntok; i++)
        if (l->tok_len[i] >= 3 && !memcmp(l->buf + l->tok_at[i] + l->tok_len[i] - 3, "kd>", 3))
            at = i;
    if (at == l->ntok)
        return false;
    *kc = false;
    if (at + 1 < l->ntok) {
        const char *c = l->buf + l->tok_at[at + 1];
        size_t n = l->tok_len[at + 1];
        bool letters = n >= 2 && n <= 6 && c[0] == 'k';
        for (size_t i = 0; i < n && letters; i++)
            letters = strchr("kcfnvbpPLM", c[i]) != NULL;
        *kc = letters && memchr(c, 'c', n) != NULL;
    }
    return true;
}

static bool header(const struct stack_text_line *l, bool *kc, struct stack_text_line_cols *cols)
{
    bool ret = false, child = false, site = false;
    if (l->ntok > 16)
        return false;
    memset(cols, 0, sizeof *cols);
    for (size_t i = 0; i < l->ntok; i++) {
        ret |= stack_text_line_tok_is(l, i, "RetAddr");
        child |= tok_starts(l, i, "Child");
        site |= stack_text_line_tok_is(l, i, "Call") && stack_text_line_tok_is(l, i + 1, "Site");
        cols->memory |= stack_text_line_tok_is(l, i, "Memory");
        cols->number |= stack_text_line_tok_is(l, i, "#");
    }
    *kc = site && !ret && !child;
    return ret || *kc;
}

static bool skip_line(const struct stack_text_line *l)
{
    return tok_starts(l, 0, "WARNING:") || tok_starts(l, 0, "***") ||
           stack_text_line_tok_is(l, 0, "Unable") || tok_starts(l, 0, "NOTE:");
}

static void on_line(struct parser *ps, const char *p, size_t n, size_t lineno)
{
    struct stack_text_line *l = ps->line;
    struct stack_text_line_cols cols;
    bool kc, open;
    unsigned ptr = 0;
    stack_text_line_load(l, p, n);
    scan_context(ps, l, lineno);
    if (l->blank)
        return;
    if (prompt(l, &kc)) {
        end_block(ps);
        ps->pending_kc = kc;
        return;
    }
    if (header(l, &kc, &cols)) {
        start_block(ps, kc, &cols);
        return;
    }
    cols = ps->blk.cols;
    size_t got = stack_text_line_frames(l, &cols, ps->linefr, LINE_FRAMES, &ptr, &open);
    if (got) {
        if (ps->blk.kc || (ps->blk.count && ps->blk.ptr_size != ptr))
            start_block(ps, false, NULL);
        ps->blk.active = true;
        ps->blk.ptr_size = ptr;
        ps->blk.cols = cols;
        append(ps, ps->linefr, got, lineno);
        ps->blk.arg_lines = open ? MAX_ARG_LINES : 0;
        return;
    }
    if (ps->blk.arg_lines) { /* kP: "void * Object = 0x1," ... "int Mode = 0n0)+0x13a" */
        const char *end = strstr(l->buf, ")+0x");
        uint64_t v;
        if (end && ps->blk.count && stack_text_line_hex(end + 2, strlen(end + 2), true, &v)) {
            ps->blk.frames[ps->blk.count - 1].offset = v;
            ps->blk.frames[ps->blk.count - 1].has_offset = true;
        }
        ps->blk.arg_lines = memchr(l->buf, ')', l->len) ? 0 : ps->blk.arg_lines - 1;
        return;
    }
    if ((ps->blk.kc || (ps->pending_kc && !ps->blk.count)) &&
        stack_text_line_kc(l, &ps->blk.cols, &ps->linefr[0])) {
        if (!ps->blk.kc) {
            bool pending = ps->pending_kc;
            start_block(ps, true, NULL);
            ps->pending_kc = pending;
        }
        append(ps, ps->linefr, 1, lineno);
        return;
    }
    if (skip_line(l)) {
        for (size_t i = 0; i + 2 < l->ntok; i++)
            if (stack_text_line_tok_is(l, i, "may") && stack_text_line_tok_is(l, i + 1, "be") &&
                tok_starts(l, i + 2, "wrong"))
                ps->blk.scanned = true;
        return;
    }
    end_block(ps);
}

/* May b's frame stand for a's? Frames with SPs only stand for frames with SPs. */
static bool frame_eq(const struct breakdown_frame *a, const struct breakdown_frame *b)
{
    bool sa = !(a->flags & BREAKDOWN_FRAME_NO_SP), sb = !(b->flags & BREAKDOWN_FRAME_NO_SP);
    if (strcasecmp(a->module, b->module) || strcmp(a->function, b->function) ||
        a->has_offset != b->has_offset || a->offset != b->offset)
        return false;
    if (sa && sb)
        return a->sp == b->sp && a->ret == b->ret;
    return !sb;
}

static bool contains(const struct stack_text_stack *a, const struct stack_text_stack *b, size_t *at)
{
    for (size_t s = 0; b->count <= a->count && s <= a->count - b->count; s++) {
        size_t k = 0;
        while (k < b->count && frame_eq(&a->frames[s + k], &b->frames[k]))
            k++;
        if (k == b->count) {
            *at = s;
            return true;
        }
    }
    return false;
}

/* Keeps what only the copy had: a kf Memory value, a "TrapFrame @" note. */
static void merge(struct stack_text_stack *keep, const struct stack_text_stack *dup, size_t at)
{
    for (size_t k = 0; k < dup->count; k++) {
        struct breakdown_frame *f = &keep->frames[at + k];
        const struct breakdown_frame *d = &dup->frames[k];
        f->flags |= d->flags & (BREAKDOWN_FRAME_TRAP | BREAKDOWN_FRAME_MACHINE);
        if (!(f->flags & BREAKDOWN_FRAME_MEMORY) && (d->flags & BREAKDOWN_FRAME_MEMORY)) {
            f->memory = d->memory;
            f->flags |= BREAKDOWN_FRAME_MEMORY;
        }
    }
    if (keep->dup_count < STACK_TEXT_MAX_DUPS)
        keep->dup_lines[keep->dup_count] = dup->first_line;
    keep->dup_count++;
}

/* Longest listings first; a listing inside a kept one is a repeat. */
static void drop_repeats(struct parser *ps)
{
    bool kept[STACK_TEXT_MAX_STACKS] = {false};
    for (size_t round = 0; round < ps->ncand; round++) {
        size_t c = ps->ncand;
        for (size_t i = 0; i < ps->ncand; i++)
            if (ps->cand[i].frames && !kept[i] &&
                (c == ps->ncand || ps->cand[i].count > ps->cand[c].count))
                c = i;
        if (c == ps->ncand)
            break;
        size_t at = 0, k = 0;
        while (k < ps->ncand && !(kept[k] && contains(&ps->cand[k], &ps->cand[c], &at)))
            k++;
        if (k == ps->ncand) {
            kept[c] = true;
            continue;
        }
        merge(&ps->cand[k], &ps->cand[c], at);
        free(ps->cand[c].frames);
        ps->cand[c].frames = NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < ps->ncand; i++)
        if (ps->cand[i].frames)
            ps->cand[o++] = ps->cand[i];
    ps->ncand = o;
}

static bool on_stack(const struct stack_text_stack *s, uint64_t limit, uint64_t base)
{
    for (size_t i = 0; i < s->count; i++)
        if (!(s->frames[i].flags & BREAKDOWN_FRAME_NO_SP) && s->frames[i].sp <= base &&
            s->frames[i].sp + SLACK >= limit)
            return true;
    return false;
}

/* Bounds: the nearest record before the listing that holds its SPs, else the first after. */
static void attach_context(struct parser *ps, struct stack_text_stack *s)
{
    const struct bounds_rec *best = NULL;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < ps->nbounds; i++) {
        const struct bounds_rec *r = &ps->bounds[i];
        if (!on_stack(s, r->b, r->a))
            continue;
        bool before = r->line <= s->first_line;
        if (!best || (before && (best->line > s->first_line || r->line > best->line)) ||
            (!before && best->line > s->first_line && r->line < best->line))
            best = r;
    }
    if (best) {
        s->has_bounds = true;
        s->base = best->a;
        s->limit = best->b;
        s->bounds_line = best->line;
        lo = s->limit > SLACK ? s->limit - SLACK : 0;
        hi = s->base;
    }
    for (size_t i = 0; i < s->count; i++) { /* no bounds: near the frames' own SPs */
        const struct breakdown_frame *f = &s->frames[i];
        if (best || (f->flags & BREAKDOWN_FRAME_NO_SP))
            continue;
        uint64_t down = f->sp > SLACK ? f->sp - SLACK : 0;
        lo = down < lo ? down : lo;
        hi = f->sp > hi ? f->sp : hi;
    }
    for (size_t i = 0; best && i < ps->ninits && !s->has_init; i++)
        if (ps->inits[i].a <= s->base && ps->inits[i].a >= s->limit) {
            s->has_init = true;
            s->init = ps->inits[i].a;
            s->current = ps->inits[i].b;
        }
    for (size_t i = 0; i < ps->nregs; i++) {
        uint64_t sp = ps->regs[i].a;
        if (sp >= lo && sp <= hi && (!s->has_fault_sp || sp < s->fault_sp)) {
            s->has_fault_sp = true;
            s->fault_sp = sp;
            s->fault_sp_line = ps->regs[i].line;
        }
    }
}

int stack_text_parse(const char *text, size_t len, struct stack_text **out)
{
    int rc = KD_ERR_ARG;
    struct parser *ps = NULL;
    struct stack_text *st = NULL;
    if (out)
        *out = NULL;
    if (!out || (!text && len))
        return rc;
    if (len > STACK_TEXT_MAX_INPUT)
        return KD_ERR_LENGTH;
    rc = KD_ERR_NOMEM;
    ps = calloc(1, sizeof *ps);
    st = calloc(1, sizeof *st);
    if (!ps || !st)
        goto fail_parser;
    ps->line = malloc(sizeof *ps->line);
    ps->linefr = malloc(LINE_FRAMES * sizeof *ps->linefr);
    ps->cand = calloc(STACK_TEXT_MAX_STACKS, sizeof *ps->cand);
    if (!ps->line || !ps->linefr || !ps->cand)
        goto fail_parser;
    size_t lineno = 0;
    for (size_t at = 0; at < len && ps->rc == KD_OK;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len;
        on_line(ps, text + at, end - at, ++lineno);
        at = end + 1;
    }
    end_block(ps);
    if ((rc = ps->rc) != KD_OK)
        goto fail_parser;
    drop_repeats(ps);
    for (size_t i = 0; i < ps->ncand; i++)
        attach_context(ps, &ps->cand[i]);
    st->stacks = ps->cand;
    st->count = ps->ncand;
    st->lines = lineno;
    ps->cand = NULL;
    ps->ncand = 0;
    rc = KD_OK;
    *out = st;
    st = NULL;
fail_parser:
    if (ps) {
        block_reset(&ps->blk);
        for (size_t i = 0; ps->cand && i < ps->ncand; i++)
            free(ps->cand[i].frames);
        free(ps->cand);
        free(ps->linefr);
        free(ps->line);
        free(ps);
    }
    stack_text_free(st);
    return rc;
}

void stack_text_free(struct stack_text *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->count; i++)
        free(st->stacks[i].frames);
    free(st->stacks);
    free(st);
}

void stack_text_input(const struct stack_text_stack *s, struct breakdown_range *range,
                      struct breakdown_input *in)
{
    memset(in, 0, sizeof *in);
    in->frames = s->frames;
    in->count = s->count;
    in->ptr_size = s->ptr_size;
    if (s->has_bounds) {
        range->base = s->base;
        range->limit = s->limit;
        range->kind = BREAKDOWN_STACK_THREAD;
        in->ranges = range;
        in->range_count = 1;
    }
    in->has_fault_sp = s->has_fault_sp;
    in->fault_sp = s->fault_sp;
}
