/* url.c: being written. */
#include "url.h"
