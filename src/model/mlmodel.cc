#include "model/mlmodel.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

namespace cairn::model {
namespace {

using Json = nlohmann::ordered_json;

// Bounds the recursion when converting nested YAML (flavor configs, metadata).
constexpr int kMaxYamlDepth = 64;

class ManifestParser {
 public:
  explicit ManifestParser(std::string_view file_name) : file_(file_name) {}

  Result<ModelManifest> Parse(std::string_view text);

 private:
  // "MLmodel line 4, column 3: <message>", or "MLmodel: <message>" without a mark.
  std::unexpected<Error> ErrorAt(const YAML::Mark& mark, std::string_view message) const {
    if (mark.line >= 0 && mark.column >= 0) {
      return InvalidArgument(file_ + " line " + std::to_string(mark.line + 1) + ", column " +
                             std::to_string(mark.column + 1) + ": " + std::string(message));
    }
    return InvalidArgument(file_ + ": " + std::string(message));
  }
  std::unexpected<Error> Missing(std::string_view field) const {
    return InvalidArgument(file_ + ": field '" + std::string(field) + "' is missing");
  }
  std::unexpected<Error> WrongShape(const YAML::Node& node, std::string_view field,
                                    std::string_view expected) const {
    return ErrorAt(node.Mark(), "field '" + std::string(field) + "' must be " +
                                    std::string(expected) + ", not " + Kind(node));
  }
  static std::string Kind(const YAML::Node& node) {
    switch (node.Type()) {
      case YAML::NodeType::Sequence:
        return "a list";
      case YAML::NodeType::Map:
        return "a mapping";
      case YAML::NodeType::Scalar:
        return "'" + node.Scalar() + "'";
      default:
        return "null";
    }
  }

  // A string field: absent or null gives "", a scalar its text; anything
  // else is an error. `required` refuses absent/null/empty.
  Result<std::string> String(const YAML::Node& parent, const char* key, std::string_view field,
                             bool required = false) const;
  // Like String, and the value must be a relative path inside the model folder.
  Result<std::string> FileName(const YAML::Node& parent, const char* key, std::string_view field,
                               bool required = false) const;
  Status CheckRelative(const YAML::Node& node, std::string_view value,
                       std::string_view field) const;
  Result<Json> ToJson(const YAML::Node& node, std::string_view field, int depth) const;

  Status ParseFlavors(const YAML::Node& flavors, ModelManifest& out) const;
  Status ParseSignatureSection(const YAML::Node& node, ModelManifest& out) const;
  Status ParseInputExample(const YAML::Node& node, ModelManifest& out) const;

  std::string file_;
};

// YAML plain scalars: the JSON value PyYAML (YAML 1.1, as MLflow writes)
// would read. Quoted scalars are always strings.
Json PlainScalarToJson(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  const char* digits = (*begin == '+' || *begin == '-') ? begin + 1 : begin;
  if (digits != end) {
    bool all_digits = true;
    for (const char* p = digits; p != end; ++p) all_digits = all_digits && (*p >= '0' && *p <= '9');
    if (all_digits) {
      int64_t value = 0;
      auto [ptr, ec] = std::from_chars(digits, end, value);
      if (ec == std::errc() && ptr == end) return *begin == '-' ? -value : value;
      return s;  // out of range: keep the text
    }
    // A decimal number: digits, at most one '.', an optional exponent.
    bool has_digit = false;
    bool ok = true;
    const char* p = digits;
    while (p != end && *p >= '0' && *p <= '9') ++p, has_digit = true;
    if (p != end && *p == '.') {
      ++p;
      while (p != end && *p >= '0' && *p <= '9') ++p, has_digit = true;
    }
    if (p != end && (*p == 'e' || *p == 'E')) {
      ++p;
      if (p != end && (*p == '+' || *p == '-')) ++p;
      ok = p != end;
      while (p != end && *p >= '0' && *p <= '9') ++p;
    }
    if (ok && has_digit && p == end) {
      errno = 0;
      double value = std::strtod(s.c_str(), nullptr);
      if (errno == 0) return value;
    }
  }
  return s;  // ".inf", ".nan" and everything else: text (JSON has no inf/nan)
}

Result<std::string> ManifestParser::String(const YAML::Node& parent, const char* key,
                                           std::string_view field, bool required) const {
  const YAML::Node node = parent[key];
  if (!node.IsDefined() || node.IsNull()) {
    if (required) return Missing(field);
    return std::string();
  }
  if (!node.IsScalar()) return WrongShape(node, field, "a string");
  if (required && node.Scalar().empty()) {
    return ErrorAt(node.Mark(), "field '" + std::string(field) + "' is empty");
  }
  return node.Scalar();
}

Status ManifestParser::CheckRelative(const YAML::Node& node, std::string_view value,
                                     std::string_view field) const {
  auto bad = [&](std::string_view why) {
    return ErrorAt(node.Mark(), "field '" + std::string(field) + "' names '" + std::string(value) +
                                    "', " + std::string(why));
  };
  if (value.empty()) return {};
  if (value.front() == '/') return bad("an absolute path; it must be inside the model folder");
  if (value.find('\0') != std::string_view::npos || value.find('\\') != std::string_view::npos) {
    return bad("which is not a valid file name");
  }
  size_t start = 0;
  while (start <= value.size()) {
    size_t slash = value.find('/', start);
    std::string_view segment = value.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment == "..") return bad("which is outside the model folder");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

Result<std::string> ManifestParser::FileName(const YAML::Node& parent, const char* key,
                                             std::string_view field, bool required) const {
  CAIRN_ASSIGN_OR_RETURN(std::string value, String(parent, key, field, required));
  CAIRN_RETURN_IF_ERROR(CheckRelative(parent[key], value, field));
  return value;
}

Result<Json> ManifestParser::ToJson(const YAML::Node& node, std::string_view field,
                                    int depth) const {
  if (depth > kMaxYamlDepth) {
    return ErrorAt(node.Mark(), "field '" + std::string(field) + "' is nested too deeply");
  }
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return Json(nullptr);
    case YAML::NodeType::Scalar:
      // yaml-cpp tags plain scalars "?" and quoted ones "!".
      if (node.Tag() == "?") return PlainScalarToJson(node.Scalar());
      return Json(node.Scalar());
    case YAML::NodeType::Sequence: {
      Json list = Json::array();
      size_t i = 0;
      for (const YAML::Node& item : node) {
        CAIRN_ASSIGN_OR_RETURN(
            Json value,
            ToJson(item, std::string(field) + "[" + std::to_string(i++) + "]", depth + 1));
        list.push_back(std::move(value));
      }
      return list;
    }
    case YAML::NodeType::Map: {
      Json obj = Json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          return ErrorAt(kv.first.Mark(),
                         "field '" + std::string(field) + "' has a key that is not a string");
        }
        std::string key = kv.first.Scalar();
        CAIRN_ASSIGN_OR_RETURN(Json value,
                               ToJson(kv.second, std::string(field) + "." + key, depth + 1));
        obj[key] = std::move(value);
      }
      return obj;
    }
  }
  return Json(nullptr);
}

Status ManifestParser::ParseFlavors(const YAML::Node& flavors, ModelManifest& out) const {
  if (!flavors.IsDefined() || flavors.IsNull()) return Missing("flavors");
  if (!flavors.IsMap()) return WrongShape(flavors, "flavors", "a mapping of flavor names");
  if (flavors.size() == 0) {
    return ErrorAt(flavors.Mark(), "field 'flavors' is empty: a model needs at least one flavor");
  }
  for (const auto& kv : flavors) {
    if (!kv.first.IsScalar() || kv.first.Scalar().empty()) {
      return ErrorAt(kv.first.Mark(), "field 'flavors' has a flavor name that is not a string");
    }
    const std::string name = kv.first.Scalar();
    const std::string field = "flavors." + name;
    const YAML::Node& config = kv.second;
    if (!config.IsNull() && !config.IsMap()) return WrongShape(config, field, "a mapping");
    CAIRN_ASSIGN_OR_RETURN(Json json, ToJson(config, field, 0));
    if (json.is_null()) json = Json::object();
    out.flavors[name] = json.dump();
    if (config.IsNull()) continue;

    if (name == "python_function") {
      PythonFunctionFlavor f;
      CAIRN_ASSIGN_OR_RETURN(f.loader_module,
                             String(config, "loader_module", field + ".loader_module"));
      CAIRN_ASSIGN_OR_RETURN(f.python_version,
                             String(config, "python_version", field + ".python_version"));
      CAIRN_ASSIGN_OR_RETURN(f.data, FileName(config, "data", field + ".data"));
      CAIRN_ASSIGN_OR_RETURN(f.model_path, FileName(config, "model_path", field + ".model_path"));
      const YAML::Node env = config["env"];
      if (env.IsDefined() && !env.IsNull()) {
        if (env.IsScalar()) {  // MLflow < 2.0: `env: conda.yaml`
          CAIRN_ASSIGN_OR_RETURN(f.conda_env, FileName(config, "env", field + ".env"));
        } else if (env.IsMap()) {
          CAIRN_ASSIGN_OR_RETURN(f.conda_env, FileName(env, "conda", field + ".env.conda"));
          CAIRN_ASSIGN_OR_RETURN(f.virtualenv,
                                 FileName(env, "virtualenv", field + ".env.virtualenv"));
        } else {
          return WrongShape(env, field + ".env", "a mapping or a file name");
        }
      }
      if (!f.conda_env.empty()) out.requirements_files.push_back(f.conda_env);
      if (!f.virtualenv.empty()) out.requirements_files.push_back(f.virtualenv);
      out.python_function = std::move(f);
    } else if (name == "xgboost") {
      XgboostFlavor f;
      CAIRN_ASSIGN_OR_RETURN(f.data, FileName(config, "data", field + ".data", true));
      CAIRN_ASSIGN_OR_RETURN(f.model_format,
                             String(config, "model_format", field + ".model_format"));
      CAIRN_ASSIGN_OR_RETURN(f.xgb_version, String(config, "xgb_version", field + ".xgb_version"));
      CAIRN_ASSIGN_OR_RETURN(f.model_class, String(config, "model_class", field + ".model_class"));
      out.xgboost = std::move(f);
    } else if (name == "sklearn") {
      SklearnFlavor f;
      CAIRN_ASSIGN_OR_RETURN(f.pickled_model,
                             FileName(config, "pickled_model", field + ".pickled_model", true));
      CAIRN_ASSIGN_OR_RETURN(f.serialization_format, String(config, "serialization_format",
                                                            field + ".serialization_format"));
      CAIRN_ASSIGN_OR_RETURN(f.sklearn_version,
                             String(config, "sklearn_version", field + ".sklearn_version"));
      out.sklearn = std::move(f);
    }
  }
  return {};
}

Status ManifestParser::ParseSignatureSection(const YAML::Node& node, ModelManifest& out) const {
  if (!node.IsDefined() || node.IsNull()) return {};
  if (!node.IsMap()) return WrongShape(node, "signature", "a mapping");
  // Each part is a JSON string (or null) inside the YAML.
  auto part_text = [&](const char* key) -> Result<std::optional<std::string>> {
    const YAML::Node part = node[key];
    if (!part.IsDefined() || part.IsNull()) return std::optional<std::string>();
    if (!part.IsScalar()) {
      return WrongShape(part, std::string("signature.") + key, "a JSON string");
    }
    if (part.Scalar() == "null") return std::optional<std::string>();
    return std::optional<std::string>(part.Scalar());
  };
  auto located = [&](const char* key, const Error& e) {
    return ErrorAt(node[key].Mark(), e.message());
  };
  Signature sig;
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> inputs, part_text("inputs"));
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> outputs, part_text("outputs"));
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> params, part_text("params"));
  if (inputs) {
    auto schema = ParseSchema(*inputs, "signature.inputs");
    if (!schema) return located("inputs", schema.error());
    sig.inputs = std::move(*schema);
  }
  if (outputs) {
    auto schema = ParseSchema(*outputs, "signature.outputs");
    if (!schema) return located("outputs", schema.error());
    sig.outputs = std::move(*schema);
  }
  if (params) {
    auto parsed = ParseParams(*params, "signature.params");
    if (!parsed) return located("params", parsed.error());
    sig.params = std::move(*parsed);
  }
  sig.inputs_are_tensors = sig.inputs && sig.inputs->is_tensor;
  out.signature = std::move(sig);
  return {};
}

Status ManifestParser::ParseInputExample(const YAML::Node& node, ModelManifest& out) const {
  if (!node.IsDefined() || node.IsNull()) return {};
  constexpr std::string_view kField = "saved_input_example_info";
  if (!node.IsMap()) return WrongShape(node, kField, "a mapping");
  InputExample ex;
  CAIRN_ASSIGN_OR_RETURN(ex.type, String(node, "type", "saved_input_example_info.type"));
  CAIRN_ASSIGN_OR_RETURN(
      ex.artifact_path,
      FileName(node, "artifact_path", "saved_input_example_info.artifact_path", true));
  CAIRN_ASSIGN_OR_RETURN(
      ex.serving_input_path,
      FileName(node, "serving_input_path", "saved_input_example_info.serving_input_path"));
  CAIRN_ASSIGN_OR_RETURN(ex.pandas_orient,
                         String(node, "pandas_orient", "saved_input_example_info.pandas_orient"));
  CAIRN_ASSIGN_OR_RETURN(Json info, ToJson(node, kField, 0));
  ex.info_json = info.dump();
  out.input_example = std::move(ex);
  return {};
}

Result<ModelManifest> ManifestParser::Parse(std::string_view text) {
  if (text.size() > kMaxMlModelBytes) {
    return InvalidArgument(file_ + ": the file is " + std::to_string(text.size()) +
                           " bytes; at most " + std::to_string(kMaxMlModelBytes) + " are accepted");
  }
  YAML::Node loaded;
  try {
    loaded = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return ErrorAt(e.mark, "not valid YAML: " + e.msg);
  }
  const YAML::Node& root = loaded;  // const: lookups of absent keys insert nothing
  if (!root.IsDefined() || root.IsNull()) return InvalidArgument(file_ + ": the file is empty");
  if (!root.IsMap()) {
    return ErrorAt(root.Mark(),
                   "not an MLmodel file: the top level must be a mapping, not " + Kind(root));
  }
  ModelManifest out;
  CAIRN_RETURN_IF_ERROR(ParseFlavors(root["flavors"], out));
  CAIRN_ASSIGN_OR_RETURN(out.artifact_path, String(root, "artifact_path", "artifact_path"));
  CAIRN_ASSIGN_OR_RETURN(out.run_id, String(root, "run_id", "run_id"));
  CAIRN_ASSIGN_OR_RETURN(out.model_uuid, String(root, "model_uuid", "model_uuid"));
  CAIRN_ASSIGN_OR_RETURN(out.model_id, String(root, "model_id", "model_id"));
  CAIRN_ASSIGN_OR_RETURN(out.utc_time_created,
                         String(root, "utc_time_created", "utc_time_created"));
  CAIRN_ASSIGN_OR_RETURN(out.mlflow_version, String(root, "mlflow_version", "mlflow_version"));

  if (const YAML::Node size = root["model_size_bytes"]; size.IsDefined() && !size.IsNull()) {
    int64_t value = -1;
    if (size.IsScalar()) {
      const std::string& s = size.Scalar();
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
      if (ec != std::errc() || ptr != s.data() + s.size()) value = -1;
    }
    if (value < 0) return WrongShape(size, "model_size_bytes", "a non-negative integer");
    out.model_size_bytes = value;
  }
  CAIRN_RETURN_IF_ERROR(ParseSignatureSection(root["signature"], out));
  CAIRN_RETURN_IF_ERROR(ParseInputExample(root["saved_input_example_info"], out));
  if (const YAML::Node meta = root["metadata"]; meta.IsDefined() && !meta.IsNull()) {
    if (!meta.IsMap()) return WrongShape(meta, "metadata", "a mapping");
    CAIRN_ASSIGN_OR_RETURN(Json json, ToJson(meta, "metadata", 0));
    out.metadata_json = json.dump();
  }
  return out;
}

// Reads a whole regular file of at most `limit` bytes. kNotFound when absent.
Result<std::string> ReadSmallFile(const std::string& path, std::string_view display_name,
                                  size_t limit) {
  std::error_code ec;
  auto status = std::filesystem::symlink_status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return NotFound("model file '" + std::string(display_name) + "' does not exist");
  }
  if (!std::filesystem::is_regular_file(status)) {
    return InvalidArgument("'" + std::string(display_name) + "' is not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Internal("cannot open '" + std::string(display_name) + "': " + std::strerror(errno));
  std::string text;
  text.resize(limit + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Internal("cannot read '" + std::string(display_name) + "'");
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

}  // namespace

Result<ModelManifest> ParseMlModel(std::string_view yaml_text, std::string_view file_name) {
  ManifestParser parser(file_name);
  try {
    return parser.Parse(yaml_text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string(file_name) + ": " + e.what());
  } catch (const std::exception& e) {
    return Internal(std::string(file_name) + ": cannot be read: " + e.what());
  }
}

Result<ModelManifest> LoadModelPackage(const std::string& folder, std::string_view display_name) {
  namespace fs = std::filesystem;
  const std::string mlmodel_path = folder + "/MLmodel";
  CAIRN_ASSIGN_OR_RETURN(std::string text,
                         ReadSmallFile(mlmodel_path, display_name, kMaxMlModelBytes));
  CAIRN_ASSIGN_OR_RETURN(ModelManifest manifest, ParseMlModel(text, display_name));

  // Every file a known field names must be there (a file or a folder).
  std::vector<std::pair<std::string, std::string>> named;  // field, file
  if (manifest.xgboost) named.emplace_back("flavors.xgboost.data", manifest.xgboost->data);
  if (manifest.sklearn) {
    named.emplace_back("flavors.sklearn.pickled_model", manifest.sklearn->pickled_model);
  }
  if (manifest.python_function) {
    const PythonFunctionFlavor& f = *manifest.python_function;
    named.emplace_back("flavors.python_function.data", f.data);
    named.emplace_back("flavors.python_function.model_path", f.model_path);
    named.emplace_back("flavors.python_function.env.conda", f.conda_env);
    named.emplace_back("flavors.python_function.env.virtualenv", f.virtualenv);
  }
  if (manifest.input_example) {
    named.emplace_back("saved_input_example_info.artifact_path",
                       manifest.input_example->artifact_path);
    named.emplace_back("saved_input_example_info.serving_input_path",
                       manifest.input_example->serving_input_path);
  }
  for (const auto& [field, file] : named) {
    if (file.empty()) continue;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(folder + "/" + file, ec))) {
      return InvalidArgument(std::string(display_name) + ": field '" + field + "' names '" + file +
                             "', which is not in the model folder");
    }
  }
  {
    std::error_code ec;
    if (fs::is_regular_file(fs::symlink_status(folder + "/requirements.txt", ec))) {
      manifest.requirements_files.push_back("requirements.txt");
    }
  }
  if (!manifest.model_size_bytes) {
    std::error_code ec;
    int64_t total = 0;
    fs::recursive_directory_iterator it(folder, fs::directory_options::none, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      fs::file_status st = it->symlink_status(ec);
      if (ec) break;
      if (fs::is_regular_file(st)) {
        auto size = it->file_size(ec);
        if (ec) break;
        total += static_cast<int64_t>(size);
      }
    }
    if (ec) {
      return Internal("cannot measure model folder of '" + std::string(display_name) +
                      "': " + ec.message());
    }
    manifest.model_size_bytes = total;
  }
  return manifest;
}

}  // namespace cairn::model
