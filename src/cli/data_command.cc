// `cairn data init|add|status|checkout|gc|remote` (docs/pipelines.md, "Files
// in the repository", "Hashing and status"): data versioning in the git
// repository around the current folder (data::FindWorkspace). push, pull and
// fetch are registered by data_transfer_command.cc.
//
//   cairn data init
//     Makes .cairn/ at the git root around the current folder (else here).
//   cairn data add PATH... [--copy] [--no-wait]
//     Hashes and stores each path, writes PATH.cairn, git-ignores PATH. One
//     line per path: "added data/raw (dir, 12 files, 1.0 MiB) -> data/raw.cairn"
//     or "unchanged data/raw (dir, 12 files, 1.0 MiB)". Takes the repository lock.
//   cairn data status [TARGET...] [--json] [--exit-code]
//     One row per pointer: workspace unchanged|modified|missing, and whether
//     its objects are in the cache. --json: {"paths":[{"path","pointer","kind",
//     "digest","size","files","workspace","in_cache"}],"clean":bool}. Exit 0;
//     with --exit-code 1 when anything is not clean (as `git diff --exit-code`).
//   cairn data checkout [TARGET...] [--force] [--copy] [--no-wait]
//     Restores the workspace from the cache (lock).
//   cairn data gc [--dry-run] [--no-wait]
//     Removes cache objects that no pointer and no cairn.lock out or metrics
//     entry needs, then the run cache entries that needed a removed object
//     (lock): "removed 2 objects (9 B), 1 run cache entry and 0 temp files;
//     kept 3 objects".
//   cairn data remote add NAME URL [--default] | list [--json] | remove NAME |
//                     default NAME
//     Edits .cairn/config.yaml (validated; written atomically).
//
// Paths are printed as repository paths. Failures: "error: <CODE>: <message>"
// on stderr, exit 1; usage errors exit 2.

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/progress.h"
#include "cli/table.h"
#include "data/cache.h"
#include "data/config.h"
#include "data/data_ops.h"
#include "data/repo_lock.h"
#include "data/workspace.h"
#include "pipeline/lock.h"

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;

// "dir, 12 files, 1.0 MiB" / "file, 7 B".
std::string DescribePointer(const data::Pointer& p) {
  std::string out(data::PointerKindName(p.kind));
  if (p.kind == data::PointerKind::kDir) {
    uint64_t n = p.files.value_or(0);
    out += ", " + std::to_string(n) + (n == 1 ? " file" : " files");
  }
  out += ", " + FormatBytes(p.size);
  return out;
}

Result<fs::path> CurrentDir() {
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (ec) return Internal("cannot read the current folder: " + ec.message());
  return cwd;
}

// The repository around the current folder, its .cairn/ made when absent.
struct Repo {
  fs::path cwd;
  data::Workspace ws;
  data::DataConfig config;
};

Result<Repo> OpenRepo() {
  Repo r;
  CAIRN_ASSIGN_OR_RETURN(r.cwd, CurrentDir());
  CAIRN_ASSIGN_OR_RETURN(r.ws, data::FindWorkspace(r.cwd));
  std::error_code ec;
  if (!fs::is_directory(r.ws.CairnDir(), ec)) {
    CAIRN_ASSIGN_OR_RETURN(r.ws, data::InitWorkspace(r.ws.root));
  }
  CAIRN_ASSIGN_OR_RETURN(r.config, data::LoadDataConfig(r.ws));
  return r;
}

// The repo paths of targets as typed. With `root_means_all`, a target
// naming the repository root ("." at the root) selects everything (an empty
// list); otherwise the root is refused as ToRepoPath refuses it.
Result<std::vector<std::string>> RepoPaths(const Repo& r, const std::vector<std::string>& typed,
                                           bool root_means_all = false) {
  std::vector<std::string> out;
  out.reserve(typed.size());
  for (const auto& t : typed) {
    std::string_view s = t;
    while (s.size() > 1 && s.back() == '/') s.remove_suffix(1);  // "data/raw/" as typed
    if (root_means_all) {
      fs::path p = fs::path(s).is_absolute() ? fs::path(s) : r.cwd / s;
      fs::path normal = p.lexically_normal();
      std::string text = normal.string();
      while (text.size() > 1 && text.back() == '/') text.pop_back();
      if (text == r.ws.root.string()) return std::vector<std::string>{};
    }
    CAIRN_ASSIGN_OR_RETURN(std::string rp, data::ToRepoPath(r.ws, r.cwd, s));
    out.push_back(std::move(rp));
  }
  return out;
}

// ---- init -----------------------------------------------------------------

int RunInit() {
  auto cwd = CurrentDir();
  if (!cwd) return ReportError(cwd.error());
  fs::path root = *cwd;
  if (auto found = data::FindWorkspace(*cwd)) root = found->root;
  std::error_code ec;
  bool existed = fs::is_directory(root / data::kCairnDirName, ec);
  auto ws = data::InitWorkspace(root);
  if (!ws) return ReportError(ws.error());
  if (existed) {
    std::cout << "Cairn data repository already initialized in " << ws->CairnDir().string() << "\n";
  } else {
    std::cout << "Initialized Cairn data repository in " << ws->CairnDir().string() << "\n"
              << "Commit .cairn/config.yaml and .cairn/.gitignore; track data with: cairn data "
                 "add PATH\n";
  }
  return kExitOk;
}

// ---- add ------------------------------------------------------------------

struct AddFlags {
  std::vector<std::string> paths;
  bool copy = false;
  bool no_wait = false;
};

ProgressSnapshot Snapshot(const data::ProgressCounter& counter) {
  data::ProgressCounter::Snapshot s = counter.Read();
  return {s.files_done, s.files_total, s.bytes_done, s.bytes_total};
}

int RunAdd(const AddFlags& flags) {
  auto repo = OpenRepo();
  if (!repo) return ReportError(repo.error());
  auto targets = RepoPaths(*repo, flags.paths);
  if (!targets) return ReportError(targets.error());
  auto lock = data::RepoLock::Acquire(repo->ws, "cairn data add", !flags.no_wait);
  if (!lock) return ReportError(lock.error());
  auto cache = data::Cache::Open(repo->ws, repo->config);
  if (!cache) return ReportError(cache.error());
  data::ProgressCounter counter;
  (*cache)->set_progress(&counter);
  ProgressBar bar("adding", [&counter] { return Snapshot(counter); });
  auto added = data::AddPaths(**cache, *targets,
                              flags.copy ? data::LinkMode::kCopy : data::LinkMode::kHardlink);
  bar.Stop();
  if (!added) return ReportError(added.error());
  for (const auto& a : *added) {
    if (a.changed) {
      std::cout << "added " << a.repo_path << " (" << DescribePointer(a.pointer) << ") -> "
                << a.pointer_file << "\n";
    } else {
      std::cout << "unchanged " << a.repo_path << " (" << DescribePointer(a.pointer) << ")\n";
    }
  }
  return kExitOk;
}

// ---- status ---------------------------------------------------------------

struct StatusFlags {
  std::vector<std::string> targets;
  bool json = false;
  bool exit_code = false;
};

int RunStatus(const StatusFlags& flags) {
  auto repo = OpenRepo();
  if (!repo) return ReportError(repo.error());
  auto targets = RepoPaths(*repo, flags.targets, /*root_means_all=*/true);
  if (!targets) return ReportError(targets.error());
  auto cache = data::Cache::Open(repo->ws, repo->config);
  if (!cache) return ReportError(cache.error());
  auto status = data::DataStatus(**cache, *targets);
  if (!status) return ReportError(status.error());

  bool clean = true;
  size_t modified = 0, missing = 0, not_cached = 0;
  for (const auto& e : *status) {
    if (e.workspace == data::PathState::kModified) ++modified;
    if (e.workspace == data::PathState::kMissing) ++missing;
    if (!e.in_cache) ++not_cached;
    if (e.workspace != data::PathState::kUnchanged || !e.in_cache) clean = false;
  }
  if (flags.json) {
    nlohmann::json paths = nlohmann::json::array();
    for (const auto& e : *status) {
      const data::Pointer& p = e.tracked.pointer;
      nlohmann::json j = {{"path", e.tracked.repo_path},
                          {"pointer", e.tracked.pointer_file},
                          {"kind", std::string(data::PointerKindName(p.kind))},
                          {"digest", "sha256:" + p.digest},
                          {"size", p.size},
                          {"workspace", std::string(data::PathStateName(e.workspace))},
                          {"in_cache", e.in_cache}};
      if (p.files) j["files"] = *p.files;
      paths.push_back(std::move(j));
    }
    PrintJson({{"paths", std::move(paths)}, {"clean", clean}});
  } else if (status->empty()) {
    std::cout << "no tracked data (track a file or folder with: cairn data add PATH)\n";
  } else {
    TextTable table({"path", "workspace", "cache"}, 80);
    for (const auto& e : *status) {
      table.AddRow({e.tracked.repo_path, std::string(data::PathStateName(e.workspace)),
                    e.in_cache ? "in cache" : "not in cache"});
    }
    std::cout << table.Render();
    std::cout << status->size() << (status->size() == 1 ? " path" : " paths") << ": "
              << (status->size() - modified - missing) << " unchanged, " << modified
              << " modified, " << missing << " missing, " << not_cached << " not in cache\n";
  }
  return flags.exit_code && !clean ? kExitError : kExitOk;
}

// ---- checkout -------------------------------------------------------------

struct CheckoutFlags {
  std::vector<std::string> targets;
  bool force = false;
  bool copy = false;
  bool no_wait = false;
};

int RunCheckout(const CheckoutFlags& flags) {
  auto repo = OpenRepo();
  if (!repo) return ReportError(repo.error());
  auto targets = RepoPaths(*repo, flags.targets, /*root_means_all=*/true);
  if (!targets) return ReportError(targets.error());
  auto lock = data::RepoLock::Acquire(repo->ws, "cairn data checkout", !flags.no_wait);
  if (!lock) return ReportError(lock.error());
  auto cache = data::Cache::Open(repo->ws, repo->config);
  if (!cache) return ReportError(cache.error());
  data::ProgressCounter counter;
  (*cache)->set_progress(&counter);
  ProgressBar bar("checking out", [&counter] { return Snapshot(counter); });
  auto out = data::CheckoutPaths(**cache, *targets,
                                 flags.copy ? data::LinkMode::kCopy : data::LinkMode::kHardlink,
                                 flags.force);
  bar.Stop();
  if (!out) return ReportError(out.error());
  for (const auto& r : *out) {
    if (r.stats.written == 0 && r.stats.removed == 0) {
      std::cout << "unchanged " << r.repo_path << "\n";
    } else {
      std::cout << "restored " << r.repo_path << " (" << r.stats.written << " of " << r.stats.files
                << (r.stats.files == 1 ? " file" : " files") << " written";
      if (r.stats.removed > 0) std::cout << ", " << r.stats.removed << " removed";
      std::cout << ")\n";
    }
  }
  return kExitOk;
}

// ---- gc -------------------------------------------------------------------

struct GcFlags {
  bool dry_run = false;
  bool no_wait = false;
};

int RunGc(const GcFlags& flags) {
  auto repo = OpenRepo();
  if (!repo) return ReportError(repo.error());
  auto lock = data::RepoLock::Acquire(repo->ws, "cairn data gc", !flags.no_wait);
  if (!lock) return ReportError(lock.error());
  auto cache = data::Cache::Open(repo->ws, repo->config);
  if (!cache) return ReportError(cache.error());
  // cairn.lock's outs and metrics are roots too: a pipeline's results stay.
  auto lock_file = pipeline::LoadLockFile((repo->ws.root / pipeline::kLockFileName).string());
  if (!lock_file) return ReportError(lock_file.error());
  std::vector<data::Pointer> roots;
  for (const auto& [name, step] : lock_file->steps) {
    for (const auto& out : step.outs) roots.push_back(pipeline::ToPointer(out));
    for (const auto& m : step.metrics) roots.push_back(pipeline::ToPointer(m));
  }
  auto summary = data::CollectGarbage(**cache, roots, flags.dry_run);
  if (!summary) return ReportError(summary.error());
  std::cout << (flags.dry_run ? "would remove " : "removed ") << summary->objects_removed
            << (summary->objects_removed == 1 ? " object" : " objects") << " ("
            << FormatBytes(summary->bytes_removed) << "), " << summary->run_cache_entries_removed
            << (summary->run_cache_entries_removed == 1 ? " run cache entry" : " run cache entries")
            << " and " << summary->temp_files_removed
            << (summary->temp_files_removed == 1 ? " temp file" : " temp files") << "; kept "
            << summary->objects_kept << (summary->objects_kept == 1 ? " object" : " objects")
            << "\n";
  return kExitOk;
}

// ---- remote ---------------------------------------------------------------

struct RemoteFlags {
  std::string name;
  std::string url;
  bool make_default = false;
  bool json = false;
};

// A local path typed relative to the current folder becomes absolute, so
// the configuration means the same from every folder.
std::string NormalizeUrl(const fs::path& cwd, const std::string& url) {
  if (url.empty() || url.starts_with("/") || url.find("://") != std::string::npos) return url;
  return (cwd / url).lexically_normal().string();
}

int RunRemoteAdd(const RemoteFlags& flags) {
  auto repo = OpenRepo();
  if (!repo) return ReportError(repo.error());
  if (!data::IsValidRemoteName(flags.name)) {
    return ReportError(Error(ErrorCode::kInvalidArgument,
                             "invalid remote name '" + flags.name +
                                 "': use 1-64 characters of A-Z a-z 0-9 . _ -, not starting "
                                 "with '.'"));
  }
  std::string url = NormalizeUrl(repo->cwd, flags.url);
  if (auto st = data::ValidateRemoteUrl(url); !st) return ReportError(st.error());
  if (repo->config.remotes.contains(flags.name)) {
    return ReportError(
        Error(ErrorCode::kAlreadyExists,
              "remote '" + flags.name + "' already exists (" + repo->config.remotes.at(flags.name) +
                  "); remove it first with: cairn data remote remove " + flags.name));
  }
  repo->config.remotes[flags.name] = url;
  if (flags.make_default) repo->config.default_remote = flags.name;
  if (auto st = data::SaveDataConfig(repo->ws, repo->config); !st) return ReportError(st.error());
  std::cout << "added remote " << flags.name << " -> " << url
            << (flags.make_default ? " (default)" : "") << "\n";
  return kExitOk;
}

int RunRemoteList(const RemoteFlags& flags) {
  auto repo = OpenRepo();
  if (!repo) return ReportError(repo.error());
  const data::DataConfig& c = repo->config;
  if (flags.json) {
    nlohmann::json remotes = nlohmann::json::array();
    for (const auto& [name, url] : c.remotes) {
      remotes.push_back({{"name", name}, {"url", url}, {"default", c.default_remote == name}});
    }
    nlohmann::json j = {{"remotes", std::move(remotes)}};
    j["default"] = c.default_remote ? nlohmann::json(*c.default_remote) : nlohmann::json();
    PrintJson(j);
    return kExitOk;
  }
  if (c.remotes.empty()) {
    std::cout << "no remotes (add one with: cairn data remote add NAME URL --default)\n";
    return kExitOk;
  }
  TextTable table({"name", "url", "default"}, 100);
  for (const auto& [name, url] : c.remotes) {
    table.AddRow({name, url, c.default_remote == name ? "*" : ""});
  }
  std::cout << table.Render();
  return kExitOk;
}

int RunRemoteRemove(const RemoteFlags& flags) {
  auto repo = OpenRepo();
  if (!repo) return ReportError(repo.error());
  auto found = repo->config.ResolveRemote(flags.name);
  if (!found) return ReportError(found.error());
  repo->config.remotes.erase(flags.name);
  bool was_default = repo->config.default_remote == flags.name;
  if (was_default) repo->config.default_remote.reset();
  if (auto st = data::SaveDataConfig(repo->ws, repo->config); !st) return ReportError(st.error());
  std::cout << "removed remote " << flags.name << (was_default ? " (it was the default)" : "")
            << "\n";
  return kExitOk;
}

int RunRemoteDefault(const RemoteFlags& flags) {
  auto repo = OpenRepo();
  if (!repo) return ReportError(repo.error());
  auto found = repo->config.ResolveRemote(flags.name);
  if (!found) return ReportError(found.error());
  repo->config.default_remote = flags.name;
  if (auto st = data::SaveDataConfig(repo->ws, repo->config); !st) return ReportError(st.error());
  std::cout << "default remote: " << flags.name << "\n";
  return kExitOk;
}

void AddRemoteCommands(CLI::App& data, Action& action) {
  CLI::App* remote = data.add_subcommand("remote", "Manage the remotes in .cairn/config.yaml");
  remote->require_subcommand(1);

  auto add = std::make_shared<RemoteFlags>();
  CLI::App* add_cmd = remote->add_subcommand("add", "Add a remote: a folder or a Cairn server");
  add_cmd->add_option("name", add->name, "Remote name")->required();
  add_cmd
      ->add_option("url", add->url,
                   "Absolute folder, file:///path, http(s)://host[:port] of a Cairn server")
      ->required();
  add_cmd->add_flag("--default,-d", add->make_default, "Make it the default remote");
  add_cmd->callback([add, &action] { action = [add] { return RunRemoteAdd(*add); }; });

  auto list = std::make_shared<RemoteFlags>();
  CLI::App* list_cmd = remote->add_subcommand("list", "List the remotes");
  list_cmd->add_flag("--json", list->json, "Print {\"remotes\": [...], \"default\": ...}");
  list_cmd->callback([list, &action] { action = [list] { return RunRemoteList(*list); }; });

  auto remove = std::make_shared<RemoteFlags>();
  CLI::App* remove_cmd = remote->add_subcommand("remove", "Remove a remote");
  remove_cmd->add_option("name", remove->name, "Remote name")->required();
  remove_cmd->callback(
      [remove, &action] { action = [remove] { return RunRemoteRemove(*remove); }; });

  auto def = std::make_shared<RemoteFlags>();
  CLI::App* def_cmd = remote->add_subcommand("default", "Set the default remote");
  def_cmd->add_option("name", def->name, "Remote name")->required();
  def_cmd->callback([def, &action] { action = [def] { return RunRemoteDefault(*def); }; });
}

}  // namespace

void AddDataCommand(CLI::App& app, Action& action) {
  CLI::App* data =
      app.add_subcommand("data", "Version data files and folders (pointer files in git)");
  data->require_subcommand(1);

  CLI::App* init = data->add_subcommand("init", "Make .cairn/ at the repository root");
  init->callback([&action] { action = [] { return RunInit(); }; });

  auto add = std::make_shared<AddFlags>();
  CLI::App* add_cmd =
      data->add_subcommand("add", "Track files or folders: store them, write PATH.cairn");
  add_cmd->add_option("paths", add->paths, "Files or folders to track")->required();
  add_cmd->add_flag("--copy", add->copy,
                    "Leave writable copies in the workspace (default: read-only hard links)");
  add_cmd->add_flag("--no-wait", add->no_wait, "Fail instead of waiting for the repository lock");
  add_cmd->callback([add, &action] { action = [add] { return RunAdd(*add); }; });

  auto status = std::make_shared<StatusFlags>();
  CLI::App* status_cmd = data->add_subcommand("status", "Compare the workspace with the pointers");
  status_cmd->add_option("targets", status->targets, "Tracked paths, pointer files or folders");
  status_cmd->add_flag("--json", status->json, "Print {\"paths\": [...], \"clean\": bool}");
  status_cmd->add_flag("--exit-code", status->exit_code,
                       "Exit with 1 when anything is modified, missing or not in the cache");
  status_cmd->callback([status, &action] { action = [status] { return RunStatus(*status); }; });

  auto checkout = std::make_shared<CheckoutFlags>();
  CLI::App* checkout_cmd = data->add_subcommand("checkout", "Restore tracked paths from the cache");
  checkout_cmd->add_option("targets", checkout->targets, "Tracked paths, pointer files or folders");
  checkout_cmd->add_flag("--force,-f", checkout->force,
                         "Overwrite modified files and remove files not in the pointer");
  checkout_cmd->add_flag("--copy", checkout->copy,
                         "Write writable copies (default: read-only hard links)");
  checkout_cmd->add_flag("--no-wait", checkout->no_wait,
                         "Fail instead of waiting for the repository lock");
  checkout_cmd->callback(
      [checkout, &action] { action = [checkout] { return RunCheckout(*checkout); }; });

  auto gc = std::make_shared<GcFlags>();
  CLI::App* gc_cmd =
      data->add_subcommand("gc", "Remove cache objects no pointer or cairn.lock entry needs");
  gc_cmd->add_flag("--dry-run,-n", gc->dry_run, "Report what would be removed, remove nothing");
  gc_cmd->add_flag("--no-wait", gc->no_wait, "Fail instead of waiting for the repository lock");
  gc_cmd->callback([gc, &action] { action = [gc] { return RunGc(*gc); }; });

  AddRemoteCommands(*data, action);
  AddDataTransferCommands(*data, action);
}

}  // namespace cairn::cli
