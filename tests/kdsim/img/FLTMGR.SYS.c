/* FLTMGR.SYS for kdsim: the filter manager frames of seed 001 (create and
 * write pre-callbacks, FltSendMessage down to the overflow). Exports first,
 * so internal functions show as export+offset without symbols. */
#include "sim_img.h"

SIM_IMAGE_GLOBALS
SIM_XFN(FltGetFileNameInformation, 0x28)
SIM_XFN(FltRegisterFilter, 0x28)
SIM_XFN(FltStartFiltering, 0x18)
SIM_XFN(FltSendMessage, 0x28)
SIM_FN(FltpCreate, 0x88)
SIM_FN(FltpCreateInternal, 0x28)
SIM_FN(FltpPassThrough, 0x58)
SIM_FN(FltpPassThroughInternal, 0x28)
SIM_FN3(FltpPerformPreCallbacks, 0xe8)
SIM_FN3(FltpSendMessage, 0x88)
SIM_FN(FltpSendMessageWaiter, 0x28)
SIM_FN(FltpSetCancelRoutine, 0x08)
SIM_FN(TreeUnlink, 0x28)
SIM_FN(FltpDispatch, 0x48)
SIM_DRIVER_ENTRY
