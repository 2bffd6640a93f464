/* py/noise.c — bindings of kernels/noise.c. */
#include "args.h"

PyMethodDef pdt_noise_methods[] = {
    {NULL, NULL, 0, NULL}};
