#pragma once
// Plumbing shared by the `cairn` subcommands. Each command group lives in its
// own file (server_command.cc, db_command.cc, experiments_command.cc,
// runs_command.cc, artifacts_command.cc, models_command.cc) and registers
// itself on the CLI11 app with Add*Command. A leaf subcommand's parse callback stores what to do
// in `action`; main() runs it after parsing, so parsing never does I/O.
//
// Output contract (scripts rely on it):
//   - success: exit code 0; a human-readable table or fields on stdout, or with
//     --json one JSON document on stdout (MLflow's objects: {"run": ...},
//     {"runs": [...]}, {"experiment": ...}, ...).
//   - failure: exit code 1 and "error: <MLFLOW_ERROR_CODE>: <message>" on stderr,
//     the message being the server's own (e.g. "error: RESOURCE_DOES_NOT_EXIST:
//     Run with id=42 not found"). Usage errors exit with 2.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "client/tracking_client.h"
#include "core/error.h"
#include "store/types.h"

namespace cairn::cli {

using Action = std::function<int()>;

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

// Flags of every client-mode group (experiments, runs, artifacts, models).
struct ClientFlags {
  std::string tracking_uri;  // empty: CAIRN_TRACKING_URI > MLFLOW_TRACKING_URI > default
  // Who is acting, sent as X-Cairn-User on every request (the actor the
  // server's audit log records). Empty: $CAIRN_USER; still empty: none.
  std::string user;
  bool json = false;
};

// Adds --tracking-uri, --user and --json to `group` and lets its subcommands
// accept them after their own arguments (`cairn runs get ID --json`). A
// subcommand's own option of the same name wins after that subcommand
// (`cairn runs create --user` is the run's owner).
void AddClientFlags(CLI::App& group, ClientFlags& flags);
// The client options `flags` select (the user; the rest from the environment).
client::ClientOptions MakeClientOptions(const ClientFlags& flags);
// kInvalidArgument for a bad tracking URI or a user with control characters.
Result<client::TrackingClient> MakeClient(const ClientFlags& flags);

// Prints "error: <MLFLOW_CODE>: <message>" to stderr; returns kExitError.
int ReportError(const Error& e);
// One JSON document, indented by 2, then a newline.
void PrintJson(const nlohmann::json& j);
// Local time "YYYY-MM-DD HH:MM:SS"; "" for 0.
std::string FormatMillis(int64_t ms);
// Shortest of %.6g; "NaN", "inf", "-inf".
std::string FormatDouble(double v);
// "key=value" -> Tag; kInvalidArgument without '='.
Result<store::Tag> ParseKeyValue(const std::string& kv);
// "column=value" -> (column, value); nullopt without '=' or when a side is
// empty (the --test / --threshold flags of `cairn drift` and `cairn monitors`).
std::optional<std::pair<std::string, std::string>> SplitColumnValue(const std::string& text);
// A double as typed on a command line, including nan, inf, -inf.
Result<double> ParseDouble(const std::string& text);
// An experiment by id, else by name (an all-digit argument is tried as an id first).
Result<store::Experiment> ResolveExperiment(client::TrackingClient& client,
                                            const std::string& id_or_name);
// Masks the password in a store URI ("postgresql://u:***@h/db") for printing.
std::string RedactUri(const std::string& uri);

void AddServerCommand(CLI::App& app, Action& action);
void AddDbCommand(CLI::App& app, Action& action);
void AddExperimentsCommand(CLI::App& app, Action& action);
void AddRunsCommand(CLI::App& app, Action& action);
void AddArtifactsCommand(CLI::App& app, Action& action);
void AddModelsCommand(CLI::App& app, Action& action);
void AddDeploymentsCommand(CLI::App& app, Action& action);
void AddServeCommand(CLI::App& app, Action& action);
void AddPredictCommand(CLI::App& app, Action& action);
void AddMonitorsCommand(CLI::App& app, Action& action);  // monitors_command.cc: `cairn monitors ...`
void AddLabelsCommand(CLI::App& app, Action& action);    // monitors_command.cc: `cairn labels log`
void AddDriftCommand(CLI::App& app, Action& action);     // drift_command.cc: `cairn drift`
// Data versioning and pipelines (docs/pipelines.md):
void AddDataCommand(CLI::App& app, Action& action);  // data_command.cc: `cairn data ...`
// data_transfer_command.cc: `cairn data push|pull|fetch` under the `data` group.
void AddDataTransferCommands(CLI::App& data, Action& action);
void AddPipelineCommand(CLI::App& app, Action& action);  // pipeline_command.cc: `cairn pipeline ...`
// repro_command.cc: `cairn pipeline run` under the `pipeline` group, and `cairn repro`.
void AddPipelineRunCommand(CLI::App& pipeline, Action& action);
void AddReproCommand(CLI::App& app, Action& action);
// pipeline_schedule_command.cc: `cairn pipeline schedule ...` under the `pipeline` group.
void AddPipelineScheduleCommands(CLI::App& pipeline, Action& action);

}  // namespace cairn::cli
