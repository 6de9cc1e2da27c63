// Placeholder: `cairn pipeline schedule ...` comes this session.
#include "cli/command.h"

namespace cairn::cli {

void AddPipelineScheduleCommands(CLI::App& /*pipeline*/, Action& /*action*/) {}

}  // namespace cairn::cli
