#include "data/object_batch.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <vector>

#include "blob/local/posix_file.h"
#include "core/parallel.h"

namespace cairn::data {
namespace {

using blob::local::ErrnoError;

// Moves `from` to `to` unless `to` exists. Returns 0, EEXIST or errno.
int RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  int err = errno;
  if (err != EINVAL && err != ENOSYS) return err;
  // A file system without RENAME_NOREPLACE: link() never replaces either.
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  ::unlink(from.c_str());
  return 0;
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
    : root_(std::move(root)), objects_dir_(root_ + "/objects"), tmp_dir_(root_ + "/tmp") {}

ObjectBatch::~ObjectBatch() {
  for (const auto& [digest, temp] : staged_) ::unlink(temp.c_str());
}

Status ObjectBatch::EnsureLayout() const {
  CAIRN_RETURN_IF_ERROR(blob::local::MakeDirs(objects_dir_));
  return blob::local::MakeDirs(tmp_dir_);
}

Result<std::string> ObjectBatch::TempPath(std::string_view digest) const {
  std::string shard = objects_dir_ + "/" + std::string(digest.substr(0, 2));
  if (::mkdir(shard.c_str(), 0755) != 0 && errno != EEXIST) {
    if (errno != ENOENT) return std::unexpected(ErrnoError(errno, "cannot create folder", shard));
    CAIRN_RETURN_IF_ERROR(blob::local::MakeDirs(shard));
  }
  return shard + "/" + blob::local::TempName(kTempPrefix);
}

std::string ObjectBatch::ObjectPath(std::string_view digest) const {
  std::string p = objects_dir_;
  p += '/';
  p += digest.substr(0, 2);
  p += '/';
  p += digest.substr(2);
  return p;
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

Status ObjectBatch::Install(int jobs) {
  std::vector<std::pair<std::string, std::string>> items;  // digest, temp
  {
    std::lock_guard lock(mu_);
    items.assign(staged_.begin(), staged_.end());
  }
  if (items.empty()) return {};
  // 1. Every staged file's data on disk before any final name exists.
  CAIRN_RETURN_IF_ERROR(SyncFileSystemOf(tmp_dir_));
  // 2. Final names; an existing object wins.
  std::atomic<uint64_t> placed{0};
  Status renamed = ParallelFor(items.size(), jobs, [&](size_t i) -> Status {
    const auto& [digest, temp] = items[i];
    std::string object = ObjectPath(digest);
    int err = RenameNoReplace(temp, object);
    if (err == EEXIST) {
      ::unlink(temp.c_str());
      return {};
    }
    if (err != 0) return std::unexpected(ErrnoError(err, "cannot move object into place", object));
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
  return SyncFileSystemOf(objects_dir_);
}

}  // namespace cairn::data
