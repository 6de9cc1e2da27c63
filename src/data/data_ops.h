#pragma once
// The `cairn data` commands as library calls (docs/pipelines.md): add,
// status, checkout and gc over the pointer files of a repository. The CLI
// (cli/data_command.cc) parses flags, takes the repository lock
// (repo_lock.h) for add/checkout/gc, and prints these results.
//
// Pointers: every `*.cairn` file under the root, skipping .git/ and .cairn/
// (and not descending into tracked folders), is a pointer to the path next to
// it (pointer.h). Targets (repo paths) select pointers: a target names the
// tracked path, its pointer file, or a folder containing pointers.
//
// add: for each target (an existing file or folder; not a symlink, not inside
// another tracked folder, not .cairn/ or .git/), Cache::Commit, then write
// `<path>.cairn` (pointer written last), then add `/<name>` to the
// .gitignore of its folder (created when absent; an existing entry is kept,
// the file's other lines are never changed). Re-adding an unchanged path
// rewrites nothing (reported as unchanged).
//
// gc: removes every cache object not needed by `roots` (the pointers of the
// workspace plus what the caller adds, e.g. cairn.lock's outs) and stray
// temp files, then every run cache entry (Cache::RunsDir()/<fingerprint>.json,
// format in pipeline/plan.h; read here as plain JSON, so data does not depend
// on pipeline) that needs an object the cache no longer has, so no entry
// points at missing data. Entries that do not parse are left alone (the
// planner ignores them). Dry run reports without removing.
//
// Errors as cache.h; a target that is neither tracked nor present is
// kNotFound naming it; kInvalidArgument for targets outside the repository.
// Thread safety: free functions; serialise writers with the repository lock.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/cache.h"
#include "data/pointer.h"
#include "data/workspace.h"

namespace cairn::data {

// A pointer file found in the repository.
struct TrackedPath {
  std::string pointer_file;  // repo path of the .cairn file ("data/raw.cairn")
  std::string repo_path;     // repo path of the data ("data/raw")
  Pointer pointer;
};

// Every pointer under the root (sorted by repo_path). A pointer that fails to
// parse is an error naming it (file:line), never skipped.
Result<std::vector<TrackedPath>> FindPointers(const Workspace& ws);
// The pointers selected by `targets` (repo paths; empty: all).
Result<std::vector<TrackedPath>> SelectPointers(const Workspace& ws,
                                                const std::vector<std::string>& targets);

struct AddResult {
  std::string repo_path;
  std::string pointer_file;
  Pointer pointer;
  bool changed = false;  // false: the pointer already said exactly this
  CommitStats stats;
};
Result<std::vector<AddResult>> AddPaths(Cache& cache, const std::vector<std::string>& repo_paths,
                                        LinkMode mode);

struct StatusEntry {
  TrackedPath tracked;
  PathState workspace = PathState::kUnchanged;  // the workspace against the pointer
  bool in_cache = false;                        // every object of the pointer is in the cache
};
Result<std::vector<StatusEntry>> DataStatus(Cache& cache, const std::vector<std::string>& targets);

struct CheckoutResult {
  std::string repo_path;
  CheckoutStats stats;
};
Result<std::vector<CheckoutResult>> CheckoutPaths(Cache& cache,
                                                  const std::vector<std::string>& targets,
                                                  LinkMode mode, bool force);

struct GcSummary {
  uint64_t objects_kept = 0;
  uint64_t objects_removed = 0;
  uint64_t bytes_removed = 0;
  uint64_t temp_files_removed = 0;
  uint64_t run_cache_entries_removed = 0;  // entries needing a removed (or missing) object
};
// `extra_roots` are kept in addition to the workspace's pointers. A root
// folder whose manifest is missing from the cache keeps nothing below it and
// is not an error (it was never pulled).
Result<GcSummary> CollectGarbage(Cache& cache, const std::vector<Pointer>& extra_roots,
                                 bool dry_run);

// Adds "/<name>" to `folder`/.gitignore unless a line already ignores
// exactly it; atomic (temp + rename). `folder` is absolute.
Status EnsureGitIgnored(const std::string& folder, const std::string& name);

}  // namespace cairn::data
