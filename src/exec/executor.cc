// Placeholder: an engineer replaces this file this session.
#include "exec/executor.h"
