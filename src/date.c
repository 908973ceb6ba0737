/* date.c: being written. */
#include "date.h"
