/* py/dropout.c — bindings of kernels/dropout.c. */
#include "args.h"

PyMethodDef pdt_dropout_methods[] = {
    {NULL, NULL, 0, NULL}};
