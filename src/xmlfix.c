/* xmlfix.c: being written. */
#include "xmlfix.h"
