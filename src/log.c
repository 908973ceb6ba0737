/* log.c: being written. */
