// Placeholder: `cairn data push|pull|fetch` comes this session.
#include "cli/command.h"

namespace cairn::cli {

void AddDataTransferCommands(CLI::App& /*data*/, Action& /*action*/) {}

}  // namespace cairn::cli
