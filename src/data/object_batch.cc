#include "data/object_batch.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <random>
#include <vector>

#include "blob/blob_store.h"
#include "blob/local/posix_file.h"
#include "core/parallel.h"
#include "data/hashing.h"

namespace cairn::data {
namespace {

using blob::local::ErrnoError;

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// Moves `from` to `to` unless `to` exists. Returns 0, EEXIST or errno. When
// `dir_fd` is the folder holding both, the rename is relative to it.
int RenameNoReplace(const std::string& from, const std::string& to, int dir_fd) {
  if (dir_fd >= 0) {
    const std::string from_name(BaseName(from)), to_name(BaseName(to));
    if (::renameat2(dir_fd, from_name.c_str(), dir_fd, to_name.c_str(), RENAME_NOREPLACE) == 0) {
      return 0;
    }
  } else if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return 0;
  }
  int err = errno;
  if (err != EINVAL && err != ENOSYS) return err;
  // A file system without RENAME_NOREPLACE: link() never replaces either.
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  ::unlink(from.c_str());
  return 0;
}

// 0-255 for a digest starting with two lowercase hex digits, else -1.
int ShardIndex(std::string_view digest) {
  auto nibble = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (digest.size() < 2) return -1;
  int hi = nibble(digest[0]), lo = nibble(digest[1]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

// "<kTempPrefix><32 hex digits>": 128 bits from a per-thread generator seeded
// once from the OS (TempName of blob/local asks OpenSSL each time, which
// costs a getpid per name). Uniqueness is checked anyway: temp files are
// created with O_EXCL or link(), which never replace.
std::string TempName() {
  thread_local std::mt19937_64 gen = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name(ObjectBatch::kTempPrefix);
  for (int half = 0; half < 2; ++half) {
    uint64_t bits = gen();
    for (int i = 0; i < 16; ++i, bits >>= 4) name += kHex[bits & 0xF];
  }
  return name;
}

// Gives the open file `fd` the name `name` in `dir_fd` (linkat of
// /proc/self/fd/N: linkat(AT_EMPTY_PATH) would need CAP_DAC_READ_SEARCH, and
// measured no faster). Returns 0 or -1 with errno set.
int LinkOpenFile(int fd, int dir_fd, const std::string& name) {
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  return ::linkat(AT_FDCWD, proc.c_str(), dir_fd, name.c_str(), AT_SYMLINK_FOLLOW);
}

}  // namespace

Status SyncFileSystemOf(const std::string& path) {
  blob::local::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return std::unexpected(ErrnoError(errno, "cannot open folder", path));
  if (::syncfs(fd.get()) != 0) {
    return std::unexpected(ErrnoError(errno, "cannot flush the file system of", path));
  }
  return {};
}

ObjectBatch::ObjectBatch(std::string root)
    : root_(std::move(root)), objects_dir_(root_ + "/objects"), tmp_dir_(root_ + "/tmp") {
  for (auto& fd : shard_fds_) fd.store(-1);
}

ObjectBatch::~ObjectBatch() {
  for (const auto& [digest, temp] : staged_) ::unlink(temp.c_str());
  for (auto& fd : shard_fds_) {
    if (int f = fd.load(); f >= 0) ::close(f);
  }
}

Status ObjectBatch::EnsureLayout() const {
  struct stat st;
  if (::stat(objects_dir_.c_str(), &st) != 0) created_layout_.store(true);
  CAIRN_RETURN_IF_ERROR(blob::local::MakeDirs(objects_dir_));
  CAIRN_RETURN_IF_ERROR(blob::local::MakeDirs(tmp_dir_));
  MarkTopOfHierarchy(objects_dir_);
  return {};
}

bool MarkTopOfHierarchy(const std::string& dir) {
  blob::local::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return false;
  int flags = 0;
  if (::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) return false;
  if ((flags & FS_TOPDIR_FL) != 0) return true;
  flags |= FS_TOPDIR_FL;
  return ::ioctl(fd.get(), FS_IOC_SETFLAGS, &flags) == 0;
}

Result<int> ObjectBatch::ShardFd(std::string_view digest, int index) const {
  std::atomic<int>& slot = shard_fds_[static_cast<size_t>(index)];
  int fd = slot.load(std::memory_order_acquire);
  if (fd >= 0) return fd;
  std::string shard = objects_dir_ + "/" + std::string(digest.substr(0, 2));
  bool created = false;
  if (::mkdir(shard.c_str(), 0755) == 0) {
    created = true;
  } else if (errno != EEXIST) {
    if (errno != ENOENT) return std::unexpected(ErrnoError(errno, "cannot create folder", shard));
    CAIRN_RETURN_IF_ERROR(blob::local::MakeDirs(shard));
    created = true;
    created_layout_.store(true);
  }
  if (created) {
    created_shard_.store(true);
    shard_new_[static_cast<size_t>(index)].store(true, std::memory_order_release);
  }
  fd = ::open(shard.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(ErrnoError(errno, "cannot open folder", shard));
  int expected = -1;
  if (!slot.compare_exchange_strong(expected, fd, std::memory_order_acq_rel)) {
    ::close(fd);  // another thread opened it first
    return expected;
  }
  return fd;
}

Result<ObjectBatch::Temp> ObjectBatch::NewTemp(std::string_view digest) const {
  const int index = ShardIndex(digest);
  if (index < 0) return InvalidArgument("'" + std::string(digest) + "' is not a digest");
  Temp temp;
  CAIRN_ASSIGN_OR_RETURN(temp.dir_fd, ShardFd(digest, index));
  temp.name = TempName();
  temp.path = objects_dir_ + "/" + std::string(digest.substr(0, 2)) + "/" + temp.name;
  return temp;
}

Result<std::string> ObjectBatch::TempPath(std::string_view digest) const {
  CAIRN_ASSIGN_OR_RETURN(Temp temp, NewTemp(digest));
  return std::move(temp.path);
}

Result<bool> ObjectBatch::Exists(std::string_view digest) const {
  const int index = ShardIndex(digest);
  if (index < 0 || digest.size() <= 2) {
    return InvalidArgument("'" + std::string(digest) + "' is not a digest");
  }
  int fd = shard_fds_[static_cast<size_t>(index)].load(std::memory_order_acquire);
  if (fd >= 0 && shard_new_[static_cast<size_t>(index)].load(std::memory_order_acquire)) {
    return false;
  }
  struct stat st;
  const std::string rest(digest.substr(2));
  int rc = fd >= 0 ? ::fstatat(fd, rest.c_str(), &st, 0) : ::stat(ObjectPath(digest).c_str(), &st);
  if (rc == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  return std::unexpected(ErrnoError(errno, "cannot stat", ObjectPath(digest)));
}

std::string ObjectBatch::ObjectPath(std::string_view digest) const {
  return blob::ObjectPathUnder(objects_dir_, digest);
}

bool ObjectBatch::Stage(const std::string& temp, const std::string& digest) {
  std::lock_guard lock(mu_);
  return staged_.emplace(digest, temp).second;
}

bool ObjectBatch::Staged(const std::string& digest) const {
  std::lock_guard lock(mu_);
  return staged_.contains(digest);
}

size_t ObjectBatch::size() const {
  std::lock_guard lock(mu_);
  return staged_.size();
}

void ObjectBatch::Trace(std::string_view step, const std::string& path) {
  if (!trace_) return;
  std::lock_guard lock(trace_mu_);
  trace_(step, path);
}

Status ObjectBatch::FlushData(const std::vector<std::pair<std::string, std::string>>& items,
                              FlushMode mode, int jobs) {
  if (mode == FlushMode::kSyncFs) {
    Trace("syncfs", tmp_dir_);
    return SyncFileSystemOf(tmp_dir_);
  }
  return ParallelFor(items.size(), jobs, [&](size_t i) -> Status {
    const std::string& temp = items[i].second;
    blob::local::UniqueFd fd(::open(temp.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return std::unexpected(ErrnoError(errno, "cannot open", temp));
    if (::fdatasync(fd.get()) != 0) return std::unexpected(ErrnoError(errno, "cannot flush", temp));
    Trace("fdatasync", temp);
    return {};
  });
}

Status ObjectBatch::FlushNames(FlushMode mode, int jobs) {
  std::vector<size_t> shards;
  for (size_t i = 0; i < shard_named_.size(); ++i) {
    if (shard_named_[i].exchange(false)) shards.push_back(i);
  }
  if (mode == FlushMode::kSyncFs || created_layout_.load()) {
    Trace("syncfs", objects_dir_);
    return SyncFileSystemOf(objects_dir_);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  CAIRN_RETURN_IF_ERROR(ParallelFor(shards.size(), jobs, [&](size_t k) -> Status {
    std::string dir = objects_dir_ + "/" + kHex[shards[k] / 16] + kHex[shards[k] % 16];
    CAIRN_RETURN_IF_ERROR(blob::local::FsyncDir(dir));
    Trace("fsync-dir", dir);
    return {};
  }));
  // New shard folders are names in objects/: flushed after their contents.
  if (created_shard_.load()) {
    CAIRN_RETURN_IF_ERROR(blob::local::FsyncDir(objects_dir_));
    Trace("fsync-dir", objects_dir_);
  }
  return {};
}

Result<int64_t> ObjectBatch::FlushOnce() {
  std::call_once(flush_once_, [&] {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    flush_once_ns_ = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    Trace("syncfs", objects_dir_);
    flush_once_status_ = SyncFileSystemOf(objects_dir_);
  });
  CAIRN_RETURN_IF_ERROR(flush_once_status_);
  return flush_once_ns_;
}

Status ObjectBatch::FlushFile(int fd, const std::string& path) {
  if (::fsync(fd) != 0) return std::unexpected(ErrnoError(errno, "cannot flush", path));
  Trace("fsync", path);
  return {};
}

bool ObjectBatch::DurableAfterFlush(int64_t ctime_ns, int64_t flushed_ns) {
  FileStat probe;
  probe.mtime_ns = ctime_ns;
  return ctime_ns > 0 && ctime_ns + RacyWindowNs(probe, HashOptions{}) < flushed_ns;
}

Result<bool> ObjectBatch::LinkDurable(int fd, std::string_view digest) {
  const int index = ShardIndex(digest);
  if (index < 0 || digest.size() <= 2) {
    return InvalidArgument("'" + std::string(digest) + "' is not a digest");
  }
  CAIRN_ASSIGN_OR_RETURN(int dir_fd, ShardFd(digest, index));
  const std::string name(digest.substr(2));
  if (LinkOpenFile(fd, dir_fd, name) != 0) {
    if (errno == EEXIST) return false;
    return std::unexpected(ErrnoError(errno, "cannot link object", ObjectPath(digest)));
  }
  shard_named_[static_cast<size_t>(index)].store(true, std::memory_order_release);
  names_pending_.store(true, std::memory_order_release);
  linked_.fetch_add(1, std::memory_order_relaxed);
  Trace("link", ObjectPath(digest));
  return true;
}

Status ObjectBatch::Install(int jobs) {
  std::vector<std::pair<std::string, std::string>> items;  // digest, temp
  {
    std::lock_guard lock(mu_);
    items.assign(staged_.begin(), staged_.end());
  }
  const bool names_pending = names_pending_.exchange(false);
  if (items.empty() && !names_pending) return {};
  FlushMode mode = flush_mode_;
  if (mode == FlushMode::kAuto) {
    mode = items.size() + (names_pending ? linked_.load() : 0) <= kPerFileMaxObjects
               ? FlushMode::kPerFile
               : FlushMode::kSyncFs;
  }
  // Objects linked after the file-system flush got their read-only mode
  // and link count after it: the names' flush covers those inodes too.
  if (flush_once_ns_ != 0) mode = FlushMode::kSyncFs;
  last_flush_mode_ = mode;
  // 1. Every staged file's data on disk before any final name exists.
  if (!items.empty()) CAIRN_RETURN_IF_ERROR(FlushData(items, mode, jobs));
  // 2. Final names; an existing object wins. From here on the shard folders
  // this batch created hold objects: Exists must look.
  for (auto& fresh : shard_new_) fresh.store(false, std::memory_order_release);
  std::atomic<uint64_t> placed{0};
  Status renamed = ParallelFor(items.size(), jobs, [&](size_t i) -> Status {
    const auto& [digest, temp] = items[i];
    std::string object = ObjectPath(digest);
    // Relative to the open shard folder when the temp file is in it (as
    // TempPath makes it), else by full paths.
    int dir_fd = -1;
    if (int index = ShardIndex(digest); index >= 0 && ParentOf(temp) == ParentOf(object)) {
      dir_fd = shard_fds_[static_cast<size_t>(index)].load(std::memory_order_acquire);
    }
    int err = RenameNoReplace(temp, object, dir_fd);
    if (err == EEXIST) {
      ::unlink(temp.c_str());
      return {};
    }
    if (err != 0) return std::unexpected(ErrnoError(err, "cannot move object into place", object));
    Trace("rename", object);
    if (int index = ShardIndex(digest); index >= 0) {
      shard_named_[static_cast<size_t>(index)].store(true, std::memory_order_release);
    }
    placed.fetch_add(1, std::memory_order_relaxed);
    return {};
  });
  {
    // Whatever was renamed is no longer a temp file; the rest is removed by
    // the destructor (a failed rename leaves its temp in place).
    std::lock_guard lock(mu_);
    if (renamed) staged_.clear();
    for (auto it = staged_.begin(); it != staged_.end();) {
      struct stat st;
      if (::lstat(it->second.c_str(), &st) != 0 && errno == ENOENT) {
        it = staged_.erase(it);
      } else {
        ++it;
      }
    }
  }
  CAIRN_RETURN_IF_ERROR(renamed);
  installed_ += placed.load();
  // 3. The names durable before anything refers to them.
  CAIRN_RETURN_IF_ERROR(FlushNames(mode, jobs));
  created_shard_.store(false);
  created_layout_.store(false);
  return {};
}

}  // namespace cairn::data
