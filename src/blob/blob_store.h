#pragma once
// BlobStore: a content-addressed store of immutable byte strings ("objects"),
// named by the lowercase hex SHA-256 of their content (the "digest").
//
// Contract:
// - An object, once stored, never changes. Putting the same content twice
//   stores it once and returns the same digest.
// - Puts are atomic: a reader sees either no object or the whole object; a
//   crash or an error mid-put leaves no partial object behind.
// - Digests given by callers are validated: anything but 64 lowercase hex
//   characters is kInvalidArgument (so a digest can never name a path).
//
// Errors: kInvalidArgument (bad digest), kNotFound (no such object, or a
// source file that does not exist), kResourceExhausted (disk full),
// kInternal (other I/O failures; the message names the file and errno).
//
// Thread safety: implementations are safe for concurrent use from many
// threads (and, for the local store, many processes on one root); two puts of
// the same content racing each other both succeed.
//
// Implementations: blob/local/local_blob_store.h (a folder). S3 will follow.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace cairn::blob {

// True when `digest` is 64 lowercase hex characters.
bool IsValidDigest(std::string_view digest);
// kInvalidArgument naming the digest unless IsValidDigest.
Status ValidateDigest(std::string_view digest);
// Where object `digest` lives under an objects folder: <objects_dir>/ab/cdef...
// (the first two hex digits name the shard folder). One layout for the local
// blob store, the data cache and folder remotes.
std::string ObjectPathUnder(std::string_view objects_dir, std::string_view digest);

// Sequential reader over one object. Not thread-safe; owned by the caller.
class BlobReader {
 public:
  virtual ~BlobReader() = default;
  // Reads up to `size` bytes into `buffer`; 0 means end of object.
  virtual Result<size_t> Read(char* buffer, size_t size) = 0;
  // Total object size in bytes.
  virtual uint64_t size() const = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Copies the file at `path` into the store, hashing while copying. The
  // source is left untouched. Returns the digest.
  virtual Result<std::string> PutFile(const std::string& path) = 0;

  // Takes ownership of the file at `path`: stores its content and removes
  // the file (also when the content was already stored). When the file is on
  // the store's filesystem this is a hash plus a link, not a copy. The caller
  // must not write to the file after handing it over. On error the source is
  // left in place.
  virtual Result<std::string> PutFileTake(const std::string& path) = 0;

  // Stores `bytes`. Returns the digest.
  virtual Result<std::string> PutBytes(std::string_view bytes) = 0;

  // Opens an object for reading; kNotFound when absent.
  virtual Result<std::unique_ptr<BlobReader>> Open(std::string_view digest) const = 0;

  // A local file holding the object, for streaming it (sendfile) or linking
  // it. The file must be treated as read-only. kNotFound when absent;
  // kUnimplemented for stores without local files.
  virtual Result<std::string> Path(std::string_view digest) const = 0;

  virtual Result<bool> Exists(std::string_view digest) const = 0;
  // Object size in bytes; kNotFound when absent.
  virtual Result<uint64_t> Size(std::string_view digest) const = 0;

  // Removes an object; kNotFound when absent. The caller is responsible for
  // knowing that nothing refers to it any more.
  virtual Status Delete(std::string_view digest) = 0;

  // Convenience: the whole object in memory (for small objects: manifests).
  Result<std::string> ReadAll(std::string_view digest) const;
};

}  // namespace cairn::blob
