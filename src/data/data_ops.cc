#include "data/data_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_set>

#include "blob/local/posix_file.h"
#include "data/object_batch.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;
using blob::local::ErrnoError;

// Temp files in the cache's tmp/ younger than this may belong to a transfer
// in flight (fetch does not take the repository lock), so gc leaves them.
constexpr time_t kStaleTempSeconds = 3600;

std::string JoinRepo(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT) return NotFound("'" + path + "' does not exist");
    return std::unexpected(ErrnoError(err, "cannot open", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Internal("cannot read '" + path + "'");
  return text.str();
}

Result<Pointer> ReadPointerAt(const Workspace& ws, const std::string& pointer_file) {
  CAIRN_ASSIGN_OR_RETURN(std::string text, ReadText(ws.Absolute(pointer_file).string()));
  return ParsePointer(text, pointer_file);
}

// The repo path a pointer file names: its folder joined with pointer.path.
Result<std::string> TrackedRepoPath(const std::string& pointer_file, const Pointer& p) {
  size_t slash = pointer_file.rfind('/');
  std::string dir = slash == std::string::npos ? "" : pointer_file.substr(0, slash);
  std::string rp = JoinRepo(dir, p.path);
  if (Status st = ValidateRepoPath(rp); !st) {
    return InvalidArgument(pointer_file + ": path '" + p.path +
                           "' is not allowed: " + st.error().message());
  }
  return rp;
}

// Walks `dir` (a repo path; "" for the root) collecting pointers.
Status Walk(const Workspace& ws, const std::string& dir, std::set<std::string>& tracked,
            std::vector<TrackedPath>& out) {
  std::string abs = dir.empty() ? ws.root.string() : ws.Absolute(dir).string();
  DIR* d = ::opendir(abs.c_str());
  if (d == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return {};
    return std::unexpected(ErrnoError(errno, "cannot list", abs));
  }
  std::vector<std::string> files, dirs;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
    }
    if (type == DT_DIR) {
      if (name == ".git" || (dir.empty() && name == kCairnDirName)) continue;
      dirs.push_back(std::move(name));
    } else if (type == DT_REG && name.size() > kPointerSuffix.size() &&
               name.ends_with(kPointerSuffix)) {
      files.push_back(std::move(name));
    }
  }
  ::closedir(d);
  std::sort(files.begin(), files.end());
  std::sort(dirs.begin(), dirs.end());
  for (const auto& f : files) {
    std::string pointer_file = JoinRepo(dir, f);
    CAIRN_ASSIGN_OR_RETURN(Pointer p, ReadPointerAt(ws, pointer_file));
    CAIRN_ASSIGN_OR_RETURN(std::string rp, TrackedRepoPath(pointer_file, p));
    tracked.insert(rp);
    out.push_back({std::move(pointer_file), std::move(rp), std::move(p)});
  }
  for (const auto& sub : dirs) {
    std::string rp = JoinRepo(dir, sub);
    if (tracked.contains(rp)) continue;  // a tracked folder's files are data, not pointers
    CAIRN_RETURN_IF_ERROR(Walk(ws, rp, tracked, out));
  }
  return {};
}

bool IsUnder(std::string_view path, std::string_view folder) {
  return path.size() > folder.size() && path.starts_with(folder) && path[folder.size()] == '/';
}

// A gitignore pattern that matches exactly "/<name>".
std::string GitignoreEntry(const std::string& name) {
  std::string out = "/";
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '*' || c == '?' || c == '[' || c == '\\') out += '\\';
    out += c;
  }
  // Trailing spaces are stripped by git unless escaped.
  size_t trailing = 0;
  while (trailing < out.size() - 1 && out[out.size() - 1 - trailing] == ' ') ++trailing;
  if (trailing > 0) {
    std::string head = out.substr(0, out.size() - trailing);
    for (size_t i = 0; i < trailing; ++i) head += "\\ ";
    out = head;
  }
  return out;
}

Status WriteAtomic(const std::string& file, std::string_view text) {
  size_t slash = file.rfind('/');
  std::string tmp = file.substr(0, slash + 1) + "." + blob::local::TempName("gitignore-");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(ErrnoError(errno, "cannot create", tmp));
  int err = blob::local::WriteAll(fd, text.data(), text.size());
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0) ::chmod(tmp.c_str(), 0644);
  if (err == 0 && ::rename(tmp.c_str(), file.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return std::unexpected(ErrnoError(err, "cannot write", file));
  }
  return {};
}

// The paths of a run cache entry ({"format":"cairn-run","outs":[...],
// "metrics":[...]}, pipeline/plan.h) as pointers: only kind and digest
// matter to gc. nullopt when the text is not such an entry.
std::optional<std::vector<Pointer>> RunCacheEntryPointers(const std::string& text) {
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (!j.is_object() || j.value("format", "") != "cairn-run") return std::nullopt;
    std::vector<Pointer> pointers;
    for (const char* list : {"outs", "metrics"}) {
      auto it = j.find(list);
      if (it == j.end()) continue;
      if (!it->is_array()) return std::nullopt;
      for (const auto& item : *it) {
        if (!item.is_object()) return std::nullopt;
        Pointer p;
        const std::string kind = item.value("kind", "");
        if (kind == "dir") {
          p.kind = PointerKind::kDir;
        } else if (kind != "file") {
          return std::nullopt;
        }
        p.digest = item.value("digest", "");
        if (!blob::IsValidDigest(p.digest)) return std::nullopt;
        pointers.push_back(std::move(p));
      }
    }
    return pointers;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

// True when every object `p` needs is in the cache and not in `removed`
// (what gc removed, or in a dry run would remove).
Result<bool> StillInCache(const Cache& cache, const Pointer& p,
                          const std::unordered_set<std::string>& removed) {
  if (removed.contains(p.digest)) return false;
  auto objects = cache.ObjectsOf(p);
  if (!objects) {
    if (objects.error().code() == ErrorCode::kNotFound) return false;  // manifest gone
    return std::unexpected(objects.error());
  }
  for (const auto& digest : *objects) {
    if (removed.contains(digest)) return false;
    CAIRN_ASSIGN_OR_RETURN(bool has, cache.Has(digest));
    if (!has) return false;
  }
  return true;
}

// Removes (or in a dry run counts) the run cache entries that need an object
// the cache no longer has.
Status PruneRunCache(const Cache& cache, const std::unordered_set<std::string>& removed,
                     bool dry_run, GcSummary& summary) {
  const std::string dir = cache.RunsDir();
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return {};
    return std::unexpected(ErrnoError(errno, "cannot list", dir));
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    constexpr std::string_view kSuffix = ".json";
    if (name.size() > kSuffix.size() && name.ends_with(kSuffix) &&
        blob::IsValidDigest(std::string_view(name).substr(0, name.size() - kSuffix.size()))) {
      names.push_back(std::move(name));
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const std::string path = dir + "/" + name;
    auto text = ReadText(path);
    if (!text) {
      if (text.error().code() == ErrorCode::kNotFound) continue;
      return std::unexpected(text.error());
    }
    std::optional<std::vector<Pointer>> pointers = RunCacheEntryPointers(*text);
    if (!pointers) continue;  // not an entry we understand: not ours to judge
    bool complete = true;
    for (const auto& p : *pointers) {
      CAIRN_ASSIGN_OR_RETURN(complete, StillInCache(cache, p, removed));
      if (!complete) break;
    }
    if (complete) continue;
    if (!dry_run && ::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) continue;
      return std::unexpected(ErrnoError(errno, "cannot remove", path));
    }
    ++summary.run_cache_entries_removed;
  }
  return {};
}

}  // namespace

Result<std::vector<TrackedPath>> FindPointers(const Workspace& ws) {
  std::set<std::string> tracked;
  std::vector<TrackedPath> out;
  CAIRN_RETURN_IF_ERROR(Walk(ws, "", tracked, out));
  std::sort(out.begin(), out.end(),
            [](const TrackedPath& a, const TrackedPath& b) { return a.repo_path < b.repo_path; });
  return out;
}

Result<std::vector<TrackedPath>> SelectPointers(const Workspace& ws,
                                                const std::vector<std::string>& targets) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<TrackedPath> all, FindPointers(ws));
  if (targets.empty()) return all;
  std::vector<char> chosen(all.size(), 0);
  for (const auto& t : targets) {
    bool any = false;
    for (size_t i = 0; i < all.size(); ++i) {
      const TrackedPath& tp = all[i];
      if (tp.repo_path == t || tp.pointer_file == t || IsUnder(tp.repo_path, t) ||
          IsUnder(tp.pointer_file, t)) {
        chosen[i] = 1;
        any = true;
      }
    }
    if (!any) {
      return NotFound("'" + t + "' is not tracked (no " + t + std::string(kPointerSuffix) +
                      ", and no pointers below it); track it with: cairn data add " + t);
    }
  }
  std::vector<TrackedPath> out;
  for (size_t i = 0; i < all.size(); ++i) {
    if (chosen[i]) out.push_back(std::move(all[i]));
  }
  return out;
}

Result<std::vector<AddResult>> AddPaths(Cache& cache, const std::vector<std::string>& repo_paths,
                                        LinkMode mode) {
  const Workspace& ws = cache.workspace();
  CAIRN_ASSIGN_OR_RETURN(std::vector<TrackedPath> tracked, FindPointers(ws));
  // Check every target before storing anything.
  std::set<std::string> seen;
  for (const auto& rp : repo_paths) {
    CAIRN_RETURN_IF_ERROR(ValidateRepoPath(rp));
    if (!seen.insert(rp).second) return InvalidArgument("'" + rp + "' is given twice");
    if (rp.ends_with(kPointerSuffix)) {
      return InvalidArgument("'" + rp + "' is a pointer file; add the data it points to instead");
    }
    for (const auto& tp : tracked) {
      if (IsUnder(rp, tp.repo_path)) {
        return InvalidArgument("'" + rp + "' is inside the tracked folder '" + tp.repo_path +
                               "'; add the folder again instead: cairn data add " + tp.repo_path);
      }
      if (IsUnder(tp.repo_path, rp)) {
        return InvalidArgument("'" + rp + "' contains the tracked path '" + tp.repo_path + "' (" +
                               tp.pointer_file + "); remove that pointer first");
      }
    }
    for (const auto& other : repo_paths) {
      if (IsUnder(other, rp)) {
        return InvalidArgument("'" + other + "' is inside '" + rp + "'; add one of them");
      }
    }
    std::string abs = ws.Absolute(rp).string();
    struct stat st;
    if (::lstat(abs.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) {
        return NotFound("'" + rp + "' does not exist");
      }
      return std::unexpected(ErrnoError(errno, "cannot stat", abs));
    }
    if (S_ISLNK(st.st_mode)) {
      return InvalidArgument("'" + rp +
                             "' is a symlink; only regular files and folders can be "
                             "tracked");
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
      return InvalidArgument("'" + rp + "' is not a regular file or folder");
    }
  }

  std::vector<AddResult> results;
  for (const auto& rp : repo_paths) {
    AddResult r;
    r.repo_path = rp;
    r.pointer_file = rp + std::string(kPointerSuffix);
    const fs::path pointer_abs = ws.Absolute(r.pointer_file);
    std::optional<Pointer> old;
    auto existing = ReadPointerAt(ws, r.pointer_file);
    if (existing) {
      old = std::move(*existing);
    } else if (existing.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(existing.error());  // an invalid pointer is reported, not rewritten
    }
    CAIRN_ASSIGN_OR_RETURN(r.pointer, cache.Commit(rp, mode, &r.stats));
    r.changed = !old || *old != r.pointer;
    if (r.changed) CAIRN_RETURN_IF_ERROR(WritePointer(pointer_abs, r.pointer));
    const fs::path abs = ws.Absolute(rp);
    CAIRN_RETURN_IF_ERROR(EnsureGitIgnored(abs.parent_path().string(), abs.filename().string()));
    results.push_back(std::move(r));
  }
  return results;
}

Result<std::vector<StatusEntry>> DataStatus(Cache& cache, const std::vector<std::string>& targets) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<TrackedPath> selected,
                         SelectPointers(cache.workspace(), targets));
  std::vector<StatusEntry> out;
  out.reserve(selected.size());
  for (auto& tp : selected) {
    StatusEntry e;
    CAIRN_ASSIGN_OR_RETURN(e.workspace, cache.Compare(tp.repo_path, tp.pointer));
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> missing, cache.MissingObjects(tp.pointer));
    e.in_cache = missing.empty();
    e.tracked = std::move(tp);
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<CheckoutResult>> CheckoutPaths(Cache& cache,
                                                  const std::vector<std::string>& targets,
                                                  LinkMode mode, bool force) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<TrackedPath> selected,
                         SelectPointers(cache.workspace(), targets));
  std::vector<CheckoutResult> out;
  std::optional<Error> first;
  std::vector<std::string> failed;
  for (const auto& tp : selected) {
    CheckoutResult r;
    r.repo_path = tp.repo_path;
    Status st = cache.Checkout(tp.repo_path, tp.pointer, mode, force, &r.stats);
    if (!st) {
      // Keep going: one missing object should not stop the other paths.
      if (!first) first = st.error();
      failed.push_back(tp.repo_path);
      continue;
    }
    out.push_back(std::move(r));
  }
  if (first) {
    if (failed.size() == 1) return std::unexpected(*first);
    std::string names;
    for (const auto& f : failed) names += (names.empty() ? "" : ", ") + f;
    return std::unexpected(Error(
        first->code(),
        first->message() + " (" + std::to_string(failed.size()) + " paths failed: " + names + ")"));
  }
  return out;
}

Result<GcSummary> CollectGarbage(Cache& cache, const std::vector<Pointer>& extra_roots,
                                 bool dry_run) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<TrackedPath> tracked, FindPointers(cache.workspace()));
  std::vector<Pointer> roots;
  roots.reserve(tracked.size() + extra_roots.size());
  for (auto& tp : tracked) roots.push_back(std::move(tp.pointer));
  roots.insert(roots.end(), extra_roots.begin(), extra_roots.end());

  std::unordered_set<std::string> keep;
  for (const auto& p : roots) {
    keep.insert(p.digest);
    if (p.kind != PointerKind::kDir) continue;
    auto objects = cache.ObjectsOf(p);
    if (!objects) {
      if (objects.error().code() == ErrorCode::kNotFound) continue;  // never pulled
      return std::unexpected(objects.error());
    }
    keep.insert(objects->begin(), objects->end());
  }

  GcSummary summary;
  std::unordered_set<std::string> removed;  // digests removed (dry run: that would be)
  const std::string root = cache.blobs().root();
  const std::string objects_dir = root + "/objects";
  DIR* d = ::opendir(objects_dir.c_str());
  if (d == nullptr) return std::unexpected(ErrnoError(errno, "cannot list", objects_dir));
  std::vector<std::string> shards;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() == 2) shards.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(shards.begin(), shards.end());
  for (const auto& shard : shards) {
    std::string shard_dir = objects_dir + "/" + shard;
    DIR* sd = ::opendir(shard_dir.c_str());
    if (sd == nullptr) continue;
    std::vector<std::string> names;
    while (dirent* e = ::readdir(sd)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(sd);
    for (const auto& name : names) {
      std::string digest = shard + name;
      if (name.starts_with(ObjectBatch::kTempPrefix)) {
        // An object being written (object_batch.h), or left by a crash once old.
        std::string path = shard_dir + "/" + name;
        struct stat st;
        if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            st.st_mtime < ::time(nullptr) - kStaleTempSeconds &&
            (dry_run || ::unlink(path.c_str()) == 0)) {
          ++summary.temp_files_removed;
        }
        continue;
      }
      if (!blob::IsValidDigest(digest)) continue;  // not ours: leave it
      if (keep.contains(digest)) {
        ++summary.objects_kept;
        continue;
      }
      std::string path = shard_dir + "/" + name;
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0) continue;
      if (!dry_run && ::unlink(path.c_str()) != 0) {
        if (errno == ENOENT) continue;
        return std::unexpected(ErrnoError(errno, "cannot remove", path));
      }
      ++summary.objects_removed;
      summary.bytes_removed += static_cast<uint64_t>(st.st_size);
      removed.insert(std::move(digest));
    }
    if (!dry_run) ::rmdir(shard_dir.c_str());  // only when now empty
  }

  const std::string tmp_dir = root + "/tmp";
  DIR* td = ::opendir(tmp_dir.c_str());
  if (td != nullptr) {
    const time_t cutoff = ::time(nullptr) - kStaleTempSeconds;
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(td)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st;
      if (::fstatat(::dirfd(td), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISREG(st.st_mode) && st.st_mtime < cutoff) stale.push_back(tmp_dir + "/" + name);
    }
    ::closedir(td);
    for (const auto& path : stale) {
      if (dry_run || ::unlink(path.c_str()) == 0) ++summary.temp_files_removed;
    }
  }
  CAIRN_RETURN_IF_ERROR(PruneRunCache(cache, removed, dry_run, summary));
  return summary;
}

Status EnsureGitIgnored(const std::string& folder, const std::string& name) {
  const std::string file = folder + "/.gitignore";
  const std::string entry = GitignoreEntry(name);
  std::string text;
  auto existing = ReadText(file);
  if (existing) {
    text = std::move(*existing);
  } else if (existing.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(existing.error());
  }
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == entry) return {};
  }
  if (!text.empty() && text.back() != '\n') text += '\n';
  text += entry;
  text += '\n';
  return WriteAtomic(file, text);
}

}  // namespace cairn::data
