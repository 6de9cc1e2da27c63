// stats_oracle: a test driver for monitor/stats.h. Reads one JSON request
// per line on stdin and writes one JSON line per request on stdout, so that
// tests/compat/test_monitor_stats.py can compare every function with SciPy /
// scikit-learn / NumPy in a single process.
//
// Requests ({"fn": NAME, ...arguments}) and answers:
//   ks            a, b [, sorted: bool]      {"statistic", "p_value"}
//   chisquare     obs, exp                   {"statistic", "p_value"}
//   ztest         sa, na, sb, nb             {"statistic", "p_value"}
//   kstwo_sf      d, n                       {"value"}
//   chi2_sf       x, df                      {"value"}
//   norm_sf       z                          {"value"}
//   wasserstein   a, b [, sorted: bool]      {"value"}
//   jensenshannon p, q                       {"value"}
//   psi           ref, cur                   {"value"}
//   sturges       values                     {"edges"}
//   histogram     values, edges              {"counts"}
//   std           values                     {"value"}
//   classification labels, predictions, positive [, scores]
//                 {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "rows"}
//   regression    labels, predictions        {"mae", "rmse", "r2", "rows"}
// NaN is written as null, +-infinity as the strings "inf" / "-inf". A
// malformed request is answered with {"error": "..."} and the tool goes on.
// Every request may carry an "id", echoed in the answer.

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "monitor/stats.h"

namespace {

namespace stats = cairn::monitor::stats;
using nlohmann::json;

json Number(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

std::vector<double> Doubles(const json& req, const char* key) {
  std::vector<double> out;
  const json& arr = req.at(key);
  if (!arr.is_array()) throw std::invalid_argument(std::string(key) + " must be an array");
  out.reserve(arr.size());
  for (const json& v : arr) out.push_back(v.get<double>());
  return out;
}

std::vector<std::string> Strings(const json& req, const char* key) {
  std::vector<std::string> out;
  const json& arr = req.at(key);
  if (!arr.is_array()) throw std::invalid_argument(std::string(key) + " must be an array");
  out.reserve(arr.size());
  for (const json& v : arr) out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

json TestAnswer(const stats::TestResult& r) {
  return {{"statistic", Number(r.statistic)}, {"p_value", Number(r.p_value)}};
}

json Answer(const json& req) {
  const std::string fn = req.at("fn").get<std::string>();
  const bool sorted = req.contains("sorted") && req.at("sorted").get<bool>();
  if (fn == "ks") {
    const auto a = Doubles(req, "a");
    const auto b = Doubles(req, "b");
    return TestAnswer(sorted ? stats::KsTwoSampleSorted(a, b) : stats::KsTwoSample(a, b));
  }
  if (fn == "chisquare") {
    return TestAnswer(stats::ChiSquare(Doubles(req, "obs"), Doubles(req, "exp")));
  }
  if (fn == "ztest") {
    return TestAnswer(stats::ProportionsZTest(req.at("sa").get<int64_t>(), req.at("na").get<int64_t>(),
                                              req.at("sb").get<int64_t>(), req.at("nb").get<int64_t>()));
  }
  if (fn == "kstwo_sf") {
    return {{"value", Number(stats::KolmogorovSf(req.at("d").get<double>(), req.at("n").get<int64_t>()))}};
  }
  if (fn == "chi2_sf") {
    return {{"value", Number(stats::ChiSquaredSf(req.at("x").get<double>(), req.at("df").get<double>()))}};
  }
  if (fn == "norm_sf") return {{"value", Number(stats::NormalSf(req.at("z").get<double>()))}};
  if (fn == "wasserstein") {
    const auto a = Doubles(req, "a");
    const auto b = Doubles(req, "b");
    return {{"value", Number(sorted ? stats::WassersteinDistanceSorted(a, b)
                                    : stats::WassersteinDistance(a, b))}};
  }
  if (fn == "jensenshannon") {
    return {{"value", Number(stats::JensenShannon(Doubles(req, "p"), Doubles(req, "q")))}};
  }
  if (fn == "psi") return {{"value", Number(stats::Psi(Doubles(req, "ref"), Doubles(req, "cur")))}};
  if (fn == "sturges") {
    json edges = json::array();
    for (double e : stats::SturgesBinEdges(Doubles(req, "values"))) edges.push_back(Number(e));
    return {{"edges", edges}};
  }
  if (fn == "histogram") {
    return {{"counts", stats::Histogram(Doubles(req, "values"), Doubles(req, "edges"))}};
  }
  if (fn == "std") return {{"value", Number(stats::PopulationStd(Doubles(req, "values")))}};
  if (fn == "classification") {
    const auto labels = Strings(req, "labels");
    const auto predictions = Strings(req, "predictions");
    std::vector<double> scores;
    if (req.contains("scores") && !req.at("scores").is_null()) scores = Doubles(req, "scores");
    const std::string positive =
        req.contains("positive") ? req.at("positive").get<std::string>() : std::string("1");
    const auto m = stats::Classification(labels, predictions, positive, scores);
    return {{"accuracy", Number(m.accuracy)}, {"precision", Number(m.precision)},
            {"recall", Number(m.recall)},     {"f1", Number(m.f1)},
            {"roc_auc", Number(m.roc_auc)},   {"log_loss", Number(m.log_loss)},
            {"rows", m.rows}};
  }
  if (fn == "regression") {
    const auto m = stats::Regression(Doubles(req, "labels"), Doubles(req, "predictions"));
    return {{"mae", Number(m.mae)}, {"rmse", Number(m.rmse)}, {"r2", Number(m.r2)}, {"rows", m.rows}};
  }
  throw std::invalid_argument("unknown fn '" + fn + "'");
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json answer;
    json id;
    try {
      const json req = json::parse(line);
      if (req.is_object() && req.contains("id")) id = req.at("id");
      answer = Answer(req);
    } catch (const std::exception& e) {
      answer = {{"error", e.what()}};
    }
    if (!id.is_null()) answer["id"] = id;
    std::cout << answer.dump(-1, ' ', false, json::error_handler_t::replace) << '\n' << std::flush;
  }
  return 0;
}
