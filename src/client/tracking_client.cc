#include "client/tracking_client.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "client/json_body.h"
#include "client/artifact_download.h"
#include "client/artifact_location.h"
#include "client/http_transport.h"
#include "core/config.h"
#include "core/uri.h"

namespace cairn::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kApiPrefix = "/api/2.0/mlflow/";

std::unexpected<Error> Unexpected(const std::string& what) { return UnexpectedResponse(what); }
Result<json> ParseBody(const std::string& body) { return ParseResponseBody(body); }

json TagsJson(const std::vector<store::Tag>& tags) {
  json arr = json::array();
  for (const auto& t : tags) arr.push_back(json{{"key", t.key}, {"value", t.value}});
  return arr;
}

std::string DefaultUser() {
  for (const char* name : {"USER", "LOGNAME"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
  }
  // As Python's getpass.getuser(), which MLflow's client uses: then the passwd entry.
  passwd entry{};
  passwd* found = nullptr;
  char buffer[1024];
  if (getpwuid_r(getuid(), &entry, buffer, sizeof buffer, &found) == 0 && found != nullptr &&
      found->pw_name != nullptr) {
    return found->pw_name;
  }
  return "unknown";
}

// The next page token of a search response: "" when absent or null.
Result<std::string> NextPageToken(const json& j) {
  auto it = j.find("next_page_token");
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Unexpected("'next_page_token' is not a string");
  return it->get<std::string>();
}

}  // namespace

struct TrackingClient::Impl {
  Impl(ClientConnection c, const Clock* clk)
      : base(std::move(c.base)),
        user(std::move(c.user)),
        transport(base, std::move(c.transport)),
        clock(clk != nullptr ? clk : &SystemClock::Get()) {}

  std::string base;
  std::string user;
  HttpTransport transport;
  const Clock* clock;

  std::string ApiUrl(std::string_view endpoint) const {
    return base + std::string(kApiPrefix) + std::string(endpoint);
  }

  Result<json> Post(std::string_view endpoint, const json& body) {
    std::string payload;
    try {
      payload = body.dump();
    } catch (const json::exception& e) {  // invalid UTF-8 in a caller's string
      return InvalidArgument(std::string("cannot encode the request as JSON: ") + e.what());
    }
    CAIRN_ASSIGN_OR_RETURN(HttpResponse r, transport.Send("POST", ApiUrl(endpoint), payload));
    return ParseBody(r.body);
  }

  Result<json> Get(std::string_view endpoint,
                   const std::vector<std::pair<std::string, std::string>>& params) {
    std::string url = ApiUrl(endpoint);
    if (!params.empty()) url += "?" + QueryString(params);
    CAIRN_ASSIGN_OR_RETURN(HttpResponse r, transport.Send("GET", url));
    return ParseBody(r.body);
  }

  Result<ArtifactLocation> Locate(TrackingClient& client, const std::string& run_id) {
    CAIRN_ASSIGN_OR_RETURN(store::Run run, client.GetRun(run_id));
    return ResolveArtifactLocation(run.info.artifact_uri, base);
  }

  // Upload one file to `rel` (normalized, non-empty) under the run's root.
  Status PutFile(const ArtifactLocation& loc, const std::string& local_file,
                 const std::string& rel) {
    if (loc.kind == ArtifactLocation::Kind::kProxy) {
      return transport.Upload(JoinUrl(loc.endpoint, JoinArtifactPath(loc.root, rel)), local_file);
    }
    fs::path dest = fs::path(loc.local_dir) / rel;
    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    if (ec) return Internal("cannot create '" + dest.parent_path().string() + "': " + ec.message());
    fs::copy_file(local_file, dest, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      return Internal("cannot copy '" + local_file + "' to '" + dest.string() +
                      "': " + ec.message());
    }
    return {};
  }
};

TrackingClient::TrackingClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrackingClient::TrackingClient(TrackingClient&&) noexcept = default;
TrackingClient& TrackingClient::operator=(TrackingClient&&) noexcept = default;
TrackingClient::~TrackingClient() = default;

Result<ClientConnection> ResolveClientConnection(const std::string& tracking_uri,
                                                 const ClientOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(Uri uri, Uri::Parse(tracking_uri));
  if (uri.scheme != "http" && uri.scheme != "https") {
    return InvalidArgument("tracking URI '" + tracking_uri +
                           "' must be http://host:port or https://host[:port][/prefix]");
  }
  if (uri.host.empty()) {
    return InvalidArgument("tracking URI '" + tracking_uri + "' has no host");
  }
  ClientConnection c;
  c.base = tracking_uri;
  if (auto q = c.base.find('?'); q != std::string::npos) c.base.resize(q);
  while (!c.base.empty() && c.base.back() == '/') c.base.pop_back();

  TransportOptions& t = c.transport;
  t.connect_timeout_ms = options.connect_timeout_ms;
  t.request_timeout_ms = options.request_timeout_ms;
  t.bearer_token =
      ResolveSetting(options.token, {"CAIRN_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN"}, "");
  t.username =
      ResolveSetting(options.username, {"CAIRN_TRACKING_USERNAME", "MLFLOW_TRACKING_USERNAME"}, "");
  t.password =
      ResolveSetting(options.password, {"CAIRN_TRACKING_PASSWORD", "MLFLOW_TRACKING_PASSWORD"}, "");
  t.verify_tls = options.verify_tls;
  c.user = ResolveSetting(options.user, {"CAIRN_USER"}, "");
  if (!c.user.empty()) {
    std::string line = "X-Cairn-User: " + c.user;
    if (!CheckHeaderLine(line)) {
      return InvalidArgument("user name '" + c.user + "' contains control characters");
    }
    t.extra_headers.push_back(std::move(line));
  }
  return c;
}

Result<TrackingClient> TrackingClient::Create(const std::string& tracking_uri,
                                              ClientOptions options) {
  CAIRN_ASSIGN_OR_RETURN(ClientConnection c, ResolveClientConnection(tracking_uri, options));
  return TrackingClient(std::make_unique<Impl>(std::move(c), options.clock));
}

const std::string& TrackingClient::tracking_uri() const { return impl_->base; }
const std::string& TrackingClient::user() const { return impl_->user; }

// ---- Experiments

Result<std::string> TrackingClient::CreateExperiment(const std::string& name,
                                                     const std::string& artifact_location,
                                                     const std::vector<store::Tag>& tags) {
  json body{{"name", name}};
  if (!artifact_location.empty()) body["artifact_location"] = artifact_location;
  if (!tags.empty()) body["tags"] = TagsJson(tags);
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Post("experiments/create", body));
  auto it = j.find("experiment_id");
  if (it == j.end() || !it->is_string()) return Unexpected("no experiment_id in the answer");
  return it->get<std::string>();
}

Result<store::Experiment> TrackingClient::GetExperiment(const std::string& experiment_id) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Get("experiments/get", {{"experiment_id", experiment_id}}));
  if (!j.contains("experiment")) return Unexpected("no experiment in the answer");
  return ParseExperiment(j["experiment"]);
}

Result<store::Experiment> TrackingClient::GetExperimentByName(const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(json j,
                         impl_->Get("experiments/get-by-name", {{"experiment_name", name}}));
  if (!j.contains("experiment")) return Unexpected("no experiment in the answer");
  return ParseExperiment(j["experiment"]);
}

Result<ExperimentPage> TrackingClient::SearchExperiments(const ExperimentSearch& query) {
  json body{{"max_results", query.max_results}, {"view_type", ViewTypeName(query.view)}};
  if (!query.filter.empty()) body["filter"] = query.filter;
  if (!query.order_by.empty()) body["order_by"] = query.order_by;
  if (!query.page_token.empty()) body["page_token"] = query.page_token;
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Post("experiments/search", body));
  ExperimentPage page;
  if (auto it = j.find("experiments"); it != j.end() && it->is_array()) {
    for (const auto& e : *it) {
      CAIRN_ASSIGN_OR_RETURN(auto exp, ParseExperiment(e));
      page.experiments.push_back(std::move(exp));
    }
  }
  CAIRN_ASSIGN_OR_RETURN(page.next_page_token, NextPageToken(j));
  return page;
}

Result<std::vector<store::Experiment>> TrackingClient::SearchAllExperiments(
    ExperimentSearch query) {
  std::vector<store::Experiment> all;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(ExperimentPage page, SearchExperiments(query));
    for (auto& e : page.experiments) all.push_back(std::move(e));
    if (page.next_page_token.empty() || page.next_page_token == query.page_token) break;
    query.page_token = std::move(page.next_page_token);
  }
  return all;
}

Status TrackingClient::DeleteExperiment(const std::string& experiment_id) {
  CAIRN_RETURN_IF_ERROR(impl_->Post("experiments/delete", json{{"experiment_id", experiment_id}}));
  return {};
}

Status TrackingClient::RestoreExperiment(const std::string& experiment_id) {
  CAIRN_RETURN_IF_ERROR(impl_->Post("experiments/restore", json{{"experiment_id", experiment_id}}));
  return {};
}

Status TrackingClient::RenameExperiment(const std::string& experiment_id,
                                        const std::string& new_name) {
  CAIRN_RETURN_IF_ERROR(impl_->Post(
      "experiments/update", json{{"experiment_id", experiment_id}, {"new_name", new_name}}));
  return {};
}

Status TrackingClient::SetExperimentTag(const std::string& experiment_id, const std::string& key,
                                        const std::string& value) {
  CAIRN_RETURN_IF_ERROR(
      impl_->Post("experiments/set-experiment-tag",
                  json{{"experiment_id", experiment_id}, {"key", key}, {"value", value}}));
  return {};
}

// ---- Runs

Result<store::Run> TrackingClient::CreateRun(const CreateRunRequest& request) {
  json body{
      {"experiment_id", request.experiment_id},
      {"user_id", request.user_id.empty() ? DefaultUser() : request.user_id},
      {"start_time", request.start_time != 0 ? request.start_time : impl_->clock->NowMillis()}};
  if (!request.run_name.empty()) body["run_name"] = request.run_name;
  if (!request.tags.empty()) body["tags"] = TagsJson(request.tags);
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Post("runs/create", body));
  if (!j.contains("run")) return Unexpected("no run in the answer");
  return ParseRun(j["run"]);
}

Result<store::Run> TrackingClient::GetRun(const std::string& run_id) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Get("runs/get", {{"run_id", run_id}}));
  if (!j.contains("run")) return Unexpected("no run in the answer");
  return ParseRun(j["run"]);
}

Result<RunPage> TrackingClient::SearchRuns(const RunSearch& query) {
  if (query.experiment_ids.empty()) {
    return InvalidArgument("searching runs needs at least one experiment id");
  }
  json body{{"experiment_ids", query.experiment_ids},
            {"run_view_type", ViewTypeName(query.view)},
            {"max_results", query.max_results}};
  if (!query.filter.empty()) body["filter"] = query.filter;
  if (!query.order_by.empty()) body["order_by"] = query.order_by;
  if (!query.page_token.empty()) body["page_token"] = query.page_token;
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Post("runs/search", body));
  RunPage page;
  if (auto it = j.find("runs"); it != j.end() && it->is_array()) {
    for (const auto& r : *it) {
      CAIRN_ASSIGN_OR_RETURN(auto run, ParseRun(r));
      page.runs.push_back(std::move(run));
    }
  }
  CAIRN_ASSIGN_OR_RETURN(page.next_page_token, NextPageToken(j));
  return page;
}

Result<std::vector<store::Run>> TrackingClient::SearchAllRuns(RunSearch query, int64_t limit) {
  std::vector<store::Run> all;
  for (;;) {
    if (limit > 0) query.max_results = std::min<int64_t>(query.max_results, limit - all.size());
    CAIRN_ASSIGN_OR_RETURN(RunPage page, SearchRuns(query));
    for (auto& r : page.runs) all.push_back(std::move(r));
    if (limit > 0 && static_cast<int64_t>(all.size()) >= limit) break;
    if (page.next_page_token.empty() || page.next_page_token == query.page_token) break;
    query.page_token = std::move(page.next_page_token);
  }
  return all;
}

Result<store::RunInfo> TrackingClient::UpdateRun(const std::string& run_id,
                                                 const UpdateRunRequest& update) {
  json body{{"run_id", run_id}};
  if (update.status) body["status"] = *update.status;
  if (update.end_time) body["end_time"] = *update.end_time;
  if (update.run_name) body["run_name"] = *update.run_name;
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Post("runs/update", body));
  if (!j.contains("run_info")) return Unexpected("no run_info in the answer");
  return ParseRunInfo(j["run_info"]);
}

Status TrackingClient::DeleteRun(const std::string& run_id) {
  CAIRN_RETURN_IF_ERROR(impl_->Post("runs/delete", json{{"run_id", run_id}}));
  return {};
}

Status TrackingClient::RestoreRun(const std::string& run_id) {
  CAIRN_RETURN_IF_ERROR(impl_->Post("runs/restore", json{{"run_id", run_id}}));
  return {};
}

Status TrackingClient::LogMetric(const std::string& run_id, const std::string& key, double value,
                                 MetricOptions options) {
  int64_t ts = options.timestamp != 0 ? options.timestamp : impl_->clock->NowMillis();
  CAIRN_RETURN_IF_ERROR(impl_->Post("runs/log-metric", json{{"run_id", run_id},
                                                            {"key", key},
                                                            {"value", DoubleJson(value)},
                                                            {"timestamp", ts},
                                                            {"step", options.step}}));
  return {};
}

Status TrackingClient::LogParam(const std::string& run_id, const std::string& key,
                                const std::string& value) {
  CAIRN_RETURN_IF_ERROR(
      impl_->Post("runs/log-parameter", json{{"run_id", run_id}, {"key", key}, {"value", value}}));
  return {};
}

Status TrackingClient::SetTag(const std::string& run_id, const std::string& key,
                              const std::string& value) {
  CAIRN_RETURN_IF_ERROR(
      impl_->Post("runs/set-tag", json{{"run_id", run_id}, {"key", key}, {"value", value}}));
  return {};
}

Status TrackingClient::DeleteTag(const std::string& run_id, const std::string& key) {
  CAIRN_RETURN_IF_ERROR(impl_->Post("runs/delete-tag", json{{"run_id", run_id}, {"key", key}}));
  return {};
}

Status TrackingClient::LogBatch(const std::string& run_id,
                                const std::vector<store::Metric>& metrics,
                                const std::vector<store::Param>& params,
                                const std::vector<store::Tag>& tags) {
  int64_t now = impl_->clock->NowMillis();
  json ms = json::array();
  for (const auto& m : metrics) {
    store::Metric copy = m;
    if (copy.timestamp == 0) copy.timestamp = now;
    ms.push_back(MetricJson(copy));
  }
  json ps = json::array();
  for (const auto& p : params) ps.push_back(json{{"key", p.key}, {"value", p.value}});
  CAIRN_RETURN_IF_ERROR(impl_->Post(
      "runs/log-batch",
      json{{"run_id", run_id}, {"metrics", ms}, {"params", ps}, {"tags", TagsJson(tags)}}));
  return {};
}

Status TrackingClient::LogInputs(const std::string& run_id,
                                 const std::vector<store::DatasetInput>& datasets) {
  if (datasets.empty()) return {};
  json items = json::array();
  for (const auto& input : datasets) {
    const store::Dataset& d = input.dataset;
    json dataset{{"name", d.name},
                 {"digest", d.digest},
                 {"source_type", d.source_type},
                 {"source", d.source}};
    if (!d.schema.empty()) dataset["schema"] = d.schema;
    if (!d.profile.empty()) dataset["profile"] = d.profile;
    json item{{"dataset", std::move(dataset)}};
    if (!input.tags.empty()) item["tags"] = TagsJson(input.tags);
    items.push_back(std::move(item));
  }
  CAIRN_RETURN_IF_ERROR(
      impl_->Post("runs/log-inputs", json{{"run_id", run_id}, {"datasets", std::move(items)}}));
  return {};
}

Result<std::vector<store::Metric>> TrackingClient::GetMetricHistory(const std::string& run_id,
                                                                    const std::string& key) {
  std::vector<store::Metric> all;
  std::string token;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> params = {
        {"run_id", run_id}, {"metric_key", key}, {"max_results", "25000"}};
    if (!token.empty()) params.emplace_back("page_token", token);
    CAIRN_ASSIGN_OR_RETURN(json j, impl_->Get("metrics/get-history", params));
    if (auto it = j.find("metrics"); it != j.end() && it->is_array()) {
      for (const auto& m : *it) {
        CAIRN_ASSIGN_OR_RETURN(auto metric, ParseMetric(m));
        all.push_back(std::move(metric));
      }
    }
    CAIRN_ASSIGN_OR_RETURN(std::string next, NextPageToken(j));
    if (next.empty() || next == token) break;
    token = std::move(next);
  }
  return all;
}

// ---- Artifacts

Result<int64_t> TrackingClient::LogArtifacts(const std::string& run_id,
                                             const std::string& local_path,
                                             const std::string& artifact_path) {
  CAIRN_ASSIGN_OR_RETURN(std::string dest_dir, NormalizeArtifactPath(artifact_path));
  std::error_code ec;
  auto status = fs::status(local_path, ec);
  if (ec || !fs::exists(status)) {
    return NotFound("local path '" + local_path + "' does not exist");
  }
  // Collect the files first, so a path error fails before anything is uploaded.
  std::vector<std::pair<std::string, std::string>> files;  // local, artifact path
  if (fs::is_regular_file(status)) {
    files.emplace_back(local_path,
                       JoinArtifactPath(dest_dir, fs::path(local_path).filename().string()));
  } else if (fs::is_directory(status)) {
    fs::path root = fs::path(local_path);
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string rel = it->path().lexically_relative(root).generic_string();
      files.emplace_back(it->path().string(), JoinArtifactPath(dest_dir, rel));
    }
    if (ec) return Internal("cannot walk '" + local_path + "': " + ec.message());
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
  } else {
    return InvalidArgument("'" + local_path + "' is neither a file nor a folder");
  }
  CAIRN_ASSIGN_OR_RETURN(ArtifactLocation loc, impl_->Locate(*this, run_id));
  for (const auto& [local, rel] : files) {
    CAIRN_RETURN_IF_ERROR(impl_->PutFile(loc, local, rel));
  }
  return static_cast<int64_t>(files.size());
}

Result<std::vector<FileInfo>> TrackingClient::ListArtifacts(const std::string& run_id,
                                                            const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::string rel, NormalizeArtifactPath(path));
  CAIRN_ASSIGN_OR_RETURN(ArtifactLocation loc, impl_->Locate(*this, run_id));
  return ListArtifactFolder(impl_->transport, loc, rel);
}

Result<std::string> TrackingClient::DownloadArtifacts(const std::string& run_id,
                                                      const std::string& path,
                                                      const std::string& dst_dir) {
  CAIRN_ASSIGN_OR_RETURN(std::string rel, NormalizeArtifactPath(path));
  CAIRN_ASSIGN_OR_RETURN(ArtifactLocation loc, impl_->Locate(*this, run_id));
  std::error_code ec;
  fs::path dst = fs::absolute(dst_dir, ec);
  if (ec) return InvalidArgument("bad destination '" + dst_dir + "': " + ec.message());
  fs::create_directories(dst, ec);
  if (ec) return Internal("cannot create '" + dst.string() + "': " + ec.message());
  CAIRN_RETURN_IF_ERROR(DownloadArtifactTree(impl_->transport, loc, rel, dst));
  return (rel.empty() ? dst : dst / rel).string();
}

}  // namespace cairn::client
