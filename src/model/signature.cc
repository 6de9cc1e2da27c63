#include "model/signature.h"

#include <array>
#include <nlohmann/json.hpp>
#include <set>

namespace cairn::model {
namespace {

using Json = nlohmann::ordered_json;

// Bounds the recursion over nested array/object/map types.
constexpr int kMaxTypeDepth = 64;

struct TypeName {
  DataType type;
  std::string_view name;
};
constexpr std::array<TypeName, 12> kTypeNames = {{
    {DataType::kBoolean, "boolean"},
    {DataType::kInteger, "integer"},
    {DataType::kLong, "long"},
    {DataType::kFloat, "float"},
    {DataType::kDouble, "double"},
    {DataType::kString, "string"},
    {DataType::kBinary, "binary"},
    {DataType::kDatetime, "datetime"},
    {DataType::kArray, "array"},
    {DataType::kObject, "object"},
    {DataType::kMap, "map"},
    {DataType::kAny, "any"},
}};

std::unexpected<Error> FieldError(std::string_view field, std::string_view problem) {
  return InvalidArgument("field '" + std::string(field) + "' " + std::string(problem));
}

std::string Indexed(std::string_view where, size_t i) {
  return std::string(where) + "[" + std::to_string(i) + "]";
}

std::string Member(std::string_view where, std::string_view key) {
  return std::string(where) + "." + std::string(key);
}

std::string_view JsonKind(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "a list";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "a number";
    default:
      return "not JSON";
  }
}

Result<Json> ParseJsonText(std::string_view text, std::string_view where) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    return FieldError(where, std::string("is not valid JSON: ") + e.what());
  }
}

Result<std::string> RequiredString(const Json& obj, std::string_view key, std::string_view where) {
  auto it = obj.find(key);
  if (it == obj.end()) return FieldError(Member(where, key), "is missing");
  if (!it->is_string()) {
    return FieldError(Member(where, key), "must be a string, not " + std::string(JsonKind(*it)));
  }
  return it->get<std::string>();
}

Result<std::optional<std::string>> OptionalName(const Json& obj, std::string_view where) {
  auto it = obj.find("name");
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) {
    return FieldError(Member(where, "name"), "must be a string, not " + std::string(JsonKind(*it)));
  }
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::vector<int64_t>> ParseShape(const Json& shape, std::string_view where) {
  if (!shape.is_array()) {
    return FieldError(where, "must be a list of integers, not " + std::string(JsonKind(shape)));
  }
  std::vector<int64_t> out;
  for (size_t i = 0; i < shape.size(); ++i) {
    const Json& dim = shape[i];
    if (!dim.is_number_integer()) {
      return FieldError(Indexed(where, i), "must be an integer, not " + std::string(JsonKind(dim)));
    }
    int64_t value = dim.get<int64_t>();
    if (value < -1) return FieldError(Indexed(where, i), "must be -1 or a size >= 0");
    out.push_back(value);
  }
  return out;
}

// Checks a (possibly nested) column type object. Known complex types must
// carry their parts; unknown type names are accepted as they are.
Status CheckType(const Json& type, std::string_view where, int depth) {
  if (depth > kMaxTypeDepth) return FieldError(where, "is nested too deeply");
  if (!type.is_object()) {
    return FieldError(where, "must be an object, not " + std::string(JsonKind(type)));
  }
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(type, "type", where));
  switch (DataTypeFromName(name)) {
    case DataType::kArray: {
      auto items = type.find("items");
      if (items == type.end()) return FieldError(Member(where, "items"), "is missing");
      return CheckType(*items, Member(where, "items"), depth + 1);
    }
    case DataType::kMap: {
      auto values = type.find("values");
      if (values == type.end()) return FieldError(Member(where, "values"), "is missing");
      return CheckType(*values, Member(where, "values"), depth + 1);
    }
    case DataType::kObject: {
      auto props = type.find("properties");
      if (props == type.end()) return FieldError(Member(where, "properties"), "is missing");
      if (!props->is_object()) {
        return FieldError(Member(where, "properties"),
                          "must be an object, not " + std::string(JsonKind(*props)));
      }
      for (const auto& [key, value] : props->items()) {
        CAIRN_RETURN_IF_ERROR(
            CheckType(value, Member(Member(where, "properties"), key), depth + 1));
      }
      return {};
    }
    default:
      return {};
  }
}

Result<TensorSpec> ParseTensorSpec(const Json& spec, std::string_view where) {
  TensorSpec out;
  CAIRN_ASSIGN_OR_RETURN(out.name, OptionalName(spec, where));
  std::string spec_where = Member(where, "tensor-spec");
  auto it = spec.find("tensor-spec");
  if (it == spec.end()) return FieldError(spec_where, "is missing");
  if (!it->is_object()) {
    return FieldError(spec_where, "must be an object, not " + std::string(JsonKind(*it)));
  }
  CAIRN_ASSIGN_OR_RETURN(out.dtype, RequiredString(*it, "dtype", spec_where));
  if (out.dtype.empty()) return FieldError(Member(spec_where, "dtype"), "is empty");
  auto shape = it->find("shape");
  if (shape == it->end()) return FieldError(Member(spec_where, "shape"), "is missing");
  CAIRN_ASSIGN_OR_RETURN(out.shape, ParseShape(*shape, Member(spec_where, "shape")));
  return out;
}

Result<ColumnSpec> ParseColumnSpec(const Json& spec, std::string_view where) {
  ColumnSpec out;
  CAIRN_ASSIGN_OR_RETURN(out.name, OptionalName(spec, where));
  CAIRN_ASSIGN_OR_RETURN(out.type, RequiredString(spec, "type", where));
  out.data_type = DataTypeFromName(out.type);
  if (auto req = spec.find("required"); req != spec.end() && !req->is_null()) {
    if (!req->is_boolean()) {
      return FieldError(Member(where, "required"),
                        "must be true or false, not " + std::string(JsonKind(*req)));
    }
    out.required = req->get<bool>();
  }
  Json type = Json::object();
  for (const auto& [key, value] : spec.items()) {
    if (key != "name" && key != "required") type[key] = value;
  }
  CAIRN_RETURN_IF_ERROR(CheckType(type, where, 0));
  // Canonical (sorted keys), so equal types compare equal as text.
  out.type_json = nlohmann::json::parse(type.dump()).dump();
  return out;
}

Result<Schema> SchemaFromJson(const Json& list, std::string_view where) {
  if (!list.is_array()) {
    return FieldError(
        where, "must be a JSON list of column or tensor specs, not " + std::string(JsonKind(list)));
  }
  Schema schema;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& spec = list[i];
    std::string spec_where = Indexed(where, i);
    if (!spec.is_object()) {
      return FieldError(spec_where, "must be an object, not " + std::string(JsonKind(spec)));
    }
    auto type = spec.find("type");
    if (type == spec.end()) return FieldError(Member(spec_where, "type"), "is missing");
    bool is_tensor = type->is_string() && type->get<std::string>() == "tensor";
    if (i == 0) {
      schema.is_tensor = is_tensor;
    } else if (is_tensor != schema.is_tensor) {
      return FieldError(where, "mixes column specs and tensor specs");
    }
    std::optional<std::string> name;
    if (is_tensor) {
      CAIRN_ASSIGN_OR_RETURN(TensorSpec tensor, ParseTensorSpec(spec, spec_where));
      name = tensor.name;
      schema.tensors.push_back(std::move(tensor));
    } else {
      CAIRN_ASSIGN_OR_RETURN(ColumnSpec column, ParseColumnSpec(spec, spec_where));
      name = column.name;
      schema.columns.push_back(std::move(column));
    }
    if (name && !names.insert(*name).second) {
      return FieldError(where, "names '" + *name + "' twice");
    }
  }
  return schema;
}

Result<std::vector<ParamSpec>> ParamsFromJson(const Json& list, std::string_view where) {
  if (!list.is_array()) {
    return FieldError(where,
                      "must be a JSON list of param specs, not " + std::string(JsonKind(list)));
  }
  std::vector<ParamSpec> params;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& spec = list[i];
    std::string spec_where = Indexed(where, i);
    if (!spec.is_object()) {
      return FieldError(spec_where, "must be an object, not " + std::string(JsonKind(spec)));
    }
    ParamSpec param;
    CAIRN_ASSIGN_OR_RETURN(param.name, RequiredString(spec, "name", spec_where));
    auto type = spec.find("type");
    if (type == spec.end()) return FieldError(Member(spec_where, "type"), "is missing");
    param.type = type->is_string() ? type->get<std::string>() : type->dump();
    auto def = spec.find("default");
    param.default_json = def == spec.end() ? "null" : def->dump();
    if (auto shape = spec.find("shape"); shape != spec.end() && !shape->is_null()) {
      CAIRN_ASSIGN_OR_RETURN(param.shape, ParseShape(*shape, Member(spec_where, "shape")));
    }
    if (!names.insert(param.name).second) {
      return FieldError(where, "names '" + param.name + "' twice");
    }
    params.push_back(std::move(param));
  }
  return params;
}

// `part` is a JSON value that is null, a list, or (MLflow's dictionary form)
// a string holding the list.
Result<std::optional<Json>> Unwrap(const Json& part, std::string_view where) {
  if (part.is_null()) return std::optional<Json>();
  if (!part.is_string()) return std::optional<Json>(part);
  CAIRN_ASSIGN_OR_RETURN(Json parsed, ParseJsonText(part.get<std::string>(), where));
  if (parsed.is_null()) return std::optional<Json>();
  return std::optional<Json>(std::move(parsed));
}

Result<Signature> SignatureFromParts(const std::optional<Json>& inputs,
                                     const std::optional<Json>& outputs,
                                     const std::optional<Json>& params, std::string_view where) {
  Signature sig;
  if (inputs) {
    CAIRN_ASSIGN_OR_RETURN(sig.inputs, SchemaFromJson(*inputs, Member(where, "inputs")));
  }
  if (outputs) {
    CAIRN_ASSIGN_OR_RETURN(sig.outputs, SchemaFromJson(*outputs, Member(where, "outputs")));
  }
  if (params) {
    CAIRN_ASSIGN_OR_RETURN(sig.params, ParamsFromJson(*params, Member(where, "params")));
  }
  sig.inputs_are_tensors = sig.inputs && sig.inputs->is_tensor;
  return sig;
}

Result<std::optional<Json>> ParsePart(std::optional<std::string_view> text,
                                      std::string_view where) {
  if (!text) return std::optional<Json>();
  CAIRN_ASSIGN_OR_RETURN(Json parsed, ParseJsonText(*text, where));
  if (parsed.is_null()) return std::optional<Json>();
  return std::optional<Json>(std::move(parsed));
}

Json SchemaToJson(const Schema& schema) {
  Json list = Json::array();
  if (schema.is_tensor) {
    for (const TensorSpec& t : schema.tensors) {
      Json spec = Json::object();
      if (t.name) spec["name"] = *t.name;
      spec["type"] = "tensor";
      spec["tensor-spec"] = Json{{"dtype", t.dtype}, {"shape", t.shape}};
      list.push_back(std::move(spec));
    }
    return list;
  }
  for (const ColumnSpec& c : schema.columns) {
    Json spec = Json::object();
    if (c.name) spec["name"] = *c.name;
    spec["type"] = c.type;
    Json type = Json::parse(c.type_json, nullptr, /*allow_exceptions=*/false);
    if (type.is_object()) {  // a ColumnSpec built by hand may lack type_json
      for (const auto& [key, value] : type.items()) {
        if (key != "type") spec[key] = value;
      }
    }
    spec["required"] = c.required;
    list.push_back(std::move(spec));
  }
  return list;
}

bool Converts(DataType from, DataType to) {
  if (from == to) return true;
  switch (to) {
    case DataType::kLong:
      return from == DataType::kInteger;
    case DataType::kFloat:
      return from == DataType::kInteger;
    case DataType::kDouble:
      return from == DataType::kInteger || from == DataType::kLong || from == DataType::kFloat;
    case DataType::kArray:
    case DataType::kObject:
    case DataType::kMap:
    case DataType::kAny:
    case DataType::kUnknown:
      return true;
    default:
      return false;
  }
}

}  // namespace

DataType DataTypeFromName(std::string_view name) {
  for (const TypeName& t : kTypeNames) {
    if (t.name == name) return t.type;
  }
  return DataType::kUnknown;
}

std::string_view DataTypeName(DataType type) {
  for (const TypeName& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "unknown";
}

Result<Schema> ParseSchema(std::string_view json, std::string_view where) {
  try {
    CAIRN_ASSIGN_OR_RETURN(Json parsed, ParseJsonText(json, where));
    return SchemaFromJson(parsed, where);
  } catch (const Json::exception& e) {
    return FieldError(where, std::string("cannot be read: ") + e.what());
  }
}

Result<std::vector<ParamSpec>> ParseParams(std::string_view json, std::string_view where) {
  try {
    CAIRN_ASSIGN_OR_RETURN(Json parsed, ParseJsonText(json, where));
    return ParamsFromJson(parsed, where);
  } catch (const Json::exception& e) {
    return FieldError(where, std::string("cannot be read: ") + e.what());
  }
}

Result<Signature> ParseSignature(std::optional<std::string_view> inputs_json,
                                 std::optional<std::string_view> outputs_json,
                                 std::optional<std::string_view> params_json,
                                 std::string_view where) {
  try {
    CAIRN_ASSIGN_OR_RETURN(std::optional<Json> inputs,
                           ParsePart(inputs_json, Member(where, "inputs")));
    CAIRN_ASSIGN_OR_RETURN(std::optional<Json> outputs,
                           ParsePart(outputs_json, Member(where, "outputs")));
    CAIRN_ASSIGN_OR_RETURN(std::optional<Json> params,
                           ParsePart(params_json, Member(where, "params")));
    return SignatureFromParts(inputs, outputs, params, where);
  } catch (const Json::exception& e) {
    return FieldError(where, std::string("cannot be read: ") + e.what());
  }
}

std::string SignatureToJson(const Signature& signature) {
  Json out = Json::object();
  out["inputs"] = signature.inputs ? SchemaToJson(*signature.inputs) : Json(nullptr);
  out["outputs"] = signature.outputs ? SchemaToJson(*signature.outputs) : Json(nullptr);
  if (signature.params) {
    Json params = Json::array();
    for (const ParamSpec& p : *signature.params) {
      Json spec = Json::object();
      spec["name"] = p.name;
      spec["type"] = p.type;
      Json def = Json::parse(p.default_json, nullptr, /*allow_exceptions=*/false);
      spec["default"] = def.is_discarded() ? Json(nullptr) : def;
      spec["shape"] = p.shape ? Json(*p.shape) : Json(nullptr);
      params.push_back(std::move(spec));
    }
    out["params"] = std::move(params);
  } else {
    out["params"] = nullptr;
  }
  return out.dump();
}

Result<Signature> ParseSignatureJson(std::string_view json) {
  constexpr std::string_view kWhere = "signature";
  try {
    CAIRN_ASSIGN_OR_RETURN(Json parsed, ParseJsonText(json, kWhere));
    if (!parsed.is_object()) {
      return FieldError(kWhere, "must be an object, not " + std::string(JsonKind(parsed)));
    }
    auto part = [&](std::string_view key) -> Result<std::optional<Json>> {
      auto it = parsed.find(key);
      if (it == parsed.end()) return std::optional<Json>();
      return Unwrap(*it, Member(kWhere, key));
    };
    CAIRN_ASSIGN_OR_RETURN(std::optional<Json> inputs, part("inputs"));
    CAIRN_ASSIGN_OR_RETURN(std::optional<Json> outputs, part("outputs"));
    CAIRN_ASSIGN_OR_RETURN(std::optional<Json> params, part("params"));
    return SignatureFromParts(inputs, outputs, params, kWhere);
  } catch (const Json::exception& e) {
    return FieldError(kWhere, std::string("cannot be read: ") + e.what());
  }
}

Status ValidateColumns(const Signature& signature, const std::vector<InputColumn>& columns) {
  if (!signature.inputs) return {};
  if (signature.inputs->is_tensor) {
    return FailedPrecondition("the model's signature expects tensors, not named columns");
  }
  for (const ColumnSpec& spec : signature.inputs->columns) {
    if (!spec.name) continue;  // unnamed columns are matched by position, not here
    const InputColumn* given = nullptr;
    for (const InputColumn& c : columns) {
      if (c.name == *spec.name) {
        given = &c;
        break;
      }
    }
    if (given == nullptr) {
      if (spec.required) {
        return InvalidArgument("input column '" + *spec.name +
                               "' is required by the model's signature and is missing");
      }
      continue;
    }
    if (!Converts(given->type, spec.data_type)) {
      return InvalidArgument("input column '" + *spec.name + "' has type " +
                             std::string(DataTypeName(given->type)) + "; the model's signature " +
                             "expects " + spec.type);
    }
  }
  return {};
}

}  // namespace cairn::model
