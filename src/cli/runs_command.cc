// `cairn runs list|search|get|create|update|log-metric|log-param|set-tag|
// delete-tag|delete|restore|history` (client mode).

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <type_traits>

#include "cli/command.h"
#include "cli/table.h"
#include "core/clock.h"

namespace cairn::cli {
namespace {

using nlohmann::json;

struct RunsFlags {
  ClientFlags client;
  // list / search
  std::vector<std::string> experiment_ids;
  std::vector<std::string> experiment_names;
  std::string filter;
  std::vector<std::string> order_by;
  std::string view = "active_only";
  int64_t max_results = 1000;
  std::vector<std::string> columns;  // metrics.K / params.K / tags.K; empty: picked
  // single-run commands
  std::string run_id;
  std::string key;
  std::string value;
  int64_t step = 0;
  int64_t timestamp = 0;
  // create / update
  std::string experiment_id;
  std::string experiment_name;
  std::string run_name;
  std::string user;
  std::vector<std::string> tags;
  std::string status;
  int64_t end_time = 0;
};

std::string FormatDuration(const store::RunInfo& info) {
  if (!info.end_time || info.start_time == 0 || *info.end_time < info.start_time) return "";
  int64_t ms = *info.end_time - info.start_time;
  if (ms < 1000) return std::to_string(ms) + "ms";
  int64_t s = ms / 1000;
  if (s < 60) return std::to_string(s) + "." + std::to_string((ms % 1000) / 100) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m " + std::to_string(s % 60) + "s";
  return std::to_string(s / 3600) + "h " + std::to_string((s % 3600) / 60) + "m";
}

// Up to `limit` keys of `all`, those named in `hint` (the filter and order-by
// text, e.g. "metrics.acc > 0.9") first, then alphabetically.
std::vector<std::string> PickColumns(const std::set<std::string>& all, const std::string& prefix,
                                     const std::string& hint, size_t limit) {
  std::vector<std::string> picked;
  for (const auto& k : all) {
    if (picked.size() < limit && hint.find(prefix + k) != std::string::npos) picked.push_back(k);
  }
  for (const auto& k : all) {
    if (picked.size() >= limit) break;
    if (std::find(picked.begin(), picked.end(), k) == picked.end()) picked.push_back(k);
  }
  return picked;
}

// A --columns value split into its kind and key: "metrics.val.loss" ->
// {"metrics", "val.loss"}.
struct Column {
  std::string kind;  // metrics | params | tags
  std::string key;
};

Result<std::vector<Column>> ParseColumns(const std::vector<std::string>& specs) {
  std::vector<Column> out;
  for (const std::string& spec : specs) {
    const size_t dot = spec.find('.');
    const std::string kind = dot == std::string::npos ? "" : spec.substr(0, dot);
    if ((kind != "metrics" && kind != "params" && kind != "tags") || dot + 1 >= spec.size()) {
      return InvalidArgument("--columns '" + spec +
                             "': use metrics.KEY, params.KEY or tags.KEY (e.g. metrics.acc)");
    }
    out.push_back(Column{kind, spec.substr(dot + 1)});
  }
  return out;
}

std::string ValueOf(const store::Run& r, const Column& c) {
  auto find = [&](const auto& list) -> std::string {
    for (const auto& item : list) {
      if (item.key == c.key) {
        if constexpr (std::is_same_v<std::decay_t<decltype(item)>, store::Metric>) {
          return FormatDouble(item.value);
        } else {
          return item.value;
        }
      }
    }
    return "";
  };
  if (c.kind == "metrics") return find(r.metrics);
  if (c.kind == "params") return find(r.params);
  return find(r.tags);
}

// `columns` empty: up to 4 metrics and 3 params, those named in `hint`
// first (PickColumns); else exactly `columns`, in order.
void PrintRunsTable(const std::vector<store::Run>& runs, const std::string& hint,
                    std::vector<Column> columns) {
  std::set<std::string> metric_keys, param_keys, experiments;
  for (const auto& r : runs) {
    for (const auto& m : r.metrics) metric_keys.insert(m.key);
    for (const auto& p : r.params) param_keys.insert(p.key);
    experiments.insert(r.info.experiment_id);
  }
  if (columns.empty()) {
    for (const auto& k : PickColumns(metric_keys, "metrics.", hint, 4)) {
      columns.push_back(Column{"metrics", k});
    }
    for (const auto& k : PickColumns(param_keys, "params.", hint, 3)) {
      columns.push_back(Column{"params", k});
    }
  }
  bool show_experiment = experiments.size() > 1;
  std::vector<std::string> headers = {"run_id"};
  if (show_experiment) headers.push_back("experiment_id");
  for (const char* h : {"name", "status", "start_time", "duration"}) headers.push_back(h);
  for (const Column& c : columns) headers.push_back(c.kind + "." + c.key);
  TextTable table(headers, 40);
  for (const auto& r : runs) {
    std::vector<std::string> row = {r.info.run_id};
    if (show_experiment) row.push_back(r.info.experiment_id);
    row.push_back(r.info.run_name);
    row.push_back(r.info.status);
    row.push_back(FormatMillis(r.info.start_time));
    row.push_back(FormatDuration(r.info));
    for (const Column& c : columns) row.push_back(ValueOf(r, c));
    table.AddRow(std::move(row));
  }
  std::cout << table.Render();
}

// The experiment ids to search: --experiment-id values, --experiment-name
// values resolved, or (neither given) every active experiment.
Result<std::vector<std::string>> ExperimentIds(client::TrackingClient& c, const RunsFlags& f) {
  std::vector<std::string> ids = f.experiment_ids;
  for (const auto& name : f.experiment_names) {
    CAIRN_ASSIGN_OR_RETURN(store::Experiment e, c.GetExperimentByName(name));
    ids.push_back(e.experiment_id);
  }
  if (ids.empty()) {
    CAIRN_ASSIGN_OR_RETURN(auto all, c.SearchAllExperiments({}));
    for (const auto& e : all) ids.push_back(e.experiment_id);
  }
  return ids;
}

int Search(RunsFlags& f) {
  auto view = client::ParseViewType(f.view);
  if (!view) return ReportError(view.error());
  if (f.max_results <= 0)
    return ReportError(Error(ErrorCode::kInvalidArgument, "--max-results must be positive"));
  auto columns = ParseColumns(f.columns);
  if (!columns) return ReportError(columns.error());
  auto c = MakeClient(f.client);
  if (!c) return ReportError(c.error());
  auto ids = ExperimentIds(*c, f);
  if (!ids) return ReportError(ids.error());
  std::vector<store::Run> runs;
  if (!ids->empty()) {
    client::RunSearch q;
    q.experiment_ids = *ids;
    q.filter = f.filter;
    q.order_by = f.order_by;
    q.view = *view;
    q.max_results = std::min<int64_t>(f.max_results, 1000);
    auto found = c->SearchAllRuns(q, f.max_results);
    if (!found) return ReportError(found.error());
    runs = std::move(*found);
  }
  if (f.client.json) {
    json arr = json::array();
    for (const auto& r : runs) arr.push_back(client::RunJson(r));
    PrintJson(json{{"runs", std::move(arr)}});
    return kExitOk;
  }
  std::string hint = f.filter;
  for (const auto& o : f.order_by) hint += " " + o;
  PrintRunsTable(runs, hint, std::move(*columns));
  return kExitOk;
}

int Get(RunsFlags& f) {
  auto c = MakeClient(f.client);
  if (!c) return ReportError(c.error());
  auto run = c->GetRun(f.run_id);
  if (!run) return ReportError(run.error());
  if (f.client.json) {
    PrintJson(json{{"run", client::RunJson(*run)}});
    return kExitOk;
  }
  const auto& i = run->info;
  std::cout << RenderFields({
      {"run_id", i.run_id},
      {"name", i.run_name},
      {"experiment_id", i.experiment_id},
      {"status", i.status},
      {"user", i.user_id},
      {"start_time", FormatMillis(i.start_time)},
      {"end_time", i.end_time ? FormatMillis(*i.end_time) : ""},
      {"duration", FormatDuration(i)},
      {"artifact_uri", i.artifact_uri},
      {"lifecycle_stage", i.lifecycle_stage},
  });
  if (!run->metrics.empty()) {
    TextTable t({"metric", "value", "step", "timestamp"}, 64);
    for (const auto& m : run->metrics) {
      t.AddRow({m.key, FormatDouble(m.value), std::to_string(m.step), FormatMillis(m.timestamp)});
    }
    std::cout << "\n" << t.Render();
  }
  if (!run->params.empty()) {
    TextTable t({"param", "value"}, 64);
    for (const auto& p : run->params) t.AddRow({p.key, p.value});
    std::cout << "\n" << t.Render();
  }
  if (!run->tags.empty()) {
    TextTable t({"tag", "value"}, 64);
    for (const auto& tag : run->tags) t.AddRow({tag.key, tag.value});
    std::cout << "\n" << t.Render();
  }
  return kExitOk;
}

int Create(RunsFlags& f) {
  client::CreateRunRequest req;
  for (const auto& kv : f.tags) {
    auto t = ParseKeyValue(kv);
    if (!t) return ReportError(t.error());
    req.tags.push_back(*t);
  }
  auto c = MakeClient(f.client);
  if (!c) return ReportError(c.error());
  req.experiment_id = f.experiment_id.empty() ? "0" : f.experiment_id;
  if (!f.experiment_name.empty()) {
    auto e = c->GetExperimentByName(f.experiment_name);
    if (!e) return ReportError(e.error());
    req.experiment_id = e->experiment_id;
  }
  req.run_name = f.run_name;
  req.user_id = f.user;
  auto run = c->CreateRun(req);
  if (!run) return ReportError(run.error());
  if (f.client.json) {
    PrintJson(json{{"run", client::RunJson(*run)}});
  } else {
    std::cout << "Created run " << run->info.run_id << " ('" << run->info.run_name
              << "') in experiment " << run->info.experiment_id << "\n";
  }
  return kExitOk;
}

int Update(RunsFlags& f) {
  client::UpdateRunRequest u;
  if (!f.status.empty()) u.status = f.status;
  if (!f.run_name.empty()) u.run_name = f.run_name;
  if (f.end_time != 0) {
    u.end_time = f.end_time;
  } else if (f.status == "FINISHED" || f.status == "FAILED" || f.status == "KILLED") {
    u.end_time = SystemClock::Get().NowMillis();  // as mlflow's set_terminated does
  }
  if (!u.status && !u.run_name && !u.end_time) {
    return ReportError(Error(ErrorCode::kInvalidArgument,
                             "nothing to update: give --status, --run-name or --end-time"));
  }
  auto c = MakeClient(f.client);
  if (!c) return ReportError(c.error());
  auto info = c->UpdateRun(f.run_id, u);
  if (!info) return ReportError(info.error());
  if (f.client.json) {
    PrintJson(json{{"run_info", client::RunInfoJson(*info)}});
  } else {
    std::cout << "Updated run " << info->run_id << ": status " << info->status << ", name '"
              << info->run_name << "'\n";
  }
  return kExitOk;
}

// log-metric / log-param / set-tag / delete-tag / delete / restore.
int Write(RunsFlags& f, const std::string& verb) {
  double metric_value = 0;
  if (verb == "log-metric") {
    auto v = ParseDouble(f.value);
    if (!v) return ReportError(v.error());
    metric_value = *v;
  }
  auto c = MakeClient(f.client);
  if (!c) return ReportError(c.error());
  Status st;
  std::string done;
  if (verb == "log-metric") {
    st = c->LogMetric(f.run_id, f.key, metric_value, {.step = f.step, .timestamp = f.timestamp});
    done = "Logged metric " + f.key + "=" + FormatDouble(metric_value) + " (step " +
           std::to_string(f.step) + ") to run " + f.run_id;
  } else if (verb == "log-param") {
    st = c->LogParam(f.run_id, f.key, f.value);
    done = "Logged param " + f.key + "=" + f.value + " to run " + f.run_id;
  } else if (verb == "set-tag") {
    st = c->SetTag(f.run_id, f.key, f.value);
    done = "Set tag " + f.key + "=" + f.value + " on run " + f.run_id;
  } else if (verb == "delete-tag") {
    st = c->DeleteTag(f.run_id, f.key);
    done = "Deleted tag " + f.key + " of run " + f.run_id;
  } else if (verb == "delete") {
    st = c->DeleteRun(f.run_id);
    done = "Deleted run " + f.run_id;
  } else {
    st = c->RestoreRun(f.run_id);
    done = "Restored run " + f.run_id;
  }
  if (!st) return ReportError(st.error());
  if (f.client.json) {
    PrintJson(json::object());
  } else {
    std::cout << done << "\n";
  }
  return kExitOk;
}

int History(RunsFlags& f) {
  auto c = MakeClient(f.client);
  if (!c) return ReportError(c.error());
  auto history = c->GetMetricHistory(f.run_id, f.key);
  if (!history) return ReportError(history.error());
  if (f.client.json) {
    json arr = json::array();
    for (const auto& m : *history) arr.push_back(client::MetricJson(m));
    PrintJson(json{{"metrics", std::move(arr)}});
    return kExitOk;
  }
  TextTable t({"step", "timestamp", "value"});
  for (const auto& m : *history) {
    t.AddRow({std::to_string(m.step), FormatMillis(m.timestamp), FormatDouble(m.value)});
  }
  std::cout << t.Render();
  return kExitOk;
}

void AddSearchFlags(CLI::App* cmd, RunsFlags& f, bool with_query) {
  cmd->add_option("--experiment-id", f.experiment_ids, "Experiment id (repeatable)");
  cmd->add_option("--experiment-name", f.experiment_names, "Experiment name (repeatable)");
  cmd->add_option("--view", f.view, "active_only | deleted_only | all")->capture_default_str();
  cmd->add_option("--max-results", f.max_results, "At most this many runs")->capture_default_str();
  cmd->add_option("--columns", f.columns,
                  "The table's columns after the run's attributes, e.g. "
                  "metrics.acc,params.lr,tags.stage (comma-separated or repeated; default: up to "
                  "4 metrics and 3 params, those in --filter/--order-by first)")
      ->delimiter(',');
  if (with_query) {
    cmd->add_option("--filter", f.filter,
                    "MLflow filter, e.g. \"metrics.acc > 0.9 and params.lr = '0.1'\"");
    cmd->add_option("--order-by", f.order_by, "e.g. \"metrics.acc DESC\" (repeatable)");
  }
}

}  // namespace

void AddRunsCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<RunsFlags>();
  CLI::App* group = app.add_subcommand("runs", "Search, inspect and log to runs");
  group->require_subcommand(1);
  AddClientFlags(*group, f->client);

  CLI::App* list =
      group->add_subcommand("list", "List runs of experiments (default: every active experiment)");
  AddSearchFlags(list, *f, false);
  list->callback([f, &action] { action = [f] { return Search(*f); }; });

  CLI::App* search = group->add_subcommand("search", "Search runs with a filter and an order");
  AddSearchFlags(search, *f, true);
  search->callback([f, &action] { action = [f] { return Search(*f); }; });

  CLI::App* get = group->add_subcommand("get", "Show a run: info, metrics, params, tags");
  get->add_option("RUN_ID", f->run_id)->required();
  get->callback([f, &action] { action = [f] { return Get(*f); }; });

  CLI::App* create = group->add_subcommand("create", "Create a run");
  create->add_option("--experiment-id", f->experiment_id, "Experiment id (default: 0)");
  create->add_option("--experiment-name", f->experiment_name, "Experiment name");
  create->add_option("--run-name", f->run_name, "Run name (default: the server picks one)");
  create->add_option("--user", f->user,
                     "The run's owner, its user_id (default: $USER). The acting user "
                     "(X-Cairn-User) is `cairn runs --user NAME create` or $CAIRN_USER");
  create->add_option("--tag", f->tags, "key=value (repeatable)");
  create->callback([f, &action] { action = [f] { return Create(*f); }; });

  CLI::App* update = group->add_subcommand(
      "update", "Change a run's status or name (a terminal status also sets the end time)");
  update->add_option("RUN_ID", f->run_id)->required();
  update->add_option("--status", f->status, "RUNNING | SCHEDULED | FINISHED | FAILED | KILLED")
      ->check(CLI::IsMember({"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}));
  update->add_option("--run-name", f->run_name, "New name");
  update->add_option("--end-time", f->end_time, "End time, ms since the epoch");
  update->callback([f, &action] { action = [f] { return Update(*f); }; });

  CLI::App* metric = group->add_subcommand("log-metric", "Log one metric value");
  metric->add_option("RUN_ID", f->run_id)->required();
  metric->add_option("KEY", f->key)->required();
  metric->add_option("VALUE", f->value, "A number (nan, inf, -inf accepted)")->required();
  metric->add_option("--step", f->step, "Step (default 0)");
  metric->add_option("--timestamp", f->timestamp, "ms since the epoch (default: now)");
  metric->callback([f, &action] { action = [f] { return Write(*f, "log-metric"); }; });

  CLI::App* param = group->add_subcommand("log-param", "Log a parameter (immutable once set)");
  param->add_option("RUN_ID", f->run_id)->required();
  param->add_option("KEY", f->key)->required();
  param->add_option("VALUE", f->value)->required();
  param->callback([f, &action] { action = [f] { return Write(*f, "log-param"); }; });

  CLI::App* tag = group->add_subcommand("set-tag", "Set a tag (overwrites)");
  tag->add_option("RUN_ID", f->run_id)->required();
  tag->add_option("KEY", f->key)->required();
  tag->add_option("VALUE", f->value)->required();
  tag->callback([f, &action] { action = [f] { return Write(*f, "set-tag"); }; });

  CLI::App* untag = group->add_subcommand("delete-tag", "Delete a tag");
  untag->add_option("RUN_ID", f->run_id)->required();
  untag->add_option("KEY", f->key)->required();
  untag->callback([f, &action] { action = [f] { return Write(*f, "delete-tag"); }; });

  for (const char* verb : {"delete", "restore"}) {
    std::string v = verb;
    CLI::App* cmd =
        group->add_subcommand(v, v == "delete" ? "Delete a run" : "Restore a deleted run");
    cmd->add_option("RUN_ID", f->run_id)->required();
    cmd->callback([f, v, &action] { action = [f, v] { return Write(*f, v); }; });
  }

  CLI::App* history = group->add_subcommand("history", "Every logged value of one metric");
  history->add_option("RUN_ID", f->run_id)->required();
  history->add_option("KEY", f->key)->required();
  history->callback([f, &action] { action = [f] { return History(*f); }; });
}

}  // namespace cairn::cli
