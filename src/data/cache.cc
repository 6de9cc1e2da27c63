// Placeholder: an engineer replaces this file this session.
#include "data/cache.h"
