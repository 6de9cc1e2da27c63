#include "client/artifact_location.h"

#include "core/uri.h"

namespace cairn::client {
namespace {

constexpr std::string_view kProxyPath = "/api/2.0/mlflow-artifacts/artifacts";

std::string TrimSlashes(std::string_view s) {
  while (s.starts_with('/')) s.remove_prefix(1);
  while (s.ends_with('/')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

Result<std::string> NormalizeArtifactPath(std::string_view path) {
  if (path.starts_with('/')) {
    return InvalidArgument("artifact path '" + std::string(path) +
                           "' must be relative to the run's artifact root");
  }
  std::string out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(i, slash - i);
    i = slash + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      return InvalidArgument("artifact path '" + std::string(path) +
                             "' may not contain '..' segments");
    }
    if (!out.empty()) out.push_back('/');
    out += seg;
  }
  return out;
}

std::string JoinArtifactPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return std::string(a) + "/" + std::string(b);
}

Result<ArtifactLocation> ResolveArtifactLocation(std::string_view artifact_uri,
                                                 std::string_view tracking_base) {
  if (artifact_uri.empty()) {
    return FailedPrecondition("the run has no artifact URI");
  }
  ArtifactLocation loc;
  bool has_scheme = false;
  if (auto colon = artifact_uri.find(':'); colon != std::string_view::npos && colon > 1) {
    // "C:\..." is not a thing here, so any "scheme:" with 2+ chars is a URI.
    has_scheme = artifact_uri.substr(0, colon).find('/') == std::string_view::npos;
  }
  if (!has_scheme) {
    loc.kind = ArtifactLocation::Kind::kLocal;
    CAIRN_ASSIGN_OR_RETURN(loc.local_dir, LocalPathFromUri(artifact_uri));
    return loc;
  }
  CAIRN_ASSIGN_OR_RETURN(Uri uri, Uri::Parse(artifact_uri));
  if (uri.scheme == "file") {
    loc.kind = ArtifactLocation::Kind::kLocal;
    CAIRN_ASSIGN_OR_RETURN(loc.local_dir, LocalPathFromUri(artifact_uri));
    return loc;
  }
  if (uri.scheme == "mlflow-artifacts") {
    loc.kind = ArtifactLocation::Kind::kProxy;
    if (uri.host.empty()) {
      loc.endpoint = std::string(tracking_base);
    } else {
      std::string scheme = tracking_base.starts_with("https:") ? "https" : "http";
      loc.endpoint = scheme + "://" + uri.host + (uri.port ? ":" + std::to_string(uri.port) : "");
    }
    while (!loc.endpoint.empty() && loc.endpoint.back() == '/') loc.endpoint.pop_back();
    loc.endpoint += kProxyPath;
    loc.root = TrimSlashes(uri.path);
    return loc;
  }
  if (uri.scheme == "http" || uri.scheme == "https") {
    auto at = artifact_uri.find(kProxyPath);
    if (at == std::string_view::npos) {
      return MakeError(ErrorCode::kUnimplemented,
                       "artifact URI '" + std::string(artifact_uri) +
                           "' is an HTTP location that is not an MLflow artifact proxy");
    }
    loc.kind = ArtifactLocation::Kind::kProxy;
    loc.endpoint = std::string(artifact_uri.substr(0, at + kProxyPath.size()));
    CAIRN_ASSIGN_OR_RETURN(std::string tail,
                           PercentDecode(artifact_uri.substr(at + kProxyPath.size())));
    loc.root = TrimSlashes(tail);
    return loc;
  }
  return MakeError(ErrorCode::kUnimplemented,
                   "artifact URI scheme '" + uri.scheme + "' (" + std::string(artifact_uri) +
                       ") is not supported by the C++ client; start the server with "
                       "--serve-artifacts so artifacts go through its proxy");
}

}  // namespace cairn::client
