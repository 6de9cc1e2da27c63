// The `cairn` binary: parses the command line (CLI11) and runs the chosen
// subcommand. Each command group registers itself from its own file.

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/command.h"

int main(int argc, char** argv) {
  using namespace cairn::cli;  // NOLINT(build/namespaces)
  CLI::App app{"Cairn: experiment tracking that speaks MLflow's REST API", "cairn"};
  app.set_version_flag("--version", "cairn " CAIRN_VERSION);
  app.require_subcommand(1);
  Action action;
  AddServerCommand(app, action);
  AddDbCommand(app, action);
  AddExperimentsCommand(app, action);
  AddRunsCommand(app, action);
  AddArtifactsCommand(app, action);
  AddModelsCommand(app, action);
  AddDeploymentsCommand(app, action);
  AddServeCommand(app, action);
  AddPredictCommand(app, action);
  AddMonitorsCommand(app, action);
  AddLabelsCommand(app, action);
  AddDriftCommand(app, action);
  AddDataCommand(app, action);
  AddPipelineCommand(app, action);
  AddReproCommand(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (!action) {
    std::cerr << app.help();
    return kExitUsage;
  }
  return action();
}
