#include "blob/local/local_blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <vector>

#include "blob/local/posix_file.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/uri.h"

namespace cairn::blob {
namespace {

using local::ErrnoError;
using local::UniqueFd;

constexpr size_t kCopyBufferBytes = 1 << 20;

// Removes a file on scope exit unless released.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

class LocalBlobReader final : public BlobReader {
 public:
  LocalBlobReader(UniqueFd fd, uint64_t size, std::string path)
      : fd_(std::move(fd)), size_(size), path_(std::move(path)) {}
  Result<size_t> Read(char* buffer, size_t size) override {
    int64_t n = local::ReadSome(fd_.get(), buffer, size);
    if (n < 0) return std::unexpected(ErrnoError(static_cast<int>(-n), "cannot read blob", path_));
    return static_cast<size_t>(n);
  }
  uint64_t size() const override { return size_; }

 private:
  UniqueFd fd_;
  uint64_t size_;
  std::string path_;
};

// Removes regular files in `dir` last modified before `cutoff`. Best effort:
// failures are logged, since a stray temp file is harmless.
void RemoveStaleTemps(const std::string& dir, std::chrono::seconds age) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  const time_t cutoff = ::time(nullptr) - static_cast<time_t>(age.count());
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode) || st.st_mtime >= cutoff) continue;
    if (::unlinkat(::dirfd(d), name.c_str(), 0) == 0) {
      CAIRN_LOG_INFO("blob store: removed stale temp file {}/{}", dir, name);
    }
  }
  ::closedir(d);
}

}  // namespace

Result<std::unique_ptr<LocalBlobStore>> LocalBlobStore::OpenAt(const std::string& root,
                                                               LocalBlobStoreOptions options) {
  CAIRN_ASSIGN_OR_RETURN(std::string abs_root, LocalPathFromUri(root));
  std::string objects = abs_root + "/objects";
  std::string tmp = abs_root + "/tmp";
  CAIRN_RETURN_IF_ERROR(local::MakeDirs(objects));
  CAIRN_RETURN_IF_ERROR(local::MakeDirs(tmp));
  RemoveStaleTemps(tmp, options.stale_temp_age);
  struct stat st;
  if (::stat(objects.c_str(), &st) != 0) {
    return std::unexpected(ErrnoError(errno, "cannot stat blob directory", objects));
  }
  return std::unique_ptr<LocalBlobStore>(
      new LocalBlobStore(abs_root, objects, tmp, static_cast<uint64_t>(st.st_dev)));
}

std::string LocalBlobStore::ObjectPath(std::string_view digest) const {
  return blob::ObjectPathUnder(objects_dir_, digest);
}

Status LocalBlobStore::EnsureShard(std::string_view digest) const {
  std::string shard = objects_dir_ + "/" + std::string(digest.substr(0, 2));
  if (::mkdir(shard.c_str(), 0755) != 0 && errno != EEXIST) {
    return std::unexpected(ErrnoError(errno, "cannot create blob shard directory", shard));
  }
  return {};
}

Result<LocalBlobStore::TempCopy> LocalBlobStore::CopyToTemp(int src_fd,
                                                            std::string_view source_name) const {
  std::string temp_path = tmp_dir_ + "/" + local::TempName("put-");
  UniqueFd out(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (!out.valid()) {
    return std::unexpected(ErrnoError(errno, "cannot create temp file", temp_path));
  }
  TempFileGuard guard(temp_path);
  Sha256 hasher;
  std::vector<char> buffer(kCopyBufferBytes);
  for (;;) {
    int64_t n = local::ReadSome(src_fd, buffer.data(), buffer.size());
    if (n < 0) {
      int err = static_cast<int>(-n);
      return std::unexpected(ErrnoError(err, "cannot read source file", source_name));
    }
    if (n == 0) break;
    hasher.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    if (int err = local::WriteAll(out.get(), buffer.data(), static_cast<size_t>(n)); err != 0) {
      return std::unexpected(ErrnoError(err, "cannot write temp file", temp_path));
    }
  }
  if (::fsync(out.get()) != 0) {
    return std::unexpected(ErrnoError(errno, "cannot fsync temp file", temp_path));
  }
  if (::close(out.Release()) != 0) {
    return std::unexpected(ErrnoError(errno, "cannot close temp file", temp_path));
  }
  guard.Release();
  return TempCopy{std::move(temp_path), hasher.HexDigest()};
}

Status LocalBlobStore::InstallTemp(const std::string& temp_path, std::string_view digest) const {
  TempFileGuard guard(temp_path);  // the temp name goes away in every case
  CAIRN_RETURN_IF_ERROR(EnsureShard(digest));
  std::string object = ObjectPath(digest);
  if (::link(temp_path.c_str(), object.c_str()) != 0) {
    // EEXIST: someone stored the same content first; theirs is as good.
    if (errno == EEXIST) return {};
    return std::unexpected(ErrnoError(errno, "cannot link blob into place", object));
  }
  return local::FsyncDir(objects_dir_ + "/" + std::string(digest.substr(0, 2)));
}

namespace {

Result<UniqueFd> OpenSource(const std::string& path, struct stat* st) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOENT) return NotFound("source file '" + path + "' does not exist");
    return std::unexpected(ErrnoError(err, "cannot open source file", path));
  }
  if (::fstat(fd.get(), st) != 0) {
    return std::unexpected(ErrnoError(errno, "cannot stat source file", path));
  }
  if (S_ISDIR(st->st_mode)) {
    return InvalidArgument("source '" + path + "' is a directory, not a file");
  }
  return fd;
}

}  // namespace

Result<std::string> LocalBlobStore::PutFile(const std::string& path) {
  struct stat st;
  CAIRN_ASSIGN_OR_RETURN(UniqueFd src, OpenSource(path, &st));
  CAIRN_ASSIGN_OR_RETURN(TempCopy copy, CopyToTemp(src.get(), path));
  CAIRN_RETURN_IF_ERROR(InstallTemp(copy.temp_path, copy.digest));
  return copy.digest;
}

Result<std::string> LocalBlobStore::PutFileLinkOrCopy(const std::string& path) {
  struct stat st;
  CAIRN_ASSIGN_OR_RETURN(UniqueFd src, OpenSource(path, &st));
  if (!S_ISREG(st.st_mode)) {  // a pipe or device: can only be copied
    CAIRN_ASSIGN_OR_RETURN(TempCopy copy, CopyToTemp(src.get(), path));
    CAIRN_RETURN_IF_ERROR(InstallTemp(copy.temp_path, copy.digest));
    return copy.digest;
  }

  Sha256 hasher;
  std::vector<char> buffer(kCopyBufferBytes);
  for (;;) {
    int64_t n = local::ReadSome(src.get(), buffer.data(), buffer.size());
    if (n < 0) {
      return std::unexpected(ErrnoError(static_cast<int>(-n), "cannot read source file", path));
    }
    if (n == 0) break;
    hasher.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
  }
  std::string digest = hasher.HexDigest();
  std::string object = ObjectPath(digest);
  struct stat obj_st;
  if (::stat(object.c_str(), &obj_st) == 0) return digest;  // already stored

  // Adopt the source inode: read-only, durable, then linked under its digest.
  // Linking through /proc/self/fd names exactly the inode we hashed, even if
  // the source path was replaced meanwhile. Any failure (another filesystem,
  // not our file, no /proc, too many links) falls back to a copy.
  CAIRN_RETURN_IF_ERROR(EnsureShard(digest));
  bool linked = false;
  if (static_cast<uint64_t>(st.st_dev) == objects_device_ && ::fchmod(src.get(), 0444) == 0 &&
      ::fsync(src.get()) == 0) {
    std::string proc_path = "/proc/self/fd/" + std::to_string(src.get());
    if (::linkat(AT_FDCWD, proc_path.c_str(), AT_FDCWD, object.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      linked = true;
    } else if (errno == EEXIST) {
      return digest;
    }
  }
  if (linked) {
    CAIRN_RETURN_IF_ERROR(local::FsyncDir(objects_dir_ + "/" + digest.substr(0, 2)));
    return digest;
  }
  if (::lseek(src.get(), 0, SEEK_SET) != 0) {
    return std::unexpected(ErrnoError(errno, "cannot rewind source file", path));
  }
  CAIRN_ASSIGN_OR_RETURN(TempCopy copy, CopyToTemp(src.get(), path));
  if (copy.digest != digest) {
    ::unlink(copy.temp_path.c_str());
    return Internal("source file '" + path + "' changed while it was being stored");
  }
  CAIRN_RETURN_IF_ERROR(InstallTemp(copy.temp_path, digest));
  return digest;
}

Result<std::string> LocalBlobStore::PutFileTake(const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::string digest, PutFileLinkOrCopy(path));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    CAIRN_LOG_WARN("blob store: stored {} but cannot remove source {}: {}", digest, path,
                   std::strerror(errno));
  }
  return digest;
}

Result<std::string> LocalBlobStore::PutBytes(std::string_view bytes) {
  std::string temp_path = tmp_dir_ + "/" + local::TempName("put-");
  UniqueFd out(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (!out.valid()) return std::unexpected(ErrnoError(errno, "cannot create temp file", temp_path));
  TempFileGuard guard(temp_path);
  if (int err = local::WriteAll(out.get(), bytes.data(), bytes.size()); err != 0) {
    return std::unexpected(ErrnoError(err, "cannot write temp file", temp_path));
  }
  if (::fsync(out.get()) != 0 || ::close(out.Release()) != 0) {
    return std::unexpected(ErrnoError(errno, "cannot flush temp file", temp_path));
  }
  guard.Release();
  std::string digest = Sha256Hex(bytes);
  CAIRN_RETURN_IF_ERROR(InstallTemp(temp_path, digest));
  return digest;
}

Result<std::unique_ptr<BlobReader>> LocalBlobStore::Open(std::string_view digest) const {
  CAIRN_RETURN_IF_ERROR(ValidateDigest(digest));
  std::string object = ObjectPath(digest);
  UniqueFd fd(::open(object.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return NotFound("blob " + std::string(digest) + " does not exist");
    return std::unexpected(ErrnoError(errno, "cannot open blob", object));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return std::unexpected(ErrnoError(errno, "cannot stat blob", object));
  }
  return std::unique_ptr<BlobReader>(
      new LocalBlobReader(std::move(fd), static_cast<uint64_t>(st.st_size), object));
}

Result<std::string> LocalBlobStore::Path(std::string_view digest) const {
  CAIRN_ASSIGN_OR_RETURN(bool exists, Exists(digest));
  if (!exists) return NotFound("blob " + std::string(digest) + " does not exist");
  return ObjectPath(digest);
}

Result<bool> LocalBlobStore::Exists(std::string_view digest) const {
  CAIRN_RETURN_IF_ERROR(ValidateDigest(digest));
  std::string object = ObjectPath(digest);
  struct stat st;
  if (::stat(object.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return std::unexpected(ErrnoError(errno, "cannot stat blob", object));
}

Result<uint64_t> LocalBlobStore::Size(std::string_view digest) const {
  CAIRN_RETURN_IF_ERROR(ValidateDigest(digest));
  std::string object = ObjectPath(digest);
  struct stat st;
  if (::stat(object.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("blob " + std::string(digest) + " does not exist");
    return std::unexpected(ErrnoError(errno, "cannot stat blob", object));
  }
  return static_cast<uint64_t>(st.st_size);
}

Status LocalBlobStore::Delete(std::string_view digest) {
  CAIRN_RETURN_IF_ERROR(ValidateDigest(digest));
  std::string object = ObjectPath(digest);
  if (::unlink(object.c_str()) != 0) {
    if (errno == ENOENT) return NotFound("blob " + std::string(digest) + " does not exist");
    return std::unexpected(ErrnoError(errno, "cannot delete blob", object));
  }
  return {};
}

}  // namespace cairn::blob
