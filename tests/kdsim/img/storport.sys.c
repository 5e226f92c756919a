/* storport.sys for kdsim: the port driver between CLASSPNP and the miniport. */
#include "sim_img.h"

SIM_IMAGE_GLOBALS
SIM_XFN(StorPortNotification, 0x38)
SIM_XFN(StorPortInitialize, 0x48)
SIM_FN3(RaidUnitCompleteRequest, 0x58)
SIM_FN(RaUnitStartIo, 0x58)
SIM_FN(RaidpAdapterDpcRoutine, 0x48)
SIM_DRIVER_ENTRY
