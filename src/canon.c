/* canon.c: being written. */
#include "canon.h"
