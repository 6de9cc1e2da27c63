#include "monitor/monitor_service.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <utility>

#include "core/cron.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/uri.h"
#include "model/signature.h"

namespace cairn::monitor {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kDefaultLogUri = "mlflow-artifacts:/inference-log";
constexpr const char* kReferenceTag = "cairn.reference";
constexpr int64_t kDayMs = 86'400'000;
// Segments close `segment_age` after their first record: a segment whose
// first record is more than this before a window cannot hold its records.
constexpr int64_t kSegmentMarginMs = 3'600'000;

std::unexpected<Error> SpecError(std::string_view field, std::string_view what) {
  return InvalidArgument(fmt::format("monitor spec: '{}' {}", field, what));
}

// ------------------------------------------------------------------ spec JSON

Result<std::string> JsonString(const json& v, std::string_view field) {
  if (!v.is_string()) return SpecError(field, "must be a string");
  return v.get<std::string>();
}

Result<double> JsonNumber(const json& v, std::string_view field) {
  if (!v.is_number()) return SpecError(field, "must be a number");
  return v.get<double>();
}

Result<std::vector<std::string>> JsonStringList(const json& v, std::string_view field) {
  if (!v.is_array()) return SpecError(field, "must be a list of strings");
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.is_string()) return SpecError(field, "must be a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

// --------------------------------------------------------------- parsed spec

struct WindowSpec {
  int64_t ms = 0;    // time windows
  int64_t rows = 0;  // row-count windows
};

Result<WindowSpec> ParseWindow(std::string_view text) {
  WindowSpec w;
  auto bad = [&] {
    return SpecError("window",
                     fmt::format("must be a string like 1h or 1000rows (got '{}')", text));
  };
  if (text.ends_with("rows")) {
    std::string_view n = text.substr(0, text.size() - 4);
    int64_t rows = 0;
    auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), rows);
    if (n.empty() || ec != std::errc() || ptr != n.data() + n.size() || rows < 1) return bad();
    w.rows = rows;
    return w;
  }
  auto ms = ParseDurationMs(text);
  if (!ms || *ms < 1000) return bad();
  w.ms = *ms;
  return w;
}

// Everything the service derives from a spec, validated.
struct ParsedSpec {
  WindowSpec window;
  int64_t grace_ms = 0;
  std::optional<CronSchedule> schedule;
  std::vector<AlertRule> rules;
  DriftOptions drift;
  PerformanceOptions performance;
};

Result<ParsedSpec> ParseSpec(const MonitorSpec& spec) {
  ParsedSpec p;
  CAIRN_ASSIGN_OR_RETURN(p.window, ParseWindow(spec.window));
  auto grace = ParseDurationMs(spec.grace);
  if (!grace) return SpecError("grace", grace.error().message());
  p.grace_ms = *grace;
  if (!spec.schedule.empty()) {
    auto cron = CronSchedule::Parse(spec.schedule);
    if (!cron) return SpecError("schedule", cron.error().message());
    p.schedule = std::move(*cron);
  }
  auto task = ParseTask(spec.task);
  if (!task) return SpecError("task", task.error().message());
  p.performance.task = *task;
  if (spec.positive_label.empty()) return SpecError("positive_label", "must not be empty");
  p.performance.positive_label = spec.positive_label;
  for (const auto& [column, test_name] : spec.tests) {
    auto test = ParseStatTest(test_name);
    if (!test)
      return SpecError("tests", fmt::format("column '{}': {}", column, test.error().message()));
    p.drift.tests[column] = *test;
  }
  for (const auto& [column, threshold] : spec.thresholds) {
    if (!std::isfinite(threshold)) {
      return SpecError("thresholds", fmt::format("column '{}': must be a finite number", column));
    }
    p.drift.thresholds[column] = threshold;
  }
  if (!(spec.drift_share > 0 && spec.drift_share <= 1)) {
    return SpecError("drift_share", "must be in (0, 1]");
  }
  p.drift.drift_share = spec.drift_share;
  std::set<std::string> seen;
  for (const auto& text : spec.alerts) {
    auto rule = ParseAlertRule(text);
    if (!rule) return SpecError("alerts", rule.error().message());
    if (!seen.insert(rule->text).second) {
      return SpecError("alerts", fmt::format("rule '{}' is given twice", rule->text));
    }
    p.rules.push_back(std::move(*rule));
  }
  return p;
}

bool ValidMonitorName(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

// ------------------------------------------------------------------- helpers

Result<std::string> ReadFileBytes(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound(fmt::format("file '{}' does not exist", path));
  if (fs::is_directory(path, ec)) {
    return InvalidArgument(fmt::format("'{}' is a folder, not a file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Internal(fmt::format("cannot open '{}'", path));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return Internal(fmt::format("cannot read '{}'", path));
  return out.str();
}

// ---------------------------------------------------------------- local files

// The path the kernel would open for `path` (absolute, symbolic links and
// "." / ".." resolved). For a path that does not exist (yet), its deepest
// existing parent resolved plus the missing names; nullopt when that is not
// possible: a dangling or looping link, an unsearchable folder, or ".."
// below a missing name (the kernel refuses those paths too).
std::optional<std::string> RealPathOrParent(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  if (ec || p.empty()) return std::nullopt;
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) != nullptr) return std::string(buf);
  // lstat, not stat: a link that exists but points nowhere stops the walk
  // (and fails below), so where a dangling link points is never guessed at.
  std::vector<std::string> missing;  // innermost first
  fs::path cur = p;
  struct stat st {};
  while (::lstat(cur.c_str(), &st) != 0) {
    if (!cur.has_relative_path()) return std::nullopt;  // not even "/"
    missing.push_back(cur.filename().string());
    cur = cur.parent_path();
  }
  if (missing.empty()) return std::nullopt;  // exists but does not resolve
  if (::realpath(cur.c_str(), buf) == nullptr) return std::nullopt;
  std::string out = buf;
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (it->empty() || *it == ".") continue;
    if (*it == "..") return std::nullopt;
    if (!out.ends_with('/')) out += '/';
    out += *it;
  }
  return out;
}

// Whether `resolved` is `root` or below it (both resolved).
bool IsUnder(std::string_view resolved, std::string_view root) {
  if (root == "/") return true;
  return resolved == root || (resolved.size() > root.size() && resolved.starts_with(root) &&
                              resolved[root.size()] == '/');
}

// A local file opened for reading (descriptor closed, mapping released on
// destruction). Open() only opens and stats it, so the caller can check
// what was opened before anything is read.
class LocalFile {
 public:
  LocalFile(LocalFile&& o) noexcept
      : path_(std::move(o.path_)),
        fd_(std::exchange(o.fd_, -1)),
        stat_(o.stat_),
        map_(std::exchange(o.map_, nullptr)),
        size_(std::exchange(o.size_, 0)) {}
  LocalFile& operator=(LocalFile&&) = delete;
  ~LocalFile() {
    if (map_ != nullptr) ::munmap(map_, size_);
    if (fd_ >= 0) ::close(fd_);
  }

  // kNotFound "<path>: no such file"; kInvalidArgument for other failures.
  // O_NONBLOCK: opening a FIFO must not hang the caller.
  static Result<LocalFile> Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
      const int e = errno;
      if (e == ENOENT || e == ENOTDIR) return NotFound(path + ": no such file");
      return InvalidArgument(path + ": cannot open: " + std::strerror(e));
    }
    LocalFile f(path, fd);
    if (::fstat(fd, &f.stat_) != 0) {
      return InvalidArgument(path + ": cannot stat: " + std::strerror(errno));
    }
    return f;
  }

  const struct stat& info() const { return stat_; }

  // The whole content (a private read-only mapping). kInvalidArgument for
  // what is not a regular file.
  Result<std::string_view> Bytes() {
    if (!S_ISREG(stat_.st_mode)) return InvalidArgument(path_ + ": not a regular file");
    if (map_ != nullptr || stat_.st_size == 0) {
      return std::string_view(static_cast<const char*>(map_), size_);
    }
    size_ = static_cast<size_t>(stat_.st_size);
    void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (map == MAP_FAILED) {
      size_ = 0;
      return InvalidArgument(path_ + ": cannot map: " + std::strerror(errno));
    }
    ::madvise(map, size_, MADV_SEQUENTIAL);
    map_ = map;
    return std::string_view(static_cast<const char*>(map_), size_);
  }

 private:
  LocalFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_ = -1;
  struct stat stat_ {};
  void* map_ = nullptr;
  size_t size_ = 0;
};

// "mlflow-artifacts:/a/b" or "mlflow-artifacts://host:port/a/b" -> "a/b".
Result<std::string> ArtifactPathOf(std::string_view uri) {
  CAIRN_ASSIGN_OR_RETURN(Uri u, Uri::Parse(uri));
  std::string path = u.path;
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return fmt::format("{}/{}", a, b);
}

bool HasScheme(std::string_view uri, std::string_view scheme) {
  if (uri.size() <= scheme.size() || uri[scheme.size()] != ':') return false;
  for (size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(uri[i])) != scheme[i]) return false;
  }
  return true;
}

// A scheme other than file:, as "s3" in "s3://b/k"; "" for a local path.
std::string SchemeOf(std::string_view uri) {
  size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon < 2) return "";  // "C:" drives are not schemes
  for (size_t i = 0; i < colon; ++i) {
    char c = uri[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.')) {
      return "";
    }
  }
  std::string s(uri.substr(0, colon));
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string DateOf(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// "<first-ts>-<seq>.jsonl" -> first-ts; nullopt for any other name.
std::optional<int64_t> SegmentFirstTs(std::string_view name) {
  if (!name.ends_with(".jsonl")) return std::nullopt;
  size_t dash = name.find('-');
  if (dash == std::string_view::npos || dash == 0) return std::nullopt;
  int64_t ts = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + dash, ts);
  if (ec != std::errc() || ptr != name.data() + dash) return std::nullopt;
  return ts;
}

std::string BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool IsPerformanceStatistic(std::string_view s) {
  static const std::set<std::string, std::less<>> kNames = {
      "accuracy", "precision", "recall", "f1", "roc_auc",
      "log_loss", "mae",       "rmse",   "r2", "labeled_rows"};
  return kNames.contains(s);
}

std::string RandomHex(int bytes) {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < bytes; ++i) out += fmt::format("{:02x}", rd() & 0xff);
  return out;
}

std::string DefaultOwner() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "unknown");
  return fmt::format("{}:{}:{}", host, static_cast<long>(getpid()), RandomHex(4));
}

// The model's expected input columns, from the latest version's signature.
struct ModelSchema {
  bool has_signature = false;  // a column-based input signature
  std::vector<std::string> names;
  std::map<std::string, ColumnKind, std::less<>> kinds;
  std::optional<store::ModelVersion> latest;

  bool Has(std::string_view column) const {
    return std::find(names.begin(), names.end(), column) != names.end();
  }
};

std::optional<ColumnKind> KindOf(model::DataType t) {
  switch (t) {
    case model::DataType::kInteger:
    case model::DataType::kLong:
    case model::DataType::kFloat:
    case model::DataType::kDouble:
      return ColumnKind::kNumeric;
    case model::DataType::kBoolean:
    case model::DataType::kString:
    case model::DataType::kBinary:
    case model::DataType::kDatetime:
      return ColumnKind::kCategorical;
    default:
      return std::nullopt;
  }
}

// One evaluated (rule, feature) of a window.
struct RuleEval {
  const AlertRule* rule = nullptr;
  std::string feature;
  double value = 0;
  bool holds = false;
};

// What processing a window produced, before it is stored.
struct ComputedWindow {
  std::string status;  // "done" or "empty"
  int64_t rows = 0;
  std::string report_json;
  std::vector<store::MonitorResult> results;
  std::vector<store::StoredPrediction> predictions;
  std::vector<RuleEval> evals;
};

// `report_json` (a window's report) with its "performance" member replaced
// by `performance_json`, keys kept in order; "" when either is not JSON (or
// the report is not an object).
std::string WithPerformance(const std::string& report_json, const std::string& performance_json) {
  using ordered = nlohmann::ordered_json;
  try {
    ordered report = ordered::parse(report_json);
    if (!report.is_object()) return "";
    report["performance"] = ordered::parse(performance_json);
    return report.dump();
  } catch (const ordered::exception&) {
    return "";
  }
}

struct LoadedReference {
  int64_t updated_at = 0;
  std::shared_ptr<const Table> table;
};

}  // namespace

// ------------------------------------------------------------------ spec JSON

Result<MonitorSpec> MonitorSpecFromJson(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return InvalidArgument(fmt::format("monitor spec: not valid JSON: {}", e.what()));
  }
  if (!j.is_object()) return InvalidArgument("monitor spec: must be a JSON object");
  MonitorSpec s;
  for (const auto& [key, v] : j.items()) {
    if (v.is_null()) continue;  // absent: the default
    if (key == "name") {
      CAIRN_ASSIGN_OR_RETURN(s.name, JsonString(v, key));
    } else if (key == "model") {
      CAIRN_ASSIGN_OR_RETURN(s.model, JsonString(v, key));
    } else if (key == "deployment") {
      CAIRN_ASSIGN_OR_RETURN(s.deployment, JsonString(v, key));
    } else if (key == "reference") {
      CAIRN_ASSIGN_OR_RETURN(s.reference, JsonString(v, key));
    } else if (key == "log_uri") {
      CAIRN_ASSIGN_OR_RETURN(s.log_uri, JsonString(v, key));
    } else if (key == "window") {
      if (!v.is_string()) return SpecError(key, "must be a string like 1h or 1000rows");
      s.window = v.get<std::string>();
    } else if (key == "grace") {
      if (!v.is_string()) return SpecError(key, "must be a string like 2m");
      s.grace = v.get<std::string>();
    } else if (key == "schedule") {
      CAIRN_ASSIGN_OR_RETURN(s.schedule, JsonString(v, key));
    } else if (key == "task") {
      CAIRN_ASSIGN_OR_RETURN(s.task, JsonString(v, key));
    } else if (key == "positive_label") {
      // A number is accepted for convenience ("positive_label": 1).
      if (v.is_number_integer()) {
        s.positive_label = std::to_string(v.get<int64_t>());
      } else {
        CAIRN_ASSIGN_OR_RETURN(s.positive_label, JsonString(v, key));
      }
    } else if (key == "prediction_column") {
      CAIRN_ASSIGN_OR_RETURN(s.prediction_column, JsonString(v, key));
    } else if (key == "columns") {
      CAIRN_ASSIGN_OR_RETURN(s.columns, JsonStringList(v, key));
    } else if (key == "tests") {
      if (!v.is_object()) return SpecError(key, "must be an object of column: test name");
      for (const auto& [column, test] : v.items()) {
        if (!test.is_string()) {
          return SpecError(key, fmt::format("column '{}': the test must be a string", column));
        }
        s.tests[column] = test.get<std::string>();
      }
    } else if (key == "thresholds") {
      if (!v.is_object()) return SpecError(key, "must be an object of column: number");
      for (const auto& [column, threshold] : v.items()) {
        if (!threshold.is_number()) {
          return SpecError(key, fmt::format("column '{}': the threshold must be a number", column));
        }
        s.thresholds[column] = threshold.get<double>();
      }
    } else if (key == "drift_share") {
      CAIRN_ASSIGN_OR_RETURN(s.drift_share, JsonNumber(v, key));
    } else if (key == "alerts") {
      CAIRN_ASSIGN_OR_RETURN(s.alerts, JsonStringList(v, key));
    } else if (key == "alert_webhook") {
      CAIRN_ASSIGN_OR_RETURN(s.alert_webhook, JsonString(v, key));
    } else if (key == "alert_secret") {
      CAIRN_ASSIGN_OR_RETURN(s.alert_secret, JsonString(v, key));
    } else {
      return InvalidArgument(fmt::format("monitor spec: unknown field '{}'", key));
    }
  }
  return s;
}

std::string MonitorSpecToJson(const MonitorSpec& spec) {
  JsonWriter w;
  w.BeginObject();
  w.Field("name", spec.name);
  w.Field("model", spec.model);
  w.Field("deployment", spec.deployment);
  w.Field("reference", spec.reference);
  w.Field("log_uri", spec.log_uri);
  w.Field("window", spec.window);
  w.Field("grace", spec.grace);
  w.Field("schedule", spec.schedule);
  w.Field("task", spec.task);
  w.Field("positive_label", spec.positive_label);
  w.Field("prediction_column", spec.prediction_column);
  w.Key("columns").BeginArray();
  for (const auto& c : spec.columns) w.String(c);
  w.EndArray();
  w.Key("tests").BeginObject();
  for (const auto& [c, t] : spec.tests) w.Field(c, t);
  w.EndObject();
  w.Key("thresholds").BeginObject();
  for (const auto& [c, t] : spec.thresholds) w.Key(c).Double(t);
  w.EndObject();
  w.Key("drift_share").Double(spec.drift_share);
  w.Key("alerts").BeginArray();
  for (const auto& a : spec.alerts) w.String(a);
  w.EndArray();
  w.Field("alert_webhook", spec.alert_webhook);
  w.EndObject();
  return w.Take();
}

// ------------------------------------------------------------------- service

struct MonitorService::Impl {
  store::MetadataStore& store;
  store::MonitorStore& monitors;
  blob::ArtifactRepository* artifacts;
  const Clock& clock;
  MonitorServiceOptions options;

  std::mutex cache_mu;
  std::map<int64_t, LoadedReference> reference_cache;  // by monitor id

  Impl(store::MetadataStore& s, store::MonitorStore& m, blob::ArtifactRepository* a, const Clock& c,
       MonitorServiceOptions o)
      : store(s), monitors(m), artifacts(a), clock(c), options(std::move(o)) {
    if (options.owner.empty()) options.owner = DefaultOwner();
    if (options.max_windows_per_tick < 1) options.max_windows_per_tick = 1;
  }

  // ------------------------------------------------------------ local files
  // The refusal of a local file outside options.local_roots. `field` is
  // "reference" or "log_uri", `uri` what the user wrote. Says nothing about
  // whether the file exists.
  std::unexpected<Error> OutsideRoots(std::string_view field, std::string_view uri) const {
    const char* instead = field == "reference"
                              ? "log it as a run artifact and use runs:/ or mlflow-artifacts:/"
                              : "leave the inference log in the artifact store "
                                "(mlflow-artifacts:/inference-log, the default)";
    return InvalidArgument(
        fmt::format("{} '{}' is outside the folders this server reads local files from "
                    "(--monitor-data-root DIR, CAIRN_MONITOR_DATA_ROOT); {} instead",
                    field, uri, instead));
  }

  // The resolved path of `path` when it lies under a root; nullopt when it
  // does not (or cannot be resolved). Roots are resolved on each call, so a
  // root created after the service starts counts.
  std::optional<std::string> ConfinedPath(const std::string& path) const {
    auto resolved = RealPathOrParent(path);
    if (!resolved) return std::nullopt;
    for (const auto& root : *options.local_roots) {
      auto r = RealPathOrParent(root);
      if (r && IsUnder(*resolved, *r)) return resolved;
    }
    return std::nullopt;
  }

  // OK when local reads are unrestricted or `path` lies under a root.
  Status CheckLocalPath(std::string_view field, std::string_view uri,
                        const std::string& path) const {
    if (!options.local_roots || ConfinedPath(path)) return {};
    return OutsideRoots(field, uri);
  }

  // Opens `path` for reading when it lies under a root, and checks that what
  // was opened is the file the root holds (same device and inode as the
  // resolved path now): a link swapped between the check and the open is
  // refused. kNotFound "<path>: no such file" only for paths inside a root.
  Result<LocalFile> OpenLocal(std::string_view field, std::string_view uri,
                              const std::string& path) const {
    CAIRN_RETURN_IF_ERROR(CheckLocalPath(field, uri, path));
    CAIRN_ASSIGN_OR_RETURN(LocalFile file, LocalFile::Open(path));
    if (options.local_roots) {
      auto resolved = ConfinedPath(path);
      struct stat st {};
      if (!resolved || ::stat(resolved->c_str(), &st) != 0 || st.st_dev != file.info().st_dev ||
          st.st_ino != file.info().st_ino) {
        return OutsideRoots(field, uri);
      }
    }
    return file;
  }

  // Everything processing a window needs, loaded once per tick.
  struct Context {
    store::Monitor monitor;
    MonitorSpec spec;
    ParsedSpec parsed;
    ModelSchema schema;
    std::shared_ptr<const Table> reference;
  };

  // ----------------------------------------------------------- model schema
  Result<ModelSchema> LoadModelSchema(const std::string& model_name) {
    ModelSchema schema;
    CAIRN_RETURN_IF_ERROR(store.registry().GetRegisteredModel(model_name));
    store::RegistryQuery q;
    store::RegistryComparison by_name;
    by_name.field = store::RegistryComparison::Field::kName;
    by_name.op = store::RegistryComparison::Op::kEq;
    by_name.values = {model_name};
    q.filter.push_back(by_name);
    q.order_by.push_back({store::RegistryOrderBy::Field::kVersion, false});
    q.max_results = 1;
    CAIRN_ASSIGN_OR_RETURN(store::ModelVersionPage page, store.registry().SearchModelVersions(q));
    if (page.versions.empty()) return schema;
    schema.latest = page.versions.front();
    if (schema.latest->signature_json.empty()) return schema;
    auto sig = model::ParseSignatureJson(schema.latest->signature_json);
    if (!sig) {
      CAIRN_LOG_WARN("monitor: model {} version {} has an unreadable signature: {}", model_name,
                     schema.latest->version, sig.error().message());
      return schema;
    }
    // Only column signatures name the features; a tensor signature (or none)
    // accepts any reference columns.
    if (!sig->inputs || sig->inputs->is_tensor) return schema;
    for (const auto& c : sig->inputs->columns) {
      if (!c.name) continue;
      schema.names.push_back(*c.name);
      if (auto kind = KindOf(c.data_type)) schema.kinds[*c.name] = *kind;
    }
    schema.has_signature = !schema.names.empty();
    return schema;
  }

  // -------------------------------------------------------------- reference
  Result<Table> LoadReference(const std::string& uri, const ModelSchema& schema) {
    ReadOptions options;
    options.threads = this->options.threads;
    options.source_name = uri;
    for (const auto& [name, kind] : schema.kinds) options.kinds[name] = kind;
    auto from_artifacts = [&](const std::string& path) -> Result<Table> {
      if (artifacts == nullptr) {
        return InvalidArgument(fmt::format(
            "reference '{}' is in the artifact store, which this process has no access to", uri));
      }
      auto file = artifacts->Download(path);
      if (!file) {
        return InvalidArgument(
            fmt::format("reference '{}' cannot be read: {}", uri, file.error().message()));
      }
      auto bytes = ReadFileBytes(file->local_path);
      if (!bytes) {
        return InvalidArgument(
            fmt::format("reference '{}' cannot be read: {}", uri, bytes.error().message()));
      }
      return ParseDataset(path, *bytes, options);
    };
    auto from_disk = [&](const std::string& path) -> Result<Table> {
      // OpenLocal refuses a path outside the roots before it opens anything;
      // ParseDataset refuses an unsupported format by its name.
      auto file = OpenLocal("reference", uri, path);
      if (!file) {
        if (file.error().code() == ErrorCode::kNotFound) {
          return InvalidArgument(
              fmt::format("reference '{}' cannot be read: {}", uri, file.error().message()));
        }
        return std::unexpected(file.error());
      }
      CAIRN_ASSIGN_OR_RETURN(std::string_view bytes, file->Bytes());
      return ParseDataset(path, bytes, options);
    };
    if (HasScheme(uri, "runs")) {
      CAIRN_ASSIGN_OR_RETURN(RunsUri r, ParseRunsUri(uri));
      auto run = store.GetRun(r.run_id);
      if (!run) {
        return InvalidArgument(
            fmt::format("reference '{}': run {}: {}", uri, r.run_id, run.error().message()));
      }
      const std::string& root = run->info.artifact_uri;
      if (HasScheme(root, "mlflow-artifacts")) {
        CAIRN_ASSIGN_OR_RETURN(std::string base, ArtifactPathOf(root));
        return from_artifacts(JoinPath(base, r.path));
      }
      std::string scheme = SchemeOf(root);
      if (!scheme.empty() && scheme != "file") {
        return InvalidArgument(fmt::format(
            "reference '{}': the run's artifacts are at '{}', which cannot be read here", uri,
            root));
      }
      CAIRN_ASSIGN_OR_RETURN(std::string dir, LocalPathFromUri(root));
      return from_disk(JoinPath(dir, r.path));
    }
    if (HasScheme(uri, "mlflow-artifacts")) {
      CAIRN_ASSIGN_OR_RETURN(std::string path, ArtifactPathOf(uri));
      return from_artifacts(path);
    }
    std::string scheme = SchemeOf(uri);
    if (!scheme.empty() && scheme != "file") {
      return InvalidArgument(
          fmt::format("reference '{}': unsupported scheme '{}' (use a path, file://, runs:/ or "
                      "mlflow-artifacts:/)",
                      uri, scheme));
    }
    CAIRN_ASSIGN_OR_RETURN(std::string path, LocalPathFromUri(uri));
    return from_disk(path);
  }

  Result<std::shared_ptr<const Table>> CachedReference(const store::Monitor& m,
                                                       const MonitorSpec& spec,
                                                       const ModelSchema& schema) {
    {
      std::lock_guard lock(cache_mu);
      auto it = reference_cache.find(m.id);
      if (it != reference_cache.end() && it->second.updated_at == m.updated_at) {
        return it->second.table;
      }
    }
    // Loaded without the lock: two threads may both load; the last one stays.
    CAIRN_ASSIGN_OR_RETURN(Table t, LoadReference(spec.reference, schema));
    auto table = std::make_shared<const Table>(std::move(t));
    std::lock_guard lock(cache_mu);
    reference_cache[m.id] = LoadedReference{m.updated_at, table};
    return table;
  }

  // The columns drift compares: the spec's, else every reference column the
  // model has (all of them without a signature), except the prediction.
  std::vector<std::string> ComparedColumns(const MonitorSpec& spec, const Table& reference,
                                           const ModelSchema& schema) {
    if (!spec.columns.empty()) return spec.columns;
    std::vector<std::string> out;
    for (const auto& c : reference.columns) {
      if (c.name == spec.prediction_column) continue;
      if (schema.has_signature && !schema.Has(c.name)) continue;
      out.push_back(c.name);
    }
    return out;
  }

  Result<Context> LoadContext(const store::Monitor& m) {
    Context ctx;
    ctx.monitor = m;
    auto spec = MonitorSpecFromJson(m.spec_json);
    if (!spec) return Internal("stored monitor spec is unreadable: " + spec.error().message());
    ctx.spec = std::move(*spec);
    CAIRN_ASSIGN_OR_RETURN(ctx.parsed, ParseSpec(ctx.spec));
    ctx.parsed.drift.threads = options.threads;
    auto schema = LoadModelSchema(m.model_name);
    if (!schema) {
      if (schema.error().code() == ErrorCode::kNotFound) {
        return FailedPrecondition(fmt::format("the monitor's model '{}' no longer exists ({})",
                                              m.model_name, schema.error().message()));
      }
      return std::unexpected(schema.error());
    }
    ctx.schema = std::move(*schema);
    CAIRN_ASSIGN_OR_RETURN(ctx.reference, CachedReference(m, ctx.spec, ctx.schema));
    return ctx;
  }

  // ------------------------------------------------------------------- log
  struct LogLocation {
    bool remote = false;  // in the artifact repository
    std::string root;     // artifact path or local folder
    std::string uri;      // as the spec gives it (for messages)
  };

  Result<LogLocation> ResolveLog(const MonitorSpec& spec) {
    LogLocation loc;
    std::string uri = spec.log_uri.empty() ? kDefaultLogUri : spec.log_uri;
    loc.uri = uri;
    if (HasScheme(uri, "mlflow-artifacts")) {
      if (artifacts == nullptr) {
        return FailedPrecondition(fmt::format(
            "the inference log '{}' is in the artifact store, which this process has no access "
            "to",
            uri));
      }
      loc.remote = true;
      CAIRN_ASSIGN_OR_RETURN(loc.root, ArtifactPathOf(uri));
      return loc;
    }
    std::string scheme = SchemeOf(uri);
    if (!scheme.empty() && scheme != "file") {
      return InvalidArgument(
          fmt::format("inference log URI '{}': unsupported scheme '{}'", uri, scheme));
    }
    CAIRN_ASSIGN_OR_RETURN(loc.root, LocalPathFromUri(uri));
    CAIRN_RETURN_IF_ERROR(CheckLocalPath("log_uri", uri, loc.root));
    return loc;
  }

  // Date folders of a deployment, sorted.
  Result<std::vector<std::string>> ListDates(const LogLocation& loc, const std::string& dep) {
    std::vector<std::string> out;
    if (loc.remote) {
      CAIRN_ASSIGN_OR_RETURN(auto entries, artifacts->List(JoinPath(loc.root, dep)));
      for (const auto& e : entries) {
        if (e.is_dir) out.push_back(BaseName(e.path));
      }
    } else {
      fs::path dir = fs::path(loc.root) / dep;
      // The deployment name is a path segment: it must not lead out either.
      CAIRN_RETURN_IF_ERROR(CheckLocalPath("log_uri", loc.uri, dir.string()));
      std::error_code ec;
      if (!fs::is_directory(dir, ec)) return out;
      for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_directory(ec)) out.push_back(it->path().filename().string());
      }
      if (ec) {
        return Unavailable(fmt::format("cannot list the inference log folder '{}': {}",
                                       dir.string(), ec.message()));
      }
    }
    std::erase_if(out, [](const std::string& d) { return d.size() != 10 || d[4] != '-'; });
    std::sort(out.begin(), out.end());
    return out;
  }

  struct Segment {
    std::string name;
    int64_t first_ts = 0;
    std::string key;  // artifact path or local path
  };

  Result<std::vector<Segment>> ListSegments(const LogLocation& loc, const std::string& dep,
                                            const std::string& date) {
    std::vector<Segment> out;
    auto add = [&](std::string name, std::string key) {
      if (auto ts = SegmentFirstTs(name)) out.push_back({std::move(name), *ts, std::move(key)});
    };
    if (loc.remote) {
      CAIRN_ASSIGN_OR_RETURN(auto entries,
                             artifacts->List(JoinPath(JoinPath(loc.root, dep), date)));
      for (const auto& e : entries) {
        if (!e.is_dir) add(BaseName(e.path), e.path);
      }
    } else {
      fs::path dir = fs::path(loc.root) / dep / date;
      CAIRN_RETURN_IF_ERROR(CheckLocalPath("log_uri", loc.uri, dir.string()));
      std::error_code ec;
      for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file(ec)) add(it->path().filename().string(), it->path().string());
      }
      if (ec && ec != std::errc::no_such_file_or_directory) {
        return Unavailable(fmt::format("cannot list the inference log folder '{}': {}",
                                       dir.string(), ec.message()));
      }
    }
    std::sort(out.begin(), out.end(), [](const Segment& a, const Segment& b) {
      return std::tie(a.first_ts, a.name) < std::tie(b.first_ts, b.name);
    });
    return out;
  }

  Result<std::string> ReadSegment(const LogLocation& loc, const Segment& s) {
    if (loc.remote) {
      auto file = artifacts->Download(s.key);
      if (!file) {
        return Unavailable(fmt::format("cannot read inference log segment '{}': {}", s.key,
                                       file.error().message()));
      }
      return ReadFileBytes(file->local_path);
    }
    CAIRN_ASSIGN_OR_RETURN(LocalFile file, OpenLocal("log_uri", loc.uri, s.key));
    CAIRN_ASSIGN_OR_RETURN(std::string_view bytes, file.Bytes());
    return std::string(bytes);
  }

  LogFilter MakeFilter(const Context& ctx, int64_t from, int64_t to) {
    LogFilter f;
    f.deployment = ctx.spec.deployment.empty() ? ctx.spec.model : ctx.spec.deployment;
    f.from_ms = from;
    f.to_ms = to;
    f.feature_names = ctx.schema.names;
    f.options.threads = options.threads;
    for (const auto& c : ctx.reference->columns) f.options.kinds[c.name] = c.kind;
    return f;
  }

  // The live records of the deployment with from <= ts < to.
  Result<LoggedRows> ReadLog(const Context& ctx, int64_t from, int64_t to) {
    CAIRN_ASSIGN_OR_RETURN(LogLocation loc, ResolveLog(ctx.spec));
    LogFilter filter = MakeFilter(ctx, from, to);
    LoggedRows rows;
    CAIRN_ASSIGN_OR_RETURN(auto dates, ListDates(loc, filter.deployment));
    const std::string first_date = DateOf(from - kSegmentMarginMs);
    const std::string last_date = DateOf(to - 1);
    for (const auto& date : dates) {
      if (date < first_date || date > last_date) continue;
      CAIRN_ASSIGN_OR_RETURN(auto segments, ListSegments(loc, filter.deployment, date));
      for (const auto& s : segments) {
        if (s.first_ts >= to || s.first_ts < from - kSegmentMarginMs) continue;
        CAIRN_ASSIGN_OR_RETURN(std::string bytes, ReadSegment(loc, s));
        CAIRN_RETURN_IF_ERROR(AppendLoggedRows(bytes, filter, rows));
      }
    }
    return rows;
  }

  // Timestamps of the logged rows in [from, to) (for row-count windows).
  Result<std::vector<int64_t>> RowTimestamps(const Context& ctx, int64_t from, int64_t to) {
    CAIRN_ASSIGN_OR_RETURN(LoggedRows rows, ReadLog(ctx, from, to));
    std::vector<int64_t> ts = std::move(rows.ts_millis);
    std::sort(ts.begin(), ts.end());
    return ts;
  }

  // The latest `n` rows before `to`: the start of the window holding them
  // (nullopt when the log has none).
  Result<std::optional<int64_t>> LastRowsStart(const Context& ctx, int64_t n, int64_t to) {
    CAIRN_ASSIGN_OR_RETURN(LogLocation loc, ResolveLog(ctx.spec));
    const std::string dep = ctx.spec.deployment.empty() ? ctx.spec.model : ctx.spec.deployment;
    CAIRN_ASSIGN_OR_RETURN(auto dates, ListDates(loc, dep));
    std::vector<int64_t> ts;
    // Day by day backwards until n rows are seen (each step reads from the
    // day's start to `to`, so segments crossing midnight are counted once).
    for (auto it = dates.rbegin(); it != dates.rend(); ++it) {
      if (*it > DateOf(to - 1)) continue;
      int year = 0, month = 0, day = 0;
      if (std::sscanf(it->c_str(), "%d-%d-%d", &year, &month, &day) != 3) continue;
      std::tm tm{};
      tm.tm_year = year - 1900;
      tm.tm_mon = month - 1;
      tm.tm_mday = day;
      int64_t day_start = static_cast<int64_t>(timegm(&tm)) * 1000;
      CAIRN_ASSIGN_OR_RETURN(ts, RowTimestamps(ctx, day_start, to));
      if (static_cast<int64_t>(ts.size()) >= n) break;
    }
    if (ts.empty()) return std::optional<int64_t>();
    std::sort(ts.begin(), ts.end(), std::greater<>());
    size_t index = std::min<size_t>(ts.size(), static_cast<size_t>(n)) - 1;
    return std::optional<int64_t>(ts[index]);
  }

  // ------------------------------------------------------------- computing
  // The report of one window over `logged` (or a batch table when
  // `batch` is set), with results, predictions and rule evaluations.
  Result<ComputedWindow> Compute(const Context& ctx, const store::MonitorWindow& window,
                                 const LoggedRows* logged, const Table* batch) {
    ComputedWindow out;
    const Table& reference = *ctx.reference;
    const std::string& pred_name = ctx.spec.prediction_column;
    Table current = batch != nullptr ? *batch : logged->features;
    // The logged prediction column: the spec's name, else "prediction".
    const Column* logged_prediction = nullptr;
    if (logged != nullptr) {
      logged_prediction = logged->predictions.Find(pred_name);
      if (logged_prediction == nullptr) logged_prediction = logged->predictions.Find("prediction");
      if (logged_prediction == nullptr && !logged->predictions.columns.empty()) {
        logged_prediction = &logged->predictions.columns.front();
      }
      if (logged_prediction != nullptr && reference.Find(pred_name) != nullptr &&
          current.Find(pred_name) == nullptr && logged_prediction->size() == current.rows) {
        Column c = *logged_prediction;
        c.name = pred_name;
        current.columns.push_back(std::move(c));
      }
    }
    out.rows = current.rows;

    JsonWriter w;
    w.BeginObject();
    w.Key("window").BeginObject();
    w.Field("start", window.start_ms);
    w.Field("end", window.end_ms);
    w.Key("manual").Bool(window.manual);
    if (batch != nullptr) w.Key("batch").Bool(true);
    w.EndObject();
    w.Field("rows", out.rows);
    w.Field("requests", logged != nullptr ? logged->requests : 0);
    w.Field("skipped_records", logged != nullptr ? logged->skipped_records : 0);
    w.Field("malformed_lines", logged != nullptr ? logged->malformed_lines : 0);

    if (out.rows == 0) {
      out.status = "empty";
      w.Key("drift").Null();
      w.Key("quality").Null();
      w.Key("performance").Null();
      w.Key("rules").BeginArray().EndArray();
      w.EndObject();
      out.report_json = w.Take();
      out.results.push_back(MakeResult(window, "", "rows", 0));
      return out;
    }
    out.status = "done";

    // Drift: the compared columns present in this window, plus the prediction.
    DriftOptions drift = ctx.parsed.drift;
    drift.columns.clear();
    for (const auto& c : ComparedColumns(ctx.spec, reference, ctx.schema)) {
      if (current.Find(c) != nullptr && reference.Find(c) != nullptr) drift.columns.push_back(c);
    }
    if (reference.Find(pred_name) != nullptr && current.Find(pred_name) != nullptr &&
        std::find(drift.columns.begin(), drift.columns.end(), pred_name) == drift.columns.end()) {
      drift.columns.push_back(pred_name);
    }
    DriftReport drift_report;
    if (!drift.columns.empty()) {
      CAIRN_ASSIGN_OR_RETURN(drift_report, ComputeDrift(reference, current, drift));
    } else {
      drift_report.reference_rows = reference.rows;
      drift_report.current_rows = current.rows;
      drift_report.drift_share_threshold = drift.drift_share;
    }
    QualityReport quality = ComputeQuality(reference, current, ctx.schema.names);

    for (const auto& c : drift_report.columns) {
      if (c.tested) out.results.push_back(MakeResult(window, c.column, "drift_score", c.score));
      out.results.push_back(MakeResult(window, c.column, "drifted", c.drifted ? 1 : 0));
    }
    out.results.push_back(MakeResult(window, "", "drift_share", drift_report.drift_share));
    out.results.push_back(MakeResult(window, "", "drifted_columns",
                                     static_cast<double>(drift_report.drifted_columns)));
    out.results.push_back(
        MakeResult(window, "", "dataset_drift", drift_report.dataset_drift ? 1 : 0));
    const double rows = static_cast<double>(std::max<int64_t>(quality.rows, 1));
    for (const auto& q : quality.columns) {
      out.results.push_back(MakeResult(window, q.column, "missing_rate", q.missing / rows));
      out.results.push_back(
          MakeResult(window, q.column, "type_violations", static_cast<double>(q.type_violations)));
      out.results.push_back(
          MakeResult(window, q.column, "out_of_range_rate", q.out_of_range / rows));
      out.results.push_back(
          MakeResult(window, q.column, "new_category_rate", q.new_categories / rows));
      out.results.push_back(MakeResult(window, q.column, "constant", q.constant ? 1 : 0));
    }
    out.results.push_back(MakeResult(window, "", "rows", static_cast<double>(quality.rows)));
    out.results.push_back(MakeResult(window, "", "duplicate_rate", quality.duplicated_rows / rows));

    // Predictions kept for labels.
    if (logged != nullptr && logged_prediction != nullptr) {
      bool probability = IsProbability(*logged_prediction);
      const int64_t n = std::min<int64_t>(logged_prediction->size(),
                                          static_cast<int64_t>(logged->request_ids.size()));
      out.predictions.reserve(n);
      for (int64_t i = 0; i < n; ++i) {
        store::StoredPrediction p;
        p.request_id = logged->request_ids[i];
        p.row = logged->row_in_request[i];
        p.prediction = logged_prediction->Text(i);
        if (probability && !logged_prediction->IsMissing(i))
          p.score = logged_prediction->numbers[i];
        out.predictions.push_back(std::move(p));
      }
    }

    out.evals = EvaluateRules(ctx, out.results);
    w.Key("drift").Raw(DriftReportToJson(drift_report));
    w.Key("quality").Raw(QualityReportToJson(quality));
    w.Key("performance").Null();
    WriteRules(w, out.evals);
    w.EndObject();
    out.report_json = w.Take();
    return out;
  }

  static store::MonitorResult MakeResult(const store::MonitorWindow& w, std::string feature,
                                         std::string statistic, double value) {
    store::MonitorResult r;
    r.window_id = w.id;
    r.window_start = w.start_ms;
    r.window_end = w.end_ms;
    r.feature = std::move(feature);
    r.statistic = std::move(statistic);
    r.value = value;
    return r;
  }

  // A numeric prediction whose values are all in [0, 1], not all integers:
  // the positive class's probability.
  static bool IsProbability(const Column& c) {
    if (c.kind != ColumnKind::kNumeric) return false;
    bool fractional = false, any = false;
    for (double v : c.numbers) {
      if (std::isnan(v)) continue;
      any = true;
      if (v < 0 || v > 1) return false;
      if (v != std::floor(v)) fractional = true;
    }
    return any && fractional;
  }

  static void WriteRules(JsonWriter& w, const std::vector<RuleEval>& evals) {
    w.Key("rules").BeginArray();
    for (const auto& e : evals) {
      w.BeginObject();
      w.Field("rule", e.rule->text);
      w.Field("feature", e.feature);
      w.Key("value").Double(e.value);
      w.Key("holds").Bool(e.holds);
      w.EndObject();
    }
    w.EndArray();
  }

  // Every (rule, feature) with a value among `results`. NaN values are not
  // evaluated (nothing is known: no change).
  std::vector<RuleEval> EvaluateRules(const Context& ctx,
                                      const std::vector<store::MonitorResult>& results) {
    std::vector<RuleEval> out;
    for (const auto& rule : ctx.parsed.rules) {
      for (const auto& r : results) {
        if (r.statistic != rule.statistic || std::isnan(r.value)) continue;
        if (rule.feature == "*" ? r.feature.empty() : r.feature != rule.feature) continue;
        out.push_back({&rule, r.feature, r.value, rule.Holds(r.value)});
      }
    }
    return out;
  }

  // --------------------------------------------------------------- alerts
  std::string AlertPayload(const Context& ctx, bool fire, int64_t alert_id, const AlertRule& rule,
                           const std::string& feature, double value,
                           const store::MonitorWindow& window, int64_t fired_at, int64_t now) {
    JsonWriter w;
    w.BeginObject();
    w.Field("event", fire ? "monitor.alert.fired" : "monitor.alert.resolved");
    w.Field("monitor", ctx.monitor.name);
    w.Field("model", ctx.monitor.model_name);
    w.Field("alert_id", alert_id);
    w.Field("rule", rule.text);
    w.Field("feature", feature);
    w.Field("statistic", rule.statistic);
    w.Key("value").Double(value);
    w.Field("window_start", window.start_ms);
    w.Field("window_end", window.end_ms);
    w.Field("fired_at", fired_at);
    if (!fire) w.Field("resolved_at", now);
    w.EndObject();
    return w.Take();
  }

  // Values of `statistic` per (window id, feature) in the `count` latest
  // done scheduled windows before `start`, oldest first; fewer when there
  // are not that many.
  struct History {
    std::vector<int64_t> window_ids;  // newest first
    std::map<std::pair<int64_t, std::string>, double> values;
  };

  Result<History> LoadHistory(int64_t monitor_id, int64_t start, int count,
                              const std::string& statistic) {
    History h;
    if (count <= 0) return h;
    CAIRN_ASSIGN_OR_RETURN(
        auto windows, monitors.ListWindows(monitor_id, std::numeric_limits<int64_t>::min(), start,
                                           count * 4 + 50));
    int64_t oldest = start;
    for (const auto& w : windows) {
      if (w.manual || w.status != "done") continue;
      h.window_ids.push_back(w.id);
      oldest = std::min(oldest, w.start_ms);
      if (static_cast<int>(h.window_ids.size()) == count) break;
    }
    if (h.window_ids.empty()) return h;
    CAIRN_ASSIGN_OR_RETURN(auto results,
                           monitors.ListResults(monitor_id, "", statistic, oldest, start));
    for (const auto& r : results) h.values[{r.window_id, r.feature}] = r.value;
    return h;
  }

  // The incidents to open and resolve for a scheduled window's evaluations.
  Result<std::vector<store::AlertChange>> AlertChanges(const Context& ctx,
                                                       const store::MonitorWindow& window,
                                                       const std::vector<RuleEval>& evals) {
    std::vector<store::AlertChange> changes;
    if (evals.empty()) return changes;
    const int64_t now = clock.NowMillis();
    CAIRN_ASSIGN_OR_RETURN(auto open, monitors.ListAlerts(ctx.monitor.id, "firing", 100000));
    std::map<std::pair<std::string, std::string>, store::MonitorAlert> open_by_key;
    for (auto& a : open) open_by_key[{a.rule, a.feature}] = a;
    std::map<std::string, History> histories;  // by rule text
    for (const auto& e : evals) {
      auto it = open_by_key.find({e.rule->text, e.feature});
      if (!e.holds) {
        if (it == open_by_key.end()) continue;
        store::AlertChange c;
        c.kind = store::AlertChange::Kind::kResolve;
        c.alert_id = it->second.id;
        c.rule = e.rule->text;
        c.feature = e.feature;
        c.statistic = e.rule->statistic;
        c.value = e.value;
        c.payload_json = AlertPayload(ctx, false, it->second.id, *e.rule, e.feature, e.value,
                                      window, it->second.fired_at, now);
        changes.push_back(std::move(c));
        continue;
      }
      if (it != open_by_key.end()) continue;  // already firing: one alert per incident
      if (e.rule->windows > 1) {
        if (!histories.contains(e.rule->text)) {
          CAIRN_ASSIGN_OR_RETURN(
              histories[e.rule->text],
              LoadHistory(ctx.monitor.id, window.start_ms, e.rule->windows - 1, e.rule->statistic));
        }
        const History& h = histories[e.rule->text];
        if (static_cast<int>(h.window_ids.size()) < e.rule->windows - 1) continue;
        bool all = true;
        for (int64_t id : h.window_ids) {
          auto v = h.values.find({id, e.feature});
          if (v == h.values.end() || !e.rule->Holds(v->second)) {
            all = false;
            break;
          }
        }
        if (!all) continue;
      }
      store::AlertChange c;
      c.kind = store::AlertChange::Kind::kFire;
      c.rule = e.rule->text;
      c.feature = e.feature;
      c.statistic = e.rule->statistic;
      c.value = e.value;
      c.payload_json = AlertPayload(ctx, true, 0, *e.rule, e.feature, e.value, window, now, now);
      changes.push_back(std::move(c));
    }
    return changes;
  }

  // ---------------------------------------------------------- performance
  // Performance of a stored window from the labels joined so far; nullopt
  // when none.
  Result<std::optional<std::pair<PerformanceReport, std::vector<store::MonitorResult>>>>
  ComputeWindowPerformance(const Context& ctx, const store::MonitorWindow& window) {
    using Out = std::optional<std::pair<PerformanceReport, std::vector<store::MonitorResult>>>;
    CAIRN_ASSIGN_OR_RETURN(auto joined,
                           monitors.LabeledPredictions(window.id, ctx.monitor.model_name));
    if (joined.empty()) return Out();
    std::vector<std::string> labels, predictions;
    std::vector<double> scores;
    bool all_scored = true;
    for (const auto& j : joined) {
      labels.push_back(j.label);
      predictions.push_back(j.prediction.prediction);
      if (j.prediction.score) {
        scores.push_back(*j.prediction.score);
      } else {
        all_scored = false;
      }
    }
    const PerformanceOptions& po = ctx.parsed.performance;
    if (!all_scored) scores.clear();
    if (!scores.empty() && po.task != Task::kRegression) {
      // A probability of the positive class: the predicted class is the
      // positive one from 0.5 up, else the other class the labels show.
      std::string negative = "0";
      for (const auto& l : labels) {
        if (l != po.positive_label) {
          negative = l;
          break;
        }
      }
      for (size_t i = 0; i < predictions.size(); ++i) {
        predictions[i] = scores[i] >= 0.5 ? po.positive_label : negative;
      }
    }
    CAIRN_ASSIGN_OR_RETURN(PerformanceReport report,
                           ComputePerformance(labels, predictions, scores, po));
    std::vector<store::MonitorResult> results;
    results.push_back(MakeResult(window, "", "labeled_rows", static_cast<double>(report.rows)));
    if (report.classification) {
      const auto& c = *report.classification;
      results.push_back(MakeResult(window, "", "accuracy", c.accuracy));
      results.push_back(MakeResult(window, "", "precision", c.precision));
      results.push_back(MakeResult(window, "", "recall", c.recall));
      results.push_back(MakeResult(window, "", "f1", c.f1));
      results.push_back(MakeResult(window, "", "roc_auc", c.roc_auc));
      results.push_back(MakeResult(window, "", "log_loss", c.log_loss));
    }
    if (report.regression) {
      const auto& r = *report.regression;
      results.push_back(MakeResult(window, "", "mae", r.mae));
      results.push_back(MakeResult(window, "", "rmse", r.rmse));
      results.push_back(MakeResult(window, "", "r2", r.r2));
    }
    return Out(std::make_pair(std::move(report), std::move(results)));
  }

  // Recomputes a done window's performance from the labels joined so far
  // and stores it (with alert changes for performance rules when
  // `alerts`). Returns false when there are no labels for it.
  Result<bool> RefreshPerformance(const Context& ctx, const store::MonitorWindow& window,
                                  bool alerts) {
    CAIRN_ASSIGN_OR_RETURN(auto perf, ComputeWindowPerformance(ctx, window));
    std::vector<store::MonitorResult> results;
    if (perf) results = std::move(perf->second);
    std::vector<store::AlertChange> changes;
    if (alerts && !results.empty()) {
      std::vector<RuleEval> evals;
      for (auto& e : EvaluateRules(ctx, results)) {
        if (IsPerformanceStatistic(e.rule->statistic)) evals.push_back(std::move(e));
      }
      CAIRN_ASSIGN_OR_RETURN(changes, AlertChanges(ctx, window, evals));
    }
    // The report shows the performance too (its "performance" member).
    std::string report;
    if (perf) {
      report = WithPerformance(window.report_json, PerformanceReportToJson(perf->first));
      if (report.empty()) {
        CAIRN_LOG_WARN("monitor {}: the report of window [{}, {}) is not a JSON object; its "
                       "performance is stored in the results only",
                       window.monitor_id, window.start_ms, window.end_ms);
      }
    }
    // window.perf_dirty_seq was read before the labels: labels logged since
    // leave the window dirty for the next recomputation.
    CAIRN_RETURN_IF_ERROR(monitors.UpdateWindowPerformance(
        window.id, results, changes, clock.NowMillis(), window.perf_dirty_seq, report));
    if (!changes.empty()) AlertChangesCommitted();
    return perf.has_value();
  }

  void AlertChangesCommitted() {
    if (options.on_alert_changes) options.on_alert_changes();
  }

  // ------------------------------------------------------ window lifecycle
  // Processes a claimed window and completes it (failed with the error when
  // anything goes wrong). `ctx` is the tick's context or the error loading it.
  Result<WindowOutcome> ProcessClaimed(const Result<Context>& ctx, store::MonitorWindow window,
                                       const std::optional<std::string>& batch_csv) {
    WindowOutcome outcome;
    auto computed = [&]() -> Result<ComputedWindow> {
      if (!ctx) return std::unexpected(ctx.error());
      if (batch_csv) {
        ReadOptions o;
        o.threads = options.threads;
        o.source_name = "current batch";
        for (const auto& c : ctx->reference->columns) o.kinds[c.name] = c.kind;
        CAIRN_ASSIGN_OR_RETURN(Table batch, ParseCsv(*batch_csv, o));
        return Compute(*ctx, window, nullptr, &batch);
      }
      CAIRN_ASSIGN_OR_RETURN(LoggedRows logged, ReadLog(*ctx, window.start_ms, window.end_ms));
      return Compute(*ctx, window, &logged, nullptr);
    }();

    store::WindowCompletion c;
    c.window_id = window.id;
    if (computed) {
      c.status = computed->status;
      c.rows = computed->rows;
      c.report_json = std::move(computed->report_json);
      c.results = std::move(computed->results);
      c.predictions = std::move(computed->predictions);
      if (!window.manual && computed->status == "done") {
        auto changes = AlertChanges(*ctx, window, computed->evals);
        if (!changes) {
          computed = std::unexpected(changes.error());
        } else {
          c.alerts = std::move(*changes);
        }
      }
    }
    if (!computed) {
      const Error& e = computed.error();
      CAIRN_LOG_WARN("monitor {}: window [{}, {}) failed: {}", window.monitor_id, window.start_ms,
                     window.end_ms, e.message());
      c = store::WindowCompletion{};
      c.window_id = window.id;
      c.status = "failed";
      c.error = e.message();
      JsonWriter w;
      w.BeginObject();
      w.Key("window").BeginObject();
      w.Field("start", window.start_ms);
      w.Field("end", window.end_ms);
      w.Key("manual").Bool(window.manual);
      w.EndObject();
      w.Field("error", e.message());
      w.EndObject();
      c.report_json = w.Take();
    }
    c.finished_at = clock.NowMillis();
    CAIRN_RETURN_IF_ERROR(monitors.CompleteWindow(c));
    outcome.alert_changes = c.alerts;
    if (!c.alerts.empty()) AlertChangesCommitted();

    // Labels logged before this window was processed join now (the store
    // marked it dirty; the stored row carries the mark's sequence and the
    // report the performance goes into).
    if (c.status == "done" && !c.predictions.empty() && ctx) {
      CAIRN_ASSIGN_OR_RETURN(store::MonitorWindow stored, monitors.GetWindow(window.id));
      if (stored.perf_dirty) {
        auto refreshed = RefreshPerformance(*ctx, stored, !window.manual);
        if (!refreshed) {
          CAIRN_LOG_WARN("monitor {}: performance of window [{}, {}): {}", window.monitor_id,
                         window.start_ms, window.end_ms, refreshed.error().message());
        }
      }
    }
    CAIRN_ASSIGN_OR_RETURN(outcome.window, monitors.GetWindow(window.id));
    return outcome;
  }

  Result<std::optional<WindowOutcome>> ClaimAndProcess(const store::Monitor& m,
                                                       const Result<Context>& ctx, int64_t start,
                                                       int64_t end, bool manual,
                                                       const std::optional<std::string>& batch) {
    const int64_t now = clock.NowMillis();
    CAIRN_ASSIGN_OR_RETURN(auto id, monitors.ClaimWindow(m.id, start, end, manual, options.owner,
                                                         now, options.lease_ms));
    if (!id) return std::optional<WindowOutcome>();
    store::MonitorWindow w;
    w.id = *id;
    w.monitor_id = m.id;
    w.start_ms = start;
    w.end_ms = end;
    w.manual = manual;
    w.status = "running";
    w.owner = options.owner;
    w.claimed_at = now;
    auto outcome = ProcessClaimed(ctx, w, batch);
    if (!outcome) {
      if (outcome.error().code() == ErrorCode::kFailedPrecondition) {
        // Someone took the claim over and completed it.
        return std::optional<WindowOutcome>();
      }
      return std::unexpected(outcome.error());
    }
    return std::optional<WindowOutcome>(std::move(*outcome));
  }

  // ------------------------------------------------------------- the tick
  // Processes the due windows of one monitor; returns how many.
  Result<int> RunMonitorDue(const store::Monitor& m, int64_t now) {
    auto spec = MonitorSpecFromJson(m.spec_json);
    if (!spec) return Internal("stored monitor spec is unreadable: " + spec.error().message());
    CAIRN_ASSIGN_OR_RETURN(ParsedSpec parsed, ParseSpec(*spec));
    if (!parsed.schedule) return 0;
    const int64_t next =
        parsed.schedule->Next(m.last_fired_at != 0 ? m.last_fired_at : m.created_at);
    if (next > now) return 0;
    CAIRN_ASSIGN_OR_RETURN(bool fired, monitors.MarkFired(m.id, m.last_fired_at, now));
    if (!fired) return 0;  // another replica fired this tick

    Result<Context> ctx = LoadContext(m);
    int processed = 0;
    CAIRN_ASSIGN_OR_RETURN(auto last, monitors.LastScheduledWindow(m.id));
    // A claim whose owner died is taken over after the lease.
    if (last && last->status == "running") {
      CAIRN_ASSIGN_OR_RETURN(
          auto o, ClaimAndProcess(m, ctx, last->start_ms, last->end_ms, false, std::nullopt));
      if (o) ++processed;
    }
    const int max = options.max_windows_per_tick;
    if (parsed.window.ms > 0) {
      const int64_t w = parsed.window.ms;
      int64_t start = last ? last->end_ms : FloorDiv(m.created_at, w) * w;
      while (processed < max && now >= start + w + parsed.grace_ms) {
        CAIRN_ASSIGN_OR_RETURN(auto o,
                               ClaimAndProcess(m, ctx, start, start + w, false, std::nullopt));
        if (o) ++processed;
        start += w;
      }
    } else if (ctx) {
      // Row-count windows: consecutive chunks of N rows logged before
      // now - grace, after the last window's end.
      // A window ends after its N-th row; rows sharing that row's
      // timestamp go with it (so a window may hold a few more than N).
      int64_t start = last ? last->end_ms : m.created_at;
      const int64_t horizon = now - parsed.grace_ms;
      if (start < horizon) {
        auto ts = RowTimestamps(*ctx, start, horizon);
        if (!ts) return std::unexpected(ts.error());
        size_t first = 0;
        const size_t n = static_cast<size_t>(parsed.window.rows);
        while (processed < max && ts->size() - first >= n) {
          const int64_t end = (*ts)[first + n - 1] + 1;
          CAIRN_ASSIGN_OR_RETURN(auto o, ClaimAndProcess(m, ctx, start, end, false, std::nullopt));
          if (o) ++processed;
          first = std::upper_bound(ts->begin(), ts->end(), end - 1) - ts->begin();
          start = end;
        }
      }
    }
    if (ctx) {
      CAIRN_ASSIGN_OR_RETURN(auto dirty, monitors.DirtyWindows(m.id, max));
      for (const auto& w : dirty) {
        auto refreshed = RefreshPerformance(*ctx, w, !w.manual);
        if (!refreshed) {
          CAIRN_LOG_WARN("monitor {}: performance of window [{}, {}): {}", m.name, w.start_ms,
                         w.end_ms, refreshed.error().message());
        }
      }
    } else {
      CAIRN_LOG_WARN("monitor {}: {}", m.name, ctx.error().message());
    }
    return processed;
  }

  // ---------------------------------------------------------------- create
  Result<MonitorInfo> Create(MonitorSpec spec) {
    if (!ValidMonitorName(spec.name)) {
      return SpecError("name",
                       fmt::format("'{}' must be 1-256 characters of letters, digits, '.', '_' "
                                   "and '-'",
                                   spec.name));
    }
    if (spec.model.empty()) return SpecError("model", "is required");
    auto schema = LoadModelSchema(spec.model);
    if (!schema) {
      if (schema.error().code() == ErrorCode::kNotFound) {
        return SpecError("model", schema.error().message());
      }
      return std::unexpected(schema.error());
    }
    if (spec.deployment.empty()) spec.deployment = spec.model;
    if (spec.log_uri.empty()) spec.log_uri = kDefaultLogUri;
    if (spec.prediction_column.empty()) spec.prediction_column = "prediction";
    if (spec.task.empty()) spec.task = "auto";
    if (spec.alerts.empty()) spec.alerts = {"drifted[*] >= 1"};
    CAIRN_ASSIGN_OR_RETURN(ParsedSpec parsed, ParseSpec(spec));
    // Rules written as normalized text, so incidents key on one spelling.
    spec.alerts.clear();
    for (const auto& r : parsed.rules) spec.alerts.push_back(r.text);
    {
      std::string scheme = SchemeOf(spec.log_uri);
      if (!scheme.empty() && scheme != "file" && scheme != "mlflow-artifacts") {
        return SpecError("log_uri", fmt::format("'{}': use mlflow-artifacts:/<path>, file:// or "
                                                "a local folder",
                                                spec.log_uri));
      }
      if (scheme != "mlflow-artifacts") {
        auto folder = LocalPathFromUri(spec.log_uri);
        if (!folder) return SpecError("log_uri", folder.error().message());
        // The deployment's folder too: its name is a path segment.
        auto checked = CheckLocalPath("log_uri", spec.log_uri, *folder);
        if (checked) {
          checked = CheckLocalPath("log_uri", spec.log_uri,
                                   (fs::path(*folder) / spec.deployment).string());
        }
        if (!checked) return SpecError("log_uri", checked.error().message());
      }
    }
    if (!spec.alert_webhook.empty() && !spec.alert_webhook.starts_with("http://") &&
        !spec.alert_webhook.starts_with("https://")) {
      return SpecError("alert_webhook",
                       fmt::format("'{}' must be an http:// or https:// URL", spec.alert_webhook));
    }
    if (spec.reference.empty()) {
      if (schema->latest) {
        for (const auto& t : schema->latest->tags) {
          if (t.key == kReferenceTag) spec.reference = t.value;
        }
      }
      if (spec.reference.empty()) {
        return SpecError("reference",
                         fmt::format("is required: model '{}' has no version with tag {}",
                                     spec.model, kReferenceTag));
      }
    }
    auto reference = LoadReference(spec.reference, *schema);
    if (!reference) {
      return SpecError("reference", reference.error().message());
    }
    for (const auto& c : spec.columns) {
      if (reference->Find(c) == nullptr) {
        return SpecError("columns", fmt::format("column '{}' is not in the reference", c));
      }
    }
    // Every column the monitor compares must be an input of the model: the
    // spec's columns, or the whole reference but its prediction column.
    std::vector<std::string> compared = spec.columns;
    if (compared.empty()) {
      for (const auto& c : reference->columns) {
        if (c.name != spec.prediction_column) compared.push_back(c.name);
      }
    }
    for (const auto& c : compared) {
      if (schema->has_signature && !schema->Has(c)) {
        return SpecError("reference",
                         fmt::format("column '{}' is not an input of model '{}' (its signature "
                                     "has: {})",
                                     c, spec.model, fmt::join(schema->names, ", ")));
      }
    }
    for (const auto& [column, test] : spec.tests) {
      if (reference->Find(column) == nullptr) {
        return SpecError("tests", fmt::format("column '{}' is not in the reference", column));
      }
    }
    for (const auto& [column, threshold] : spec.thresholds) {
      if (reference->Find(column) == nullptr) {
        return SpecError("thresholds", fmt::format("column '{}' is not in the reference", column));
      }
    }

    const int64_t now = clock.NowMillis();
    store::Monitor m;
    m.name = spec.name;
    m.model_name = spec.model;
    m.spec_json = MonitorSpecToJson(spec);
    m.active = true;
    m.created_at = now;
    m.updated_at = now;
    std::optional<store::Webhook> webhook;
    if (!spec.alert_webhook.empty()) {
      store::Webhook h;
      h.model_name = spec.model;
      h.url = spec.alert_webhook;
      h.events = {"monitor.alert.fired", "monitor.alert.resolved"};
      h.secret = spec.alert_secret;
      h.active = true;
      h.creation_time = now;
      webhook = std::move(h);
    }
    CAIRN_ASSIGN_OR_RETURN(store::Monitor stored, monitors.CreateMonitor(m, webhook));
    {
      std::lock_guard lock(cache_mu);
      reference_cache[stored.id] =
          LoadedReference{stored.updated_at, std::make_shared<const Table>(std::move(*reference))};
    }
    spec.alert_secret.clear();
    return MonitorInfo{std::move(stored), std::move(spec)};
  }

  Result<MonitorInfo> Info(store::Monitor m) {
    auto spec = MonitorSpecFromJson(m.spec_json);
    if (!spec) return Internal("stored monitor spec is unreadable: " + spec.error().message());
    return MonitorInfo{std::move(m), std::move(*spec)};
  }
};

MonitorService::MonitorService(store::MetadataStore& store, store::MonitorStore& monitors,
                               blob::ArtifactRepository* artifacts, const Clock& clock,
                               MonitorServiceOptions options)
    : monitors_(monitors),
      impl_(std::make_unique<Impl>(store, monitors, artifacts, clock, std::move(options))) {}

MonitorService::~MonitorService() = default;

Result<MonitorInfo> MonitorService::Create(const MonitorSpec& spec) { return impl_->Create(spec); }

Result<MonitorInfo> MonitorService::Get(const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(store::Monitor m, monitors_.GetMonitor(name));
  return impl_->Info(std::move(m));
}

Result<std::vector<MonitorInfo>> MonitorService::List() {
  CAIRN_ASSIGN_OR_RETURN(auto all, monitors_.ListMonitors());
  std::vector<MonitorInfo> out;
  for (auto& m : all) {
    CAIRN_ASSIGN_OR_RETURN(MonitorInfo info, impl_->Info(std::move(m)));
    out.push_back(std::move(info));
  }
  return out;
}

Status MonitorService::Delete(const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(store::Monitor m, monitors_.GetMonitor(name));
  CAIRN_RETURN_IF_ERROR(monitors_.DeleteMonitor(name));
  std::lock_guard lock(impl_->cache_mu);
  impl_->reference_cache.erase(m.id);
  return {};
}

Result<WindowOutcome> MonitorService::RunNow(const std::string& name,
                                             std::optional<std::string> current_csv) {
  CAIRN_ASSIGN_OR_RETURN(store::Monitor m, monitors_.GetMonitor(name));
  Result<Impl::Context> ctx = impl_->LoadContext(m);
  const int64_t now = impl_->clock.NowMillis();
  int64_t start = now, end = now;
  if (!current_csv && ctx) {
    if (ctx->parsed.window.ms > 0) {
      start = now - ctx->parsed.window.ms;
    } else {
      CAIRN_ASSIGN_OR_RETURN(auto first, impl_->LastRowsStart(*ctx, ctx->parsed.window.rows, now));
      start = first.value_or(now);
    }
  }
  // A manual-only monitor's windows get their labels joined here (a
  // scheduled monitor's on its ticks); manual windows never change alerts.
  if (ctx && !ctx->parsed.schedule) {
    CAIRN_ASSIGN_OR_RETURN(auto dirty,
                           monitors_.DirtyWindows(m.id, impl_->options.max_windows_per_tick));
    for (const auto& w : dirty) CAIRN_RETURN_IF_ERROR(impl_->RefreshPerformance(*ctx, w, false));
  }
  CAIRN_ASSIGN_OR_RETURN(auto outcome,
                         impl_->ClaimAndProcess(m, ctx, start, end, true, current_csv));
  if (!outcome)
    return Internal(fmt::format("monitor '{}': the manual window was taken over", name));
  return std::move(*outcome);
}

Result<int> MonitorService::RunDue() {
  const int64_t now = impl_->clock.NowMillis();
  CAIRN_ASSIGN_OR_RETURN(auto all, monitors_.ListMonitors());
  int processed = 0;
  for (const auto& m : all) {
    if (!m.active) continue;
    auto n = impl_->RunMonitorDue(m, now);
    if (!n) {
      CAIRN_LOG_WARN("monitor {}: scheduled run failed: {}", m.name, n.error().message());
      continue;
    }
    processed += *n;
  }
  return processed;
}

Result<LabelsOutcome> MonitorService::LogLabels(const std::string& model,
                                                const std::vector<store::Label>& labels) {
  if (model.empty()) return InvalidArgument("labels: the model name is required");
  CAIRN_RETURN_IF_ERROR(impl_->store.registry().GetRegisteredModel(model));
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i].request_id.empty()) {
      return InvalidArgument(fmt::format("labels[{}]: 'request_id' is empty", i));
    }
    if (labels[i].row < 0) return InvalidArgument(fmt::format("labels[{}]: 'row' is negative", i));
  }
  LabelsOutcome out;
  if (labels.empty()) return out;
  CAIRN_ASSIGN_OR_RETURN(out.unknown_request_ids,
                         monitors_.LogLabels(model, labels, impl_->clock.NowMillis()));
  out.logged = static_cast<int64_t>(labels.size());
  return out;
}

Result<std::vector<store::Label>> MonitorService::ParseLabelsCsv(std::string_view csv) {
  ReadOptions o;
  o.source_name = "labels";
  o.threads = 1;
  for (const char* c : {"request_id", "label", "row"}) o.kinds[c] = ColumnKind::kCategorical;
  CAIRN_ASSIGN_OR_RETURN(Table t, ParseCsv(csv, o));
  const Column* ids = t.Find("request_id");
  const Column* labels = t.Find("label");
  const Column* rows = t.Find("row");
  if (ids == nullptr || labels == nullptr) {
    return InvalidArgument(fmt::format(
        "labels CSV: the header must have columns request_id and label (and optionally row); "
        "it has: {}",
        fmt::join(t.Names(), ", ")));
  }
  std::vector<store::Label> out;
  out.reserve(t.rows);
  for (int64_t i = 0; i < t.rows; ++i) {
    const int64_t line = i + 2;  // the header is line 1
    store::Label l;
    l.request_id = ids->Text(i);
    l.label = labels->Text(i);
    if (l.request_id.empty()) {
      return InvalidArgument(fmt::format("labels CSV line {}: request_id is empty", line));
    }
    if (labels->IsMissing(i)) {
      return InvalidArgument(fmt::format("labels CSV line {}: label is empty", line));
    }
    if (rows != nullptr && !rows->IsMissing(i)) {
      std::string text = rows->Text(i);
      int32_t row = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), row);
      if (ec != std::errc() || ptr != text.data() + text.size() || row < 0) {
        return InvalidArgument(
            fmt::format("labels CSV line {}: row '{}' is not a non-negative integer", line, text));
      }
      l.row = row;
    }
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace cairn::monitor
