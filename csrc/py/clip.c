/* py/clip.c — bindings of kernels/clip.c. */
#include "args.h"

PyMethodDef pdt_clip_methods[] = {
    {NULL, NULL, 0, NULL}};
