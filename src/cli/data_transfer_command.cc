// `cairn data push|fetch|pull` (docs/pipelines.md, "Remotes"): moves cache
// objects between the repository's cache and a remote from
// .cairn/config.yaml (a folder or a Cairn server).
//
//   cairn data push  [TARGET...] [-r/--remote NAME] [-j/--jobs N]
//   cairn data fetch [TARGET...] [-r/--remote NAME] [-j/--jobs N]
//   cairn data pull  [TARGET...] [-r/--remote NAME] [-j/--jobs N] [-f/--force] [--copy]
//                    [--no-wait]
//
// Roots: the pointers TARGETs select (all pointers without targets) plus,
// without targets, every out and metrics file recorded in cairn.lock. pull is
// fetch, then a checkout of the selected pointers (and, without targets, of
// cairn.lock's outs that are absent from the workspace), under the
// repository lock. A token for a Cairn server comes from CAIRN_TRACKING_TOKEN
// or MLFLOW_TRACKING_TOKEN. A progress line is drawn on stderr only when it
// is a terminal. Output: one summary line per step on stdout; failures
// "error: <CODE>: <message>" on stderr with exit 1; usage errors exit 2.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/progress.h"
#include "cli/table.h"
#include "data/cache.h"
#include "data/config.h"
#include "data/data_ops.h"
#include "data/remote.h"
#include "data/repo_lock.h"
#include "data/transfer.h"
#include "data/workspace.h"
#include "pipeline/lock.h"

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;

enum class Verb { kPush, kFetch, kPull };

struct TransferFlags {
  std::vector<std::string> targets;
  std::string remote;
  int jobs = 0;
  bool force = false;
  bool copy = false;
  bool no_wait = false;
};

std::string Plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

struct Roots {
  std::vector<data::Pointer> pointers;  // path = repo path (for messages)
  std::vector<std::string> selected;    // repo paths of the selected pointer files
  std::vector<pipeline::LockedPath> lock_outs;
};

Result<Roots> CollectRoots(const data::Workspace& ws, const std::vector<std::string>& targets) {
  Roots roots;
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (ec) return Internal("cannot read the current folder: " + ec.message());
  std::vector<std::string> repo_targets;
  for (const std::string& t : targets) {
    CAIRN_ASSIGN_OR_RETURN(std::string rp, data::ToRepoPath(ws, cwd, t));
    repo_targets.push_back(std::move(rp));
  }
  CAIRN_ASSIGN_OR_RETURN(auto tracked, data::SelectPointers(ws, repo_targets));
  std::set<std::string> seen;
  for (data::TrackedPath& tp : tracked) {
    data::Pointer p = tp.pointer;
    p.path = tp.repo_path;
    seen.insert(tp.repo_path);
    roots.selected.push_back(tp.repo_path);
    roots.pointers.push_back(std::move(p));
  }
  if (targets.empty()) {
    CAIRN_ASSIGN_OR_RETURN(pipeline::LockFile lock,
                           pipeline::LoadLockFile((ws.root / pipeline::kLockFileName).string()));
    for (const auto& [step, locked] : lock.steps) {
      for (const auto* list : {&locked.outs, &locked.metrics}) {
        for (const pipeline::LockedPath& out : *list) {
          if (!seen.insert(out.path).second) continue;
          data::Pointer p = pipeline::ToPointer(out);
          p.path = out.path;
          roots.pointers.push_back(std::move(p));
          roots.lock_outs.push_back(out);
        }
      }
    }
  }
  return roots;
}

std::string TokenFromEnvironment() {
  for (const char* name : {"CAIRN_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return v;
  }
  return "";
}

int RunTransfer(Verb verb, const TransferFlags& flags) {
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (ec) return ReportError(Error(ErrorCode::kInternal, "cannot read the current folder"));
  auto ws = data::FindWorkspace(cwd);
  if (!ws) return ReportError(ws.error());
  auto config = data::LoadDataConfig(*ws);
  if (!config) return ReportError(config.error());
  auto resolved = config->ResolveRemote(flags.remote);
  if (!resolved) return ReportError(resolved.error());
  const auto& [remote_name, remote_url] = *resolved;
  data::RemoteOptions remote_options;
  remote_options.bearer_token = TokenFromEnvironment();
  auto remote = data::OpenRemote(remote_url, remote_options);
  if (!remote) return ReportError(remote.error());

  // pull writes the workspace: hold the repository lock for the whole command.
  std::unique_ptr<data::RepoLock> repo_lock;
  if (verb == Verb::kPull) {
    auto acquired = data::RepoLock::Acquire(*ws, "cairn data pull", /*wait=*/!flags.no_wait);
    if (!acquired) return ReportError(acquired.error());
    repo_lock = std::move(*acquired);
  }
  auto cache = data::Cache::Open(*ws, *config);
  if (!cache) return ReportError(cache.error());
  auto roots = CollectRoots(*ws, flags.targets);
  if (!roots) return ReportError(roots.error());

  data::TransferOptions options;
  options.jobs = flags.jobs > 0 ? flags.jobs : config->jobs;
  data::ProgressCounter counter;
  options.counter = &counter;
  auto snapshot = [&counter] {
    data::ProgressCounter::Snapshot s = counter.Read();
    return ProgressSnapshot{s.files_done, s.files_total, s.bytes_done, s.bytes_total};
  };
  ProgressBar progress(verb == Verb::kPush ? "pushing" : "fetching", snapshot);

  if (verb == Verb::kPush) {
    auto summary = data::Push(**cache, **remote, roots->pointers, options);
    progress.Stop();
    if (!summary) return ReportError(summary.error());
    std::cout << "pushed " << Plural(summary->transferred, "object", "objects") << " ("
              << FormatBytes(summary->bytes) << ") to " << remote_name << "; " << summary->already
              << " already there\n";
    return kExitOk;
  }

  auto summary = data::Fetch(**cache, **remote, roots->pointers, options);
  progress.Stop();
  if (!summary) return ReportError(summary.error());
  std::cout << "fetched " << Plural(summary->transferred, "object", "objects") << " ("
            << FormatBytes(summary->bytes) << ") from " << remote_name << "; " << summary->already
            << " already in the cache\n";
  if (verb == Verb::kFetch) return kExitOk;

  const data::LinkMode mode = flags.copy ? data::LinkMode::kCopy : data::LinkMode::kHardlink;
  uint64_t paths = 0, written = 0, removed = 0;
  data::ProgressCounter checkout_counter;
  (*cache)->set_progress(&checkout_counter);
  ProgressBar checkout_progress("checking out", [&checkout_counter] {
    data::ProgressCounter::Snapshot s = checkout_counter.Read();
    return ProgressSnapshot{s.files_done, s.files_total, s.bytes_done, s.bytes_total};
  });
  if (!roots->selected.empty()) {
    auto checked = data::CheckoutPaths(**cache, roots->selected, mode, flags.force);
    if (!checked) return ReportError(checked.error());
    for (const data::CheckoutResult& r : *checked) {
      ++paths;
      written += r.stats.written;
      removed += r.stats.removed;
    }
  }
  // A pipeline's outs that the workspace lacks; changed ones are left for
  // `cairn repro` to judge.
  for (const pipeline::LockedPath& out : roots->lock_outs) {
    std::error_code exists_ec;
    if (fs::exists(fs::symlink_status(ws->Absolute(out.path), exists_ec))) continue;
    data::CheckoutStats stats;
    auto st = (*cache)->Checkout(out.path, pipeline::ToPointer(out), mode, flags.force, &stats);
    if (!st) return ReportError(st.error());
    ++paths;
    written += stats.written;
    removed += stats.removed;
  }
  checkout_progress.Stop();
  std::cout << "checked out " << Plural(paths, "path", "paths") << " ("
            << Plural(written, "file", "files") << " written";
  if (removed > 0) std::cout << ", " << removed << " removed";
  std::cout << ")\n";
  return kExitOk;
}

void AddVerb(CLI::App& data, Action& action, Verb verb) {
  const char* name = verb == Verb::kPush ? "push" : verb == Verb::kFetch ? "fetch" : "pull";
  const char* help = verb == Verb::kPush ? "Send the tracked data's objects the remote lacks"
                     : verb == Verb::kFetch
                         ? "Download the tracked data's objects into the cache"
                         : "Fetch, then check the tracked data out into the workspace";
  auto flags = std::make_shared<TransferFlags>();
  CLI::App* cmd = data.add_subcommand(name, help);
  cmd->add_option("targets", flags->targets,
                  "Tracked paths, pointer files or folders holding pointers (default: all, and "
                  "cairn.lock's outs)");
  cmd->add_option("-r,--remote", flags->remote, "Remote name (default: the configured default)");
  cmd->add_option("-j,--jobs", flags->jobs, "Parallel transfers")->check(CLI::PositiveNumber);
  if (verb == Verb::kPull) {
    cmd->add_flag("--force,-f", flags->force,
                  "Overwrite changed workspace files and remove files not in a pointer");
    cmd->add_flag("--copy", flags->copy,
                  "Writable copies instead of read-only hard links to the cache");
    cmd->add_flag("--no-wait", flags->no_wait, "Fail instead of waiting for the repository lock");
  }
  cmd->callback(
      [&action, flags, verb] { action = [flags, verb] { return RunTransfer(verb, *flags); }; });
}

}  // namespace

void AddDataTransferCommands(CLI::App& data, Action& action) {
  AddVerb(data, action, Verb::kPush);
  AddVerb(data, action, Verb::kFetch);
  AddVerb(data, action, Verb::kPull);
}

}  // namespace cairn::cli
