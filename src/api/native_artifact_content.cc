// GET /api/v1/runs/{run_id}/artifact?path=&download=1 (docs/ui.md,
// "Artifact content"): one of a run's artifacts, streamed from the artifact
// repository, for the web UI's previews and download links.
//
// Content types are chosen for showing files on our own origin safely:
// text-like files (and SVG, and HTML) are text/plain, so nothing a run
// logged is ever rendered or run as a page or script; JSON and CSV get their
// own types; PNG, JPEG and GIF are images; the rest is
// application/octet-stream. Every answer also carries nosniff and a
// sandboxing Content-Security-Policy.

#include <string>
#include <string_view>

#include "api/artifact_handlers.h"
#include "api/native_v1_handlers.h"
#include "api/run_artifact_root.h"
#include "blob/artifact_path.h"

namespace cairn::api::native {
namespace {

std::string LowerExtension(std::string_view name) {
  auto dot = name.rfind('.');
  std::string_view ext = (dot == std::string_view::npos) ? name : name.substr(dot + 1);
  std::string out(ext);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

// The Content-Type of artifact `file_name` as the UI's preview receives it.
std::string PreviewContentType(std::string_view file_name) {
  const std::string ext = LowerExtension(file_name);
  if (ext == "json") return "application/json";
  if (ext == "csv") return "text/csv; charset=utf-8";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "gif") return "image/gif";
  if (ext == "svg" || ext == "html" || ext == "htm") return "text/plain; charset=utf-8";
  // MLflow's text-like files (artifact_handlers' list: txt, log, yaml, py,
  // md, MLmodel, ...).
  if (ArtifactContentType(file_name) == "text/plain") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

http::Response GetArtifactContent(tracking::TrackingService& s, blob::ArtifactRepository* artifacts,
                                  const http::Request& req, const std::string& run_id) {
  std::string path = req.QueryParam("path").value_or("");
  if (path.empty()) {
    return http::ErrorResponse(
        Error(ErrorCode::kInvalidArgument, "missing the artifact path: ?path=<file>"));
  }
  bool download = false;
  if (auto d = req.QueryParam("download")) {
    if (*d == "1" || *d == "true") {
      download = true;
    } else if (*d != "0" && *d != "false") {
      return http::ErrorResponse(
          Error(ErrorCode::kInvalidArgument, "download must be 1 or 0, got '" + *d + "'"));
    }
  }
  // Refuse climbing, absolute and encoded paths before anything is looked up.
  auto segments = blob::SplitArtifactPath(path, /*allow_root=*/false);
  if (!segments) return http::ErrorResponse(segments.error());
  auto run = s.GetRun(run_id);
  if (!run) return http::ErrorResponse(run.error());
  // Only the artifact proxy's store is read. A run's artifact_uri comes from
  // its experiment's artifact_location, which any client may set to
  // file:///anywhere; following it would let a client read any file the
  // server can.
  if (!run->info.artifact_uri.starts_with("mlflow-artifacts:")) {
    return http::ErrorResponse(
        Error(ErrorCode::kPermissionDenied,
              "this server reads artifact content only from its artifact store "
              "(mlflow-artifacts:/); run " +
                  run_id + " keeps its artifacts at " + run->info.artifact_uri +
                  ", which the client reads directly"));
  }
  auto root = ResolveRunArtifactRoot(run->info.artifact_uri, artifacts);
  if (!root) return http::ErrorResponse(root.error());
  auto file = root->repo->Download(root->PathInRepo(path));
  if (!file) return http::ErrorResponse(file.error());

  const std::string& name = segments->back();
  http::Response r;
  r.status = 200;
  r.content_type = PreviewContentType(name);
  r.file_path = std::move(file->local_path);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; sandbox");
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (download) r.headers.emplace_back("Content-Disposition", ContentDispositionAttachment(name));
  return r;
}

}  // namespace cairn::api::native
