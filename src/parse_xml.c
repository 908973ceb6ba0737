/* parse_xml.c: being written. */
