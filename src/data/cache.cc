#include "data/cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "blob/local/posix_file.h"
#include "core/hash.h"
#include "core/parallel.h"
#include "data/object_batch.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;
using blob::local::ErrnoError;

int64_t NowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

FileStat FromStat(const struct stat& st) {
  FileStat f;
  f.size = static_cast<uint64_t>(st.st_size);
  f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  f.inode = static_cast<uint64_t>(st.st_ino);
  f.exec = (st.st_mode & S_IXUSR) != 0;
  f.dev = static_cast<uint64_t>(st.st_dev);
  f.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return f;
}

std::string LastComponent(std::string_view repo_path) {
  size_t slash = repo_path.rfind('/');
  return std::string(slash == std::string_view::npos ? repo_path : repo_path.substr(slash + 1));
}

std::string PullHint(std::string_view repo_path) {
  return "; `cairn data pull " + std::string(repo_path) + "` fetches it from a remote";
}

std::string HandEditHint(std::string_view repo_path) {
  return ": the pointer file was edited by hand; restore it from git (`git checkout -- " +
         std::string(repo_path) + ".cairn`) or run `cairn data add " + std::string(repo_path) +
         "` again";
}

// A temporary name next to `dest` (same folder, so rename is atomic).
std::string TempBeside(const std::string& dest) {
  size_t slash = dest.rfind('/');
  std::string dir = slash == std::string::npos ? "." : dest.substr(0, slash);
  return dir + "/." + blob::local::TempName("cairn-tmp-");
}

// Copies the open file `in` (from its offset) to the new file `temp` with
// `mode`, feeding the bytes to `hasher` when given. Removes `temp` on error.
Status CopyFdToNewFile(int in, const std::string& src, const std::string& temp, mode_t mode,
                       Sha256* hasher) {
  blob::local::UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!out.valid()) return std::unexpected(ErrnoError(errno, "cannot create", temp));
  thread_local std::vector<char> buffer(1 << 20);
  for (;;) {
    int64_t n = blob::local::ReadSome(in, buffer.data(), buffer.size());
    if (n < 0) {
      ::unlink(temp.c_str());
      return std::unexpected(ErrnoError(static_cast<int>(-n), "cannot read", src));
    }
    if (n == 0) break;
    if (hasher) hasher->Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    if (int err = blob::local::WriteAll(out.get(), buffer.data(), static_cast<size_t>(n));
        err != 0) {
      ::unlink(temp.c_str());
      return std::unexpected(ErrnoError(err, "cannot write", temp));
    }
  }
  if (::close(out.Release()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return std::unexpected(ErrnoError(err, "cannot write", temp));
  }
  return {};
}

// Copies `src` to the new file `temp` with `mode`. Removes `temp` on error.
Status CopyFileTo(const std::string& src, const std::string& temp, mode_t mode) {
  blob::local::UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return std::unexpected(ErrnoError(errno, "cannot open", src));
  CAIRN_RETURN_IF_ERROR(CopyFdToNewFile(in.get(), src, temp, mode, nullptr));
  // The umask may have cut the mode; the workspace gets exactly `mode`.
  ::chmod(temp.c_str(), mode);
  return {};
}

// As above, returning the digest of the bytes copied.
Result<std::string> CopyFdToNewFile(int in, const std::string& src, const std::string& temp,
                                    mode_t mode) {
  Sha256 hasher;
  CAIRN_RETURN_IF_ERROR(CopyFdToNewFile(in, src, temp, mode, &hasher));
  return hasher.HexDigest();
}

// Makes `dest` hold the object at `object`: a hard link (kHardlink, non-exec
// files; a read-only copy when linking fails, e.g. across filesystems) or a
// copy (kCopy: 0644/0755), by temp + rename; a link where nothing is at
// `dest` yet (a fresh checkout) is made there directly: link() never
// replaces, so the name appears at once, complete. Returns the new file's
// stat. `linked` tells whether the result shares the object's inode.
Result<FileStat> PlaceFile(const std::string& object, const std::string& dest, LinkMode mode,
                           bool exec, bool* linked) {
  *linked = false;
  bool try_link = mode == LinkMode::kHardlink && !exec;
  if (try_link) {
    if (::link(object.c_str(), dest.c_str()) == 0) {
      *linked = true;
      struct stat st;
      if (::lstat(dest.c_str(), &st) != 0)
        return std::unexpected(ErrnoError(errno, "cannot stat", dest));
      return FromStat(st);
    }
    if (errno == EXDEV || errno == EMLINK || errno == EPERM) {
      try_link = false;  // a copy, below
    } else if (errno != EEXIST) {
      return std::unexpected(ErrnoError(errno, "cannot link cache object to", dest));
    }
  }
  std::string temp = TempBeside(dest);
  bool done = false;
  if (try_link) {
    if (::link(object.c_str(), temp.c_str()) == 0) {
      done = true;
      *linked = true;
    } else if (errno != EXDEV && errno != EMLINK && errno != EPERM) {
      return std::unexpected(ErrnoError(errno, "cannot link cache object to", dest));
    }
  }
  if (!done) {
    mode_t m = mode == LinkMode::kHardlink ? (exec ? 0555 : 0444) : (exec ? 0755 : 0644);
    CAIRN_RETURN_IF_ERROR(CopyFileTo(object, temp, m));
  }
  if (::rename(temp.c_str(), dest.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return std::unexpected(ErrnoError(err, "cannot replace", dest));
  }
  struct stat st;
  if (::lstat(dest.c_str(), &st) != 0)
    return std::unexpected(ErrnoError(errno, "cannot stat", dest));
  return FromStat(st);
}

// A permutation of [0, n) that visits `lanes` equal stretches in turn
// (0, L, 2L, ..., 1, L+1, ...): consecutive positions are far apart.
std::vector<size_t> InterleaveLanes(size_t n, size_t lanes) {
  lanes = std::max<size_t>(1, std::min(lanes, n));
  std::vector<size_t> order;
  order.reserve(n);
  if (n == 0) return order;
  const size_t length = (n + lanes - 1) / lanes;
  for (size_t i = 0; i < length; ++i) {
    for (size_t lane = 0; lane < lanes; ++lane) {
      size_t pos = lane * length + i;
      if (pos < n) order.push_back(pos);
    }
  }
  return order;
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return Internal("cannot remove '" + path + "': " + ec.message());
  return {};
}

// Removes empty folders below `dir` (not `dir` itself), deepest first.
void PruneEmptyDirs(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> dirs;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) dirs.push_back(it->path());
  }
  std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
    return a.native().size() > b.native().size();
  });
  for (const auto& d : dirs) ::rmdir(d.c_str());  // fails (harmlessly) unless empty
}

std::string JoinNames(const std::vector<std::string>& names, size_t max_shown = 10) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max_shown; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > max_shown) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

}  // namespace

std::string_view PathStateName(PathState state) {
  switch (state) {
    case PathState::kUnchanged:
      return "unchanged";
    case PathState::kModified:
      return "modified";
    case PathState::kMissing:
      return "missing";
  }
  return "unknown";
}

Result<std::unique_ptr<Cache>> Cache::Open(const Workspace& ws, const DataConfig& config) {
  CAIRN_ASSIGN_OR_RETURN(auto blobs, blob::LocalBlobStore::OpenAt(CacheDirFor(ws, config)));
  CAIRN_RETURN_IF_ERROR(blob::local::MakeDirs(ws.TmpDir().string()));
  CAIRN_ASSIGN_OR_RETURN(auto stat_cache, StatCache::Open(ws.StatCacheFile().string()));
  return std::unique_ptr<Cache>(
      new Cache(ws, std::move(blobs), std::move(stat_cache), std::max(0, config.jobs)));
}

HashOptions Cache::hash_options() const {
  HashOptions options;
  options.jobs = jobs_;
  options.cache = stat_cache_.get();
  options.progress = progress_;
  return options;
}

std::string Cache::RunsDir() const {
  std::string dir = blobs_->root() + "/runs";
  (void)blob::local::MakeDirs(dir);
  return dir;
}

Result<Pointer> Cache::Describe(std::string_view repo_path, HashStats* stats) {
  CAIRN_ASSIGN_OR_RETURN(auto described, DescribeWithManifest(repo_path, stats));
  return std::move(described.first);
}

Result<std::pair<Pointer, Manifest>> Cache::DescribeWithManifest(std::string_view repo_path,
                                                                 HashStats* stats) {
  return DescribeImpl(repo_path, hash_options(), stats);
}

Result<std::pair<Pointer, Manifest>> Cache::DescribeImpl(std::string_view repo_path,
                                                         const HashOptions& options,
                                                         HashStats* stats) {
  const std::string abs = ws_.Absolute(repo_path).string();
  struct stat st;
  if (::lstat(abs.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return NotFound("'" + std::string(repo_path) + "' does not exist");
    }
    return std::unexpected(ErrnoError(errno, "cannot stat", abs));
  }
  Pointer p;
  p.path = LastComponent(repo_path);
  Manifest manifest;
  if (S_ISREG(st.st_mode)) {
    CAIRN_ASSIGN_OR_RETURN(auto hashed, HashFiles({abs}, options, stats));
    p.kind = PointerKind::kFile;
    p.digest = hashed[0].digest;
    p.size = hashed[0].stat.size;
  } else if (S_ISDIR(st.st_mode)) {
    auto built = BuildManifest(abs, options, stats);
    if (!built) {
      const Error& e = built.error();
      return std::unexpected(Error(e.code(), std::string(repo_path) + ": " + e.message()));
    }
    manifest = std::move(*built);
    p.kind = PointerKind::kDir;
    p.digest = ManifestDigest(manifest);
    p.size = manifest.TotalSize();
    p.files = manifest.files.size();
  } else if (S_ISLNK(st.st_mode)) {
    return InvalidArgument("'" + std::string(repo_path) +
                           "' is a symlink; only regular files and folders can be tracked");
  } else {
    return InvalidArgument("'" + std::string(repo_path) +
                           "' is not a regular file or folder; it cannot be tracked");
  }
  return std::pair<Pointer, Manifest>(std::move(p), std::move(manifest));
}

Result<Pointer> Cache::Commit(std::string_view repo_path, LinkMode mode, CommitStats* stats) {
  CommitStats local;
  auto result = CommitImpl(repo_path, mode, &local);
  if (!result && result.error().code() == ErrorCode::kResourceExhausted) {
    return std::unexpected(Error(ErrorCode::kResourceExhausted,
                                 "adding '" + std::string(repo_path) + "': out of disk space (" +
                                     result.error().message() +
                                     "); nothing was recorded and the cache is consistent: free "
                                     "space and run the command again"));
  }
  if (result && stats != nullptr) *stats = local;
  return result;
}

// Writing new objects: each file the cache lacks is staged as a temp file
// beside its object name while its bytes are read for hashing (one read): with
// kHardlink the workspace inode itself is adopted (made read-only and linked
// to a temp name through /proc/self/fd, so exactly the hashed inode is
// stored), otherwise (kCopy, executables, another file system) it is copied
// and hashed again while copying. One ObjectBatch::Install then flushes and
// renames them all (object_batch.h). The manifest is stored after that, so a
// folder's digest only exists in the cache when all its files do.
Result<Pointer> Cache::CommitImpl(std::string_view repo_path, LinkMode mode, CommitStats* out) {
  CommitStats& local = *out;
  const std::string abs = ws_.Absolute(repo_path).string();
  ObjectBatch batch(blobs_->root());
  CAIRN_RETURN_IF_ERROR(batch.EnsureLayout());
  struct stat objects_st;
  const std::string objects_dir = blobs_->root() + "/objects";
  if (::stat(objects_dir.c_str(), &objects_st) != 0) {
    return std::unexpected(ErrnoError(errno, "cannot stat", objects_dir));
  }
  std::atomic<uint64_t> bytes_staged{0};
  std::atomic<uint64_t> linked_durable{0};
  // Set before hashing: so few files are new that each is flushed on its own
  // (fsync) rather than the whole file system (syncfs) once.
  std::atomic<bool> few_new{false};
  std::mutex adopted_mu;
  std::unordered_set<std::string> adopted;  // workspace paths whose inode is now a staged object

  // Stages the open file `fd` (bytes hashing to `digest`) unless the cache
  // has or stages that object already. Sets *adopted_inode when the file's
  // inode itself became the object.
  auto stage = [&](const std::string& path, int fd, const std::string& digest, const FileStat& st,
                   bool* adopted_inode) -> Status {
    *adopted_inode = false;
    if (batch.Staged(digest)) return {};
    // The shard folder first: Exists needs no syscall when this batch made it.
    CAIRN_ASSIGN_OR_RETURN(ObjectBatch::Temp slot, batch.NewTemp(digest));
    CAIRN_ASSIGN_OR_RETURN(bool exists, batch.Exists(digest));
    if (exists) return {};
    // The workspace inode itself becomes the object: read-only first.
    const bool adoptable = mode == LinkMode::kHardlink && !st.exec && st.dev == objects_st.st_dev &&
                           ::fchmod(fd, 0444) == 0;
    if (adoptable) {
      // Linked under its final name now, no temp file, once its data is on
      // disk: flushed on its own when few files are new, else known to be
      // older than the command's one file-system flush (ObjectBatch).
      bool durable = false;
      if (few_new.load(std::memory_order_relaxed)) {
        CAIRN_RETURN_IF_ERROR(batch.FlushFile(fd, path));
        durable = true;
      } else if (ObjectBatch::DurableAfterFlush(st.ctime_ns, NowNs())) {
        CAIRN_ASSIGN_OR_RETURN(int64_t flushed_ns, batch.FlushOnce());
        durable = ObjectBatch::DurableAfterFlush(st.ctime_ns, flushed_ns);
      }
      if (durable) {
        auto placed = batch.LinkDurable(fd, digest);
        if (placed) {
          if (*placed) {
            bytes_staged.fetch_add(st.size, std::memory_order_relaxed);
            linked_durable.fetch_add(1, std::memory_order_relaxed);
          }
          *adopted_inode = *placed;
          return {};
        }
        // Not linked (e.g. no /proc): a temp file as below.
      }
    }
    const std::string& temp = slot.path;
    bool linked = false;
    if (adoptable) {
      std::string proc = "/proc/self/fd/" + std::to_string(fd);
      linked =
          ::linkat(AT_FDCWD, proc.c_str(), slot.dir_fd, slot.name.c_str(), AT_SYMLINK_FOLLOW) == 0;
    }
    if (!linked) {
      // A copy, hashed again while copying: the object must hold `digest`.
      if (::lseek(fd, 0, SEEK_SET) != 0) {
        return std::unexpected(ErrnoError(errno, "cannot rewind", path));
      }
      CAIRN_ASSIGN_OR_RETURN(std::string copied, CopyFdToNewFile(fd, path, temp, 0444));
      if (copied != digest) {
        ::unlink(temp.c_str());
        return FailedPrecondition("'" + path + "' changed while it was being added; retry");
      }
    }
    if (!batch.Stage(temp, digest)) {
      ::unlink(temp.c_str());  // another thread staged the same content first
      return {};
    }
    bytes_staged.fetch_add(st.size, std::memory_order_relaxed);
    *adopted_inode = linked;
    return {};
  };

  HashOptions options = hash_options();
  options.before_hashing = [&](size_t files_to_hash) {
    few_new.store(files_to_hash <= ObjectBatch::kPerFileMaxObjects, std::memory_order_relaxed);
  };
  options.on_hashed = [&](const std::string& path, int fd, const std::string& digest,
                          const FileStat& st) -> Status {
    bool adopted_inode = false;
    CAIRN_RETURN_IF_ERROR(stage(path, fd, digest, st, &adopted_inode));
    if (adopted_inode) {
      std::lock_guard lock(adopted_mu);
      adopted.insert(path);
    }
    return {};
  };
  CAIRN_ASSIGN_OR_RETURN(auto described, DescribeImpl(repo_path, options, &local.hash));
  Pointer& pointer = described.first;
  const Manifest& manifest = described.second;

  struct Item {
    std::string path;  // absolute workspace path
    std::string digest;
    uint64_t size;
    bool exec;
  };
  std::vector<Item> items;
  if (pointer.kind == PointerKind::kFile) {
    struct stat st;
    bool exec = ::lstat(abs.c_str(), &st) == 0 && (st.st_mode & S_IXUSR) != 0;
    items.push_back({abs, pointer.digest, pointer.size, exec});
  } else {
    items.reserve(manifest.files.size());
    for (const auto& f : manifest.files)
      items.push_back({abs + "/" + f.path, f.digest, f.size, f.exec});
  }
  local.files = items.size();

  std::mutex mu;
  std::vector<StatCache::Entry> relinked;
  // kHardlink: makes the workspace file a read-only hard link to its object
  // (already durable under its final name) unless it is one already.
  auto link_to_object = [&](const Item& item, const struct stat& obj_st) -> Status {
    struct stat ws_st;
    if (::lstat(item.path.c_str(), &ws_st) != 0) {
      return std::unexpected(ErrnoError(errno, "cannot stat", item.path));
    }
    if (ws_st.st_ino == obj_st.st_ino && ws_st.st_dev == obj_st.st_dev) return {};
    if (ws_st.st_dev != obj_st.st_dev) return {};  // another filesystem: keep the file
    bool linked = false;
    CAIRN_ASSIGN_OR_RETURN(FileStat placed, PlaceFile(blobs_->ObjectPath(item.digest), item.path,
                                                      LinkMode::kHardlink, false, &linked));
    if (linked) {
      // The object is immutable: its digest is known without hashing.
      std::lock_guard lock(mu);
      relinked.push_back({item.path, placed, item.digest});
    }
    return {};
  };
  const bool relink = mode == LinkMode::kHardlink;

  // Files whose object neither exists nor was staged while hashing (stat
  // cache hits whose object is gone): read, verified and staged now. Items
  // waiting for a staged object are linked after the install.
  std::vector<char> after_install(items.size(), 0);
  std::vector<std::string> to_store;
  std::vector<size_t> to_store_idx;
  CAIRN_RETURN_IF_ERROR(ParallelFor(items.size(), jobs_, [&](size_t i) -> Status {
    const Item& item = items[i];
    if (!adopted.empty() && adopted.contains(item.path)) return {};
    if (batch.Staged(item.digest)) {
      after_install[i] = relink && !item.exec;
      return {};
    }
    struct stat obj_st;
    if (::stat(blobs_->ObjectPath(item.digest).c_str(), &obj_st) == 0) {
      if (relink && !item.exec) return link_to_object(item, obj_st);
      return {};
    }
    if (errno != ENOENT) {
      return std::unexpected(ErrnoError(errno, "cannot stat", blobs_->ObjectPath(item.digest)));
    }
    std::lock_guard lock(mu);
    to_store.push_back(item.path);
    to_store_idx.push_back(i);
    return {};
  }));
  if (!to_store.empty()) {
    HashOptions verify;
    verify.jobs = jobs_;
    std::vector<char> adopted_now(items.size(), 0);
    std::unordered_map<std::string, size_t> index;
    for (size_t k = 0; k < to_store.size(); ++k) index.emplace(to_store[k], to_store_idx[k]);
    verify.on_hashed = [&](const std::string& path, int fd, const std::string& digest,
                           const FileStat& st) -> Status {
      size_t i = index.at(path);
      if (digest != items[i].digest) {
        return FailedPrecondition("'" + path + "' changed while it was being added; retry");
      }
      bool adopted_inode = false;
      CAIRN_RETURN_IF_ERROR(stage(path, fd, digest, st, &adopted_inode));
      adopted_now[i] = adopted_inode;
      return {};
    };
    CAIRN_RETURN_IF_ERROR(HashFiles(to_store, verify));
    for (size_t i : to_store_idx) {
      after_install[i] = relink && !items[i].exec && !adopted_now[i];
    }
  }

  CAIRN_RETURN_IF_ERROR(batch.Install(jobs_));
  local.objects_added = batch.installed();
  local.objects_linked_durable = linked_durable.load();
  local.bytes_added = bytes_staged.load();

  CAIRN_RETURN_IF_ERROR(ParallelFor(items.size(), jobs_, [&](size_t i) -> Status {
    if (!after_install[i]) return {};
    struct stat obj_st;
    std::string object = blobs_->ObjectPath(items[i].digest);
    if (::stat(object.c_str(), &obj_st) != 0) {
      return std::unexpected(ErrnoError(errno, "cannot stat", object));
    }
    return link_to_object(items[i], obj_st);
  }));
  if (!relinked.empty()) CAIRN_RETURN_IF_ERROR(stat_cache_->PutBatch(relinked));

  if (pointer.kind == PointerKind::kDir) {
    // Stored last: a folder's digest exists in the cache only when all its files do.
    CAIRN_ASSIGN_OR_RETURN(bool have_manifest, Has(pointer.digest));
    if (!have_manifest) {
      std::string json = CanonicalManifestJson(manifest);
      CAIRN_ASSIGN_OR_RETURN(std::string digest, blobs_->PutBytes(json));
      if (digest != pointer.digest) {
        return Internal("manifest digest mismatch for '" + std::string(repo_path) + "'");
      }
      ++local.objects_added;
      local.bytes_added += json.size();
    }
  }
  return pointer;
}

Status Cache::Checkout(std::string_view repo_path, const Pointer& pointer, LinkMode mode,
                       bool force, CheckoutStats* stats) {
  CheckoutStats local;
  const std::string rp(repo_path);
  const std::string abs = ws_.Absolute(repo_path).string();
  HashOptions options = hash_options();
  options.progress = nullptr;  // progress counts the files written, not the ones checked
  std::vector<StatCache::Entry> cache_entries;
  auto remember = [&](const std::string& path, const FileStat& st, const std::string& digest,
                      bool linked) {
    // A link to an object is immutable content; a fresh copy could be
    // rewritten within the same mtime tick, so it waits for the racy window.
    if (linked || st.mtime_ns + RacyWindowNs(st, options) <= NowNs()) {
      cache_entries.push_back({path, st, digest});
    }
  };
  // Whether the content of a workspace file is safe to replace: it matches
  // the cache (so it can be restored) or force is set.
  auto in_cache = [&](const std::string& digest) -> Result<bool> { return Has(digest); };

  // The desired files: relative path ("" for a file pointer) -> entry.
  std::vector<ManifestEntry> wanted;
  if (pointer.kind == PointerKind::kFile) {
    CAIRN_ASSIGN_OR_RETURN(bool have, Has(pointer.digest));
    if (!have) {
      return NotFound(rp + ": object " + pointer.digest.substr(0, 12) + " is not in the cache" +
                      PullHint(rp));
    }
    // A pointer edited by hand can keep a valid digest with a wrong size:
    // refuse rather than record a workspace that disagrees with it.
    CAIRN_ASSIGN_OR_RETURN(uint64_t object_size, blobs().Size(pointer.digest));
    if (object_size != pointer.size) {
      return InvalidArgument(rp + ": its pointer says " + std::to_string(pointer.size) +
                             " bytes, but object " + pointer.digest.substr(0, 12) + " has " +
                             std::to_string(object_size) + HandEditHint(rp));
    }
    wanted.push_back({"", pointer.digest, pointer.size, false});
  } else {
    auto manifest = LoadManifest(pointer.digest);
    if (!manifest) {
      if (manifest.error().code() == ErrorCode::kNotFound) {
        return NotFound(rp + ": its manifest " + pointer.digest.substr(0, 12) +
                        " is not in the cache" + PullHint(rp));
      }
      return std::unexpected(manifest.error());
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> missing, MissingObjects(pointer));
    if (!missing.empty()) {
      return NotFound(rp + ": " + std::to_string(missing.size()) +
                      " object(s) are not in the cache" + PullHint(rp));
    }
    const uint64_t pointer_files = pointer.files.value_or(0);
    if (manifest->TotalSize() != pointer.size || manifest->files.size() != pointer_files) {
      return InvalidArgument(rp + ": its pointer says " + std::to_string(pointer_files) +
                             " file(s) and " + std::to_string(pointer.size) +
                             " bytes, but manifest " + pointer.digest.substr(0, 12) + " has " +
                             std::to_string(manifest->files.size()) + " and " +
                             std::to_string(manifest->TotalSize()) + HandEditHint(rp));
    }
    wanted = std::move(manifest->files);
  }
  local.files = wanted.size();

  struct stat st;
  bool exists = ::lstat(abs.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) return std::unexpected(ErrnoError(errno, "cannot stat", abs));

  // Decide everything before writing anything.
  std::vector<size_t> to_write;
  std::vector<std::string> to_remove;  // absolute paths of files or folders
  bool remove_whole = false;           // the path holds the wrong kind

  if (exists) {
    bool kind_ok = pointer.kind == PointerKind::kFile ? S_ISREG(st.st_mode) : S_ISDIR(st.st_mode);
    if (!kind_ok) {
      // A folder where a file belongs (or the reverse, or a symlink): its
      // content must be recoverable from the cache, else force.
      if (!force) {
        if (S_ISREG(st.st_mode)) {
          CAIRN_ASSIGN_OR_RETURN(auto h, HashFiles({abs}, options));
          CAIRN_ASSIGN_OR_RETURN(bool ok, in_cache(h[0].digest));
          if (!ok) {
            return FailedPrecondition(rp +
                                      " is a file with changes not in the cache; it would "
                                      "be replaced by a folder (use --force)");
          }
        } else if (S_ISDIR(st.st_mode)) {
          auto tree = HashTree(abs, options);
          if (!tree) {
            return FailedPrecondition(rp + " is a folder that cannot be checked (" +
                                      tree.error().message() + "); use --force to replace it");
          }
          std::vector<std::string> unsaved;
          for (const auto& f : *tree) {
            CAIRN_ASSIGN_OR_RETURN(bool ok, in_cache(f.digest));
            if (!ok) unsaved.push_back(f.path);
          }
          if (!unsaved.empty()) {
            return FailedPrecondition(rp + " is a folder with files not in the cache: " +
                                      JoinNames(unsaved) + " (use --force)");
          }
        } else {
          return FailedPrecondition(rp +
                                    " exists and is not a regular file or folder "
                                    "(use --force to replace it)");
        }
      }
      remove_whole = true;
      for (size_t i = 0; i < wanted.size(); ++i) to_write.push_back(i);
    } else if (pointer.kind == PointerKind::kFile) {
      CAIRN_ASSIGN_OR_RETURN(auto h, HashFiles({abs}, options));
      if (h[0].digest != pointer.digest) {
        if (!force) {
          CAIRN_ASSIGN_OR_RETURN(bool ok, in_cache(h[0].digest));
          if (!ok) {
            return FailedPrecondition(rp +
                                      " has changes not in the cache (use --force to "
                                      "overwrite it)");
          }
        }
        to_write.push_back(0);
      }
    } else {
      auto listed = ListTree(abs);
      if (!listed) {
        if (!force) {
          return FailedPrecondition(rp + ": " + listed.error().message() +
                                    " (use --force to replace the folder)");
        }
        remove_whole = true;
        for (size_t i = 0; i < wanted.size(); ++i) to_write.push_back(i);
      } else {
        std::unordered_map<std::string, size_t> index;
        index.reserve(wanted.size());
        for (size_t i = 0; i < wanted.size(); ++i) index.emplace(wanted[i].path, i);
        std::vector<std::string> extra;
        std::vector<std::string> present_abs;
        std::vector<size_t> present_idx;
        std::set<std::string> present;
        for (const auto& rel : *listed) {
          auto it = index.find(rel);
          if (it == index.end()) {
            extra.push_back(rel);
          } else {
            present_abs.push_back(abs + "/" + rel);
            present_idx.push_back(it->second);
            present.insert(rel);
          }
        }
        if (!extra.empty() && !force) {
          return FailedPrecondition(rp + " has files not in its pointer: " + JoinNames(extra) +
                                    " (use --force)");
        }
        for (const auto& rel : extra) to_remove.push_back(abs + "/" + rel);
        CAIRN_ASSIGN_OR_RETURN(auto hashed, HashFiles(present_abs, options));
        std::vector<std::string> conflicts;
        for (size_t k = 0; k < hashed.size(); ++k) {
          const ManifestEntry& w = wanted[present_idx[k]];
          if (hashed[k].digest == w.digest && hashed[k].stat.exec == w.exec) continue;
          if (hashed[k].digest != w.digest && !force) {
            CAIRN_ASSIGN_OR_RETURN(bool ok, in_cache(hashed[k].digest));
            if (!ok) conflicts.push_back(w.path);
          }
          to_write.push_back(present_idx[k]);
        }
        if (!conflicts.empty()) {
          return FailedPrecondition(rp +
                                    " has modified files whose changes are not in the "
                                    "cache: " +
                                    JoinNames(conflicts) + " (use --force to overwrite them)");
        }
        for (size_t i = 0; i < wanted.size(); ++i) {
          if (!present.contains(wanted[i].path)) to_write.push_back(i);
        }
      }
    }
  } else {
    for (size_t i = 0; i < wanted.size(); ++i) to_write.push_back(i);
  }

  // Write.
  if (remove_whole) {
    CAIRN_RETURN_IF_ERROR(RemoveTree(abs));
    ++local.removed;
  }
  for (const auto& path : to_remove) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return std::unexpected(ErrnoError(errno, "cannot remove", path));
    }
    ++local.removed;
  }
  if (pointer.kind == PointerKind::kDir) {
    CAIRN_RETURN_IF_ERROR(blob::local::MakeDirs(abs));
    if (!to_remove.empty()) PruneEmptyDirs(abs);
  } else {
    fs::path parent = fs::path(abs).parent_path();
    CAIRN_RETURN_IF_ERROR(blob::local::MakeDirs(parent.string()));
  }
  std::sort(to_write.begin(), to_write.end());
  if (progress_ != nullptr) {
    uint64_t bytes = 0;
    for (size_t i : to_write) bytes += wanted[i].size;
    progress_->AddTotal(to_write.size(), bytes);
  }
  std::mutex mu;
  // Sorted paths put a folder's files next to each other; threads taking
  // neighbours would queue on that folder's lock (perf of a 10,000-file
  // pull: 11 % spinning in down_write), so each starts in its own stretch.
  const std::vector<size_t> order = InterleaveLanes(
      to_write.size(), jobs_ > 0 ? static_cast<size_t>(jobs_)
                                 : std::max<size_t>(1, std::thread::hardware_concurrency()));
  CAIRN_RETURN_IF_ERROR(ParallelFor(order.size(), jobs_, [&](size_t k) -> Status {
    const ManifestEntry& w = wanted[to_write[order[k]]];
    std::string dest = w.path.empty() ? abs : abs + "/" + w.path;
    if (!w.path.empty()) {
      std::string parent = fs::path(dest).parent_path().string();
      struct stat pst;
      if (::lstat(parent.c_str(), &pst) != 0 || !S_ISDIR(pst.st_mode)) {
        // A file may stand where a folder belongs (force was checked above
        // for files not in the manifest).
        std::lock_guard lock(mu);
        fs::path walk = fs::path(abs);
        for (const auto& part : fs::path(w.path).parent_path()) {
          walk /= part;
          struct stat wst;
          if (::lstat(walk.c_str(), &wst) == 0 && !S_ISDIR(wst.st_mode)) ::unlink(walk.c_str());
        }
        CAIRN_RETURN_IF_ERROR(blob::local::MakeDirs(parent));
      }
    }
    struct stat dst;
    if (::lstat(dest.c_str(), &dst) == 0 && S_ISDIR(dst.st_mode)) {
      CAIRN_RETURN_IF_ERROR(RemoveTree(dest));
    }
    bool linked = false;
    CAIRN_ASSIGN_OR_RETURN(FileStat placed,
                           PlaceFile(blobs_->ObjectPath(w.digest), dest, mode, w.exec, &linked));
    if (progress_ != nullptr) progress_->Done(1, w.size);
    std::lock_guard lock(mu);
    remember(dest, placed, w.digest, linked);
    return {};
  }));
  local.written = to_write.size();
  if (!cache_entries.empty()) CAIRN_RETURN_IF_ERROR(stat_cache_->PutBatch(cache_entries));
  if (stats != nullptr) *stats = local;
  return {};
}

Result<PathState> Cache::Compare(std::string_view repo_path, const Pointer& pointer) {
  const std::string abs = ws_.Absolute(repo_path).string();
  struct stat st;
  if (::lstat(abs.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return PathState::kMissing;
    return std::unexpected(ErrnoError(errno, "cannot stat", abs));
  }
  if (pointer.kind == PointerKind::kFile) {
    if (!S_ISREG(st.st_mode)) return PathState::kModified;
    CAIRN_ASSIGN_OR_RETURN(auto h, HashFiles({abs}, hash_options()));
    return h[0].digest == pointer.digest ? PathState::kUnchanged : PathState::kModified;
  }
  if (!S_ISDIR(st.st_mode)) return PathState::kModified;
  auto manifest = BuildManifest(abs, hash_options());
  if (!manifest) {
    // A symlink or special file inside: not what the pointer holds.
    if (manifest.error().code() == ErrorCode::kInvalidArgument) return PathState::kModified;
    return std::unexpected(manifest.error());
  }
  return ManifestDigest(*manifest) == pointer.digest ? PathState::kUnchanged : PathState::kModified;
}

Result<Manifest> Cache::LoadManifest(std::string_view digest) const {
  CAIRN_ASSIGN_OR_RETURN(auto reader, blobs_->Open(digest));
  std::string bytes;
  bytes.reserve(reader->size());
  std::vector<char> buffer(1 << 16);
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(size_t n, reader->Read(buffer.data(), buffer.size()));
    if (n == 0) break;
    bytes.append(buffer.data(), n);
  }
  if (Sha256Hex(bytes) != digest) {
    return std::unexpected(Error(ErrorCode::kDataLoss, "cache object " + std::string(digest) +
                                                           " is corrupt (its content does not "
                                                           "match its digest)"));
  }
  auto parsed = ParseManifest(bytes);
  if (!parsed) {
    return InvalidArgument("cache object " + std::string(digest) +
                           " is not a manifest: " + parsed.error().message());
  }
  return parsed;
}

Result<std::vector<std::string>> Cache::ObjectsOf(const Pointer& pointer) const {
  std::vector<std::string> out{pointer.digest};
  if (pointer.kind == PointerKind::kDir) {
    CAIRN_ASSIGN_OR_RETURN(Manifest m, LoadManifest(pointer.digest));
    out.reserve(m.files.size() + 1);
    for (auto& f : m.files) out.push_back(std::move(f.digest));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::vector<std::string>> Cache::MissingObjects(const Pointer& pointer) const {
  if (pointer.kind == PointerKind::kDir) {
    CAIRN_ASSIGN_OR_RETURN(bool have, Has(pointer.digest));
    if (!have) return std::vector<std::string>{pointer.digest};
  }
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> all, ObjectsOf(pointer));
  std::vector<std::string> missing;
  for (auto& d : all) {
    CAIRN_ASSIGN_OR_RETURN(bool have, Has(d));
    if (!have) missing.push_back(std::move(d));
  }
  return missing;
}

Result<bool> Cache::Has(std::string_view digest) const { return blobs_->Exists(digest); }

}  // namespace cairn::data
