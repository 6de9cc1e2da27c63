#include "blob/local/local_artifact_repository.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "blob/artifact_path.h"
#include "core/log.h"
#include "core/uri.h"

namespace cairn::blob {
namespace {

using local::ErrnoError;
using local::UniqueFd;

constexpr int kDirOpenFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
// Attempts for operations that lose a race with a concurrent delete or GC.
constexpr int kMaxAttempts = 8;
// Deeper trees than this are refused by Delete and CopyTree (bounds the
// recursion and the open descriptors); paths are also bounded by
// kMaxArtifactPathBytes.
constexpr int kMaxFolderDepth = 256;
// CopyTree builds its copies in tmp/ under this prefix; Open removes stale ones.
constexpr std::string_view kCopyTempPrefix = "copy-";
constexpr time_t kStaleCopyAgeSeconds = 24 * 60 * 60;

std::string JoinSegments(std::span<const std::string> segments, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < segments.size(); ++i) {
    if (i > 0) out += '/';
    out += segments[i];
  }
  return out;
}

std::unexpected<Error> SymlinkRefused(std::string_view full_path, std::string_view at) {
  return InvalidArgument("invalid artifact path '" + PrintableArtifactPath(full_path) +
                         "': it crosses a symbolic link at '" + PrintableArtifactPath(at) +
                         "', which is not allowed");
}

enum class EntryType { kMissing, kFile, kFolder, kSymlink, kOther };

Result<EntryType> TypeOf(int dir_fd, const std::string& name, struct stat* st,
                         std::string_view path_for_errors) {
  if (::fstatat(dir_fd, name.c_str(), st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return EntryType::kMissing;
    return std::unexpected(ErrnoError(errno, "cannot stat artifact", path_for_errors));
  }
  if (S_ISLNK(st->st_mode)) return EntryType::kSymlink;
  if (S_ISDIR(st->st_mode)) return EntryType::kFolder;
  if (S_ISREG(st->st_mode)) return EntryType::kFile;
  return EntryType::kOther;
}

// Copies the content of `in` to `out` and fsyncs `out`. Returns 0 or errno.
int CopyFdContents(int in, int out) {
  std::vector<char> buffer(1 << 20);
  for (;;) {
    int64_t n = local::ReadSome(in, buffer.data(), buffer.size());
    if (n < 0) return static_cast<int>(-n);
    if (n == 0) return ::fsync(out) == 0 ? 0 : errno;
    int err = local::WriteAll(out, buffer.data(), static_cast<size_t>(n));
    if (err != 0) return err;
  }
}

// Copies `src` to a new file `dst` (O_EXCL) and fsyncs it; removes `dst` on error.
Status CopyFile(const std::string& src, const std::string& dst) {
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return std::unexpected(ErrnoError(errno, "cannot open", src));
  UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (!out.valid()) return std::unexpected(ErrnoError(errno, "cannot create", dst));
  if (int err = CopyFdContents(in.get(), out.get()); err != 0) {
    ::unlink(dst.c_str());
    return std::unexpected(ErrnoError(err, "cannot copy to", dst));
  }
  return {};
}

// Makes `dst_dir`/`dst_name` a new hard link of the file `src_dir`/`src_name`
// (the same inode, so the same object). When that inode already has the
// filesystem's maximum number of links, makes a copy instead (as uploads do).
// `path` (the source artifact path) is only for messages.
Status LinkOrCopyAt(int src_dir, const std::string& src_name, int dst_dir,
                    const std::string& dst_name, std::string_view path) {
  if (::linkat(src_dir, src_name.c_str(), dst_dir, dst_name.c_str(), 0) == 0) return {};
  int err = errno;
  if (err == ENOENT) {
    return NotFound("artifact '" + PrintableArtifactPath(path) + "' vanished while being copied");
  }
  if (err != EMLINK) return std::unexpected(ErrnoError(err, "cannot link artifact", path));
  UniqueFd in(::openat(src_dir, src_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) return std::unexpected(ErrnoError(errno, "cannot open artifact", path));
  UniqueFd out(::openat(dst_dir, dst_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (!out.valid()) return std::unexpected(ErrnoError(errno, "cannot copy artifact", path));
  if (int copy_err = CopyFdContents(in.get(), out.get()); copy_err != 0) {
    ::unlinkat(dst_dir, dst_name.c_str(), 0);
    return std::unexpected(ErrnoError(copy_err, "cannot copy artifact", path));
  }
  return {};
}

// Removes folder `name` in `parent_fd` and everything below it, never
// following symlinks (a symlink inside is removed as an entry).
Status RemoveFolder(int parent_fd, const std::string& name, const std::string& path, int depth) {
  if (depth > kMaxFolderDepth) {
    return InvalidArgument("artifact folder '" + PrintableArtifactPath(path) +
                           "' is nested too deeply to delete");
  }
  int fd = ::openat(parent_fd, name.c_str(), kDirOpenFlags);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    return std::unexpected(ErrnoError(errno, "cannot open artifact folder", path));
  }
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(fd);
    return std::unexpected(ErrnoError(err, "cannot list artifact folder", path));
  }
  std::vector<std::string> children;
  while (dirent* e = ::readdir(dir)) {
    std::string child = e->d_name;
    if (child != "." && child != "..") children.push_back(std::move(child));
  }
  Status status;
  for (const std::string& child : children) {
    std::string child_path = path + "/" + child;
    struct stat st;
    if (::fstatat(::dirfd(dir), child.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      status = std::unexpected(ErrnoError(errno, "cannot stat artifact", child_path));
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      status = RemoveFolder(::dirfd(dir), child, child_path, depth + 1);
      if (!status) break;
    } else if (::unlinkat(::dirfd(dir), child.c_str(), 0) != 0 && errno != ENOENT) {
      status = std::unexpected(ErrnoError(errno, "cannot delete artifact", child_path));
      break;
    }
  }
  ::closedir(dir);
  if (!status) return status;
  if (::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0) {
    if (errno == ENOENT) return {};
    if (errno == ENOTEMPTY || errno == EEXIST) {
      return Unavailable("artifact folder '" + PrintableArtifactPath(path) +
                         "' changed while being deleted; retry");
    }
    return std::unexpected(ErrnoError(errno, "cannot delete artifact folder", path));
  }
  return {};
}

// Fills the new, empty folder `dst_fd` with a copy of the folder `src_fd`:
// sub-folders are created, files are hard links (LinkOrCopyAt); symlinks and
// special files are skipped (they are not artifacts). Each folder of the copy
// is fsynced once filled. `path` is the source folder's artifact path and
// `depth` its depth below the copied root (for the kMaxFolderDepth bound:
// no folder deeper than that is ever created, so RemoveFolder can undo it).
// The caller removes the partial copy on error.
Status CopyFolderContents(int src_fd, int dst_fd, const std::string& path, int depth) {
  int list_fd = ::dup(src_fd);
  if (list_fd < 0) return std::unexpected(ErrnoError(errno, "cannot open artifact folder", path));
  DIR* dir = ::fdopendir(list_fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(list_fd);
    return std::unexpected(ErrnoError(err, "cannot list artifact folder", path));
  }
  std::vector<std::string> children;
  while (dirent* e = ::readdir(dir)) {
    std::string child = e->d_name;
    if (child != "." && child != "..") children.push_back(std::move(child));
  }
  ::closedir(dir);
  std::sort(children.begin(), children.end());
  for (const std::string& child : children) {
    std::string child_path = path + "/" + child;
    struct stat st;
    if (::fstatat(src_fd, child.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile: not part of the copy
      return std::unexpected(ErrnoError(errno, "cannot stat artifact", child_path));
    }
    if (S_ISREG(st.st_mode)) {
      Status linked = LinkOrCopyAt(src_fd, child, dst_fd, child, child_path);
      if (!linked && linked.error().code() == ErrorCode::kNotFound) continue;
      if (!linked) return linked;
    } else if (S_ISDIR(st.st_mode)) {
      if (depth + 1 > kMaxFolderDepth) {
        return InvalidArgument("artifact folder '" + PrintableArtifactPath(child_path) +
                               "' is nested too deeply to copy");
      }
      UniqueFd src_child(::openat(src_fd, child.c_str(), kDirOpenFlags));
      if (!src_child.valid()) {
        if (errno == ENOENT) continue;
        return std::unexpected(ErrnoError(errno, "cannot open artifact folder", child_path));
      }
      if (::mkdirat(dst_fd, child.c_str(), 0755) != 0) {
        return std::unexpected(ErrnoError(errno, "cannot create copy of folder", child_path));
      }
      UniqueFd dst_child(::openat(dst_fd, child.c_str(), kDirOpenFlags));
      if (!dst_child.valid()) {
        return std::unexpected(ErrnoError(errno, "cannot open copy of folder", child_path));
      }
      CAIRN_RETURN_IF_ERROR(
          CopyFolderContents(src_child.get(), dst_child.get(), child_path, depth + 1));
    }
    // Symlinks and special files are not artifacts: never copied.
  }
  return local::FsyncDirFd(dst_fd, path);
}

// Removes CopyTree folders in `tmp_dir` older than kStaleCopyAgeSeconds, left
// by a crash (their links would keep objects from being collected). Best
// effort: a stray copy is harmless otherwise.
void RemoveStaleCopies(const std::string& tmp_dir) {
  UniqueFd tmp_fd(::open(tmp_dir.c_str(), kDirOpenFlags));
  if (!tmp_fd.valid()) return;
  int list_fd = ::dup(tmp_fd.get());
  if (list_fd < 0) return;
  DIR* d = ::fdopendir(list_fd);
  if (d == nullptr) {
    ::close(list_fd);
    return;
  }
  const time_t cutoff = ::time(nullptr) - kStaleCopyAgeSeconds;
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (!name.starts_with(kCopyTempPrefix)) continue;
    struct stat st;
    if (::fstatat(tmp_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode) && st.st_mtime < cutoff) stale.push_back(std::move(name));
  }
  ::closedir(d);
  for (const std::string& name : stale) {
    if (RemoveFolder(tmp_fd.get(), name, tmp_dir + "/" + name, 0)) {
      CAIRN_LOG_INFO("artifacts: removed stale copy {}/{}", tmp_dir, name);
    }
  }
}

}  // namespace

Result<std::unique_ptr<LocalArtifactRepository>> LocalArtifactRepository::Open(
    const std::string& root) {
  CAIRN_ASSIGN_OR_RETURN(std::string abs_root, LocalPathFromUri(root));
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<LocalBlobStore> blobs, LocalBlobStore::OpenAt(abs_root));
  std::string tree = abs_root + "/tree";
  std::string spool = abs_root + "/spool";
  CAIRN_RETURN_IF_ERROR(local::MakeDirs(tree));
  CAIRN_RETURN_IF_ERROR(local::MakeDirs(spool));
  RemoveStaleCopies(blobs->tmp_dir());
  UniqueFd tree_fd(::open(tree.c_str(), kDirOpenFlags));
  if (!tree_fd.valid()) {
    return std::unexpected(ErrnoError(errno, "cannot open artifact tree", tree));
  }
  return std::unique_ptr<LocalArtifactRepository>(new LocalArtifactRepository(
      abs_root, std::move(blobs), std::move(tree_fd), std::move(tree), std::move(spool)));
}

Result<UniqueFd> LocalArtifactRepository::OpenFolder(std::span<const std::string> segments,
                                                     Walk walk, std::string_view full_path,
                                                     size_t* created) const {
  if (created != nullptr) *created = 0;
  UniqueFd current(::dup(tree_fd_.get()));
  if (!current.valid()) {
    return std::unexpected(ErrnoError(errno, "cannot open artifact tree", tree_dir_));
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& seg = segments[i];
    int next = -1;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      next = ::openat(current.get(), seg.c_str(), kDirOpenFlags);
      if (next >= 0 || errno != ENOENT || walk != Walk::kCreate) break;
      if (attempt + 1 == kMaxAttempts) break;
      if (::mkdirat(current.get(), seg.c_str(), 0755) == 0) {
        if (created != nullptr && *created == 0) *created = segments.size() - i;
      } else if (errno != EEXIST) {
        break;
      }
    }
    if (next >= 0) {
      current = UniqueFd(next);
      continue;
    }
    int err = errno;
    std::string so_far = JoinSegments(segments, i + 1);
    struct stat st;
    if (::fstatat(current.get(), seg.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISLNK(st.st_mode)) return SymlinkRefused(full_path, so_far);
      if (!S_ISDIR(st.st_mode)) {
        if (walk == Walk::kOpen) {
          return NotFound("artifact folder '" + PrintableArtifactPath(so_far) + "' does not exist");
        }
        return InvalidArgument("invalid artifact path '" + PrintableArtifactPath(full_path) +
                               "': '" + PrintableArtifactPath(so_far) +
                               "' is a file, not a folder");
      }
    }
    if (err == ENOENT && walk == Walk::kCreate) {
      return Unavailable("artifact folder '" + PrintableArtifactPath(so_far) +
                         "' kept being deleted while creating it; retry");
    }
    if (err == ENOENT || err == ENOTDIR) {
      return NotFound("artifact folder '" + PrintableArtifactPath(so_far) + "' does not exist");
    }
    return std::unexpected(ErrnoError(err, "cannot open artifact folder", so_far));
  }
  return current;
}

Status LocalArtifactRepository::LinkIntoTree(std::string_view digest, int parent_fd,
                                             const std::string& leaf, std::string_view full_path) {
  std::string object = blobs_->ObjectPath(digest);
  std::string temp = blobs_->tmp_dir() + "/" + local::TempName("link-");
  if (::link(object.c_str(), temp.c_str()) != 0) {
    int err = errno;
    if (err == ENOENT) return NotFound("blob " + std::string(digest) + " vanished");
    if (err != EMLINK) return std::unexpected(ErrnoError(err, "cannot link blob", temp));
    // The object has the filesystem's maximum number of links (the same
    // content logged tens of thousands of times): this entry gets a copy.
    CAIRN_RETURN_IF_ERROR(CopyFile(object, temp));
  }
  if (::renameat(AT_FDCWD, temp.c_str(), parent_fd, leaf.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    if (err == ENOENT) {
      return NotFound("artifact folder for '" + PrintableArtifactPath(full_path) + "' vanished");
    }
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {
      return InvalidArgument("invalid artifact path '" + PrintableArtifactPath(full_path) +
                             "': it is a folder, not a file");
    }
    return std::unexpected(ErrnoError(err, "cannot create artifact", full_path));
  }
  // rename() between two links of one inode (the same content uploaded to
  // the same path again) succeeds without doing anything: drop the temp link.
  ::unlink(temp.c_str());
  return local::FsyncDirFd(parent_fd, full_path);
}

void LocalArtifactRepository::RemoveCreatedFolders(std::span<const std::string> segments,
                                                   size_t count) const {
  for (size_t n = segments.size(); n > 0 && count > 0; --n, --count) {
    std::string folder = tree_dir_ + "/" + JoinSegments(segments, n);
    if (::rmdir(folder.c_str()) != 0) break;  // not empty any more: someone else uses it
  }
}

template <typename PutFn>
Status LocalArtifactRepository::UploadWith(std::string_view path, PutFn&& put) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> segments, SplitArtifactPath(path, false));
  std::span<const std::string> parents(segments.data(), segments.size() - 1);
  const std::string& leaf = segments.back();
  std::string digest;
  for (int attempt = 0;; ++attempt) {
    size_t created = 0;
    CAIRN_ASSIGN_OR_RETURN(UniqueFd parent, OpenFolder(parents, Walk::kCreate, path, &created));
    struct stat st;
    CAIRN_ASSIGN_OR_RETURN(EntryType type, TypeOf(parent.get(), leaf, &st, path));
    if (type == EntryType::kSymlink) return SymlinkRefused(path, path);
    if (type == EntryType::kFolder) {
      return InvalidArgument("invalid artifact path '" + PrintableArtifactPath(path) +
                             "': it is a folder, not a file");
    }
    if (type == EntryType::kOther) {
      return InvalidArgument("invalid artifact path '" + PrintableArtifactPath(path) +
                             "': it exists and is not a regular file");
    }
    if (digest.empty()) {
      Result<std::string> stored = put();
      if (!stored) {
        RemoveCreatedFolders(parents, created);
        return std::unexpected(stored.error());
      }
      digest = std::move(*stored);
    }
    Status linked = LinkIntoTree(digest, parent.get(), leaf, path);
    if (linked) return {};
    if (linked.error().code() != ErrorCode::kNotFound || attempt + 1 >= kMaxAttempts) {
      if (linked.error().code() == ErrorCode::kNotFound) {
        return Unavailable("upload of '" + PrintableArtifactPath(path) +
                           "' kept racing with deletes; retry");
      }
      return linked;
    }
    // Lost a race with a concurrent delete of the folder or a GC of the
    // object: walk again, and store the content again if it is gone.
    CAIRN_ASSIGN_OR_RETURN(bool present, blobs_->Exists(digest));
    if (!present) digest.clear();
  }
}

Status LocalArtifactRepository::Upload(std::string_view path, const std::string& source_file,
                                       UploadSource source) {
  Status status = UploadWith(path, [&]() -> Result<std::string> {
    return source == UploadSource::kTake ? blobs_->PutFileLinkOrCopy(source_file)
                                         : blobs_->PutFile(source_file);
  });
  if (status && source == UploadSource::kTake) {
    if (::unlink(source_file.c_str()) != 0 && errno != ENOENT) {
      CAIRN_LOG_WARN("artifacts: stored '{}' but cannot remove source {}: {}",
                     PrintableArtifactPath(path), source_file, std::strerror(errno));
    }
  }
  return status;
}

Status LocalArtifactRepository::UploadBytes(std::string_view path, std::string_view bytes) {
  return UploadWith(path, [&]() { return blobs_->PutBytes(bytes); });
}

Result<ArtifactFile> LocalArtifactRepository::Download(std::string_view path) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> segments, SplitArtifactPath(path, false));
  std::span<const std::string> parents(segments.data(), segments.size() - 1);
  auto parent = OpenFolder(parents, Walk::kOpen, path);
  if (!parent) {
    if (parent.error().code() == ErrorCode::kNotFound) {
      return NotFound("artifact '" + PrintableArtifactPath(path) + "' does not exist");
    }
    return std::unexpected(parent.error());
  }
  struct stat st;
  CAIRN_ASSIGN_OR_RETURN(EntryType type, TypeOf(parent->get(), segments.back(), &st, path));
  switch (type) {
    case EntryType::kMissing:
      return NotFound("artifact '" + PrintableArtifactPath(path) + "' does not exist");
    case EntryType::kSymlink:
      return SymlinkRefused(path, path);
    case EntryType::kFolder:
      return InvalidArgument("artifact path '" + PrintableArtifactPath(path) +
                             "' refers to a folder, not a file");
    case EntryType::kOther:
      return InvalidArgument("artifact path '" + PrintableArtifactPath(path) +
                             "' is not a regular file");
    case EntryType::kFile:
      break;
  }
  return ArtifactFile{tree_dir_ + "/" + std::string(path), static_cast<uint64_t>(st.st_size)};
}

Result<std::vector<ArtifactEntry>> LocalArtifactRepository::List(std::string_view dir) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> segments, SplitArtifactPath(dir, true));
  auto folder = OpenFolder(segments, Walk::kOpen, dir);
  if (!folder) {
    if (folder.error().code() == ErrorCode::kNotFound) return std::vector<ArtifactEntry>{};
    return std::unexpected(folder.error());
  }
  DIR* d = ::fdopendir(folder->get());
  if (d == nullptr) return std::unexpected(ErrnoError(errno, "cannot list artifact folder", dir));
  folder->Release();  // owned by `d` now
  std::string prefix = dir.empty() ? std::string() : std::string(dir) + "/";
  std::vector<ArtifactEntry> entries;
  Status status;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // deleted while listing
      status = std::unexpected(ErrnoError(errno, "cannot stat artifact", prefix + name));
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      entries.push_back({prefix + name, true, 0});
    } else if (S_ISREG(st.st_mode)) {
      entries.push_back({prefix + name, false, static_cast<uint64_t>(st.st_size)});
    }
    // Symlinks and special files are not artifacts: never listed.
  }
  ::closedir(d);
  if (!status) return std::unexpected(status.error());
  std::sort(entries.begin(), entries.end(),
            [](const ArtifactEntry& a, const ArtifactEntry& b) { return a.path < b.path; });
  return entries;
}

Status LocalArtifactRepository::Delete(std::string_view path) {
  if (path.empty()) return InvalidArgument("refusing to delete the artifact root");
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> segments, SplitArtifactPath(path, false));
  std::span<const std::string> parents(segments.data(), segments.size() - 1);
  for (int attempt = 0;; ++attempt) {
    auto parent = OpenFolder(parents, Walk::kOpen, path);
    if (!parent) {
      if (parent.error().code() == ErrorCode::kNotFound) return {};  // nothing to delete
      return std::unexpected(parent.error());
    }
    struct stat st;
    CAIRN_ASSIGN_OR_RETURN(EntryType type, TypeOf(parent->get(), segments.back(), &st, path));
    switch (type) {
      case EntryType::kMissing:
        return {};
      case EntryType::kSymlink:
        return SymlinkRefused(path, path);
      case EntryType::kFile:
      case EntryType::kOther:
        if (::unlinkat(parent->get(), segments.back().c_str(), 0) != 0 && errno != ENOENT) {
          return std::unexpected(ErrnoError(errno, "cannot delete artifact", path));
        }
        return {};
      case EntryType::kFolder: {
        Status removed = RemoveFolder(parent->get(), segments.back(), std::string(path), 0);
        if (removed || removed.error().code() != ErrorCode::kUnavailable ||
            attempt + 1 >= kMaxAttempts) {
          return removed;
        }
        break;  // an upload landed inside meanwhile: sweep again
      }
    }
  }
}

Status LocalArtifactRepository::CopyTree(std::string_view from, std::string_view to) {
  if (from.empty() || to.empty()) {
    return InvalidArgument("cannot copy the artifact root, or over it");
  }
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> from_segments, SplitArtifactPath(from, false));
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> to_segments, SplitArtifactPath(to, false));
  std::span<const std::string> from_parents(from_segments.data(), from_segments.size() - 1);
  std::span<const std::string> to_parents(to_segments.data(), to_segments.size() - 1);
  const std::string& from_leaf = from_segments.back();
  const std::string& to_leaf = to_segments.back();
  const std::string from_str(from);
  auto not_found = [&] {
    return NotFound("cannot copy artifact '" + PrintableArtifactPath(from) +
                    "': it does not exist");
  };
  auto already_exists = [&] {
    return AlreadyExists("cannot copy artifact '" + PrintableArtifactPath(from) + "' to '" +
                         PrintableArtifactPath(to) +
                         "': the destination already exists (a copy never replaces or merges)");
  };

  // The source.
  auto src_parent = OpenFolder(from_parents, Walk::kOpen, from);
  if (!src_parent) {
    if (src_parent.error().code() == ErrorCode::kNotFound) return not_found();
    return std::unexpected(src_parent.error());
  }
  struct stat st;
  CAIRN_ASSIGN_OR_RETURN(EntryType type, TypeOf(src_parent->get(), from_leaf, &st, from));
  switch (type) {
    case EntryType::kMissing:
      return not_found();
    case EntryType::kSymlink:
      return SymlinkRefused(from, from);
    case EntryType::kOther:
      return InvalidArgument("artifact path '" + PrintableArtifactPath(from) +
                             "' is not a regular file or folder");
    case EntryType::kFile:
    case EntryType::kFolder:
      break;
  }

  // Refuse early when the destination exists (the final rename checks again).
  if (auto dst_parent = OpenFolder(to_parents, Walk::kOpen, to); dst_parent) {
    struct stat dst_st;
    CAIRN_ASSIGN_OR_RETURN(EntryType dst_type, TypeOf(dst_parent->get(), to_leaf, &dst_st, to));
    if (dst_type != EntryType::kMissing) return already_exists();
  } else if (dst_parent.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(dst_parent.error());
  }

  // Build the copy in tmp/.
  UniqueFd tmp_fd(::open(blobs_->tmp_dir().c_str(), kDirOpenFlags));
  if (!tmp_fd.valid()) {
    return std::unexpected(ErrnoError(errno, "cannot open temp folder", blobs_->tmp_dir()));
  }
  const std::string temp_name = local::TempName(kCopyTempPrefix);
  const bool is_folder = type == EntryType::kFolder;
  auto discard = [&] {
    if (is_folder) {
      Status removed =
          RemoveFolder(tmp_fd.get(), temp_name, blobs_->tmp_dir() + "/" + temp_name, 0);
      if (!removed) {
        CAIRN_LOG_WARN("artifacts: cannot remove partial copy {}/{}: {}", blobs_->tmp_dir(),
                       temp_name, removed.error().ToString());
      }
    } else {
      ::unlinkat(tmp_fd.get(), temp_name.c_str(), 0);
    }
  };
  if (is_folder) {
    UniqueFd src(::openat(src_parent->get(), from_leaf.c_str(), kDirOpenFlags));
    if (!src.valid()) {
      if (errno == ENOENT) return not_found();
      return std::unexpected(ErrnoError(errno, "cannot open artifact folder", from));
    }
    if (::mkdirat(tmp_fd.get(), temp_name.c_str(), 0755) != 0) {
      return std::unexpected(ErrnoError(errno, "cannot create temp folder", temp_name));
    }
    UniqueFd dst(::openat(tmp_fd.get(), temp_name.c_str(), kDirOpenFlags));
    Status built =
        dst.valid()
            ? CopyFolderContents(src.get(), dst.get(), from_str, 0)
            : Status(std::unexpected(ErrnoError(errno, "cannot open temp folder", temp_name)));
    if (!built) {
      discard();
      return built;
    }
  } else {
    Status linked = LinkOrCopyAt(src_parent->get(), from_leaf, tmp_fd.get(), temp_name, from);
    if (!linked) {
      if (linked.error().code() == ErrorCode::kNotFound) return not_found();
      return linked;
    }
  }

  // Put it in place: never over anything (RENAME_NOREPLACE).
  for (int attempt = 0;; ++attempt) {
    size_t created = 0;
    auto parent = OpenFolder(to_parents, Walk::kCreate, to, &created);
    if (!parent) {
      discard();
      return std::unexpected(parent.error());
    }
    int rc = ::renameat2(tmp_fd.get(), temp_name.c_str(), parent->get(), to_leaf.c_str(),
                         RENAME_NOREPLACE);
    int err = rc == 0 ? 0 : errno;
    if (err == EINVAL) {
      // The filesystem lacks RENAME_NOREPLACE. A file: link() never replaces.
      // A folder: rename() fails over a non-empty folder or a file, and the
      // check closes the remaining window (an empty folder) but for a race.
      if (!is_folder) {
        rc = ::linkat(tmp_fd.get(), temp_name.c_str(), parent->get(), to_leaf.c_str(), 0);
        err = rc == 0 ? 0 : errno;
        if (rc == 0) ::unlinkat(tmp_fd.get(), temp_name.c_str(), 0);
      } else {
        struct stat dst_st;
        if (::fstatat(parent->get(), to_leaf.c_str(), &dst_st, AT_SYMLINK_NOFOLLOW) == 0) {
          err = EEXIST;
        } else {
          rc = ::renameat(tmp_fd.get(), temp_name.c_str(), parent->get(), to_leaf.c_str());
          err = rc == 0 ? 0 : errno;
        }
      }
    }
    if (err == 0) return local::FsyncDirFd(parent->get(), to);
    if (err == ENOENT && attempt + 1 < kMaxAttempts) continue;  // parent deleted meanwhile
    RemoveCreatedFolders(to_parents, created);
    discard();
    if (err == EEXIST || err == ENOTEMPTY || err == ENOTDIR || err == EISDIR) {
      return already_exists();
    }
    if (err == ENOENT) {
      return Unavailable("copy to '" + PrintableArtifactPath(to) +
                         "' kept racing with deletes; retry");
    }
    return std::unexpected(ErrnoError(err, "cannot create artifact", to));
  }
}

Result<LocalArtifactRepository::GcStats> LocalArtifactRepository::CollectGarbage() {
  GcStats stats;
  std::string objects = root_ + "/objects";
  DIR* shards = ::opendir(objects.c_str());
  if (shards == nullptr) return std::unexpected(ErrnoError(errno, "cannot list", objects));
  std::vector<std::string> shard_names;
  while (dirent* e = ::readdir(shards)) {
    std::string name = e->d_name;
    if (name.size() == 2) shard_names.push_back(std::move(name));
  }
  ::closedir(shards);
  for (const std::string& shard : shard_names) {
    std::string shard_dir = objects + "/" + shard;
    DIR* d = ::opendir(shard_dir.c_str());
    if (d == nullptr) continue;
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() == 62) names.push_back(std::move(name));
    }
    ::closedir(d);
    for (const std::string& name : names) {
      std::string object = shard_dir + "/" + name;
      struct stat st;
      if (::lstat(object.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) continue;
      // Move the object aside, then decide on the moved inode: an upload
      // that linked it in between raised its count, and it goes back.
      std::string aside = blobs_->tmp_dir() + "/" + local::TempName("gc-");
      if (::rename(object.c_str(), aside.c_str()) != 0) continue;
      if (::lstat(aside.c_str(), &st) == 0 && st.st_nlink == 1) {
        if (::unlink(aside.c_str()) == 0) {
          ++stats.objects_removed;
          stats.bytes_freed += static_cast<uint64_t>(st.st_size);
        }
        continue;
      }
      if (::link(aside.c_str(), object.c_str()) != 0 && errno != EEXIST) {
        CAIRN_LOG_WARN("artifacts gc: cannot put back {}: {}", object, std::strerror(errno));
        continue;  // keep the aside copy rather than lose the only name of a live object
      }
      ::unlink(aside.c_str());
    }
  }
  return stats;
}

}  // namespace cairn::blob
