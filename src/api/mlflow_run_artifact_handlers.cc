// MLflow artifacts/list: a run's artifact listing, through the server.

#include <string_view>

#include "api/mlflow_handlers.h"
#include "api/request_fields.h"
#include "api/run_artifact_root.h"
#include "blob/artifact_path.h"
#include "core/json_writer.h"
#include "core/uri.h"

namespace cairn::api::mlflow {

Result<std::string> ListRunArtifacts(tracking::TrackingService& s,
                                     blob::ArtifactRepository* artifacts,
                                     const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string run_id, f.StringOrEmpty("run_id"));
  if (run_id.empty()) {
    CAIRN_ASSIGN_OR_RETURN(run_id, f.StringOrEmpty("run_uuid"));
  }
  CAIRN_ASSIGN_OR_RETURN(std::string path, f.StringOrEmpty("path"));
  while (path.ends_with('/')) path.pop_back();
  // Refuse climbing or absolute paths before anything is looked up.
  CAIRN_RETURN_IF_ERROR(blob::SplitArtifactPath(path, /*allow_root=*/true));
  CAIRN_ASSIGN_OR_RETURN(store::Run run, s.GetRun(run_id));
  CAIRN_ASSIGN_OR_RETURN(RunArtifactRoot root,
                         ResolveRunArtifactRoot(run.info.artifact_uri, artifacts));

  std::string dir = root.base;
  if (!path.empty()) dir = dir.empty() ? path : dir + "/" + path;
  CAIRN_ASSIGN_OR_RETURN(std::vector<blob::ArtifactEntry> entries, root.repo->List(dir));

  JsonWriter w;
  w.BeginObject();
  w.Field("root_uri", run.info.artifact_uri);
  w.Key("files").BeginArray();
  for (const blob::ArtifactEntry& e : entries) {
    // Paths are relative to the run's artifact root, as MLflow reports them.
    std::string_view rel = e.path;
    if (!root.base.empty() && rel.starts_with(root.base + "/"))
      rel.remove_prefix(root.base.size() + 1);
    w.BeginObject();
    w.Field("path", rel);
    w.Key("is_dir").Bool(e.is_dir);
    if (!e.is_dir) w.Field("file_size", static_cast<int64_t>(e.file_size));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace cairn::api::mlflow
