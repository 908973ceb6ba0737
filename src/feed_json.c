/* feed_json.c: being written. */
