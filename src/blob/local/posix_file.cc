#include "blob/local/posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "core/ids.h"

namespace cairn::blob::local {

void UniqueFd::Reset() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

Error ErrnoError(int err, std::string_view what, std::string_view path) {
  ErrorCode code = ErrorCode::kInternal;
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
    code = ErrorCode::kResourceExhausted;
  }
  std::string msg(what);
  msg += " '";
  msg += path;
  msg += "': ";
  msg += std::strerror(err);
  return Error(code, std::move(msg));
}

std::string TempName(std::string_view prefix) {
  // NewRunId is 128 bits from a CSPRNG-seeded thread-local generator: no
  // two threads or processes pick the same name in practice, and O_EXCL /
  // link() catch the case where they would.
  return std::string(prefix) + NewRunId();
}

int WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

int64_t ReadSome(int fd, char* data, size_t size) {
  for (;;) {
    ssize_t n = ::read(fd, data, size);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

Status FsyncDirFd(int dir_fd, std::string_view name_for_errors) {
  if (::fsync(dir_fd) != 0 && errno != EINVAL) {
    return std::unexpected(ErrnoError(errno, "cannot fsync directory", name_for_errors));
  }
  return {};
}

Status FsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return std::unexpected(ErrnoError(errno, "cannot open directory", dir));
  return FsyncDirFd(fd.get(), dir);
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Internal("cannot create directory '" + path + "': " + ec.message());
  return {};
}

}  // namespace cairn::blob::local
