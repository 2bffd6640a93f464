/* targets/neon.c — every kernel for the neon target (AArch64 only; NEON is part of the baseline). */
#include "../simd/neon.h"
#include "target.inc"
