/* parse_json.c: being written. */
