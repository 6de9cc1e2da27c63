#pragma once
// Where a run's artifacts live, as the client reaches them. Pure functions, no I/O.
//
// A run's artifact_uri is one of:
//   mlflow-artifacts:/<path>              -> the tracking server's artifact proxy:
//       <tracking>/api/2.0/mlflow-artifacts/artifacts/<path>
//   mlflow-artifacts://host:port/<path>   -> the proxy on that host (tracking URI's scheme)
//   http(s)://.../api/2.0/mlflow-artifacts/artifacts/<path>  -> that proxy, as given
//   file:///abs/path, /abs/path, rel/path -> the local filesystem, read and written
//       directly (as MLflow's client does for a local artifact root)
// Anything else (s3://, gs://, ...) is kUnimplemented: the C++ client only
// reaches object stores through a server started with --serve-artifacts.

#include <string>
#include <string_view>

#include "core/error.h"

namespace cairn::client {

struct ArtifactLocation {
  enum class Kind { kProxy, kLocal };
  Kind kind = Kind::kProxy;
  // kProxy: the proxy endpoint, "http://h:p[/prefix]/api/2.0/mlflow-artifacts/artifacts",
  // and the run's root under it, decoded ("1/<run_id>/artifacts"). A file's URL
  // is JoinUrl(endpoint, root + "/" + relative path); a listing is
  // GET endpoint?path=<root>/<dir>.
  std::string endpoint;
  std::string root;
  // kLocal: absolute directory of the run's artifact root.
  std::string local_dir;
};

// `tracking_base` is the tracking URI without a trailing '/', e.g.
// "http://127.0.0.1:5000" or "https://host/prefix".
Result<ArtifactLocation> ResolveArtifactLocation(std::string_view artifact_uri,
                                                 std::string_view tracking_base);

// Validates and normalizes a path relative to an artifact root: "a//b/" -> "a/b",
// "" and "." -> "". kInvalidArgument for an absolute path or a ".." segment
// (an artifact path may never escape the run's root).
Result<std::string> NormalizeArtifactPath(std::string_view path);

// "a" + "b" -> "a/b"; either may be empty.
std::string JoinArtifactPath(std::string_view a, std::string_view b);

}  // namespace cairn::client
