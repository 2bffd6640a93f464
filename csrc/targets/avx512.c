/* targets/avx512.c — every kernel for the avx512 target (built with -mavx512f -mavx2 -mfma; chosen only where the CPU and OS support it). */
#include "../simd/avx512.h"
#include "target.inc"
