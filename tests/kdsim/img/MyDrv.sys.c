/* MyDrv.sys for kdsim: the minifilter of seed 001 (backup on create, event
 * on write through FltSendMessage) plus a worker that calls KeBugCheckEx.
 * Built with a frame pointer; exports nothing. The big locals are what makes
 * the re-entrant path overflow a 24 KiB stack. */
#include "sim_img.h"

SIM_IMAGE_GLOBALS
SIM_FN(MyDrvWorkerThread, 0x58)
SIM_FN3(MyDrvProcessItem, 0x98)
SIM_FN(MyDrvValidateState, 0x78)
SIM_FN(PreCreateCallback, 0x58)
SIM_FN3(PreCreate, 0xfd8)
SIM_FN(RTBackupFile, 0x78)
SIM_FN3(RTCopyFileContents, 0xcd8)
SIM_FN(PreWriteCallback, 0x28)
SIM_FN3(PreWrite, 0x7d8)
SIM_FN(RTSendIoEvent, 0x48)
SIM_FN(RTSendEventWithQueue, 0x48)
SIM_DRIVER_ENTRY
