// `cairn pipeline status|dag` (docs/pipelines.md, "Plan"): read-only views of
// the pipeline in cairn.yaml at the root of the repository around the
// current folder (data::FindWorkspace). Neither takes the repository lock:
// they only read (status may create .cairn/ and its stat cache, as every
// command does on first use).
//
//   cairn pipeline status [TARGET...] [--json] [--no-run-cache] [--exit-code]
//     One line per selected step (TARGET and its upstream; a base name like
//     "evaluate" selects every expansion; none: all), in run order:
//       prepare         up to date
//       train           stale: param train.lr 0.1 -> 0.2
//       evaluate@small  stale: upstream 'train' will run
//     ("cached" for a step the run cache restores), then a summary line
//     "4 steps: 1 up to date, 0 cached, 3 stale". --json prints
//     {"steps":[{"name","status":"up_to_date"|"cached"|"stale","reasons":[..],
//     "fingerprint"}],"summary":{"up_to_date","cached","stale"}}.
//     --no-run-cache ignores the run cache (nothing is "cached").
//   cairn pipeline dag [--json]
//     Dag::RenderDag's layers; --json {"steps":[{"name","parents":[..],
//     "deps":[..],"outs":[..],"metrics":[..]}]} in topological order.
//
// Exit codes: 0 (also when steps are stale); with --exit-code, 1 when a
// step is stale (as `git diff --exit-code`); 1 with "error: <CODE>: <message>"
// for a missing or invalid cairn.yaml / cairn.lock / params file (messages
// name file and line), an unknown target or a missing dep; 2 for usage.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "data/cache.h"
#include "data/config.h"
#include "data/workspace.h"
#include "pipeline/dag.h"
#include "pipeline/lock.h"
#include "pipeline/plan.h"
#include "pipeline/spec.h"

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;

struct StatusFlags {
  std::vector<std::string> targets;
  bool json = false;
  bool no_run_cache = false;
  bool exit_code = false;
};

struct DagFlags {
  bool json = false;
};

// The repository and its pipeline, as the commands read them.
struct LoadedPipeline {
  data::Workspace ws;
  std::unique_ptr<pipeline::Dag> dag;
};

Result<LoadedPipeline> LoadPipeline() {
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  if (ec) return Internal("cannot read the current folder: " + ec.message());
  CAIRN_ASSIGN_OR_RETURN(data::Workspace ws, data::FindWorkspace(cwd));
  const fs::path spec_path = ws.root / "cairn.yaml";
  // Messages name cairn.yaml as the user would reach it from here.
  std::string shown = fs::relative(spec_path, cwd, ec).string();
  if (ec || shown.empty()) shown = spec_path.string();
  std::ifstream in(spec_path, std::ios::binary);
  if (!in) {
    if (!fs::exists(spec_path, ec)) {
      return NotFound("no cairn.yaml at the repository root " + ws.root.string() +
                      " (declare the pipeline's steps there; see docs/pipelines.md)");
    }
    return Internal("cannot read " + shown);
  }
  std::ostringstream text;
  text << in.rdbuf();
  CAIRN_ASSIGN_OR_RETURN(pipeline::PipelineSpec spec,
                         pipeline::ParsePipelineSpec(text.str(), shown));
  CAIRN_ASSIGN_OR_RETURN(pipeline::Dag dag, pipeline::Dag::Build(std::move(spec)));
  return LoadedPipeline{std::move(ws), std::make_unique<pipeline::Dag>(std::move(dag))};
}

std::string_view JsonStatus(pipeline::StepStatus status) {
  switch (status) {
    case pipeline::StepStatus::kUpToDate:
      return "up_to_date";
    case pipeline::StepStatus::kRestorable:
      return "cached";
    case pipeline::StepStatus::kStale:
      return "stale";
  }
  return "stale";
}

int RunStatus(const StatusFlags& flags) {
  auto loaded = LoadPipeline();
  if (!loaded) return ReportError(loaded.error());
  data::Workspace ws = loaded->ws;
  std::error_code ec;
  if (!fs::exists(ws.CairnDir(), ec)) {
    auto made = data::InitWorkspace(ws.root);
    if (!made) return ReportError(made.error());
    ws = *made;
  }
  auto config = data::LoadDataConfig(ws);
  if (!config) return ReportError(config.error());
  auto cache = data::Cache::Open(ws, *config);
  if (!cache) return ReportError(cache.error());
  // Messages name cairn.lock as reached from the current folder.
  fs::path lock_path = ws.root / pipeline::kLockFileName;
  const fs::path cwd = fs::current_path(ec);
  if (!ec) {
    fs::path rel = fs::relative(lock_path, cwd, ec);
    if (!ec && !rel.empty()) lock_path = rel;
  }
  auto lock = pipeline::LoadLockFile(lock_path.string());
  if (!lock) return ReportError(lock.error());

  pipeline::PlanOptions options;
  options.use_run_cache = !flags.no_run_cache;
  pipeline::Planner planner(**cache, *loaded->dag, std::move(*lock), options);
  auto steps = planner.Select(flags.targets);
  if (!steps) return ReportError(steps.error());
  auto plans = planner.PlanAll(*steps);
  if (!plans) return ReportError(plans.error());

  size_t counts[3] = {0, 0, 0};  // up to date, cached, stale
  for (const pipeline::StepPlan& p : *plans) {
    counts[p.status == pipeline::StepStatus::kUpToDate     ? 0
           : p.status == pipeline::StepStatus::kRestorable ? 1
                                                           : 2]++;
  }
  if (flags.json) {
    nlohmann::json out = {{"steps", nlohmann::json::array()}};
    for (const pipeline::StepPlan& p : *plans) {
      out["steps"].push_back({{"name", p.step},
                              {"status", JsonStatus(p.status)},
                              {"reasons", p.reasons},
                              {"fingerprint", p.fingerprint}});
    }
    out["summary"] = {{"up_to_date", counts[0]}, {"cached", counts[1]}, {"stale", counts[2]}};
    PrintJson(out);
  } else {
    size_t width = 0;
    for (const pipeline::StepPlan& p : *plans) width = std::max(width, p.step.size());
    for (const pipeline::StepPlan& p : *plans) {
      std::string line = p.step + std::string(width - p.step.size() + 2, ' ');
      line += pipeline::StepStatusName(p.status);
      for (size_t i = 0; i < p.reasons.size(); ++i) {
        line += i == 0 ? ": " : "; ";
        line += p.reasons[i];
      }
      std::cout << line << "\n";
    }
    std::cout << plans->size() << (plans->size() == 1 ? " step: " : " steps: ") << counts[0]
              << " up to date, " << counts[1] << " cached, " << counts[2] << " stale" << std::endl;
  }
  return flags.exit_code && counts[2] > 0 ? kExitError : kExitOk;
}

int RunDag(const DagFlags& flags) {
  auto loaded = LoadPipeline();
  if (!loaded) return ReportError(loaded.error());
  const pipeline::Dag& dag = *loaded->dag;
  if (!flags.json) {
    std::cout << dag.RenderDag() << std::flush;
    return kExitOk;
  }
  nlohmann::json out = {{"steps", nlohmann::json::array()}};
  for (const std::string& name : dag.TopologicalOrder()) {
    const pipeline::Step* step = dag.spec().Find(name);
    auto parents = dag.Parents(name);
    if (step == nullptr || !parents) {
      return ReportError(parents ? Error(ErrorCode::kInternal, "step '" + name + "' vanished")
                                 : parents.error());
    }
    nlohmann::json deps = nlohmann::json::array();
    nlohmann::json outs = nlohmann::json::array();
    nlohmann::json metrics = nlohmann::json::array();
    for (const pipeline::PathEntry& e : step->deps) deps.push_back(e.path);
    for (const pipeline::PathEntry& e : step->outs) outs.push_back(e.path);
    for (const pipeline::PathEntry& e : step->metrics) metrics.push_back(e.path);
    out["steps"].push_back({{"name", name},
                            {"parents", *parents},
                            {"deps", deps},
                            {"outs", outs},
                            {"metrics", metrics}});
  }
  PrintJson(out);
  return kExitOk;
}

}  // namespace

void AddPipelineCommand(CLI::App& app, Action& action) {
  CLI::App* pipeline = app.add_subcommand("pipeline", "Inspect and run the pipeline in cairn.yaml");
  pipeline->require_subcommand(1);

  auto status_flags = std::make_shared<StatusFlags>();
  CLI::App* status = pipeline->add_subcommand(
      "status", "Which steps are up to date, cached or stale, and why (changes nothing)");
  status->add_option("targets", status_flags->targets,
                     "Steps to show with their upstream (a base name selects every expansion); "
                     "default: all");
  status->add_flag("--json", status_flags->json, "Print one JSON document");
  status->add_flag("--no-run-cache", status_flags->no_run_cache,
                   "Ignore the run cache (no step is reported as cached)");
  status->add_flag("--exit-code", status_flags->exit_code, "Exit with 1 when a step is stale");
  status->callback(
      [status_flags, &action] { action = [status_flags] { return RunStatus(*status_flags); }; });

  auto dag_flags = std::make_shared<DagFlags>();
  CLI::App* dag = pipeline->add_subcommand("dag", "Print the pipeline's steps and edges by layer");
  dag->add_flag("--json", dag_flags->json, "Print one JSON document");
  dag->callback([dag_flags, &action] { action = [dag_flags] { return RunDag(*dag_flags); }; });

  AddPipelineRunCommand(*pipeline, action);
  AddPipelineScheduleCommands(*pipeline, action);
}

}  // namespace cairn::cli
