#include "data/remote.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "blob/blob_store.h"
#include "client/http_transport.h"
#include "core/hash.h"
#include "core/ids.h"
#include "data/config.h"
#include "data/hashing.h"
#include "data/object_batch.h"

namespace cairn::data {
namespace {

// The server refuses larger /missing requests (api/blob_handlers.h).
constexpr size_t kMissingBatch = 1000;
// From this many digests on, a folder remote lists shard folders instead of
// stat()ing each object.
constexpr size_t kListThreshold = 256;

// ENOSPC and friends are kResourceExhausted, everything else kInternal.
Error ErrnoError(int err, std::string_view what, std::string_view path) {
  std::string message = std::string(what) + " '" + std::string(path) + "': " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
    return Error(ErrorCode::kResourceExhausted, std::move(message));
  }
  return Error(ErrorCode::kInternal, std::move(message));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now, reporting close()'s errno (0 when fine).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

// Removes a path on scope exit unless released.
class UnlinkGuard {
 public:
  explicit UnlinkGuard(std::string path) : path_(std::move(path)) {}
  ~UnlinkGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  UnlinkGuard(const UnlinkGuard&) = delete;
  UnlinkGuard& operator=(const UnlinkGuard&) = delete;
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

// A folder with the cache's layout: objects/ab/cdef..., tmp/.
class FolderRemote final : public Remote {
 public:
  FolderRemote(std::string url, std::string root) : url_(std::move(url)), root_(std::move(root)) {}

  const std::string& url() const override { return url_; }

  Result<std::vector<std::string>> Missing(const std::vector<std::string>& digests) override {
    if (digests.size() >= kListThreshold) return MissingByListing(digests);
    std::vector<std::string> missing;
    for (const std::string& digest : digests) {
      CAIRN_RETURN_IF_ERROR(blob::ValidateDigest(digest));
      std::string object = ObjectPath(digest);
      struct stat st;
      if (::stat(object.c_str(), &st) == 0) {
        if (!S_ISREG(st.st_mode)) missing.push_back(digest);
        continue;
      }
      if (errno != ENOENT && errno != ENOTDIR) {
        return std::unexpected(ErrnoError(errno, "cannot stat remote object", object));
      }
      missing.push_back(digest);
    }
    return missing;
  }

  Status Put(std::string_view digest, const std::string& path) override {
    CAIRN_RETURN_IF_ERROR(blob::ValidateDigest(digest));
    const std::string key(digest);
    if (batch_.Staged(key)) return {};
    if (!layout_made_.load(std::memory_order_acquire)) {
      CAIRN_RETURN_IF_ERROR(batch_.EnsureLayout());
      layout_made_.store(true, std::memory_order_release);
    }
    // The shard folder first: Exists costs no syscall in one this batch made
    // (an object another process puts meanwhile is kept by Flush).
    CAIRN_ASSIGN_OR_RETURN(ObjectBatch::Temp temp, batch_.NewTemp(digest));
    CAIRN_ASSIGN_OR_RETURN(bool exists, batch_.Exists(digest));
    if (exists) return {};

    Fd src(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!src.valid()) {
      if (errno == ENOENT) return NotFound("local object '" + path + "' does not exist");
      return std::unexpected(ErrnoError(errno, "cannot open", path));
    }
    const std::string& temp_path = temp.path;
    struct stat st;
    if (::fstat(src.get(), &st) != 0) return std::unexpected(ErrnoError(errno, "cannot stat", path));
    // Read and write: CopyFileAndHash hashes big objects as read back.
    Fd out(::openat(temp.dir_fd, temp.name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!out.valid()) return std::unexpected(ErrnoError(errno, "cannot create", temp_path));
    UnlinkGuard guard(temp_path);
    // The digest of the bytes the remote's copy holds (data/hashing.h), so a
    // local object that is damaged, or changes while it is copied, is caught.
    CAIRN_ASSIGN_OR_RETURN(std::string actual,
                           CopyFileAndHash(src.get(), path, out.get(), temp_path,
                                           static_cast<uint64_t>(st.st_size)));
    // The remote is shared: never spread a damaged local object to it.
    if (actual != digest) {
      return MakeError(ErrorCode::kDataLoss, "local cache object " + key +
                                                 " is corrupt (its bytes hash to " + actual +
                                                 "); not pushed to " + url_);
    }
    if (int err = out.Close(); err != 0)
      return std::unexpected(ErrnoError(err, "cannot close", temp_path));
    // Durable and visible at the next Flush (one syncfs for the whole batch).
    if (batch_.Stage(temp_path, key)) guard.Release();
    return {};
  }

  Status Flush() override { return batch_.Install(); }

  Result<std::string> Get(std::string_view digest, const std::string& dest_path) override {
    CAIRN_RETURN_IF_ERROR(blob::ValidateDigest(digest));
    std::string object = ObjectPath(digest);
    Fd src(::open(object.c_str(), O_RDONLY | O_CLOEXEC));
    if (!src.valid()) {
      int err = errno;
      if (err == ENOENT || err == ENOTDIR) {
        struct stat st;
        if (::stat(root_.c_str(), &st) != 0) {
          return NotFound("the remote folder " + root_ + " does not exist");
        }
        return NotFound("object " + std::string(digest) + " is not on remote " + url_);
      }
      return std::unexpected(ErrnoError(err, "cannot open remote object", object));
    }
    struct stat st;
    if (::fstat(src.get(), &st) != 0) {
      return std::unexpected(ErrnoError(errno, "cannot stat remote object", object));
    }
    if (!S_ISREG(st.st_mode)) {
      return NotFound("object " + std::string(digest) + " is not on remote " + url_ + " (" +
                      object + " is not a file)");
    }
    // Read and write: big objects are hashed as read back (CopyFileAndHash).
    Fd out(::open(dest_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out.valid()) return std::unexpected(ErrnoError(errno, "cannot create", dest_path));
    UnlinkGuard guard(dest_path);
    // The digest of the bytes this copy left in the file: small objects are
    // read, hashed and written from one buffer; big ones copied in the
    // kernel on a second thread and hashed as read back (data/hashing.h).
    CAIRN_ASSIGN_OR_RETURN(std::string actual,
                           CopyFileAndHash(src.get(), object, out.get(), dest_path,
                                           static_cast<uint64_t>(st.st_size)));
    if (int err = out.Close(); err != 0)
      return std::unexpected(ErrnoError(err, "cannot close", dest_path));
    guard.Release();
    return actual;
  }

 private:
  std::string ObjectPath(std::string_view digest) const {
    return blob::ObjectPathUnder(root_ + "/objects", digest);
  }

  // One listing per shard folder instead of a stat per digest.
  Result<std::vector<std::string>> MissingByListing(const std::vector<std::string>& digests) {
    std::unordered_map<std::string, std::unordered_set<std::string>> present;  // shard -> names
    for (const std::string& digest : digests) {
      CAIRN_RETURN_IF_ERROR(blob::ValidateDigest(digest));
      std::string shard = digest.substr(0, 2);
      if (present.contains(shard)) continue;
      auto& names = present[shard];
      std::string dir = root_ + "/objects/" + shard;
      DIR* d = ::opendir(dir.c_str());
      if (d == nullptr) {
        if (errno == ENOENT || errno == ENOTDIR) continue;
        return std::unexpected(ErrnoError(errno, "cannot list remote folder", dir));
      }
      errno = 0;
      while (struct dirent* e = ::readdir(d)) {
        unsigned char type = e->d_type;
        if (type == DT_UNKNOWN) {
          struct stat st;
          if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
              S_ISREG(st.st_mode)) {
            type = DT_REG;
          }
        }
        if (type == DT_REG) names.insert(e->d_name);
        errno = 0;
      }
      int err = errno;
      ::closedir(d);
      if (err != 0) return std::unexpected(ErrnoError(err, "cannot list remote folder", dir));
    }
    std::vector<std::string> missing;
    for (const std::string& digest : digests) {
      const auto& names = present[digest.substr(0, 2)];
      if (!names.contains(digest.substr(2))) missing.push_back(digest);
    }
    return missing;
  }

  std::string url_;
  std::string root_;
  ObjectBatch batch_{root_};
  std::atomic<bool> layout_made_{false};  // tmp/ and objects/ exist
};

// A Cairn server's /api/v1/blobs routes.
class HttpRemote final : public Remote {
 public:
  HttpRemote(std::string url, std::string base, client::TransportOptions options)
      : url_(std::move(url)), base_(std::move(base)), transport_(url_, std::move(options)) {}

  const std::string& url() const override { return url_; }

  Result<std::vector<std::string>> Missing(const std::vector<std::string>& digests) override {
    std::vector<std::string> missing;
    for (size_t start = 0; start < digests.size(); start += kMissingBatch) {
      size_t end = std::min(digests.size(), start + kMissingBatch);
      nlohmann::json request = {{"digests", nlohmann::json::array()}};
      std::unordered_set<std::string> asked;
      for (size_t i = start; i < end; ++i) {
        CAIRN_RETURN_IF_ERROR(blob::ValidateDigest(digests[i]));
        request["digests"].push_back(digests[i]);
        asked.insert(digests[i]);
      }
      std::string endpoint = base_ + "/api/v1/blobs/missing";
      CAIRN_ASSIGN_OR_RETURN(client::HttpResponse response,
                             transport_.Send("POST", endpoint, request.dump()));
      try {
        nlohmann::json body = nlohmann::json::parse(response.body);
        const nlohmann::json& list = body.at("missing");
        if (!list.is_array()) throw std::runtime_error("\"missing\" is not a list");
        for (const nlohmann::json& item : list) {
          std::string digest = item.get<std::string>();
          if (!asked.contains(digest)) {
            throw std::runtime_error("it names " + digest + ", which was not asked about");
          }
          missing.push_back(std::move(digest));
        }
      } catch (const std::exception& e) {
        return Internal("unexpected answer from POST " + endpoint + ": " + e.what());
      }
    }
    return missing;
  }

  Status Put(std::string_view digest, const std::string& path) override {
    CAIRN_RETURN_IF_ERROR(blob::ValidateDigest(digest));
    return transport_.Upload(ObjectUrl(digest), path);
  }

  Result<std::string> Get(std::string_view digest, const std::string& dest_path) override {
    CAIRN_RETURN_IF_ERROR(blob::ValidateDigest(digest));
    Fd out(::open(dest_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out.valid()) return std::unexpected(ErrnoError(errno, "cannot create", dest_path));
    UnlinkGuard guard(dest_path);
    // The body is hashed as it arrives, in the buffers it is written from.
    HashingWriter writer(out.get(), dest_path);
    Status st = transport_.DownloadTo(ObjectUrl(digest),
                                      [&](std::string_view chunk) { return writer.Append(chunk); });
    if (!st) {
      if (st.error().code() == ErrorCode::kNotFound) {
        return NotFound("object " + std::string(digest) + " is not on remote " + url_);
      }
      return std::unexpected(st.error());
    }
    CAIRN_ASSIGN_OR_RETURN(std::string actual, writer.Finish());
    if (int err = out.Close(); err != 0)
      return std::unexpected(ErrnoError(err, "cannot close", dest_path));
    guard.Release();
    return actual;
  }

 private:
  std::string ObjectUrl(std::string_view digest) const {
    return base_ + "/api/v1/blobs/" + std::string(digest);
  }

  std::string url_;
  std::string base_;  // url_ without a trailing '/'
  client::HttpTransport transport_;
};

std::unique_ptr<Remote> OpenFolder(std::string_view url, std::string_view path) {
  std::string root(path);
  while (root.size() > 1 && root.ends_with('/')) root.pop_back();
  return std::unique_ptr<Remote>(new FolderRemote(std::string(url), std::move(root)));
}

}  // namespace

Result<std::unique_ptr<Remote>> OpenRemote(std::string_view url, const RemoteOptions& options) {
  CAIRN_RETURN_IF_ERROR(ValidateRemoteUrl(url));
  if (url.starts_with('/')) return OpenFolder(url, url);
  if (url.starts_with("file://")) return OpenFolder(url, url.substr(7));
  std::string base(url);
  while (base.ends_with('/')) base.pop_back();
  client::TransportOptions transport;
  transport.bearer_token = options.bearer_token;
  transport.request_timeout_ms = static_cast<long>(options.timeout_seconds) * 1000;  // NOLINT
  transport.stall_timeout_s = options.timeout_seconds;
  return std::unique_ptr<Remote>(new HttpRemote(std::string(url), std::move(base), transport));
}

}  // namespace cairn::data
