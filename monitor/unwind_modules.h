/* unwind_modules.h: the unwinders' module lookup (unwind.h) served by the
 * loaded-module list and each module's PE image as pe_image caches it:
 * .pdata for find, section flags for is_code. The unwinders themselves know
 * nothing of pe_image; this is the one place the two meet. */
#ifndef UNWIND_MODULES_H
#define UNWIND_MODULES_H

#include "modules.h"
#include "unwind.h"

struct unwind_modules {
    const struct kd_target *target;
    struct modules *modules; /* not owned */
};

/* Fills *out so that it consults um, which must outlive *out. */
void unwind_modules_lookup(struct unwind_modules *um, struct unwind_lookup *out);

#endif
