/* clip.c — (being written) */
