/* targets/scalar.c — every kernel for the scalar target (no ISA flags: the reference every other target is tested against). */
#include "../simd/scalar.h"
#include "target.inc"
