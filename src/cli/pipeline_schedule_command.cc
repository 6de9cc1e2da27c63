// `cairn pipeline schedule add|list|get|runs|update|delete|enable|disable|trigger`:
// pipeline schedules kept and run by a `cairn server` (docs/pipelines.md,
// "Schedules"), through client::ScheduleClient. The server must have been
// started with --pipeline-root DIR for schedules to be accepted and run.
//
// --repo is resolved here when the folder exists on this machine (realpath,
// so a relative path works when the server shares the filesystem); any
// other absolute path is sent as it is (a path on the server).

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/command.h"
#include "cli/table.h"
#include "client/schedule_client.h"
#include "core/config.h"

namespace cairn::cli {
namespace {

using nlohmann::json;

struct ScheduleFlags {
  ClientFlags client;
  std::string name;
  std::string cron;
  std::string repo = ".";
  std::vector<std::string> targets;
  int jobs = 0;
  bool disabled = false;
  int limit = 20;
  int runs = 5;
  bool wait = false;
  double wait_timeout_s = 3600;
};

Result<client::ScheduleClient> MakeScheduleClient(const ScheduleFlags& f) {
  return client::ScheduleClient::Create(ResolveTrackingUri(f.client.tracking_uri),
                                        MakeClientOptions(f.client));
}

Result<std::string> ResolveRepoArg(const std::string& repo) {
  std::error_code ec;
  if (std::filesystem::is_directory(repo, ec)) {
    auto real = std::filesystem::canonical(repo, ec);
    if (!ec) return real.string();
  }
  if (!repo.empty() && repo[0] == '/') return repo;  // a path on the server
  return InvalidArgument("--repo '" + repo +
                         "' is not a folder here; give the repository's absolute path on the "
                         "server");
}

int64_t Int(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}
std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string Targets(const json& s) {
  std::string out;
  for (const json& t : s.value("targets", json::array())) {
    if (!out.empty()) out += " ";
    out += t.get<std::string>();
  }
  return out.empty() ? "(all)" : out;
}

std::string Duration(const json& r) {
  int64_t start = Int(r, "started_at");
  int64_t end = Int(r, "finished_at");
  if (start == 0 || end < start) return "";
  int64_t ms = end - start;
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms < 120'000) return FormatDouble(static_cast<double>(ms / 100) / 10.0) + "s";
  return std::to_string(ms / 60'000) + "m" + std::to_string(ms / 1000 % 60) + "s";
}

std::string RunsTable(const json& runs) {
  TextTable t({"RUN", "TICK", "TRIGGER", "STATUS", "EXIT", "DURATION", "MESSAGE"}, 72);
  for (const json& r : runs) {
    const json& exit = r["exit_code"];
    t.AddRow({std::to_string(Int(r, "id")), FormatMillis(Int(r, "tick")), Str(r, "triggered_by"),
              Str(r, "status"), exit.is_number_integer() ? std::to_string(exit.get<int>()) : "",
              Duration(r), Str(r, "message")});
  }
  return t.rows() == 0 ? "(no runs yet)\n" : t.Render();
}

int AddCmd(ScheduleFlags& f) {
  auto repo = ResolveRepoArg(f.repo);
  if (!repo) return ReportError(repo.error());
  auto c = MakeScheduleClient(f);
  if (!c) return ReportError(c.error());
  client::ScheduleSpec spec;
  spec.name = f.name;
  spec.cron = f.cron;
  spec.repo = *repo;
  spec.targets = f.targets;
  spec.jobs = f.jobs;
  spec.enabled = !f.disabled;
  auto s = c->Add(spec);
  if (!s) return ReportError(s.error());
  if (f.client.json) {
    PrintJson(json{{"schedule", *s}});
    return kExitOk;
  }
  std::cout << "Created pipeline schedule '" << Str(*s, "name") << "' (cron \"" << Str(*s, "cron")
            << "\", repo " << Str(*s, "repo") << ", targets " << Targets(*s) << ")";
  if (s->value("enabled", true)) {
    std::cout << "; first run at " << FormatMillis(Int(*s, "next_tick")) << "\n";
  } else {
    std::cout << "; disabled (`cairn pipeline schedule enable " << f.name << "`)\n";
  }
  return kExitOk;
}

int ListCmd(ScheduleFlags& f) {
  auto c = MakeScheduleClient(f);
  if (!c) return ReportError(c.error());
  auto l = c->List();
  if (!l) return ReportError(l.error());
  if (f.client.json) {
    PrintJson(json{{"schedules", l->schedules}, {"runs_enabled", l->runs_enabled}});
    return kExitOk;
  }
  TextTable t({"NAME", "CRON", "ENABLED", "NEXT RUN", "TARGETS", "REPO"}, 64);
  for (const json& s : l->schedules) {
    const bool enabled = s.value("enabled", false);
    t.AddRow({Str(s, "name"), Str(s, "cron"), enabled ? "yes" : "no",
              enabled ? FormatMillis(Int(s, "next_tick")) : "", Targets(s), Str(s, "repo")});
  }
  std::cout << (t.rows() == 0 ? "(no pipeline schedules)\n" : t.Render());
  if (!l->runs_enabled) {
    std::cerr << "note: this server runs no pipeline schedules (start it with --pipeline-root "
                 "DIR)\n";
  }
  return kExitOk;
}

int GetCmd(ScheduleFlags& f) {
  auto c = MakeScheduleClient(f);
  if (!c) return ReportError(c.error());
  auto g = c->Get(f.name, f.runs);
  if (!g) return ReportError(g.error());
  if (f.client.json) {
    PrintJson(*g);
    return kExitOk;
  }
  const json& s = (*g)["schedule"];
  const bool enabled = s.value("enabled", false);
  std::cout << RenderFields(
      {{"name", Str(s, "name")},
       {"cron", Str(s, "cron")},
       {"repo", Str(s, "repo")},
       {"targets", Targets(s)},
       {"jobs", Int(s, "jobs") > 0 ? std::to_string(Int(s, "jobs")) : std::string("(default)")},
       {"enabled", enabled ? "yes" : "no"},
       {"next run", enabled ? FormatMillis(Int(s, "next_tick")) : ""},
       {"created", FormatMillis(Int(s, "created_at"))}});
  std::cout << "\nLast runs:\n" << RunsTable((*g)["runs"]);
  return kExitOk;
}

int RunsCmd(ScheduleFlags& f) {
  auto c = MakeScheduleClient(f);
  if (!c) return ReportError(c.error());
  auto r = c->Runs(f.name, f.limit);
  if (!r) return ReportError(r.error());
  if (f.client.json) {
    PrintJson(json{{"runs", *r}});
    return kExitOk;
  }
  std::cout << RunsTable(*r);
  return kExitOk;
}

int DeleteCmd(ScheduleFlags& f) {
  auto c = MakeScheduleClient(f);
  if (!c) return ReportError(c.error());
  if (auto d = c->Delete(f.name); !d) return ReportError(d.error());
  if (f.client.json) {
    PrintJson(json::object());
  } else {
    std::cout << "Deleted pipeline schedule '" << f.name << "' and its run history\n";
  }
  return kExitOk;
}

int SetEnabledCmd(ScheduleFlags& f, bool enabled) {
  auto c = MakeScheduleClient(f);
  if (!c) return ReportError(c.error());
  auto s = c->SetEnabled(f.name, enabled);
  if (!s) return ReportError(s.error());
  if (f.client.json) {
    PrintJson(json{{"schedule", *s}});
  } else if (enabled) {
    std::cout << "Enabled pipeline schedule '" << f.name << "'; next run at "
              << FormatMillis(Int(*s, "next_tick")) << "\n";
  } else {
    std::cout << "Disabled pipeline schedule '" << f.name << "'\n";
  }
  return kExitOk;
}
int EnableCmd(ScheduleFlags& f) { return SetEnabledCmd(f, true); }

int UpdateCmd(ScheduleFlags& f) {
  auto c = MakeScheduleClient(f);
  if (!c) return ReportError(c.error());
  auto s = c->UpdateCron(f.name, f.cron);
  if (!s) return ReportError(s.error());
  if (f.client.json) {
    PrintJson(json{{"schedule", *s}});
  } else if (s->value("enabled", false)) {
    std::cout << "Pipeline schedule '" << f.name << "' now runs at " << Str(*s, "cron")
              << "; next run at " << FormatMillis(Int(*s, "next_tick")) << "\n";
  } else {
    std::cout << "Pipeline schedule '" << f.name << "' now runs at " << Str(*s, "cron")
              << " (disabled: `cairn pipeline schedule enable " << f.name << "`)\n";
  }
  return kExitOk;
}
int DisableCmd(ScheduleFlags& f) { return SetEnabledCmd(f, false); }

int TriggerCmd(ScheduleFlags& f) {
  auto c = MakeScheduleClient(f);
  if (!c) return ReportError(c.error());
  auto r = c->Trigger(f.name);
  if (!r) return ReportError(r.error());
  const int64_t id = Int(*r, "id");
  if (!f.wait) {
    if (f.client.json) {
      PrintJson(json{{"run", *r}});
    } else {
      std::cout << "Queued run " << id << " of pipeline schedule '" << f.name
                << "'; the server starts it within a second (`cairn pipeline schedule runs "
                << f.name << "`)\n";
    }
    return kExitOk;
  }
  // --wait: poll the run until it ends.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(f.wait_timeout_s * 1000));
  json run = *r;
  for (;;) {
    const std::string status = Str(run, "status");
    if (status != "queued" && status != "running") break;
    if (std::chrono::steady_clock::now() > deadline) {
      return ReportError(Error(ErrorCode::kDeadlineExceeded, "run " + std::to_string(id) + " of '" +
                                                                 f.name + "' is still " + status +
                                                                 " after --wait-timeout"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto runs = c->Runs(f.name, 100);
    if (!runs) return ReportError(runs.error());
    for (const json& x : *runs) {
      if (Int(x, "id") == id) run = x;
    }
  }
  if (f.client.json) {
    PrintJson(json{{"run", run}});
  } else {
    std::cout << "Run " << id << " of '" << f.name << "' " << Str(run, "status") << ": "
              << Str(run, "message") << "\n";
    const std::string tail = Str(run, "log_tail");
    if (!tail.empty()) {
      std::cout << "--- log tail (" << Str(run, "log_path") << ") ---\n" << tail;
      if (tail.back() != '\n') std::cout << "\n";
    }
  }
  return Str(run, "status") == "succeeded" ? kExitOk : kExitError;
}

}  // namespace

void AddPipelineScheduleCommands(CLI::App& pipeline, Action& action) {
  auto f = std::make_shared<ScheduleFlags>();
  CLI::App* group = pipeline.add_subcommand(
      "schedule",
      "Run the pipeline of a repository on a cron schedule, on a `cairn server` started with "
      "--pipeline-root");
  group->require_subcommand(1);
  AddClientFlags(*group, f->client);
  auto leaf = [f, &action](CLI::App* cmd, int (*run)(ScheduleFlags&)) {
    cmd->callback([f, run, &action] { action = [f, run] { return run(*f); }; });
  };
  auto name = [f](CLI::App* cmd) { cmd->add_option("NAME", f->name, "Schedule name")->required(); };

  CLI::App* add = group->add_subcommand(
      "add", "Register a schedule: the server runs `cairn repro` in REPO at each cron time");
  name(add);
  add->add_option("--cron", f->cron,
                  "When: \"0 * * * *\" (5 fields, UTC), @hourly, @daily, @weekly, @every 10m")
      ->required();
  add->add_option("--repo", f->repo,
                  "The repository folder (inside the server's --pipeline-root; default .)");
  add->add_option("--target", f->targets, "A step to reproduce (repeatable; default: all)");
  add->add_option("--jobs", f->jobs, "Steps run in parallel (`cairn repro --jobs`)")
      ->check(CLI::Range(0, 256));
  add->add_flag("--disabled", f->disabled, "Register without running it yet");
  leaf(add, AddCmd);

  leaf(group->add_subcommand("list", "List schedules"), ListCmd);

  CLI::App* get = group->add_subcommand("get", "Show a schedule and its last runs");
  name(get);
  get->add_option("--runs", f->runs, "How many runs to show")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  leaf(get, GetCmd);

  CLI::App* runs = group->add_subcommand("runs", "A schedule's runs, newest first");
  name(runs);
  runs->add_option("--limit", f->limit, "How many")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  leaf(runs, RunsCmd);

  CLI::App* update = group->add_subcommand(
      "update", "Change a schedule's cron in place (its history and settings are kept)");
  name(update);
  update
      ->add_option("--cron", f->cron,
                   "The new time: \"0 * * * *\" (5 fields, UTC), @hourly, @daily, @every 10m")
      ->required();
  leaf(update, UpdateCmd);

  CLI::App* del = group->add_subcommand("delete", "Delete a schedule and its run history");
  name(del);
  leaf(del, DeleteCmd);

  CLI::App* enable = group->add_subcommand("enable", "Resume a schedule from its next cron time");
  name(enable);
  leaf(enable, EnableCmd);

  CLI::App* disable = group->add_subcommand("disable", "Pause a schedule");
  name(disable);
  leaf(disable, DisableCmd);

  CLI::App* trigger = group->add_subcommand("trigger", "Run a schedule's pipeline once, now");
  name(trigger);
  trigger->add_flag("--wait", f->wait,
                    "Wait for the run to end; print its log tail; exit 1 unless it succeeded");
  trigger->add_option("--wait-timeout", f->wait_timeout_s, "Seconds --wait waits at most")
      ->capture_default_str();
  leaf(trigger, TriggerCmd);
}

}  // namespace cairn::cli
