/* noise.c — (being written) */
