#pragma once
// ObjectBatch: installs many new objects into an objects/ab/cdef... layout
// (the local cache, or a folder remote) with a few file-system flushes in all
// instead of two per object (docs/pipelines.md, "Writing objects").
//
// A caller writes each new object as a complete temp file beside its final
// name (TempPath(digest): objects/ab/.put-<random>; a name that is never a
// digest, so listings and gc skip it), checks that its bytes hash to the
// digest, and Stage()s it. Temp files live in the shard folders, so each
// rename stays inside one folder (tried against one tmp/ folder to spread
// ext4's inode allocation, which dominated a 10k-object push in `perf` on a
// journal-less, churned file system: it did not help there, and did not
// hurt). A shard folder is created (mkdir) once per batch, not once per
// object. Install() then:
//   1. makes the data of every staged file durable: one syncfs() of the file
//      system (FlushMode::kSyncFs), or an fdatasync() of each staged file on
//      `jobs` threads (kPerFile);
//   2. renames each temp file to objects/ab/cdef... (same folder) without
//      replacing (renameat2 RENAME_NOREPLACE; link + unlink where that is
//      not supported): an object already there is kept, the temp dropped;
//   3. makes the new names durable before the caller records anything that
//      refers to them (a pointer file, a manifest): syncfs() again (kSyncFs),
//      or an fsync() of each shard folder that received a name, plus
//      objects/ when this batch created shard folders (kPerFile; a syncfs
//      when EnsureLayout created objects/ itself).
// kAuto (the default) picks kPerFile for batches of up to kPerFileMaxObjects
// objects and kSyncFs above: syncfs flushes every dirty page of the whole
// file system (other programs' too), which costs more than a few fsyncs when
// the machine is busy, and less than thousands of them (each a device cache
// flush) for a large batch (measurements: docs/pipelines.md).
// (When FlushOnce ran, both steps are syncfs: see LinkDurable.)
// A crash before 2 leaves only temp files (`cairn data gc` removes those
// older than an hour); a crash after 1 leaves complete objects under
// their final names, some perhaps not yet visible after reboot: never a
// partial object under a final name.
//
// A file whose data is already on disk needs no temp name: LinkDurable
// links it under its final name at once (after FlushFile, or when its ctime
// is older than FlushOnce's flush), and Install flushes that name with the
// others.
//
// Temp files staged but not installed (Install failed or was never called)
// are removed by the destructor.
//
// Errors: kResourceExhausted (ENOSPC/EDQUOT/EFBIG: the message names the
// file), kInternal (other I/O).
// Thread safety: TempPath, NewTemp, Exists, Stage, Staged, size, FlushOnce,
// FlushFile and LinkDurable may be called from many threads; Install from
// one thread, after the others returned.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"

namespace cairn::data {

class ObjectBatch {
 public:
  enum class FlushMode { kAuto, kSyncFs, kPerFile };
  // kAuto's limit for per-file flushes (above: one syncfs per step).
  static constexpr size_t kPerFileMaxObjects = 64;

  // `root` holds objects/ (and tmp/, kept for the blob store's layout);
  // EnsureLayout creates them, TempPath creates shard folders.
  explicit ObjectBatch(std::string root);
  ~ObjectBatch();
  ObjectBatch(const ObjectBatch&) = delete;
  ObjectBatch& operator=(const ObjectBatch&) = delete;

  // Creates <root>/objects and <root>/tmp when missing, and marks objects/
  // as the top of a hierarchy (MarkTopOfHierarchy: its shard folders spread
  // over the file system).
  Status EnsureLayout() const;
  // A fresh temp file name in the shard folder of `digest` (created when
  // missing): <root>/objects/ab/.put-<random>.
  Result<std::string> TempPath(std::string_view digest) const;
  // As TempPath, also giving the shard folder as an open directory (owned by
  // the batch, valid until it is destroyed) and the bare name in it, so the
  // caller creates or links the temp file with openat/linkat relative to it
  // instead of walking the whole path again.
  struct Temp {
    std::string path;  // <root>/objects/ab/.put-<random>
    int dir_fd = -1;   // <root>/objects/ab
    std::string name;  // .put-<random>
  };
  Result<Temp> NewTemp(std::string_view digest) const;
  // Whether object `digest` is installed: false without a syscall when this
  // batch created its shard folder (nothing else was in it then; an object
  // another process installs meanwhile is kept by Install), else an fstatat
  // in the shard folder. kInternal on an error other than ENOENT.
  Result<bool> Exists(std::string_view digest) const;
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

  // Placing a file without a temp name, for a file whose data was on disk
  // before it was hashed (Cache::Commit adopting a workspace inode):
  // FlushOnce flushes the file system (syncfs) on its first call and returns
  // when that flush started (CLOCK_REALTIME ns); later calls return the same
  // time without flushing. A file whose ctime (every write sets it; no user
  // can set it back) is earlier than that by more than the timestamp
  // granularity had its data and size on disk when the flush returned.
  Result<int64_t> FlushOnce();
  // Whether a file whose ctime is `ctime_ns` had its data on disk once a
  // flush that started at `flushed_ns` returned: the ctime is older by more
  // than the timestamp granularity (sub-second stamps lag the clock by up to
  // a coarse tick: the racy window of hashing.h, at least 10 ms; whole-second
  // stamps may be truncated: 2 s).
  static bool DurableAfterFlush(int64_t ctime_ns, int64_t flushed_ns);
  // fsync() of the open file `fd` (named `path` in errors): its data and
  // inode on disk, for LinkDurable when only a few files are new. Traced as
  // ("fsync", path).
  Status FlushFile(int fd, const std::string& path);
  // Links the open file `fd` as object `digest` (linkat of /proc/self/fd/N in
  // the shard folder, which never replaces): true when placed, false when the
  // object exists. Only for files durable as above; the name is made durable
  // by the next Install (a crash before leaves a complete object, perhaps
  // without its name). Errors: the errno of linkat (kInternal or
  // kResourceExhausted); the caller may stage a temp file instead.
  Result<bool> LinkDurable(int fd, std::string_view digest);

  // Flush, rename, flush (above); the names LinkDurable made are flushed
  // with the renamed ones. Flushes and renames run on `jobs` threads (0:
  // cores). After success the batch is empty and may be reused.
  Status Install(int jobs = 0);
  // Objects that Install placed or LinkDurable linked (not counting those
  // already present).
  uint64_t installed() const { return installed_ + linked_.load(); }

  void set_flush_mode(FlushMode mode) { flush_mode_ = mode; }
  // The mode the last Install used (kAuto resolved), for tests.
  FlushMode last_flush_mode() const { return last_flush_mode_; }
  // Test seam: called (from any thread, serialised) for each durability step
  // and new name: ("syncfs", folder), ("fdatasync", temp file), ("fsync",
  // file: FlushFile), ("rename", object), ("link", object: LinkDurable),
  // ("fsync-dir", folder).
  void set_trace(std::function<void(std::string_view step, const std::string& path)> trace) {
    trace_ = std::move(trace);
  }

 private:
  void Trace(std::string_view step, const std::string& path);
  Status FlushData(const std::vector<std::pair<std::string, std::string>>& items, FlushMode mode,
                   int jobs);
  Status FlushNames(FlushMode mode, int jobs);

  std::string root_;
  std::string objects_dir_;
  std::string tmp_dir_;
  FlushMode flush_mode_ = FlushMode::kAuto;
  FlushMode last_flush_mode_ = FlushMode::kAuto;
  std::function<void(std::string_view, const std::string&)> trace_;
  std::mutex trace_mu_;
  // The open shard folder for `digest` (created when missing); -1 and an
  // error otherwise. `index`: ShardIndex(digest), >= 0.
  Result<int> ShardFd(std::string_view digest, int index) const;

  // Shard folders opened by this batch (index: the digest's first byte), so
  // each is created and looked up once per batch; -1 until then.
  mutable std::array<std::atomic<int>, 256> shard_fds_;
  // Shard folders this batch created (empty then).
  mutable std::array<std::atomic<bool>, 256> shard_new_{};
  // Shard folders that received a name since the last Install flushed them.
  std::array<std::atomic<bool>, 256> shard_named_{};
  std::atomic<uint64_t> linked_{0};         // objects LinkDurable placed
  std::atomic<bool> names_pending_{false};  // LinkDurable names not flushed yet
  std::once_flag flush_once_;
  Status flush_once_status_;
  int64_t flush_once_ns_ = 0;
  // A shard folder this batch created: its name in objects/ must be flushed.
  mutable std::atomic<bool> created_shard_{false};
  // EnsureLayout created objects/ (or more): names above it must be flushed.
  mutable std::atomic<bool> created_layout_{false};
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> staged_;  // digest -> temp path
  uint64_t installed_ = 0;
};

// Sets the "top of directory hierarchy" attribute (FS_TOPDIR_FL, `chattr
// +T`) on the folder `dir` where the file system has it (ext2/3/4): new
// subfolders of `dir` are then spread over the block groups (the Orlov
// allocator), and the files in each are allocated in its folder's group. On
// a journal-less ext4, allocation skips every inode freed in the last
// minutes, one cache lookup each; a file system where many files were just
// deleted made every new object in one group pay for scanning past them
// (10,000 new files: 2.8-4.8 s in one group, 0.3-0.7 s spread). Returns
// whether the attribute is set; failure (another file system, not the
// owner) is harmless and ignored by callers.
bool MarkTopOfHierarchy(const std::string& dir);

// syncfs() of the file system holding `path` (a folder). kResourceExhausted /
// kInternal on failure, naming `path`.
Status SyncFileSystemOf(const std::string& path);

}  // namespace cairn::data
