/* html.c: being written. */
#include "html.h"
