/* The library's version (include/nlcl/version.h, generated). */
#include "nlcl/version.h"

const char *nlcl_version(void) { return NLCL_VERSION_STRING; }
