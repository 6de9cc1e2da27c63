// Metric series for the web UI's charts (docs/ui.md, "Series"): a run's
// history of one key, downsampled with LTTB above max_points, as JSON; the
// same for several runs and keys at once; the full series as CSV.

#include <cmath>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "api/artifact_handlers.h"
#include "api/native_v1_handlers.h"
#include "api/request_fields.h"
#include "core/json_writer.h"
#include "tracking/lttb.h"

namespace cairn::api::native {
namespace {

Result<int64_t> CheckMaxPoints(std::optional<int64_t> max_points) {
  int64_t n = max_points.value_or(kDefaultMaxPoints);
  if (n < 2 || n > kMaxMaxPoints) {
    return InvalidArgument("max_points must be between 2 and " + std::to_string(kMaxMaxPoints) +
                           ", got " + std::to_string(n));
  }
  return n;
}

// The whole history of one key, ordered by step, timestamp (and value).
Result<std::vector<store::Metric>> History(tracking::TrackingService& s, const std::string& run_id,
                                           const std::string& key) {
  tracking::MetricHistoryRequest r;
  r.run_id = run_id;
  r.metric_key = key;
  CAIRN_ASSIGN_OR_RETURN(tracking::MetricHistoryPage page, s.GetMetricHistory(r));
  return std::move(page.metrics);
}

std::string_view NonFiniteName(double v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "Infinity" : "-Infinity";
}

// {"run_id","key","total_points","downsampled","steps","timestamps","values",
//  "non_finite"?}
void WriteSeries(JsonWriter& w, const std::string& run_id, const std::string& key,
                 const std::vector<store::Metric>& points, int64_t max_points) {
  std::vector<size_t> keep;
  if (static_cast<int64_t>(points.size()) > max_points) {
    std::vector<double> x(points.size()), y(points.size());
    for (size_t i = 0; i < points.size(); ++i) {
      x[i] = static_cast<double>(points[i].step);
      y[i] = points[i].value;
    }
    keep = tracking::LttbIndices(x, y, static_cast<size_t>(max_points));
  } else {
    keep.resize(points.size());
    for (size_t i = 0; i < keep.size(); ++i) keep[i] = i;
  }
  w.BeginObject();
  w.Field("run_id", run_id);
  w.Field("key", key);
  w.Field("total_points", static_cast<int64_t>(points.size()));
  w.Key("downsampled").Bool(keep.size() < points.size());
  w.Key("steps").BeginArray();
  for (size_t i : keep) w.Int(points[i].step);
  w.EndArray();
  w.Key("timestamps").BeginArray();
  for (size_t i : keep) w.Int(points[i].timestamp);
  w.EndArray();
  w.Key("values").BeginArray();
  bool any_non_finite = false;
  for (size_t i : keep) {
    double v = points[i].value;
    if (std::isfinite(v)) {
      w.Double(v);
    } else {
      w.Null();
      any_non_finite = true;
    }
  }
  w.EndArray();
  if (any_non_finite) {
    w.Key("non_finite").BeginObject();
    for (size_t j = 0; j < keep.size(); ++j) {
      double v = points[keep[j]].value;
      if (!std::isfinite(v)) w.Field(std::to_string(j), NonFiniteName(v));
    }
    w.EndObject();
  }
  w.EndObject();
}

Result<std::string> RequiredKey(const http::Request& req) {
  auto key = req.QueryParam("key");
  if (!key || key->empty()) return InvalidArgument("missing the metric key: ?key=<metric key>");
  return *key;
}

Result<std::string> GetSeries(tracking::TrackingService& s, const http::Request& req,
                              const std::string& run_id) {
  CAIRN_ASSIGN_OR_RETURN(std::string key, RequiredKey(req));
  std::optional<int64_t> max_points;
  if (auto m = req.QueryParam("max_points")) {
    max_points = ParseInt64Text(*m);
    if (!max_points) return InvalidArgument("max_points must be an integer, got '" + *m + "'");
  }
  CAIRN_ASSIGN_OR_RETURN(int64_t n, CheckMaxPoints(max_points));
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::Metric> points, History(s, run_id, key));
  JsonWriter w;
  WriteSeries(w, run_id, key, points, n);
  return w.Take();
}

void AppendCsvValue(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += NonFiniteName(v);
    return;
  }
  char buf[32];
  int len = std::snprintf(buf, sizeof buf, "%.17g", v);
  out.append(buf, static_cast<size_t>(len));
}

http::Response GetSeriesCsv(tracking::TrackingService& s, const http::Request& req,
                            const std::string& run_id) {
  auto key = RequiredKey(req);
  if (!key) return http::ErrorResponse(key.error());
  auto points = History(s, run_id, *key);
  if (!points) return http::ErrorResponse(points.error());
  http::Response r;
  r.status = 200;
  r.content_type = "text/csv; charset=utf-8";
  r.body.reserve(32 + points->size() * 40);
  r.body = "step,timestamp,value\n";
  for (const store::Metric& m : *points) {
    r.body += std::to_string(m.step);
    r.body += ',';
    r.body += std::to_string(m.timestamp);
    r.body += ',';
    AppendCsvValue(r.body, m.value);
    r.body += '\n';
  }
  r.headers.emplace_back("Content-Disposition",
                         ContentDispositionAttachment(run_id + "-" + *key + ".csv"));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace

Result<std::string> GetSeriesBatch(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req, {"run_ids", "keys"}));
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> run_ids, f.StringList("run_ids"));
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> keys, f.StringList("keys"));
  if (run_ids.empty() || run_ids.size() > kMaxRunsPerRequest) {
    return InvalidArgument("run_ids must name 1 to " + std::to_string(kMaxRunsPerRequest) +
                           " runs, got " + std::to_string(run_ids.size()));
  }
  if (keys.empty() || keys.size() > kMaxSeriesKeys) {
    return InvalidArgument("keys must name 1 to " + std::to_string(kMaxSeriesKeys) +
                           " metric keys, got " + std::to_string(keys.size()));
  }
  for (const std::string& k : keys) {
    if (k.empty()) return InvalidArgument("keys must not contain an empty key");
  }
  CAIRN_ASSIGN_OR_RETURN(std::optional<int64_t> max_points, f.Int64("max_points"));
  CAIRN_ASSIGN_OR_RETURN(int64_t n, CheckMaxPoints(max_points));
  JsonWriter w;
  w.BeginObject();
  w.Key("series").BeginArray();
  for (const std::string& run_id : run_ids) {
    for (const std::string& key : keys) {
      CAIRN_ASSIGN_OR_RETURN(std::vector<store::Metric> points, History(s, run_id, key));
      WriteSeries(w, run_id, key, points, n);
    }
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

http::Response RunSubresource(tracking::TrackingService& s, blob::ArtifactRepository* artifacts,
                              const http::Request& req) {
  std::string_view suffix = req.route_suffix;
  size_t slash = suffix.find('/');
  if (slash != std::string_view::npos && slash > 0) {
    std::string run_id(suffix.substr(0, slash));
    std::string_view what = suffix.substr(slash + 1);
    if (what == "series") {
      auto body = GetSeries(s, req, run_id);
      if (!body) return http::ErrorResponse(body.error());
      return http::Response::Json(200, std::move(*body));
    }
    if (what == "series.csv") return GetSeriesCsv(s, req, run_id);
    if (what == "artifact") return GetArtifactContent(s, artifacts, req, run_id);
  }
  return http::ErrorResponse(
      Error(ErrorCode::kEndpointNotFound,
            "No endpoint GET " + req.path +
                " (try /api/v1/runs/{id}/series, /api/v1/runs/{id}/series.csv or "
                "/api/v1/runs/{id}/artifact)"));
}

}  // namespace cairn::api::native
