/* py/average.c — bindings of kernels/average.c. */
#include "args.h"

PyMethodDef pdt_average_methods[] = {
    {NULL, NULL, 0, NULL}};
