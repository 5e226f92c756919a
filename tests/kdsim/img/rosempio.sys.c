/* rosempio.sys for kdsim: a third-party MPIO device-specific module whose
 * completion path re-enters the class driver (seed 000). Only DsmWriteEvent
 * is exported and it comes first: every other frame reads DsmWriteEvent+off. */
#include "sim_img.h"

SIM_IMAGE_GLOBALS
SIM_XFN(DsmWriteEvent, 0x28)
SIM_FN(DsmpCompletionRoutine, 0x68)
SIM_FN(DsmpRequestComplete, 0x38)
SIM_FN(DsmpProcessCompletion, 0x38)
SIM_FN(DsmpCompletePendingIo, 0x28)
SIM_FN(DsmpRouteRequest, 0x28)
SIM_FN(DsmpSrbDispatch, 0x38)
SIM_FN3(DsmpSendToPath, 0x18)
SIM_DRIVER_ENTRY
