/* hal.dll for kdsim: the clock interrupt service routine on the break-in path. */
#include "sim_img.h"

SIM_IMAGE_GLOBALS
SIM_XFN(HalRequestSoftwareInterrupt, 0x10)
SIM_XFN(HalGetInterruptVector, 0x28)
SIM_FN3(HalpTimerClockInterrupt, 0x48)
SIM_DRIVER_ENTRY
