/* CLASSPNP.SYS for kdsim: the class driver frames of seed 000's cycle. */
#include "sim_img.h"

SIM_IMAGE_GLOBALS
SIM_XFN(ClassIoComplete, 0x48)
SIM_XFN(ClassReadWrite, 0x58)
SIM_XFN(ClassDeviceControl, 0x68)
SIM_FN(TransferPktComplete, 0x58)
SIM_FN3(ServiceTransferRequest, 0x78)
SIM_FN(ClasspServiceIdleRequest, 0x08)
SIM_FN(ClasspStartNextPacket, 0x58)
SIM_DRIVER_ENTRY
