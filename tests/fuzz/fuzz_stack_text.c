/* fuzz_stack_text.c: the input as pasted WinDbg text; every stack found is
 * broken down and rendered as text and JSON. Aborts on a broken invariant. */
#include "analyze_out.h"
#include "breakdown.h"
#include "kd_status.h"
#include "stack_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int ok)
{
    if (!ok)
        abort();
}

static void check_breakdown(const struct breakdown *bd)
{
    uint64_t sum = 0, mods = 0;
    if (!bd->count)
        return;
    require(bd->stack_count >= 1 && bd->stack_count <= BREAKDOWN_MAX_STACKS);
    require(bd->fault_stack < bd->stack_count);
    const struct breakdown_stack *st = &bd->stacks[bd->fault_stack];
    for (size_t i = 0; i < bd->count; i++) {
        require(bd->lines[i].stack < bd->stack_count);
        require(i == 0 || bd->lines[i].stack >= bd->lines[i - 1].stack);
        if (i >= st->first && i <= st->last)
            sum += bd->lines[i].size;
    }
    require(sum == bd->total_bytes);
    for (size_t m = 0; m < bd->module_count; m++) {
        mods += bd->modules[m].bytes;
        require(bd->modules[m].percent <= 100);
        require(m == 0 || bd->modules[m].bytes <= bd->modules[m - 1].bytes);
    }
    require(mods == bd->total_bytes);
    if (bd->has_cycle) {
        const struct breakdown_cycle *c = &bd->cycle;
        require(c->turns >= 2 && c->period >= 1 && c->start >= st->first);
        require(c->start + c->period * c->turns - 1 <= st->last);
        require(c->turn_min <= c->turn_max && c->bytes <= bd->total_bytes);
    }
    for (size_t r = 0; r < bd->reentry_count; r++) {
        const struct breakdown_reentry *e = &bd->reentries[r];
        require(e->inner_entry < e->outer_exit && e->outer_exit <= e->outer_entry);
        require(e->outer_entry < bd->count && e->paths != 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    struct stack_text *st = NULL;
    if (!sink)
        sink = fopen("/dev/null", "w");
    int rc = stack_text_parse((const char *)data, size, &st);
    require(rc == KD_OK || rc == KD_ERR_NOMEM || rc == KD_ERR_LENGTH);
    if (rc != KD_OK)
        return 0;
    for (size_t i = 0; i < st->count; i++) {
        const struct stack_text_stack *s = &st->stacks[i];
        struct breakdown_range range;
        struct breakdown_input in;
        struct breakdown *bd = NULL;
        require(s->count >= 2 && s->count <= BREAKDOWN_MAX_FRAMES);
        require(s->ptr_size == 4 || s->ptr_size == 8);
        require(s->first_line <= s->last_line);
        stack_text_input(s, &range, &in);
        rc = breakdown_new(&in, &bd);
        require(rc == KD_OK || rc == KD_ERR_NOMEM);
        if (bd) {
            check_breakdown(bd);
            if (sink) {
                analyze_out_breakdown_text(bd, sink);
                analyze_out_breakdown_json(bd, sink);
            }
        }
        breakdown_free(bd);
    }
    if (sink) {
        analyze_out_text(st, "fuzz", sink);
        analyze_out_json(st, "fuzz", sink);
    }
    stack_text_free(st);
    return 0;
}
