// Placeholder: `cairn data ...` (init, add, status, checkout, gc, remote) comes this session.
#include "cli/command.h"

namespace cairn::cli {

void AddDataCommand(CLI::App& app, Action& action) {
  CLI::App* data = app.add_subcommand("data", "Version data files and folders (pointer files in git)");
  data->require_subcommand(1);
  AddDataTransferCommands(*data, action);
}

}  // namespace cairn::cli
