#pragma once
// Pipeline runs as the tracking store records them (docs/ui.md, "Pipeline
// runs"; written by pipeline/runner.cc): a pipeline run is a run tagged
// cairn.pipeline without cairn.step; its steps are its child runs
// (mlflow.parentRunId), tagged cairn.step, cairn.cached, cairn.executor,
// cairn.attempts, cairn.dep.<path>, cairn.out.<path> and cairn.error.
// These read-only views turn those tags into steps, counts and the DAG's
// edges, so the UI holds no rule of its own.
//
// Errors: kNotFound for an unknown run or one that is not a pipeline run,
// kInvalidArgument for bad paging; the store's errors otherwise.
// Thread safety: stateless functions over a thread-safe store.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/metadata_store.h"

namespace cairn::tracking {

inline constexpr int64_t kPipelineRunsDefaultMaxResults = 100;
inline constexpr int64_t kPipelineRunsMaxResults = 1000;

struct PipelinePath {
  std::string path;
  std::string digest;  // as recorded: "sha256:<hex>"
  bool operator==(const PipelinePath&) const = default;
};

struct PipelineStep {
  std::string name;
  std::string run_id;
  std::string status;  // the step run's status: RUNNING, FINISHED, FAILED, ...
  bool cached = false;
  std::string executor;
  std::optional<int64_t> attempts;  // absent until the step finished
  int64_t start_time = 0;
  std::optional<int64_t> end_time;
  std::string error;               // cairn.error; empty when none
  std::string artifact_uri;        // the step run's (its log is under "logs/")
  std::vector<PipelinePath> deps;  // sorted by path
  std::vector<PipelinePath> outs;  // sorted by path
};

struct PipelineEdge {
  std::string from;  // step names
  std::string to;
  bool operator==(const PipelineEdge&) const = default;
};

// The step a child run describes (its tags read as above).
PipelineStep PipelineStepFromRun(const store::Run& run);

// The DAG's edges: A -> B when a dep of B is an out of A or inside one (the
// dep's path equals the out's path or starts with it and a '/'). No edge
// from a step to itself; each edge once; ordered by the position of `from`,
// then of `to`, in `steps`.
std::vector<PipelineEdge> PipelineEdges(const std::vector<PipelineStep>& steps);

struct PipelineRunSummary {
  store::RunInfo info;
  std::string pipeline;  // the cairn.pipeline tag
  int64_t steps = 0;     // child runs with cairn.step
  int64_t cached = 0;    // ... with cairn.cached = true
  int64_t failed = 0;    // ... with status FAILED
};

struct PipelineRunsRequest {
  std::string pipeline;                // only runs of this pipeline; "" = all
  std::optional<int64_t> max_results;  // 1..1000, default 100
  std::string page_token;
};

struct PipelineRunsPage {
  std::vector<PipelineRunSummary> runs;  // newest first
  std::string next_page_token;           // empty on the last page
};

struct PipelineRunDetail {
  store::RunInfo info;
  std::string pipeline;
  std::vector<PipelineStep> steps;  // by start time, then name
  std::vector<PipelineEdge> edges;
};

// The pipeline runs of every active experiment (active runs only).
Result<PipelineRunsPage> ListPipelineRuns(store::MetadataStore& store,
                                          const PipelineRunsRequest& r);

// One pipeline run with its steps and edges.
Result<PipelineRunDetail> GetPipelineRun(store::MetadataStore& store, const std::string& run_id);

}  // namespace cairn::tracking
