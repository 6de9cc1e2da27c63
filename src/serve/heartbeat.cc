// Heartbeats from `cairn serve` to the control plane (see heartbeat.h).

#include "serve/heartbeat.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <utility>

#include "client/http_transport.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"

namespace cairn::serve {
namespace {

using nlohmann::json;

json StatsJson(const IntervalStats& s) {
  json j = {{"requests", s.requests}, {"errors", s.errors}, {"rate", s.rate}};
  j["p50_ms"] = s.p50_ms ? json(*s.p50_ms) : json(nullptr);
  j["p99_ms"] = s.p99_ms ? json(*s.p99_ms) : json(nullptr);
  return j;
}

// "models:/fraud@champion" -> "champion"; "" for other URIs.
std::string AliasOf(const std::string& model_uri) {
  if (model_uri.rfind("models:/", 0) != 0) return "";
  const size_t at = model_uri.find('@');
  return at == std::string::npos ? "" : model_uri.substr(at + 1);
}

bool IsServerError(const std::string& code) {
  return code.size() == 3 && code[0] >= '5' && code[0] <= '9';
}

}  // namespace

std::optional<double> InferenceStatsWindow::Quantile(const std::vector<double>& bounds,
                                                     const std::vector<uint64_t>& counts,
                                                     double q) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0 || bounds.empty()) return std::nullopt;
  const double rank = q * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    if (static_cast<double>(below + counts[i]) >= rank) {
      if (i >= bounds.size()) return bounds.back();  // +Inf bucket: the largest finite bound
      const double lower = i == 0 ? 0.0 : bounds[i - 1];
      const double upper = bounds[i];
      const double fraction = std::clamp(
          (rank - static_cast<double>(below)) / static_cast<double>(counts[i]), 0.0, 1.0);
      return lower + (upper - lower) * fraction;
    }
    below += counts[i];
  }
  return bounds.back();
}

InferenceStatsWindow::Window InferenceStatsWindow::Take(double seconds) {
  struct Delta {
    std::vector<uint64_t> buckets;  // non-cumulative
    double requests = 0;
    double errors = 0;
  };
  std::map<VersionKey, Delta> deltas;
  std::vector<double> bounds;

  request_seconds_->ForEach([&](const std::vector<std::string>& labels, const Histogram& h) {
    if (labels.size() != 4) return;
    if (bounds.empty()) bounds = h.upper_bounds();
    if (h.upper_bounds() != bounds) return;  // one bucket layout (LatencyBuckets) throughout
    const VersionKey key{labels[0], labels[1], labels[2], labels[3]};
    std::vector<uint64_t> now = h.CumulativeCounts();
    Seen& seen = seen_[key];
    if (seen.cumulative.size() != now.size()) seen.cumulative.assign(now.size(), 0);
    Delta& d = deltas[key];
    d.buckets.assign(now.size(), 0);
    uint64_t previous_cumulative_delta = 0;
    for (size_t i = 0; i < now.size(); ++i) {
      const uint64_t cumulative_delta =
          now[i] >= seen.cumulative[i] ? now[i] - seen.cumulative[i] : 0;
      // Cumulative deltas are monotone except when reads raced an Observe; clamp.
      d.buckets[i] = cumulative_delta >= previous_cumulative_delta
                         ? cumulative_delta - previous_cumulative_delta
                         : 0;
      previous_cumulative_delta = std::max(previous_cumulative_delta, cumulative_delta);
    }
    seen.cumulative = std::move(now);
  });

  // requests_total children per (key, code): sum this interval's increase.
  std::map<VersionKey, std::pair<double, double>> counter_now;  // requests, errors
  requests_total_->ForEach([&](const std::vector<std::string>& labels, const Counter& c) {
    if (labels.size() != 5) return;
    auto& [requests, errors] = counter_now[VersionKey{labels[0], labels[1], labels[2], labels[3]}];
    const double v = c.Value();
    requests += v;
    if (IsServerError(labels[4])) errors += v;
  });
  for (const auto& [key, totals] : counter_now) {
    Seen& seen = seen_[key];
    Delta& d = deltas[key];
    d.requests = std::max(0.0, totals.first - seen.requests);
    d.errors = std::max(0.0, totals.second - seen.errors);
    seen.requests = totals.first;
    seen.errors = totals.second;
  }

  Window window;
  std::map<std::string, Delta> per_deployment;
  // One interval's figures from its bucket counts and counters.
  auto stats_of = [&](const Delta& d) {
    IntervalStats s;
    s.requests = static_cast<int64_t>(d.requests);
    s.errors = static_cast<int64_t>(d.errors);
    s.rate = seconds > 0 ? d.requests / seconds : 0;
    if (s.requests > 0) {
      if (auto p = Quantile(bounds, d.buckets, 0.5)) s.p50_ms = *p * 1000;
      if (auto p = Quantile(bounds, d.buckets, 0.99)) s.p99_ms = *p * 1000;
    }
    return s;
  };
  for (const auto& [key, d] : deltas) {
    window.versions[key] = stats_of(d);
    if (std::get<3>(key) == "live") {
      Delta& total = per_deployment[std::get<0>(key)];
      if (total.buckets.size() < d.buckets.size()) total.buckets.resize(d.buckets.size(), 0);
      for (size_t i = 0; i < d.buckets.size(); ++i) total.buckets[i] += d.buckets[i];
      total.requests += d.requests;
      total.errors += d.errors;
    }
  }
  for (const auto& [name, d] : per_deployment) window.deployments[name] = stats_of(d);
  return window;
}

struct HeartbeatSender::Transport {
  client::HttpTransport http;
  std::string endpoint;
  Transport(const std::string& tracking_uri, client::TransportOptions options)
      : http(tracking_uri, std::move(options)) {
    std::string base = tracking_uri;
    while (!base.empty() && base.back() == '/') base.pop_back();
    endpoint = base + "/api/v1/serving/instances/heartbeat";
  }
};

HeartbeatSender::HeartbeatSender(std::string tracking_uri, std::string url, std::string user,
                                 std::chrono::milliseconds interval, const ModelManager& manager,
                                 Family<Counter>* requests_total,
                                 Family<Histogram>* request_seconds)
    : tracking_uri_(std::move(tracking_uri)),
      url_(std::move(url)),
      instance_id_(NewRequestId()),
      started_at_(SystemClock::Get().NowMillis()),
      interval_(interval),
      manager_(manager),
      window_(requests_total, request_seconds),
      last_take_(std::chrono::steady_clock::now()) {
  client::TransportOptions options;
  // Short: a heartbeat that cannot go now is replaced by the next one.
  options.connect_timeout_ms = 2'000;
  options.request_timeout_ms = 5'000;
  if (!user.empty() && client::CheckHeaderLine("X-Cairn-User: " + user).has_value()) {
    options.extra_headers.push_back("X-Cairn-User: " + user);
  }
  transport_ = std::make_unique<Transport>(tracking_uri_, std::move(options));
}

HeartbeatSender::~HeartbeatSender() { Stop(); }

std::string HeartbeatSender::NextBody(bool stopped) {
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - last_take_).count();
  last_take_ = now;
  InferenceStatsWindow::Window window = window_.Take(seconds);

  json deployments = json::array();
  for (const DeploymentStatus& d : manager_.Status()) {
    json versions = json::array();
    for (const TargetStatus& t : d.targets) {
      json v = {{"model", t.model_name.empty() ? t.spec.model_uri : t.model_name},
                {"version", t.version},
                {"weight", t.spec.shadow ? 0 : t.spec.weight},
                {"shadow", t.spec.shadow},
                {"state", t.state},
                {"uri", t.spec.model_uri}};
      if (std::string alias = AliasOf(t.spec.model_uri); !alias.empty()) v["alias"] = alias;
      auto it = window.versions.find(InferenceStatsWindow::VersionKey{
          d.name, t.model_name, t.version, t.spec.shadow ? "shadow" : "live"});
      v["stats"] = StatsJson(it == window.versions.end() ? IntervalStats{} : it->second);
      versions.push_back(std::move(v));
    }
    json jd = {{"name", d.name}, {"versions", std::move(versions)}};
    if (!d.sticky_header.empty()) jd["sticky_header"] = d.sticky_header;
    auto it = window.deployments.find(d.name);
    jd["stats"] = StatsJson(it == window.deployments.end() ? IntervalStats{} : it->second);
    deployments.push_back(std::move(jd));
  }
  json body = {{"instance_id", instance_id_},
               {"url", url_},
               {"started_at", started_at_},
               {"interval_ms", static_cast<int64_t>(interval_.count())},
               {"state", stopped ? "stopped" : "running"},
               {"deployments", std::move(deployments)}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

void HeartbeatSender::SendOne(bool stopped) {
  const std::string body = NextBody(stopped);
  Result<client::HttpResponse> r = transport_->http.Send("POST", transport_->endpoint, body);
  if (r) {
    sent_.fetch_add(1);
    return;
  }
  failed_.fetch_add(1);
  CAIRN_LOG_DEBUG("serve: heartbeat to {} failed: {}", transport_->endpoint, r.error().message());
}

void HeartbeatSender::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    SendOne(false);
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

void HeartbeatSender::Start() {
  if (thread_.joinable() || stopped_) return;
  thread_ = std::thread([this] { Run(); });
}

void HeartbeatSender::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    SendOne(true);
  }
}

}  // namespace cairn::serve
