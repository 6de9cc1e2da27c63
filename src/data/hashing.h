#pragma once
// File hashing for data versioning (docs/pipelines.md, "Hashing and status"):
// SHA-256 of a file's bytes, a stat cache so an unchanged file is never
// hashed twice, and parallel hashing of file lists and folder trees.
//
// A file's digest is the lowercase hex SHA-256 of its bytes (64 characters,
// no "sha256:" prefix; pointer files add the prefix).
//
// Stat cache: a SQLite database (normally Workspace::StatCacheFile(),
// .cairn/tmp/hashes.db, WAL) mapping a path to (size, mtime_ns, inode,
// digest). A lookup hits only when all three stat fields match. Because file
// systems stamp mtimes with a coarse clock, a file modified within the racy
// window before it was hashed is hashed but not cached (a second write in the
// same clock tick would keep the same mtime): the cost is one extra hash of
// very fresh files, never a stale digest. The window is the timestamp
// granularity, bounded by `HashOptions::racy_window_ns` (RacyWindowNs): an
// mtime with a sub-second part comes from a file system with nanosecond
// timestamps taken from the kernel's coarse clock, so a later write differs
// once one tick (clock_getres(CLOCK_REALTIME_COARSE), 1-10 ms) has passed —
// the window is two ticks, at least 10 ms. A whole-second mtime may come from
// a file system with 1 s (or FAT's 2 s) granularity: the window is then
// max(racy_window_ns, 2 s). Like git's racy-clean check, a file written just
// before `cairn data add` is cached as soon as the add started a few ticks
// after the write, and a same-size rewrite within one tick is still seen.
//
// Change during hashing: the file's stat before it is read (the lstat that
// looked it up in the stat cache, or an fstat on a retry) is compared with an
// fstat after; when size, mtime or inode differ, it is hashed again (up to 3
// attempts, then kFailedPrecondition naming the file). A file is read up to
// the size it had before (no extra read for end of file): one that grew
// meanwhile has another size after, and is hashed again.
//
// Errors: kNotFound (a file that does not exist), kInvalidArgument (a path
// that is a symlink, a folder where a file was expected, or another special
// file: named), kFailedPrecondition (a file that keeps changing), kInternal
// (I/O and SQLite errors, naming the path). A stat cache that fails to open
// because the database is corrupt is deleted and recreated (it is a cache).
//
// Thread safety: Sha256OfFile and StatFile are thread-safe. A StatCache is
// safe to share between threads (an internal mutex serialises its SQLite
// connection). HashFiles/HashTree use `jobs` threads internally and may be
// called from several threads at once with the same cache.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/hash.h"
#include "data/progress_counter.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cairn::data {

// What the stat cache keys on, plus the exec bit the manifest records.
struct FileStat {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  bool exec = false;     // owner execute bit (S_IXUSR)
  uint64_t dev = 0;      // the file system (st_dev); not part of the cache key
  int64_t ctime_ns = 0;  // last change of data or metadata; not part of the cache key

  bool SameContentKey(const FileStat& o) const {
    return size == o.size && mtime_ns == o.mtime_ns && inode == o.inode;
  }
  bool operator==(const FileStat&) const = default;
};

struct HashOptions;
// How long after its mtime a file's stat may still be shared with a later
// write (the racy window, header comment): a stat observed at least this long
// after the mtime is trusted. 0 when the guard is disabled.
int64_t RacyWindowNs(const FileStat& stat, const HashOptions& options);

// lstat() of a regular file. kNotFound when absent; kInvalidArgument when it
// is a symlink, folder or special file.
Result<FileStat> StatFile(const std::string& path);

// Lowercase hex SHA-256 of the file at `path`, streamed through OpenSSL EVP
// with a 1 MiB buffer. The file is opened with O_NOFOLLOW (a symlink is
// kInvalidArgument). Does not check for concurrent modification; HashFiles does.
Result<std::string> Sha256OfFile(const std::string& path);

class StatCache {
 public:
  struct Entry {
    std::string path;
    FileStat stat;
    std::string digest;
  };

  // Opens (creating when needed) the cache database at `db_path`. Its folder
  // must exist.
  static Result<std::unique_ptr<StatCache>> Open(const std::string& db_path);
  ~StatCache();
  StatCache(const StatCache&) = delete;
  StatCache& operator=(const StatCache&) = delete;

  // The digest stored for `path` when size, mtime_ns and inode all match.
  Result<std::optional<std::string>> Lookup(const std::string& path, const FileStat& stat);
  // Looks up many paths in one read transaction; result[i] answers paths[i].
  Result<std::vector<std::optional<std::string>>> LookupMany(const std::vector<std::string>& paths,
                                                             const std::vector<FileStat>& stats);
  // Inserts or replaces `entries` in one transaction (all or none).
  Status PutBatch(const std::vector<Entry>& entries);
  // Number of rows (for tests and diagnostics).
  Result<int64_t> Count();

 private:
  explicit StatCache(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Result<std::optional<std::string>> LookupLocked(const std::string& path, const FileStat& stat);

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* select_ = nullptr;
  sqlite3_stmt* upsert_ = nullptr;
};

struct HashOptions {
  // Hashing threads; 0 means std::thread::hardware_concurrency().
  int jobs = 0;
  // Asked before hashing and updated after (one transaction); may be null.
  StatCache* cache = nullptr;
  // Bounds the racy window (see the header comment and RacyWindowNs). 0
  // disables the guard (tests).
  int64_t racy_window_ns = 1'000'000'000;
  // Called on the hashing thread for every file whose bytes were read (not
  // for cache hits), once its digest is known to be stable, with the file
  // still open read-only (`fd`; its offset is unspecified). Lets a caller
  // store the very inode it hashed without reading it again (Cache::Commit).
  // An error stops the work and is returned by HashFiles. May be empty.
  std::function<Status(const std::string& path, int fd, const std::string& digest,
                       const FileStat& stat)>
      on_hashed;
  // Called once, before the first file is read, with the number of files
  // that will be (those the stat cache did not answer); not called when
  // there are none. Lets a caller choose how to store them (Cache::Commit:
  // a flush per file for a few, one flush of the file system for many). May
  // be empty.
  std::function<void(size_t files_to_hash)> before_hashing;
  // Files looked at (and their bytes) are counted here when set: totals once
  // the files were stat'ed, progress as each is answered from the cache or
  // hashed.
  ProgressCounter* progress = nullptr;
  // Test seam (fault injection): called on the hashing thread after a file's
  // bytes were read and before it is stat'ed again; attempt counts from 1.
  std::function<void(const std::string& path, int attempt)> after_read;
};

struct HashStats {
  uint64_t files = 0;       // files looked at
  uint64_t hashed = 0;      // files whose bytes were read (each counted once)
  uint64_t from_cache = 0;  // stat cache hits
  uint64_t rehashed = 0;    // extra reads because a file changed while hashed
  uint64_t not_cached = 0;  // hashed but too fresh to cache (racy window)
  uint64_t bytes_hashed = 0;
};

struct HashedFile {
  std::string path;    // as given to HashFiles; relative to the folder for HashTree
  std::string digest;  // lowercase hex SHA-256
  FileStat stat;       // as of the (last) hash, or of the cache hit

  bool operator==(const HashedFile&) const = default;
};

// Hashes `paths` (absolute or relative to the current directory; the stat
// cache is keyed by the string as given, so pass absolute paths for a
// stable key). Result i answers paths[i]. The first error stops the work and
// is returned. `stats` (optional) receives the counts.
Result<std::vector<HashedFile>> HashFiles(const std::vector<std::string>& paths,
                                          const HashOptions& options, HashStats* stats = nullptr);

// Every regular file under the folder `dir`, recursively: paths relative to
// `dir`, '/'-separated, sorted by byte order. Empty folders contribute
// nothing. A symlink or special file anywhere below is kInvalidArgument
// naming it relative to `dir` ("symlinks inside a tracked folder are not
// supported"); so is a name that is not valid UTF-8 (manifests are JSON).
Result<std::vector<std::string>> ListTree(const std::filesystem::path& dir);

// ListTree then HashFiles (cache keyed by the absolute path of each file);
// the result's paths are relative to `dir`, in ListTree's order.
Result<std::vector<HashedFile>> HashTree(const std::filesystem::path& dir,
                                         const HashOptions& options, HashStats* stats = nullptr);

// Writes a stream of bytes to an open file and computes the SHA-256 of
// exactly the bytes it wrote, so a receiver verifies what it stored without
// reading the file again (remote.h Get, for `cairn data pull`/`fetch`: the
// body of a Cairn server's answer, and small objects of a folder remote
// through CopyFileAndHash below).
//
// Bytes are gathered in buffers of kBufferBytes; each full buffer is written
// with one write() (a partial last one at Finish). Small streams are hashed
// inline, on the caller's thread, in one buffer kept per thread (no thread
// start, no allocation). Once `hash_on_thread_from` bytes have been written
// (at once when CopyFrom is told the size and it is that large), a hashing
// thread takes over: the caller fills buffer k+1 and writes buffer k while
// the thread hashes buffer k, over a ring of kRingBuffers buffers, so a big
// object costs max(copy, hash) instead of their sum. A buffer is handed back
// for refilling only once it is both written and hashed: the digest is of
// the very bytes given to write(). The writeback of every kWritebackBytes
// written is started early (sync_file_range, advisory), so the flush before
// an object gets its final name waits less.
//
// Errors: kResourceExhausted (ENOSPC, EDQUOT, EFBIG), kInternal (other I/O
// errors; the message names the file). After an error the writer accepts
// nothing more; the caller deletes the file.
//
// Precondition: `fd` is a new file opened for writing at offset 0 (the
// writeback ranges count from there). Does not own it.
//
// Thread safety: one writer is used by one thread (it may own a hashing
// thread internally, joined by Finish or the destructor).
class HashingWriter {
 public:
  // 128 KiB: copying 2 GiB by read()+write() of 128 KiB took the kernel
  // 0.60 s here, 1.0-1.5 s with 256 KiB and 1.4-2.9 s with 1 MiB (the copy
  // in and out of a buffer that no longer stays in the core's cache);
  // copy_file_range 0.65 s.
  static constexpr size_t kBufferBytes = 128 << 10;
  static constexpr size_t kRingBuffers = 16;
  static constexpr uint64_t kHashOnThreadFromBytes = 4ull << 20;
  static constexpr uint64_t kWritebackBytes = 64ull << 20;

  struct Options {
    // Streams up to this size are hashed on the caller's thread. 0: every
    // stream is hashed on a thread (tests); UINT64_MAX: never.
    uint64_t hash_on_thread_from = kHashOnThreadFromBytes;
  };

  // `name` names the file in error messages.
  HashingWriter(int fd, std::string name);
  HashingWriter(int fd, std::string name, Options options);
  ~HashingWriter();
  HashingWriter(const HashingWriter&) = delete;
  HashingWriter& operator=(const HashingWriter&) = delete;

  // Appends `data` (buffered; written once a buffer is full).
  Status Append(std::string_view data);
  // Appends the bytes of `src_fd` from its current offset until end of file
  // or `max_bytes` (the size the caller expects: a larger file is cut there,
  // and its digest then tells). Reads straight into the write buffers.
  Status CopyFrom(int src_fd, std::string_view src_name, uint64_t max_bytes);
  // Writes what is buffered, waits for the hash and returns its lowercase
  // hex digest. Call once; the writer accepts nothing after.
  Result<std::string> Finish();
  // Page-aligned memory (the writer's buffers): the kernel's copy from a
  // buffer into the page cache (write) ran at half speed from malloc's
  // 16-byte-aligned memory on this project's machines (AMD EPYC), and
  // dominated a 2 GiB pull.
  struct FreeAligned {
    void operator()(char* p) const;
  };
  using AlignedBuffer = std::unique_ptr<char[], FreeAligned>;
  static AlignedBuffer AllocateAligned(size_t bytes);

  // Bytes written to the file so far.
  uint64_t bytes_written() const { return written_; }
  // Whether a hashing thread was started (tests).
  bool hashed_on_thread() const { return ring_ != nullptr; }

 private:
  struct Ring;
  // The buffer to fill next (waits for a free one when hashing on a thread).
  char* NextBuffer();
  // Hashes and writes the first `n` bytes of the buffer NextBuffer gave.
  Status Commit(size_t n);
  Status StartHashThread();
  void StopHashThread();

  int fd_;
  std::string name_;
  Options options_;
  Sha256 hasher_;
  std::unique_ptr<Ring> ring_;  // set once a hashing thread runs
  AlignedBuffer scratch_;       // the one buffer of inline hashing
  char* current_ = nullptr;     // the buffer being filled, or null
  size_t filled_ = 0;           // bytes in *current_
  uint64_t written_ = 0;
  uint64_t writeback_from_ = 0;  // start of the range whose writeback is not started yet
  bool failed_ = false;
  bool finished_ = false;
  bool no_thread_ = false;  // a thread could not be started: hash inline
};

// Copies `size` bytes of `src_fd` (from offset 0) into the new, empty file
// `dst_fd` (open for reading and writing) and returns the lowercase hex
// SHA-256 of the bytes the copy left in `dst_fd`: `cairn data pull`/`fetch`
// from a folder remote verify what they stored without a second pass over
// it. Files under `hash_on_thread_from` bytes go through one HashingWriter
// on this thread (read, hash, write). Larger files are copied in the kernel
// (copy_file_range; pread/pwrite where the file systems do not support it)
// by a second thread in chunks of kCopyChunkBytes, starting the writeback of
// every 64 MiB, while this thread reads each finished chunk back from the
// destination (page cache, still hot) and hashes it: the copy costs
// max(copy, hash) instead of their sum, and less CPU than moving the bytes
// through a user buffer (write() from one took the kernel 1.3-1.4 s of CPU
// for 2 GiB here against 0.9 s for copy_file_range plus the read back).
// A source shorter than `size` ends the copy there (its digest then tells);
// bytes past `size` are not copied.
//
// Errors as HashingWriter's, naming the file; on error `dst_fd` holds
// unspecified bytes (the caller deletes it).
inline constexpr uint64_t kCopyChunkBytes = 4ull << 20;
Result<std::string> CopyFileAndHash(
    int src_fd, std::string_view src_name, int dst_fd, std::string_view dst_name, uint64_t size,
    uint64_t hash_on_thread_from = HashingWriter::kHashOnThreadFromBytes);

}  // namespace cairn::data
