#include "data/transfer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "blob/blob_store.h"
#include "core/ids.h"
#include "core/parallel.h"
#include "data/object_batch.h"

namespace cairn::data {
namespace {

// At most this many tracked paths are named in one message.
constexpr size_t kMaxNamedPaths = 10;

int EffectiveJobs(const Remote& remote, int jobs) {
  if (jobs > 0) return jobs;
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool http = remote.url().starts_with("http://") || remote.url().starts_with("https://");
  // Server round trips are latency-bound; folder copies are disk-bound.
  return http ? 4 * cores : cores;
}

// "data/raw, model" (deduplicated, sorted, at most kMaxNamedPaths).
std::string NamePaths(const std::set<std::string>& paths) {
  std::string out;
  size_t named = 0;
  for (const std::string& p : paths) {
    if (named == kMaxNamedPaths) {
      out += " and " + std::to_string(paths.size() - named) + " more";
      break;
    }
    if (named > 0) out += ", ";
    out += p;
    ++named;
  }
  return out;
}

// The object digests `roots` need, with the tracked paths needing each.
struct Needs {
  std::map<std::string, std::set<std::string>> paths;  // digest -> tracked paths
  std::set<std::string> manifests;                     // folder roots' digests
};

Status ValidateRoots(const std::vector<Pointer>& roots) {
  for (const Pointer& root : roots) {
    CAIRN_RETURN_IF_ERROR(blob::ValidateDigest(root.digest));
  }
  return {};
}

// Shared state of one parallel transfer phase.
class Progress {
 public:
  explicit Progress(const TransferOptions& options)
      : callback_(options.progress), counter_(options.counter) {}
  void AddTotal(uint64_t n) {
    total_ += n;
    if (counter_ != nullptr) counter_->AddTotal(n, 0);
  }
  void Done(uint64_t bytes) {
    if (counter_ != nullptr) counter_->Done(1, bytes);
    uint64_t done = ++done_;
    uint64_t all_bytes = (bytes_ += bytes);
    if (callback_) {
      std::lock_guard<std::mutex> lock(mu_);
      callback_(done, total_.load(), all_bytes);
    }
  }
  uint64_t done() const { return done_.load(); }
  uint64_t bytes() const { return bytes_.load(); }

 private:
  const std::function<void(uint64_t, uint64_t, uint64_t)>& callback_;
  ProgressCounter* counter_;
  std::mutex mu_;  // one progress line at a time
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> done_{0};
  std::atomic<uint64_t> bytes_{0};
};

// Uploads `digests` (all in the local cache); the first error stops the phase.
Status UploadAll(Cache& cache, Remote& remote, const std::vector<std::string>& digests, int jobs,
                 Progress& progress) {
  return ParallelFor(digests.size(), jobs, [&](size_t i) -> Status {
    const std::string& digest = digests[i];
    std::string path = cache.blobs().ObjectPath(digest);
    struct stat st;
    uint64_t size = ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    Status put = remote.Put(digest, path);
    if (!put) {
      return MakeError(put.error().code(), "pushing object " + digest + " to " + remote.url() +
                                               ": " + put.error().message());
    }
    progress.Done(size);
    return {};
  });
}

// Makes the verified download `temp` read-only (objects are); its size goes
// to *bytes. Two syscalls: the bytes were hashed as Get wrote them.
Status Seal(const std::string& temp, uint64_t* bytes) {
  struct stat st;
  if (::lstat(temp.c_str(), &st) != 0) {
    return Internal("cannot stat '" + temp + "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Internal("'" + temp + "' is not a regular file");
  *bytes = static_cast<uint64_t>(st.st_size);
  if (::chmod(temp.c_str(), 0444) != 0) {
    return Internal("cannot make '" + temp + "' read-only: " + std::strerror(errno));
  }
  return {};
}

// Downloads one object into a temp file of the cache, verifies it and stages
// it in `batch` (installed into the cache by the caller).
Status FetchOne(Remote& remote, ObjectBatch& batch, const std::string& digest, uint64_t* bytes) {
  CAIRN_ASSIGN_OR_RETURN(std::string temp, batch.TempPath(digest));
  // The digest of the bytes Get wrote to `temp`, computed while it wrote them.
  auto actual = remote.Get(digest, temp);
  if (!actual) {
    ::unlink(temp.c_str());
    return std::unexpected(actual.error());
  }
  if (*actual != digest) {
    ::unlink(temp.c_str());
    return MakeError(ErrorCode::kDataLoss, "object " + digest + " from remote " + remote.url() +
                                               " is corrupt (its bytes hash to " + *actual +
                                               "); it was not stored");
  }
  if (Status sealed = Seal(temp, bytes); !sealed) {
    ::unlink(temp.c_str());
    return sealed;
  }
  // Nothing else knows the temp name, so the verified bytes are what gets
  // installed.
  if (!batch.Stage(temp, digest)) ::unlink(temp.c_str());
  return {};
}

// What a fetch phase found beyond hard errors.
struct FetchProblems {
  std::mutex mu;
  std::vector<std::string> absent;  // digests the remote lacks
  std::vector<Error> corrupt;       // kDataLoss per object
};

// Fetches `digests`; objects the remote lacks or serves corrupt go to
// `problems`, any other error stops the phase.
Status FetchAll(Cache& cache, Remote& remote, const std::vector<std::string>& digests, int jobs,
                Progress& progress, FetchProblems& problems, uint64_t* transferred) {
  std::atomic<uint64_t> count{0};
  ObjectBatch batch(cache.blobs().root());
  CAIRN_RETURN_IF_ERROR(batch.EnsureLayout());
  Status st = ParallelFor(digests.size(), jobs, [&](size_t i) -> Status {
    const std::string& digest = digests[i];
    uint64_t bytes = 0;
    Status one = FetchOne(remote, batch, digest, &bytes);
    if (!one) {
      std::lock_guard<std::mutex> lock(problems.mu);
      switch (one.error().code()) {
        case ErrorCode::kNotFound:
          problems.absent.push_back(digest);
          return {};
        case ErrorCode::kDataLoss:
          problems.corrupt.push_back(one.error());
          return {};
        default:
          return MakeError(one.error().code(), "fetching object " + digest + " from " +
                                                   remote.url() + ": " + one.error().message());
      }
    }
    ++count;
    progress.Done(bytes);
    return {};
  });
  // What was verified enters the cache even when another object failed, so
  // a second run resumes.
  Status installed = batch.Install();
  *transferred += count.load();
  CAIRN_RETURN_IF_ERROR(st);
  return installed;
}

}  // namespace

Result<TransferSummary> Push(Cache& cache, Remote& remote, const std::vector<Pointer>& roots,
                             const TransferOptions& options) {
  CAIRN_RETURN_IF_ERROR(ValidateRoots(roots));
  const int jobs = EffectiveJobs(remote, options.jobs);
  Needs needs;
  // Folder roots whose manifest must wait for (or is withheld because of) its files.
  std::map<std::string, std::vector<std::string>> folder_files;  // manifest -> file digests
  for (const Pointer& root : roots) {
    needs.paths[root.digest].insert(root.path);
    if (root.kind == PointerKind::kDir) needs.manifests.insert(root.digest);
    auto objects = cache.ObjectsOf(root);
    if (!objects) {
      // A folder whose manifest is not in the cache: reported below as missing.
      if (objects.error().code() == ErrorCode::kNotFound) continue;
      return std::unexpected(objects.error());
    }
    for (const std::string& digest : *objects) {
      needs.paths[digest].insert(root.path);
      if (root.kind == PointerKind::kDir && digest != root.digest) {
        folder_files[root.digest].push_back(digest);
      }
    }
  }

  TransferSummary summary;
  summary.objects = needs.paths.size();
  std::vector<std::string> present;
  std::set<std::string> locally_missing;
  for (const auto& [digest, paths] : needs.paths) {
    CAIRN_ASSIGN_OR_RETURN(bool has, cache.Has(digest));
    if (has) {
      present.push_back(digest);
    } else {
      locally_missing.insert(digest);
    }
  }
  // A manifest is only pushed when all its files are: a folder on the remote
  // is complete whenever its manifest is there.
  std::set<std::string> withheld;
  for (const auto& [manifest, files] : folder_files) {
    for (const std::string& f : files) {
      if (locally_missing.contains(f)) {
        withheld.insert(manifest);
        break;
      }
    }
  }

  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> to_send, remote.Missing(present));
  std::set<std::string> absent_remotely;  // a remote repeating a digest counts it once
  std::vector<std::string> files;
  std::vector<std::string> manifests;
  for (std::string& digest : to_send) {
    if (!needs.paths.contains(digest) || !absent_remotely.insert(digest).second) continue;
    if (withheld.contains(digest)) continue;
    (needs.manifests.contains(digest) ? manifests : files).push_back(std::move(digest));
  }
  summary.already = present.size() - absent_remotely.size();

  Progress progress(options);
  progress.AddTotal(files.size() + manifests.size());
  // Files first, made durable and visible (Flush) before any manifest. The
  // files sent before an error are flushed too, so a second push resumes.
  Status sent = UploadAll(cache, remote, files, jobs, progress);
  Status flushed = remote.Flush();
  if (sent) sent = flushed;
  if (sent) sent = UploadAll(cache, remote, manifests, jobs, progress);
  if (sent) sent = remote.Flush();
  summary.transferred = progress.done();
  summary.bytes = progress.bytes();
  CAIRN_RETURN_IF_ERROR(sent);

  if (!locally_missing.empty()) {
    std::set<std::string> paths;
    for (const std::string& digest : locally_missing) {
      paths.insert(needs.paths[digest].begin(), needs.paths[digest].end());
    }
    return NotFound(std::to_string(locally_missing.size()) +
                    (locally_missing.size() == 1 ? " object is" : " objects are") +
                    " missing from the local cache and were not pushed (needed by " +
                    NamePaths(paths) + "); `cairn data add` or `cairn data fetch` them first");
  }
  return summary;
}

Result<TransferSummary> Fetch(Cache& cache, Remote& remote, const std::vector<Pointer>& roots,
                              const TransferOptions& options) {
  CAIRN_RETURN_IF_ERROR(ValidateRoots(roots));
  const int jobs = EffectiveJobs(remote, options.jobs);
  Progress progress(options);
  FetchProblems problems;
  TransferSummary summary;
  std::map<std::string, std::set<std::string>> paths;  // digest -> tracked paths

  // Manifests first: a folder's file list comes from its manifest.
  std::vector<std::string> manifests;
  for (const Pointer& root : roots) {
    paths[root.digest].insert(root.path);
    if (root.kind != PointerKind::kDir) continue;
    CAIRN_ASSIGN_OR_RETURN(bool has, cache.Has(root.digest));
    if (!has && std::find(manifests.begin(), manifests.end(), root.digest) == manifests.end()) {
      manifests.push_back(root.digest);
    }
  }
  progress.AddTotal(manifests.size());
  CAIRN_RETURN_IF_ERROR(
      FetchAll(cache, remote, manifests, jobs, progress, problems, &summary.transferred));

  // Then every object the roots need that the cache lacks.
  std::vector<std::string> files;
  std::set<std::string> wanted;
  for (const Pointer& root : roots) {
    std::vector<std::string> objects;
    if (root.kind == PointerKind::kDir) {
      CAIRN_ASSIGN_OR_RETURN(bool has_manifest, cache.Has(root.digest));
      if (!has_manifest) continue;  // absent or corrupt on the remote: reported below
      CAIRN_ASSIGN_OR_RETURN(objects, cache.ObjectsOf(root));
    } else {
      objects.push_back(root.digest);
    }
    for (const std::string& digest : objects) {
      paths[digest].insert(root.path);
      if (!wanted.insert(digest).second) continue;
      CAIRN_ASSIGN_OR_RETURN(bool has, cache.Has(digest));
      if (!has) files.push_back(digest);
    }
  }
  progress.AddTotal(files.size());
  CAIRN_RETURN_IF_ERROR(
      FetchAll(cache, remote, files, jobs, progress, problems, &summary.transferred));

  summary.objects = paths.size();
  summary.bytes = progress.bytes();
  uint64_t failed = problems.absent.size() + problems.corrupt.size();
  summary.already = summary.objects >= summary.transferred + failed
                        ? summary.objects - summary.transferred - failed
                        : 0;

  std::string absent_message;
  if (!problems.absent.empty()) {
    std::set<std::string> needing;
    for (const std::string& digest : problems.absent) {
      needing.insert(paths[digest].begin(), paths[digest].end());
    }
    absent_message = std::to_string(problems.absent.size()) +
                     (problems.absent.size() == 1 ? " object is" : " objects are") +
                     " not on remote " + remote.url() + " (needed by " + NamePaths(needing) +
                     "); push them from a clone that has them";
  }
  if (!problems.corrupt.empty()) {
    std::string message = problems.corrupt.front().message();
    if (problems.corrupt.size() > 1) {
      message += " (and " + std::to_string(problems.corrupt.size() - 1) + " more corrupt objects)";
    }
    if (!absent_message.empty()) message += "; also " + absent_message;
    return MakeError(ErrorCode::kDataLoss, std::move(message));
  }
  if (!absent_message.empty()) return NotFound(std::move(absent_message));
  return summary;
}

}  // namespace cairn::data
