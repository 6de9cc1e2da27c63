#pragma once
// push / fetch / pull between the local cache and a remote (remote.h).
//
// push: the objects of `roots` (Cache::ObjectsOf: each pointer's digest and,
// for folders, the manifest and its files) that the remote lacks are
// uploaded on `jobs` threads; manifests last, so a folder on a remote is
// complete whenever its manifest is there. An object missing from the local
// cache is reported (kNotFound naming the tracked paths that need it) after
// the others were pushed.
// fetch: the objects of `roots` the cache lacks are downloaded (a folder's
// manifest first, then its files) to temp names in the cache, verified by
// SHA-256 (the digest Remote::Get computed of the bytes it wrote, so each
// object is read once) and installed in one batch per phase (object_batch.h);
// a download that does not match its digest is deleted and reported
// (kDataLoss naming the digest and remote). Objects the remote lacks are
// reported together at the end (kNotFound listing the tracked paths), after
// everything else was fetched. pull (the CLI): fetch, then data_ops CheckoutPaths.
//
// Interrupting either leaves every transferred object complete and the rest
// absent: running it again resumes.
//
// Thread safety: free functions; one call per cache at a time.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/cache.h"
#include "data/pointer.h"
#include "data/progress_counter.h"
#include "data/remote.h"

namespace cairn::data {

struct TransferOptions {
  int jobs = 0;  // 0: 4 x cores for HTTP remotes, cores for folders
  // Called from worker threads after each object (for progress lines);
  // may be empty.
  std::function<void(uint64_t objects_done, uint64_t objects_total, uint64_t bytes_done)> progress;
  // Counts objects (total as they become known) and bytes transferred when
  // set (cli/progress.h polls it). Not owned.
  ProgressCounter* counter = nullptr;
};

struct TransferSummary {
  uint64_t objects = 0;      // objects the roots need
  uint64_t transferred = 0;  // objects sent or received
  uint64_t bytes = 0;        // bytes sent or received
  uint64_t already = 0;      // objects the other side already had
};

Result<TransferSummary> Push(Cache& cache, Remote& remote, const std::vector<Pointer>& roots,
                             const TransferOptions& options = {});
Result<TransferSummary> Fetch(Cache& cache, Remote& remote, const std::vector<Pointer>& roots,
                              const TransferOptions& options = {});

}  // namespace cairn::data
