// Data-driven HTTP tests: one gtest per file in tests/api/cases/*.json.
//
// Each file gets a fresh App (temp SQLite db, temp artifact folder, port 0)
// and replays its steps in order against it over real HTTP (libcurl):
//
// {
//   "description": "...",
//   "server": {"max_body_bytes": 100000},          // optional ServerOptions overrides
//   "steps": [{
//     "name": "create a run",
//     "method": "POST",                              // default GET
//     "path": "/api/2.0/mlflow/runs/create",         // ${vars} substituted
//     "query": {"run_id": "${run_id}", "run_ids": ["a", "b"]},  // URL-encoded for you
//     "body": {...},                                 // JSON, ${vars} substituted in strings
//     "raw_body": "{not json",                       // sent verbatim instead of "body"
//     "pad_body_to": 200000,                         // pads "body" with a "_pad" field to N bytes
//     "headers": {"X-Cairn-User": "alice"},          // extra request headers, ${vars} substituted
//     "repeat": 3,                                   // run the step N times with ${i} = 0..N-1
//     "status": 200,
//     "expect": {...},                               // a JSON subset of the response
//     "expect_text": "OK",                           // exact non-JSON body
//     "capture": {"run_id": "run.info.run_id"},      // dotted paths; array indices are numbers
//     "target": "receiver",                          // send to the webhook receiver, not the app
//     "poll_ms": 5000,                               // resend until status and expect match
//     "sleep_ms": 5                                  // wait before sending (distinct timestamps)
//   }]
// }
//
// "webhook_receiver": true at the top starts a second server that records
// every POST it gets (any path, answered 200 {}) and lists them at GET
// /received as [{"path", "event", "delivery", "signature", "body"}] (body
// parsed as JSON); ${receiver} is its base URL ("http://127.0.0.1:<port>").
//
// Inside "body", {"$repeat": {"count": 1001, "item": {...}}} expands to an
// array of `count` copies of item with ${j} = 0..count-1.
//
// Subset rules for "expect": objects match when every expected key matches;
// arrays must have the same length and match element-wise; numbers compare by
// value (1 == 1.0). Directives: "$absent" / "$present" as a value;
// {"$contains": "text"}; {"$len": N}; {"$has": [items]} (each item matches some
// element); {"$ne": value}; {"$startswith": "text"}.

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "api/app.h"
#include "http/server.h"
#include "support/live_server.h"

#ifndef CAIRN_API_CASES_DIR
#error "CAIRN_API_CASES_DIR must be defined"
#endif

namespace cairn::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ------------------------------------------------------------- http client

struct HttpResult {
  long status = 0;
  std::string body;
  std::string content_type;
};

size_t CollectBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

HttpResult Send(const std::string& method, const std::string& url, const std::string* body,
                const std::vector<std::string>& extra_headers = {}) {
  HttpResult r;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  for (const std::string& h : extra_headers) headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    char* ct = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
    if (ct != nullptr) r.content_type = ct;
  } else {
    r.status = -1;
    r.body = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return r;
}

std::string UrlEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// ---------------------------------------------------------------- variables

using Vars = std::map<std::string, std::string>;

// Expands ${name} (names may themselves hold ${...}: "${run${i}}").
std::string Expand(const std::string& s, size_t& i, const Vars& vars, bool in_name) {
  std::string out;
  while (i < s.size()) {
    if (in_name && s[i] == '}') {
      ++i;
      return out;
    }
    if (s.compare(i, 2, "${") == 0) {
      i += 2;
      std::string name = Expand(s, i, vars, true);
      auto it = vars.find(name);
      if (it != vars.end()) {
        out += it->second;
      } else {
        ADD_FAILURE() << "unknown variable ${" << name << "} in '" << s << "'";
      }
      continue;
    }
    out.push_back(s[i++]);
  }
  if (in_name) ADD_FAILURE() << "unterminated ${ in '" << s << "'";
  return out;
}

std::string Substitute(const std::string& s, const Vars& vars) {
  size_t i = 0;
  return Expand(s, i, vars, false);
}

json SubstituteJson(const json& j, const Vars& vars) {
  if (j.is_string()) return Substitute(j.get<std::string>(), vars);
  if (j.is_array()) {
    json out = json::array();
    for (const json& x : j) out.push_back(SubstituteJson(x, vars));
    return out;
  }
  if (j.is_object()) {
    if (j.size() == 1 && j.contains("$repeat")) {
      const json& spec = j["$repeat"];
      json out = json::array();
      int count = spec.at("count").get<int>();
      for (int k = 0; k < count; ++k) {
        Vars inner = vars;
        inner["j"] = std::to_string(k);
        out.push_back(SubstituteJson(spec.at("item"), inner));
      }
      return out;
    }
    json out = json::object();
    for (auto& [k, v] : j.items()) out[Substitute(k, vars)] = SubstituteJson(v, vars);
    return out;
  }
  return j;
}

// Follows "a.b.0.c" in `j`; null when absent.
const json* At(const json& j, const std::string& path) {
  const json* cur = &j;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '.')) {
    if (cur->is_object()) {
      auto it = cur->find(part);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      size_t idx = 0;
      try {
        idx = std::stoul(part);
      } catch (...) {
        return nullptr;
      }
      if (idx >= cur->size()) return nullptr;
      cur = &(*cur)[idx];
    } else {
      return nullptr;
    }
  }
  return cur;
}

// ------------------------------------------------------------------ matcher

// Empty string when `actual` matches `expected`; else where and why not.
std::string Match(const json& expected, const json* actual, const std::string& where) {
  if (expected.is_string()) {
    const std::string& e = expected.get_ref<const std::string&>();
    if (e == "$absent")
      return actual == nullptr ? "" : where + ": expected absent, got " + actual->dump();
    if (e == "$present") return actual != nullptr ? "" : where + ": expected present";
  }
  if (actual == nullptr) return where + ": missing (expected " + expected.dump() + ")";
  if (expected.is_object() && expected.size() == 1) {
    auto [k, v] = *expected.items().begin();
    if (k == "$contains") {
      if (!actual->is_string() ||
          actual->get_ref<const std::string&>().find(v.get<std::string>()) == std::string::npos) {
        return where + ": expected a string containing " + v.dump() + ", got " + actual->dump();
      }
      return "";
    }
    if (k == "$startswith") {
      if (!actual->is_string() ||
          actual->get_ref<const std::string&>().rfind(v.get<std::string>(), 0) != 0) {
        return where + ": expected a string starting with " + v.dump() + ", got " + actual->dump();
      }
      return "";
    }
    if (k == "$len") {
      if (!actual->is_array() || actual->size() != v.get<size_t>()) {
        return where + ": expected an array of length " + v.dump() + ", got " + actual->dump();
      }
      return "";
    }
    if (k == "$ne") {
      if (Match(v, actual, where).empty()) return where + ": expected not " + v.dump();
      return "";
    }
    if (k == "$has") {
      if (!actual->is_array()) return where + ": expected an array, got " + actual->dump();
      for (const json& item : v) {
        bool found = false;
        for (const json& a : *actual) {
          if (Match(item, &a, where).empty()) {
            found = true;
            break;
          }
        }
        if (!found) return where + ": no element matches " + item.dump() + " in " + actual->dump();
      }
      return "";
    }
  }
  if (expected.is_object()) {
    if (!actual->is_object()) return where + ": expected an object, got " + actual->dump();
    for (auto& [k, v] : expected.items()) {
      auto it = actual->find(k);
      std::string m = Match(v, it == actual->end() ? nullptr : &*it, where + "." + k);
      if (!m.empty()) return m;
    }
    return "";
  }
  if (expected.is_array()) {
    if (!actual->is_array()) return where + ": expected an array, got " + actual->dump();
    if (actual->size() != expected.size()) {
      return where + ": expected " + std::to_string(expected.size()) + " elements, got " +
             std::to_string(actual->size()) + ": " + actual->dump();
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      std::string m = Match(expected[i], &(*actual)[i], where + "[" + std::to_string(i) + "]");
      if (!m.empty()) return m;
    }
    return "";
  }
  if (expected.is_number() && actual->is_number()) {
    return expected.get<double>() == actual->get<double>()
               ? ""
               : where + ": expected " + expected.dump() + ", got " + actual->dump();
  }
  return expected == *actual ? ""
                             : where + ": expected " + expected.dump() + ", got " + actual->dump();
}

// ------------------------------------------------------------------- runner

std::vector<std::string> CaseFiles() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(CAIRN_API_CASES_DIR)) {
    if (e.path().extension() == ".json") out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class ApiCaseTest : public ::testing::TestWithParam<std::string> {
 protected:
  void TearDown() override {
    app_.reset();
    if (receiver_) {
      receiver_->Stop();
      receiver_.reset();
    }
  }

  void StartApp(const json& server) {
    auto app = test::LiveServer::Start("cairn-api-test", [&](AppConfig& config) {
      config.serve_artifacts = true;
      if (server.contains("max_body_bytes")) {
        config.http.max_body_bytes = server["max_body_bytes"].get<uint64_t>();
      }
    });
    ASSERT_TRUE(app) << app.error().ToString();
    app_ = std::move(*app);
    base_ = app_->uri();
  }

  // A webhook receiver: records POSTs, lists them at GET /received.
  void StartReceiver(Vars& vars) {
    http::Router router;
    router.Add(http::Method::kGet, "/received", [this](http::Request&) {
      std::lock_guard<std::mutex> lock(received_mu_);
      return http::Response::Json(200, received_.dump());
    });
    router.Add(http::Route{http::Method::kPost, "/", /*prefix=*/true, http::BodyMode::kBuffer,
                           [this](http::Request& req) {
                             json rec = {
                                 {"path", req.path},
                                 {"event", req.Header("x-cairn-event").value_or("")},
                                 {"delivery", req.Header("x-cairn-delivery").value_or("")},
                                 {"signature", req.Header("x-cairn-signature").value_or("")},
                                 {"body", json::parse(req.body, nullptr, false)}};
                             std::lock_guard<std::mutex> lock(received_mu_);
                             received_.push_back(std::move(rec));
                             return http::Response::Json(200, "{}");
                           }});
    http::ServerOptions options;
    options.port = 0;
    options.threads = 1;
    options.access_log = false;
    receiver_ = std::make_unique<http::HttpServer>(options, std::move(router));
    auto port = receiver_->Start();
    ASSERT_TRUE(port) << port.error().ToString();
    receiver_base_ = "http://127.0.0.1:" + std::to_string(*port);
    vars["receiver"] = receiver_base_;
  }

  void RunStep(const json& step, Vars& vars, const std::string& label) {
    if (int sleep_ms = step.value("sleep_ms", 0); sleep_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    }
    const int poll_ms = step.value("poll_ms", 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(poll_ms);
    while (poll_ms > 0 && std::chrono::steady_clock::now() < deadline) {
      if (StepMatches(step, vars)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    RunStepOnce(step, vars, label);
  }

  // Sends the step and reports whether status and expect match (no assertions).
  bool StepMatches(const json& step, const Vars& vars) {
    std::string url, method, body;
    bool has_body = false;
    std::vector<std::string> headers;
    BuildRequest(step, vars, url, method, body, has_body, headers);
    HttpResult r = Send(method, url, has_body ? &body : nullptr, headers);
    if (r.status != step.value("status", 200)) return false;
    if (!step.contains("expect")) return true;
    json actual = json::parse(r.body, nullptr, false);
    if (actual.is_discarded()) return false;
    return Match(SubstituteJson(step["expect"], vars), &actual, "$").empty();
  }

  void BuildRequest(const json& step, const Vars& vars, std::string& url, std::string& method,
                    std::string& body, bool& has_body, std::vector<std::string>& headers) {
    method = step.value("method", "GET");
    const std::string& base = step.value("target", "") == "receiver" ? receiver_base_ : base_;
    url = base + Substitute(step.at("path").get<std::string>(), vars);
    if (step.contains("query")) {
      std::string q;
      for (auto& [k, v] : step["query"].items()) {
        auto add = [&](const json& x) {
          q += (q.empty() ? "" : "&") + UrlEncode(k) + "=" +
               UrlEncode(Substitute(x.is_string() ? x.get<std::string>() : x.dump(), vars));
        };
        if (v.is_array()) {
          for (const json& x : v) add(x);
        } else {
          add(v);
        }
      }
      url += (url.find('?') == std::string::npos ? "?" : "&") + q;
    }
    if (step.contains("raw_body")) {
      body = Substitute(step["raw_body"].get<std::string>(), vars);
      has_body = true;
    } else if (step.contains("body")) {
      json b = SubstituteJson(step["body"], vars);
      if (step.contains("pad_body_to")) {
        size_t target = step["pad_body_to"].get<size_t>();
        b["_pad"] = "";
        size_t size = b.dump().size();
        if (size < target) b["_pad"] = std::string(target - size, 'x');
      }
      body = b.dump();
      has_body = true;
    }
    if (step.contains("headers")) {
      for (auto& [k, v] : step["headers"].items()) {
        headers.push_back(k + ": " + Substitute(v.get<std::string>(), vars));
      }
    }
  }

  void RunStepOnce(const json& step, Vars& vars, const std::string& label) {
    std::string url, method, body;
    bool has_body = false;
    std::vector<std::string> headers;
    BuildRequest(step, vars, url, method, body, has_body, headers);
    HttpResult r = Send(method, url, has_body ? &body : nullptr, headers);
    std::string context = label + " [" + method + " " + url + "] -> " + std::to_string(r.status) +
                          " " + r.body.substr(0, 600);
    int want_status = step.value("status", 200);
    ASSERT_EQ(r.status, want_status) << context;
    if (step.contains("expect_text")) {
      EXPECT_EQ(r.body, Substitute(step["expect_text"].get<std::string>(), vars)) << context;
    }
    json actual;
    bool parsed = false;
    if (step.contains("expect") || step.contains("capture")) {
      actual = json::parse(r.body, nullptr, false);
      ASSERT_FALSE(actual.is_discarded()) << "response is not JSON: " << context;
      parsed = true;
    }
    if (step.contains("expect")) {
      json expected = SubstituteJson(step["expect"], vars);
      std::string m = Match(expected, &actual, "$");
      EXPECT_TRUE(m.empty()) << m << "\n" << context;
    }
    if (parsed && step.contains("capture")) {
      for (auto& [name, path] : step["capture"].items()) {
        const json* v = At(actual, Substitute(path.get<std::string>(), vars));
        ASSERT_NE(v, nullptr) << "capture " << name << ": no " << path << " in " << context;
        vars[Substitute(name, vars)] = v->is_string() ? v->get<std::string>() : v->dump();
      }
    }
  }

  std::unique_ptr<test::LiveServer> app_;
  std::string base_;
  std::unique_ptr<http::HttpServer> receiver_;
  std::string receiver_base_;
  std::mutex received_mu_;
  json received_ = json::array();
};

TEST_P(ApiCaseTest, Replay) {
  fs::path file = fs::path(CAIRN_API_CASES_DIR) / GetParam();
  std::ifstream in(file);
  ASSERT_TRUE(in) << "cannot read " << file;
  json doc = json::parse(in, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << file << " is not valid JSON";
  ASSERT_NO_FATAL_FAILURE(StartApp(doc.value("server", json::object())));
  Vars vars;
  if (doc.value("webhook_receiver", false)) {
    ASSERT_NO_FATAL_FAILURE(StartReceiver(vars));
  }
  const json& steps = doc.at("steps");
  for (size_t i = 0; i < steps.size(); ++i) {
    const json& step = steps[i];
    std::string label =
        GetParam() + " step " + std::to_string(i) + " '" + step.value("name", std::string()) + "'";
    int repeat = step.value("repeat", 1);
    for (int k = 0; k < repeat; ++k) {
      vars["i"] = std::to_string(k);
      ASSERT_NO_FATAL_FAILURE(
          RunStep(step, vars, label + (repeat > 1 ? " #" + std::to_string(k) : "")));
    }
  }
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cases, ApiCaseTest, ::testing::ValuesIn(CaseFiles()), CaseName);

}  // namespace
}  // namespace cairn::api

// libcurl wants one global init before any thread uses it.
namespace {
struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
} curl_global;
}  // namespace
