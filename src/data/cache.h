#pragma once
// The local cache of a Cairn repository (docs/pipelines.md, "Hashing and
// status"): a content-addressed store (blob::LocalBlobStore layout:
// objects/ab/cdef..., tmp/) at CacheDirFor(ws, config), normally
// .cairn/cache, plus the pipeline run cache under runs/ (pipeline/plan.h).
//
// A tracked file is one object (its bytes). A tracked folder is its manifest
// (manifest.h, stored as an object under the manifest digest) plus one object
// per file. A Pointer (pointer.h) names either.
//
// Commit (used by `cairn data add` and by the pipeline runner for outs):
// hashes the workspace path (through the stat cache) and stores every file
// that the cache lacks in the same read (with kHardlink the hashed inode
// itself, made read-only; else a copy hashed again while copying). A hashed
// inode is linked under its object name at once once its data is on disk:
// flushed on its own (fsync) when at most ObjectBatch::kPerFileMaxObjects
// files are new, else when its ctime is older than the command's one
// file-system flush (ObjectBatch::FlushOnce, DurableAfterFlush). The others
// are staged as temp files and installed in one ObjectBatch (object_batch.h:
// flush, rename without replacing, flush); the names of both are flushed
// before Commit returns. With LinkMode::kHardlink it then replaces each
// workspace file that is not its object's inode by a read-only hard link to
// it (link to a temp name in the same folder + rename, so the workspace file
// is never absent). The manifest is stored last, so a folder's digest only
// exists in the cache when all its files do. Returns the pointer (path = the
// last component of the repo path). A full disk is kResourceExhausted
// ("adding '<path>': out of disk space (...)"), with no temp file left and
// nothing installed from the failed batch.
//
// Checkout: makes the workspace path hold exactly the pointer's data: files
// are hard-linked (kHardlink, read-only) or copied (kCopy, writable) from the
// cache (a link made straight where nothing is yet, else by temp + rename);
// for a folder, files that are not in the
// manifest are removed only with `force` (else kFailedPrecondition naming
// them: "data/raw has files not in its pointer: x.csv (use --force)"), and a
// workspace file whose content differs from both the pointer and the cache is
// not overwritten without `force` (same error kind, names the file).
// Files already matching are left alone (no write), so checkout of an
// unchanged workspace touches nothing.
//
// Errors: kNotFound (an object missing from the cache: the message names the
// path and says `cairn data pull` fetches it), kInvalidArgument (a path that
// is not a regular file or folder, symlinks inside), kFailedPrecondition
// (above), kResourceExhausted (disk full), kInternal (other I/O).
//
// Thread safety: a Cache may be used from several threads; concurrent Commit
// or Checkout of the same workspace path is the caller's problem (the
// repository lock, repo_lock.h, serialises commands).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "blob/local/local_blob_store.h"
#include "core/error.h"
#include "data/config.h"
#include "data/hashing.h"
#include "data/manifest.h"
#include "data/pointer.h"
#include "data/progress_counter.h"
#include "data/workspace.h"

namespace cairn::data {

enum class LinkMode {
  kHardlink,  // workspace files are read-only hard links to cache objects (copy across filesystems)
  kCopy,      // workspace files are writable copies
};

struct CommitStats {
  uint64_t files = 0;          // files in the path
  uint64_t objects_added = 0;  // objects the cache did not have
  // Of those, workspace files linked under their object name at once (data
  // on disk before the first flush), without a temp file.
  uint64_t objects_linked_durable = 0;
  uint64_t bytes_added = 0;
  HashStats hash;
};

struct CheckoutStats {
  uint64_t files = 0;    // files in the pointer
  uint64_t written = 0;  // files linked or copied
  uint64_t removed = 0;  // files removed (force, or a folder replaced by a file)
};

// What a workspace path is compared with a pointer (or a lock entry).
enum class PathState {
  kUnchanged,  // the workspace holds exactly the pointer's data
  kModified,   // it exists and differs
  kMissing,    // it does not exist
};
std::string_view PathStateName(PathState state);  // "unchanged" | "modified" | "missing"

class Cache {
 public:
  // Opens (creating folders as needed) the cache of `ws` and the stat cache
  // (ws.StatCacheFile()). `jobs` threads hash and copy (0: cores).
  static Result<std::unique_ptr<Cache>> Open(const Workspace& ws, const DataConfig& config);

  const Workspace& workspace() const { return ws_; }
  blob::LocalBlobStore& blobs() { return *blobs_; }
  StatCache* stat_cache() { return stat_cache_.get(); }
  // Hash options using this cache's stat cache, jobs and progress counter.
  HashOptions hash_options() const;
  // Where Commit (files hashed or answered by the stat cache) and Checkout
  // (files written) count their work; null (the default) for none. Not
  // owned; must outlive the calls.
  void set_progress(ProgressCounter* progress) { progress_ = progress; }
  // <cache>/runs: the pipeline run cache's folder (created).
  std::string RunsDir() const;

  // Describes the workspace path without storing anything: kind, digest,
  // size and files (a folder's digest is its manifest's). kNotFound when
  // absent.
  Result<Pointer> Describe(std::string_view repo_path, HashStats* stats = nullptr);
  // As Describe, also returning the folder's manifest (empty for a file).
  Result<std::pair<Pointer, Manifest>> DescribeWithManifest(std::string_view repo_path,
                                                            HashStats* stats = nullptr);

  // Stores the workspace path (above).
  Result<Pointer> Commit(std::string_view repo_path, LinkMode mode, CommitStats* stats = nullptr);
  // Restores the pointer's data at the workspace path (above).
  Status Checkout(std::string_view repo_path, const Pointer& pointer, LinkMode mode, bool force,
                  CheckoutStats* stats = nullptr);
  // Compares the workspace path with `pointer` (stat cache first, hashing
  // only what changed).
  Result<PathState> Compare(std::string_view repo_path, const Pointer& pointer);

  // The manifest stored under `digest`. kNotFound when the cache lacks it.
  Result<Manifest> LoadManifest(std::string_view digest) const;
  // Every object the pointer needs: its digest, and for a folder the
  // manifest's file digests (deduplicated, sorted). kNotFound when a folder's
  // manifest is not in the cache (the caller fetches it first).
  Result<std::vector<std::string>> ObjectsOf(const Pointer& pointer) const;
  // The objects of ObjectsOf the cache lacks (a folder whose manifest is
  // missing reports just the manifest digest).
  Result<std::vector<std::string>> MissingObjects(const Pointer& pointer) const;
  Result<bool> Has(std::string_view digest) const;

 private:
  Cache(Workspace ws, std::unique_ptr<blob::LocalBlobStore> blobs,
        std::unique_ptr<StatCache> stat_cache, int jobs)
      : ws_(std::move(ws)),
        blobs_(std::move(blobs)),
        stat_cache_(std::move(stat_cache)),
        jobs_(jobs) {}

  Result<std::pair<Pointer, Manifest>> DescribeImpl(std::string_view repo_path,
                                                    const HashOptions& options, HashStats* stats);
  Result<Pointer> CommitImpl(std::string_view repo_path, LinkMode mode, CommitStats* stats);

  Workspace ws_;
  std::unique_ptr<blob::LocalBlobStore> blobs_;
  std::unique_ptr<StatCache> stat_cache_;
  int jobs_ = 0;
  ProgressCounter* progress_ = nullptr;
};

}  // namespace cairn::data
