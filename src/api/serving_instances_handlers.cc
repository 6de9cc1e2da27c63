// Serving instances: heartbeats from `cairn serve`, grouped by deployment
// (see serving_instances_handlers.h).

#include "api/serving_instances_handlers.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace cairn::api {
namespace {

using nlohmann::json;

constexpr size_t kMaxIdLength = 128;
constexpr size_t kMaxUrlLength = 2048;
constexpr size_t kMaxNameLength = 256;
constexpr size_t kMaxDeployments = 1000;
constexpr size_t kMaxVersions = 1000;
constexpr int64_t kMinIntervalMs = 100;
constexpr int64_t kMaxIntervalMs = 3600 * 1000;

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

Result<std::string> RequiredString(const json& obj, const std::string& field,
                                   const std::string& where, size_t max_length) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return InvalidArgument(where + " is required");
  if (!it->is_string()) return InvalidArgument(where + " must be a string");
  std::string value = it->get<std::string>();
  if (value.empty()) return InvalidArgument(where + " must not be empty");
  if (value.size() > max_length) {
    return InvalidArgument(where + " is longer than " + std::to_string(max_length) + " characters");
  }
  return value;
}

Result<std::string> OptionalString(const json& obj, const std::string& field,
                                   const std::string& where, size_t max_length) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return InvalidArgument(where + " must be a string");
  std::string value = it->get<std::string>();
  if (value.size() > max_length) {
    return InvalidArgument(where + " is longer than " + std::to_string(max_length) + " characters");
  }
  return value;
}

Result<int64_t> Integer(const json& value, const std::string& where, int64_t min, int64_t max) {
  const std::string range =
      min == 0 && max == INT64_MAX
          ? "an integer >= 0"
          : "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidArgument(where + " must be " + range);
    }
    const int64_t v = value.get<int64_t>();
    if (v < min || v > max) return InvalidArgument(where + " must be " + range);
    return v;
  }
  return InvalidArgument(where + " must be " + range);
}

Result<std::optional<double>> NonNegativeNumber(const json& obj, const std::string& field,
                                                const std::string& where, bool nullable) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    if (nullable) return std::optional<double>();
    if (it == obj.end()) return std::optional<double>(0.0);
    return InvalidArgument(where + " must be a number >= 0");
  }
  if (!it->is_number()) return InvalidArgument(where + " must be a number >= 0");
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < 0) return InvalidArgument(where + " must be a number >= 0");
  return std::optional<double>(v);
}

Result<ServingStats> ParseStats(const json& obj, const std::string& where) {
  ServingStats stats;
  auto it = obj.find("stats");
  if (it == obj.end() || it->is_null()) return stats;
  if (!it->is_object()) return InvalidArgument(where + " must be an object");
  const json& s = *it;
  for (const char* field : {"requests", "errors"}) {
    auto f = s.find(field);
    if (f == s.end()) continue;
    CAIRN_ASSIGN_OR_RETURN(int64_t v, Integer(*f, where + "." + field, 0, INT64_MAX));
    (std::string_view(field) == "requests" ? stats.requests : stats.errors) = v;
  }
  if (stats.errors > stats.requests) {
    return InvalidArgument(where + ".errors must not exceed " + where + ".requests");
  }
  CAIRN_ASSIGN_OR_RETURN(std::optional<double> rate,
                         NonNegativeNumber(s, "rate", where + ".rate", false));
  stats.rate = rate.value_or(0);
  CAIRN_ASSIGN_OR_RETURN(stats.p50_ms, NonNegativeNumber(s, "p50_ms", where + ".p50_ms", true));
  CAIRN_ASSIGN_OR_RETURN(stats.p99_ms, NonNegativeNumber(s, "p99_ms", where + ".p99_ms", true));
  return stats;
}

Result<ServingVersionReport> ParseVersion(const json& v, const std::string& where) {
  if (!v.is_object()) return InvalidArgument(where + " must be an object");
  ServingVersionReport out;
  CAIRN_ASSIGN_OR_RETURN(out.model, RequiredString(v, "model", where + ".model", 1024));
  CAIRN_ASSIGN_OR_RETURN(out.version, OptionalString(v, "version", where + ".version", 256));
  CAIRN_ASSIGN_OR_RETURN(out.alias, OptionalString(v, "alias", where + ".alias", 256));
  CAIRN_ASSIGN_OR_RETURN(out.uri, OptionalString(v, "uri", where + ".uri", 4096));
  CAIRN_ASSIGN_OR_RETURN(out.state, OptionalString(v, "state", where + ".state", 64));
  if (auto it = v.find("weight"); it != v.end() && !it->is_null()) {
    CAIRN_ASSIGN_OR_RETURN(out.weight, Integer(*it, where + ".weight", 0, INT64_MAX));
  }
  if (auto it = v.find("shadow"); it != v.end() && !it->is_null()) {
    if (!it->is_boolean()) return InvalidArgument(where + ".shadow must be true or false");
    out.shadow = it->get<bool>();
  }
  CAIRN_ASSIGN_OR_RETURN(out.stats, ParseStats(v, where + ".stats"));
  return out;
}

Result<ServingDeploymentReport> ParseDeployment(const json& d, const std::string& where) {
  if (!d.is_object()) return InvalidArgument(where + " must be an object");
  ServingDeploymentReport out;
  CAIRN_ASSIGN_OR_RETURN(out.name, RequiredString(d, "name", where + ".name", kMaxNameLength));
  CAIRN_ASSIGN_OR_RETURN(out.sticky_header,
                         OptionalString(d, "sticky_header", where + ".sticky_header", 256));
  CAIRN_ASSIGN_OR_RETURN(out.stats, ParseStats(d, where + ".stats"));
  auto it = d.find("versions");
  if (it == d.end() || it->is_null()) return InvalidArgument(where + ".versions is required");
  if (!it->is_array()) return InvalidArgument(where + ".versions must be an array");
  if (it->size() > kMaxVersions) {
    return InvalidArgument(where + ".versions has more than " + std::to_string(kMaxVersions) +
                           " entries");
  }
  for (size_t i = 0; i < it->size(); ++i) {
    CAIRN_ASSIGN_OR_RETURN(ServingVersionReport v,
                           ParseVersion((*it)[i], where + ".versions[" + std::to_string(i) + "]"));
    out.versions.push_back(std::move(v));
  }
  return out;
}

void PutStats(json& j, const ServingStats& s);
json StatsJson(const ServingStats& s) {
  json j = json::object();
  PutStats(j, s);
  return j;
}

void PutStats(json& j, const ServingStats& s) {
  j["requests"] = s.requests;
  j["errors"] = s.errors;
  j["rate"] = s.rate;
  j["p50_ms"] = s.p50_ms ? json(*s.p50_ms) : json(nullptr);
  j["p99_ms"] = s.p99_ms ? json(*s.p99_ms) : json(nullptr);
}

json DeploymentReportJson(const ServingDeploymentReport& d) {
  json versions = json::array();
  for (const ServingVersionReport& v : d.versions) {
    json jv = {{"model", v.model},   {"version", v.version}, {"weight", v.weight},
               {"shadow", v.shadow}, {"state", v.state},     {"stats", StatsJson(v.stats)}};
    if (!v.alias.empty()) jv["alias"] = v.alias;
    if (!v.uri.empty()) jv["uri"] = v.uri;
    versions.push_back(std::move(jv));
  }
  json j = {{"name", d.name}, {"stats", StatsJson(d.stats)}, {"versions", std::move(versions)}};
  if (!d.sticky_header.empty()) j["sticky_header"] = d.sticky_header;
  return j;
}

// Adds `s` (one instance's interval) into a cross-instance total (see the
// header: counts add, p50 weighted by requests, p99 the largest).
struct StatsSum {
  int64_t requests = 0;
  int64_t errors = 0;
  double rate = 0;
  double p50_weighted = 0;
  int64_t p50_weight = 0;
  std::optional<double> p99_ms;

  void Add(const ServingStats& s) {
    requests += s.requests;
    errors += s.errors;
    rate += s.rate;
    if (s.p50_ms && s.requests > 0) {
      p50_weighted += *s.p50_ms * static_cast<double>(s.requests);
      p50_weight += s.requests;
    }
    if (s.p99_ms) p99_ms = std::max(p99_ms.value_or(0.0), *s.p99_ms);
  }
  ServingStats Total() const {
    ServingStats s;
    s.requests = requests;
    s.errors = errors;
    s.rate = rate;
    if (p50_weight > 0) s.p50_ms = p50_weighted / static_cast<double>(p50_weight);
    s.p99_ms = p99_ms;
    return s;
  }
};

http::Response JsonOk(std::string body) { return http::Response::Json(200, std::move(body)); }

}  // namespace

Result<ServingHeartbeat> ParseServingHeartbeat(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return BadRequest("the heartbeat body is not valid JSON");
  if (!j.is_object()) return InvalidArgument("the heartbeat body must be a JSON object");
  ServingHeartbeat hb;
  CAIRN_ASSIGN_OR_RETURN(hb.instance_id,
                         RequiredString(j, "instance_id", "instance_id", kMaxIdLength));
  if (!std::all_of(hb.instance_id.begin(), hb.instance_id.end(), IsIdChar)) {
    return InvalidArgument("instance_id '" + hb.instance_id +
                           "' may only contain letters, digits, '.', '_', ':' and '-'");
  }
  CAIRN_ASSIGN_OR_RETURN(hb.url, RequiredString(j, "url", "url", kMaxUrlLength));
  if ((hb.url.rfind("http://", 0) != 0 && hb.url.rfind("https://", 0) != 0) ||
      hb.url.find_first_of(" \t\r\n") != std::string::npos ||
      hb.url.size() <= hb.url.find("://") + 3) {
    return InvalidArgument("url '" + hb.url + "' must be an http:// or https:// URL");
  }
  if (auto it = j.find("started_at"); it == j.end() || it->is_null()) {
    return InvalidArgument("started_at is required (milliseconds since the epoch)");
  } else {
    CAIRN_ASSIGN_OR_RETURN(hb.started_at, Integer(*it, "started_at", 0, INT64_MAX));
  }
  if (auto it = j.find("interval_ms"); it != j.end() && !it->is_null()) {
    CAIRN_ASSIGN_OR_RETURN(hb.interval_ms,
                           Integer(*it, "interval_ms", kMinIntervalMs, kMaxIntervalMs));
  }
  CAIRN_ASSIGN_OR_RETURN(std::string state, OptionalString(j, "state", "state", 32));
  if (!state.empty() && state != "running" && state != "stopped") {
    return InvalidArgument("state must be 'running' or 'stopped', not '" + state + "'");
  }
  hb.stopped = state == "stopped";
  auto it = j.find("deployments");
  if (it == j.end() || it->is_null()) return InvalidArgument("deployments is required");
  if (!it->is_array()) return InvalidArgument("deployments must be an array");
  if (it->size() > kMaxDeployments) {
    return InvalidArgument("deployments has more than " + std::to_string(kMaxDeployments) +
                           " entries");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string where = "deployments[" + std::to_string(i) + "]";
    CAIRN_ASSIGN_OR_RETURN(ServingDeploymentReport d, ParseDeployment((*it)[i], where));
    if (!names.insert(d.name).second) {
      return InvalidArgument(where + ".name '" + d.name + "' appears twice");
    }
    hb.deployments.push_back(std::move(d));
  }
  return hb;
}

std::string ServingInstanceRegistry::StateOf(const Instance& instance, int64_t now) const {
  if (instance.stopped) return "stopped";
  if (now - instance.last_seen > kLostAfterIntervals * instance.last.interval_ms) return "lost";
  return "live";
}

void ServingInstanceRegistry::ForgetOldLocked(int64_t now) {
  for (auto it = instances_.begin(); it != instances_.end();) {
    if (now - it->second.last_seen > kForgetAfterMs) {
      it = instances_.erase(it);
    } else {
      ++it;
    }
  }
  while (instances_.size() > kMaxInstances) {
    auto oldest = std::min_element(
        instances_.begin(), instances_.end(),
        [](const auto& a, const auto& b) { return a.second.last_seen < b.second.last_seen; });
    instances_.erase(oldest);
  }
}

std::string ServingInstanceRegistry::Heartbeat(ServingHeartbeat heartbeat) {
  const int64_t now = clock_.NowMillis();
  std::lock_guard lock(mu_);
  auto [it, inserted] = instances_.try_emplace(heartbeat.instance_id);
  Instance& instance = it->second;
  if (inserted) instance.first_seen = now;
  instance.last_seen = now;
  instance.stopped = heartbeat.stopped;
  Point point;
  point.ts = now;
  for (const ServingDeploymentReport& d : heartbeat.deployments) {
    point.deployments.emplace_back(d.name, d.stats);
  }
  instance.history.push_back(std::move(point));
  while (instance.history.size() > kHistory) instance.history.pop_front();
  instance.last = std::move(heartbeat);
  std::string state = StateOf(instance, now);
  ForgetOldLocked(now);
  return state;
}

Status ServingInstanceRegistry::MarkStopped(const std::string& instance_id) {
  std::lock_guard lock(mu_);
  auto it = instances_.find(instance_id);
  if (it == instances_.end()) {
    return NotFound("no serving instance '" + instance_id + "' has sent a heartbeat");
  }
  it->second.stopped = true;
  return {};
}

std::string ServingInstanceRegistry::InstancesJson() const {
  const int64_t now = clock_.NowMillis();
  json list = json::array();
  std::lock_guard lock(mu_);
  for (const auto& [id, instance] : instances_) {
    json deployments = json::array();
    for (const ServingDeploymentReport& d : instance.last.deployments) {
      deployments.push_back(DeploymentReportJson(d));
    }
    list.push_back({{"instance_id", id},
                    {"url", instance.last.url},
                    {"state", StateOf(instance, now)},
                    {"started_at", instance.last.started_at},
                    {"first_seen", instance.first_seen},
                    {"last_heartbeat", instance.last_seen},
                    {"interval_ms", instance.last.interval_ms},
                    {"deployments", std::move(deployments)}});
  }
  return json{{"instances", std::move(list)}}.dump();
}

std::string ServingInstanceRegistry::DeploymentsJson() const {
  const int64_t now = clock_.NowMillis();
  std::lock_guard lock(mu_);

  struct Member {
    const Instance* instance;
    const std::string* id;
    const ServingDeploymentReport* report;
    std::string state;
  };
  std::map<std::string, std::vector<Member>> by_name;
  for (const auto& [id, instance] : instances_) {
    const std::string state = StateOf(instance, now);
    for (const ServingDeploymentReport& d : instance.last.deployments) {
      by_name[d.name].push_back(Member{&instance, &id, &d, state});
    }
  }

  json list = json::array();
  for (const auto& [name, members] : by_name) {
    // State: live beats lost beats stopped.
    std::string state = "stopped";
    for (const Member& m : members) {
      if (m.state == "live") state = "live";
      if (m.state == "lost" && state == "stopped") state = "lost";
    }
    // Current figures: live instances only.
    StatsSum total;
    struct TrafficRow {
      ServingVersionReport spec;  // weights, alias, state: from the freshest live instance
      int64_t spec_seen = -1;
      StatsSum stats;
      int instances = 0;
    };
    std::vector<std::pair<std::string, TrafficRow>> traffic;  // key: model \n version \n shadow
    auto row_for = [&traffic](const ServingVersionReport& v) -> TrafficRow& {
      const std::string key = v.model + "\n" + v.version + "\n" + (v.shadow ? "s" : "l");
      for (auto& [k, row] : traffic) {
        if (k == key) return row;
      }
      traffic.emplace_back(key, TrafficRow{});
      return traffic.back().second;
    };
    const bool any_live = state == "live";
    for (const Member& m : members) {
      const bool counts = m.state == "live";
      if (counts) total.Add(m.report->stats);
      for (const ServingVersionReport& v : m.report->versions) {
        TrafficRow& row = row_for(v);
        // Specs from live instances when there is one, else from any.
        const bool eligible = counts || !any_live;
        if (eligible && m.instance->last_seen > row.spec_seen) {
          row.spec = v;
          row.spec_seen = m.instance->last_seen;
        }
        if (counts) {
          row.stats.Add(v.stats);
          ++row.instances;
        }
      }
    }
    int64_t live_weight = 0;
    for (const auto& [k, row] : traffic) {
      if (!row.spec.shadow && row.spec_seen >= 0) live_weight += row.spec.weight;
    }
    json traffic_json = json::array();
    for (const auto& [k, row] : traffic) {
      if (row.spec_seen < 0) continue;  // only in instances superseded by live ones
      json t = {{"model", row.spec.model},   {"version", row.spec.version},
                {"weight", row.spec.weight}, {"shadow", row.spec.shadow},
                {"state", row.spec.state},   {"instances", row.instances}};
      t["alias"] = row.spec.alias.empty() ? json(nullptr) : json(row.spec.alias);
      t["uri"] = row.spec.uri.empty() ? json(nullptr) : json(row.spec.uri);
      t["share"] = row.spec.shadow || live_weight <= 0
                       ? 0.0
                       : static_cast<double>(row.spec.weight) / static_cast<double>(live_weight);
      PutStats(t, row.stats.Total());
      traffic_json.push_back(std::move(t));
    }

    json instances_json = json::array();
    int64_t bucket_ms = 0;
    for (const Member& m : members) {
      instances_json.push_back({{"instance_id", *m.id},
                                {"url", m.instance->last.url},
                                {"state", m.state},
                                {"last_heartbeat", m.instance->last_seen}});
      bucket_ms = std::max(bucket_ms, m.instance->last.interval_ms);
    }

    // History: bucket -> (instance -> its last stats in the bucket).
    std::map<int64_t, std::map<const std::string*, ServingStats>> buckets;
    for (const Member& m : members) {
      for (const Point& p : m.instance->history) {
        for (const auto& [dname, stats] : p.deployments) {
          if (dname == name) buckets[p.ts / bucket_ms][m.id] = stats;
        }
      }
    }
    while (buckets.size() > kHistory) buckets.erase(buckets.begin());
    json history = json::array();
    for (const auto& [bucket, per_instance] : buckets) {
      StatsSum sum;
      for (const auto& [id, stats] : per_instance) sum.Add(stats);
      json point = {{"ts", bucket * bucket_ms}};
      PutStats(point, sum.Total());
      history.push_back(std::move(point));
    }

    json d = {{"name", name},
              {"state", state},
              {"traffic", std::move(traffic_json)},
              {"instances", std::move(instances_json)},
              {"history", std::move(history)}};
    PutStats(d, total.Total());
    list.push_back(std::move(d));
  }
  return json{{"deployments", std::move(list)}}.dump();
}

void MountServingInstanceRoutes(http::Router& router,
                                std::shared_ptr<ServingInstanceRegistry> registry) {
  router.Add(http::Method::kPost, "/api/v1/serving/instances/heartbeat",
             [registry](http::Request& req) -> http::Response {
               Result<ServingHeartbeat> hb = ParseServingHeartbeat(req.body);
               if (!hb) return http::ErrorResponse(hb.error());
               const std::string id = hb->instance_id;
               const std::string state = registry->Heartbeat(std::move(*hb));
               return JsonOk(json{{"instance_id", id}, {"state", state}}.dump());
             });
  router.Add(http::Route{
      http::Method::kDelete, "/api/v1/serving/instances", /*prefix=*/true, http::BodyMode::kBuffer,
      [registry](http::Request& req) -> http::Response {
        const std::string id = req.route_suffix;
        if (id.empty() || id.find('/') != std::string::npos) {
          return http::ErrorResponse(Error(ErrorCode::kInvalidArgument,
                                           "DELETE /api/v1/serving/instances/{instance_id}: "
                                           "give one id"));
        }
        Status st = registry->MarkStopped(id);
        if (!st) return http::ErrorResponse(st.error());
        return JsonOk(json{{"instance_id", id}, {"state", "stopped"}}.dump());
      },
      nullptr});
  router.Add(http::Method::kGet, "/api/v1/serving/instances",
             [registry](http::Request&) { return JsonOk(registry->InstancesJson()); });
  router.Add(http::Method::kGet, "/api/v1/serving/deployments",
             [registry](http::Request&) { return JsonOk(registry->DeploymentsJson()); });
}

void MountServingInstanceRoutes(http::Router& router) {
  MountServingInstanceRoutes(router, std::make_shared<ServingInstanceRegistry>(SystemClock::Get()));
}

}  // namespace cairn::api
