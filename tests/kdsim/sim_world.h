/* sim_world.h: what lives on the simulated machine for one scenario: the
 * processes and threads (built from call-chain templates after real Windows
 * stacks), which threads wait and how their depth drifts each tick, and the
 * threads that run on processors and are moved frame by frame (stress
 * workers, a crash scenario's victim). Deterministic for a seed. */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_kernel.h"

enum sim_world_kind {
    SIM_WORLD_IDLE,
    SIM_WORLD_STRESS,
    SIM_WORLD_DOUBLEFAULT,
    SIM_WORLD_MINIFILTER,
    SIM_WORLD_BUGCHECK,
};

/* A thread the scenario moves frame by frame on a processor. */
struct sim_mover {
    uint32_t thread;
    uint16_t cpu;
    bool victim;            /* the crash scenario's thread */
    uint32_t tmpl;          /* template of a stress worker */
    uint32_t target;        /* chain positions wanted at the end of this tick */
    uint32_t laid;          /* chain positions laid completely */
    uint32_t terminal_at;   /* doublefault victim: chain position where the miniport part starts */
    struct sim_call *calls; /* the chain decided so far */
    uint32_t ncalls, cap;
};

/* A switched-out thread whose depth drifts. */
struct sim_waiter {
    uint32_t thread;
    uint32_t tmpl;
    uint32_t depth, max_depth;
};

struct sim_tmpl; /* resolved call-chain template (sim_world.c) */

struct sim_world {
    enum sim_world_kind kind;
    uint64_t rng;
    uint32_t next_tid;
    struct sim_tmpl *tmpls;
    size_t ntmpls;
    struct sim_waiter *waiters;
    size_t nwaiters;
    struct sim_mover movers[SIM_MAX_CPUS];
    size_t nmovers;
    int victim;          /* mover index of the victim, -1 if none */
    uint64_t start_tick; /* when the victim starts to go deep / calls KeBugCheckEx */
    bool bugcheck_now;   /* set by the plan of the tick where `bugcheck` calls KeBugCheckEx */
    uint32_t bugcheck_code;
    uint64_t bugcheck_args[4];
};

/* Scenario name to kind: KD_OK or KD_ERR_NOTFOUND. */
int sim_world_kind_of(const char *name, enum sim_world_kind *kind);

/* Populates k for the scenario: processes, `threads` threads, their stacks,
 * running movers on processors 0..ncpus-2 (the last processor stays idle and
 * reports break-ins). */
int sim_world_new(struct sim_kernel *k, enum sim_world_kind kind, uint64_t seed, uint32_t threads,
                  struct sim_world **out);
void sim_world_free(struct sim_world *w);

/* Start of a tick: drifts some waiting threads (re-laid at once) and sets
 * every mover's target. */
int sim_world_plan(struct sim_world *w, struct sim_kernel *k, uint64_t tick);

/* The call at chain position pos of mover m, decided lazily from the stack
 * as it is now (the victim's chain depends on the room left). */
int sim_world_call(struct sim_world *w, struct sim_kernel *k, struct sim_mover *m, uint32_t pos,
                   struct sim_call *out);

/* Deterministic generator (splitmix64). */
uint64_t sim_world_rand(uint64_t *state);

#endif
