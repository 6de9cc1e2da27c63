#include "data/repo_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "blob/local/posix_file.h"

namespace cairn::data {
namespace {

// "123 cairn repro" as written by the holder; "" when unreadable or empty.
std::string ReadHolder(int fd) {
  char buf[512];
  ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

std::string DescribeHolder(const std::string& holder) {
  if (holder.empty()) return "another process";
  size_t space = holder.find(' ');
  if (space == std::string::npos) return "pid " + holder;
  return "pid " + holder.substr(0, space) + " (" + holder.substr(space + 1) + ")";
}

}  // namespace

Result<std::unique_ptr<RepoLock>> RepoLock::Acquire(const Workspace& ws, std::string_view what,
                                                    bool wait, bool announce) {
  CAIRN_RETURN_IF_ERROR(blob::local::MakeDirs(ws.TmpDir().string()));
  const std::string path = (ws.TmpDir() / "lock").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(blob::local::ErrnoError(errno, "cannot open lock file", path));
  auto fail = [&](int err, std::string_view msg) -> std::unexpected<Error> {
    ::close(fd);
    return std::unexpected(blob::local::ErrnoError(err, msg, path));
  };
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) break;
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return fail(errno, "cannot lock");
    std::string holder = DescribeHolder(ReadHolder(fd));
    if (!wait) {
      ::close(fd);
      return FailedPrecondition("the repository is locked by " + holder +
                                "; wait for it or stop it");
    }
    if (announce) {
      std::cerr << "waiting: the repository is locked by " << holder << std::endl;
    }
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return fail(errno, "cannot lock");
    }
    break;
  }
  std::string info = std::to_string(::getpid()) + " " + std::string(what) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, info.data(), info.size(), 0) < 0) {
    return fail(errno, "cannot write lock file");
  }
  return std::unique_ptr<RepoLock>(new RepoLock(fd));
}

RepoLock::~RepoLock() {
  if (fd_ >= 0) {
    // Clear the holder first so a reader never names a process that is gone.
    (void)::ftruncate(fd_, 0);
    ::close(fd_);  // releases the flock
  }
}

}  // namespace cairn::data
