#include "api/request_fields.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "tracking/validation.h"

namespace cairn::api {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Result<nlohmann::json> ParseJson(std::string_view body) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 9: ..."
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return BadRequest("Malformed JSON in request body: " + what);
  }
  return j;
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

}  // namespace

std::optional<double> ParseDoubleText(std::string_view s) {
  std::string l = Lower(s);
  if (l == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (l == "infinity" || l == "inf" || l == "+infinity" || l == "+inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (l == "-infinity" || l == "-inf") return -std::numeric_limits<double>::infinity();
  if (s.empty()) return std::nullopt;
  std::string_view d = s;
  if (d.front() == '+') d.remove_prefix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
  if (ec != std::errc() || p != d.data() + d.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> ParseInt64Text(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string_view d = s;
  if (d.front() == '+') d.remove_prefix(1);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
  if (ec != std::errc() || p != d.data() + d.size()) return std::nullopt;
  return v;
}

std::string_view PythonTypeName(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      return "NoneType";
    case nlohmann::json::value_t::object:
      return "dict";
    case nlohmann::json::value_t::array:
      return "list";
    case nlohmann::json::value_t::string:
      return "str";
    case nlohmann::json::value_t::boolean:
      return "bool";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "int";
    case nlohmann::json::value_t::number_float:
      return "float";
    default:
      return "object";
  }
}

std::string CompactJson(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {
std::unexpected<Error> Wrong(const nlohmann::json& v, std::string_view path) {
  return std::unexpected(tracking::WrongType(path, CompactJson(v), PythonTypeName(v)));
}
}  // namespace

Result<int64_t> JsonToInt64(const nlohmann::json& v, std::string_view path) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() &&
        v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Wrong(v, path);
    }
    return v.get<int64_t>();
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.2e18) {
      return static_cast<int64_t>(d);
    }
    return Wrong(v, path);
  }
  if (v.is_string()) {
    if (auto i = ParseInt64Text(v.get_ref<const std::string&>())) return *i;
  }
  return Wrong(v, path);
}

Result<double> JsonToDouble(const nlohmann::json& v, std::string_view path) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    if (auto d = ParseDoubleText(v.get_ref<const std::string&>())) return *d;
  }
  return Wrong(v, path);
}

Result<std::string> JsonToString(const nlohmann::json& v, std::string_view path) {
  if (v.is_string()) return v.get<std::string>();
  return Wrong(v, path);
}

Result<RequestFields> RequestFields::FromJsonBody(std::string_view body) {
  if (IsBlank(body)) return RequestFields(nlohmann::json::object());
  CAIRN_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(body));
  if (j.is_string()) {
    // Older MLflow clients post their JSON double-encoded as a string.
    std::string inner = j.get<std::string>();
    CAIRN_ASSIGN_OR_RETURN(j, ParseJson(inner));
  }
  if (j.is_null()) j = nlohmann::json::object();
  if (!j.is_object()) {
    return BadRequest("The request body must be a JSON object, got " +
                      std::string(PythonTypeName(j) == "list" ? "an array" : "a scalar") + ".");
  }
  return RequestFields(std::move(j));
}

Result<RequestFields> RequestFields::FromRequest(const http::Request& req,
                                                 std::initializer_list<std::string_view> repeated) {
  if (req.method != http::Method::kGet && req.method != http::Method::kHead) {
    return FromJsonBody(req.body);
  }
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : req.query) {
    bool is_list = std::find(repeated.begin(), repeated.end(), k) != repeated.end();
    if (is_list) {
      j[k].push_back(v);
    } else if (!j.contains(k)) {
      j[k] = v;  // first value wins, as Flask's args.get
    }
  }
  return RequestFields(std::move(j));
}

const nlohmann::json* RequestFields::Find(std::string_view name) const {
  auto it = json_.find(name);
  if (it == json_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool RequestFields::Has(std::string_view name) const { return Find(name) != nullptr; }

Result<std::optional<std::string>> RequestFields::String(std::string_view name) const {
  const nlohmann::json* v = Find(name);
  if (v == nullptr) return std::optional<std::string>();
  CAIRN_ASSIGN_OR_RETURN(std::string s, JsonToString(*v, name));
  return std::optional<std::string>(std::move(s));
}

Result<std::string> RequestFields::StringOrEmpty(std::string_view name) const {
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> s, String(name));
  return s.value_or("");
}

Result<std::optional<int64_t>> RequestFields::Int64(std::string_view name) const {
  const nlohmann::json* v = Find(name);
  if (v == nullptr) return std::optional<int64_t>();
  CAIRN_ASSIGN_OR_RETURN(int64_t i, JsonToInt64(*v, name));
  return std::optional<int64_t>(i);
}

Result<std::optional<double>> RequestFields::Double(std::string_view name) const {
  const nlohmann::json* v = Find(name);
  if (v == nullptr) return std::optional<double>();
  CAIRN_ASSIGN_OR_RETURN(double d, JsonToDouble(*v, name));
  return std::optional<double>(d);
}

Result<std::vector<std::string>> RequestFields::StringList(std::string_view name) const {
  std::vector<std::string> out;
  const nlohmann::json* v = Find(name);
  if (v == nullptr) return out;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
    return out;
  }
  if (!v->is_array()) return Wrong(*v, name);
  for (size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& item = (*v)[i];
    if (item.is_number_integer()) {
      // Experiment ids sent as numbers are still ids.
      out.push_back(std::to_string(item.get<int64_t>()));
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(std::string s,
                           JsonToString(item, std::string(name) + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<store::Tag>> RequestFields::KeyValueList(std::string_view name) const {
  std::vector<store::Tag> out;
  const nlohmann::json* v = Find(name);
  if (v == nullptr) return out;
  if (!v->is_array()) return Wrong(*v, name);
  for (size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& item = (*v)[i];
    std::string path = std::string(name) + "[" + std::to_string(i) + "]";
    if (!item.is_object()) return Wrong(item, path);
    store::Tag t;
    auto k = item.find("key");
    if (k == item.end() || k->is_null() ||
        (k->is_string() && k->get_ref<const std::string&>().empty())) {
      return std::unexpected(tracking::MissingRequired(path + ".key"));
    }
    CAIRN_ASSIGN_OR_RETURN(t.key, JsonToString(*k, path + ".key"));
    auto val = item.find("value");
    if (val != item.end() && !val->is_null()) {
      CAIRN_ASSIGN_OR_RETURN(t.value, JsonToString(*val, path + ".value"));
    }
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::optional<std::string>> RequestFields::Enum(std::string_view name,
                                                       const std::vector<std::string_view>& names,
                                                       int first_number) const {
  const nlohmann::json* v = Find(name);
  if (v == nullptr) return std::optional<std::string>();
  auto bad = [&]() -> std::unexpected<Error> {
    std::string list;
    for (std::string_view n : names) list += (list.empty() ? "" : ", ") + std::string(n);
    return InvalidArgument(
        tracking::InvalidValueMessage(name, CompactJson(*v), "must be one of " + list + "."));
  };
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    for (std::string_view n : names) {
      if (s == n) return std::optional<std::string>(std::string(n));
    }
    if (auto i = ParseInt64Text(s)) {
      int64_t idx = *i - first_number;
      if (idx >= 0 && idx < static_cast<int64_t>(names.size())) {
        return std::optional<std::string>(std::string(names[static_cast<size_t>(idx)]));
      }
    }
    return bad();
  }
  if (v->is_number_integer()) {
    int64_t idx = v->get<int64_t>() - first_number;
    if (idx >= 0 && idx < static_cast<int64_t>(names.size())) {
      return std::optional<std::string>(std::string(names[static_cast<size_t>(idx)]));
    }
    return bad();
  }
  return Wrong(*v, name);
}

std::string ActorOf(const http::Request& req) {
  std::optional<std::string> user = req.Header("x-cairn-user");
  if (!user || user->empty()) return "anonymous";
  return *user;
}

std::vector<std::string> SplitPath(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) slash = s.size();
    out.emplace_back(s.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

}  // namespace cairn::api
