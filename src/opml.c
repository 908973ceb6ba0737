/* opml.c: being written. */
#include "opml.h"
