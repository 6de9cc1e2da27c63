#include "blob/artifact_repository.h"

#include "blob/local/local_artifact_repository.h"

namespace cairn::blob {

Result<std::unique_ptr<ArtifactRepository>> ArtifactRepository::Open(const std::string& root_uri) {
  if (root_uri.empty()) return InvalidArgument("artifact root URI is empty");
  if (root_uri.starts_with("s3://")) {
    return MakeError(ErrorCode::kUnimplemented,
                     "artifact root '" + root_uri +
                         "': S3 artifact storage is not available in this version; use a local "
                         "path or a file:// URI");
  }
  // LocalPathFromUri refuses any other scheme with kInvalidArgument naming it.
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<LocalArtifactRepository> local,
                         LocalArtifactRepository::Open(root_uri));
  return std::unique_ptr<ArtifactRepository>(std::move(local));
}

}  // namespace cairn::blob
