// placeholder: being written (issue 7)
#include "cli/command.h"
namespace cairn::cli {
void AddMonitorsCommand(CLI::App&, Action&) {}
void AddLabelsCommand(CLI::App&, Action&) {}
}  // namespace cairn::cli
