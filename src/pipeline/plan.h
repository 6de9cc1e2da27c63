#pragma once
// Planning (docs/pipelines.md, "Fingerprint" and "Plan"): which steps are up
// to date, which can be restored from the run cache, which must run, and why.
//
// Fingerprint of a step: lowercase hex SHA-256 of the canonical JSON
//   {"cmd":<expanded cmd>,"deps":[{"digest":..,"path":..},...sorted by path],
//    "env":{sorted},"params":{display key: canonical JSON value, sorted}}
// (no whitespace, keys sorted, strings escaped as manifest.h). Outs, metrics,
// retries, timeout, resources and executor are not in it: they do not change
// what a step computes.
//
// A step's deps are digested from the workspace (Cache::Describe: the stat
// cache first, so an unchanged repository hashes nothing). Planning a step
// whose upstream must run cannot know its fingerprint; PlanAll reports it
// stale with reason "upstream 'x' will run" and an empty fingerprint, while
// the runner plans each step with PlanStep only after its upstream steps
// finished (ran or were restored into the workspace).
//
// Status of a planned step with a fingerprint:
//   kUpToDate:  cairn.lock has the step with this fingerprint and every out
//               and metrics file in the workspace matches the lock;
//   kRestorable: the run cache has an entry for the fingerprint whose outs
//               are all in the local cache (the runner checks them out); or,
//               without one, cairn.lock has the step with this fingerprint
//               and its outs are all in the local cache (a fresh clone after
//               `cairn data pull`; `cached` then holds the lock's outs);
//   kStale:     otherwise, with every reason found, in this order and wording:
//               "forced", "never run", "cmd changed", "env changed",
//               "param <key> <old> -> <new>" (or "param <key> added/removed"),
//               "dep <path> changed" / "dep <path> added" / "dep <path> removed",
//               "out <path> missing" / "out <path> modified",
//               "upstream '<step>' will run".
//   A dep that does not exist is an error (kNotFound): "step 'train': dep
//   data/raw does not exist (is it produced by a step, or tracked with
//   cairn data add and not pulled?)".
//
// Run cache: <cache>/runs/<fingerprint>.json, written by the runner after a
// step succeeded and its outs were committed:
//   {"format":"cairn-run","version":1,"step":"train","created_ms":...,
//    "outs":[{path,kind,digest,size,files?}],"metrics":[...]}
// Written atomically; an entry that fails to parse is ignored (a cache) and
// reported at debug level.
//
// Thread safety: a Planner is used by one thread at a time (the runner calls
// PlanStep from its scheduling thread). RunCache methods are thread-safe.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "data/cache.h"
#include "pipeline/dag.h"
#include "pipeline/lock.h"
#include "pipeline/spec.h"

namespace cairn::pipeline {

// The canonical fingerprint input text and its digest (above). `deps` need
// only path and digest.
std::string FingerprintInput(const Step& step, const std::map<std::string, std::string>& params,
                             const std::vector<LockedPath>& deps);
std::string ComputeFingerprint(const Step& step, const std::map<std::string, std::string>& params,
                               const std::vector<LockedPath>& deps);

struct RunCacheEntry {
  std::string step;
  int64_t created_ms = 0;
  std::vector<LockedPath> outs;
  std::vector<LockedPath> metrics;
};

class RunCache {
 public:
  explicit RunCache(std::string dir) : dir_(std::move(dir)) {}
  // The entry for `fingerprint`, or nullopt (absent or unreadable).
  Result<std::optional<RunCacheEntry>> Lookup(std::string_view fingerprint) const;
  Status Record(std::string_view fingerprint, const RunCacheEntry& entry) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

enum class StepStatus { kUpToDate, kRestorable, kStale };
std::string_view StepStatusName(StepStatus status);  // "up to date" | "cached" | "stale"

struct StepPlan {
  std::string step;
  StepStatus status = StepStatus::kStale;
  std::vector<std::string> reasons;          // empty unless kStale
  std::string fingerprint;                   // empty when an upstream step must run first
  std::map<std::string, std::string> params;  // display key -> canonical JSON
  std::vector<LockedPath> deps;              // digests, in the step's dep order (when known)
  std::optional<RunCacheEntry> cached;       // kRestorable: what to check out
};

struct PlanOptions {
  bool force = false;           // every selected step is stale ("forced")
  bool use_run_cache = true;    // false: never kRestorable
};

class Planner {
 public:
  // `lock` is cairn.lock as read; `cache` gives hashing and the run cache
  // (Cache::RunsDir()).
  Planner(data::Cache& cache, const Dag& dag, LockFile lock, PlanOptions options);

  // The steps `targets` need (each target and its upstream; empty: all) in
  // topological order; kNotFound naming an unknown target and listing the
  // known steps (a base name like "evaluate" selects all its expansions).
  Result<std::vector<std::string>> Select(const std::vector<std::string>& targets) const;

  // Plans one step against the workspace as it is now (above).
  Result<StepPlan> PlanStep(std::string_view step);

  // Plans `steps` (from Select, in order) without running anything: a step
  // downstream of a stale one is stale ("upstream 'x' will run"); downstream
  // of a restorable one is planned with the restorable step's outs from its
  // run cache entry standing in for the workspace.
  Result<std::vector<StepPlan>> PlanAll(const std::vector<std::string>& steps);

  const LockFile& lock() const { return lock_; }
  const RunCache& run_cache() const { return run_cache_; }
  // The hashing all plans so far did (deps and outs, through the stat cache):
  // a no-op plan of an unchanged repository has hashed == 0.
  const data::HashStats& hash_stats() const { return hash_stats_; }

 private:
  data::Cache& cache_;
  const Dag& dag_;
  LockFile lock_;
  PlanOptions options_;
  RunCache run_cache_;
  data::HashStats hash_stats_;
};

}  // namespace cairn::pipeline
