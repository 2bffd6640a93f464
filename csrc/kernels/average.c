/* average.c — (being written) */
