// Resolving a run's artifact URI to a readable repository (see the header).

#include "api/run_artifact_root.h"

#include <string_view>

#include "core/uri.h"

namespace cairn::api {

Result<RunArtifactRoot> ResolveRunArtifactRoot(const std::string& artifact_uri,
                                               blob::ArtifactRepository* served) {
  RunArtifactRoot root;
  if (artifact_uri.starts_with("mlflow-artifacts:")) {
    if (served == nullptr) {
      return MakeError(ErrorCode::kUnimplemented,
                       "this server does not serve artifacts (started without artifact serving), "
                       "so it cannot read " +
                           artifact_uri);
    }
    CAIRN_ASSIGN_OR_RETURN(Uri uri, Uri::Parse(artifact_uri));
    std::string_view path = uri.path;
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    root.repo = served;
    root.base = std::string(path);
    return root;
  }
  if (artifact_uri.starts_with("file:") || artifact_uri.starts_with("/")) {
    CAIRN_ASSIGN_OR_RETURN(root.owned, blob::ArtifactRepository::Open(artifact_uri));
    root.repo = root.owned.get();
    return root;
  }
  return MakeError(ErrorCode::kUnimplemented,
                   "reading artifacts stored at " + artifact_uri +
                       " is not supported by this server; the client reads that store directly");
}

}  // namespace cairn::api
