// GET /api/v1/pipeline-runs and /api/v1/pipeline-runs/{run_id} (docs/ui.md,
// "Pipeline runs"): parse -> tracking/pipeline_runs -> render. Each step's
// log path is looked up in its run's "logs" artifact folder.

#include <string>

#include "api/native_v1_handlers.h"
#include "api/request_fields.h"
#include "api/run_artifact_root.h"
#include "core/json_writer.h"
#include "tracking/pipeline_runs.h"

namespace cairn::api::native {
namespace {

void WriteRunInfoFields(JsonWriter& w, const store::RunInfo& info) {
  w.Field("run_id", info.run_id);
  w.Field("experiment_id", info.experiment_id);
  w.Field("run_name", info.run_name);
  w.Field("status", info.status);
  w.Field("start_time", info.start_time);
  w.Key("end_time");
  if (info.end_time) {
    w.Int(*info.end_time);
  } else {
    w.Null();
  }
}

void WritePaths(JsonWriter& w, std::string_view field,
                const std::vector<tracking::PipelinePath>& paths) {
  w.Key(field).BeginArray();
  for (const tracking::PipelinePath& p : paths) {
    w.BeginObject().Field("path", p.path).Field("digest", p.digest).EndObject();
  }
  w.EndArray();
}

// "logs/<file>" when the step's run has a file in its "logs" artifact
// folder (the runner uploads the step's log there); "" otherwise, also when
// the artifacts cannot be read by this server.
std::string LogPath(const std::string& artifact_uri, blob::ArtifactRepository* artifacts) {
  auto root = ResolveRunArtifactRoot(artifact_uri, artifacts);
  if (!root) return "";
  auto entries = root->repo->List(root->PathInRepo("logs"));
  if (!entries) return "";
  for (const blob::ArtifactEntry& e : *entries) {
    if (e.is_dir) continue;
    auto slash = e.path.rfind('/');
    return "logs/" + (slash == std::string::npos ? e.path : e.path.substr(slash + 1));
  }
  return "";
}

}  // namespace

Result<std::string> ListPipelineRuns(tracking::TrackingService& s, const http::Request& req) {
  tracking::PipelineRunsRequest r;
  r.pipeline = req.QueryParam("pipeline").value_or("");
  r.page_token = req.QueryParam("page_token").value_or("");
  if (auto m = req.QueryParam("max_results")) {
    r.max_results = ParseInt64Text(*m);
    if (!r.max_results) return InvalidArgument("max_results must be an integer, got '" + *m + "'");
  }
  CAIRN_ASSIGN_OR_RETURN(tracking::PipelineRunsPage page, tracking::ListPipelineRuns(s.store(), r));
  JsonWriter w;
  w.BeginObject();
  w.Key("pipeline_runs").BeginArray();
  for (const tracking::PipelineRunSummary& p : page.runs) {
    w.BeginObject();
    WriteRunInfoFields(w, p.info);
    w.Field("pipeline", p.pipeline);
    w.Field("steps", p.steps);
    w.Field("cached", p.cached);
    w.Field("failed", p.failed);
    w.EndObject();
  }
  w.EndArray();
  if (!page.next_page_token.empty()) w.Field("next_page_token", page.next_page_token);
  w.EndObject();
  return w.Take();
}

Result<std::string> GetPipelineRun(tracking::TrackingService& s,
                                   blob::ArtifactRepository* artifacts, const http::Request& req) {
  std::string run_id = req.route_suffix;
  if (run_id.empty() || run_id.find('/') != std::string::npos) {
    return MakeError(ErrorCode::kEndpointNotFound,
                     "No endpoint GET " + req.path + " (try /api/v1/pipeline-runs/{run_id})");
  }
  CAIRN_ASSIGN_OR_RETURN(tracking::PipelineRunDetail d,
                         tracking::GetPipelineRun(s.store(), run_id));
  JsonWriter w;
  w.BeginObject();
  w.Key("run").BeginObject();
  WriteRunInfoFields(w, d.info);
  w.EndObject();
  w.Field("pipeline", d.pipeline);
  w.Key("steps").BeginArray();
  for (const tracking::PipelineStep& st : d.steps) {
    w.BeginObject();
    w.Field("name", st.name);
    w.Field("run_id", st.run_id);
    w.Field("status", st.status);
    w.Key("cached").Bool(st.cached);
    w.Field("executor", st.executor);
    w.Key("attempts");
    if (st.attempts) {
      w.Int(*st.attempts);
    } else {
      w.Null();
    }
    w.Field("start_time", st.start_time);
    w.Key("end_time");
    if (st.end_time) {
      w.Int(*st.end_time);
    } else {
      w.Null();
    }
    w.Key("error");
    if (st.error.empty()) {
      w.Null();
    } else {
      w.String(st.error);
    }
    WritePaths(w, "deps", st.deps);
    WritePaths(w, "outs", st.outs);
    w.Key("log_path");
    std::string log = LogPath(st.artifact_uri, artifacts);
    if (log.empty()) {
      w.Null();
    } else {
      w.String(log);
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("edges").BeginArray();
  for (const tracking::PipelineEdge& e : d.edges) {
    w.BeginObject().Field("from", e.from).Field("to", e.to).EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace cairn::api::native
