// placeholder: being written (issue 7)
#include "cli/command.h"
namespace cairn::cli {
void AddDriftCommand(CLI::App&, Action&) {}
}  // namespace cairn::cli
