/* ql2300.sys for kdsim: a fibre-channel miniport with no exports (seed 000
 * shows it as ql2300+offset). Ql2xBuildIocb has the large frame that runs a
 * deep stack past its limit; the worker functions recurse in `stress`. */
#include "sim_img.h"

SIM_IMAGE_GLOBALS
SIM_FN(Ql2xStartIo, 0x118)
SIM_FN(Ql2xBuildIocb, 0x8d8)
SIM_FN(Ql2xWorkerThread, 0x58)
SIM_FN(Ql2xProcessQueue, 0x98)
SIM_FN3(Ql2xDispatchRequest, 0xd8)
SIM_FN(Ql2xCompleteIo, 0x78)
SIM_FN(Ql2xHandleResponse, 0x58)
SIM_DRIVER_ENTRY
