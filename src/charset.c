/* charset.c: being written. */
#include "charset.h"
