// Deployment specs (YAML, flags, admin JSON), their validation, and the
// weighted traffic split. Validation is shared by every form: a Problem names
// the field path ("targets[1].weight"), and each caller adds its own context
// (the deployment; for YAML the file and the line of that field).

#include "serve/deployment.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <utility>

namespace cairn::serve {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kMaxWeight = 1'000'000;
constexpr size_t kMaxNameLength = 256;

// A validation failure: the field it is about and the whole sentence.
struct Problem {
  std::string path;     // "targets[1].weight", "name", "" (the deployment itself)
  std::string message;  // "targets[1].weight must be a non-negative integer"
};

std::string TargetPath(size_t i) { return "targets[" + std::to_string(i) + "]"; }

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::optional<Problem> CheckName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxNameLength && name.front() != '.' &&
            name.front() != '-' && std::all_of(name.begin(), name.end(), IsNameChar);
  if (ok) return std::nullopt;
  return Problem{"name", "name " + Quoted(name) +
                             " is invalid: use 1-256 characters of A-Z a-z 0-9 . _ -, not "
                             "starting with '.' or '-'"};
}

// An HTTP header name (RFC 9110 token).
bool IsHeaderName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// models:/name/<n>, models:/name@alias, or a local path.
bool IsValidModelUri(std::string_view uri) {
  constexpr std::string_view kModels = "models:/";
  if (uri.starts_with(kModels)) {
    std::string_view rest = uri.substr(kModels.size());
    size_t at = rest.rfind('@');
    if (at != std::string_view::npos) {
      std::string_view name = rest.substr(0, at), alias = rest.substr(at + 1);
      return !name.empty() && name.find('/') == std::string_view::npos && !alias.empty() &&
             alias.find('/') == std::string_view::npos;
    }
    size_t slash = rest.rfind('/');
    if (slash == std::string_view::npos) return false;
    std::string_view name = rest.substr(0, slash), version = rest.substr(slash + 1);
    return !name.empty() && name.find('/') == std::string_view::npos && AllDigits(version) &&
           version.find_first_not_of('0') != std::string_view::npos;
  }
  if (uri.empty() || uri.find(":/") != std::string_view::npos) return false;
  if (uri.starts_with("/") || uri.starts_with("./") || uri.starts_with("../") || uri == "." ||
      uri == "..") {
    return true;
  }
  std::error_code ec;
  return fs::is_directory(fs::path(std::string(uri)), ec);
}

std::optional<Problem> CheckWeight(int64_t weight, const std::string& path) {
  if (weight < 0) return Problem{path, path + " must be a non-negative integer"};
  if (weight > kMaxWeight) {
    return Problem{path, path + " must be at most " + std::to_string(kMaxWeight)};
  }
  return std::nullopt;
}

std::optional<Problem> CheckTargets(const std::vector<TargetSpec>& targets) {
  std::map<std::string, size_t> seen;
  size_t live = 0;
  int64_t sum = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    const TargetSpec& t = targets[i];
    std::string path = TargetPath(i);
    if (t.model_uri.empty()) return Problem{path + ".model", path + ".model is required"};
    if (!IsValidModelUri(t.model_uri)) {
      return Problem{path + ".model",
                     path + ".model " + Quoted(t.model_uri) +
                         " is not models:/name/<version>, models:/name@alias or a local "
                         "folder (absolute, ./ or ../ relative, or an existing folder)"};
    }
    auto [it, inserted] = seen.emplace(t.model_uri, i);
    if (!inserted) {
      return Problem{path + ".model", path + ".model " + Quoted(t.model_uri) + " is already " +
                                          TargetPath(it->second) + ": each model may appear once"};
    }
    if (t.shadow) continue;  // a shadow's weight is ignored
    ++live;
    if (auto p = CheckWeight(t.weight, path + ".weight")) return p;
    sum += t.weight;
  }
  if (live == 0) {
    return Problem{"targets", "targets must include at least one live (non-shadow) target"};
  }
  if (sum == 0) {
    return Problem{"targets",
                   "targets: the live weights sum to 0; at least one weight must be positive"};
  }
  return std::nullopt;
}

std::optional<Problem> CheckBatching(const BatchingSpec& b) {
  if (b.max_batch_size < 1) {
    return Problem{"batching.max_batch_size", "batching.max_batch_size must be at least 1"};
  }
  if (b.policy != "greedy" && b.policy != "wait") {
    return Problem{"batching.policy", "batching.policy must be greedy or wait, not '" +
                                          b.policy + "'"};
  }
  if (b.max_queue_delay_us < 0) {
    return Problem{"batching.max_queue_delay_us",
                   "batching.max_queue_delay_us must be non-negative"};
  }
  if (b.instances < 1 || b.instances > 64) {
    return Problem{"batching.instances", "batching.instances must be between 1 and 64"};
  }
  if (b.max_queue < 1)
    return Problem{"batching.max_queue", "batching.max_queue must be at least 1"};
  if (b.timeout_ms < 0) {
    return Problem{"batching.timeout_ms", "batching.timeout_ms must be non-negative"};
  }
  return std::nullopt;
}

std::optional<Problem> CheckDeployment(const DeploymentSpec& spec) {
  if (auto p = CheckName(spec.name)) return p;
  if (!spec.sticky_header.empty() && !IsHeaderName(spec.sticky_header)) {
    return Problem{"sticky_header",
                   "sticky_header " + Quoted(spec.sticky_header) + " is not an HTTP header name"};
  }
  if (spec.runtime != "auto" && spec.runtime != "python") {
    return Problem{"runtime", "runtime " + Quoted(spec.runtime) + " is not one of: auto, python"};
  }
  if (auto p = CheckBatching(spec.batching)) return p;
  return CheckTargets(spec.targets);
}

std::string DeploymentPrefix(std::string_view name) { return "deployment " + Quoted(name) + ": "; }

// A whole decimal integer ("+5", "-3", "12"); nullopt for anything else.
std::optional<int64_t> ParseInteger(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// ------------------------------------------------------------------ YAML

// Errors of one YAML file: "<file> line <n>: deployment '<d>': <message>".
class YamlContext {
 public:
  explicit YamlContext(std::string_view file_name) : file_(file_name) {}

  static int LineOf(const YAML::Node& node) {
    YAML::Mark m = node.Mark();
    return m.is_null() ? 0 : m.line + 1;
  }

  std::unexpected<Error> Fail(int line, std::string_view deployment,
                              const std::string& message) const {
    std::string text = file_;
    if (line > 0) text += " line " + std::to_string(line);
    text += ": ";
    if (!deployment.empty()) text += DeploymentPrefix(deployment);
    text += message;
    return InvalidArgument(std::move(text));
  }

 private:
  std::string file_;
};

// One deployment's parse: fields read from YAML, lines remembered by path so
// that a later validation problem points at the line of its field.
class DeploymentReader {
 public:
  DeploymentReader(const YamlContext& ctx, std::string name, int line) : ctx_(ctx), line_(line) {
    spec_.name = std::move(name);
    lines_[""] = line;
    lines_["name"] = line;
  }

  Result<DeploymentSpec> Read(const YAML::Node& body) {
    if (auto p = CheckName(spec_.name)) return Fail("name", p->message);
    if (body.IsNull()) return Fail("", "targets is required");
    if (!body.IsMap()) {
      return Fail("",
                  "must be a mapping with targets (and optionally sticky_header, runtime, "
                  "batching)");
    }
    bool has_targets = false;
    for (auto it = body.begin(); it != body.end(); ++it) {
      std::string key = it->first.Scalar();
      YAML::Node value = it->second;
      lines_[key] = YamlContext::LineOf(it->first);
      if (key == "sticky_header") {
        CAIRN_ASSIGN_OR_RETURN(spec_.sticky_header, String(value, key, /*null_ok=*/true));
      } else if (key == "runtime") {
        CAIRN_ASSIGN_OR_RETURN(spec_.runtime, String(value, key, /*null_ok=*/false));
      } else if (key == "batching") {
        CAIRN_RETURN_IF_ERROR(ReadBatching(value));
      } else if (key == "targets") {
        has_targets = true;
        CAIRN_RETURN_IF_ERROR(ReadTargets(value));
      } else {
        return Fail(key, "unknown field " + Quoted(key) +
                             " (known: sticky_header, runtime, batching, targets)");
      }
    }
    if (!has_targets) return Fail("", "targets is required");
    if (auto p = CheckDeployment(spec_)) return Fail(p->path, p->message);
    return spec_;
  }

 private:
  std::unexpected<Error> Fail(const std::string& path, const std::string& message) const {
    return ctx_.Fail(LineFor(path), spec_.name, message);
  }

  // The line of `path`, else of its nearest recorded ancestor.
  int LineFor(std::string path) const {
    while (true) {
      auto it = lines_.find(path);
      if (it != lines_.end() && it->second > 0) return it->second;
      size_t cut = path.find_last_of(".[");
      if (path.empty()) return line_;
      path = cut == std::string::npos ? "" : path.substr(0, cut);
    }
  }

  Result<std::string> String(const YAML::Node& value, const std::string& path, bool null_ok) {
    if (value.IsNull() && null_ok) return std::string();
    if (!value.IsScalar()) return Fail(path, path + " must be a string");
    return value.Scalar();
  }

  Result<int64_t> Integer(const YAML::Node& value, const std::string& path,
                          const std::string& expected) {
    std::optional<int64_t> v;
    if (value.IsScalar()) v = ParseInteger(value.Scalar());
    if (!v) return Fail(path, path + " must be " + expected);
    return *v;
  }

  Status ReadBatching(const YAML::Node& value) {
    if (value.IsNull()) return {};
    if (!value.IsMap()) return Fail("batching", "batching must be a mapping");
    BatchingSpec& b = spec_.batching;
    for (auto it = value.begin(); it != value.end(); ++it) {
      std::string key = it->first.Scalar();
      std::string path = "batching." + key;
      lines_[path] = YamlContext::LineOf(it->first);
      if (key == "max_batch_size") {
        CAIRN_ASSIGN_OR_RETURN(b.max_batch_size, Integer(it->second, path, "an integer >= 1"));
      } else if (key == "policy") {
        if (!it->second.IsScalar()) return Fail(path, path + " must be greedy or wait");
        b.policy = it->second.Scalar();
      } else if (key == "max_queue_delay_us") {
        CAIRN_ASSIGN_OR_RETURN(b.max_queue_delay_us,
                               Integer(it->second, path, "a non-negative integer"));
      } else if (key == "instances") {
        CAIRN_ASSIGN_OR_RETURN(int64_t n, Integer(it->second, path, "an integer from 1 to 64"));
        if (n < 1 || n > 64) return Fail(path, path + " must be between 1 and 64");
        b.instances = static_cast<int>(n);
      } else if (key == "max_queue") {
        CAIRN_ASSIGN_OR_RETURN(b.max_queue, Integer(it->second, path, "an integer >= 1"));
      } else if (key == "timeout_ms") {
        CAIRN_ASSIGN_OR_RETURN(b.timeout_ms, Integer(it->second, path, "a non-negative integer"));
      } else {
        return Fail(path, "unknown field " + Quoted(path) +
                              " (known: max_batch_size, policy, max_queue_delay_us, instances, "
                              "max_queue, timeout_ms)");
      }
    }
    return {};
  }

  Status ReadTargets(const YAML::Node& value) {
    if (!value.IsSequence()) {
      return Fail("targets", "targets must be a list of {model, weight, shadow}");
    }
    for (size_t i = 0; i < value.size(); ++i) {
      const YAML::Node item = value[i];
      std::string path = TargetPath(i);
      lines_[path] = YamlContext::LineOf(item);
      TargetSpec t;
      if (item.IsScalar()) {  // "- models:/fraud/3": a live target of weight 1
        t.model_uri = item.Scalar();
        spec_.targets.push_back(std::move(t));
        continue;
      }
      if (!item.IsMap()) return Fail(path, path + " must be a mapping {model, weight, shadow}");
      std::optional<int64_t> weight;
      int weight_line = 0;
      bool has_model = false;
      for (auto it = item.begin(); it != item.end(); ++it) {
        std::string key = it->first.Scalar();
        std::string field = path + "." + key;
        lines_[field] = YamlContext::LineOf(it->first);
        if (key == "model") {
          has_model = true;
          CAIRN_ASSIGN_OR_RETURN(t.model_uri, String(it->second, field, /*null_ok=*/false));
        } else if (key == "weight") {
          CAIRN_ASSIGN_OR_RETURN(weight, Integer(it->second, field, "a non-negative integer"));
          weight_line = lines_[field];
        } else if (key == "shadow") {
          bool b = false;
          if (!it->second.IsScalar() || !YAML::convert<bool>::decode(it->second, b)) {
            return Fail(field, field + " must be true or false");
          }
          t.shadow = b;
        } else {
          return Fail(field, "unknown field " + Quoted(field) + " (known: model, weight, shadow)");
        }
      }
      if (!has_model) return Fail(path, path + ".model is required");
      if (t.shadow) {
        if (weight && *weight != 0) {
          return ctx_.Fail(weight_line, spec_.name,
                           path +
                               ".weight must be absent or 0 for a shadow (a shadow gets a "
                               "copy of all live traffic)");
        }
        t.weight = 0;
      } else {
        t.weight = weight.value_or(1);
      }
      spec_.targets.push_back(std::move(t));
    }
    return {};
  }

  const YamlContext& ctx_;
  int line_;
  DeploymentSpec spec_;
  std::map<std::string, int> lines_;  // field path -> 1-based line (0: unknown)
};

// --------------------------------------------------------------- hashing

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// FNV-1a 64, then a murmur3-style finalizer so that the low and high bits
// both depend on every byte (FNV alone mixes the high bits poorly).
uint64_t StableHash(std::string_view key) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

// xoshiro256**, seeded per thread through splitmix64 from std::random_device,
// the thread id and the clock (any of them alone suffices; together they
// survive a random_device that is deterministic on some platforms).
class Xoshiro256 {
 public:
  Xoshiro256() {
    std::random_device rd;
    uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    seed ^= std::hash<std::thread::id>{}(std::this_thread::get_id());
    seed ^= static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    for (auto& s : s_) s = SplitMix64(seed);
  }
  uint64_t Next() {
    uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, bound), bound > 0, without modulo bias (rejection).
  uint64_t Below(uint64_t bound) {
    uint64_t limit =
        std::numeric_limits<uint64_t>::max() - (std::numeric_limits<uint64_t>::max() % bound);
    uint64_t r = Next();
    while (r >= limit) r = Next();
    return r % bound;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

Xoshiro256& ThreadRng() {
  thread_local Xoshiro256 rng;
  return rng;
}

}  // namespace

// ------------------------------------------------------------ public API

Status ValidateDeployment(const DeploymentSpec& spec) {
  if (auto p = CheckDeployment(spec)) {
    return InvalidArgument(DeploymentPrefix(spec.name) + p->message);
  }
  return {};
}

Result<std::vector<DeploymentSpec>> ParseDeploymentFile(std::string_view yaml_text,
                                                        std::string_view file_name) {
  YamlContext ctx(file_name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    std::string where = std::string(file_name);
    if (!e.mark.is_null()) {
      where += " line " + std::to_string(e.mark.line + 1) + " column " +
               std::to_string(e.mark.column + 1);
    }
    return InvalidArgument(where + ": invalid YAML: " + e.msg);
  }
  try {
    if (!root.IsMap()) {
      return ctx.Fail(1, "", "expected a mapping with a 'deployments' key");
    }
    YAML::Node deployments;
    int deployments_line = 1;
    for (auto it = root.begin(); it != root.end(); ++it) {
      std::string key = it->first.Scalar();
      if (key != "deployments") {
        return ctx.Fail(YamlContext::LineOf(it->first), "",
                        "unknown field " + Quoted(key) + " (known: deployments)");
      }
      deployments = it->second;
      deployments_line = YamlContext::LineOf(it->first);
    }
    if (!deployments.IsDefined() || deployments.IsNull()) {
      return ctx.Fail(deployments_line, "", "no deployments declared (expected 'deployments:')");
    }
    if (!deployments.IsMap()) {
      return ctx.Fail(deployments_line, "", "deployments must be a mapping of name -> deployment");
    }
    std::vector<DeploymentSpec> out;
    std::map<std::string, int> seen;  // name -> line
    for (auto it = deployments.begin(); it != deployments.end(); ++it) {
      int line = YamlContext::LineOf(it->first);
      if (!it->first.IsScalar()) {
        return ctx.Fail(line, "", "a deployment name must be a string");
      }
      std::string name = it->first.Scalar();
      auto [prev, inserted] = seen.emplace(name, line);
      if (!inserted) {
        return ctx.Fail(line, name,
                        "declared twice (first at line " + std::to_string(prev->second) + ")");
      }
      DeploymentReader reader(ctx, name, line);
      CAIRN_ASSIGN_OR_RETURN(DeploymentSpec spec, reader.Read(it->second));
      out.push_back(std::move(spec));
    }
    if (out.empty()) return ctx.Fail(deployments_line, "", "no deployments declared");
    return out;
  } catch (const YAML::Exception& e) {
    // Defensive: node access on a malformed document.
    int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    return ctx.Fail(line, "", "invalid deployment file: " + e.msg);
  }
}

std::string DefaultDeploymentName(std::string_view model_uri) {
  constexpr std::string_view kModels = "models:/";
  if (model_uri.starts_with(kModels)) {
    std::string_view rest = model_uri.substr(kModels.size());
    size_t at = rest.rfind('@');
    if (at != std::string_view::npos) return std::string(rest.substr(0, at));
    size_t slash = rest.find('/');
    return std::string(rest.substr(0, slash));
  }
  std::string path(model_uri);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  fs::path p(path);
  std::string base = p.filename().string();
  if (base.empty() || base == "." || base == "..") {
    std::error_code ec;
    fs::path abs = fs::weakly_canonical(fs::absolute(p, ec), ec);
    base = abs.filename().string();
  }
  return base;
}

Result<DeploymentSpec> DeploymentFromFlags(std::string name, const std::vector<std::string>& models,
                                           const std::vector<int64_t>& traffic,
                                           const std::vector<std::string>& shadows,
                                           std::string sticky_header, const BatchingSpec& batching,
                                           std::string runtime) {
  if (models.empty()) return InvalidArgument("give at least one --model");
  if (!traffic.empty() && traffic.size() != models.size()) {
    return InvalidArgument("--traffic has " + std::to_string(traffic.size()) + " weight" +
                           (traffic.size() == 1 ? "" : "s") + " for " +
                           std::to_string(models.size()) + " --model" +
                           (models.size() == 1 ? "" : "s") + ": give one weight per --model");
  }
  DeploymentSpec spec;
  if (name.empty()) {
    spec.name = DefaultDeploymentName(models.front());
    if (CheckName(spec.name)) {
      return InvalidArgument("the deployment name " + Quoted(spec.name) + " taken from " +
                             Quoted(models.front()) +
                             " is invalid (1-256 characters of A-Z a-z 0-9 . _ -, not starting "
                             "with '.' or '-'): give --name");
    }
  } else {
    spec.name = std::move(name);
  }
  for (size_t i = 0; i < models.size(); ++i) {
    spec.targets.push_back({models[i], traffic.empty() ? 1 : traffic[i], false});
  }
  for (const auto& s : shadows) spec.targets.push_back({s, 0, true});
  spec.sticky_header = std::move(sticky_header);
  spec.runtime = std::move(runtime);
  spec.batching = batching;
  CAIRN_RETURN_IF_ERROR(ValidateDeployment(spec));
  return spec;
}

Result<std::vector<TargetSpec>> ParseTrafficJson(std::string_view body) {
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::exception& e) {
    return BadRequest(std::string("malformed JSON: ") + e.what());
  }
  if (!doc.is_object()) {
    return InvalidArgument("the body must be a JSON object {\"targets\": [...]}");
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "targets")
      return InvalidArgument("unknown field " + Quoted(key) + " (known: targets)");
  }
  if (!doc.contains("targets")) return InvalidArgument("targets is required");
  const json& list = doc["targets"];
  if (!list.is_array()) return InvalidArgument("targets must be an array");
  std::vector<TargetSpec> targets;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& item = list[i];
    std::string path = TargetPath(i);
    if (!item.is_object()) return InvalidArgument(path + " must be an object");
    TargetSpec t;
    std::optional<int64_t> weight;
    bool has_model = false;
    for (const auto& [key, value] : item.items()) {
      std::string field = path + "." + key;
      if (key == "model") {
        if (!value.is_string()) return InvalidArgument(field + " must be a string");
        t.model_uri = value.get<std::string>();
        has_model = true;
      } else if (key == "weight") {
        if (value.is_number_unsigned()) {
          uint64_t w = value.get<uint64_t>();
          if (w > static_cast<uint64_t>(kMaxWeight)) {
            return InvalidArgument(field + " must be at most " + std::to_string(kMaxWeight));
          }
          weight = static_cast<int64_t>(w);
        } else if (value.is_number_integer()) {
          weight = value.get<int64_t>();
          if (auto p = CheckWeight(*weight, field)) return InvalidArgument(p->message);
        } else {
          return InvalidArgument(field + " must be a non-negative integer");
        }
      } else if (key == "shadow") {
        if (!value.is_boolean()) return InvalidArgument(field + " must be true or false");
        t.shadow = value.get<bool>();
      } else {
        return InvalidArgument("unknown field " + Quoted(field) +
                               " (known: model, weight, shadow)");
      }
    }
    if (!has_model) return InvalidArgument(path + ".model is required");
    if (t.shadow) {
      if (weight && *weight != 0) {
        return InvalidArgument(path + ".weight must be absent or 0 for a shadow");
      }
      t.weight = 0;
    } else {
      t.weight = weight.value_or(1);
    }
    targets.push_back(std::move(t));
  }
  if (auto p = CheckTargets(targets)) return InvalidArgument(p->message);
  return targets;
}

std::string TrafficToJson(const std::vector<TargetSpec>& targets) {
  json list = json::array();
  for (const auto& t : targets) {
    json item = {{"model", t.model_uri}};
    if (t.shadow) {
      item["shadow"] = true;
    } else {
      item["weight"] = t.weight;
    }
    list.push_back(std::move(item));
  }
  return json{{"targets", std::move(list)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<TargetSpec> ParseTargetArgument(std::string_view text) {
  TargetSpec t;
  size_t eq = text.rfind('=');
  if (eq == std::string_view::npos) {
    t.model_uri = std::string(text);
  } else {
    t.model_uri = std::string(text.substr(0, eq));
    std::string_view w = text.substr(eq + 1);
    std::optional<int64_t> weight = AllDigits(w) ? ParseInteger(w) : std::nullopt;
    if (!weight) {
      return InvalidArgument(Quoted(text) + ": weight " + Quoted(w) +
                             " is not a non-negative integer (expected URI=WEIGHT)");
    }
    if (*weight > kMaxWeight) {
      return InvalidArgument(Quoted(text) + ": weight must be at most " +
                             std::to_string(kMaxWeight));
    }
    t.weight = *weight;
  }
  if (t.model_uri.empty()) {
    return InvalidArgument(Quoted(text) + ": no model URI (expected URI=WEIGHT)");
  }
  return t;
}

// ------------------------------------------------------------ TrafficSplit

Result<TrafficSplit> TrafficSplit::Create(std::vector<int64_t> weights) {
  if (weights.empty()) return InvalidArgument("a traffic split needs at least one weight");
  TrafficSplit split;
  uint64_t sum = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] < 0) {
      return InvalidArgument("weight " + std::to_string(i) + " is negative (" +
                             std::to_string(weights[i]) + ")");
    }
    uint64_t w = static_cast<uint64_t>(weights[i]);
    if (sum > std::numeric_limits<uint64_t>::max() / 2 - w) {
      return InvalidArgument("the weights are too large");
    }
    sum += w;
    split.cumulative_.push_back(sum);
  }
  if (sum == 0) return InvalidArgument("the weights sum to 0; at least one must be positive");
  return split;
}

size_t TrafficSplit::Choose(std::optional<std::string_view> sticky_key) const {
  if (cumulative_.empty()) return 0;  // only a default-constructed split; Create never makes one
  uint64_t total = cumulative_.back();
  uint64_t point = sticky_key ? StableHash(*sticky_key) % total : ThreadRng().Below(total);
  // The first target whose running sum exceeds the point: a weight-0 target
  // adds nothing to the sum, so no point ever lands on it.
  auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), point);
  return static_cast<size_t>(it - cumulative_.begin());
}

}  // namespace cairn::serve
