// Pipeline runs read from run tags (see pipeline_runs.h).

#include "tracking/pipeline_runs.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <unordered_map>

#include "tracking/page_token.h"

namespace cairn::tracking {
namespace {

constexpr std::string_view kPipelineTag = "cairn.pipeline";
constexpr std::string_view kStepTag = "cairn.step";
constexpr std::string_view kParentTag = "mlflow.parentRunId";
constexpr std::string_view kDepPrefix = "cairn.dep.";
constexpr std::string_view kOutPrefix = "cairn.out.";
// Child runs are read in pages of this many.
constexpr int64_t kChildPage = 1000;

const std::string* FindTag(const store::Run& run, std::string_view key) {
  for (const store::Tag& t : run.tags) {
    if (t.key == key) return &t.value;
  }
  return nullptr;
}

bool IsPipelineRun(const store::Run& run) {
  return FindTag(run, kPipelineTag) != nullptr && FindTag(run, kStepTag) == nullptr;
}

store::Comparison TagEquals(std::string_view key, std::string value) {
  return store::Comparison{store::Entity::kTag, std::string(key), store::Comparator::kEq,
                           std::move(value)};
}

store::Comparison TagIsNull(std::string_view key, bool is_null) {
  return store::Comparison{store::Entity::kTag, std::string(key),
                           is_null ? store::Comparator::kIsNull : store::Comparator::kIsNotNull,
                           std::monostate{}};
}

// Ids of every active experiment.
Result<std::vector<std::string>> ActiveExperimentIds(store::MetadataStore& store) {
  std::vector<std::string> ids;
  store::ExperimentQuery q;
  q.max_results = 1000;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(store::ExperimentPage page, store.SearchExperiments(q));
    for (const store::Experiment& e : page.experiments) ids.push_back(e.experiment_id);
    if (page.next_offset < 0) return ids;
    q.offset = page.next_offset;
  }
}

// Every run matching `q` (read page by page).
Result<std::vector<store::Run>> AllRuns(store::MetadataStore& store, store::RunQuery q) {
  std::vector<store::Run> out;
  q.max_results = kChildPage;
  q.offset = 0;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(store::RunPage page, store.SearchRuns(q));
    for (store::Run& r : page.runs) out.push_back(std::move(r));
    if (page.next_offset < 0) return out;
    q.offset = page.next_offset;
  }
}

}  // namespace

PipelineStep PipelineStepFromRun(const store::Run& run) {
  PipelineStep s;
  s.run_id = run.info.run_id;
  s.status = run.info.status;
  s.start_time = run.info.start_time;
  s.end_time = run.info.end_time;
  s.artifact_uri = run.info.artifact_uri;
  for (const store::Tag& t : run.tags) {
    std::string_view key = t.key;
    if (key == kStepTag) {
      s.name = t.value;
    } else if (key == "cairn.cached") {
      s.cached = t.value == "true";
    } else if (key == "cairn.executor") {
      s.executor = t.value;
    } else if (key == "cairn.attempts") {
      int64_t n = 0;
      bool ok = !t.value.empty() && t.value.size() < 10;
      for (char c : t.value) {
        ok = ok && c >= '0' && c <= '9';
        if (ok) n = n * 10 + (c - '0');
      }
      if (ok) s.attempts = n;
    } else if (key == "cairn.error") {
      s.error = t.value;
    } else if (key.starts_with(kDepPrefix) && key.size() > kDepPrefix.size()) {
      s.deps.push_back({std::string(key.substr(kDepPrefix.size())), t.value});
    } else if (key.starts_with(kOutPrefix) && key.size() > kOutPrefix.size()) {
      s.outs.push_back({std::string(key.substr(kOutPrefix.size())), t.value});
    }
  }
  if (s.name.empty()) s.name = run.info.run_name;
  auto by_path = [](const PipelinePath& a, const PipelinePath& b) { return a.path < b.path; };
  std::sort(s.deps.begin(), s.deps.end(), by_path);
  std::sort(s.outs.begin(), s.outs.end(), by_path);
  return s;
}

std::vector<PipelineEdge> PipelineEdges(const std::vector<PipelineStep>& steps) {
  // Out path -> the steps that produce it; each dep then looks up itself
  // and each folder above it ("a/b/c" -> "a/b/c", "a/b", "a").
  std::unordered_map<std::string_view, std::vector<size_t>> producers;
  for (size_t i = 0; i < steps.size(); ++i) {
    for (const PipelinePath& o : steps[i].outs) producers[o.path].push_back(i);
  }
  std::set<std::pair<size_t, size_t>> edges;
  for (size_t to = 0; to < steps.size(); ++to) {
    for (const PipelinePath& d : steps[to].deps) {
      std::string_view path = d.path;
      for (;;) {
        if (auto it = producers.find(path); it != producers.end()) {
          for (size_t from : it->second) {
            if (from != to) edges.emplace(from, to);
          }
        }
        size_t slash = path.rfind('/');
        if (slash == std::string_view::npos) break;
        path = path.substr(0, slash);
      }
    }
  }
  std::vector<PipelineEdge> out;
  out.reserve(edges.size());
  for (const auto& [from, to] : edges) out.push_back({steps[from].name, steps[to].name});
  return out;
}

Result<PipelineRunsPage> ListPipelineRuns(store::MetadataStore& store,
                                          const PipelineRunsRequest& r) {
  int64_t max_results = r.max_results.value_or(kPipelineRunsDefaultMaxResults);
  if (max_results < 1 || max_results > kPipelineRunsMaxResults) {
    return InvalidArgument("max_results must be between 1 and " +
                           std::to_string(kPipelineRunsMaxResults) + ", got " +
                           std::to_string(max_results));
  }
  CAIRN_ASSIGN_OR_RETURN(int64_t offset, DecodePageToken(r.page_token));
  PipelineRunsPage out;
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> experiments, ActiveExperimentIds(store));
  if (experiments.empty()) return out;

  store::RunQuery q;
  q.experiment_ids = experiments;
  q.filter.push_back(r.pipeline.empty() ? TagIsNull(kPipelineTag, false)
                                        : TagEquals(kPipelineTag, r.pipeline));
  q.filter.push_back(TagIsNull(kStepTag, true));
  q.max_results = max_results;
  q.offset = offset;
  q.columns = store::RunColumns{{}, {}, {std::string(kPipelineTag)}};
  CAIRN_ASSIGN_OR_RETURN(store::RunPage page, store.SearchRuns(q));
  if (page.next_offset >= 0) out.next_page_token = EncodePageToken(page.next_offset);
  if (page.runs.empty()) return out;

  std::vector<std::string> parent_ids;
  std::set<std::string> parent_experiments;
  std::unordered_map<std::string, size_t> index;
  for (store::Run& run : page.runs) {
    index.emplace(run.info.run_id, out.runs.size());
    parent_ids.push_back(run.info.run_id);
    parent_experiments.insert(run.info.experiment_id);
    PipelineRunSummary s;
    if (const std::string* p = FindTag(run, kPipelineTag)) s.pipeline = *p;
    s.info = std::move(run.info);
    out.runs.push_back(std::move(s));
  }
  // The children of the whole page in one search, reading only the tags
  // the counts need.
  store::RunQuery children;
  children.experiment_ids.assign(parent_experiments.begin(), parent_experiments.end());
  children.filter.push_back(store::Comparison{store::Entity::kTag, std::string(kParentTag),
                                              store::Comparator::kIn, parent_ids});
  children.filter.push_back(TagIsNull(kStepTag, false));
  children.columns =
      store::RunColumns{{}, {}, {std::string(kParentTag), std::string(kStepTag), "cairn.cached"}};
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::Run> steps, AllRuns(store, std::move(children)));
  for (const store::Run& step : steps) {
    const std::string* parent = FindTag(step, kParentTag);
    if (parent == nullptr) continue;
    auto it = index.find(*parent);
    if (it == index.end()) continue;
    PipelineRunSummary& s = out.runs[it->second];
    ++s.steps;
    const std::string* cached = FindTag(step, "cairn.cached");
    if (cached != nullptr && *cached == "true") ++s.cached;
    if (step.info.status == "FAILED") ++s.failed;
  }
  return out;
}

Result<PipelineRunDetail> GetPipelineRun(store::MetadataStore& store, const std::string& run_id) {
  if (run_id.empty()) return InvalidArgument("missing the pipeline run id");
  CAIRN_ASSIGN_OR_RETURN(store::Run run, store.GetRun(run_id));
  if (!IsPipelineRun(run)) {
    return NotFound("Run with id=" + run_id +
                    " is not a pipeline run (it has no cairn.pipeline tag, or it is a step)");
  }
  PipelineRunDetail out;
  out.pipeline = *FindTag(run, kPipelineTag);
  out.info = run.info;

  store::RunQuery children;
  children.experiment_ids = {run.info.experiment_id};
  children.filter.push_back(TagEquals(kParentTag, run_id));
  children.filter.push_back(TagIsNull(kStepTag, false));
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::Run> runs, AllRuns(store, std::move(children)));
  for (const store::Run& r : runs) out.steps.push_back(PipelineStepFromRun(r));
  std::sort(out.steps.begin(), out.steps.end(), [](const PipelineStep& a, const PipelineStep& b) {
    if (a.start_time != b.start_time) return a.start_time < b.start_time;
    if (a.name != b.name) return a.name < b.name;
    return a.run_id < b.run_id;
  });
  out.edges = PipelineEdges(out.steps);
  return out;
}

}  // namespace cairn::tracking
