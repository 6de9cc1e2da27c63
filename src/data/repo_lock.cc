// Placeholder: an engineer replaces this file this session.
#include "data/repo_lock.h"
