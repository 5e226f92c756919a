/* sim_truth.h: kdsim's ground truth, recorded from what it laid down (never
 * recomputed by code under test): every thread's stack usage after every
 * tick, every stop, and for a crash the fault and every frame of the victim
 * (SP, RIP, size, return address, module!function+offset), innermost first.
 * Written as JSON (sim_truth_write). */
#ifndef SIM_TRUTH_H
#define SIM_TRUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_kernel.h"
#include "sim_scenario.h"

struct sim_truth {
    char scenario[32];
    uint64_t seed;
    uint32_t nthreads; /* width of a usage row (threads that exist at start) */
    uint32_t *usage;   /* row i: InitialStack - SP of every thread after i ticks */
    size_t nrows, cap_rows;
    struct sim_event *events;
    size_t nevents, cap_events;
    /* The crash, when one happened. */
    bool crashed;
    bool double_fault;
    uint64_t crash_tick;
    uint32_t crash_thread; /* thread index */
    uint16_t crash_cpu;
    uint64_t fault_rip, fault_rsp;
    uint32_t fault_fn;
    bool bugcheck; /* KeBugCheckEx was entered */
    uint32_t bugcheck_code;
    uint64_t bugcheck_args[4];
};

int sim_truth_init(struct sim_truth *t, const char *scenario, uint64_t seed, uint32_t nthreads);
void sim_truth_fini(struct sim_truth *t);

/* Appends the usage row of the current state. */
int sim_truth_tick(struct sim_truth *t, const struct sim_kernel *k);

/* Records a stop. */
int sim_truth_event(struct sim_truth *t, const struct sim_event *ev);

/* JSON document of everything recorded plus the crash thread's frames as
 * they are laid now. KD_ERR_IO on a write error. */
int sim_truth_write(const struct sim_truth *t, const struct sim_kernel *k, FILE *f);

#endif
