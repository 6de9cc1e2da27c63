#pragma once
// Data remotes (docs/pipelines.md, "Remotes"): where `cairn data push`
// sends cache objects and `pull`/`fetch` get them from.
//
//   /abs/path or file:///abs/path   a folder with the cache's objects layout
//                                   (objects/ab/cdef...); writes go to a temp
//                                   name beside the object (object_batch.h),
//                                   renamed in batches by Flush, so an
//                                   interrupted push leaves no partial object
//   http(s)://host:port             a Cairn server: POST /api/v1/blobs/missing
//                                   {"digests": [...]} -> {"missing": [...]}
//                                   (at most 1,000 per request), PUT
//                                   /api/v1/blobs/<digest> (the server checks
//                                   the digest before keeping the object),
//                                   GET /api/v1/blobs/<digest>
//
// Get reports the SHA-256 of the bytes it wrote, computed as it wrote them
// (data/hashing.h HashingWriter: no second read of the object); the caller
// (transfer.h) compares it with the digest asked for before the object
// enters the cache: a remote can never corrupt it.
//
// Errors: kInvalidArgument (a bad URL or digest), kNotFound (an object the
// remote lacks, or a folder remote that does not exist: the message names
// it), kUnavailable (a server that cannot be reached: URL and cause),
// kPermissionDenied / kUnauthenticated (the server's answer), kInternal.
//
// Thread safety: Missing, Put and Get may be called concurrently from many
// threads on one Remote; Flush from one thread once the Puts returned.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cairn::data {

class Remote {
 public:
  virtual ~Remote() = default;
  // The URL as configured (for messages).
  virtual const std::string& url() const = 0;
  // The digests of `digests` the remote lacks, in the given order.
  virtual Result<std::vector<std::string>> Missing(const std::vector<std::string>& digests) = 0;
  // Uploads the local file `path` (a cache object) as `digest`. Succeeds when
  // the remote already has it.
  virtual Status Put(std::string_view digest, const std::string& path) = 0;
  // Downloads object `digest` into the new file `dest_path` (which must not
  // exist; its folder does) and returns the lowercase hex SHA-256 of the
  // bytes written there, whatever they are: the caller compares it with
  // `digest` (a remote serving damaged bytes is not an error here). An
  // implementation must hash what it wrote, never echo the name asked for.
  // On error nothing is left at dest_path.
  virtual Result<std::string> Get(std::string_view digest, const std::string& dest_path) = 0;
  // Makes every object Put since the last Flush durable and visible under
  // its name. A folder remote stages Puts as temp files and installs them
  // here with one flush of its file system (object_batch.h); a Cairn server
  // stores each PUT itself (nothing to do). Push calls it after the files
  // and again after the manifests, so a manifest is never visible before its
  // files. Puts not flushed are discarded when the Remote is destroyed.
  virtual Status Flush() { return {}; }
};

struct RemoteOptions {
  // Sent as "Authorization: Bearer <token>" to a Cairn server when set
  // (CAIRN_TRACKING_TOKEN / MLFLOW_TRACKING_TOKEN, as the CLI does).
  std::string bearer_token;
  // Per-request timeout for HTTP remotes.
  int timeout_seconds = 300;
};

// Opens the remote at `url` (validated as config.h ValidateRemoteUrl). A
// folder remote's folder is created on first Put, not here.
Result<std::unique_ptr<Remote>> OpenRemote(std::string_view url, const RemoteOptions& options = {});

}  // namespace cairn::data
