/* dropout.c — (being written) */
