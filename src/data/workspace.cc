#include "data/workspace.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace cairn::data {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kConfigText =
    "# Cairn data configuration (docs/pipelines.md).\n"
    "# remotes: {name: url}; default: name. Add one with: cairn data remote add NAME URL\n"
    "remotes: {}\n";
constexpr std::string_view kGitignoreText =
    "# Written by cairn: the cache, scratch files and step logs are not for git.\n"
    "/cache/\n"
    "/tmp/\n"
    "/logs\n";

std::unexpected<Error> FsError(std::string_view what, const fs::path& path,
                               const std::error_code& ec) {
  return Internal(std::string(what) + " '" + path.string() + "': " + ec.message());
}

bool IsDir(const fs::path& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool Exists(const fs::path& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

Status MakeDir(const fs::path& p) {
  if (::mkdir(p.c_str(), 0755) == 0 || (errno == EEXIST && IsDir(p))) return {};
  int err = errno;
  if (err == EEXIST) return FailedPrecondition("'" + p.string() + "' exists and is not a folder");
  return Internal("cannot create folder '" + p.string() + "': " + std::strerror(err));
}

// Creates `p` with `text` unless it exists. O_EXCL on a temporary name plus
// link() would be atomic too; O_EXCL on the final name is enough here: a
// racing writer writes the same constant text.
Status WriteIfMissing(const fs::path& p, std::string_view text) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return {};
    return Internal("cannot create '" + p.string() + "': " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(p.c_str());
      return Internal("cannot write '" + p.string() + "': " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0)
    return Internal("cannot write '" + p.string() + "': " + std::strerror(errno));
  return {};
}

// Splits a generic path string into components, applying "." and "..".
// Returns false when ".." climbs above the start.
bool NormalizeComponents(const fs::path& p, std::vector<std::string>& out) {
  for (const auto& part : p.relative_path()) {
    std::string s = part.string();
    if (s.empty() || s == ".") continue;
    if (s == "..") {
      if (out.empty()) return false;
      out.pop_back();
      continue;
    }
    out.push_back(std::move(s));
  }
  return true;
}

// The components of `abs` below `root` (both absolute, `root` canonical), or
// false when `abs` is not inside `root`.
bool ComponentsBelow(const fs::path& root, const fs::path& abs, std::vector<std::string>& out) {
  std::vector<std::string> root_parts, abs_parts;
  if (!NormalizeComponents(root, root_parts) || !NormalizeComponents(abs, abs_parts)) return false;
  if (abs_parts.size() < root_parts.size()) return false;
  for (size_t i = 0; i < root_parts.size(); ++i) {
    if (root_parts[i] != abs_parts[i]) return false;
  }
  out.assign(abs_parts.begin() + static_cast<std::ptrdiff_t>(root_parts.size()), abs_parts.end());
  return true;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

}  // namespace

Result<Workspace> FindWorkspace(const fs::path& start) {
  std::error_code ec;
  fs::path dir = fs::canonical(start, ec);
  if (ec) return FsError("cannot resolve folder", start, ec);
  if (!IsDir(dir)) return InvalidArgument("'" + start.string() + "' is not a folder");
  for (std::string_view marker : {kCairnDirName, std::string_view(".git")}) {
    for (fs::path d = dir;; d = d.parent_path()) {
      fs::path candidate = d / marker;
      // .cairn must be a folder; .git may be a file (worktrees, submodules).
      if (marker == kCairnDirName ? IsDir(candidate) : Exists(candidate)) {
        return Workspace{d};
      }
      if (d == d.root_path()) break;
    }
  }
  return NotFound("no Cairn repository at or above '" + dir.string() +
                  "': no folder holds .cairn/ or .git/ (run `cairn data init` or `git init` "
                  "at the repository root)");
}

Result<Workspace> InitWorkspace(const fs::path& root) {
  std::error_code ec;
  fs::path dir = fs::canonical(root, ec);
  if (ec) return FsError("cannot resolve folder", root, ec);
  if (!IsDir(dir)) return InvalidArgument("'" + root.string() + "' is not a folder");
  Workspace ws{dir};
  CAIRN_RETURN_IF_ERROR(MakeDir(ws.CairnDir()));
  CAIRN_RETURN_IF_ERROR(MakeDir(ws.CacheDir()));
  CAIRN_RETURN_IF_ERROR(MakeDir(ws.TmpDir()));
  CAIRN_RETURN_IF_ERROR(WriteIfMissing(ws.ConfigFile(), kConfigText));
  CAIRN_RETURN_IF_ERROR(WriteIfMissing(ws.CairnDir() / ".gitignore", kGitignoreText));
  return ws;
}

Result<std::string> ToRepoPath(const Workspace& ws, const fs::path& cwd,
                               std::string_view user_path) {
  if (user_path.empty()) return InvalidArgument("empty path");
  if (user_path.find('\0') != std::string_view::npos) {
    return InvalidArgument("path contains a NUL byte");
  }
  if (!cwd.is_absolute())
    return InvalidArgument("working folder '" + cwd.string() + "' is not absolute");
  fs::path typed(user_path);
  fs::path abs = typed.is_absolute() ? typed : cwd / typed;
  const std::string shown = "'" + std::string(user_path) + "'";

  std::vector<std::string> parts;
  bool inside = ComponentsBelow(ws.root, abs, parts);
  if (!inside) {
    // The lexical path may reach the root through a symlinked folder (cwd
    // given as /tmp/... when the root is /private/tmp/...): resolve the parent,
    // never the target itself.
    std::vector<std::string> norm;
    if (NormalizeComponents(abs, norm) && !norm.empty()) {
      fs::path parent("/");
      for (size_t i = 0; i + 1 < norm.size(); ++i) parent /= norm[i];
      std::error_code ec;
      fs::path real_parent = fs::weakly_canonical(parent, ec);
      if (!ec) inside = ComponentsBelow(ws.root, real_parent / norm.back(), parts);
    }
  }
  if (!inside) {
    return InvalidArgument("path " + shown + " is outside the repository '" + ws.root.string() +
                           "'");
  }
  if (parts.empty()) {
    return InvalidArgument("path " + shown +
                           " is the repository root: track a file or folder inside it");
  }
  if (parts.front() == kCairnDirName) {
    return InvalidArgument("path " + shown + " is inside " + std::string(kCairnDirName) +
                           "/, Cairn's own folder, which cannot be tracked");
  }
  if (parts.front() == ".git") {
    return InvalidArgument("path " + shown + " is inside .git/, git's own folder");
  }
  return Join(parts);
}

bool IsCleanRelativePath(std::string_view p) {
  if (p.empty() || p.front() == '/' || p.find('\0') != std::string_view::npos) return false;
  size_t start = 0;
  while (true) {
    size_t end = p.find('/', start);
    std::string_view part =
        p.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

Status ValidateRepoPath(std::string_view path) {
  const std::string shown = "'" + std::string(path) + "'";
  if (path.empty()) return InvalidArgument("empty repository path");
  if (path.find('\0') != std::string_view::npos) {
    return InvalidArgument("repository path contains a NUL byte");
  }
  if (path.front() == '/') return InvalidArgument("repository path " + shown + " is absolute");
  size_t start = 0;
  bool first = true;
  while (true) {
    size_t end = path.find('/', start);
    std::string_view part =
        path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part.empty() || part == "." || part == "..") {
      return InvalidArgument("repository path " + shown + " has an empty, '.' or '..' component");
    }
    if (first && (part == kCairnDirName || part == ".git")) {
      return InvalidArgument("repository path " + shown + " is inside " +
                             std::string(kCairnDirName) + "/");
    }
    first = false;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return {};
}

}  // namespace cairn::data
