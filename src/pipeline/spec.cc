#include "pipeline/spec.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <system_error>

#include "core/cron.h"

namespace cairn::pipeline {
namespace {

constexpr std::string_view kStepKeys[] = {"cmd",      "deps",    "outs",    "metrics",
                                          "params",   "retries", "timeout", "resources",
                                          "executor", "env",     "foreach"};
constexpr std::string_view kResourceKeys[] = {"cpus", "memory", "gpus"};

template <size_t N>
std::string JoinKeys(const std::string_view (&keys)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    if (i) out += ", ";
    out += keys[i];
  }
  return out;
}

Location LocationOf(const YAML::Node& node) {
  YAML::Mark mark = node.Mark();
  if (mark.line < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

// Builds "file:line:col: step 'x': message" errors.
class ErrorContext {
 public:
  explicit ErrorContext(std::string_view file) : file_(file) {}

  std::unexpected<Error> At(Location loc, std::string_view step, std::string_view message) const {
    std::string text = fmt::format("{}:{}:{}: ", file_, loc.line, loc.column);
    if (!step.empty()) text += fmt::format("step '{}': ", step);
    text += message;
    return InvalidArgument(std::move(text));
  }
  std::unexpected<Error> At(const YAML::Node& node, std::string_view step,
                            std::string_view message) const {
    return At(LocationOf(node), step, message);
  }

 private:
  std::string file_;
};

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return fmt::format("'{}'", node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

bool IsValidStepName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

bool IsValidEnvName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::optional<int64_t> ParseInteger(std::string_view text) {
  if (text.starts_with('+')) text.remove_prefix(1);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// `${...}` is one token in cairn.yaml, even inside a flow collection where
// YAML would read its braces as a map ("outs: [eval/${item}.json]", as in the
// issue's example). Before parsing, each "${" with a closing "}" on the same
// line becomes "$\x01" and that "}" becomes "\x02" (same byte count, so
// marks stay right); RestoreVariables undoes it in every parsed scalar.
constexpr char kOpenMarker = '\x01';
constexpr char kCloseMarker = '\x02';

std::string ProtectVariables(std::string_view text) {
  std::string out(text);
  size_t i = 0;
  while ((i = out.find("${", i)) != std::string::npos) {
    size_t close = out.find_first_of("}\n", i + 2);
    if (close == std::string::npos || out[close] != '}') {
      i += 2;
      continue;
    }
    out[i + 1] = kOpenMarker;
    out[close] = kCloseMarker;
    i = close + 1;
  }
  return out;
}

std::string RestoreVariables(std::string text) {
  for (char& c : text) {
    if (c == kOpenMarker) c = '{';
    if (c == kCloseMarker) c = '}';
  }
  return text;
}

// Restores the scalars of values in place (keys are restored when read: yaml-cpp
// does not support rewriting a key in place).
void RestoreTree(YAML::Node node) {
  if (node.IsScalar()) {
    if (node.Scalar().find_first_of("\x01\x02") != std::string::npos) {
      node = RestoreVariables(node.Scalar());
    }
  } else if (node.IsSequence()) {
    for (YAML::Node child : node) RestoreTree(child);
  } else if (node.IsMap()) {
    for (auto kv : node) RestoreTree(kv.second);
  }
}

// A key node must be a plain scalar; yaml-cpp allows complex keys.
Result<std::string> KeyString(const ErrorContext& ctx, const YAML::Node& key,
                              std::string_view step) {
  if (!key.IsScalar()) return ctx.At(key, step, "keys must be plain strings");
  return RestoreVariables(key.Scalar());
}

// The raw (unsubstituted) entries of a list-of-strings field.
struct RawEntry {
  std::string text;
  Location location;
};

Result<std::vector<RawEntry>> StringList(const ErrorContext& ctx, const YAML::Node& node,
                                         std::string_view step, std::string_view field) {
  if (!node.IsSequence()) {
    return ctx.At(node, step,
                  fmt::format("'{}' must be a list of strings, got {}", field, Describe(node)));
  }
  std::vector<RawEntry> out;
  for (const YAML::Node& item : node) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      return ctx.At(
          item, step,
          fmt::format("'{}' entries must be non-empty strings, got {}", field, Describe(item)));
    }
    out.push_back({item.Scalar(), LocationOf(item)});
  }
  return out;
}

bool EscapesRepository(std::string_view normalized) {
  return normalized.starts_with('/') || normalized == ".." || normalized.starts_with("../") ||
         normalized == ".";
}

// A step as declared, before foreach expansion.
struct RawStep {
  std::string name;
  Location location;
  std::string cmd;
  Location cmd_location;
  std::vector<RawEntry> deps, outs, metrics;
  std::vector<ParamRef> params;
  int retries = 0;
  std::optional<int64_t> timeout_ms;
  Resources resources;
  ExecutorKind executor = ExecutorKind::kLocal;
  struct EnvEntry {
    std::string name;
    std::string value;
    Location location;
  };
  std::vector<EnvEntry> env;
  // foreach: a list of values, or a matrix (sorted keys -> values).
  bool has_foreach = false;
  bool is_matrix = false;
  std::vector<std::string> list_values;
  std::vector<std::pair<std::string, std::vector<std::string>>> matrix;
  Location foreach_location;
};

bool IsValidItemValue(std::string_view value) { return IsValidStepName(value); }

Status ParseForeach(const ErrorContext& ctx, const YAML::Node& node, RawStep& step) {
  step.has_foreach = true;
  step.foreach_location = LocationOf(node);
  auto check_values = [&](const YAML::Node& list, std::string_view what,
                          std::vector<std::string>& values) -> Status {
    if (!list.IsSequence() || list.size() == 0) {
      return ctx.At(
          list, step.name,
          fmt::format("{} must be a non-empty list of scalars, got {}", what, Describe(list)));
    }
    std::set<std::string> seen;
    for (const YAML::Node& v : list) {
      if (!v.IsScalar() || !IsValidItemValue(v.Scalar())) {
        return ctx.At(v, step.name,
                      fmt::format("{} values must be scalars made of [A-Za-z0-9_.-], got {}", what,
                                  Describe(v)));
      }
      if (!seen.insert(v.Scalar()).second) {
        return ctx.At(v, step.name, fmt::format("{} lists '{}' twice", what, v.Scalar()));
      }
      values.push_back(v.Scalar());
    }
    return {};
  };
  if (node.IsSequence()) {
    return check_values(node, "'foreach'", step.list_values);
  }
  if (node.IsMap()) {
    if (node.size() == 0) {
      return ctx.At(node, step.name, "'foreach' matrix must have at least one key");
    }
    step.is_matrix = true;
    std::set<std::string> keys;
    for (const auto& kv : node) {
      CAIRN_ASSIGN_OR_RETURN(std::string key, KeyString(ctx, kv.first, step.name));
      if (!IsValidEnvName(key)) {
        return ctx.At(
            kv.first, step.name,
            fmt::format("'foreach' matrix key '{}' must match [A-Za-z_][A-Za-z0-9_]*", key));
      }
      if (!keys.insert(key).second) {
        return ctx.At(kv.first, step.name,
                      fmt::format("'foreach' matrix key '{}' appears twice", key));
      }
      std::vector<std::string> values;
      CAIRN_RETURN_IF_ERROR(
          check_values(kv.second, fmt::format("'foreach' matrix key '{}'", key), values));
      step.matrix.emplace_back(key, std::move(values));
    }
    std::sort(step.matrix.begin(), step.matrix.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return {};
  }
  return ctx.At(node, step.name,
                fmt::format("'foreach' must be a list of values or a matrix map name -> list, "
                            "got {}",
                            Describe(node)));
}

Status ParseResources(const ErrorContext& ctx, const YAML::Node& node, RawStep& step) {
  if (!node.IsMap()) {
    return ctx.At(
        node, step.name,
        fmt::format("'resources' must be a map {{cpus, memory, gpus}}, got {}", Describe(node)));
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    CAIRN_ASSIGN_OR_RETURN(std::string key, KeyString(ctx, kv.first, step.name));
    if (!seen.insert(key).second) {
      return ctx.At(kv.first, step.name, fmt::format("'resources.{}' appears twice", key));
    }
    const YAML::Node& value = kv.second;
    if (key == "cpus" || key == "gpus") {
      std::optional<int64_t> n;
      if (value.IsScalar()) n = ParseInteger(value.Scalar());
      bool cpus = key == "cpus";
      if (!n || *n < (cpus ? 1 : 0) || *n > std::numeric_limits<int>::max()) {
        return ctx.At(value, step.name,
                      fmt::format("'resources.{}' must be {} integer, got {}", key,
                                  cpus ? "a positive" : "a non-negative", Describe(value)));
      }
      if (cpus) {
        step.resources.cpus = static_cast<int>(*n);
      } else {
        step.resources.gpus = static_cast<int>(*n);
      }
    } else if (key == "memory") {
      Result<int64_t> bytes =
          value.IsScalar() ? ParseMemorySize(value.Scalar()) : InvalidArgument("not a scalar");
      if (!bytes) {
        return ctx.At(value, step.name,
                      fmt::format("'resources.memory' must be a size like 4G, 512M or a byte "
                                  "count, got {}",
                                  Describe(value)));
      }
      step.resources.memory_bytes = *bytes;
    } else {
      return ctx.At(
          kv.first, step.name,
          fmt::format("unknown key 'resources.{}' (known: {})", key, JoinKeys(kResourceKeys)));
    }
  }
  return {};
}

Status ParseParams(const ErrorContext& ctx, const YAML::Node& node, RawStep& step) {
  CAIRN_ASSIGN_OR_RETURN(auto entries, StringList(ctx, node, step.name, "params"));
  for (const RawEntry& e : entries) {
    ParamRef ref;
    ref.location = e.location;
    size_t colon = e.text.find(':');
    if (colon == std::string::npos) {
      ref.file = "params.yaml";
      ref.key = e.text;
    } else {
      ref.file = e.text.substr(0, colon);
      ref.key = e.text.substr(colon + 1);
    }
    bool ok = !ref.file.empty() && !ref.key.empty() && ref.key.front() != '.' &&
              ref.key.back() != '.' && ref.key.find("..") == std::string::npos &&
              ref.key.find(':') == std::string::npos;
    if (!ok) {
      return ctx.At(e.location, step.name,
                    fmt::format("param '{}' must be 'key.path' or 'file.yaml:key.path'", e.text));
    }
    if (std::find(step.params.begin(), step.params.end(), ref) != step.params.end()) {
      return ctx.At(e.location, step.name, fmt::format("param '{}' is listed twice", e.text));
    }
    step.params.push_back(std::move(ref));
  }
  return {};
}

Result<RawStep> ParseStep(const ErrorContext& ctx, const YAML::Node& key_node,
                          const YAML::Node& body) {
  RawStep step;
  step.name = RestoreVariables(key_node.Scalar());
  step.location = LocationOf(key_node);
  if (!IsValidStepName(step.name)) {
    return ctx.At(key_node, "",
                  fmt::format("step name '{}' must match [A-Za-z0-9_.-]+", step.name));
  }
  if (!body.IsMap()) {
    return ctx.At(body.IsNull() ? key_node : body, step.name,
                  fmt::format("a step must be a map with at least 'cmd', got {}", Describe(body)));
  }
  std::set<std::string> seen;
  bool has_cmd = false;
  for (const auto& kv : body) {
    CAIRN_ASSIGN_OR_RETURN(std::string key, KeyString(ctx, kv.first, step.name));
    if (!seen.insert(key).second) {
      return ctx.At(kv.first, step.name, fmt::format("'{}' appears twice", key));
    }
    const YAML::Node& value = kv.second;
    if (key == "cmd") {
      if (!value.IsScalar() || value.Scalar().find_first_not_of(" \t\r\n") == std::string::npos) {
        return ctx.At(value.IsNull() ? kv.first : value, step.name,
                      fmt::format("'cmd' must be a non-empty string, got {}", Describe(value)));
      }
      step.cmd = value.Scalar();
      step.cmd_location = LocationOf(value);
      has_cmd = true;
    } else if (key == "deps") {
      CAIRN_ASSIGN_OR_RETURN(step.deps, StringList(ctx, value, step.name, key));
    } else if (key == "outs") {
      CAIRN_ASSIGN_OR_RETURN(step.outs, StringList(ctx, value, step.name, key));
    } else if (key == "metrics") {
      CAIRN_ASSIGN_OR_RETURN(step.metrics, StringList(ctx, value, step.name, key));
    } else if (key == "params") {
      CAIRN_RETURN_IF_ERROR(ParseParams(ctx, value, step));
    } else if (key == "retries") {
      std::optional<int64_t> n;
      if (value.IsScalar()) n = ParseInteger(value.Scalar());
      if (!n || *n < 0 || *n > std::numeric_limits<int>::max()) {
        return ctx.At(
            value, step.name,
            fmt::format("'retries' must be a non-negative integer, got {}", Describe(value)));
      }
      step.retries = static_cast<int>(*n);
    } else if (key == "timeout") {
      Result<int64_t> ms =
          value.IsScalar() ? ParseDurationMs(value.Scalar()) : InvalidArgument("not a scalar");
      if (!ms || *ms <= 0) {
        return ctx.At(value, step.name,
                      fmt::format("'timeout' must be a positive duration like 90s, 30m or 1h30m, "
                                  "got {}",
                                  Describe(value)));
      }
      step.timeout_ms = *ms;
    } else if (key == "resources") {
      CAIRN_RETURN_IF_ERROR(ParseResources(ctx, value, step));
    } else if (key == "executor") {
      if (value.IsScalar() && value.Scalar() == "local") {
        step.executor = ExecutorKind::kLocal;
      } else if (value.IsScalar() && value.Scalar() == "slurm") {
        step.executor = ExecutorKind::kSlurm;
      } else {
        return ctx.At(
            value, step.name,
            fmt::format("'executor' must be 'local' or 'slurm', got {}", Describe(value)));
      }
    } else if (key == "env") {
      if (!value.IsMap()) {
        return ctx.At(
            value, step.name,
            fmt::format("'env' must be a map of name -> string, got {}", Describe(value)));
      }
      std::set<std::string> names;
      for (const auto& env : value) {
        CAIRN_ASSIGN_OR_RETURN(std::string name, KeyString(ctx, env.first, step.name));
        if (!IsValidEnvName(name)) {
          return ctx.At(env.first, step.name,
                        fmt::format("env name '{}' must match [A-Za-z_][A-Za-z0-9_]*", name));
        }
        if (!names.insert(name).second) {
          return ctx.At(env.first, step.name, fmt::format("env '{}' appears twice", name));
        }
        if (!env.second.IsScalar()) {
          return ctx.At(
              env.second.IsNull() ? env.first : env.second, step.name,
              fmt::format("env '{}' must be a string, got {}", name, Describe(env.second)));
        }
        step.env.push_back({name, env.second.Scalar(), LocationOf(env.second)});
      }
    } else if (key == "foreach") {
      CAIRN_RETURN_IF_ERROR(ParseForeach(ctx, value, step));
    } else {
      return ctx.At(kv.first, step.name,
                    fmt::format("unknown key '{}' (known: {})", key, JoinKeys(kStepKeys)));
    }
  }
  if (!has_cmd) return ctx.At(key_node, step.name, "'cmd' is required");
  return step;
}

// The bindings of each expansion, in order, with the expanded name suffix.
struct Expansion {
  std::string suffix;  // "" for a plain step, "@small", "@seed=1,split=a"
  std::map<std::string, std::string> vars;
};

std::vector<Expansion> Expansions(const RawStep& step) {
  if (!step.has_foreach) return {Expansion{}};
  std::vector<Expansion> out;
  if (!step.is_matrix) {
    for (const std::string& v : step.list_values) out.push_back({"@" + v, {{"item", v}}});
    return out;
  }
  // Odometer over the sorted keys; the last key varies fastest.
  std::vector<size_t> index(step.matrix.size(), 0);
  while (true) {
    Expansion e;
    e.suffix = "@";
    for (size_t k = 0; k < step.matrix.size(); ++k) {
      const auto& [key, values] = step.matrix[k];
      if (k) e.suffix += ",";
      e.suffix += key + "=" + values[index[k]];
      e.vars["item." + key] = values[index[k]];
    }
    out.push_back(std::move(e));
    size_t k = step.matrix.size();
    while (k > 0) {
      --k;
      if (++index[k] < step.matrix[k].second.size()) break;
      index[k] = 0;
      if (k == 0) return out;
    }
  }
}

Result<std::vector<PathEntry>> ExpandPaths(const ErrorContext& ctx, const RawStep& raw,
                                           const std::vector<RawEntry>& entries, const Expansion& e,
                                           std::string_view field, bool inside_repo) {
  std::vector<PathEntry> out;
  std::set<std::string> seen;
  for (const RawEntry& entry : entries) {
    Result<std::string> text = SubstituteVariables(entry.text, e.vars);
    if (!text) return ctx.At(entry.location, raw.name, text.error().message());
    std::string path = NormalizePath(*text);
    if (inside_repo && EscapesRepository(path)) {
      return ctx.At(
          entry.location, raw.name,
          fmt::format("{} path '{}' must be relative and inside the repository", field, *text));
    }
    if (!seen.insert(path).second) {
      return ctx.At(entry.location, raw.name,
                    fmt::format("{} path '{}' is listed twice", field, path));
    }
    out.push_back({std::move(path), entry.location});
  }
  return out;
}

Result<std::vector<Step>> Expand(const ErrorContext& ctx, const RawStep& raw) {
  std::vector<Step> out;
  for (const Expansion& e : Expansions(raw)) {
    Step step;
    step.name = raw.name + e.suffix;
    step.base_name = raw.name;
    step.item = e.vars;
    step.location = raw.location;
    Result<std::string> cmd = SubstituteVariables(raw.cmd, e.vars);
    if (!cmd) return ctx.At(raw.cmd_location, raw.name, cmd.error().message());
    step.cmd = std::move(*cmd);
    CAIRN_ASSIGN_OR_RETURN(step.deps, ExpandPaths(ctx, raw, raw.deps, e, "deps", false));
    CAIRN_ASSIGN_OR_RETURN(step.outs, ExpandPaths(ctx, raw, raw.outs, e, "outs", true));
    CAIRN_ASSIGN_OR_RETURN(step.metrics, ExpandPaths(ctx, raw, raw.metrics, e, "metrics", true));
    step.params = raw.params;
    step.retries = raw.retries;
    step.timeout_ms = raw.timeout_ms;
    step.resources = raw.resources;
    step.executor = raw.executor;
    for (const auto& env : raw.env) {
      Result<std::string> value = SubstituteVariables(env.value, e.vars);
      if (!value) return ctx.At(env.location, raw.name, value.error().message());
      step.env[env.name] = std::move(*value);
    }
    out.push_back(std::move(step));
  }
  return out;
}

}  // namespace

std::string_view ExecutorKindName(ExecutorKind kind) {
  return kind == ExecutorKind::kSlurm ? "slurm" : "local";
}

const Step* PipelineSpec::Find(std::string_view name) const {
  for (const Step& s : steps) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Result<int64_t> ParseMemorySize(std::string_view text) {
  std::string_view digits = text;
  size_t end = 0;
  while (end < digits.size() && std::isdigit(static_cast<unsigned char>(digits[end]))) ++end;
  std::string unit;
  for (char c : text.substr(end))
    unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (end == 0) return InvalidArgument(fmt::format("size '{}' does not start with a number", text));
  int64_t scale = 1;
  std::string_view u = unit;
  if (u.ends_with("IB")) {
    u.remove_suffix(2);
    if (u.size() != 1) return InvalidArgument(fmt::format("size '{}' has a bad unit", text));
  } else if (u.size() == 2 && u.back() == 'B') {
    u.remove_suffix(1);
  } else if (u == "B") {
    u = "";
  }
  if (u.empty()) {
    scale = 1;
  } else if (u == "K") {
    scale = int64_t{1} << 10;
  } else if (u == "M") {
    scale = int64_t{1} << 20;
  } else if (u == "G") {
    scale = int64_t{1} << 30;
  } else if (u == "T") {
    scale = int64_t{1} << 40;
  } else {
    return InvalidArgument(
        fmt::format("size '{}' has an unknown unit (use K, M, G, T or bytes)", text));
  }
  std::optional<int64_t> n = ParseInteger(digits.substr(0, end));
  if (!n || *n <= 0) return InvalidArgument(fmt::format("size '{}' must be positive", text));
  if (*n > std::numeric_limits<int64_t>::max() / scale) {
    return InvalidArgument(fmt::format("size '{}' is too large", text));
  }
  return *n * scale;
}

Result<std::string> SubstituteVariables(std::string_view text,
                                        const std::map<std::string, std::string>& vars) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i).starts_with("$${")) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.substr(i).starts_with("${")) {
      size_t close = text.find('}', i + 2);
      if (close == std::string_view::npos) {
        return InvalidArgument(
            fmt::format("unterminated '${{' in '{}' (write '$${{' for a "
                        "literal '${{')",
                        text));
      }
      std::string name(text.substr(i + 2, close - i - 2));
      auto it = vars.find(name);
      if (it == vars.end()) {
        std::string defined;
        for (const auto& [k, v] : vars) {
          if (!defined.empty()) defined += ", ";
          defined += "${" + k + "}";
        }
        return InvalidArgument(fmt::format(
            "unknown variable '${{{}}}' ({}; write '$${{' for a literal '${{')", name,
            defined.empty() ? "no foreach, so none is defined" : "defined: " + defined));
      }
      out += it->second;
      i = close + 1;
      continue;
    }
    out += text[i++];
  }
  return out;
}

std::string NormalizePath(std::string_view path) {
  bool absolute = path.starts_with('/');
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(i, slash - i);
    i = slash + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
        continue;
      }
      if (absolute) continue;  // "/.." is "/"
    }
    parts.push_back(seg);
  }
  std::string out = absolute ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += "/";
    out += parts[k];
  }
  if (out.empty()) out = ".";
  return out;
}

Result<PipelineSpec> ParsePipelineSpec(std::string_view yaml_text, std::string_view file_name) {
  ErrorContext ctx(file_name);
  if (size_t bad = yaml_text.find_first_of("\x01\x02"); bad != std::string_view::npos) {
    int line = 1 + static_cast<int>(std::count(yaml_text.begin(), yaml_text.begin() + bad, '\n'));
    size_t line_start = yaml_text.rfind('\n', bad);
    int column =
        static_cast<int>(bad - (line_start == std::string_view::npos ? 0 : line_start + 1)) + 1;
    return ctx.At(Location{line, column}, "", "invalid YAML: control character in the text");
  }
  YAML::Node root;
  try {
    root = YAML::Load(ProtectVariables(yaml_text));
    RestoreTree(root);
  } catch (const YAML::Exception& e) {
    return ctx.At(Location{e.mark.line + 1, e.mark.column + 1}, "",
                  fmt::format("invalid YAML: {}", e.msg));
  }
  try {
    if (!root.IsMap()) {
      return ctx.At(root.IsNull() ? Location{1, 1} : LocationOf(root), "",
                    "a pipeline must be a map with a 'steps' key");
    }
    YAML::Node steps_node;
    Location steps_key;
    bool has_steps = false;
    for (const auto& kv : root) {
      CAIRN_ASSIGN_OR_RETURN(std::string key, KeyString(ctx, kv.first, ""));
      if (key != "steps") {
        return ctx.At(kv.first, "", fmt::format("unknown top-level key '{}' (known: steps)", key));
      }
      if (has_steps) return ctx.At(kv.first, "", "'steps' appears twice");
      has_steps = true;
      steps_node = kv.second;
      steps_key = LocationOf(kv.first);
    }
    if (!has_steps) return ctx.At(LocationOf(root), "", "'steps' is required");
    if (!steps_node.IsMap() || steps_node.size() == 0) {
      return ctx.At(steps_node.IsNull() ? steps_key : LocationOf(steps_node), "",
                    "'steps' must be a non-empty map of step name -> step");
    }
    PipelineSpec spec;
    spec.file_name = std::string(file_name);
    std::set<std::string> names;
    for (const auto& kv : steps_node) {
      CAIRN_ASSIGN_OR_RETURN(std::string name, KeyString(ctx, kv.first, ""));
      if (!names.insert(name).second) {
        return ctx.At(kv.first, name, "the step is declared twice");
      }
      CAIRN_ASSIGN_OR_RETURN(RawStep raw, ParseStep(ctx, kv.first, kv.second));
      CAIRN_ASSIGN_OR_RETURN(std::vector<Step> expanded, Expand(ctx, raw));
      for (Step& s : expanded) spec.steps.push_back(std::move(s));
    }
    return spec;
  } catch (const YAML::Exception& e) {
    return ctx.At(Location{e.mark.line + 1, e.mark.column + 1}, "",
                  fmt::format("invalid pipeline: {}", e.msg));
  }
}

Result<PipelineSpec> LoadPipelineSpec(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return NotFound(fmt::format("{}: no such file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(fmt::format("{}: cannot open for reading", path));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return InvalidArgument(fmt::format("{}: read failed", path));
  return ParsePipelineSpec(buf.str(), path);
}

}  // namespace cairn::pipeline
