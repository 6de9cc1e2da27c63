#include "tracking/validation.h"

#include <charconv>
#include <cmath>
#include <set>

#include "core/json_writer.h"

namespace cairn::tracking {
namespace {

std::string JoinPath(std::string_view prefix, std::string_view field) {
  if (prefix.empty()) return std::string(field);
  return std::string(prefix) + "." + std::string(field);
}

bool IsNameChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ' ' || c == ':' || c == '/' ||
         c >= 0x80;  // non-ASCII: Python's \w accepts Unicode word characters
}

constexpr std::string_view kBadCharacters =
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), "
    "spaces ( ), colon(:) and slashes (/).";

}  // namespace

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

Status CheckLength(std::string_view what, size_t limit, std::string_view value) {
  if (CodePoints(value) <= limit) return {};
  return InvalidArgument("'" + std::string(what) + "' exceeds the maximum length of " +
                         std::to_string(limit) + " characters");
}

std::string PythonStrRepr(std::string_view s) {
  char q = (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos) ? '"'
                                                                                             : '\'';
  std::string out(1, q);
  for (char c : s) {
    if (c == q || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back(q);
  return out;
}

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  AppendJsonEscaped(out, s);
  out.push_back('"');
  return out;
}

std::string PythonFloatRepr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, p);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string InvalidValueMessage(std::string_view path, std::string_view value_json,
                                std::string_view detail) {
  std::string m = "Invalid value ";
  m += value_json;
  m += " for parameter '";
  m += path;
  m += "' supplied";
  if (detail.empty()) {
    m += ".";
  } else {
    m += ": ";
    m += detail;
  }
  return m;
}

Error MissingRequired(std::string_view path) {
  return Error(ErrorCode::kInvalidArgument, "Missing value for required parameter '" +
                                                std::string(path) + "'." +
                                                std::string(kApiDocsHint));
}

Error WrongType(std::string_view path, std::string_view value_json, std::string_view python_type) {
  return Error(ErrorCode::kInvalidArgument,
               InvalidValueMessage(path, value_json,
                                   " Hint: Value was of type '" + std::string(python_type) + "'.") +
                   std::string(kApiDocsHint));
}

std::string NormalizePosixPath(std::string_view path) {
  if (path.empty()) return ".";
  size_t initial = 0;
  while (initial < path.size() && path[initial] == '/') ++initial;
  // POSIX allows one or two leading slashes to differ; three or more mean one.
  if (initial > 2) initial = 1;
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view comp = path.substr(i, j - i);
    i = j + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (initial == 0) {
        parts.push_back(comp);
      }
      continue;
    }
    parts.push_back(comp);
  }
  std::string out(initial, '/');
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out.push_back('/');
    out.append(parts[k]);
  }
  return out.empty() ? "." : out;
}

Status ValidateKeyName(std::string_view name, std::string_view path) {
  for (char c : name) {
    if (!IsNameChar(static_cast<unsigned char>(c))) {
      return InvalidArgument(InvalidValueMessage(path, JsonQuote(name), kBadCharacters));
    }
  }
  std::string norm = NormalizePosixPath(name);
  if (norm != name || norm == "." || norm.starts_with("..") || norm.starts_with("/")) {
    return InvalidArgument(InvalidValueMessage(
        path, JsonQuote(name),
        "Names may be treated as files in certain cases, and must not resolve to other names "
        "when treated as such. This name would resolve to " +
            PythonStrRepr(norm)));
  }
  return {};
}

Status ValidateRunId(std::string_view run_id, std::string_view path) {
  if (run_id.empty()) return std::unexpected(MissingRequired(path));
  bool ok = run_id.size() <= 256;
  for (size_t i = 0; ok && i < run_id.size(); ++i) {
    char c = run_id[i];
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    ok = alnum || (i > 0 && (c == '_' || c == '-'));
  }
  if (!ok) return InvalidArgument(InvalidValueMessage(path, JsonQuote(run_id)));
  return {};
}

Status ValidateExperimentName(std::string_view name) {
  if (name.empty()) return std::unexpected(MissingRequired("name"));
  return CheckLength("name", kMaxExperimentNameLength, name);
}

Status ValidateMetric(const store::Metric& m, std::string_view path) {
  CAIRN_RETURN_IF_ERROR(ValidateKeyName(m.key, JoinPath(path, "name")));
  if (m.timestamp < 0) {
    return InvalidArgument(
        InvalidValueMessage(JoinPath(path, "timestamp"), std::to_string(m.timestamp),
                            "metric '" + m.key + "' (value=" + PythonFloatRepr(m.value) +
                                "). Timestamp must be a nonnegative long (64-bit integer) "));
  }
  return CheckLength("Metric name", kMaxEntityKeyLength, m.key);
}

Status ValidateParam(const store::Param& p, std::string_view path) {
  CAIRN_RETURN_IF_ERROR(ValidateKeyName(p.key, JoinPath(path, "key")));
  CAIRN_RETURN_IF_ERROR(CheckLength("Param key", kMaxEntityKeyLength, p.key));
  return CheckLength("Param value", kMaxParamValueLength, p.value);
}

Status ValidateRunTag(const store::Tag& t, std::string_view path) {
  std::string key_path = JoinPath(path, "key");
  CAIRN_RETURN_IF_ERROR(ValidateKeyName(t.key, key_path));
  CAIRN_RETURN_IF_ERROR(CheckLength(key_path, kMaxEntityKeyLength, t.key));
  return CheckLength(JoinPath(path, "value"), kMaxTagValueLength, t.value);
}

Status ValidateExperimentTag(const store::Tag& t) {
  CAIRN_RETURN_IF_ERROR(ValidateKeyName(t.key, "key"));
  CAIRN_RETURN_IF_ERROR(CheckLength("key", kMaxExperimentTagKeyLength, t.key));
  return CheckLength("value", kMaxExperimentTagValueLength, t.value);
}

Status ValidateDatasetInput(const store::DatasetInput& input) {
  const store::Dataset& d = input.dataset;
  if (d.name.empty()) return InvalidArgument("Dataset name cannot be empty");
  if (d.digest.empty()) return InvalidArgument("Dataset digest cannot be empty");
  CAIRN_RETURN_IF_ERROR(CheckLength("name", kMaxDatasetNameLength, d.name));
  CAIRN_RETURN_IF_ERROR(CheckLength("digest", kMaxDatasetDigestLength, d.digest));
  CAIRN_RETURN_IF_ERROR(CheckLength("source", kMaxDatasetSourceLength, d.source));
  CAIRN_RETURN_IF_ERROR(CheckLength("schema", kMaxDatasetSchemaLength, d.schema));
  CAIRN_RETURN_IF_ERROR(CheckLength("profile", kMaxDatasetProfileLength, d.profile));
  for (const store::Tag& t : input.tags) {
    if (t.key.empty()) return InvalidArgument("InputTag key cannot be empty");
    CAIRN_RETURN_IF_ERROR(CheckLength("key", kMaxInputTagKeyLength, t.key));
    CAIRN_RETURN_IF_ERROR(CheckLength("value", kMaxInputTagValueLength, t.value));
  }
  return {};
}

namespace {
Status CheckBatchLimit(std::string_view what, size_t limit, size_t n) {
  if (n <= limit) return {};
  std::string w(what);
  return InvalidArgument("A batch logging request can contain at most " + std::to_string(limit) +
                         " " + w + ". Got " + std::to_string(n) + " " + w + ". Please split up " +
                         w + " across multiple requests and try again.");
}
}  // namespace

Status ValidateBatchLimits(size_t metrics, size_t params, size_t tags) {
  CAIRN_RETURN_IF_ERROR(CheckBatchLimit("metrics", kMaxMetricsPerBatch, metrics));
  CAIRN_RETURN_IF_ERROR(CheckBatchLimit("params", kMaxParamsTagsPerBatch, params));
  CAIRN_RETURN_IF_ERROR(CheckBatchLimit("tags", kMaxParamsTagsPerBatch, tags));
  return CheckBatchLimit("metrics, params, and tags", kMaxEntitiesPerBatch,
                         metrics + params + tags);
}

Status ValidateParamKeysUnique(const std::vector<store::Param>& params) {
  std::set<std::string_view> seen;
  std::vector<std::string_view> dupes;
  for (const store::Param& p : params) {
    if (!seen.insert(p.key).second) dupes.push_back(p.key);
  }
  if (dupes.empty()) return {};
  std::string list = "[";
  for (size_t i = 0; i < dupes.size(); ++i) {
    if (i > 0) list += ", ";
    list += PythonStrRepr(dupes[i]);
  }
  list += "]";
  return InvalidArgument("Duplicate parameter keys have been submitted: " + list +
                         ". Please ensure the request contains only one param value per "
                         "param key.");
}

bool IsValidRunStatus(std::string_view s) {
  return s == "RUNNING" || s == "SCHEDULED" || s == "FINISHED" || s == "FAILED" || s == "KILLED";
}

}  // namespace cairn::tracking
