// Placeholder: an engineer replaces this file this session.
#include "pipeline/plan.h"
