// Placeholder: `cairn repro` and `cairn pipeline run` come this session.
#include "cli/command.h"

namespace cairn::cli {

void AddPipelineRunCommand(CLI::App& /*pipeline*/, Action& /*action*/) {}
void AddReproCommand(CLI::App& /*app*/, Action& /*action*/) {}

}  // namespace cairn::cli
