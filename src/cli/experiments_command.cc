// `cairn experiments list|create|get|delete|restore|rename` (client mode).

#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/table.h"

namespace cairn::cli {
namespace {

using nlohmann::json;

struct ExperimentsFlags {
  ClientFlags client;
  // list
  std::string view = "active_only";
  std::string filter;
  std::vector<std::string> order_by;
  int64_t max_results = 0;  // 0: all
  // create / get / delete / restore / rename
  std::string name;
  std::string id_or_name;
  std::string artifact_location;
  std::vector<std::string> tags;
  std::string new_name;
};

void PrintExperimentTable(const std::vector<store::Experiment>& experiments) {
  TextTable table({"experiment_id", "name", "lifecycle_stage", "artifact_location", "created"});
  for (const auto& e : experiments) {
    table.AddRow({e.experiment_id, e.name, e.lifecycle_stage, e.artifact_location,
                  FormatMillis(e.creation_time)});
  }
  std::cout << table.Render();
}

int List(ExperimentsFlags& f) {
  auto view = client::ParseViewType(f.view);
  if (!view) return ReportError(view.error());
  auto c = MakeClient(f.client);
  if (!c) return ReportError(c.error());
  client::ExperimentSearch q;
  q.filter = f.filter;
  q.order_by = f.order_by;
  q.view = *view;
  std::vector<store::Experiment> experiments;
  if (f.max_results > 0) {
    q.max_results = f.max_results;
    auto page = c->SearchExperiments(q);
    if (!page) return ReportError(page.error());
    experiments = std::move(page->experiments);
  } else {
    auto all = c->SearchAllExperiments(q);
    if (!all) return ReportError(all.error());
    experiments = std::move(*all);
  }
  if (f.client.json) {
    json arr = json::array();
    for (const auto& e : experiments) arr.push_back(client::ExperimentJson(e));
    PrintJson(json{{"experiments", std::move(arr)}});
  } else {
    PrintExperimentTable(experiments);
  }
  return kExitOk;
}

int Create(ExperimentsFlags& f) {
  std::vector<store::Tag> tags;
  for (const auto& kv : f.tags) {
    auto t = ParseKeyValue(kv);
    if (!t) return ReportError(t.error());
    tags.push_back(*t);
  }
  auto c = MakeClient(f.client);
  if (!c) return ReportError(c.error());
  auto id = c->CreateExperiment(f.name, f.artifact_location, tags);
  if (!id) return ReportError(id.error());
  if (f.client.json) {
    PrintJson(json{{"experiment_id", *id}});
  } else {
    std::cout << "Created experiment '" << f.name << "' with id " << *id << "\n";
  }
  return kExitOk;
}

int Get(ExperimentsFlags& f) {
  auto c = MakeClient(f.client);
  if (!c) return ReportError(c.error());
  auto e = ResolveExperiment(*c, f.id_or_name);
  if (!e) return ReportError(e.error());
  if (f.client.json) {
    PrintJson(json{{"experiment", client::ExperimentJson(*e)}});
    return kExitOk;
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"experiment_id", e->experiment_id},
      {"name", e->name},
      {"artifact_location", e->artifact_location},
      {"lifecycle_stage", e->lifecycle_stage},
      {"created", FormatMillis(e->creation_time)},
      {"last_updated", FormatMillis(e->last_update_time)},
  };
  std::cout << RenderFields(fields);
  if (!e->tags.empty()) {
    TextTable tags({"tag", "value"});
    for (const auto& t : e->tags) tags.AddRow({t.key, t.value});
    std::cout << "\n" << tags.Render();
  }
  return kExitOk;
}

// delete / restore / rename share the resolve-then-act shape.
int Mutate(ExperimentsFlags& f, const std::string& verb) {
  auto c = MakeClient(f.client);
  if (!c) return ReportError(c.error());
  auto e = ResolveExperiment(*c, f.id_or_name);
  if (!e) return ReportError(e.error());
  Status st;
  if (verb == "delete") {
    st = c->DeleteExperiment(e->experiment_id);
  } else if (verb == "restore") {
    st = c->RestoreExperiment(e->experiment_id);
  } else {
    st = c->RenameExperiment(e->experiment_id, f.new_name);
  }
  if (!st) return ReportError(st.error());
  if (f.client.json) {
    PrintJson(json{{"experiment_id", e->experiment_id}});
  } else if (verb == "delete") {
    std::cout << "Deleted experiment " << e->experiment_id << " ('" << e->name << "')\n";
  } else if (verb == "restore") {
    std::cout << "Restored experiment " << e->experiment_id << " ('" << e->name << "')\n";
  } else {
    std::cout << "Renamed experiment " << e->experiment_id << " from '" << e->name << "' to '"
              << f.new_name << "'\n";
  }
  return kExitOk;
}

}  // namespace

void AddExperimentsCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<ExperimentsFlags>();
  CLI::App* group = app.add_subcommand("experiments", "Create, list and manage experiments");
  group->require_subcommand(1);
  AddClientFlags(*group, f->client);

  CLI::App* list = group->add_subcommand("list", "List experiments");
  list->add_option("--view", f->view, "active_only | deleted_only | all")->capture_default_str();
  list->add_option("--filter", f->filter, "MLflow filter, e.g. \"name LIKE 'fraud%'\"");
  list->add_option("--order-by", f->order_by, "e.g. \"name ASC\" (repeatable)");
  list->add_option("--max-results", f->max_results, "At most this many (default: all)");
  list->callback([f, &action] { action = [f] { return List(*f); }; });

  CLI::App* create = group->add_subcommand("create", "Create an experiment");
  create->add_option("NAME", f->name, "Experiment name")->required();
  create->add_option("--artifact-location", f->artifact_location,
                     "Artifact root of its runs (default: the server's)");
  create->add_option("--tag", f->tags, "key=value (repeatable)");
  create->callback([f, &action] { action = [f] { return Create(*f); }; });

  CLI::App* get = group->add_subcommand("get", "Show one experiment");
  get->add_option("ID_OR_NAME", f->id_or_name, "Experiment id or name")->required();
  get->callback([f, &action] { action = [f] { return Get(*f); }; });

  for (const char* verb : {"delete", "restore"}) {
    std::string v = verb;
    CLI::App* cmd = group->add_subcommand(
        v, v == "delete" ? "Delete an experiment (and its runs)" : "Restore a deleted experiment");
    cmd->add_option("ID_OR_NAME", f->id_or_name, "Experiment id or name")->required();
    cmd->callback([f, v, &action] { action = [f, v] { return Mutate(*f, v); }; });
  }

  CLI::App* rename = group->add_subcommand("rename", "Rename an experiment");
  rename->add_option("ID_OR_NAME", f->id_or_name, "Experiment id or name")->required();
  rename->add_option("NEW_NAME", f->new_name, "New name")->required();
  rename->callback([f, &action] { action = [f] { return Mutate(*f, "rename"); }; });
}

}  // namespace cairn::cli
