// Placeholder: an engineer replaces this file this session.
#include "exec/local_executor.h"
