/* Ntfs.sys for kdsim: the write and checkpoint path of seed 001. Built with
 * a frame pointer (UWOP_SET_FPREG in every prologue); exports nothing, like
 * the real driver. */
#include "sim_img.h"

SIM_IMAGE_GLOBALS
SIM_FN(NtfsFsdWrite, 0x78)
SIM_FN3(NtfsCommonWrite, 0x388)
SIM_FN(NtfsAddAllocation, 0x28)
SIM_FN(NtfsSetEndOfFileRecord, 0x28)
SIM_FN(NtfsSetEndOfFileRecordInformation, 0x38)
SIM_FN(NtfsWriteLog, 0x58)
SIM_FN(NtfsCheckForLargeLogFile, 0x28)
SIM_FN(NtfsCheckpointForLogFileFull, 0x58)
SIM_FN(NtfsCheckpointVolumeUntilDone, 0x58)
SIM_FN3(NtfsCheckpointVolume, 0x218)
SIM_FN(NtfsCommonFlushBuffers, 0x18)
SIM_FN(NtfsFlushVolume, 0x18)
SIM_FN(NtfsFlushUserStream, 0x68)
SIM_FN(NtfsFspDispatch, 0x58)
SIM_DRIVER_ENTRY
