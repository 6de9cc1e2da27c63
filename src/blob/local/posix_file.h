#pragma once
// Small POSIX helpers shared by the local blob store and the local artifact
// repository. Internal to src/blob/local: not part of the blob API.
//
// Thread safety: every function is thread-safe; a UniqueFd is not (own one
// per thread, as with any value).

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace cairn::blob::local {

// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset();

 private:
  int fd_ = -1;
};

// An Error for a failed system call: ENOSPC/EDQUOT/EFBIG -> kResourceExhausted,
// anything else -> kInternal (callers that expect ENOENT check for it first).
// The message is "<what> '<path>': <strerror>".
Error ErrnoError(int err, std::string_view what, std::string_view path);

// A fresh name for a temporary file: "<prefix><32 random hex chars>".
std::string TempName(std::string_view prefix);

// write() all of `data`, retrying on EINTR and short writes. Returns 0 or errno.
int WriteAll(int fd, const char* data, size_t size);
// read() up to `size` bytes, retrying on EINTR. Returns bytes read (0 at EOF)
// or -errno.
int64_t ReadSome(int fd, char* data, size_t size);

// fsync() a directory so a rename or link in it survives a crash. Best effort
// is not good enough for objects, so errors are returned.
Status FsyncDir(const std::string& dir);
Status FsyncDirFd(int dir_fd, std::string_view name_for_errors);

// mkdir -p with mode 0755; kInternal (naming the path) on failure.
Status MakeDirs(const std::string& path);

}  // namespace cairn::blob::local
