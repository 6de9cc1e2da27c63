#pragma once
// LocalBlobStore: the BlobStore on a local folder.
//
// Layout under `root`:
//   objects/ab/cdef...   one file per object, named by its SHA-256 digest
//                        split after two hex characters; mode 0444, never
//                        rewritten once linked into place.
//   tmp/                 temporary files being written. A put writes here,
//                        fsyncs, then link()s the file into objects/ (link
//                        never replaces: when the object already exists the
//                        put simply drops its copy) and fsyncs the shard
//                        directory. A crash leaves at most a stray file in
//                        tmp/, never a partial object; OpenAt() removes
//                        stray temp files older than `stale_temp_age`.
//
// PutFileTake on a source on the same filesystem hashes the file, makes it
// read-only and links it into objects/ (no copy); other sources are copied.
//
// Thread safety: all methods are safe to call concurrently, also from several
// processes sharing one root. See blob_store.h for the error contract.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "blob/blob_store.h"

namespace cairn::blob {

struct LocalBlobStoreOptions {
  // Temporary files under tmp/ older than this are removed by OpenAt().
  std::chrono::seconds stale_temp_age = std::chrono::hours(24);
};

class LocalBlobStore final : public BlobStore {
 public:
  // Opens (creating folders as needed) the store rooted at `root`, an
  // absolute or relative local path. kInternal when the folders cannot be
  // created.
  static Result<std::unique_ptr<LocalBlobStore>> OpenAt(const std::string& root,
                                                        LocalBlobStoreOptions options = {});

  Result<std::string> PutFile(const std::string& path) override;
  Result<std::string> PutFileTake(const std::string& path) override;
  Result<std::string> PutBytes(std::string_view bytes) override;
  Result<std::unique_ptr<BlobReader>> Open(std::string_view digest) const override;
  Result<std::string> Path(std::string_view digest) const override;
  Result<bool> Exists(std::string_view digest) const override;
  Result<uint64_t> Size(std::string_view digest) const override;
  Status Delete(std::string_view digest) override;

  // Like PutFileTake but leaves the source file in place: afterwards the
  // object exists and, when the source was on this filesystem, is the same
  // inode as the source. For callers (the artifact repository) that must
  // remove the source only once they have linked the object elsewhere.
  Result<std::string> PutFileLinkOrCopy(const std::string& path);

  // <root>/objects/ab/cdef... for a digest already validated by the caller.
  std::string ObjectPath(std::string_view digest) const;
  // A folder on the store's filesystem for temporary files (<root>/tmp).
  const std::string& tmp_dir() const { return tmp_dir_; }
  const std::string& root() const { return root_; }

 private:
  LocalBlobStore(std::string root, std::string objects_dir, std::string tmp_dir,
                 uint64_t objects_device)
      : root_(std::move(root)),
        objects_dir_(std::move(objects_dir)),
        tmp_dir_(std::move(tmp_dir)),
        objects_device_(objects_device) {}

  // Streams `src_fd` into a new temp file, hashing as it goes. On success the
  // temp file is fsynced and its path and digest returned; on error it is
  // removed. `source_name` is only for messages.
  struct TempCopy {
    std::string temp_path;
    std::string digest;
  };
  Result<TempCopy> CopyToTemp(int src_fd, std::string_view source_name) const;
  // Links the finished temp file into objects/ under `digest` (keeping any
  // existing object), then removes the temp name.
  Status InstallTemp(const std::string& temp_path, std::string_view digest) const;
  // Creates objects/ab/ if missing.
  Status EnsureShard(std::string_view digest) const;

  std::string root_;
  std::string objects_dir_;
  std::string tmp_dir_;
  uint64_t objects_device_;  // st_dev of objects/: a source elsewhere is copied
};

}  // namespace cairn::blob
