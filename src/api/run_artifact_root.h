#pragma once
// Where a run's artifacts can be read by this server: the repository and
// the folder in it named by the run's artifact URI. Used by MLflow's
// artifacts/list and by the native artifact content endpoint.
//
//   mlflow-artifacts:/<path>  the artifact proxy's repository (`served`),
//                             folder <path>; kUnimplemented when the server
//                             does not serve artifacts (`served` null)
//   file:///abs, /abs         a repository opened at that folder (owned)
//   anything else (s3://...)  kUnimplemented: the client reads that store
//
// Thread safety: the result borrows `served`, which must outlive it.

#include <memory>
#include <string>

#include "blob/artifact_repository.h"
#include "core/error.h"

namespace cairn::api {

struct RunArtifactRoot {
  blob::ArtifactRepository* repo = nullptr;
  std::unique_ptr<blob::ArtifactRepository> owned;  // for file:// roots
  std::string base;                                 // "" or "1/<run>/artifacts"

  // `path` (relative to the run's root, "" for the root) in the repository.
  std::string PathInRepo(const std::string& path) const {
    if (path.empty()) return base;
    return base.empty() ? path : base + "/" + path;
  }
};

Result<RunArtifactRoot> ResolveRunArtifactRoot(const std::string& artifact_uri,
                                               blob::ArtifactRepository* served);

}  // namespace cairn::api
