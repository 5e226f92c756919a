/* ports.h: `kdwatch ports`: what this host can connect to. */
#ifndef PORTS_H
#define PORTS_H

#include <stdio.h>

/* Lists serial ports (libserialport) and USB devices (libusb) to out, with
 * the URI to use for each. A device that cannot be opened is still listed
 * (without its strings); a missing library or no permission is said in a
 * line, never fatal. Returns the exit status: 0, or 1 if neither list could
 * be made. */
int ports_run(FILE *out);

#endif
