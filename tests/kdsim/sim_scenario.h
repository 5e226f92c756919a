/* sim_scenario.h: kdsim's clock. A scenario runs in ticks (no real time):
 * each tick some waiting threads drift and every thread running on a
 * processor is moved frame by frame; entering a function whose first byte is
 * 0xCC stops the machine with a breakpoint there. A push past StackLimit
 * starts the crash sequence as the CPU and kernel do it: IST 1 machine frame,
 * KiDoubleFaultAbort, KiBugCheckDispatch, KeBugCheckEx(0x7F, 8, ...),
 * KiBugCheckData, "*** Fatal System Error" on DEBUG_IO, then the first-chance
 * break at KDBG.BreakpointWithStatus. `bugcheck` enters KeBugCheckEx directly.
 * Scenarios: idle, stress, doublefault-recursion, minifilter-reentrancy,
 * bugcheck. */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_kernel.h"

#define SIM_STATUS_BREAKPOINT 0x80000003u
#define SIM_DBG_STATUS_CONTROL_C 1
#define SIM_DBG_STATUS_BUGCHECK_FIRST 3

enum sim_stop {
    SIM_STOP_BREAKIN = 1, /* the host's break-in, seen on the clock tick */
    SIM_STOP_BREAKPOINT,  /* an int3 at a function's entry */
    SIM_STOP_BUGCHECK,    /* DbgBreakPointWithStatus(BUGCHECK_FIRST) in KeBugCheck2 */
};

/* A stop, with what a STATE_CHANGE64 exception report carries. */
struct sim_event {
    enum sim_stop why;
    uint16_t cpu; /* reporting processor */
    uint16_t ncpus;
    uint64_t thread;       /* its current KTHREAD */
    uint64_t pc;           /* ProgramCounter = ExceptionAddress (the int3) */
    uint32_t code;         /* ExceptionCode: 0x80000003 */
    uint32_t first_chance; /* 1 */
    uint32_t nparams;      /* 1: ExceptionInformation[0] = BREAKPOINT_BREAK (0) */
    uint64_t tick;
};

struct sim_scenario_config {
    const char *name; /* idle, stress, doublefault-recursion, minifilter-reentrancy, bugcheck */
    uint64_t seed;
    uint32_t threads; /* 16..4096 (default 256) */
    uint16_t cpus;    /* 2..16 (default 2): the last one reports break-ins */
};

struct sim_scenario;
struct sim_truth;

int sim_scenario_new(const struct sim_scenario_config *cfg, struct sim_scenario **out);
void sim_scenario_free(struct sim_scenario *s);

struct sim_kernel *sim_scenario_kernel(struct sim_scenario *s);
const struct sim_truth *sim_scenario_truth(const struct sim_scenario *s);
uint64_t sim_scenario_tick(const struct sim_scenario *s);
bool sim_scenario_stopped(const struct sim_scenario *s);
bool sim_scenario_halted(const struct sim_scenario *s); /* dead after the bugcheck break */

/* Runs the stopped-free machine for at most max_ticks ticks. Returns 1 with
 * *ev filled when it stopped, 0 when the ticks ran out (or the machine is
 * halted), or a negative kd_status. *ran = whole ticks completed. */
int sim_scenario_run(struct sim_scenario *s, uint32_t max_ticks, struct sim_event *ev,
                     uint32_t *ran);

/* Stops the running machine as a break-in at the end of the current tick:
 * the last processor takes a clock interrupt, KdCheckForDebugBreak,
 * DbgBreakPointWithStatus(CONTROL_C). Returns 1 with *ev (which may be
 * another stop that came first), 0 when the machine is halted. */
int sim_scenario_break_in(struct sim_scenario *s, struct sim_event *ev);

/* Continues a stopped machine. The stopped processor's CONTEXT decides: if
 * its RIP still points at an int3 (a breakpoint left in memory, or the
 * hard-coded one not stepped over with SetContext(Rip + 1) as WinDbg does),
 * the next run reports the same stop again, as the CPU would. */
int sim_scenario_resume(struct sim_scenario *s);

/* DEBUG_IO text the target printed since the last call (NUL-terminated,
 * truncated to cap). Returns the length copied. */
size_t sim_scenario_take_print(struct sim_scenario *s, char *buf, size_t cap);

#endif
