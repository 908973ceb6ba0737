/* download.c: being written. */
