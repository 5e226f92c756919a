/* analyze_out.c: text and JSON renderings of a stack breakdown.
 *
 * JSON (analyze_out_json): one object
 *   {"source": string|null, "stacks": [STACK...]}
 * STACK = the breakdown object below plus, for stacks read from text:
 *   "lines": [first, last]            1-based lines of the listing
 *   "repeated_at": [line...]           first lines of identical listings, not counted again
 *   "truncated": bool                  more frames than BREAKDOWN_MAX_FRAMES
 *   "bounds_line", "fault_sp_line": int|null   where bounds / register SP were read
 * Breakdown object (analyze_out_breakdown_json); addresses are hex strings
 * ("0x..."), because 64-bit values do not survive JSON numbers; byte counts are numbers:
 *   "pointer_size": 4|8
 *   "frames": [{"n": index (0 = innermost), "child_sp": hex|null (no SP),
 *      "ret": hex|null, "call_site": string, "module": string, "function": string,
 *      "offset": hex|null, "size": bytes|null (kf Memory; null on the first line,
 *      at a switch, or when the SP went backwards), "edge": "first"|"size"|
 *      "memory"|"switch"|"backwards", "switch": "A -> B"|null, "stack": index,
 *      "kf_memory": bytes|null (Memory column read from text), "scanned": bool,
 *      "trap": bool}]
 *   "stacks": [{"kind": "thread stack"|"IST stack"|..., "first": n, "last": n,
 *      "bytes": sum of sizes, "min_sp": hex|null, "max_sp": hex|null}]
 *   "fault_stack": index into stacks (the stack that overflowed)
 *   "total_bytes": sum of sizes on the faulting stack
 *   "stack_base", "stack_limit": hex|null (thread range)
 *   "lowest_sp": hex|null, "lowest_sp_from_register": bool
 *   "depth": StackBase - lowest_sp | null
 *   "past_limit": bytes below StackLimit | null, "headroom": bytes above | null
 *   "modules": [{"module", "bytes", "percent" (rounded), "frames"}] by bytes
 *   "cycle": null | {"period", "turns", "start", "end", "bytes",
 *      "bytes_per_turn_min", "bytes_per_turn_max", "members": [call site...]}
 *   "reentries": [{"module", "outer_entry", "outer_exit", "inner_entry",
 *      "paths": ["system call"|"paging I/O"...], "system_call_frame": n|null,
 *      "paging_frame": n|null, "bytes"}] */
#include "analyze_out.h"
#include "out_json.h"

#include "kd_status.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* x64 addresses as WinDbg prints them: fffff880`0b9c0f10. */
static void addr_str(const struct breakdown *bd, uint64_t v, char *buf, size_t n)
{
    if (bd->ptr_size == 4)
        snprintf(buf, n, "%08" PRIx64, v & 0xffffffffu);
    else
        snprintf(buf, n, "%08" PRIx64 "`%08" PRIx64, v >> 32, v & 0xffffffffu);
}

/* Text from a pasted file may hold control bytes: keep the terminal sane. */
static void put_clean(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

static const char *switch_name(const struct breakdown *bd, size_t i)
{
    return breakdown_kind_str(bd->stacks[bd->lines[i].stack].kind);
}

static bool same_kind(const struct breakdown *bd, size_t i)
{
    return bd->stacks[bd->lines[i - 1].stack].kind == bd->stacks[bd->lines[i].stack].kind;
}

static void print_table(const struct breakdown *bd, FILE *out)
{
    int aw = bd->ptr_size == 4 ? 8 : 17;
    char sp[24], ret[24], cs[BREAKDOWN_CALLSITE_LEN];
    bool scanned = false;
    fprintf(out, "  #  %9s  %-*s %-*s Call Site\n", "Memory", aw,
            bd->ptr_size == 4 ? "ChildEBP" : "Child-SP", aw, "RetAddr");
    for (size_t i = 0; i < bd->count; i++) {
        const struct breakdown_frame *f = &bd->frames[i];
        const struct breakdown_line *l = &bd->lines[i];
        if ((f->flags & BREAKDOWN_FRAME_SCANNED) && !scanned)
            fprintf(out,
                    "           --- frames below follow an unwind warning: may be wrong ---\n");
        scanned |= (f->flags & BREAKDOWN_FRAME_SCANNED) != 0;
        if (l->edge == BREAKDOWN_EDGE_SWITCH)
            fprintf(out, "           --- stack switch (%s -> %s%s) ---\n", switch_name(bd, i - 1),
                    same_kind(bd, i) ? "another " : "", switch_name(bd, i));
        if (l->edge == BREAKDOWN_EDGE_BACKWARDS)
            fprintf(out, "           --- stack pointer went down: the unwind is wrong here ---\n");
        if (f->flags & BREAKDOWN_FRAME_NO_SP) {
            snprintf(sp, sizeof sp, "%s", "");
            snprintf(ret, sizeof ret, "%s", "");
        } else {
            addr_str(bd, f->sp, sp, sizeof sp);
            addr_str(bd, f->ret, ret, sizeof ret);
        }
        breakdown_frame_format(f, cs, sizeof cs);
        fprintf(out, "  %02zx ", i);
        if (l->edge == BREAKDOWN_EDGE_SIZE || l->edge == BREAKDOWN_EDGE_MEMORY)
            fprintf(out, "%9" PRIx64, l->size);
        else
            fprintf(out, "%9s", "");
        fprintf(out, "  %-*s %-*s ", aw, sp, aw, ret);
        put_clean(out, cs);
        fputc('\n', out);
    }
}

static void print_frame_ref(const struct breakdown *bd, size_t i, FILE *out)
{
    char cs[BREAKDOWN_CALLSITE_LEN];
    breakdown_frame_format(&bd->frames[i], cs, sizeof cs);
    fprintf(out, "#%02zx ", i);
    put_clean(out, cs);
}

static void print_totals(const struct breakdown *bd, FILE *out)
{
    const struct breakdown_stack *st = &bd->stacks[bd->fault_stack];
    char a[24], b[24];
    fprintf(out, "\n  %s (frames %02zx-%02zx): 0x%" PRIx64 " (%" PRIu64 ") bytes in frames",
            breakdown_kind_str(st->kind), st->first, st->last, bd->total_bytes, bd->total_bytes);
    if (bd->has_depth)
        fprintf(out, "; StackBase - lowest SP = 0x%" PRIx64 " (%" PRIu64 ") bytes", bd->depth,
                bd->depth);
    fputc('\n', out);
    if (!bd->has_thread_range || !bd->has_lowest_sp)
        return;
    addr_str(bd, bd->lowest_sp, a, sizeof a);
    addr_str(bd, bd->thread_range.limit, b, sizeof b);
    if (bd->past_limit)
        fprintf(out, "  0x%" PRIx64 " (%" PRIu64 ") bytes past StackLimit %s", bd->past, bd->past,
                b);
    else
        fprintf(out, "  0x%" PRIx64 " (%" PRIu64 ") bytes left above StackLimit %s", bd->headroom,
                bd->headroom, b);
    fprintf(out, " (lowest SP %s%s)\n", a, bd->used_fault_sp ? ", from the register context" : "");
}

static void print_modules(const struct breakdown *bd, FILE *out)
{
    if (!bd->module_count)
        return;
    fprintf(out, "\n  Usage per module (%s):\n",
            breakdown_kind_str(bd->stacks[bd->fault_stack].kind));
    fprintf(out, "    %-24s %8s %9s %8s %7s\n", "Module", "Bytes", "Hex", "Percent", "Frames");
    for (size_t m = 0; m < bd->module_count; m++) {
        const struct breakdown_module *mod = &bd->modules[m];
        char hex[24];
        snprintf(hex, sizeof hex, "0x%" PRIx64, mod->bytes);
        fputs("    ", out);
        put_clean(out, mod->name);
        fprintf(out, "%*s %8" PRIu64 " %9s %7u%% %7zu\n",
                (int)(24 - (strlen(mod->name) < 24 ? strlen(mod->name) : 24)), "", mod->bytes, hex,
                mod->percent, mod->frames);
    }
}

/* Cycle members in listing order. In a long cycle a run of one module becomes
 * "module (N frames)" (seed 000's six rosempio frames); past 16 items, "...". */
static void print_members(const struct breakdown *bd, FILE *out)
{
    const struct breakdown_cycle *c = &bd->cycle;
    size_t end = c->start + c->period, items = 0;
    bool mixed = false; /* one module all round: name each frame */
    for (size_t i = c->start + 1; i < end; i++)
        mixed |= strcmp(bd->frames[i].module, bd->frames[c->start].module) != 0;
    for (size_t i = c->start; i < end; items++) {
        size_t j = i + 1;
        while (j < end && !strcmp(bd->frames[j].module, bd->frames[i].module))
            j++;
        bool run = mixed && c->period > 4 && j - i >= 2 && bd->frames[i].module[0];
        fputs(i == c->start ? "" : " -> ", out);
        if (items == 16) {
            fputs("...", out);
            break;
        }
        if (run) {
            put_clean(out, bd->frames[i].module);
            fprintf(out, " (%zu frames)", j - i);
        } else {
            j = i + 1;
            char cs[BREAKDOWN_CALLSITE_LEN];
            breakdown_frame_format(&bd->frames[i], cs, sizeof cs);
            put_clean(out, cs);
        }
        i = j;
    }
}

static void print_findings(const struct breakdown *bd, FILE *out)
{
    const struct breakdown_cycle *c = &bd->cycle;
    fputc('\n', out);
    if (bd->has_cycle) {
        fprintf(out, "  cycle of %zu frame%s (", c->period, c->period == 1 ? "" : "s");
        print_members(bd, out);
        fprintf(out, ") repeated %zu times, ", c->turns);
        if (c->turn_min == c->turn_max)
            fprintf(out, "0x%" PRIx64 " bytes per turn", c->turn_min);
        else
            fprintf(out, "0x%" PRIx64 "-0x%" PRIx64 " bytes per turn", c->turn_min, c->turn_max);
        fprintf(out, " (frames %02zx-%02zx, 0x%" PRIx64 " bytes)\n", c->start,
                c->start + c->period * c->turns - 1, c->bytes);
    } else {
        fprintf(out, "  no repeating cycle\n");
    }
    for (size_t i = 0; i < bd->reentry_count; i++) {
        const struct breakdown_reentry *r = &bd->reentries[i];
        fputs("  re-entrancy: ", out);
        put_clean(out, r->module);
        fputs(" entered at ", out);
        print_frame_ref(bd, r->outer_entry, out);
        if (r->outer_exit != r->outer_entry) {
            fputs(" (down to ", out);
            print_frame_ref(bd, r->outer_exit, out);
            fputc(')', out);
        }
        fputs(", entered again deeper at ", out);
        print_frame_ref(bd, r->inner_entry, out);
        fputs(" via ", out);
        if (r->paths & BREAKDOWN_PATH_SYSCALL) {
            fputs("system call (", out);
            print_frame_ref(bd, r->syscall_frame, out);
            fputs(r->paths & BREAKDOWN_PATH_PAGING ? ") and " : ")", out);
        }
        if (r->paths & BREAKDOWN_PATH_PAGING) {
            fputs("paging I/O (", out);
            print_frame_ref(bd, r->paging_frame, out);
            fputc(')', out);
        }
        fprintf(out, "; 0x%" PRIx64 " bytes between the two entries\n", r->bytes);
    }
}

int analyze_out_breakdown_text(const struct breakdown *bd, FILE *out)
{
    if (!bd || !out)
        return KD_ERR_ARG;
    print_table(bd, out);
    if (bd->count) {
        print_totals(bd, out);
        print_modules(bd, out);
        print_findings(bd, out);
    }
    return ferror(out) ? KD_ERR_IO : KD_OK;
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_hex(FILE *out, const char *key, bool has, uint64_t v)
{
    if (has)
        fprintf(out, "\"%s\":\"0x%" PRIx64 "\"", key, v);
    else
        fprintf(out, "\"%s\":null", key);
}

static void json_num(FILE *out, const char *key, bool has, uint64_t v)
{
    if (has)
        fprintf(out, "\"%s\":%" PRIu64, key, v);
    else
        fprintf(out, "\"%s\":null", key);
}

static const char *const edge_names[] = {"first", "size", "memory", "switch", "backwards"};

static void json_frame(const struct breakdown *bd, size_t i, FILE *out)
{
    const struct breakdown_frame *f = &bd->frames[i];
    const struct breakdown_line *l = &bd->lines[i];
    bool sp = !(f->flags & BREAKDOWN_FRAME_NO_SP);
    bool sized = l->edge == BREAKDOWN_EDGE_SIZE || l->edge == BREAKDOWN_EDGE_MEMORY;
    char cs[BREAKDOWN_CALLSITE_LEN];
    breakdown_frame_format(f, cs, sizeof cs);
    fprintf(out, "{\"n\":%zu,", i);
    json_hex(out, "child_sp", sp, f->sp);
    fputc(',', out);
    json_hex(out, "ret", sp, f->ret);
    fputs(",\"call_site\":", out);
    out_json_string(out, cs);
    fputs(",\"module\":", out);
    out_json_string(out, f->module);
    fputs(",\"function\":", out);
    out_json_string(out, f->function);
    fputc(',', out);
    json_hex(out, "offset", f->has_offset, f->offset);
    fputc(',', out);
    json_num(out, "size", sized, l->size);
    fprintf(out, ",\"edge\":\"%s\",\"switch\":", edge_names[l->edge]);
    if (l->edge == BREAKDOWN_EDGE_SWITCH)
        fprintf(out, "\"%s -> %s%s\"", switch_name(bd, i - 1), same_kind(bd, i) ? "another " : "",
                switch_name(bd, i));
    else
        fputs("null", out);
    fprintf(out, ",\"stack\":%zu,", l->stack);
    json_num(out, "kf_memory", f->flags & BREAKDOWN_FRAME_MEMORY, f->memory);
    fprintf(out, ",\"scanned\":%s,\"trap\":%s}",
            f->flags & BREAKDOWN_FRAME_SCANNED ? "true" : "false",
            f->flags & BREAKDOWN_FRAME_TRAP ? "true" : "false");
}

static void json_cycle(const struct breakdown *bd, FILE *out)
{
    const struct breakdown_cycle *c = &bd->cycle;
    char cs[BREAKDOWN_CALLSITE_LEN];
    if (!bd->has_cycle) {
        fputs("null", out);
        return;
    }
    fprintf(out,
            "{\"period\":%zu,\"turns\":%zu,\"start\":%zu,\"end\":%zu,\"bytes\":%" PRIu64
            ",\"bytes_per_turn_min\":%" PRIu64 ",\"bytes_per_turn_max\":%" PRIu64 ",\"members\":[",
            c->period, c->turns, c->start, c->start + c->period * c->turns - 1, c->bytes,
            c->turn_min, c->turn_max);
    for (size_t i = c->start; i < c->start + c->period; i++) {
        breakdown_frame_format(&bd->frames[i], cs, sizeof cs);
        fputs(i == c->start ? "" : ",", out);
        out_json_string(out, cs);
    }
    fputs("]}", out);
}

static void json_reentries(const struct breakdown *bd, FILE *out)
{
    fputc('[', out);
    for (size_t i = 0; i < bd->reentry_count; i++) {
        const struct breakdown_reentry *r = &bd->reentries[i];
        bool sys = r->paths & BREAKDOWN_PATH_SYSCALL, pag = r->paths & BREAKDOWN_PATH_PAGING;
        fputs(i ? ",{\"module\":" : "{\"module\":", out);
        out_json_string(out, r->module);
        fprintf(out,
                ",\"outer_entry\":%zu,\"outer_exit\":%zu,\"inner_entry\":%zu,\"paths\":[%s%s%s],",
                r->outer_entry, r->outer_exit, r->inner_entry, sys ? "\"system call\"" : "",
                sys && pag ? "," : "", pag ? "\"paging I/O\"" : "");
        json_num(out, "system_call_frame", sys, r->syscall_frame);
        fputc(',', out);
        json_num(out, "paging_frame", pag, r->paging_frame);
        fprintf(out, ",\"bytes\":%" PRIu64 "}", r->bytes);
    }
    fputc(']', out);
}

/* The fields of the breakdown object, without braces. */
static void json_body(const struct breakdown *bd, FILE *out)
{
    bool any = bd->count > 0, tr = bd->has_thread_range;
    fprintf(out, "\"pointer_size\":%u,\"frames\":[", bd->ptr_size);
    for (size_t i = 0; i < bd->count; i++) {
        fputs(i ? "," : "", out);
        json_frame(bd, i, out);
    }
    fputs("],\"stacks\":[", out);
    for (size_t s = 0; s < bd->stack_count; s++) {
        const struct breakdown_stack *st = &bd->stacks[s];
        fprintf(out, "%s{\"kind\":\"%s\",\"first\":%zu,\"last\":%zu,\"bytes\":%" PRIu64 ",",
                s ? "," : "", breakdown_kind_str(st->kind), st->first, st->last, st->bytes);
        json_hex(out, "min_sp", st->has_sp, st->min_sp);
        fputc(',', out);
        json_hex(out, "max_sp", st->has_sp, st->max_sp);
        fputc('}', out);
    }
    fputs("],", out);
    json_num(out, "fault_stack", any, bd->fault_stack);
    fprintf(out, ",\"total_bytes\":%" PRIu64 ",", bd->total_bytes);
    json_hex(out, "stack_base", tr, bd->thread_range.base);
    fputc(',', out);
    json_hex(out, "stack_limit", tr, bd->thread_range.limit);
    fputc(',', out);
    json_hex(out, "lowest_sp", bd->has_lowest_sp, bd->lowest_sp);
    fprintf(out, ",\"lowest_sp_from_register\":%s,", bd->used_fault_sp ? "true" : "false");
    json_num(out, "depth", bd->has_depth, bd->depth);
    fputc(',', out);
    json_num(out, "past_limit", bd->has_depth && bd->past_limit, bd->past);
    fputc(',', out);
    json_num(out, "headroom", bd->has_depth && !bd->past_limit, bd->headroom);
    fputs(",\"modules\":[", out);
    for (size_t m = 0; m < bd->module_count; m++) {
        fputs(m ? ",{\"module\":" : "{\"module\":", out);
        out_json_string(out, bd->modules[m].name);
        fprintf(out, ",\"bytes\":%" PRIu64 ",\"percent\":%u,\"frames\":%zu}", bd->modules[m].bytes,
                bd->modules[m].percent, bd->modules[m].frames);
    }
    fputs("],\"cycle\":", out);
    json_cycle(bd, out);
    fputs(",\"reentries\":", out);
    json_reentries(bd, out);
}

int analyze_out_breakdown_json(const struct breakdown *bd, FILE *out)
{
    if (!bd || !out)
        return KD_ERR_ARG;
    fputc('{', out);
    json_body(bd, out);
    fputc('}', out);
    return ferror(out) ? KD_ERR_IO : KD_OK;
}

/* ---- parsed text ----------------------------------------------------------- */

static int breakdown_of(const struct stack_text_stack *s, struct breakdown **bd)
{
    struct breakdown_range range;
    struct breakdown_input in;
    stack_text_input(s, &range, &in);
    return breakdown_new(&in, bd);
}

static void text_header(const struct stack_text_stack *s, const struct breakdown *bd, size_t i,
                        FILE *out)
{
    char a[24], b[24];
    fprintf(out, "\n== stack %zu: %zu frames, %s, lines %zu-%zu%s\n", i + 1, s->count,
            s->ptr_size == 4 ? "x86" : "x64", s->first_line, s->last_line,
            s->truncated ? " (more frames in the text were dropped)" : "");
    if (s->dup_count) {
        fputs("   the same frames are pasted again at line", out);
        for (size_t d = 0; d < s->dup_count && d < STACK_TEXT_MAX_DUPS; d++)
            fprintf(out, "%s %zu", d ? "," : (s->dup_count > 1 ? "s" : ""), s->dup_lines[d]);
        fputs(": analyzed once (the longest listing)\n", out);
    }
    if (s->has_bounds) {
        addr_str(bd, s->base, a, sizeof a);
        addr_str(bd, s->limit, b, sizeof b);
        fprintf(out, "   StackBase %s  StackLimit %s (line %zu)", a, b, s->bounds_line);
        if (s->has_init) {
            addr_str(bd, s->init, a, sizeof a);
            fprintf(out, "  Stack Init %s", a);
        }
        fputc('\n', out);
    }
    if (s->has_fault_sp) {
        addr_str(bd, s->fault_sp, a, sizeof a);
        fprintf(out, "   register SP %s (line %zu)\n", a, s->fault_sp_line);
    }
    fputc('\n', out);
}

int analyze_out_text(const struct stack_text *st, const char *source, FILE *out)
{
    int rc = KD_OK;
    if (!st || !out)
        return KD_ERR_ARG;
    fputs("kdwatch analyze: ", out);
    put_clean(out, source ? source : "(input)");
    fprintf(out, ": %zu stack%s in %zu lines\n", st->count, st->count == 1 ? "" : "s", st->lines);
    if (!st->count)
        fputs("no WinDbg stack listing (k, kb, kv, kf, kc ... output) found\n", out);
    for (size_t i = 0; i < st->count && rc == KD_OK; i++) {
        struct breakdown *bd = NULL;
        if ((rc = breakdown_of(&st->stacks[i], &bd)) != KD_OK)
            break;
        text_header(&st->stacks[i], bd, i, out);
        rc = analyze_out_breakdown_text(bd, out);
        breakdown_free(bd);
    }
    if (rc == KD_OK && ferror(out))
        rc = KD_ERR_IO;
    return rc == KD_OK && !st->count ? KD_ERR_NOTFOUND : rc;
}

int analyze_out_json(const struct stack_text *st, const char *source, FILE *out)
{
    int rc = KD_OK;
    if (!st || !out)
        return KD_ERR_ARG;
    fputs("{\"source\":", out);
    if (source)
        out_json_string(out, source);
    else
        fputs("null", out);
    fputs(",\"stacks\":[", out);
    for (size_t i = 0; i < st->count && rc == KD_OK; i++) {
        const struct stack_text_stack *s = &st->stacks[i];
        struct breakdown *bd = NULL;
        if ((rc = breakdown_of(s, &bd)) != KD_OK)
            break;
        fprintf(out, "%s{\"lines\":[%zu,%zu],\"repeated_at\":[", i ? "," : "", s->first_line,
                s->last_line);
        for (size_t d = 0; d < s->dup_count && d < STACK_TEXT_MAX_DUPS; d++)
            fprintf(out, "%s%zu", d ? "," : "", s->dup_lines[d]);
        fprintf(out, "],\"truncated\":%s,", s->truncated ? "true" : "false");
        json_num(out, "bounds_line", s->has_bounds, s->bounds_line);
        fputc(',', out);
        json_num(out, "fault_sp_line", s->has_fault_sp, s->fault_sp_line);
        fputc(',', out);
        json_body(bd, out);
        fputc('}', out);
        breakdown_free(bd);
    }
    fputs("]}\n", out);
    if (rc == KD_OK && ferror(out))
        rc = KD_ERR_IO;
    return rc == KD_OK && !st->count ? KD_ERR_NOTFOUND : rc;
}

int analyze_out_buffer(const char *text, size_t len, const char *source, bool json, FILE *out)
{
    struct stack_text *st = NULL;
    int rc = stack_text_parse(text, len, &st);
    if (rc != KD_OK)
        return rc;
    rc = json ? analyze_out_json(st, source, out) : analyze_out_text(st, source, out);
    stack_text_free(st);
    return rc;
}

int analyze_out_file(const char *path, bool json, FILE *out)
{
    int rc = KD_ERR_IO;
    char *buf = NULL;
    size_t len = 0;
    if (!path || !out)
        return KD_ERR_ARG;
    bool is_stdin = !strcmp(path, "-");
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return KD_ERR_IO;
    buf = malloc(STACK_TEXT_MAX_INPUT + 1);
    if (!buf) {
        rc = KD_ERR_NOMEM;
        goto close_file;
    }
    len = fread(buf, 1, STACK_TEXT_MAX_INPUT + 1, f);
    if (ferror(f))
        goto free_buf;
    rc = len > STACK_TEXT_MAX_INPUT
             ? KD_ERR_LENGTH
             : analyze_out_buffer(buf, len, is_stdin ? "(stdin)" : path, json, out);
free_buf:
    free(buf);
close_file:
    if (!is_stdin)
        fclose(f);
    return rc;
}
