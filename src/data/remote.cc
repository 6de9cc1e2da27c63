#include "data/remote.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_set>
#include <utility>

#include "blob/blob_store.h"
#include "client/http_transport.h"
#include "core/hash.h"
#include "core/ids.h"
#include "data/config.h"

namespace cairn::data {
namespace {

constexpr size_t kCopyBufferBytes = 1 << 20;
// The server refuses larger /missing requests (api/blob_handlers.h).
constexpr size_t kMissingBatch = 1000;

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

// Copies `src_fd` into `dst_fd`, hashing the bytes. Returns the digest.
Result<std::string> CopyAndHash(int src_fd, std::string_view src_name, int dst_fd,
                                std::string_view dst_name) {
  Sha256 hasher;
  std::vector<char> buffer(kCopyBufferBytes);
  for (;;) {
    ssize_t n = ::read(src_fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError(errno, "cannot read", src_name));
    }
    if (n == 0) break;
    hasher.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    if (int err = WriteAll(dst_fd, buffer.data(), static_cast<size_t>(n)); err != 0) {
      return std::unexpected(ErrnoError(err, "cannot write", dst_name));
    }
  }
  return hasher.HexDigest();
}

// Copies `src_fd` into `dst_fd` in the kernel (copy_file_range), falling
// back to read/write where that is not supported (another filesystem type).
Status CopyFile(int src_fd, std::string_view src_name, int dst_fd, std::string_view dst_name) {
  for (;;) {
    ssize_t n = ::copy_file_range(src_fd, nullptr, dst_fd, nullptr, kCopyBufferBytes * 64, 0);
    if (n == 0) return {};
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) break;
    return std::unexpected(
        ErrnoError(errno, "cannot copy", std::string(src_name) + "' to '" + std::string(dst_name)));
  }
  std::vector<char> buffer(kCopyBufferBytes);
  for (;;) {
    ssize_t n = ::read(src_fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError(errno, "cannot read", src_name));
    }
    if (n == 0) return {};
    if (int err = WriteAll(dst_fd, buffer.data(), static_cast<size_t>(n)); err != 0) {
      return std::unexpected(ErrnoError(err, "cannot write", dst_name));
    }
  }
}

Status MakeDirs(const std::string& path) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      return std::unexpected(ErrnoError(errno, "cannot create folder", partial));
    }
  }
  return {};
}

Status FsyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return std::unexpected(ErrnoError(errno, "cannot open folder", dir));
  if (::fsync(fd.get()) != 0 && errno != EINVAL) {
    return std::unexpected(ErrnoError(errno, "cannot fsync folder", dir));
  }
  return {};
}

// A folder with the cache's layout: objects/ab/cdef..., tmp/.
class FolderRemote final : public Remote {
 public:
  FolderRemote(std::string url, std::string root) : url_(std::move(url)), root_(std::move(root)) {}

  const std::string& url() const override { return url_; }

  Result<std::vector<std::string>> Missing(const std::vector<std::string>& digests) override {
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
    std::string object = ObjectPath(digest);
    struct stat st;
    if (::stat(object.c_str(), &st) == 0) return {};  // already there
    std::string shard = root_ + "/objects/" + std::string(digest.substr(0, 2));
    std::string tmp = root_ + "/tmp";
    if (!layout_made_.load(std::memory_order_acquire)) {
      CAIRN_RETURN_IF_ERROR(MakeDirs(tmp));
      CAIRN_RETURN_IF_ERROR(MakeDirs(root_ + "/objects"));
      layout_made_.store(true, std::memory_order_release);
    }
    if (::mkdir(shard.c_str(), 0755) != 0 && errno != EEXIST) {
      return std::unexpected(ErrnoError(errno, "cannot create folder", shard));
    }

    Fd src(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!src.valid()) {
      if (errno == ENOENT) return NotFound("local object '" + path + "' does not exist");
      return std::unexpected(ErrnoError(errno, "cannot open", path));
    }
    std::string temp_path = tmp + "/put-" + NewRequestId();
    Fd out(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!out.valid()) return std::unexpected(ErrnoError(errno, "cannot create", temp_path));
    UnlinkGuard guard(temp_path);
    CAIRN_ASSIGN_OR_RETURN(std::string actual, CopyAndHash(src.get(), path, out.get(), temp_path));
    // The remote is shared: never spread a damaged local object to it.
    if (actual != digest) {
      return MakeError(ErrorCode::kDataLoss, "local cache object " + std::string(digest) +
                                                 " is corrupt (its bytes hash to " + actual +
                                                 "); not pushed to " + url_);
    }
    if (::fsync(out.get()) != 0)
      return std::unexpected(ErrnoError(errno, "cannot fsync", temp_path));
    if (int err = out.Close(); err != 0)
      return std::unexpected(ErrnoError(err, "cannot close", temp_path));
    // link() never replaces: a concurrent push of the same object wins and ours is dropped.
    if (::link(temp_path.c_str(), object.c_str()) != 0 && errno != EEXIST) {
      return std::unexpected(ErrnoError(errno, "cannot link object into place", object));
    }
    return FsyncDir(shard);
  }

  Status Get(std::string_view digest, const std::string& dest_path) override {
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
    Fd out(::open(dest_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out.valid()) return std::unexpected(ErrnoError(errno, "cannot create", dest_path));
    UnlinkGuard guard(dest_path);
    // No hashing here: the caller verifies what it received (transfer.h).
    CAIRN_RETURN_IF_ERROR(CopyFile(src.get(), object, out.get(), dest_path));
    if (int err = out.Close(); err != 0)
      return std::unexpected(ErrnoError(err, "cannot close", dest_path));
    guard.Release();
    return {};
  }

 private:
  std::string ObjectPath(std::string_view digest) const {
    return root_ + "/objects/" + std::string(digest.substr(0, 2)) + "/" +
           std::string(digest.substr(2));
  }

  std::string url_;
  std::string root_;
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

  Status Get(std::string_view digest, const std::string& dest_path) override {
    CAIRN_RETURN_IF_ERROR(blob::ValidateDigest(digest));
    Status st = transport_.Download(ObjectUrl(digest), dest_path);
    if (!st && st.error().code() == ErrorCode::kNotFound) {
      return NotFound("object " + std::string(digest) + " is not on remote " + url_);
    }
    return st;
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
