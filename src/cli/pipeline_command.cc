// Placeholder: `cairn pipeline status|dag` comes this session.
#include "cli/command.h"

namespace cairn::cli {

void AddPipelineCommand(CLI::App& app, Action& action) {
  CLI::App* pipeline = app.add_subcommand("pipeline", "Inspect and run the pipeline in cairn.yaml");
  pipeline->require_subcommand(1);
  AddPipelineRunCommand(*pipeline, action);
  AddPipelineScheduleCommands(*pipeline, action);
}

}  // namespace cairn::cli
