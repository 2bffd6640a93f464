/* targets/avx2.c — every kernel for the avx2 target (built with -mavx2 -mfma). */
#include "../simd/avx2.h"
#include "target.inc"
