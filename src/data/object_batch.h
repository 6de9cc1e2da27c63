#pragma once
// ObjectBatch: installs many new objects into an objects/ab/cdef... layout
// (the local cache, or a folder remote) with two file-system flushes in all
// instead of two per object (docs/pipelines.md, "Writing objects").
//
// A caller writes each new object as a complete temp file beside its final
// name (TempPath(digest): objects/ab/.put-<random>; a name that is never a
// digest, so listings and gc skip it), checks that its bytes hash to the
// digest, and Stage()s it. Temp files live in the shard folders, so each
// rename stays inside one folder (tried against one tmp/ folder to spread
// ext4's inode allocation, which dominated a 10k-object push in `perf` on a
// journal-less, churned file system: it did not help there, and did not
// hurt). Install() then:
//   1. syncfs(): the data of every staged file reaches the disk (with
//      whatever else is dirty on that file system: one flush, not N fsyncs);
//   2. renames each temp file to objects/ab/cdef... (same folder) without replacing
//      (renameat2 RENAME_NOREPLACE; link + unlink where that is not
//      supported): an object already there is kept and the temp dropped;
//   3. syncfs() again, so the new names are durable before the caller
//      records anything that refers to them (a pointer file, a manifest).
// A crash before 2 leaves only temp files (`cairn data gc` removes those
// older than an hour); a crash after 1 leaves complete objects under
// their final names, some perhaps not yet visible after reboot: never a
// partial object under a final name.
//
// Temp files staged but not installed (Install failed or was never called)
// are removed by the destructor.
//
// Errors: kResourceExhausted (ENOSPC/EDQUOT/EFBIG: the message names the
// file), kInternal (other I/O).
// Thread safety: TempPath, Stage, Staged and size may be called from many
// threads; Install from one thread, after the stagers finished.
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/error.h"

namespace cairn::data {

class ObjectBatch {
 public:
  // `root` holds objects/ (and tmp/, kept for the blob store's layout);
  // EnsureLayout creates them, TempPath creates shard folders.
  explicit ObjectBatch(std::string root);
  ~ObjectBatch();
  ObjectBatch(const ObjectBatch&) = delete;
  ObjectBatch& operator=(const ObjectBatch&) = delete;

  // Creates <root>/objects and <root>/tmp when missing.
  Status EnsureLayout() const;
  // A fresh temp file name in the shard folder of `digest` (created when
  // missing): <root>/objects/ab/.put-<random>.
  Result<std::string> TempPath(std::string_view digest) const;
  // The prefix of temp file names inside shard folders.
  static constexpr std::string_view kTempPrefix = ".put-";
  // <root>/objects/ab/cdef...
  std::string ObjectPath(std::string_view digest) const;
  // Records the complete temp file `temp` (under <root>/tmp) as object
  // `digest`. Returns false when `digest` is already staged: the caller
  // removes its temp file.
  bool Stage(const std::string& temp, const std::string& digest);
  bool Staged(const std::string& digest) const;
  size_t size() const;

  // Flush, rename, flush (above). Renames run on `jobs` threads (0: cores).
  // After success the batch is empty and may be reused.
  Status Install(int jobs = 0);
  // Objects that Install placed (not counting those already present).
  uint64_t installed() const { return installed_; }

 private:
  std::string root_;
  std::string objects_dir_;
  std::string tmp_dir_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> staged_;  // digest -> temp path
  uint64_t installed_ = 0;
};

// syncfs() of the file system holding `path` (a folder). kResourceExhausted /
// kInternal on failure, naming `path`.
Status SyncFileSystemOf(const std::string& path);

}  // namespace cairn::data
