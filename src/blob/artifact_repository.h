#pragma once
// ArtifactRepository: a tree of artifact files (what MLflow's artifact proxy
// serves under /api/2.0/mlflow-artifacts/artifacts/<path>), stored
// content-addressed so a file logged twice (two runs, two paths) is kept once.
//
// Paths are relative artifact paths validated by blob/artifact_path.h; every
// method refuses an invalid path with kInvalidArgument naming it, before
// anything is read or written.
//
// Semantics (they follow MLflow's local artifact repository):
// - Upload(path, file) creates parent folders and atomically creates or
//   replaces the file at `path`: readers see the old or the new content,
//   never a mix. A path whose parent is a file, or which is itself a folder,
//   is kInvalidArgument.
// - Download(path) gives a local file to stream; kNotFound when absent,
//   kInvalidArgument when `path` is a folder.
// - List(dir) lists the direct children of `dir` ("" = the root), sorted by
//   path, each with its path relative to the repository root (MLflow's
//   FileInfo.path), is_dir, and file_size (files only). A missing `dir`, or
//   a `dir` that is a file, lists as empty (as MLflow does).
// - Delete(path) removes a file or a whole folder; deleting what does not
//   exist succeeds (as MLflow does). The root itself cannot be deleted.
// - CopyTree(from, to) copies the file or folder at `from` (for a folder,
//   the whole tree below it) to `to`, creating `to`'s parent folders. The
//   copy shares content with the original (no bytes are copied where the
//   storage allows it) and is independent of it: deleting or replacing
//   `from` afterwards leaves `to` unchanged. kNotFound (naming `from`) when
//   `from` does not exist; kAlreadyExists (naming `to`) when `to` exists,
//   file or folder: a copy never merges into or replaces anything. Atomic:
//   readers see nothing at `to` or the complete copy, and a failure or crash
//   midway leaves nothing at `to`. Neither path may be the root. Symbolic
//   links and special files inside a copied folder are not artifacts and are
//   not copied. The registry uses it for its immutable copy of a model.
//
// Errors: kInvalidArgument (bad path, path crossing a symbolic link, file vs
// folder conflicts), kNotFound, kAlreadyExists (CopyTree only),
// kResourceExhausted (disk full), kInternal
// (other I/O failures; the message names the file).
//
// Thread safety: all methods may be called concurrently from many threads;
// uploads of the same content, or to the same path, race safely (the last
// rename wins; both uploads succeed).
//
// Implementations: blob/local/local_artifact_repository.h (a folder).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cairn::blob {

struct ArtifactEntry {
  std::string path;        // relative to the repository root, '/'-separated
  bool is_dir = false;
  uint64_t file_size = 0;  // bytes; 0 for folders (MLflow sends none for them)

  bool operator==(const ArtifactEntry&) const = default;
};

// What Download() hands back: a local file whose content is the artifact.
// The caller opens/streams it and must not modify it.
struct ArtifactFile {
  std::string local_path;
  uint64_t size = 0;
};

enum class UploadSource {
  kTake,  // the file is handed over: moved into the store (a link when it is
          // on the repository's filesystem) or deleted. The caller must not
          // write to it afterwards. On error it is left in place.
  kCopy,  // the file is copied; the caller keeps it
};

class ArtifactRepository {
 public:
  // Opens the repository at `root_uri`: "file:///abs/path" or a plain local
  // path (relative paths resolve against the current directory). Folders are
  // created as needed. kInvalidArgument for other schemes (s3:// is not yet
  // implemented: kUnimplemented).
  static Result<std::unique_ptr<ArtifactRepository>> Open(const std::string& root_uri);

  virtual ~ArtifactRepository() = default;

  virtual Status Upload(std::string_view path, const std::string& source_file,
                        UploadSource source = UploadSource::kTake) = 0;
  virtual Status UploadBytes(std::string_view path, std::string_view bytes) = 0;
  virtual Result<ArtifactFile> Download(std::string_view path) = 0;
  virtual Result<std::vector<ArtifactEntry>> List(std::string_view dir) = 0;
  virtual Status Delete(std::string_view path) = 0;
  virtual Status CopyTree(std::string_view from, std::string_view to) = 0;

  // A local folder on the repository's filesystem in which callers may
  // create files to hand to Upload(kTake) (the HTTP server's spool_dir), so
  // taking them is a link instead of a copy. Empty when there is none.
  virtual std::string SpoolDir() const = 0;
};

}  // namespace cairn::blob
