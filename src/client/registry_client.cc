#include "client/registry_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <system_error>

#include "client/artifact_location.h"
#include "client/mlflow_json.h"
#include "core/config.h"
#include "core/uri.h"

namespace cairn::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kMlflowPrefix = "/api/2.0/mlflow/";
constexpr std::string_view kNativePrefix = "/api/v1/";
constexpr size_t kMaxResponse = 256u << 20;

std::unexpected<Error> Unexpected(const std::string& what) {
  return Internal("unexpected response from the server: " + what);
}

Result<json> ParseBody(const std::string& body) {
  if (body.empty()) return json::object();
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    return Unexpected(std::string("not JSON (") + e.what() + ")");
  }
}

Result<std::string> Dump(const json& body) {
  try {
    return body.dump();
  } catch (const json::exception& e) {  // invalid UTF-8 in a caller's string
    return InvalidArgument(std::string("cannot encode the request as JSON: ") + e.what());
  }
}

Result<std::string> NextPageToken(const json& j) {
  auto it = j.find("next_page_token");
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Unexpected("'next_page_token' is not a string");
  return it->get<std::string>();
}

// One path segment, '/' included, percent-encoded.
std::string Segment(std::string_view s) { return PercentEncode(s, /*keep_slash=*/false); }

json TagsJson(const std::vector<store::Tag>& tags) {
  json arr = json::array();
  for (const auto& t : tags) arr.push_back(json{{"key", t.key}, {"value", t.value}});
  return arr;
}

// A list of objects under `key` of the answer, each parsed by `parse`.
template <typename T, typename Parse>
Result<std::vector<T>> ParseList(const json& j, const char* key, Parse parse) {
  std::vector<T> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return Unexpected(std::string("'") + key + "' is not a list");
  for (const auto& e : *it) {
    CAIRN_ASSIGN_OR_RETURN(T v, parse(e));
    out.push_back(std::move(v));
  }
  return out;
}

const json* Field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

// ------------------------------------------------------------ libcurl sender

size_t AppendToString(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  size_t bytes = size * n;
  if (out->size() + bytes > kMaxResponse) return 0;  // aborts the transfer
  out->append(data, bytes);
  return bytes;
}

// Transport failures as HttpTransport reports them: kUnavailable naming the
// server (with a hint), kDeadlineExceeded for timeouts.
Status MapTransportError(const std::string& server_label, CURLcode code, const char* curl_detail,
                         const std::string& method, const std::string& url) {
  if (code == CURLE_OK) return {};
  std::string detail =
      curl_detail != nullptr && *curl_detail != '\0' ? curl_detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return MakeError(ErrorCode::kDeadlineExceeded, method + " " + url + " timed out: " + detail);
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
      return Unavailable("cannot reach the tracking server at " + server_label + ": " + detail +
                         " (is `cairn server` running?)");
    case CURLE_WRITE_ERROR:
      return MakeError(ErrorCode::kResourceExhausted,
                       method + " " + url + ": response larger than " +
                           std::to_string(kMaxResponse >> 20) + " MiB");
    default:
      return Unavailable(method + " " + url + " failed: " + detail);
  }
}

// The error code of an MLflow-shaped error body ({"error_code", "message"}),
// or nullopt when the body is not one.
std::optional<std::pair<std::string, std::string>> MlflowErrorBody(const std::string& body) {
  try {
    auto j = json::parse(body);
    if (j.is_object() && j.contains("error_code") && j["error_code"].is_string()) {
      std::string message =
          j.contains("message") && j["message"].is_string() ? j["message"].get<std::string>() : "";
      return std::make_pair(j["error_code"].get<std::string>(), message);
    }
  } catch (const json::exception&) {
    // Not JSON.
  }
  return std::nullopt;
}

// An HTTP error status as HttpTransport maps it: MLflow's error body becomes
// its code and message verbatim; any other body "HTTP <status> from ...".
Status MapHttpStatus(const HttpResponse& r, const std::string& method, const std::string& url) {
  if (r.status < 400) return {};
  if (auto e = MlflowErrorBody(r.body)) {
    return MakeError(ErrorCodeFromMlflow(e->first, r.status), e->second);
  }
  std::string prefix = r.body.substr(0, 300);
  return MakeError(ErrorCodeFromMlflow("", r.status), "HTTP " + std::to_string(r.status) +
                                                          " from " + method + " " + url +
                                                          (prefix.empty() ? "" : ": " + prefix));
}

// Whether an answer says the server has no such endpoint at all (a stock
// MLflow server has no /api/v1): 404/405/501 without an MLflow error body,
// or ENDPOINT_NOT_FOUND.
bool NoSuchEndpoint(const HttpResponse& r) {
  if (r.status != 404 && r.status != 405 && r.status != 501) return false;
  auto e = MlflowErrorBody(r.body);
  return !e || e->first == "ENDPOINT_NOT_FOUND";
}

// HttpTransport has no way to add request headers, which X-Cairn-User needs;
// this sender is its JSON half plus headers. One easy handle per call (CLI
// use makes few calls; thread-safe without a pool).
// TODO(registry): fold into HttpTransport once it accepts extra headers.
RegistrySendFn MakeCurlSender(std::string server_label, TransportOptions options) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return [server_label = std::move(server_label),
          options = std::move(options)](const RegistryHttpRequest& r) -> Result<HttpResponse> {
    CURL* c = curl_easy_init();
    if (c == nullptr) return Internal("cannot initialize libcurl");
    char error_buffer[CURL_ERROR_SIZE] = {};
    curl_slist* headers = nullptr;
    std::string response;
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, options.request_timeout_ms);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cairn-client/0.1");
    if (!options.verify_tls) {
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!options.bearer_token.empty()) {
      headers =
          curl_slist_append(headers, ("Authorization: Bearer " + options.bearer_token).c_str());
    } else if (!options.username.empty()) {
      curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(c, CURLOPT_USERNAME, options.username.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, options.password.c_str());
    }
    headers = curl_slist_append(headers, "Expect:");
    for (const auto& h : r.headers) headers = curl_slist_append(headers, h.c_str());
    curl_easy_setopt(c, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendToString);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
    if (r.method == "GET") {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      headers = curl_slist_append(headers, "Content-Type: application/json");
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;  // NOLINT(runtime/int)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    Status st = MapTransportError(server_label, rc, error_buffer, r.method, r.url);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    if (!st) return std::unexpected(st.error());
    return HttpResponse{static_cast<int>(status), std::move(response)};
  };
}

bool HasControlCharacter(const std::string& s) {
  return std::any_of(s.begin(), s.end(),
                     [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; });
}

}  // namespace

std::string RunIdFromSource(const std::string& source) {
  constexpr std::string_view kRuns = "runs:/";
  if (!source.starts_with(kRuns)) return "";
  std::string rest = source.substr(kRuns.size());
  auto slash = rest.find('/');
  return slash == std::string::npos ? rest : rest.substr(0, slash);
}

struct RegistryClient::Impl {
  std::string base;
  std::string user;
  RegistrySendFn send;
  HttpTransport transport;  // file downloads (streamed to disk)

  Impl(std::string base_uri, std::string u, RegistrySendFn s, TransportOptions t)
      : base(std::move(base_uri)),
        user(std::move(u)),
        send(std::move(s)),
        transport(base, std::move(t)) {}

  // Sends one request; the response whatever its status (transport errors only).
  Result<HttpResponse> Send(std::string method, std::string url, const json* body) {
    RegistryHttpRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    if (body != nullptr) {
      CAIRN_ASSIGN_OR_RETURN(r.body, Dump(*body));
    }
    if (!user.empty()) r.headers.push_back("X-Cairn-User: " + user);
    return send(r);
  }

  // Sends and parses a 2xx answer; an HTTP error status becomes its Error.
  Result<json> Call(std::string method, std::string url, const json* body) {
    std::string m = method, u = url;
    CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, Send(std::move(method), std::move(url), body));
    CAIRN_RETURN_IF_ERROR(MapHttpStatus(resp, m, u));
    return ParseBody(resp.body);
  }

  static std::string WithQuery(std::string url,
                               const std::vector<std::pair<std::string, std::string>>& params) {
    if (!params.empty()) url += "?" + QueryString(params);
    return url;
  }

  // MLflow endpoints: GET with a query string; other methods with a JSON body.
  Result<json> Mlflow(std::string_view method, std::string_view endpoint, const json& body) {
    return Call(std::string(method), base + std::string(kMlflowPrefix) + std::string(endpoint),
                &body);
  }
  Result<json> MlflowGet(std::string_view endpoint,
                         const std::vector<std::pair<std::string, std::string>>& params) {
    return Call("GET", WithQuery(base + std::string(kMlflowPrefix) + std::string(endpoint), params),
                nullptr);
  }
  // Native endpoints: `path` is already encoded segment by segment. A server
  // without the native API (a stock MLflow server) is kUnimplemented naming
  // `what`; or, when `absent` is given, *absent = true and null is returned
  // (the caller then uses MLflow's API).
  Result<json> Native(std::string_view method, const std::string& path, const json* body,
                      const std::vector<std::pair<std::string, std::string>>& params,
                      std::string_view what, bool* absent = nullptr) {
    std::string url = WithQuery(base + std::string(kNativePrefix) + path, params);
    CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, Send(std::string(method), url, body));
    if (NoSuchEndpoint(resp)) {
      if (absent != nullptr) {
        *absent = true;
        return json(nullptr);
      }
      return MakeError(ErrorCode::kUnimplemented,
                       "the server at " + base + " has no Cairn registry API (" +
                           std::string(method) + " " + std::string(kNativePrefix) + path +
                           " answered " + std::to_string(resp.status) + "); " + std::string(what) +
                           " needs a `cairn server`");
    }
    CAIRN_RETURN_IF_ERROR(MapHttpStatus(resp, std::string(method), url));
    return ParseBody(resp.body);
  }

  static std::string ModelPath(const std::string& name) { return "models/" + Segment(name); }

  // The artifact URI behind a version's source when it is not one already
  // (what a stock MLflow server's get-download-uri may return):
  // runs:/<run_id>/<path> -> the run's artifact_uri + path;
  // models:/<model_id> (an MLflow 3 logged model) -> its artifact_uri.
  Result<std::string> ResolveModelUri(const std::string& uri) {
    if (uri.starts_with("runs:/")) {
      CAIRN_ASSIGN_OR_RETURN(RunsUri r, ParseRunsUri(uri));
      CAIRN_ASSIGN_OR_RETURN(json j, MlflowGet("runs/get", {{"run_id", r.run_id}}));
      const json* run = Field(j, "run");
      if (run == nullptr) return Unexpected("no run in the answer");
      CAIRN_ASSIGN_OR_RETURN(store::Run parsed, ParseRun(*run));
      CAIRN_ASSIGN_OR_RETURN(std::string rel, NormalizeArtifactPath(r.path));
      std::string root = parsed.info.artifact_uri;
      while (!root.empty() && root.back() == '/') root.pop_back();
      return rel.empty() ? root : root + "/" + rel;
    }
    constexpr std::string_view kModels = "models:/";
    if (uri.starts_with(kModels) && uri.find('/', kModels.size()) == std::string::npos) {
      std::string id = uri.substr(kModels.size());
      CAIRN_ASSIGN_OR_RETURN(
          json j,
          Call("GET", base + std::string(kMlflowPrefix) + "logged-models/" + Segment(id), nullptr));
      const json* model = Field(j, "model");
      const json* info = model != nullptr ? Field(*model, "info") : nullptr;
      const json* root = info != nullptr ? Field(*info, "artifact_uri") : nullptr;
      if (root == nullptr || !root->is_string()) {
        return Unexpected("no model.info.artifact_uri for logged model " + id);
      }
      return root->get<std::string>();
    }
    return uri;
  }

  // ---- artifact tree download (mirrors TrackingClient's, over a location)

  Result<std::vector<FileInfo>> List(const ArtifactLocation& loc, const std::string& rel) {
    std::vector<FileInfo> out;
    if (loc.kind == ArtifactLocation::Kind::kLocal) {
      fs::path dir = fs::path(loc.local_dir) / rel;
      std::error_code ec;
      if (!fs::is_directory(dir, ec)) return out;
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        FileInfo f;
        f.path = JoinArtifactPath(rel, entry.path().filename().string());
        f.is_dir = entry.is_directory(ec);
        out.push_back(std::move(f));
      }
      if (ec) return Internal("cannot list '" + dir.string() + "': " + ec.message());
    } else {
      CAIRN_ASSIGN_OR_RETURN(
          json j,
          Call("GET", loc.endpoint + "?" + QueryString({{"path", JoinArtifactPath(loc.root, rel)}}),
               nullptr));
      const json* files = Field(j, "files");
      if (files != nullptr) {
        if (!files->is_array()) return Unexpected("'files' is not a list");
        for (const auto& e : *files) {
          if (!e.is_object() || !e.contains("path") || !e["path"].is_string()) {
            return Unexpected("a listed file has no path");
          }
          // Relative to the listed folder; refuse entries that would escape
          // it (a hostile server must not make us write outside dst).
          CAIRN_ASSIGN_OR_RETURN(std::string name,
                                 NormalizeArtifactPath(e["path"].get<std::string>()));
          if (name.empty()) return Unexpected("a listed file has an empty path");
          FileInfo f;
          f.path = JoinArtifactPath(rel, name);
          f.is_dir = e.value("is_dir", false);
          out.push_back(std::move(f));
        }
      }
      // MLflow's servers answer a listing of a file with the file itself.
      if (!rel.empty() && out.size() == 1 && !out[0].is_dir &&
          out[0].path == JoinArtifactPath(rel, fs::path(rel).filename().string())) {
        out.clear();
      }
    }
    std::sort(out.begin(), out.end(),
              [](const FileInfo& a, const FileInfo& b) { return a.path < b.path; });
    return out;
  }

  Status GetFile(const ArtifactLocation& loc, const std::string& rel, const fs::path& dest) {
    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    if (ec) return Internal("cannot create '" + dest.parent_path().string() + "': " + ec.message());
    if (loc.kind == ArtifactLocation::Kind::kProxy) {
      return transport.Download(JoinUrl(loc.endpoint, JoinArtifactPath(loc.root, rel)),
                                dest.string());
    }
    fs::path src = fs::path(loc.local_dir) / rel;
    if (!fs::is_regular_file(src, ec)) {
      return NotFound("artifact '" + src.string() + "' does not exist");
    }
    fs::copy_file(src, dest, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      return Internal("cannot copy '" + src.string() + "' to '" + dest.string() +
                      "': " + ec.message());
    }
    return {};
  }

  // Downloads the folder `rel` (relative to the location's root) to dst/rel.
  // Counts the files fetched in *files.
  Status DownloadTree(const ArtifactLocation& loc, const std::string& rel, const fs::path& dst,
                      int depth, int64_t* files) {
    if (depth > 64) return FailedPrecondition("artifact tree deeper than 64 levels at " + rel);
    CAIRN_ASSIGN_OR_RETURN(std::vector<FileInfo> listing, List(loc, rel));
    std::error_code ec;
    fs::create_directories(dst / rel, ec);
    if (ec) return Internal("cannot create '" + (dst / rel).string() + "': " + ec.message());
    for (const auto& f : listing) {
      if (f.is_dir) {
        CAIRN_RETURN_IF_ERROR(DownloadTree(loc, f.path, dst, depth + 1, files));
      } else {
        CAIRN_RETURN_IF_ERROR(GetFile(loc, f.path, dst / f.path));
        ++*files;
      }
    }
    return {};
  }
};

RegistryClient::RegistryClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RegistryClient::RegistryClient(RegistryClient&&) noexcept = default;
RegistryClient& RegistryClient::operator=(RegistryClient&&) noexcept = default;
RegistryClient::~RegistryClient() = default;

namespace {

struct Prepared {
  std::string base;
  std::string user;
  TransportOptions transport;
};

Result<Prepared> Prepare(const std::string& tracking_uri, const RegistryClientOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(Uri uri, Uri::Parse(tracking_uri));
  if (uri.scheme != "http" && uri.scheme != "https") {
    return InvalidArgument("tracking URI '" + tracking_uri +
                           "' must be http://host:port or https://host[:port][/prefix]");
  }
  if (uri.host.empty()) return InvalidArgument("tracking URI '" + tracking_uri + "' has no host");
  Prepared p;
  p.base = tracking_uri;
  if (auto q = p.base.find('?'); q != std::string::npos) p.base.resize(q);
  while (!p.base.empty() && p.base.back() == '/') p.base.pop_back();
  p.user = ResolveSetting(options.user, {"CAIRN_USER"}, "");
  if (HasControlCharacter(p.user)) {
    return InvalidArgument("user name '" + p.user + "' contains control characters");
  }
  const ClientOptions& c = options.client;
  p.transport.connect_timeout_ms = c.connect_timeout_ms;
  p.transport.request_timeout_ms = c.request_timeout_ms;
  p.transport.bearer_token =
      ResolveSetting(c.token, {"CAIRN_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN"}, "");
  p.transport.username =
      ResolveSetting(c.username, {"CAIRN_TRACKING_USERNAME", "MLFLOW_TRACKING_USERNAME"}, "");
  p.transport.password =
      ResolveSetting(c.password, {"CAIRN_TRACKING_PASSWORD", "MLFLOW_TRACKING_PASSWORD"}, "");
  p.transport.verify_tls = c.verify_tls;
  return p;
}

}  // namespace

Result<RegistryClient> RegistryClient::Create(const std::string& tracking_uri,
                                              RegistryClientOptions options) {
  CAIRN_ASSIGN_OR_RETURN(Prepared p, Prepare(tracking_uri, options));
  RegistrySendFn send = MakeCurlSender(p.base, p.transport);
  return RegistryClient(std::make_unique<Impl>(std::move(p.base), std::move(p.user),
                                               std::move(send), std::move(p.transport)));
}

Result<RegistryClient> RegistryClient::CreateWithSender(const std::string& tracking_uri,
                                                        RegistryClientOptions options,
                                                        RegistrySendFn send) {
  if (!send) return InvalidArgument("no sender");
  CAIRN_ASSIGN_OR_RETURN(Prepared p, Prepare(tracking_uri, options));
  return RegistryClient(std::make_unique<Impl>(std::move(p.base), std::move(p.user),
                                               std::move(send), std::move(p.transport)));
}

const std::string& RegistryClient::tracking_uri() const { return impl_->base; }
const std::string& RegistryClient::user() const { return impl_->user; }

// ------------------------------------------------------- registered models

Result<store::RegisteredModel> RegistryClient::CreateRegisteredModel(
    const std::string& name, const std::string& description, const std::vector<store::Tag>& tags) {
  json body{{"name", name}};
  if (!description.empty()) body["description"] = description;
  if (!tags.empty()) body["tags"] = TagsJson(tags);
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Mlflow("POST", "registered-models/create", body));
  const json* m = Field(j, "registered_model");
  if (m == nullptr) return Unexpected("no registered_model in the answer");
  return ParseRegisteredModel(*m);
}

Result<RegisteredModelDetails> RegistryClient::GetRegisteredModel(const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->MlflowGet("registered-models/get", {{"name", name}}));
  const json* m = Field(j, "registered_model");
  if (m == nullptr) return Unexpected("no registered_model in the answer");
  return ParseRegisteredModelDetails(*m);
}

namespace {

std::vector<std::pair<std::string, std::string>> SearchParams(const RegistrySearch& q) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!q.filter.empty()) params.emplace_back("filter", q.filter);
  if (q.max_results > 0) params.emplace_back("max_results", std::to_string(q.max_results));
  for (const auto& o : q.order_by) params.emplace_back("order_by", o);
  if (!q.page_token.empty()) params.emplace_back("page_token", q.page_token);
  return params;
}

// Pages through `search` until `limit` items (0: all) or the last page.
template <typename Item, typename Query, typename SearchOne>
Result<std::vector<Item>> Collect(Query query, int64_t limit, SearchOne search_one) {
  std::vector<Item> all;
  for (;;) {
    if (limit > 0) {
      int64_t left = limit - static_cast<int64_t>(all.size());
      query.max_results = query.max_results > 0 ? std::min(query.max_results, left) : left;
    }
    CAIRN_ASSIGN_OR_RETURN(auto page, search_one(query));
    for (auto& item : page.first) all.push_back(std::move(item));
    if (limit > 0 && static_cast<int64_t>(all.size()) >= limit) break;
    if (page.second.empty() || page.second == query.page_token) break;
    query.page_token = std::move(page.second);
  }
  if (limit > 0 && static_cast<int64_t>(all.size()) > limit) all.resize(limit);
  return all;
}

}  // namespace

Result<RegisteredModelSearchPage> RegistryClient::SearchRegisteredModels(
    const RegistrySearch& query) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->MlflowGet("registered-models/search", SearchParams(query)));
  RegisteredModelSearchPage page;
  CAIRN_ASSIGN_OR_RETURN(page.models, ParseList<RegisteredModelDetails>(
                                          j, "registered_models", ParseRegisteredModelDetails));
  CAIRN_ASSIGN_OR_RETURN(page.next_page_token, NextPageToken(j));
  return page;
}

Result<std::vector<RegisteredModelDetails>> RegistryClient::SearchAllRegisteredModels(
    RegistrySearch query, int64_t limit) {
  return Collect<RegisteredModelDetails>(
      std::move(query), limit,
      [this](const RegistrySearch& q)
          -> Result<std::pair<std::vector<RegisteredModelDetails>, std::string>> {
        CAIRN_ASSIGN_OR_RETURN(auto page, SearchRegisteredModels(q));
        return std::make_pair(std::move(page.models), std::move(page.next_page_token));
      });
}

Status RegistryClient::DeleteRegisteredModel(const std::string& name) {
  CAIRN_RETURN_IF_ERROR(impl_->Mlflow("DELETE", "registered-models/delete", json{{"name", name}}));
  return {};
}

Status RegistryClient::SetRegisteredModelTag(const std::string& name, const std::string& key,
                                             const std::string& value) {
  CAIRN_RETURN_IF_ERROR(impl_->Mlflow("POST", "registered-models/set-tag",
                                      json{{"name", name}, {"key", key}, {"value", value}}));
  return {};
}

Status RegistryClient::DeleteRegisteredModelTag(const std::string& name, const std::string& key) {
  CAIRN_RETURN_IF_ERROR(
      impl_->Mlflow("DELETE", "registered-models/delete-tag", json{{"name", name}, {"key", key}}));
  return {};
}

Result<std::vector<store::ModelVersion>> RegistryClient::GetLatestVersions(
    const std::string& name, const std::vector<std::string>& stages) {
  json body{{"name", name}};
  if (!stages.empty()) body["stages"] = stages;
  CAIRN_ASSIGN_OR_RETURN(json j,
                         impl_->Mlflow("POST", "registered-models/get-latest-versions", body));
  return ParseList<store::ModelVersion>(j, "model_versions", ParseModelVersion);
}

// ----------------------------------------------------------- model versions

Result<store::ModelVersion> RegistryClient::CreateModelVersion(
    const CreateModelVersionRequest& request) {
  json body{{"name", request.name}, {"source", request.source}};
  if (!request.run_id.empty()) body["run_id"] = request.run_id;
  if (!request.run_link.empty()) body["run_link"] = request.run_link;
  if (!request.description.empty()) body["description"] = request.description;
  if (!request.model_id.empty()) body["model_id"] = request.model_id;
  if (!request.tags.empty()) body["tags"] = TagsJson(request.tags);
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Mlflow("POST", "model-versions/create", body));
  const json* v = Field(j, "model_version");
  if (v == nullptr) return Unexpected("no model_version in the answer");
  return ParseModelVersion(*v);
}

Result<RegisterModelResult> RegistryClient::RegisterModel(const RegisterModelRequest& request) {
  if (request.name.empty()) return InvalidArgument("a registered model name is required");
  if (request.source.empty()) return InvalidArgument("a model source is required");
  RegisterModelResult out;
  auto created = CreateRegisteredModel(request.name);
  if (created) {
    out.created_registered_model = true;
  } else if (created.error().code() != ErrorCode::kAlreadyExists) {
    return std::unexpected(created.error());
  }
  CreateModelVersionRequest v;
  v.name = request.name;
  v.source = request.source;
  v.run_id = request.run_id.empty() ? RunIdFromSource(request.source) : request.run_id;
  v.tags = request.tags;
  CAIRN_ASSIGN_OR_RETURN(out.version, CreateModelVersion(v));
  return out;
}

Result<store::ModelVersion> RegistryClient::GetModelVersion(const std::string& name,
                                                            int64_t version) {
  CAIRN_ASSIGN_OR_RETURN(json j,
                         impl_->MlflowGet("model-versions/get",
                                          {{"name", name}, {"version", std::to_string(version)}}));
  const json* v = Field(j, "model_version");
  if (v == nullptr) return Unexpected("no model_version in the answer");
  return ParseModelVersion(*v);
}

Result<ModelVersionSearchPage> RegistryClient::SearchModelVersions(const RegistrySearch& query) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->MlflowGet("model-versions/search", SearchParams(query)));
  ModelVersionSearchPage page;
  CAIRN_ASSIGN_OR_RETURN(page.versions,
                         ParseList<store::ModelVersion>(j, "model_versions", ParseModelVersion));
  CAIRN_ASSIGN_OR_RETURN(page.next_page_token, NextPageToken(j));
  return page;
}

Result<std::vector<store::ModelVersion>> RegistryClient::SearchAllModelVersions(
    RegistrySearch query, int64_t limit) {
  return Collect<store::ModelVersion>(
      std::move(query), limit,
      [this](const RegistrySearch& q)
          -> Result<std::pair<std::vector<store::ModelVersion>, std::string>> {
        CAIRN_ASSIGN_OR_RETURN(auto page, SearchModelVersions(q));
        return std::make_pair(std::move(page.versions), std::move(page.next_page_token));
      });
}

Status RegistryClient::DeleteModelVersion(const std::string& name, int64_t version) {
  CAIRN_RETURN_IF_ERROR(impl_->Mlflow("DELETE", "model-versions/delete",
                                      json{{"name", name}, {"version", std::to_string(version)}}));
  return {};
}

Status RegistryClient::SetModelVersionTag(const std::string& name, int64_t version,
                                          const std::string& key, const std::string& value) {
  CAIRN_RETURN_IF_ERROR(impl_->Mlflow(
      "POST", "model-versions/set-tag",
      json{{"name", name}, {"version", std::to_string(version)}, {"key", key}, {"value", value}}));
  return {};
}

Result<std::string> RegistryClient::GetModelVersionDownloadUri(const std::string& name,
                                                               int64_t version) {
  CAIRN_ASSIGN_OR_RETURN(json j,
                         impl_->MlflowGet("model-versions/get-download-uri",
                                          {{"name", name}, {"version", std::to_string(version)}}));
  const json* uri = Field(j, "artifact_uri");
  if (uri == nullptr || !uri->is_string()) return Unexpected("no artifact_uri in the answer");
  return uri->get<std::string>();
}

// ------------------------------------------------------------------ aliases

Result<store::ModelVersion> RegistryClient::GetModelVersionByAlias(const std::string& name,
                                                                   const std::string& alias) {
  CAIRN_ASSIGN_OR_RETURN(
      json j, impl_->MlflowGet("registered-models/alias", {{"name", name}, {"alias", alias}}));
  const json* v = Field(j, "model_version");
  if (v == nullptr) return Unexpected("no model_version in the answer");
  return ParseModelVersion(*v);
}

Status RegistryClient::DeleteAlias(const std::string& name, const std::string& alias) {
  CAIRN_RETURN_IF_ERROR(
      impl_->Mlflow("DELETE", "registered-models/alias", json{{"name", name}, {"alias", alias}}));
  return {};
}

// ------------------------------------------------------- approvable changes

Result<ChangeOutcome> RegistryClient::SetAlias(const std::string& name, const std::string& alias,
                                               int64_t version, const std::string& comment) {
  json body{{"version", std::to_string(version)}, {"comment", comment}};
  bool absent = false;
  CAIRN_ASSIGN_OR_RETURN(
      json j, impl_->Native("POST", Impl::ModelPath(name) + "/aliases/" + Segment(alias), &body, {},
                            "set-alias", &absent));
  if (!absent) return ParseChangeOutcome(j);
  // A stock MLflow server: its own endpoint (no approvals there).
  CAIRN_RETURN_IF_ERROR(
      impl_->Mlflow("POST", "registered-models/alias",
                    json{{"name", name}, {"alias", alias}, {"version", std::to_string(version)}}));
  ChangeOutcome o;
  o.outcome = "applied";
  CAIRN_ASSIGN_OR_RETURN(o.model_version, GetModelVersion(name, version));
  return o;
}

Result<ChangeOutcome> RegistryClient::TransitionStage(const std::string& name, int64_t version,
                                                      const std::string& stage,
                                                      bool archive_existing_versions,
                                                      const std::string& comment) {
  json body{{"stage", stage},
            {"archive_existing_versions", archive_existing_versions},
            {"comment", comment}};
  bool absent = false;
  CAIRN_ASSIGN_OR_RETURN(
      json j, impl_->Native(
                  "POST", Impl::ModelPath(name) + "/versions/" + std::to_string(version) + "/stage",
                  &body, {}, "transition", &absent));
  if (!absent) return ParseChangeOutcome(j);
  CAIRN_ASSIGN_OR_RETURN(
      json mv, impl_->Mlflow("POST", "model-versions/transition-stage",
                             json{{"name", name},
                                  {"version", std::to_string(version)},
                                  {"stage", stage},
                                  {"archive_existing_versions", archive_existing_versions}}));
  const json* v = Field(mv, "model_version");
  if (v == nullptr) return Unexpected("no model_version in the answer");
  ChangeOutcome o;
  o.outcome = "applied";
  CAIRN_ASSIGN_OR_RETURN(o.model_version, ParseModelVersion(*v));
  return o;
}

Result<ChangeOutcome> RegistryClient::RollbackAlias(const std::string& name,
                                                    const std::string& alias) {
  json body = json::object();
  CAIRN_ASSIGN_OR_RETURN(
      json j,
      impl_->Native("POST", Impl::ModelPath(name) + "/aliases/" + Segment(alias) + "/rollback",
                    &body, {}, "rollback"));
  return ParseChangeOutcome(j);
}

Result<store::RegisteredModel> RegistryClient::SetProtectedTargets(
    const std::string& name, const std::vector<std::string>& targets) {
  json body{{"targets", targets}};
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Native("PUT", Impl::ModelPath(name) + "/protected-targets",
                                               &body, {}, "protecting targets"));
  const json* m = Field(j, "registered_model");
  if (m == nullptr) return Unexpected("no registered_model in the answer");
  return ParseRegisteredModel(*m);
}

// ---------------------------------------------------------------- approvals

Result<std::vector<store::ApprovalRequest>> RegistryClient::ListApprovals(
    const std::string& model, const std::string& status) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!model.empty()) params.emplace_back("model", model);
  if (!status.empty()) params.emplace_back("status", status);
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Native("GET", "approvals", nullptr, params, "approvals"));
  return ParseList<store::ApprovalRequest>(j, "approvals", ParseApprovalRequest);
}

Result<ChangeOutcome> RegistryClient::DecideApproval(int64_t id, bool approve,
                                                     const std::string& comment) {
  json body{{"comment", comment}};
  CAIRN_ASSIGN_OR_RETURN(
      json j,
      impl_->Native("POST", "approvals/" + std::to_string(id) + (approve ? "/approve" : "/reject"),
                    &body, {}, "approvals"));
  return ParseChangeOutcome(j);
}

// ------------------------------------------------- audit, webhooks, lineage

Result<AuditEntriesPage> RegistryClient::SearchAudit(const AuditSearch& q) {
  std::vector<std::pair<std::string, std::string>> params;
  std::string path = "audit";
  if (!q.model.empty()) {
    path = Impl::ModelPath(q.model) + "/audit";
  } else {
    if (!q.entity_type.empty()) params.emplace_back("entity_type", q.entity_type);
    if (!q.entity_id.empty()) params.emplace_back("entity_id", q.entity_id);
  }
  if (!q.actor.empty()) params.emplace_back("actor", q.actor);
  if (q.since) params.emplace_back("since", std::to_string(*q.since));
  if (q.until) params.emplace_back("until", std::to_string(*q.until));
  if (q.max_results > 0) params.emplace_back("max_results", std::to_string(q.max_results));
  if (!q.page_token.empty()) params.emplace_back("page_token", q.page_token);
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Native("GET", path, nullptr, params, "the audit log"));
  AuditEntriesPage page;
  CAIRN_ASSIGN_OR_RETURN(page.entries, ParseList<store::AuditEntry>(j, "entries", ParseAuditEntry));
  CAIRN_ASSIGN_OR_RETURN(page.next_page_token, NextPageToken(j));
  return page;
}

Result<std::vector<store::AuditEntry>> RegistryClient::SearchAllAudit(AuditSearch query,
                                                                      int64_t limit) {
  return Collect<store::AuditEntry>(
      std::move(query), limit,
      [this](
          const AuditSearch& q) -> Result<std::pair<std::vector<store::AuditEntry>, std::string>> {
        CAIRN_ASSIGN_OR_RETURN(auto page, SearchAudit(q));
        return std::make_pair(std::move(page.entries), std::move(page.next_page_token));
      });
}

Result<store::Webhook> RegistryClient::CreateWebhook(const CreateWebhookRequest& request) {
  json body{{"model", request.model},
            {"url", request.url},
            {"events", request.events},
            {"secret", request.secret}};
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Native("POST", "webhooks", &body, {}, "webhooks"));
  const json* w = Field(j, "webhook");
  if (w == nullptr) return Unexpected("no webhook in the answer");
  return ParseWebhook(*w);
}

Result<std::vector<store::Webhook>> RegistryClient::ListWebhooks(const std::string& model) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!model.empty()) params.emplace_back("model", model);
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Native("GET", "webhooks", nullptr, params, "webhooks"));
  return ParseList<store::Webhook>(j, "webhooks", ParseWebhook);
}

Status RegistryClient::DeleteWebhook(int64_t id) {
  CAIRN_RETURN_IF_ERROR(
      impl_->Native("DELETE", "webhooks/" + std::to_string(id), nullptr, {}, "webhooks"));
  return {};
}

Result<std::vector<store::WebhookDelivery>> RegistryClient::ListDeliveries(int64_t webhook_id,
                                                                           int64_t max_results) {
  std::vector<std::pair<std::string, std::string>> params;
  if (max_results > 0) params.emplace_back("max_results", std::to_string(max_results));
  CAIRN_ASSIGN_OR_RETURN(
      json j, impl_->Native("GET", "webhooks/" + std::to_string(webhook_id) + "/deliveries",
                            nullptr, params, "webhooks"));
  return ParseList<store::WebhookDelivery>(j, "deliveries", ParseWebhookDelivery);
}

Result<VersionLineage> RegistryClient::GetLineage(const std::string& name, int64_t version) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Native("GET",
                                               Impl::ModelPath(name) + "/versions/" +
                                                   std::to_string(version) + "/lineage",
                                               nullptr, {}, "lineage"));
  return ParseLineage(j);
}

Result<std::vector<store::ModelVersion>> RegistryClient::VersionsUsingDataset(
    const std::string& digest, const std::string& name) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!name.empty()) params.emplace_back("name", name);
  CAIRN_ASSIGN_OR_RETURN(
      json j, impl_->Native("GET", "datasets/" + Segment(digest) + "/model-versions", nullptr,
                            params, "dataset lineage"));
  return ParseList<store::ModelVersion>(j, "model_versions", ParseModelVersion);
}

// ---------------------------------------------------------------- downloads

Result<std::string> RegistryClient::DownloadModelVersion(const std::string& name, int64_t version,
                                                         const std::string& dst_dir) {
  CAIRN_ASSIGN_OR_RETURN(std::string uri, GetModelVersionDownloadUri(name, version));
  return DownloadArtifactUri(uri, dst_dir);
}

Result<std::string> RegistryClient::DownloadArtifactUri(const std::string& artifact_uri,
                                                        const std::string& dst_dir) {
  CAIRN_ASSIGN_OR_RETURN(std::string resolved, impl_->ResolveModelUri(artifact_uri));
  CAIRN_ASSIGN_OR_RETURN(ArtifactLocation loc, ResolveArtifactLocation(resolved, impl_->base));
  std::error_code ec;
  fs::path dst = fs::absolute(dst_dir, ec);
  if (ec) return InvalidArgument("bad destination '" + dst_dir + "': " + ec.message());
  fs::create_directories(dst, ec);
  if (ec) return Internal("cannot create '" + dst.string() + "': " + ec.message());
  // A location naming a single file: fetch it as dst/<file name>.
  if (loc.kind == ArtifactLocation::Kind::kLocal) {
    if (fs::is_regular_file(loc.local_dir, ec)) {
      fs::path file(loc.local_dir);
      ArtifactLocation parent = loc;
      parent.local_dir = file.parent_path().string();
      CAIRN_RETURN_IF_ERROR(
          impl_->GetFile(parent, file.filename().string(), dst / file.filename()));
      return dst.string();
    }
    if (!fs::is_directory(loc.local_dir, ec)) {
      return NotFound("artifact location '" + artifact_uri + "' does not exist");
    }
  }
  int64_t files = 0;
  CAIRN_RETURN_IF_ERROR(impl_->DownloadTree(loc, "", dst, 0, &files));
  if (files == 0) return NotFound("no files at '" + artifact_uri + "'");
  return dst.string();
}

}  // namespace cairn::client
