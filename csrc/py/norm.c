/* py/norm.c — bindings of kernels/norm.c. */
#include "args.h"

PyMethodDef pdt_norm_methods[] = {
    {NULL, NULL, 0, NULL}};
