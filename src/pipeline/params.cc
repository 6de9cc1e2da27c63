#include "pipeline/params.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <system_error>

#include "core/json_writer.h"
#include "data/yaml_node.h"
#include "pipeline/param_value.h"

namespace cairn::pipeline {
namespace internal {

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  AppendJsonEscaped(out, s);
  out += '"';
}

bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  auto digit = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digit(i)) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (digit(i)) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return i == s.size();
}

int LineOf(const YAML::Node& node) {
  const int line = data::YamlMarkLine(node);
  return line >= 0 ? line + 1 : 0;
}

}  // namespace internal

namespace {

namespace fs = std::filesystem;
using internal::AppendJsonString;
using internal::IsJsonNumber;

constexpr std::string_view kDefaultParamsFile = "params.yaml";
constexpr std::string_view kTagStr = "tag:yaml.org,2002:str";
constexpr std::string_view kTagInt = "tag:yaml.org,2002:int";
constexpr std::string_view kTagFloat = "tag:yaml.org,2002:float";
constexpr std::string_view kTagBool = "tag:yaml.org,2002:bool";
constexpr std::string_view kTagNull = "tag:yaml.org,2002:null";

// A parsed params document: scalars hold their canonical JSON text.
struct ParamNode {
  enum class Kind { kScalar, kMap, kList };
  Kind kind = Kind::kScalar;
  std::string json;                 // kScalar
  std::vector<std::string> keys;    // kMap, in document order
  std::vector<ParamNode> children;  // kMap (parallel to keys) and kList
  int line = 0;                     // 1-based, 0 when unknown

  const ParamNode* Child(std::string_view key) const {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return &children[i];
    }
    return nullptr;
  }
};

void Render(const ParamNode& node, std::string& out) {
  switch (node.kind) {
    case ParamNode::Kind::kScalar:
      out += node.json;
      return;
    case ParamNode::Kind::kList:
      out += '[';
      for (size_t i = 0; i < node.children.size(); ++i) {
        if (i) out += ',';
        Render(node.children[i], out);
      }
      out += ']';
      return;
    case ParamNode::Kind::kMap: {
      std::vector<size_t> order(node.keys.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(),
                [&](size_t a, size_t b) { return node.keys[a] < node.keys[b]; });
      out += '{';
      for (size_t i = 0; i < order.size(); ++i) {
        if (i) out += ',';
        AppendJsonString(out, node.keys[order[i]]);
        out += ':';
        Render(node.children[order[i]], out);
      }
      out += '}';
      return;
    }
  }
}

std::string Render(const ParamNode& node) {
  std::string out;
  Render(node, out);
  return out;
}

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

bool AllOf(std::string_view s, int (*pred)(int)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return pred(static_cast<unsigned char>(c)) != 0;
  });
}

int IsOctalDigit(int c) { return c >= '0' && c <= '7'; }

// A YAML 1.2 core-schema number that is not already a JSON number, as the
// shortest JSON number with its value; nullopt when `s` is no such number.
std::optional<std::string> NormalizeYamlNumber(std::string_view s) {
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  // Integers: decimal (maybe signed, leading zeros), 0o octal, 0x hex.
  if (AllOf(body, isdigit)) {
    size_t first = body.find_first_not_of('0');
    std::string digits = first == std::string_view::npos ? "0" : std::string(body.substr(first));
    return (negative && digits != "0" ? "-" : "") + digits;
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    std::string_view digits = s.substr(2);
    int base = s[1] == 'o' ? 8 : 16;
    if (!AllOf(digits, base == 8 ? IsOctalDigit : isxdigit)) return std::nullopt;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
    return std::to_string(v);
  }
  // Floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  size_t i = 0;
  size_t int_digits = 0;
  while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++int_digits;
  size_t frac_digits = 0;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return std::nullopt;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != body.size()) return std::nullopt;
  std::string text(s);
  errno = 0;
  double v = std::strtod(text.c_str(), nullptr);
  if (!std::isfinite(v)) return std::nullopt;
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return std::nullopt;
  std::string out(buf, p);
  if (!IsJsonNumber(out)) return std::nullopt;
  return out;
}

// The canonical JSON of a YAML scalar (header of param_value.h).
std::string ScalarJson(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  const std::string& s = node.Scalar();
  if (tag == "!" || tag == kTagStr) return Quoted(s);
  bool plain = tag == "?" || tag.empty();
  if (plain || tag == kTagNull) {
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return "null";
  }
  if (plain || tag == kTagBool) {
    if (s == "true" || s == "True" || s == "TRUE") return "true";
    if (s == "false" || s == "False" || s == "FALSE") return "false";
  }
  if (plain || tag == kTagInt || tag == kTagFloat) {
    if (IsJsonNumber(s)) return s;
    if (auto n = NormalizeYamlNumber(s)) return *n;
  }
  return Quoted(s);
}

Result<ParamNode> FromYaml(const YAML::Node& node, std::string_view where) {
  ParamNode out;
  out.line = internal::LineOf(node);
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      out.json = ScalarJson(node);
      return out;
    case YAML::NodeType::Sequence:
      out.kind = ParamNode::Kind::kList;
      for (const auto& item : node) {
        CAIRN_ASSIGN_OR_RETURN(ParamNode child, FromYaml(item, where));
        out.children.push_back(std::move(child));
      }
      return out;
    case YAML::NodeType::Map:
      out.kind = ParamNode::Kind::kMap;
      for (const auto& kv : node) {
        const YAML::Node key = kv.first;
        int line = internal::LineOf(key);
        if (!key.IsScalar()) {
          return InvalidArgument(fmt::format("{}:{}: a key must be a scalar", where, line));
        }
        if (out.Child(key.Scalar()) != nullptr) {
          return InvalidArgument(
              fmt::format("{}:{}: key '{}' is repeated", where, line, key.Scalar()));
        }
        CAIRN_ASSIGN_OR_RETURN(ParamNode child, FromYaml(kv.second, where));
        out.keys.push_back(key.Scalar());
        out.children.push_back(std::move(child));
      }
      return out;
    default:
      out.json = "null";
      return out;
  }
}

// nlohmann SAX handler building a ParamNode and keeping floats as written.
class JsonBuilder {
 public:
  using json = nlohmann::json;
  explicit JsonBuilder(std::string_view text) : text_(text) {}

  bool null() { return Scalar("null"); }
  bool boolean(bool v) { return Scalar(v ? "true" : "false"); }
  bool number_integer(json::number_integer_t v) { return Scalar(std::to_string(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return Scalar(std::to_string(v)); }
  bool number_float(json::number_float_t, const json::string_t& s) { return Scalar(s); }
  bool string(json::string_t& s) { return Scalar(Quoted(s)); }
  bool binary(json::binary_t&) { return Scalar("null"); }
  bool start_object(std::size_t) {
    ParamNode n;
    n.kind = ParamNode::Kind::kMap;
    return Push(std::move(n));
  }
  bool key(json::string_t& k) {
    ParamNode& map = stack_.back().second;
    if (map.Child(k) != nullptr) {
      error_ = fmt::format("key '{}' is repeated", k);
      return false;
    }
    pending_key_ = k;
    return true;
  }
  bool end_object() { return Pop(); }
  bool start_array(std::size_t) {
    ParamNode n;
    n.kind = ParamNode::Kind::kList;
    return Push(std::move(n));
  }
  bool end_array() { return Pop(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    error_position_ = position;
    error_ = e.what();
    // nlohmann's message is "[json.exception.parse_error.101] parse error at ...".
    if (auto p = error_.find("] "); p != std::string::npos) error_ = error_.substr(p + 2);
    return false;
  }

  std::optional<ParamNode>& root() { return root_; }
  const std::string& error() const { return error_; }
  // 1-based line of the error (position is a 1-based byte count).
  int ErrorLine() const {
    size_t end = std::min(error_position_, text_.size());
    return 1 + static_cast<int>(
                   std::count(text_.begin(), text_.begin() + static_cast<long>(end), '\n'));
  }

 private:
  bool Scalar(std::string json) {
    ParamNode n;
    n.json = std::move(json);
    return Attach(std::move(n));
  }
  // A container opened inside a map remembers its key until it closes.
  bool Push(ParamNode n) {
    stack_.emplace_back(std::move(pending_key_), std::move(n));
    pending_key_.clear();
    return true;
  }
  bool Pop() {
    auto [key, n] = std::move(stack_.back());
    stack_.pop_back();
    pending_key_ = std::move(key);
    return Attach(std::move(n));
  }
  bool Attach(ParamNode n) {
    if (stack_.empty()) {
      root_ = std::move(n);
      return true;
    }
    ParamNode& parent = stack_.back().second;
    if (parent.kind == ParamNode::Kind::kMap) parent.keys.push_back(std::move(pending_key_));
    pending_key_.clear();
    parent.children.push_back(std::move(n));
    return true;
  }

  std::string_view text_;
  std::vector<std::pair<std::string, ParamNode>> stack_;
  std::string pending_key_;
  std::optional<ParamNode> root_;
  std::string error_;
  size_t error_position_ = 0;
};

bool IsJsonFile(std::string_view file) {
  if (file.size() < 5) return false;
  std::string ext(file.substr(file.size() - 5));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".json";
}

Result<ParamNode> ParseParamsText(const std::string& text, std::string_view file) {
  if (IsJsonFile(file)) {
    JsonBuilder builder(text);
    bool ok = false;
    try {
      ok = nlohmann::json::sax_parse(text, &builder);
    } catch (const std::exception& e) {
      return InvalidArgument(fmt::format("{}: invalid JSON: {}", file, e.what()));
    }
    if (!ok || !builder.root()) {
      return InvalidArgument(
          fmt::format("{}:{}: invalid JSON: {}", file, builder.ErrorLine(), builder.error()));
    }
    return std::move(*builder.root());
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}:{}: invalid YAML: {}", file, e.mark.line + 1, e.msg));
  }
  try {
    if (root.IsNull()) {
      ParamNode empty;
      empty.kind = ParamNode::Kind::kMap;
      return empty;
    }
    return FromYaml(root, file);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}:{}: invalid YAML: {}", file, e.mark.line + 1, e.msg));
  }
}

Result<ParamNode> LoadParamsFile(const fs::path& root, const ParamRef& ref, std::string_view step) {
  fs::path path = root / fs::path(ref.file);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::error_code ec;
    if (err == ENOENT || !fs::exists(path, ec)) {
      return NotFound(fmt::format("step '{}': params file {} does not exist (it holds '{}')", step,
                                  ref.file, ref.key));
    }
    return Internal(fmt::format("step '{}': cannot read params file {}: {}", step, ref.file,
                                std::strerror(err)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Internal(fmt::format("cannot read params file {}", ref.file));
  CAIRN_ASSIGN_OR_RETURN(ParamNode node, ParseParamsText(text.str(), ref.file));
  if (node.kind != ParamNode::Kind::kMap) {
    return InvalidArgument(
        fmt::format("{}: the top level must be a mapping of keys (step '{}')", ref.file, step));
  }
  return node;
}

std::vector<std::string> Split(std::string_view key) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    out.emplace_back(key.substr(start, dot == std::string_view::npos ? key.npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to; ++i) {
    if (i > from) out += '.';
    out += parts[i];
  }
  return out;
}

// Walks `segments[i..]` from `node`: nested keys, a key that itself holds
// dots ("a.b": 1 at one level), or a list index. `deepest`/`deepest_depth`
// record the furthest container reached, for the error message.
const ParamNode* Find(const ParamNode& node, const std::vector<std::string>& segments, size_t i,
                      const ParamNode** deepest, size_t* deepest_depth) {
  if (i == segments.size()) return &node;
  if (i >= *deepest_depth || *deepest == nullptr) {
    *deepest = &node;
    *deepest_depth = i;
  }
  if (node.kind == ParamNode::Kind::kMap) {
    for (size_t j = i + 1; j <= segments.size(); ++j) {
      if (const ParamNode* child = node.Child(Join(segments, i, j))) {
        if (const ParamNode* found = Find(*child, segments, j, deepest, deepest_depth))
          return found;
      }
    }
  } else if (node.kind == ParamNode::Kind::kList) {
    const std::string& s = segments[i];
    size_t index = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), index);
    if (ec == std::errc() && p == s.data() + s.size() && index < node.children.size()) {
      return Find(node.children[index], segments, i + 1, deepest, deepest_depth);
    }
  }
  return nullptr;
}

Result<std::string> Lookup(const ParamNode& root, const ParamRef& ref, std::string_view step) {
  std::vector<std::string> segments = Split(ref.key);
  const ParamNode* deepest = nullptr;
  size_t depth = 0;
  if (const ParamNode* found = Find(root, segments, 0, &deepest, &depth)) return Render(*found);
  std::string hint;
  std::string under = depth == 0 ? "" : Join(segments, 0, depth);
  if (deepest == nullptr || deepest->kind == ParamNode::Kind::kMap) {
    std::string keys;
    if (deepest != nullptr) {
      std::vector<std::string> sorted = deepest->keys;
      std::sort(sorted.begin(), sorted.end());
      for (size_t i = 0; i < sorted.size(); ++i) keys += (i ? ", " : "") + sorted[i];
    }
    if (keys.empty()) keys = "none";
    hint = depth == 0 ? fmt::format("top-level keys: {}", keys)
                      : fmt::format("keys under '{}': {}", under, keys);
  } else if (deepest->kind == ParamNode::Kind::kList) {
    hint = fmt::format("'{}' is a list of {}", under, deepest->children.size());
  } else {
    hint = fmt::format("'{}' is {}", under, deepest->json);
  }
  return InvalidArgument(
      fmt::format("{} has no key '{}' (step '{}'; {})", ref.file, ref.key, step, hint));
}

}  // namespace

namespace internal {

Result<std::string> CanonicalJsonFromYaml(const YAML::Node& node, std::string_view where) {
  try {
    CAIRN_ASSIGN_OR_RETURN(ParamNode parsed, FromYaml(node, where));
    return Render(parsed);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}:{}: invalid YAML: {}", where, e.mark.line + 1, e.msg));
  }
}

}  // namespace internal

std::string ParamDisplayKey(const ParamRef& ref) {
  if (ref.file == kDefaultParamsFile) return ref.key;
  return ref.file + ":" + ref.key;
}

Result<std::map<std::string, std::string>> ReadParams(const std::filesystem::path& root,
                                                      const std::vector<ParamRef>& refs,
                                                      std::string_view step) {
  std::map<std::string, ParamNode> files;
  std::map<std::string, std::string> out;
  for (const ParamRef& ref : refs) {
    auto it = files.find(ref.file);
    if (it == files.end()) {
      CAIRN_ASSIGN_OR_RETURN(ParamNode node, LoadParamsFile(root, ref, step));
      it = files.emplace(ref.file, std::move(node)).first;
    }
    CAIRN_ASSIGN_OR_RETURN(std::string value, Lookup(it->second, ref, step));
    out[ParamDisplayKey(ref)] = std::move(value);
  }
  return out;
}

}  // namespace cairn::pipeline
